package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// fleetWorld has n file systems in locA, each with a backup started at t0,
// and a driver that copies every completed backup to locDR.
func fleetWorld(seed uint64, f Faults, n int) *World {
	w := New(Config{Seed: seed, Faults: f, Start: t0})
	w.AddVault(locA, VaultSpec{Name: "primary"})
	w.AddVault(locDR, VaultSpec{Name: "dr"})
	for i := range n {
		id := fmt.Sprintf("fs-%017x", i)
		w.AddFileSystem(locA, FileSystemSpec{ID: id, SizeBytes: int64(i%7+1) * gib})
	}
	return w
}

// driveFleet starts the backups (retrying throttled calls, as the SDK
// would) and copies on completion events, for d; it returns every
// delivered event.
func driveFleet(w *World, n int, d time.Duration) [][]byte {
	return driveFleetWith(w, n, d, w.DeliverEvents)
}

// driveFleetWith is driveFleet with the events delivered by deliver.
func driveFleetWith(w *World, n int, d time.Duration, deliver func() [][]byte) [][]byte {
	b := w.Backup()
	for i := range n {
		req := backupReq(fmt.Sprintf("tok-%d", i))
		req.ResourceArn = fileSystemArn(locA, fmt.Sprintf("fs-%017x", i))
		for {
			if _, err := b.StartBackup(ctx, req); !engine.IsThrottled(err) {
				break
			}
		}
	}
	var all [][]byte
	for end := w.Now().Add(d); w.Now().Before(end); {
		w.Advance(time.Minute)
		for _, raw := range deliver() {
			all = append(all, raw)
			if !bytes.Contains(raw, []byte(`"detail-type":"Backup Job State Change"`)) || !bytes.Contains(raw, []byte(`"state":"COMPLETED"`)) {
				continue
			}
			point := resource0(raw)
			for {
				_, err := b.StartCopy(ctx, engine.StartCopyRequest{Loc: locA, SourceVaultName: "primary", RecoveryPointArn: point,
					DestinationBackupVaultArn: vaultArn(locDR, "dr"), Token: "copy-" + point})
				if !engine.IsThrottled(err) {
					break
				}
			}
		}
	}
	return all
}

// resource0 extracts resources[0] without a JSON decoder (the benchmark's
// driver must stay cheap).
func resource0(raw []byte) string {
	i := bytes.Index(raw, []byte(`"resources":["`))
	if i < 0 {
		return ""
	}
	rest := raw[i+len(`"resources":["`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func heavy(t *testing.T) Faults {
	f, err := FaultProfile("heavy")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFaultDeliveryStatistics(t *testing.T) {
	const n = 1000
	w := fleetWorld(11, heavy(t), n)
	events := driveFleet(w, n, 24*time.Hour)
	st := w.EventStats()
	if st.Emitted < 6*n {
		t.Fatalf("emitted %d events for %d backups and copies", st.Emitted, n)
	}
	// Duplication and reordering apply to the events not dropped.
	frac := func(k, of int) float64 { return float64(k) / float64(of) }
	kept := st.Emitted - st.Dropped
	for name, got := range map[string]float64{"dropped": frac(st.Dropped, st.Emitted), "duplicated": frac(st.Duplicated, kept), "reordered": frac(st.Reordered, kept)} {
		if got < 0.085 || got > 0.115 {
			t.Errorf("%s %.3f of events, want about 0.10", name, got)
		}
	}
	if want := st.Emitted - st.Dropped + st.Duplicated; st.Delivered != want || len(events) != want || w.PendingEvents() != 0 {
		t.Errorf("delivered %d (%d returned, %d pending), want emitted-dropped+duplicated = %d", st.Delivered, len(events), w.PendingEvents(), want)
	}
	// Reordering: some job's later state arrives before an earlier one.
	rank := map[string]int{"CREATED": 0, "PENDING": 1, "RUNNING": 2, "COMPLETED": 3, "FAILED": 3, "ABORTED": 3, "EXPIRED": 3}
	last := map[string]int{}
	inversions, dups := 0, 0
	seen := map[string]bool{}
	for _, raw := range events {
		e := decode(t, raw)
		if seen[e.ID] {
			dups++
		}
		seen[e.ID] = true
		k := e.DetailType + e.jobID() + e.Resources0()
		if r, ok := last[k]; ok && rank[e.state()] < r {
			inversions++
		}
		last[k] = max(last[k], rank[e.state()])
	}
	if inversions == 0 {
		t.Error("no event arrived after a later state of its job")
	}
	if dups != st.Duplicated {
		t.Errorf("%d repeated event ids, %d duplicated", dups, st.Duplicated)
	}
	// Jobs still fail at about the configured rate.
	failed, backups := 0, 0
	for _, j := range w.Jobs() {
		if j.Kind == engine.KindBackup {
			backups++
			if j.State == engine.JobFailed || j.State == engine.JobAborted {
				failed++
			}
		}
	}
	if f := float64(failed) / float64(backups); f < 0.02 || f > 0.12 {
		t.Errorf("%d of %d backups failed, want about 6%%", failed, backups)
	}
}

// Resources0 keys copy events (whose CREATED event has no job id) by their
// source point.
func (e event) Resources0() string {
	if e.DetailType == DetailCopyJob && len(e.Resources) > 0 {
		return e.Resources[0]
	}
	return ""
}

func TestEventsArriveInFiveMinuteBatches(t *testing.T) {
	f, _ := FaultProfile("none")
	w := fleetWorld(5, f, 20)
	b := w.Backup()
	for i := range 20 {
		req := backupReq(fmt.Sprintf("tok-%d", i))
		req.ResourceArn = fileSystemArn(locA, fmt.Sprintf("fs-%017x", i))
		if _, err := b.StartBackup(ctx, req); err != nil {
			t.Fatal(err)
		}
		w.Advance(17 * time.Second)
	}
	w.DeliverEvents() // what came due while starting
	batches := 0
	for end := w.Now().Add(6 * time.Hour); w.Now().Before(end); {
		w.Advance(time.Minute)
		evs := w.DeliverEvents()
		if len(evs) == 0 {
			continue
		}
		batches++
		if w.Now().Unix()%300 >= 60 {
			t.Fatalf("events delivered at %v, not at a 5-minute batch", w.Now())
		}
		for _, raw := range evs {
			at, err := time.Parse(time.RFC3339, decode(t, raw).Time)
			if err != nil || at.After(w.Now()) || w.Now().Sub(at) > 6*time.Minute {
				t.Fatalf("event of %v delivered at %v (%v)", at, w.Now(), err)
			}
		}
	}
	if batches < 3 {
		t.Fatalf("%d batches", batches)
	}
	if st := w.EventStats(); st.Dropped+st.Duplicated+st.Reordered != 0 || st.Delivered != st.Emitted {
		t.Fatalf("profile none: %+v", st)
	}
}

func TestSameSeedSameEvents(t *testing.T) {
	stream := func(seed uint64) []byte {
		w := fleetWorld(seed, heavy(t), 60)
		w.AddFileSystem(locA, FileSystemSpec{ID: "fs-auto0000000000000", SizeBytes: 3 * gib, AutomaticBackups: true})
		return bytes.Join(driveFleet(w, 60, 30*time.Hour), []byte("\n"))
	}
	a, b, c := stream(42), stream(42), stream(43)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two worlds with seed 42 emitted different events (%d vs %d bytes)", len(a), len(b))
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 42 and 43 emitted the same events")
	}
}

func TestThrottling(t *testing.T) {
	w := testWorld(t, Faults{Throttle: 1}, gib)
	b := w.Backup()
	_, err := b.StartBackup(ctx, backupReq("tok"))
	if !engine.IsThrottled(err) || awsCode(err) != ErrThrottling {
		t.Fatalf("StartBackup: %v", err)
	}
	if _, err := w.FileSystems().ListFileSystems(ctx, locA); !engine.IsThrottled(err) {
		t.Fatalf("ListFileSystems: %v", err)
	}
	if _, err := w.Organization().AccountsIn(ctx, []string{RootID}); !engine.IsThrottled(err) {
		t.Fatalf("AccountsIn: %v", err)
	}
	if len(w.Jobs()) != 0 || w.Calls()["StartBackupJob"] != 1 || w.Calls()["DescribeFileSystems"] != 1 {
		t.Fatalf("a throttled call had effect or was not counted: %d jobs, calls %v", len(w.Jobs()), w.Calls())
	}

	w = testWorld(t, Faults{Throttle: 0.3}, gib)
	throttled := 0
	for range 2000 {
		if _, err := w.Backup().EFSOptIn(ctx, locA); engine.IsThrottled(err) {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled < 540 || throttled > 660 {
		t.Fatalf("%d of 2000 calls throttled at 30%%", throttled)
	}
	if w.Calls()["DescribeRegionSettings"] != 2000 {
		t.Fatalf("calls %v", w.Calls())
	}
}

func TestUnknownFaultProfile(t *testing.T) {
	for _, name := range []string{"none", "default", "heavy"} {
		if _, err := FaultProfile(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := FaultProfile("chaos"); err == nil {
		t.Error("unknown profile accepted")
	}
}

// TestDeliverEventsToReusesMemorySafely: the callback variant delivers the
// same bytes as DeliverEvents, even though it reuses one buffer.
func TestDeliverEventsToReusesMemorySafely(t *testing.T) {
	collect := func(to bool) (out [][]byte) {
		w := fleetWorld(8, heavy(t), 200)
		b := w.Backup()
		for i := range 200 {
			req := backupReq(fmt.Sprintf("tok-%d", i))
			req.ResourceArn = fileSystemArn(locA, fmt.Sprintf("fs-%017x", i))
			retry(func() error { _, err := b.StartBackup(ctx, req); return err })
		}
		for range 3 * 24 * 60 {
			w.Advance(time.Minute)
			if to {
				w.DeliverEventsTo(func(e []byte) { out = append(out, bytes.Clone(e)) })
			} else {
				out = append(out, w.DeliverEvents()...)
			}
			if i := len(out); i > 0 && !json.Valid(out[i-1]) {
				t.Fatalf("corrupt event %s", out[i-1])
			}
		}
		return out
	}
	a, b := collect(false), collect(true)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d vs %d events", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("event %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
}

// An EventRule keeps back what it refuses, and sees each event's
// detail-type and state; the rest arrive as they would without it.
func TestEventRule(t *testing.T) {
	all := driveFleet(fleetWorld(4, Faults{}, 20), 20, 6*time.Hour)
	var seen []string
	w := fleetWorld(4, Faults{}, 20)
	w.rule = func(detailType, state, status string) bool {
		seen = append(seen, detailType+" "+state+status)
		return state == "COMPLETED"
	}
	kept := driveFleet(w, 20, 6*time.Hour)
	var want [][]byte
	for _, raw := range all {
		if bytes.Contains(raw, []byte(`"state":"COMPLETED"`)) {
			want = append(want, raw)
		}
	}
	if len(want) != 40 || len(kept) != len(want) {
		t.Fatalf("with the rule %d events, want the %d COMPLETED ones of %d", len(kept), len(want), len(all))
	}
	for i := range want {
		if !bytes.Equal(kept[i], want[i]) {
			t.Fatalf("event %d differs with the rule:\n%s\n%s", i, kept[i], want[i])
		}
	}
	st := w.EventStats()
	if st.Filtered != len(all)-len(want) || st.Filtered != len(seen)-len(want) {
		t.Errorf("Filtered %d, want %d (rule asked %d times)", st.Filtered, len(all)-len(want), len(seen))
	}
	if seen[0] != "Backup Job State Change CREATED" {
		t.Errorf("the rule first saw %q", seen[0])
	}
}

// An event taken (TakeEvents) renders, at any later time, as it was
// delivered: what it says is taken when its job changes state, not when it
// is rendered.
func TestTakenEventsRenderAsDelivered(t *testing.T) {
	const n = 300
	faults := Faults{EventBatch: 5 * time.Minute, EventDuplicate: 0.1, EventReorder: 0.1, EventMaxDelay: 2 * time.Minute}
	want := driveFleet(fleetWorld(3, faults, n), n, 6*time.Hour)
	w := fleetWorld(3, faults, n)
	var taken []Event
	got := driveFleetWith(w, n, 6*time.Hour, func() [][]byte {
		evs := w.TakeEvents(nil)
		taken = append(taken, evs...)
		var out [][]byte
		for _, e := range evs {
			out = append(out, e.AppendJSON(nil))
		}
		return out
	})
	if len(want) < 4*n || len(got) != len(want) {
		t.Fatalf("%d events taken, %d delivered", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("event %d taken differs from delivered:\n%s\n%s", i, got[i], want[i])
		}
		// Rendered again at the end, when every job has moved on.
		if again := taken[i].AppendJSON(nil); !bytes.Equal(again, want[i]) {
			t.Fatalf("event %d rendered later differs:\n%s\n%s", i, again, want[i])
		}
	}
}
