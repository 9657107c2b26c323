// Command fusebench serves a tree through FUSE with 1 ms added to every
// lookup and getattr and 2 ms to every directory open (EFS answers metadata
// calls in about a millisecond), and times the walker on it with W workers
// and with 1, each on a fresh mount so that no kernel cache carries over.
//
// The server (memfs.go) runs in a child process, this program started with
// -serve, and answers from a copy of the tree in memory: EFS is another
// machine, while here the server shares the walker's two cores, so it must
// cost as little CPU as it can (a loopback server in the walker's process
// cost more CPU than the walk and shared its Go scheduler). It prints the
// walker's and the server's CPU time, the calls it served and, with
// -timeline, the lookups in flight every 10 ms.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/efskeeper/efskeeper/bench/index/internal/prof"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

// latency is the time each metadata call takes (-latency).
var latency = time.Millisecond

var inFlight, maxInFlight atomic.Int64

// Calls per operation, to tell how many slow calls a walk makes.
var lookups, getattrs, opendirs atomic.Int64

func track() func() {
	v := inFlight.Add(1)
	for m := maxInFlight.Load(); v > m && !maxInFlight.CompareAndSwap(m, v); m = maxInFlight.Load() {
	}
	return func() { inFlight.Add(-1) }
}

func mount(backing, mnt string) (*fuse.Server, error) {
	syscall.Unmount(mnt, syscall.MNT_DETACH) // a mount left by a killed run
	fs, err := loadTree(backing)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", backing, err)
	}
	// Requests are served on goroutines of their own (SingleThreaded off),
	// so the 64 lookups of a walk wait at once; MaxBackground only bounds
	// the kernel's asynchronous requests (releasedir here).
	srv, err := fuse.NewServer(fs, mnt, &fuse.MountOptions{
		DirectMount: true, DisableReadDirPlus: true, MaxBackground: 128, FsName: "efskeeper-slow", Name: "memfs",
	})
	if err != nil {
		return nil, err
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		return nil, err
	}
	return srv, nil
}

// serve is the child process: mount, say "ready", serve until standard
// input closes, unmount and print the call counts and the lookups in
// flight every 10 ms.
func serve(backing, mnt string) {
	srv, err := mount(backing, mnt)
	if err != nil {
		log.Fatalf("mount FUSE: %v", err)
	}
	var samples []string
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				samples = append(samples, fmt.Sprint(inFlight.Load()))
			}
		}
	}()
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	close(done)
	if err := srv.Unmount(); err != nil {
		log.Printf("unmount %s: %v", mnt, err)
	}
	fmt.Printf("%d %d %d %d %s\n", maxInFlight.Load(), lookups.Load(), getattrs.Load(), opendirs.Load(), strings.Join(samples, ","))
}

// server is a running child process serving one mount.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startServer starts the child; a non-empty profile is where it writes its
// CPU profile.
func startServer(backing, mnt, profile string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", backing, "-mnt", mnt, "-latency", latency.String(), "-server-cpuprofile", profile)
	cmd.Stderr = os.Stderr
	// The server runs with the machine's processors whatever the walker's
	// GOMAXPROCS is (it is its own machine, in the model).
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", runtime.NumCPU()))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := s.out.ReadString('\n')
	if err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		return nil, fmt.Errorf("FUSE server did not start (%q, %v)", line, err)
	}
	return s, nil
}

// stop unmounts and returns the server's report line and CPU time.
func (s *server) stop() (string, time.Duration, error) {
	s.stdin.Close()
	line, err := s.out.ReadString('\n')
	if werr := s.cmd.Wait(); err == nil {
		err = werr
	}
	var cpu time.Duration
	if ru, ok := s.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return strings.TrimSpace(line), cpu, err
}

func main() {
	dir := flag.String("dir", "", "work directory")
	entries := flag.Int("entries", 20000, "entries in the tree")
	workers := flag.Int("workers", 64, "workers for the parallel run")
	parallelOnly := flag.Bool("parallel-only", false, "skip the 1-worker run (when investigating)")
	traceOut := flag.String("trace", "", "write an execution trace of the parallel run's walker here")
	cpuOut := flag.String("cpuprofile", "", "write a CPU profile of the parallel run's walker here")
	timeline := flag.Bool("timeline", false, "print the lookups in flight every 10 ms of the parallel run")
	flag.DurationVar(&latency, "latency", latency, "time each metadata call takes (directory opens take twice that)")
	serveDir := flag.String("serve", "", "internal: serve this backing directory on -mnt")
	mntFlag := flag.String("mnt", "", "internal: mount point for -serve")
	serverProfile := flag.String("server-cpuprofile", "", "write CPU profiles of the FUSE server to this path with the run's number appended")
	flag.Parse()
	if *serveDir != "" {
		stop, err := prof.Start(*serverProfile, "")
		if err != nil {
			log.Fatal(err)
		}
		defer stop()
		serve(*serveDir, *mntFlag)
		return
	}
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
	// Like the other figures of make bench-index, the parallel walk is the
	// best of three: it is short and CPU-bound on two shared cores. The
	// serial walk mostly waits and takes half a minute; it runs once.
	times := map[int]time.Duration{}
	runs := []int{*workers, *workers, *workers, 1}
	if *parallelOnly {
		runs = runs[:3]
	}
	for run, w := range runs {
		profile := ""
		if *serverProfile != "" {
			profile = fmt.Sprintf("%s.%d", *serverProfile, run)
		}
		srv, err := startServer(backing, mnt, profile)
		if err != nil {
			log.Fatal(err)
		}
		stopTrace := func() {}
		if w != 1 && len(times) == 0 { // the first parallel run
			if stopTrace, err = prof.Start(*cpuOut, *traceOut); err != nil {
				log.Fatal(err)
			}
		}
		n := 0
		start, cpu0 := time.Now(), prof.CPUTime()
		err = walk.Walk(context.Background(), mnt, walk.Options{Workers: w}, func(*index.Entry) error { n++; return nil })
		took := time.Since(start)
		if t, ok := times[w]; !ok || took < t {
			times[w] = took
		}
		cpu := prof.CPUTime() - cpu0
		stopTrace()
		report, srvCPU, serr := srv.stop()
		if err != nil {
			log.Fatal(err)
		}
		if serr != nil {
			log.Fatalf("FUSE server: %v", serr)
		}
		var maxFlight, nLookup, nGetattr, nOpendir int64
		var samples string
		fmt.Sscan(report, &maxFlight, &nLookup, &nGetattr, &nOpendir, &samples)
		fmt.Fprintf(os.Stderr, "  %d workers: %d entries in %s, CPU walker %s + server %s (at most %d FUSE lookups at once; %d lookups, %d getattrs, %d opendirs)\n",
			w, n, took.Round(time.Millisecond), cpu.Round(time.Millisecond), srvCPU.Round(time.Millisecond), maxFlight, nLookup, nGetattr, nOpendir)
		if *timeline && w != 1 && samples != "" {
			fmt.Fprintln(os.Stderr, "  lookups in flight every 10 ms:", samples)
		}
	}
	fmt.Printf("%.3f %.3f\n", times[1].Seconds(), times[*workers].Seconds())
}
