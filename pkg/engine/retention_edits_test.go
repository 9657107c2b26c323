package engine_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

func weeklyPolicy(t *testing.T, days int) *policy.Policy {
	t.Helper()
	doc := `{"id": "p1", "name": "P1", "timezone": "UTC",
	  "source": {"mode": "account", "accounts": ["` + acct + `"], "regions": ["eu-west-1"], "tags": [{"key": "backup", "value": "yes"}]},
	  "backup": {"vaults": [{"region": "*", "vault": "main"}]},
	  "copies": {"mappings": [{"sourceRegion": "*", "targetRegion": "eu-central-1", "vault": "dr"}]},
	  "schedules": [{"name": "weekly", "kind": "weekly", "days": ["mon"], "at": ["01:00"], "retention": {"days": ` + strconv.Itoa(days) + `}}],
	  "retries": {"count": 1, "intervalMinutes": 10}}`
	p, probs := policy.Parse([]byte(doc))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return p
}

// taskAt returns the task of fs-...1 scheduled at `at`.
func taskAt(t *testing.T, h *simrun.Harness, at time.Time) *engine.Task {
	t.Helper()
	var cursor string
	for {
		page, next, err := h.Store.ListTasks(context.Background(), engine.TaskQuery{PolicyID: "p1", Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			if x.ScheduledAt.Equal(at) && x.FileSystem == "fs-00000000000000001" {
				return x
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// Retention rules shortened while a backup is in flight: the sweep cannot
// see the task (no point yet), so it sweeps again at each pass until the
// session from before the change has ended; the point is deleted as soon
// as it could be, as if the change had come before the run.
func TestRetentionRulesChangeInFlight(t *testing.T) {
	for _, editInFlight := range []bool{false, true} {
		name := "edit before the run"
		if editInFlight {
			name = "edit while X is in flight"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			h, err := simrun.New(simrun.Options{Seed: 5, Days: 30, Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{weeklyPolicy(t, 30)}})
			if err != nil {
				t.Fatal(err)
			}
			start := h.World.Now()
			xAt := start.Add(time.Hour) // Mon 2026-01-05 01:00, the first run
			edit := func() {
				if _, _, err := h.Engine.SavePolicy(ctx, weeklyPolicy(t, 3), engine.AnyVersion); err != nil {
					t.Fatal(err)
				}
				if _, err := h.Engine.Retention(ctx); err != nil { // the sweep
					t.Fatal(err)
				}
			}
			edited := false
			step := func() {
				h.Minute(ctx, true)
				h.World.Advance(simrun.Step)
			}
			for !edited && h.World.Now().Before(xAt.Add(6*time.Hour)) {
				now := h.World.Now()
				if !edited && !editInFlight && now.Equal(xAt.Add(-20*time.Minute)) {
					edit()
					edited = true
				}
				if !edited && editInFlight && now.After(xAt) {
					if x := taskAt(t, h, xAt); x != nil && !x.Phase.Terminal() {
						edit()
						edited = true
						t.Logf("edited at %s with X in phase %s, RetainAt %s", now, x.Phase, x.RetainAt)
					}
				}
				step()
			}
			if !edited {
				t.Fatal("never edited")
			}
			for h.World.Now().Before(xAt.Add(9*24*time.Hour + 12*time.Hour)) {
				step()
			}
			x := taskAt(t, h, xAt)
			t.Logf("at %s: X phase %s RetainAt %s deletion %+v", h.World.Now(), x.Phase, x.RetainAt, x.Deletion)
			// X expired at X+3d (new rule), was the newest until Y (X+7d)
			// completed; by X+9.5d it must be gone.
			if !x.Deletion.Done() {
				t.Errorf("X (made %s) still live at %s, 2.5 days after a newer point made it deletable; RetainAt %s", x.PointCreatedAt, h.World.Now(), x.RetainAt)
			}
		})
	}
}

// The timely-deletions invariant counts its grace from when a point could
// be deleted, not from its release: a weekly point with a 1-day retention
// stays the newest until the next weekly point completes, and a run that
// ends a few hours after that finds it there, rightly.
func TestTimelyDeletionsWaitForTheNewerPoint(t *testing.T) {
	h, _ := runHarness(t, simrun.Options{Seed: 5, Days: 8, Start: time.Date(2026, 1, 4, 4, 0, 0, 0, time.UTC), Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{weeklyPolicy(t, 1)}})
	t.Logf("run ended at %s", h.World.Now())
}

// sixDaysThenThirty runs six days of a 3-day policy on st, then an admin
// sets 30 days.
func sixDaysThenThirty(t *testing.T, st engine.Store) *simrun.Harness {
	t.Helper()
	h, _ := runHarness(t, simrun.Options{Seed: 5, Days: 6, Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{retentionPolicy(t, `{"days":3}`)}, Store: st, Drain: time.Hour})
	if _, _, err := h.Engine.SavePolicy(context.Background(), retentionPolicy(t, `{"days":30}`), engine.AnyVersion); err != nil {
		t.Fatal(err)
	}
	return h
}

// hookStore runs hook once, before the next GetPolicy, when armed.
type hookStore struct {
	engine.Store
	hook func()
}

func (s *hookStore) GetPolicy(ctx context.Context, id string) (*engine.PolicyRecord, error) {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.Store.GetPolicy(ctx, id)
}

// An admin changes the rules (3 days -> 30 days) and reverts them while
// the sweep for 30 days runs: the sweep records the 30-day digest it set
// every RetainAt under, so the next pass sees the 3-day rules differ and
// sweeps again; points expired under 3 days go.
func TestRetentionRulesRevertedDuringSweep(t *testing.T) {
	ctx := context.Background()
	st := &hookStore{Store: memory.New()}
	h := sixDaysThenThirty(t, st)
	st.hook = func() { // the sweep's final update reads the policy: the admin reverts first
		if _, _, err := h.Engine.SavePolicy(ctx, retentionPolicy(t, `{"days":3}`), engine.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine.Retention(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := h.Store.GetPolicy(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the sweep: rules %q, policy digest %q, retention %+v", rec.RetentionRules, rec.Policy.RulesDigest(), rec.Policy.Schedules[0].Retention)
	// No more backups (as for a file system taken out of the policy): four
	// days of hourly passes.
	for end := h.World.Now().Add(4 * 24 * time.Hour); h.World.Now().Before(end); h.World.Advance(simrun.Step) {
		h.Minute(ctx, false)
	}
	if live := livePoints(h); live["fs-00000000000000001"] != 1 {
		t.Errorf("source points of fs 1 after 4 more days under a 3-day rule: %d, want 1 (the newest)", live["fs-00000000000000001"])
	}
}

// As TestRetentionRulesRevertedDuringSweep, with the revert after the
// sweep.
func TestRetentionRulesRevertedAfterSweep(t *testing.T) {
	ctx := context.Background()
	h := sixDaysThenThirty(t, memory.New())
	if _, err := h.Engine.Retention(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Engine.SavePolicy(ctx, retentionPolicy(t, `{"days":3}`), engine.AnyVersion); err != nil {
		t.Fatal(err)
	}
	for end := h.World.Now().Add(4 * 24 * time.Hour); h.World.Now().Before(end); h.World.Advance(simrun.Step) {
		h.Minute(ctx, false)
	}
	if live := livePoints(h); live["fs-00000000000000001"] != 1 {
		t.Errorf("source points of fs 1: %d, want 1", live["fs-00000000000000001"])
	}
}

// A policy whose sessions always overlap (a run starts before the last one
// ends) must still finish its sweep: only a session from before the rules
// changed holds the digest back, not one that started after the change.
func TestRetentionSweepRecordsWhileLaterSessionsRun(t *testing.T) {
	ctx := context.Background()
	h, _ := runHarness(t, simrun.Options{Seed: 5, Days: 2, Faults: "none", Build: world(twoVaults), Policies: []*policy.Policy{retentionPolicy(t, `{"days":3}`)}, Drain: time.Hour})
	digest := func() string {
		t.Helper()
		rec, err := h.Store.GetPolicy(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		return rec.RetentionRules
	}
	// running creates a Running session of p1 made at `at`, as a run that
	// is still going would have.
	running := func(at time.Time) *engine.Session {
		t.Helper()
		s := &engine.Session{ID: engine.SessionID("p1", at), PolicyID: "p1", ScheduledAt: at, Schedules: []string{"daily"},
			Status: engine.StatusRunning, Counters: engine.SessionCounters{OpenTasks: 1}, CreatedAt: at, UpdatedAt: at}
		if err := h.Store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	retention := func() {
		t.Helper()
		if _, err := h.Engine.Retention(ctx); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(days string) string {
		t.Helper()
		p := retentionPolicy(t, `{"days":`+days+`}`)
		if _, _, err := h.Engine.SavePolicy(ctx, p, engine.AnyVersion); err != nil {
			t.Fatal(err)
		}
		return p.RulesDigest()
	}

	now := h.World.Now()
	thirty := edit("30")
	running(now.Add(time.Minute)) // started after the change, still running
	retention()
	if got := digest(); got != thirty {
		t.Fatalf("a session started after the change held the sweep back: rules %q, want %q", got, thirty)
	}

	// Rules change again while an older session still runs: this time the
	// sweep must wait for it, and record once it has ended.
	three := edit("3")
	older := running(now.Add(-time.Hour))
	retention()
	if got := digest(); got != thirty {
		t.Fatalf("the sweep recorded %q while a session from before the change ran; want the old %q kept", got, thirty)
	}
	older.Status, older.EndedAt = engine.StatusSuccess, now
	if err := h.Store.PutSession(ctx, older); err != nil {
		t.Fatal(err)
	}
	retention()
	if got := digest(); got != three {
		t.Fatalf("after the older session ended: rules %q, want %q", got, three)
	}
}
