package index

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestAddInWritesWhatAddWrites: a walker's AddIn(dir, name) and Add with
// the joined path give the same index byte for byte, for full and delta
// indexes.
func TestAddInWritesWhatAddWrites(t *testing.T) {
	es := genEntries(11, 3000)
	base := openBytes(t, writeIndex(t, es, WriterOptions{BlockSize: 2048}), nil)
	next := mutate(es, 3, 0.05)
	for _, opts := range []WriterOptions{{BlockSize: 2048}, {BlockSize: 2048, Base: base, BaseLocation: "base.idx"}} {
		want := writeIndex(t, next, opts)
		var buf bytes.Buffer
		opts.Meta = Meta{FileSystemID: "fs-0123456789abcdef0", RestorePointARN: "arn:aws:backup:eu-west-1:111122223333:recovery-point:abc", BackupCreated: backupTime, IndexCreated: backupTime.Add(60e9), Source: "/mnt/efs"}
		w, err := NewWriter(&buf, opts)
		if err != nil {
			t.Fatal(err)
		}
		dirBuf, nameBuf := []byte("scratch"), []byte("scratch")
		for i := range next {
			e := next[i]
			dir, name := "", e.Path
			if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
				dir, name = e.Path[:j+1], e.Path[j+1:]
			}
			e.Path = "ignored"
			// Reused buffers: AddIn must keep neither.
			dirBuf = append(dirBuf[:0], dir...)
			nameBuf = append(nameBuf[:0], name...)
			if err := w.AddIn(dirBuf, nameBuf, &e); err != nil {
				t.Fatal(err)
			}
			copy(dirBuf, strings.Repeat("#", len(dirBuf)))
			copy(nameBuf, strings.Repeat("#", len(nameBuf)))
		}
		w.AddError("x/vanished", errors.New("lstat: no such file or directory"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("AddIn wrote %d bytes, Add %d, and they differ (delta: %v)", buf.Len(), len(want), opts.Base != nil)
		}
	}
}

func TestAddInRejectsBadNamesAndDisorder(t *testing.T) {
	w, err := NewWriter(io.Discard, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(dir, name string) error { return w.AddIn([]byte(dir), []byte(name), &Entry{Type: TypeFile}) }
	for _, c := range [][2]string{{"", "b"}, {"", "c"}, {"b/", "x"}, {"b/", "y"}, {"b/x/", "a"}} {
		if err := add(c[0], c[1]); err != nil {
			t.Fatalf("AddIn(%q, %q): %v", c[0], c[1], err)
		}
	}
	for _, c := range []struct{ dir, name, want string }{
		{"b/x/", "a", "out of order"},  // the same entry again
		{"b/", "z", "out of order"},    // b's group is done
		{"", "a-c", "out of order"},    // the root's group came first
		{"b/x/", "", "not a valid"},    // empty name
		{"b/x/", "p/q", "not a valid"}, // slash in a name
		{"b/x/", "n\x00ul", "not a valid"},
		{"b/x", "z", "not a valid"},   // no trailing slash
		{"b//x/", "z", "not a valid"}, // empty component
		{"/abs/", "z", "not a valid"}, // absolute
	} {
		err := add(c.dir, c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddIn(%q, %q) = %v, want an error saying %q", c.dir, c.name, err, c.want)
		}
	}
	// After the rejections, the next entry in order is still accepted.
	if err := add("b/x/", "b"); err != nil {
		t.Fatalf("AddIn after rejected entries: %v", err)
	}
	if err := w.AddIn(nil, []byte("zz"), &Entry{Type: 'X'}); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestCommonPrefix(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 0}, {"abc", "abd", 2}, {"abcdefgh", "abcdefgh", 8},
		{"abcdefghij", "abcdefghiJ", 9}, {"abcdefgh12345678x", "abcdefgh12345678", 16}, {"xbcdefgh", "abcdefgh", 0},
		{"abcdefg\x00", "abcdefg\x01", 7},
	} {
		if got := commonPrefix([]byte(c.a), []byte(c.b)); got != c.want {
			t.Errorf("commonPrefix(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := commonPrefix([]byte(c.b), []byte(c.a)); got != c.want {
			t.Errorf("commonPrefix(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}
