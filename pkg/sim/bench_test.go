package sim

import (
	"bytes"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// benchRegions are 16 real Region codes; each copies to the next one.
var benchRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
	"eu-central-1", "eu-north-1", "eu-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-south-1", "sa-east-1",
}

// benchFleet builds the benchmark's organization: accounts × Regions ×
// file systems, a vault per (account, Region), one file system in twenty
// with EFS automatic backups.
func benchFleet(accounts, fsPer int, f Faults) (*World, []engine.Loc) {
	w := New(Config{Seed: 1, Faults: f, Start: time.Date(2024, 5, 14, 0, 0, 0, 0, time.UTC)})
	w.AddOU("ou-bench", "")
	var locs []engine.Loc
	for a := range accounts {
		acct := fmt.Sprintf("%012d", 100000000000+a)
		w.AddAccount(acct, "ou-bench")
		for _, r := range benchRegions {
			l := engine.Loc{Account: acct, Region: r}
			locs = append(locs, l)
			w.AddVault(l, VaultSpec{Name: "primary"})
			for i := range fsPer {
				w.AddFileSystem(l, FileSystemSpec{
					ID:               fmt.Sprintf("fs-%08x%09x", a*len(benchRegions)+len(locs), i),
					SizeBytes:        int64(i%10+1) * gib,
					AutomaticBackups: i%20 == 0,
				})
			}
		}
	}
	return w, locs
}

// simDay is a trivial driver's day: one backup per file system at 02:00,
// a copy to the next Region on each completion event, minute steps, events
// scanned with bytes.Contains rather than decoded (the engine's cost is
// measured elsewhere). It returns how many events were delivered.
func simDay(w *World, locs []engine.Loc, dayN int) int {
	b := w.Backup()
	dayStart := w.Now()
	w.AdvanceTo(dayStart.Add(2 * time.Hour))
	for _, l := range locs {
		var fss []engine.FileSystem
		retry(func() (err error) { fss, err = w.FileSystems().ListFileSystems(ctx, l); return err })
		tags := map[string]string{engine.TagPolicy: "bench", engine.TagSession: fmt.Sprintf("bench#%d", dayN)}
		for _, fs := range fss {
			retry(func() error {
				_, err := b.StartBackup(ctx, engine.StartBackupRequest{Loc: l, VaultName: "primary", ResourceArn: fs.Arn,
					Token: fmt.Sprintf("d%d-%s", dayN, fs.ID), Lifecycle: &engine.Lifecycle{DeleteAfterDays: 7},
					RecoveryPointTags: tags})
				return err
			})
		}
	}
	next := map[string]string{}
	for i, r := range benchRegions {
		next[r] = benchRegions[(i+1)%len(benchRegions)]
	}
	delivered := 0
	for end := dayStart.Add(24 * time.Hour); w.Now().Before(end); {
		w.Advance(time.Minute)
		w.DeliverEventsTo(func(raw []byte) {
			delivered++
			if !completedOnDemandBackup(raw) {
				return
			}
			point := resource0(raw)
			f, _ := splitArn(point)
			l := engine.Loc{Account: f[4], Region: f[3]}
			retry(func() error {
				_, err := b.StartCopy(ctx, engine.StartCopyRequest{Loc: l, SourceVaultName: "primary", RecoveryPointArn: point,
					DestinationBackupVaultArn: vaultArn(engine.Loc{Account: l.Account, Region: next[l.Region]}, "primary"),
					Token:                     "c-" + point, Lifecycle: &engine.Lifecycle{DeleteAfterDays: 7}})
				return err
			})
		})
	}
	return delivered
}

// completedOnDemandBackup spots a COMPLETED backup event of ours by
// looking at the few bytes that tell: the detail-type right after the
// fixed-length id, a non-empty resources list (only COMPLETED backup
// events have one), and no createdBy (automatic backups) at the end. It
// relies on the simulator's key order; TestBenchDriverDay checks it.
func completedOnDemandBackup(raw []byte) bool {
	const at = len(`{"version":"0","id":"01234567-89ab-cdef-0123-456789abcdef","detail-type":"`)
	if len(raw) < 400 || raw[at] != 'B' {
		return false
	}
	return bytes.Contains(raw[at:400], []byte(`"resources":["`)) &&
		!bytes.Contains(raw[len(raw)-400:], []byte(`"createdBy"`))
}

// retry repeats a throttled call, as the SDK does; other errors are bugs
// of the driver.
func retry(call func() error) {
	for {
		err := call()
		if err == nil {
			return
		}
		if !engine.IsThrottled(err) {
			panic(err)
		}
	}
}

// BenchmarkSimDay runs simulated days of 50 accounts × 16 Regions × 20
// file systems (16,000 file systems, 16,000 backups and 16,000 copies a
// day, plus 800 automatic backups): one op is one simulated day, world
// set-up excluded. Days accumulate recovery points (7-day retention), as a
// soak would.
func BenchmarkSimDay(b *testing.B) {
	f, _ := FaultProfile("default")
	w, locs := benchFleet(50, 20, f)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	events, jobs := 0, 0
	for i := 0; i < b.N; i++ {
		before := len(w.jobs)
		events += simDay(w, locs, i)
		jobs += len(w.jobs) - before
	}
	b.StopTimer()
	// CPU time (all threads, the garbage collector's included) says more
	// than wall time on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/day")
	b.ReportMetric(float64(events)/float64(b.N), "events/day")
	b.ReportMetric(float64(jobs)/float64(b.N), "jobs/day")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/float64(1<<20), "live-MB")
	runtime.KeepAlive(w)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchDriverDay checks, on a small fleet, that the benchmark's day
// does what it claims: every file system backed up and copied.
func TestBenchDriverDay(t *testing.T) {
	w, locs := benchFleet(2, 5, Faults{EventBatch: 5 * time.Minute})
	simDay(w, locs, 0)
	backups, copies := 0, 0
	for _, j := range w.Jobs() {
		if j.State != engine.JobCompleted {
			t.Errorf("%s job %s %s %q", j.Kind, j.ID, j.State, j.Message)
		}
		switch {
		case j.Kind == engine.KindCopy:
			copies++
		case j.BackupPlanID == "":
			backups++
		}
	}
	if n := 2 * 16 * 5; backups != n || copies != n {
		t.Fatalf("%d backups, %d copies; want %d each", backups, copies, n)
	}
}

// BenchmarkSimDaySmall is BenchmarkSimDay on a tenth of the fleet (5
// accounts: 1,600 file systems, 3,200 jobs a day), short enough to run
// with -count for before/after comparisons.
func BenchmarkSimDaySmall(b *testing.B) {
	f, _ := FaultProfile("default")
	w, locs := benchFleet(5, 20, f)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		simDay(w, locs, i)
	}
}

// BenchmarkRetentionDelete measures what the engine's retention does per
// recovery point it deletes: DescribeRecoveryPoint, ListTags and
// DeleteRecoveryPoint. Points come from simulated days run with the timer
// stopped.
func BenchmarkRetentionDelete(b *testing.B) {
	w, locs := benchFleet(5, 20, Faults{EventBatch: 5 * time.Minute})
	api := w.Backup()
	var points []RecoveryPointInfo
	day := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(points) == 0 {
			b.StopTimer()
			simDay(w, locs, day)
			day++
			for _, p := range w.RecoveryPoints() {
				if !p.Gone && p.Status == engine.RPCompleted && p.Vault == "primary" {
					points = append(points, p)
				}
			}
			b.StartTimer()
		}
		p := points[len(points)-1]
		points = points[:len(points)-1]
		l := engine.Loc{Account: p.Account, Region: p.Region}
		if _, err := api.DescribeRecoveryPoint(ctx, l, p.Vault, p.Arn); err != nil {
			b.Fatal(err)
		}
		if _, err := api.RecoveryPointTags(ctx, l, p.Arn); err != nil {
			b.Fatal(err)
		}
		if err := api.DeleteRecoveryPoint(ctx, l, p.Vault, p.Arn); err != nil {
			b.Fatal(err)
		}
	}
}
