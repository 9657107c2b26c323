// Command touch changes the mtime of a fraction of the regular files under
// a tree (every k-th file in walk order, from a seed), to make the next
// restore point of the sharing benchmark.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir := flag.String("dir", "", "tree root")
	frac := flag.Float64("fraction", 0.01, "fraction of files to change")
	flag.Parse()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	n, changed := 0, 0
	when := time.Now()
	err := filepath.WalkDir(*dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || d.Name() == ".complete" {
			return err
		}
		n++
		if r.Float64() < *frac {
			changed++
			return os.Chtimes(p, when, when)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Count the runs that changed the tree, beside it (not in it, where
	// it would be indexed): ctimes cannot be set back, so each run leaves
	// 1% more files with scattered times, and gentree makes the tree anew
	// once a few runs have (gentree -max-touched).
	f, err := os.OpenFile(*dir+touchedSuffix, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "%s %d\n", when.UTC().Format(time.RFC3339), changed)
		err = f.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("changed %d of %d files\n", changed, n)
}

// touchedSuffix names the file beside the tree that counts the runs of
// touch on it; bench/index/gentree reads it.
const touchedSuffix = ".touched"
