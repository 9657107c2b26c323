package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// listCounter counts what retention reads: whole-policy listings of live
// tasks, file system listings and work-list listings, with the tasks each
// returned or showed.
type listCounter struct {
	engine.Store
	mu                      sync.Mutex
	policyLists, groupLists int
	workLists               int
	policyTasks, groupTasks int
	workTasks               int
}

func (c *listCounter) ListTasks(ctx context.Context, q engine.TaskQuery) ([]*engine.Task, string, error) {
	page, next, err := c.Store.ListTasks(ctx, q)
	c.count(q, len(page))
	return page, next, err
}

// ViewTasks counts as ListTasks does: the store under the counter (the
// in-memory one) shows views, and retention reads through them.
func (c *listCounter) ViewTasks(ctx context.Context, q engine.TaskQuery, pick func([]*engine.Task) []*engine.Task) ([]*engine.Task, string, error) {
	shown := 0
	copies, next, err := c.Store.(engine.TaskViewer).ViewTasks(ctx, q, func(page []*engine.Task) []*engine.Task {
		shown = len(page)
		return pick(page)
	})
	c.count(q, shown)
	return copies, next, err
}

func (c *listCounter) count(q engine.TaskQuery, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !q.RetainBy.IsZero():
		c.workLists++
		c.workTasks += n
	case q.FileSystem != "":
		c.groupLists++
		c.groupTasks += n
	case q.PolicyID != "" && q.LiveOnly:
		c.policyLists++
		c.policyTasks += n
	}
}

func retentionPolicy(t *testing.T, retention string) *policy.Policy {
	t.Helper()
	return accountPolicyKeeping(t, "main", "dr", retention)
}

func twoVaults(w *sim.World) {
	w.AddVault(home, sim.VaultSpec{Name: "main"})
	w.AddVault(dr, sim.VaultSpec{Name: "dr"})
}

// livePoints counts, per file system, the source points still there.
func livePoints(h *simrun.Harness) map[string]int {
	out := map[string]int{}
	for _, p := range h.World.RecoveryPoints() {
		if p.CopyOf == "" && p.DeletedAt.IsZero() && !p.CompletedAt.IsZero() {
			out[p.FileSystem]++
		}
	}
	return out
}

// A count rule keeps the newest Count points: retention first looks at a
// point at the Count-th run after it (EarliestExpiry), and again while the
// point that pushes it out is still being made.
func TestRetentionCountRule(t *testing.T) {
	p := retentionPolicy(t, `{"count":3}`)
	counter := &listCounter{Store: memory.New()}
	h, rep := runHarness(t, simrun.Options{Seed: 5, Days: 10, Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{p}, Store: counter})
	live := livePoints(h)
	if len(live) != 2 || live["fs-00000000000000001"] != 3 || live["fs-00000000000000002"] != 3 {
		t.Errorf("source points left per file system: %v, want 3 each", live)
	}
	// One sweep (the policy's first pass); after it only the work list and
	// the file systems on it.
	if counter.policyLists != 1 || counter.policyTasks != 0 {
		t.Errorf("whole-policy listings: %d reading %d tasks, want the first pass's sweep of an empty policy only", counter.policyLists, counter.policyTasks)
	}
	deleted := rep.Summary.Deleted
	t.Logf("%d deletions; %d file system listings reading %d tasks; %d work-list listings reading %d tasks",
		deleted, counter.groupLists, counter.groupTasks, counter.workLists, counter.workTasks)
	if deleted == 0 || counter.groupLists > deleted/2+2 || counter.groupTasks > 6*counter.groupLists {
		t.Errorf("file system listings: %d reading %d tasks for %d deletions", counter.groupLists, counter.groupTasks, deleted)
	}
}

// Changed retention rules take effect at the next pass, which sweeps all
// of the policy's points; other changes to the policy do not sweep.
func TestRetentionRulesChange(t *testing.T) {
	p := retentionPolicy(t, `{"days":30}`)
	counter := &listCounter{Store: memory.New()}
	h, _ := runHarness(t, simrun.Options{Seed: 5, Days: 6, Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{p}, Store: counter, Drain: time.Hour})
	ctx := context.Background()
	before := livePoints(h)
	if before["fs-00000000000000001"] != 6 {
		t.Fatalf("points after 6 days: %v", before)
	}
	save := func(p *policy.Policy) {
		t.Helper()
		if _, _, err := h.Engine.SavePolicy(ctx, p, engine.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	retain := func() engine.RetentionResult {
		t.Helper()
		res, err := h.Engine.Retention(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	renamed := retentionPolicy(t, `{"days":30}`)
	renamed.Name = "Renamed"
	save(renamed)
	sweeps := counter.policyLists
	if res := retain(); res.Deleted != 0 || counter.policyLists != sweeps {
		t.Fatalf("after a rename: %d deleted, %d sweeps (was %d)", res.Deleted, counter.policyLists, sweeps)
	}
	save(retentionPolicy(t, `{"days":2}`))
	res := retain()
	if counter.policyLists != sweeps+1 {
		t.Errorf("shorter retention: %d sweeps, want %d", counter.policyLists, sweeps+1)
	}
	// Points of days 1-4 are more than 2 days old (the run ended an hour
	// into day 7): 4 per file system, source and copy each.
	if res.Deleted != 2*4*2 {
		t.Errorf("deleted %d points after the change, want 16 (%+v)", res.Deleted, res)
	}
	if live := livePoints(h); live["fs-00000000000000001"] != 2 || live["fs-00000000000000002"] != 2 {
		t.Errorf("source points left: %v, want 2 each", live)
	}
	// The sweep set every remaining task's RetainAt: the next pass reads
	// the work list only, and finds nothing due.
	if res := retain(); res.Deleted != 0 || counter.policyLists != sweeps+1 {
		t.Errorf("the pass after the sweep: %d deleted, %d sweeps", res.Deleted, counter.policyLists)
	}
}

// A pass stops at MaxDeletesPerRun and leaves the rest to the next pass,
// also when, deciding on one file system at a time, retention reads the
// next ones' tasks ahead (pkg/ahead): the reads stay within what the
// passes decided on (twice) plus the window (64) for each pass the budget
// stopped (pkg/ahead's test checks the window itself).
func TestRetentionCapStopsPassEarly(t *testing.T) {
	p := retentionPolicy(t, `{"days":1}`)
	build := func(w *sim.World) {
		w.AddAccount(acct, sim.RootID)
		for i := range 40 {
			w.AddFileSystem(home, sim.FileSystemSpec{ID: fmt.Sprintf("fs-%017d", i+1), Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 30})
		}
		twoVaults(w)
	}
	st := memory.New()
	counter := &listCounter{Store: st}
	var d *countingDriver
	runHarness(t, simrun.Options{Seed: 5, Days: 5, Faults: "none", Build: build, Policies: []*policy.Policy{p}, Store: counter,
		Config: engine.Config{MaxDeletesPerRun: 5},
		Driver: func(e *engine.Engine) simrun.Driver { d = &countingDriver{e: e, store: st, events: true}; return d }})
	capped, deleted, bound := 0, 0, 0
	for i, r := range d.retentions {
		if tried := r.Deleted + r.Expired + r.Failed; tried > 5 {
			t.Errorf("pass %d tried %d deletions, cap 5", i, tried)
		}
		deleted += r.Deleted
		// Groups decided: at most one per point examined (a file system
		// listing holds live points only), each read at most twice (the
		// pass reads a group again rather than wait for a reader its
		// machine is not running). Read ahead and not used: none when the
		// pass went through its work list; when the budget stopped it, at
		// most the window and a claim at its edge.
		bound += 2 * r.Points
		if r.Capped {
			capped++
			bound += 64 + 1
		}
	}
	if capped == 0 || deleted == 0 {
		t.Fatalf("%d passes capped, %d deletions: the test needs the cap to stop passes", capped, deleted)
	}
	if counter.groupLists > bound {
		t.Errorf("%d file system listings in %d passes (%d deletions, %d capped): more than the read-ahead window allows (%d)", counter.groupLists, len(d.retentions), deleted, capped, bound)
	}
	t.Logf("%d passes, %d capped, %d deletions, %d file system listings", len(d.retentions), capped, deleted, counter.groupLists)
}

// hiddenViewer is a store that does not offer engine.TaskViewer (the
// DynamoDB store): retention reads every task of a file system it decides
// on.
type hiddenViewer struct{ engine.Store }

// Retention decides the same from a view of a file system's tasks as from
// copies of them all: the same deletions, at the same times, in the same
// order of calls into AWS, so the same report.
func TestRetentionViewMatchesListing(t *testing.T) {
	build := func(w *sim.World) {
		w.AddAccount(acct, sim.RootID)
		for i := range 6 {
			w.AddFileSystem(home, sim.FileSystemSpec{ID: fmt.Sprintf("fs-%017d", i+1), Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 30})
		}
		twoVaults(w)
	}
	var reports [2][]byte
	for i, viewer := range []bool{true, false} {
		var st engine.Store = memory.New()
		if _, ok := st.(engine.TaskViewer); !ok {
			t.Fatal("the memory store is no longer a TaskViewer: this test compares nothing")
		}
		if !viewer {
			st = hiddenViewer{st}
		}
		_, rep := runHarness(t, simrun.Options{Seed: 9, Days: 12, Faults: "default", Build: build,
			Policies: []*policy.Policy{retentionPolicy(t, `{"count":3}`)}, Store: st})
		if rep.Summary.Deleted == 0 {
			t.Fatalf("viewer %v: no deletions to compare", viewer)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		reports[i] = b
	}
	if !bytes.Equal(reports[0], reports[1]) {
		t.Errorf("reports differ between retention reading views (%d bytes) and copies (%d bytes)", len(reports[0]), len(reports[1]))
	}
}
