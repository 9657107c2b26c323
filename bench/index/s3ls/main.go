// Command s3ls uploads an index to an in-process S3 server that counts
// requests, lists one directory through the S3 ReaderAt, and prints the
// range GETs and bytes that took.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index/s3test"
)

func main() {
	file := flag.String("index", "", "index file")
	dir := flag.String("dir", "", "directory to list")
	flag.Parse()
	srv, err := s3test.New("bench")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	for k, v := range srv.Env() {
		os.Setenv(k, v)
	}
	ctx := context.Background()
	client, err := s3index.NewClient(ctx)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(*file)
	if err != nil {
		log.Fatal(err)
	}
	w := s3index.NewWriter(ctx, client, "bench", "fs-1/rp-1.idx")
	st, _ := f.Stat()
	if _, err := f.WriteTo(w); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	srv.ResetCounters()
	obj, err := s3index.Open(ctx, client, "bench", "fs-1/rp-1.idx", 0)
	if err != nil {
		log.Fatal(err)
	}
	r, err := index.Open(obj, obj.Size(), nil)
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, err := range r.List(*dir) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Printf("%d %d %d %d\n", n, srv.RangeGETs.Load(), srv.BytesOut.Load(), st.Size())
}
