// Command fusebench mounts a loopback FUSE file system that sleeps 1 ms on
// every Lookup, Getattr and directory open (EFS answers metadata calls in
// about 1 ms), builds a tree of about N entries behind it, and times the
// walker with 1 and with W workers, each on a fresh mount so that no kernel
// cache carries over.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

const latency = time.Millisecond

// slowNode is a loopback node whose metadata calls take 1 ms.
type slowNode struct{ fs.LoopbackNode }

var inFlight, maxInFlight atomic.Int64

func track() func() {
	v := inFlight.Add(1)
	for m := maxInFlight.Load(); v > m && !maxInFlight.CompareAndSwap(m, v); m = maxInFlight.Load() {
	}
	return func() { inFlight.Add(-1) }
}

func (n *slowNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	defer track()()
	time.Sleep(latency)
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *slowNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	time.Sleep(latency)
	return n.LoopbackNode.Getattr(ctx, f, out)
}

// OpendirHandle stands for Opendir and the directory's one READDIR
// request: every directory of the tree fits in one.
func (n *slowNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	time.Sleep(2 * latency)
	return n.LoopbackNode.OpendirHandle(ctx, flags)
}

func mount(backing, mnt string) (*fuse.Server, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, err
	}
	root := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &slowNode{fs.LoopbackNode{RootData: r}}
	}
	rootNode := root.NewNode(root, nil, "", &st)
	root.RootNode = rootNode
	sec := time.Minute
	return fs.Mount(mnt, rootNode, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec,
		MountOptions: fuse.MountOptions{DirectMount: true, DisableReadDirPlus: true, MaxBackground: 128, FsName: "efskeeper-slow"},
	})
}

func main() {
	dir := flag.String("dir", "", "work directory")
	entries := flag.Int("entries", 20000, "entries in the tree")
	workers := flag.Int("workers", 64, "workers for the parallel run")
	flag.Parse()
	backing := filepath.Join(*dir, "backing")
	if _, err := os.Stat(filepath.Join(backing, ".complete")); err != nil {
		os.RemoveAll(backing)
		for d := 0; d*101 < *entries; d++ {
			p := filepath.Join(backing, fmt.Sprintf("dir%03d", d))
			if err := os.MkdirAll(p, 0o755); err != nil {
				log.Fatal(err)
			}
			for f := 0; f < 100; f++ {
				if err := os.WriteFile(filepath.Join(p, fmt.Sprintf("file%03d", f)), nil, 0o644); err != nil {
					log.Fatal(err)
				}
			}
		}
		os.WriteFile(filepath.Join(backing, ".complete"), nil, 0o644)
	}
	mnt := filepath.Join(*dir, "mnt")
	os.MkdirAll(mnt, 0o755)
	times := map[int]time.Duration{}
	for _, w := range []int{*workers, 1} {
		srv, err := mount(backing, mnt)
		if err != nil {
			log.Fatalf("mount FUSE: %v", err)
		}
		n := 0
		start := time.Now()
		err = walk.Walk(context.Background(), mnt, walk.Options{Workers: w}, func(*index.Entry) error { n++; return nil })
		times[w] = time.Since(start)
		srv.Unmount()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "  %d workers: %d entries in %s (at most %d FUSE lookups at once)\n", w, n, times[w].Round(time.Millisecond), maxInFlight.Swap(0))
	}
	fmt.Printf("%.3f %.3f\n", times[1].Seconds(), times[*workers].Seconds())
}
