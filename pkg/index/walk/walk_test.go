package walk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/testtree"
)

// walkRecords walks root and returns "%y %s %P" records, checking on the way
// that entries come in index key order.
func walkRecords(t *testing.T, root string, opts Options) []string {
	t.Helper()
	var recs []string
	prev := ""
	err := Walk(context.Background(), root, opts, func(e *index.Entry) error {
		if prev != "" && index.ComparePaths(prev, e.Path) >= 0 {
			return fmt.Errorf("entry %q after %q: out of key order", e.Path, prev)
		}
		prev = e.Path
		recs = append(recs, fmt.Sprintf("%c %d %s", e.Type, e.Size, e.Path))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(recs)
	return recs
}

func assertSameAsFind(t *testing.T, root string, got []string) {
	t.Helper()
	want, err := testtree.Find(root, "-mindepth", "1", "-printf", `%y %s %P\0`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		for i := 0; i < len(got) || i < len(want); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Fatalf("walk and find differ at record %d: walk %q, find %q (%d vs %d records)", i, g, w, len(got), len(want))
			}
		}
	}
}

func TestWalkMatchesFindOnHostileTree(t *testing.T) {
	root := testtree.TempDir(t)
	if err := testtree.Hostile(root, testtree.Options{Deep: 200, Wide: 3000}); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 7, 64} {
		got := walkRecords(t, root, Options{Workers: workers})
		assertSameAsFind(t, root, got)
	}
}

func TestWalkVeryDeepTree(t *testing.T) {
	root := testtree.TempDir(t)
	if err := testtree.Deep(filepath.Join(root, "d"), 10000); err != nil {
		t.Fatal(err)
	}
	got := walkRecords(t, root, Options{})
	if len(got) != 20001 {
		t.Fatalf("walk found %d entries in a 10,000-level chain, want 20001", len(got))
	}
	assertSameAsFind(t, root, got)
}

// TestWalkFewDescriptors forces directories to be closed between chunks and
// reopened (by path, and component by component when the path is long).
func TestWalkFewDescriptors(t *testing.T) {
	root := testtree.TempDir(t)
	if err := testtree.Hostile(root, testtree.Options{Deep: 1500}); err != nil {
		t.Fatal(err)
	}
	got := walkRecords(t, root, Options{Workers: 8, maxFDs: 1, MaxBuffered: 16})
	assertSameAsFind(t, root, got)
}

func TestWalkMemoryIsBounded(t *testing.T) {
	root := testtree.TempDir(t)
	// 100 directories of 100 subdirectories of 2 files: 30,100 entries.
	for i := 0; i < 100; i++ {
		for j := 0; j < 100; j++ {
			d := filepath.Join(root, fmt.Sprint(i), fmt.Sprint(j))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"a", "b"} {
				if err := os.WriteFile(filepath.Join(d, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var st Stats
	n := 0
	err := Walk(context.Background(), root, Options{Workers: 16, MaxBuffered: 1000, Stats: &st}, func(*index.Entry) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 30100 {
		t.Fatalf("walked %d entries, want 30100", n)
	}
	// The bound is MaxBuffered plus what one chunk in flight per worker
	// can discover (its subdirectories' names).
	if seen := st.MaxBufferedSeen.Load(); seen > 1000+16*100+100 {
		t.Fatalf("walker held %d entries ahead of the visitor, budget 1000", seen)
	}
	t.Logf("max entries buffered: %d of %d", st.MaxBufferedSeen.Load(), n)
}

// faultFS injects errors and latency and counts calls in flight.
type faultFS struct {
	OS
	deniedDir  string // OpenDir of this name fails with EACCES
	vanish     string // Lstat of this name fails with ENOENT
	delay      time.Duration
	inFlight   atomic.Int64
	maxFlight  atomic.Int64
	mu         sync.Mutex
	lstatCalls int
}

func (f *faultFS) enter() func() {
	n := f.inFlight.Add(1)
	for {
		m := f.maxFlight.Load()
		if n <= m || f.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	return func() { f.inFlight.Add(-1) }
}

func (f *faultFS) OpenDir(dirfd int, name string) (int, error) {
	defer f.enter()()
	if name == f.deniedDir {
		return -1, unix.EACCES
	}
	return f.OS.OpenDir(dirfd, name)
}

func (f *faultFS) Lstat(dirfd int, name string, st *unix.Stat_t) error {
	defer f.enter()()
	f.mu.Lock()
	f.lstatCalls++
	f.mu.Unlock()
	if name == f.vanish {
		return unix.ENOENT
	}
	return f.OS.Lstat(dirfd, name, st)
}

func TestWalkRecordsErrorsAndGoesOn(t *testing.T) {
	root := testtree.TempDir(t)
	if err := testtree.Hostile(root, testtree.Options{}); err != nil {
		t.Fatal(err)
	}
	fs := &faultFS{deniedDir: "sub\none", vanish: "star*"}
	var errs []string
	var entries []index.Entry
	err := Walk(context.Background(), root, Options{FS: fs, OnError: func(p string, err error) {
		errs = append(errs, p+": "+err.Error())
	}}, func(e *index.Entry) error {
		entries = append(entries, *e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var denied *index.Entry
	for i, e := range entries {
		if strings.HasPrefix(e.Path, "sub\none/") {
			t.Fatalf("entry %q inside the unreadable directory", e.Path)
		}
		if e.Name() == "star*" {
			t.Fatalf("vanished entry %q reported", e.Path)
		}
		if e.Path == "sub\none" {
			denied = &entries[i]
		}
	}
	if denied == nil || !denied.Incomplete || denied.Type != index.TypeDir {
		t.Fatalf("unreadable directory entry = %+v, want a directory marked incomplete", denied)
	}
	joined := strings.Join(errs, "\n")
	for _, want := range []string{"sub\none: open directory: permission denied", "star*: vanished during the walk", "sub\xfe/star*: vanished"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("errors %q lack %q", joined, want)
		}
	}
	if len(entries) < 50 {
		t.Fatalf("walk stopped early: %d entries", len(entries))
	}
}

// TestWalkKeepsManyCallsInFlight checks concurrency by counting, not timing:
// with slow lstat calls, 64 workers must have most of them in flight at once.
func TestWalkKeepsManyCallsInFlight(t *testing.T) {
	root := testtree.TempDir(t)
	for i := 0; i < 10; i++ {
		d := filepath.Join(root, fmt.Sprint("d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 100; j++ {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprint(j)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		workers int
		min     int64
		max     int64
	}{{1, 1, 1}, {64, 48, 64}} {
		fs := &faultFS{delay: 2 * time.Millisecond}
		n := 0
		if err := Walk(context.Background(), root, Options{FS: fs, Workers: c.workers}, func(*index.Entry) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n != 1010 {
			t.Fatalf("walked %d entries, want 1010", n)
		}
		if got := fs.maxFlight.Load(); got < c.min || got > c.max {
			t.Fatalf("%d workers: at most %d calls in flight, want %d..%d", c.workers, got, c.min, c.max)
		}
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestWalkStopsOnVisitorErrorWithoutLeaks(t *testing.T) {
	root := testtree.TempDir(t)
	if err := testtree.Hostile(root, testtree.Options{Wide: 2000}); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	boom := errors.New("boom")
	n := 0
	err := Walk(context.Background(), root, Options{}, func(*index.Entry) error {
		if n++; n == 100 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Walk error = %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, root, Options{}, func(*index.Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Walk error = %v", err)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}
