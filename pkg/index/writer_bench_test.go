package index

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchTree is n entries shaped like bench/index/gentree's tree: directories
// of 1000 files with varied names, in index order.
func benchTree(n int) []Entry {
	words := []string{"report", "data", "img", "backup", "log", "config", "src", "notes", "archive", "build"}
	exts := []string{".txt", ".json", ".jpg", ".go", ".tar.gz", "", ".csv", ".bin"}
	var es []Entry
	for l := 0; len(es) < n; l++ {
		dir := fmt.Sprintf("team-%02d/%s-%04d", l%40, words[l%len(words)], l)
		for f := 0; f < 1000 && len(es) < n; f++ {
			name := fmt.Sprintf("%s_%d_%x%s", words[(f*7+l)%len(words)], f, f*2654435761%(1<<20), exts[(f+l)%len(exts)])
			es = append(es, Entry{Path: dir + "/" + name, Type: TypeFile, Size: int64(f * l * 131 % 100000), Mode: 0o644,
				MTime: 1.7e18 + int64(l*1000+f)*1e6, CTime: 1.7e18 + int64(l*1000+f)*1e6, Inode: uint64(l*1000 + f), Nlink: 1})
		}
	}
	sortEntries(es)
	return es
}

// BenchmarkWriter measures the writer's cost per entry (ns/op is per
// entry), through Add with paths and through AddIn as walk.Build calls it.
func BenchmarkWriter(b *testing.B) {
	es := benchTree(100000)
	for _, in := range []bool{false, true} {
		b.Run(map[bool]string{false: "Add", true: "AddIn"}[in], func(b *testing.B) {
			var dirs, names [][]byte
			for _, e := range es {
				i := strings.LastIndexByte(e.Path, '/')
				dirs, names = append(dirs, []byte(e.Path[:i+1])), append(names, []byte(e.Path[i+1:]))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				w, err := NewWriter(io.Discard, WriterOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for j := 0; j < len(es) && i < b.N; j, i = j+1, i+1 {
					if in {
						err = w.AddIn(dirs[j], names[j], &es[j])
					} else {
						err = w.Add(&es[j])
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
