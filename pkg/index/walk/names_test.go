package walk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// dirents encodes names as getdents64 records, with "." and ".." first.
func dirents(names []string) []byte {
	var buf []byte
	for i, n := range append([]string{".", ".."}, names...) {
		reclen := (19 + len(n) + 1 + 7) &^ 7
		rec := make([]byte, reclen)
		binary.LittleEndian.PutUint64(rec, uint64(i+1))
		binary.LittleEndian.PutUint16(rec[16:], uint16(reclen))
		copy(rec[19:], n)
		buf = append(buf, rec...)
	}
	return buf
}

func sortedNames(names []byte, refs []nameRef) []string {
	var out []string
	for _, r := range refs {
		if names[r.off+r.n] != 0 {
			panic("name not NUL-terminated")
		}
		out = append(out, string(names[r.off:r.off+r.n]))
	}
	return out
}

// TestSortNamesIsBytewise checks the 8-byte key shortcut against a plain
// string sort on names that share prefixes of every length around 8.
func TestSortNamesIsBytewise(t *testing.T) {
	in := []string{"a", "ab", "abcdefg", "abcdefgh", "abcdefghi", "abcdefgh\x01", "abcdefgg\xff", "\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"\x01", "Z", "z", strings.Repeat("L", 255), strings.Repeat("L", 254), "report_1_2.txt", "report_10_2.txt", "report_1", "report_"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\x01\xff")
	seen := map[string]bool{}
	for _, n := range in {
		seen[n] = true
	}
	for len(in) < 3000 {
		b := make([]byte, 1+r.IntN(14))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			in = append(in, string(b))
		}
	}
	assertSortsBytewise(t, "random names", in)
}

// assertSortsBytewise encodes in as getdents64 records, parses and sorts
// them, and compares the order with a plain string sort.
func assertSortsBytewise(t *testing.T, label string, in []string) {
	t.Helper()
	names, refs := parseDirents(dirents(in), nil, nil)
	sortNames(names, refs)
	got := sortedNames(names, refs)
	want := slices.Clone(in)
	slices.Sort(want)
	if len(got) != len(want) {
		t.Fatalf("%s: %d names parsed, want %d", label, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: sorted names differ at %d: got %q, want %q", label, i, got[i], want[i])
		}
	}
}

// TestSortNamesOrders covers inputs that are hard on quicksorts: sorted,
// reversed, organ-pipe, and names that share their 8-byte keys.
func TestSortNamesOrders(t *testing.T) {
	var base []string
	for i := 0; i < 2000; i++ {
		base = append(base, fmt.Sprintf("samekey_%06d", i), fmt.Sprintf("k%04d", i))
	}
	slices.Sort(base)
	rev := slices.Clone(base)
	slices.Reverse(rev)
	pipe := append(slices.Clone(base[:len(base)/2]), rev[:len(rev)/2]...)
	for name, in := range map[string][]string{"sorted": base, "reversed": rev, "organ pipe": pipe} {
		assertSortsBytewise(t, name, in)
	}
}

func FuzzParseDirents(f *testing.F) {
	f.Add(dirents([]string{"a", "b\nc", "\xff"}))
	f.Add(dirents(nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, buf []byte) {
		names, refs := parseDirents(buf, nil, nil)
		sortNames(names, refs)
		got := sortedNames(names, refs)
		for i, n := range got {
			if n == "" || n == "." || n == ".." || strings.IndexByte(n, 0) >= 0 {
				t.Fatalf("parsed name %q", n)
			}
			if i > 0 && bytes.Compare([]byte(got[i-1]), []byte(n)) > 0 {
				t.Fatalf("names %q and %q out of order", got[i-1], n)
			}
		}
	})
}

// TestChunkSizeFollowsCallTime: slow calls split a directory across all
// workers, fast ones make chunks of about chunkWork.
func TestChunkSizeFollowsCallTime(t *testing.T) {
	for _, c := range []struct {
		call    time.Duration
		n, want int // entries, entries per chunk
	}{
		{0, 1000, 16}, // unknown yet: one share per worker
		{time.Millisecond, 1000, 16},
		{time.Millisecond, 10, 1}, // fewer entries than workers
		{time.Microsecond, 1000, 1000},
		{time.Microsecond, 100000, 1000},
		{100 * time.Nanosecond, 100000, maxChunk},
		{time.Millisecond, 100000, maxShare},
		{time.Microsecond, 100, 100},
		{100 * time.Microsecond, 1000, 16},
		{20 * time.Microsecond, 1000, 50},
	} {
		w := &walker{opts: Options{Workers: 64}}
		w.callNanos.Store(int64(c.call))
		d := &dir{}
		w.setNames(d, nil, make([]nameRef, c.n))
		if got := d.chunks[0].hi - d.chunks[0].lo; got != c.want {
			t.Errorf("%d entries at %s per call: chunks of %d, want %d", c.n, c.call, got, c.want)
		}
		if last := d.chunks[len(d.chunks)-1]; last.hi != c.n || d.undone != len(d.chunks) {
			t.Errorf("%d entries: chunks end at %d, %d undone of %d", c.n, last.hi, d.undone, len(d.chunks))
		}
	}
}

// BenchmarkSortNames sorts a directory of 1000 names shaped like
// bench/index/gentree's (ns/op is per directory).
func BenchmarkSortNames(b *testing.B) {
	words := []string{"report", "data", "img", "backup", "log", "config", "src", "notes", "archive", "build"}
	exts := []string{".txt", ".json", ".jpg", ".go", ".tar.gz", "", ".csv", ".bin"}
	var in []string
	for f := 0; f < 1000; f++ {
		in = append(in, fmt.Sprintf("%s_%d_%x%s", words[(f*7+3)%len(words)], f, f*2654435761%(1<<20), exts[(f+3)%len(exts)]))
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
	names, refs := parseDirents(dirents(in), nil, nil)
	work := make([]nameRef, len(refs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(work, refs)
		sortNames(names, work)
	}
}
