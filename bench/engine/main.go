// Command engine is the engine benchmark (`make bench-engine`): one
// Organization-mode policy over 50 accounts × 16 Regions × 20 file systems
// (16,000 file systems, a backup and a copy each per day) for 7 simulated
// days on the simulated AWS and the memory store. It prints simulated days
// per second, store operations per backup and the heap after each day,
// each against its target.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"syscall"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

var regions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
}

func main() {
	accounts := flag.Int("accounts", 50, "member accounts")
	fsPer := flag.Int("fs", 20, "file systems per account and Region")
	days := flag.Int("days", 7, "simulated days")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	gcPercent := flag.Int("gcpercent", 400, "GOGC for the run (see below)")
	workers := flag.Int("workers", 1, "events, region runs, retention groups and reconciled tasks handled at once, as concurrent Lambda invocations would; on 2 cores 2 measured slower than 1: the simulated AWS steps its jobs and renders events on one goroutine, a minute's batch of ~20 events is too small to share, and the collector wants the second core (lock contention measured small: -mutexprofile); with 1 the run still uses a second core, which parses events and reads and decides on retention's groups ahead of the goroutine that acts on them, and records retention's deletions behind it")
	memprofile := flag.String("memprofile", "", "write an allocation profile (after the run) to this file")
	mutexprofile := flag.String("mutexprofile", "", "write a mutex contention profile (after the run) to this file")
	flag.IntVar(&profileDay, "profileday", 0, "with -cpuprofile: profile only this simulated day (1-based), to compare a retention day with one without")
	flag.Parse()
	// The process holds the whole simulated AWS and the in-memory store
	// (every job, recovery point and task ever made: ~100 MB per simulated
	// day of this fleet), state that production keeps in AWS and DynamoDB.
	// With the default GOGC=100 the collector spends about half the run
	// marking that simulated state again and again; 400 trades memory for
	// it. -gcpercent 100 shows the default.
	debug.SetGCPercent(*gcPercent)
	fmt.Printf("GOGC %d\n", *gcPercent)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-engine:", err)
			os.Exit(1)
		}
		profileOut = f
		if profileDay == 0 {
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "bench-engine:", err)
				os.Exit(1)
			}
		}
		defer pprof.StopCPUProfile()
	}
	if *mutexprofile != "" {
		runtime.SetMutexProfileFraction(5)
	}
	if err := run(*accounts, *fsPer, *days, *workers); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench-engine:", err)
		os.Exit(1)
	}
	for _, p := range []struct{ path, name string }{{*memprofile, "allocs"}, {*mutexprofile, "mutex"}} {
		if p.path == "" {
			continue
		}
		if err := writeProfile(p.path, p.name); err != nil {
			fmt.Fprintln(os.Stderr, "bench-engine:", err)
			os.Exit(1)
		}
	}
}

// writeProfile writes a runtime profile: "allocs", whose alloc_space and
// alloc_objects samples show where the run allocated, or "mutex", where
// workers waited for each other.
func writeProfile(path, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileDay and profileOut: -profileday N starts the CPU profile when day
// N begins and stops it when it ends.
var (
	profileDay int
	profileOut *os.File
)

// profileAt starts or stops the per-day CPU profile after `done` days.
func profileAt(done int) {
	if profileOut == nil || profileDay == 0 {
		return
	}
	switch done {
	case profileDay - 1:
		if err := pprof.StartCPUProfile(profileOut); err != nil {
			fmt.Fprintln(os.Stderr, "bench-engine:", err)
		}
	case profileDay:
		pprof.StopCPUProfile()
	}
}

func benchPolicy() (*policy.Policy, error) {
	doc := fmt.Sprintf(`{
  "id": "fleet", "name": "Fleet", "timezone": "UTC",
  "source": {"mode": "organization", "organizationalUnits": ["%s"], "regions": %s, "tags": [{"key": "backup", "value": "yes"}]},
  "backup": {"vaults": [{"region": "*", "vaultTag": {"key": "efskeeper:role", "value": "primary"}}]},
  "copies": {"enabled": true, "mappings": [
     {"sourceRegion": "us-west-2", "targetRegion": "us-east-2", "vaultTag": {"key": "efskeeper:role", "value": "dr"}},
     {"sourceRegion": "*", "targetRegion": "us-west-2", "vaultTag": {"key": "efskeeper:role", "value": "dr"}}]},
  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": {"days": 3}}],
  "retries": {"count": 1, "intervalMinutes": 10},
  "notifications": {"onSuccess": true, "onWarning": true, "onFailure": true}
}`, sim.RootID, jsonList(regions))
	p, probs := policy.Parse([]byte(doc))
	if len(probs) > 0 {
		return nil, probs
	}
	return p, nil
}

func jsonList(xs []string) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += ","
		}
		s += `"` + x + `"`
	}
	return s + "]"
}

func build(accounts, fsPer int) func(w *sim.World) {
	return func(w *sim.World) {
		for a := 0; a < accounts; a++ {
			acct := fmt.Sprintf("%012d", 100000000000+a)
			w.AddAccount(acct, sim.RootID)
			for _, r := range regions {
				l := engine.Loc{Account: acct, Region: r}
				w.AddVault(l, sim.VaultSpec{Name: "primary", Tags: map[string]string{"efskeeper:role": "primary"}})
				if r == "us-west-2" || r == "us-east-2" {
					w.AddVault(l, sim.VaultSpec{Name: "dr", Tags: map[string]string{"efskeeper:role": "dr"}})
				}
				for f := 0; f < fsPer; f++ {
					w.AddFileSystem(l, sim.FileSystemSpec{
						ID:   fmt.Sprintf("fs-%08x%08x", a, f+1000*indexOf(r)),
						Tags: map[string]string{"backup": "yes"}, SizeBytes: int64(1+f%7) << 30,
					})
				}
			}
		}
	}
}

func indexOf(r string) int {
	for i, x := range regions {
		if x == r {
			return i
		}
	}
	return -1
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

func run(accounts, fsPer, days, workers int) error {
	p, err := benchPolicy()
	if err != nil {
		return err
	}
	store := memory.New()
	fmt.Printf("fleet: %d accounts x %d Regions x %d file systems = %d file systems, %d simulated days, %d workers\n",
		accounts, len(regions), fsPer, accounts*len(regions)*fsPer, days, workers)
	var dayTimes, dayCPU []time.Duration
	var heaps []float64
	last := time.Now()
	lastCPU := cpuTime()
	setup := time.Now()
	h, err := simrun.New(simrun.Options{
		Seed: 1, Days: days, Faults: "none", Build: build(accounts, fsPer), Policies: []*policy.Policy{p}, Store: store,
		// A fleet this size expires ~32,000 points a day: an operator raises
		// the per-run deletion cap accordingly.
		Config:  engine.Config{MaxDeletesPerRun: 5000},
		Workers: workers,
		Progress: func(done, total time.Duration) {
			if done > 0 && done%(24*time.Hour) == 0 {
				now, cpu := time.Now(), cpuTime()
				dayTimes = append(dayTimes, now.Sub(last))
				dayCPU = append(dayCPU, cpu-lastCPU)
				heaps = append(heaps, heapMiB())
				fmt.Printf("  day %d: %.2fs wall, %.2fs CPU, heap %.0f MiB\n", len(dayTimes), now.Sub(last).Seconds(), (cpu - lastCPU).Seconds(), heaps[len(heaps)-1])
				profileAt(len(dayTimes))
				last, lastCPU = time.Now(), cpuTime()
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Printf("setup: %.1fs\n", time.Since(setup).Seconds())
	profileAt(0)
	start := time.Now()
	last = start
	if err := h.Run(context.Background()); err != nil {
		return err
	}
	total := time.Since(start)
	pprof.StopCPUProfile()
	rep, err := h.Report(context.Background())
	if err != nil {
		return err
	}
	ops := 0
	var names []string
	for name, n := range store.Ops() {
		ops += n
		names = append(names, name)
	}
	sort.Strings(names)
	backups := rep.Summary.Backups
	if backups == 0 {
		return fmt.Errorf("no backup completed")
	}
	// A day of the fleet: the slowest full day measured.
	worst := time.Duration(0)
	for _, d := range dayTimes {
		if d > worst {
			worst = d
		}
	}
	fmt.Println()
	fmt.Printf("backups completed: %d, copies completed: %d, sessions: %v\n", backups, rep.Summary.Copies, rep.Summary.Sessions)
	fmt.Printf("events: %d (%d irrelevant), region runs: %d, retention passes: %d\n", h.Stats.Events, h.Stats.EventsIrrelevant, h.Stats.RegionRuns, h.Stats.Retentions)
	fmt.Printf("simulated days per second: %.2f (whole run %.1fs incl. drain)\n", float64(days)/total.Seconds(), total.Seconds())
	worstCPU := time.Duration(0)
	for _, d := range dayCPU {
		worstCPU = max(worstCPU, d)
	}
	fmt.Printf("slowest simulated day: %.2fs wall  target < 1s  ratio %.2f  %s\n", worst.Seconds(), worst.Seconds()/1.0, verdict(worst.Seconds() < 1))
	fmt.Printf("slowest simulated day: %.2fs CPU (all threads; steadier than wall time on a shared machine)  ratio %.2f\n", worstCPU.Seconds(), worstCPU.Seconds()/1.0)
	perBackup := float64(ops) / float64(backups)
	fmt.Printf("store operations per backup: %.2f  target <= 10  ratio %.2f  %s\n", perBackup, perBackup/10, verdict(perBackup <= 10))
	for _, n := range names {
		fmt.Printf("    %-22s %8d  (%.2f per backup)\n", n, store.Ops()[n], float64(store.Ops()[n])/float64(backups))
	}
	if len(heaps) >= 3 {
		// Flat: the heap added on the last day is not more than on day 2
		// (day 1 builds the world's first history).
		g2 := heaps[1] - heaps[0]
		gl := heaps[len(heaps)-1] - heaps[len(heaps)-2]
		fmt.Printf("heap growth per day: day 2 %+.0f MiB, last day %+.0f MiB (records of the stores and the simulated AWS; ratio %.2f)  %s\n",
			g2, gl, ratio(gl, g2), verdict(gl <= g2*1.25+16))
	}
	if f := rep.Failed(); len(f) > 0 {
		return fmt.Errorf("invariants failed: %+v", f)
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}
