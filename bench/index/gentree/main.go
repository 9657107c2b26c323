// Command gentree creates the benchmark tree: about N entries (default 1M)
// in directories of ~1000, with varied names, some symlinks and a wide
// directory. It writes DIR/.complete when done, and does nothing if that
// file already says the same size.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

func main() {
	dir := flag.String("dir", "", "tree root")
	n := flag.Int("entries", 1000000, "entries to create")
	maxTouched := flag.Int("max-touched", 1, "make the tree anew after this many runs of bench/index/touch on it")
	flag.Parse()
	marker := filepath.Join(*dir, ".complete")
	want := fmt.Sprint(*n)
	// bench/index/touch counts its runs in DIR.touched: each leaves 1% more
	// files with a recent ctime and mtime (ctimes cannot be set back), which
	// makes the index, and find's listing, compress a little worse run
	// after run.
	touched := *dir + ".touched"
	runs := 0
	if b, err := os.ReadFile(touched); err == nil {
		runs = strings.Count(string(b), "\n")
	}
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == want {
		if runs < *maxTouched {
			fmt.Printf("reusing tree %s (%s entries, touched by %d runs)\n", *dir, want, runs)
			return
		}
		fmt.Printf("making tree %s anew: %d runs changed 1%% of its files each\n", *dir, runs)
	}
	os.RemoveAll(*dir)
	os.Remove(touched)
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	const perDir = 1000
	words := []string{"report", "data", "img", "backup", "log", "config", "src", "notes", "archive", "build"}
	exts := []string{".txt", ".json", ".jpg", ".go", ".tar.gz", "", ".csv", ".bin"}
	leaves := *n / (perDir + 1)
	tops := 40
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for l := 0; l < leaves; l++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(l int) {
			defer wg.Done()
			defer func() { <-sem }()
			d := filepath.Join(*dir, fmt.Sprintf("team-%02d", l%tops), fmt.Sprintf("%s-%04d", words[l%len(words)], l))
			if err := os.MkdirAll(d, 0o755); err != nil {
				log.Fatal(err)
			}
			for f := 0; f < perDir; f++ {
				name := fmt.Sprintf("%s_%d_%x%s", words[(f*7+l)%len(words)], f, f*2654435761%(1<<20), exts[(f+l)%len(exts)])
				p := filepath.Join(d, name)
				if f%97 == 0 {
					if err := os.Symlink("../"+name, p); err != nil {
						log.Fatal(err)
					}
					continue
				}
				fd, err := unix.Open(p, unix.O_CREAT|unix.O_WRONLY, 0o644)
				if err != nil {
					log.Fatal(err)
				}
				unix.Ftruncate(fd, int64((f*l*131)%100000))
				unix.Close(fd)
			}
		}(l)
	}
	wg.Wait()
	if err := os.WriteFile(marker, []byte(want+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("created tree %s (%d leaf directories of %d entries)\n", *dir, leaves, perDir)
}
