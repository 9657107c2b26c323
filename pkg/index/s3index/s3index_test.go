package s3index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index/s3test"
)

func startServer(t *testing.T) *s3test.Server {
	t.Helper()
	s, err := s3test.New("idx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	return s
}

// bigEntries makes an index-ordered flat tree: dirs of files.
func bigEntries(dirs, files int) []index.Entry {
	var es []index.Entry
	x := uint64(12345)
	rnd := func() int64 { x = x*6364136223846793005 + 1442695040888963407; return int64(x >> 34) }
	for d := 0; d < dirs; d++ {
		es = append(es, index.Entry{Path: fmt.Sprintf("dir%04d", d), Type: index.TypeDir, Mode: 0o755, Size: 4096, Nlink: 2, MTime: int64(d) * 1e9, CTime: int64(d) * 1e9, Inode: uint64(d + 1)})
	}
	for d := 0; d < dirs; d++ {
		for f := 0; f < files; f++ {
			es = append(es, index.Entry{Path: fmt.Sprintf("dir%04d/file-%05d.dat", d, f), Type: index.TypeFile, Mode: 0o644, Size: rnd(), Nlink: 1, UID: 1000, GID: 1000, MTime: 1.7e18 + rnd()*1e3, CTime: 1.7e18 + rnd()*1e3, Inode: uint64(dirs + d*files + f)})
		}
	}
	slices.SortFunc(es, func(a, b index.Entry) int { return index.ComparePaths(a.Path, b.Path) })
	return es
}

func TestUploadAndListWithFewRangeGETs(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	client, err := NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es := bigEntries(200, 100) // 20,200 entries
	// Upload through the streaming writer; small parts force multipart.
	w := NewWriter(ctx, client, "idx", "fs-1/rp-1.idx")
	iw, err := index.NewWriter(w, index.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		if err := iw.Add(&es[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := iw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	size := iw.Stats().Bytes

	srv.ResetCounters()
	obj, err := Open(ctx, client, "idx", "fs-1/rp-1.idx", 0)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size() != size {
		t.Fatalf("object size %d, wrote %d", obj.Size(), size)
	}
	r, err := index.Open(obj, obj.Size(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for e, err := range r.List("dir0123") {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("dir0123/file-%05d.dat", n); e.Path != want {
			t.Fatalf("entry %d = %q, want %q", n, e.Path, want)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("listed %d entries, want 100", n)
	}
	gets, bytesRead := srv.RangeGETs.Load(), srv.BytesOut.Load()
	t.Logf("index %d bytes; ls read %d bytes in %d range GETs (%.2f%%)", size, bytesRead, gets, 100*float64(bytesRead)/float64(size))
	if gets > 3 {
		t.Fatalf("ls made %d range GETs, want at most 3", gets)
	}
	if srv.GETs.Load() != gets {
		t.Fatalf("ls made %d GETs without a range", srv.GETs.Load()-gets)
	}
	// What ls reads does not grow with the index: the tail and the blocks
	// of one directory. (make bench-index checks 1% of a 1M-entry index.)
	if limit := int64(DefaultTailSize + 2*index.DefaultBlockSize); bytesRead > limit {
		t.Fatalf("ls read %d of %d bytes, want at most %d", bytesRead, size, limit)
	}
}

func TestTruncatedObjectIsAnError(t *testing.T) {
	startServer(t)
	ctx := context.Background()
	client, err := NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	iw, _ := index.NewWriter(&buf, index.WriterOptions{})
	es := bigEntries(3, 10)
	for i := range es {
		iw.Add(&es[i])
	}
	iw.Close()
	w := NewWriter(ctx, client, "idx", "cut.idx")
	w.Write(buf.Bytes()[:buf.Len()-40])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	obj, err := Open(ctx, client, "idx", "cut.idx", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := index.Open(obj, obj.Size(), nil); !errors.Is(err, index.ErrCorrupt) {
		t.Fatalf("open truncated index: %v", err)
	}
	if _, err := Open(ctx, client, "idx", "missing.idx", 0); err == nil {
		t.Fatal("opening a missing object succeeded")
	}
}

func TestResolve(t *testing.T) {
	for _, c := range [][3]string{
		{"s3://b/fs-1/rp-2.idx", "rp-1.idx", "s3://b/fs-1/rp-1.idx"},
		{"s3://b/fs-1/rp-2.idx", "s3://c/x.idx", "s3://c/x.idx"},
		{"/tmp/a/rp-2.idx", "rp-1.idx", "/tmp/a/rp-1.idx"},
		{"rp-2.idx", "rp-1.idx", "rp-1.idx"},
	} {
		if got := Resolve(c[0], c[1]); got != c[2] {
			t.Errorf("Resolve(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	if _, _, ok := ParseURL("s3://bucket"); ok {
		t.Error("s3://bucket parsed as an object URL")
	}
}
