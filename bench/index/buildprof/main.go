// Command buildprof runs walk.Build (or a bare walk) on a tree, writing the
// index the way `efskeeper index build` does, and prints wall and CPU time
// of each run. With -cpuprofile and -trace it records where the time goes
// and where the workers wait; it is how the build's benchmark target is
// investigated.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/efskeeper/efskeeper/bench/index/internal/prof"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

func main() {
	src := flag.String("source", "", "tree to index")
	out := flag.String("out", os.DevNull, "index file")
	walkOnly := flag.Bool("walk-only", false, "walk without writing an index")
	workers := flag.Int("workers", walk.DefaultWorkers, "workers")
	runs := flag.Int("runs", 1, "repetitions")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of all runs here")
	traceOut := flag.String("trace", "", "write an execution trace of all runs here")
	flag.Parse()
	stop, err := prof.Start(*cpuprof, *traceOut)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()
	for r := 0; r < *runs; r++ {
		start, cpu0 := time.Now(), prof.CPUTime()
		var st walk.Stats
		n, err := run(*src, *out, walk.Options{Workers: *workers, Stats: &st}, *walkOnly)
		if err != nil {
			log.Fatal(err)
		}
		wall, cpu := time.Since(start), prof.CPUTime()-cpu0
		fmt.Printf("%d entries: wall %.3fs cpu %.3fs (%.2f cores), read-ahead at most %d entries\n",
			n, wall.Seconds(), cpu.Seconds(), cpu.Seconds()/wall.Seconds(), st.MaxBufferedSeen.Load())
	}
}

func run(src, out string, opts walk.Options, walkOnly bool) (int64, error) {
	if walkOnly {
		var n int64
		err := walk.Walk(context.Background(), src, opts, func(*index.Entry) error { n++; return nil })
		return n, err
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20) // as the CLI writes a local index
	st, err := walk.Build(context.Background(), src, bw, walk.BuildOptions{Walk: opts})
	if err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return st.Entries, f.Close()
}
