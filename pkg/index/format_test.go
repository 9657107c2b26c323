package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var backupTime = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

// hostileNames are names a file system allows and tools get wrong.
var hostileNames = []string{
	"a", "b", "a-c", "a.b", "a b", " lead", "trail ", "new\nline", "tab\t", "\xff\xfe", "caf\xc3\xa9",
	"*", "[x]", "\\", "-rf", ".hidden", "..dots", "\x01", "\x7f", strings.Repeat("n", 255), "zz",
}

// genEntries makes a deterministic tree of about n entries with hostile
// names, in index order.
func genEntries(seed uint64, n int) []Entry {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []Entry
	seen := map[string]bool{}
	dirs := []string{""}
	for len(out) < n {
		parent := dirs[r.IntN(len(dirs))]
		name := hostileNames[r.IntN(len(hostileNames))]
		if r.IntN(3) == 0 {
			name = fmt.Sprintf("%s%d", name, r.IntN(1000))
		}
		p := name
		if parent != "" {
			p = parent + "/" + name
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		e := Entry{
			Path: p, Type: TypeFile, Size: r.Int64N(1 << 40), Mode: 0o644, UID: 1000, GID: 1000,
			MTime: backupTime.Add(-time.Duration(r.IntN(1e6)) * time.Second).UnixNano(),
			Inode: uint64(len(out) + 100), Nlink: 1,
		}
		e.CTime = e.MTime
		switch r.IntN(10) {
		case 0, 1, 2:
			e.Type, e.Mode, e.Size, e.Nlink = TypeDir, 0o755, 4096, 2
			dirs = append(dirs, p)
		case 3:
			e.Type, e.Target, e.Mode = TypeSymlink, "../"+name+"\n\xff", 0o777
		case 4:
			e.Type = []Type{TypeBlock, TypeChar, TypeFIFO, TypeSocket}[r.IntN(4)]
		case 5:
			e.CTime = backupTime.Add(time.Duration(r.IntN(100)+1) * time.Second).UnixNano()
		case 6:
			e.Nlink = 3
			e.Inode = 42 // hard links share an inode
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return ComparePaths(a.Path, b.Path) })
}

func writeIndex(t testing.TB, es []Entry, opts WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if opts.Meta.FileSystemID == "" {
		opts.Meta = Meta{FileSystemID: "fs-0123456789abcdef0", RestorePointARN: "arn:aws:backup:eu-west-1:111122223333:recovery-point:abc", BackupCreated: backupTime, IndexCreated: backupTime.Add(time.Minute), Source: "/mnt/efs"}
	}
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		if err := w.Add(&es[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.AddError("x/vanished", errors.New("lstat: no such file or directory"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openBytes(t testing.TB, b []byte, opts *OpenOptions) *Reader {
	t.Helper()
	r, err := Open(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func collect(t testing.TB, seq func(func(Entry, error) bool)) []Entry {
	t.Helper()
	var out []Entry
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func withFlags(es []Entry) []Entry {
	out := slices.Clone(es)
	for i := range out {
		out[i].ChangedAfterBackup = out[i].CTime > backupTime.UnixNano()
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	es := genEntries(1, 3000)
	b := writeIndex(t, es, WriterOptions{BlockSize: 4096})
	r := openBytes(t, b, nil)
	got := collect(t, r.All())
	if !slices.Equal(got, withFlags(es)) {
		t.Fatalf("All returned %d entries, want %d, or they differ", len(got), len(es))
	}
	info := r.Info()
	if info.Entries != int64(len(es)) || info.Blocks < 10 || info.ErrorCount != 1 || info.Errors[0].Path != "x/vanished" {
		t.Fatalf("info = %+v", info)
	}
	if info.FileSystemID != "fs-0123456789abcdef0" || !info.BackupCreated.Equal(backupTime) {
		t.Fatalf("meta = %+v", info.Meta)
	}
	flagged := 0
	for _, e := range got {
		if e.ChangedAfterBackup {
			flagged++
		}
	}
	if flagged == 0 {
		t.Fatal("no entry flagged as changed after the backup")
	}
}

func TestListIsContiguousChildren(t *testing.T) {
	es := genEntries(2, 3000)
	r := openBytes(t, writeIndex(t, es, WriterOptions{BlockSize: 2048}), nil)
	children := map[string][]Entry{}
	for _, e := range withFlags(es) {
		dir, _ := splitPath(e.Path)
		children[dir] = append(children[dir], e)
	}
	for _, e := range es {
		if e.Type != TypeDir {
			continue
		}
		got := collect(t, r.List(e.Path))
		if !slices.Equal(got, children[e.Path]) {
			t.Fatalf("List(%q) = %d entries, want %d", e.Path, len(got), len(children[e.Path]))
		}
	}
	if got := collect(t, r.List("/")); !slices.Equal(got, children[""]) {
		t.Fatalf("List(/) = %d entries, want %d", len(got), len(children[""]))
	}
	for _, bad := range []struct {
		path string
		want error
	}{{"no/such/dir", ErrNotFound}, {firstOfType(es, TypeFile), ErrNotDir}} {
		var err error
		for _, err = range r.List(bad.path) {
		}
		if !errors.Is(err, bad.want) {
			t.Fatalf("List(%q) error = %v, want %v", bad.path, err, bad.want)
		}
	}
}

func firstOfType(es []Entry, t Type) string {
	for _, e := range es {
		if e.Type == t {
			return e.Path
		}
	}
	return ""
}

func TestLookup(t *testing.T) {
	es := genEntries(3, 500)
	r := openBytes(t, writeIndex(t, es, WriterOptions{BlockSize: 1024}), nil)
	for _, e := range withFlags(es) {
		got, err := r.Lookup(e.Path)
		if err != nil || got != e {
			t.Fatalf("Lookup(%q) = %+v, %v", e.Path, got, err)
		}
	}
	if _, err := r.Lookup("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup(nope) error = %v", err)
	}
}

func TestSearch(t *testing.T) {
	es := genEntries(4, 2000)
	r := openBytes(t, writeIndex(t, es, WriterOptions{BlockSize: 4096}), nil)
	for _, pat := range []string{"*", "a*", "*[0-9]", ".*", "[!a-z]*", "new?line*", `\*`} {
		g, err := CompileGlob(pat)
		if err != nil {
			t.Fatal(err)
		}
		var want []Entry
		for _, e := range withFlags(es) {
			n := e.Name()
			if g.Match([]byte(n)) {
				want = append(want, e)
			}
		}
		if got := collect(t, r.Search(Query{Name: g})); !slices.Equal(got, want) {
			t.Fatalf("Search(%q) = %d entries, want %d", pat, len(got), len(want))
		}
	}
	var want []Entry
	for _, e := range withFlags(es) {
		if strings.Contains(e.Path, "a/b") {
			want = append(want, e)
		}
	}
	if got := collect(t, r.Search(Query{PathContains: "a/b"})); !slices.Equal(got, want) || len(want) == 0 {
		t.Fatalf("path search = %d entries, want %d", len(got), len(want))
	}
}

func TestWriterRejectsDisorder(t *testing.T) {
	w, err := NewWriter(io.Discard, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"b", "b/x"} {
		if err := w.Add(&Entry{Path: p, Type: TypeDir}); err != nil {
			t.Fatal(err)
		}
	}
	// "a-c" sorts before "b"'s children group but is a child of the root,
	// whose group came first: out of order.
	if err := w.Add(&Entry{Path: "a-c", Type: TypeFile}); err == nil {
		t.Fatal("out-of-order entry accepted")
	}
	for _, bad := range []Entry{{Path: "/abs", Type: TypeFile}, {Path: "x//y", Type: TypeFile}, {Path: "c", Type: 'X'}} {
		if err := w.Add(&bad); err == nil {
			t.Fatalf("bad entry %+v accepted", bad)
		}
	}
}

// mutate applies a 1% change to a tree: some entries change size and mtime,
// some are removed, some added.
func mutate(es []Entry, seed uint64, frac float64) []Entry {
	r := rand.New(rand.NewPCG(seed, 9))
	var out []Entry
	for _, e := range es {
		switch x := r.Float64(); {
		case x < frac*0.8:
			e.Size++
			e.MTime += int64(time.Hour)
			e.CTime = e.MTime
		case x < frac*0.9 && e.Type != TypeDir:
			continue // deleted (a directory stays: its children need it)
		case x < frac:
			out = append(out, Entry{Path: e.Path + ".new", Type: TypeFile, Mode: 0o600, Nlink: 1, MTime: e.MTime})
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

func TestDeltaSharesUnchangedEntries(t *testing.T) {
	es := genEntries(5, 20000)
	full := writeIndex(t, es, WriterOptions{})
	base := openBytes(t, full, nil)
	next := mutate(es, 6, 0.01)
	delta := writeIndex(t, next, WriterOptions{Base: base, BaseLocation: "full.idx"})
	opts := &OpenOptions{OpenBase: func(loc string) (io.ReaderAt, int64, error) {
		if loc != "full.idx" {
			return nil, 0, fmt.Errorf("unexpected base %q", loc)
		}
		return bytes.NewReader(full), int64(len(full)), nil
	}}
	r := openBytes(t, delta, opts)
	if got := collect(t, r.All()); !slices.Equal(got, withFlags(next)) {
		t.Fatalf("delta view has %d entries, want %d", len(got), len(next))
	}
	if r.Info().Entries != int64(len(next)) {
		t.Fatalf("delta Info.Entries = %d, want %d", r.Info().Entries, len(next))
	}
	ratio := float64(len(delta)) / float64(len(full))
	t.Logf("full %d bytes, delta for 1%% change %d bytes (%.1f%%)", len(full), len(delta), 100*ratio)
	if ratio > 0.10 {
		t.Fatalf("delta is %.1f%% of the full index, want at most 10%%", 100*ratio)
	}
	// Listing through the delta merges both.
	children := map[string][]Entry{}
	for _, c := range withFlags(next) {
		d, _ := splitPath(c.Path)
		children[d] = append(children[d], c)
	}
	for i, e := range next {
		if e.Type == TypeDir && i%10 == 0 {
			if got := collect(t, r.List(e.Path)); !slices.Equal(got, children[e.Path]) {
				t.Fatalf("delta List(%q) = %d entries, want %d", e.Path, len(got), len(children[e.Path]))
			}
		}
	}
	// A delta over the wrong base is refused.
	other := writeIndex(t, genEntries(9, 10), WriterOptions{})
	_, err := Open(bytes.NewReader(delta), int64(len(delta)), &OpenOptions{OpenBase: func(string) (io.ReaderAt, int64, error) {
		return bytes.NewReader(other), int64(len(other)), nil
	}})
	if err == nil || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("delta over the wrong base: %v", err)
	}
}

// readAllOrError returns the rows of an index, or the first error.
func readAllOrError(b []byte) ([]Entry, error) {
	r, err := Open(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for e, err := range r.All() {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func TestTruncatedIndexIsAnError(t *testing.T) {
	b := writeIndex(t, genEntries(7, 300), WriterOptions{BlockSize: 512})
	for n := 0; n < len(b); n++ {
		rows, err := readAllOrError(b[:n])
		if err == nil {
			t.Fatalf("index truncated to %d of %d bytes read without error (%d rows)", n, len(b), len(rows))
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: error %v does not wrap ErrCorrupt", n, err)
		}
	}
}

func TestCorruptIndexNeverGivesWrongRows(t *testing.T) {
	es := withFlags(genEntries(8, 120))
	b := writeIndex(t, es, WriterOptions{BlockSize: 512})
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < len(b); i++ {
		c := slices.Clone(b)
		c[i] ^= byte(1 + r.IntN(255))
		rows, err := readAllOrError(c)
		if err == nil && !slices.Equal(rows, es) {
			t.Fatalf("flipping byte %d gave %d wrong rows without an error", i, len(rows))
		}
		if err == nil && i >= headerLen {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(b))
		}
	}
}
