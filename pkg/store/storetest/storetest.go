// Package storetest is the contract of engine.Store as tests: every
// implementation runs Run against fresh, empty stores and must pass all of
// it. A clause of the Store doc comments that no subtest checks is a clause
// no store is held to, so add the subtest with the clause.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Run runs the contract suite. newStore must return a new, empty store for
// each call (each subtest calls it once).
func Run(t *testing.T, newStore func(t *testing.T) engine.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s engine.Store)
	}{
		{"PolicyVersions", testPolicyVersions},
		{"PolicyCopies", testPolicyCopies},
		{"ListPolicies", testListPolicies},
		{"DeletePolicy", testDeletePolicy},
		{"DuePolicies", testDuePolicies},
		{"SessionVersions", testSessionVersions},
		{"IDRules", testIDRules},
		{"AdjustSession", testAdjustSession},
		{"AdjustSessionConcurrent", testAdjustSessionConcurrent},
		{"ListSessions", testListSessions},
		{"ListSessionsStablePages", testListSessionsStablePages},
		{"RunningSessions", testRunningSessions},
		{"Units", testUnits},
		{"TaskVersions", testTaskVersions},
		{"TaskLookups", testTaskLookups},
		{"DueTasks", testDueTasks},
		{"ListTasks", testListTasks},
		{"ListTasksLiveOnly", testListTasksLiveOnly},
		{"ListTasksOfFileSystem", testListTasksOfFileSystem},
		{"RetentionWorkList", testRetentionWorkList},
		{"ListTasksRefusesMixedQueries", testListTasksMixedQueries},
		{"ConcurrentPolicyUpdates", testConcurrentPolicyUpdates},
		{"ConcurrentTaskUpdates", testConcurrentTaskUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// t0 is the base instant of the fixtures: UTC and without a monotonic
// reading, so that a record read back equals the one written.
var t0 = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

var ctx = context.Background()

var loc1 = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
var loc2 = engine.Loc{Account: "444455556666", Region: "us-east-1"}

// newPolicy returns a record whose policy has something in every slice
// and pointer, so that a shallow copy anywhere shows.
func newPolicy(id string) *engine.PolicyRecord {
	return &engine.PolicyRecord{
		Policy: &policy.Policy{
			ID:       id,
			Name:     "Policy " + id,
			Enabled:  true,
			Timezone: "Europe/Berlin",
			Source: policy.Source{
				Mode:        policy.ModeAccount,
				Accounts:    []string{loc1.Account},
				Regions:     []string{"eu-west-1", "us-east-1"},
				FileSystems: []string{"fs-0123456789abcdef0"},
				Tags:        []policy.Tag{{Key: "backup", Value: "gold"}},
			},
			Backup: policy.Backup{Vaults: []policy.VaultRef{
				{Region: "eu-west-1", Vault: "prod-vault"},
				{Region: "*", VaultTag: &policy.Tag{Key: "efskeeper", Value: "yes"}},
			}},
			Copies: policy.Copies{Enabled: true, Mappings: []policy.Mapping{
				{SourceRegion: "*", TargetRegion: "us-west-2", Vault: "dr-vault"},
			}},
			Schedules: []policy.Schedule{{
				Name: "daily", Kind: policy.KindDaily, At: []string{"02:00"},
				Days: []string{"mon", "tue"}, Retention: policy.Retention{Days: 14},
			}},
			Retries:       policy.Retries{Count: 2, IntervalMinutes: 10},
			Notifications: policy.Notifications{OnWarning: true, OnFailure: true},
			Lifecycle:     &policy.Lifecycle{ColdAfterDays: 30},
		},
		Watermark: t0.Add(-24 * time.Hour),
		NextRunAt: t0,
		CreatedAt: t0.Add(-48 * time.Hour),
		UpdatedAt: t0.Add(-24 * time.Hour),
	}
}

func newSession(policyID string, at time.Time) *engine.Session {
	return &engine.Session{
		ID:          engine.SessionID(policyID, at),
		PolicyID:    policyID,
		ScheduledAt: at,
		Schedules:   []string{"daily", "weekly"},
		Status:      engine.StatusRunning,
		Reasons: []engine.Reason{{
			Severity: engine.SeverityInfo, Code: engine.ReasonOptInEnabled,
			Account: loc1.Account, Region: loc1.Region, Message: "opted in",
		}},
		Units:     []engine.Loc{loc1, loc2},
		Counters:  engine.SessionCounters{OpenUnits: 2},
		CreatedAt: at,
		UpdatedAt: at,
	}
}

func newUnit(s *engine.Session, l engine.Loc) *engine.Unit {
	return &engine.Unit{
		SessionID: s.ID,
		PolicyID:  s.PolicyID,
		Loc:       l,
		State:     engine.UnitPending,
		Reasons:   []engine.Reason{{Severity: engine.SeverityWarning, Code: engine.ReasonVaultMissing, Message: "no vault"}},
		CreatedAt: s.ScheduledAt,
		UpdatedAt: s.ScheduledAt,
	}
}

func newTask(s *engine.Session, l engine.Loc, fs string) *engine.Task {
	return &engine.Task{
		SessionID:   s.ID,
		PolicyID:    s.PolicyID,
		Loc:         l,
		FileSystem:  fs,
		ResourceArn: "arn:aws:elasticfilesystem:" + l.Region + ":" + l.Account + ":file-system/" + fs,
		Schedules:   []string{"daily"},
		ScheduledAt: s.ScheduledAt,
		VaultName:   "prod-vault",
		VaultArn:    "arn:aws:backup:" + l.Region + ":" + l.Account + ":backup-vault:prod-vault",
		Phase:       engine.PhaseBackup,
		Backup:      engine.Job{State: engine.JobCreated, Attempt: 1, Token: "tok-" + fs},
		Copies: []engine.Copy{{
			TargetRegion: "us-west-2", VaultName: "dr-vault",
			Job: engine.Job{State: engine.JobNotStarted},
		}},
		Reasons:     []engine.Reason{{Severity: engine.SeverityInfo, Code: "x", Message: "m"}},
		NextCheckAt: s.ScheduledAt.Add(time.Hour),
		CreatedAt:   s.ScheduledAt,
		UpdatedAt:   s.ScheduledAt,
	}
}

// same fails the test unless want and got encode to the same JSON: the
// records' own encoding, which is what a store must preserve.
func same(t *testing.T, what string, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(g) {
		t.Fatalf("%s differs:\nwant %s\ngot  %s", what, w, g)
	}
}

// wantCode fails the test unless err carries the engine error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := engine.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testPolicyVersions(t *testing.T, s engine.Store) {
	_, err := s.GetPolicy(ctx, "nope")
	wantCode(t, "get missing policy", err, engine.ENOTFOUND)

	p := newPolicy("p1")
	must(t, "create", s.PutPolicy(ctx, p))
	if p.Version != 1 {
		t.Fatalf("version after create = %d, want 1 in the caller's struct", p.Version)
	}
	got, err := s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	same(t, "policy read back", p, got)

	p.Policy.Name = "second"
	must(t, "update at version 1", s.PutPolicy(ctx, p))
	if p.Version != 2 {
		t.Fatalf("version after update = %d, want 2", p.Version)
	}

	stale := newPolicy("p1")
	stale.Version = 1
	stale.Policy.Name = "stale"
	wantCode(t, "put at stale version", s.PutPolicy(ctx, stale), engine.ECONFLICT)
	if stale.Version != 1 {
		t.Fatalf("failed put changed the caller's version to %d", stale.Version)
	}
	again := newPolicy("p1")
	wantCode(t, "put at version 0 over an existing policy", s.PutPolicy(ctx, again), engine.ECONFLICT)
	ahead := newPolicy("p1")
	ahead.Version = 3
	wantCode(t, "put at a version ahead of the stored one", s.PutPolicy(ctx, ahead), engine.ECONFLICT)

	got, err = s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	if got.Policy.Name != "second" || got.Version != 2 {
		t.Fatalf("after failed puts: name %q version %d, want second at 2", got.Policy.Name, got.Version)
	}

	ghost := newPolicy("ghost")
	ghost.Version = 4
	wantCode(t, "put at version 4 of a policy that does not exist", s.PutPolicy(ctx, ghost), engine.ECONFLICT)
	_, err = s.GetPolicy(ctx, "ghost")
	wantCode(t, "failed put must create nothing", err, engine.ENOTFOUND)
}

func testPolicyCopies(t *testing.T, s engine.Store) {
	p := newPolicy("p1")
	must(t, "create", s.PutPolicy(ctx, p))
	want := newPolicy("p1")
	want.Version = 1

	// Changing the caller's struct after the write must not reach the store.
	p.Policy.Name = "changed"
	p.Policy.Source.Regions[0] = "changed"
	p.Policy.Schedules[0].At[0] = "23:59"
	p.Policy.Backup.Vaults[1].VaultTag.Value = "changed"
	p.Policy.Lifecycle.ColdAfterDays = 99

	got, err := s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	same(t, "stored policy after the caller changed its struct", want, got)

	// Changing a returned record must not reach the store either.
	got.Policy.Name = "changed"
	got.Policy.Source.Tags[0].Value = "changed"
	got.Policy.Schedules[0].Days[0] = "sun"
	got.Policy.Copies.Mappings[0].Vault = "changed"
	got.Policy.Backup.Vaults[1].VaultTag.Key = "changed"
	got.Policy.Lifecycle.ColdAfterDays = 1
	again, err := s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	same(t, "stored policy after a reader changed its copy", want, again)

	list, err := s.ListPolicies(ctx)
	must(t, "list", err)
	list[0].Policy.Source.Accounts[0] = "changed"
	due, err := s.DuePolicies(ctx, t0)
	must(t, "due", err)
	if len(due) != 1 {
		t.Fatalf("due policies = %d, want 1", len(due))
	}
	due[0].Policy.Schedules[0].Name = "changed"
	again, err = s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	same(t, "stored policy after list readers changed their copies", want, again)
}

func testListPolicies(t *testing.T, s engine.Store) {
	list, err := s.ListPolicies(ctx)
	must(t, "list empty", err)
	if len(list) != 0 {
		t.Fatalf("empty store lists %d policies", len(list))
	}
	for _, id := range []string{"b", "c", "a"} {
		must(t, "create "+id, s.PutPolicy(ctx, newPolicy(id)))
	}
	list, err = s.ListPolicies(ctx)
	must(t, "list", err)
	var ids []string
	for _, p := range list {
		ids = append(ids, p.Policy.ID)
		if p.Version != 1 {
			t.Errorf("policy %s listed at version %d, want 1", p.Policy.ID, p.Version)
		}
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("listed %v, want [a b c] (by id)", ids)
	}
}

func testDeletePolicy(t *testing.T, s engine.Store) {
	wantCode(t, "delete missing", s.DeletePolicy(ctx, "nope", 1), engine.ENOTFOUND)
	p := newPolicy("p1")
	must(t, "create", s.PutPolicy(ctx, p))
	must(t, "update", s.PutPolicy(ctx, p)) // version 2

	wantCode(t, "delete at stale version", s.DeletePolicy(ctx, "p1", 1), engine.ECONFLICT)
	wantCode(t, "delete at version 0", s.DeletePolicy(ctx, "p1", 0), engine.ECONFLICT)
	got, err := s.GetPolicy(ctx, "p1")
	must(t, "a failed delete deletes nothing", err)
	same(t, "policy after failed deletes", p, got)
	due, err := s.DuePolicies(ctx, t0)
	must(t, "due", err)
	if len(due) != 1 {
		t.Fatalf("after failed deletes %d policies are due, want 1", len(due))
	}

	must(t, "delete at version 2", s.DeletePolicy(ctx, "p1", 2))
	_, err = s.GetPolicy(ctx, "p1")
	wantCode(t, "get deleted", err, engine.ENOTFOUND)
	list, err := s.ListPolicies(ctx)
	must(t, "list", err)
	due, err = s.DuePolicies(ctx, t0)
	must(t, "due", err)
	if len(list) != 0 || len(due) != 0 {
		t.Fatalf("deleted policy still listed (%d) or due (%d)", len(list), len(due))
	}
	wantCode(t, "delete twice", s.DeletePolicy(ctx, "p1", 2), engine.ENOTFOUND)

	// The id is free again: a new policy starts at version 1.
	again := newPolicy("p1")
	must(t, "re-create", s.PutPolicy(ctx, again))
	if again.Version != 1 {
		t.Fatalf("re-created policy at version %d, want 1", again.Version)
	}
}

func testDuePolicies(t *testing.T, s engine.Store) {
	now := t0.Add(10 * time.Minute)
	mk := func(id string, enabled bool, next time.Time) *engine.PolicyRecord {
		p := newPolicy(id)
		p.Policy.Enabled = enabled
		p.NextRunAt = next
		must(t, "create "+id, s.PutPolicy(ctx, p))
		return p
	}
	past := mk("past", true, now.Add(-time.Hour))
	atNow := mk("at-now", true, now)
	later := mk("later", true, now.Add(time.Nanosecond))
	mk("disabled", false, now.Add(-2*time.Hour))
	mk("never", true, time.Time{})
	early := mk("early", true, now.Add(-2*time.Hour))

	check := func(what string, want ...string) {
		t.Helper()
		due, err := s.DuePolicies(ctx, now)
		must(t, what, err)
		if got := policyIDs(due); !slices.Equal(got, want) {
			t.Fatalf("%s: due %v, want %v (earliest first)", what, got, want)
		}
	}
	check("initial", "early", "past", "at-now")

	past.NextRunAt = now.Add(time.Hour)
	must(t, "move past to the future", s.PutPolicy(ctx, past))
	later.NextRunAt = now.Add(-30 * time.Minute)
	must(t, "move later to the past", s.PutPolicy(ctx, later))
	atNow.Policy.Enabled = false
	must(t, "disable at-now", s.PutPolicy(ctx, atNow))
	early.NextRunAt = time.Time{}
	must(t, "clear early", s.PutPolicy(ctx, early))
	check("after updates", "later")

	due, err := s.DuePolicies(ctx, now.Add(2*time.Hour))
	must(t, "due later", err)
	if got := policyIDs(due); !slices.Equal(got, []string{"later", "past"}) {
		t.Fatalf("due two hours later: %v, want [later past]", got)
	}
}

func testSessionVersions(t *testing.T, s engine.Store) {
	_, err := s.GetSession(ctx, engine.SessionID("p1", t0))
	wantCode(t, "get missing session", err, engine.ENOTFOUND)

	ss := newSession("p1", t0)
	must(t, "create", s.CreateSession(ctx, ss))
	if ss.Version != 1 {
		t.Fatalf("version after create = %d, want 1", ss.Version)
	}
	dup := newSession("p1", t0)
	dup.Status = engine.StatusFailed
	wantCode(t, "create twice", s.CreateSession(ctx, dup), engine.ECONFLICT)
	if dup.Version != 0 {
		t.Fatalf("failed create set the caller's version to %d", dup.Version)
	}
	got, err := s.GetSession(ctx, ss.ID)
	must(t, "get", err)
	same(t, "session read back", ss, got)

	got.Units[0].Region = "changed"
	got.Reasons[0].Message = "changed"
	got.Schedules[0] = "changed"
	ss.Units[1].Account = "changed-by-writer"
	again, err := s.GetSession(ctx, ss.ID)
	must(t, "get", err)
	want := newSession("p1", t0)
	want.Version = 1
	same(t, "stored session after callers changed their copies", want, again)
	if h, ok := s.(engine.SessionHeads); ok {
		// A head is the session without its units, and the caller's.
		head, err := h.GetSessionHead(ctx, ss.ID)
		must(t, "get head", err)
		wantHead := *want
		wantHead.Units = nil
		same(t, "session head", &wantHead, head)
		head.Reasons[0].Message = "changed"
		head.Schedules[0] = "changed"
		again, err := s.GetSession(ctx, ss.ID)
		must(t, "get", err)
		same(t, "stored session after a head was changed", want, again)
		_, err = h.GetSessionHead(ctx, engine.SessionID("p1", t0.Add(time.Hour)))
		wantCode(t, "head of a missing session", err, engine.ENOTFOUND)
	}

	again.Status = engine.StatusSuccess
	again.EndedAt = t0.Add(time.Hour)
	must(t, "put at version 1", s.PutSession(ctx, again))
	if again.Version != 2 {
		t.Fatalf("version after put = %d, want 2", again.Version)
	}
	stale := newSession("p1", t0)
	stale.Version = 1
	wantCode(t, "put at stale version", s.PutSession(ctx, stale), engine.ECONFLICT)
	if stale.Version != 1 {
		t.Fatalf("failed put changed the caller's version to %d", stale.Version)
	}
	zero := newSession("p1", t0)
	wantCode(t, "put at version 0 over an existing session", s.PutSession(ctx, zero), engine.ECONFLICT)
	ghost := newSession("p1", t0.Add(time.Hour))
	ghost.Version = 2
	wantCode(t, "put at version 2 of a missing session", s.PutSession(ctx, ghost), engine.ECONFLICT)
	_, err = s.GetSession(ctx, ghost.ID)
	wantCode(t, "failed put must create nothing", err, engine.ENOTFOUND)

	fresh := newSession("p1", t0.Add(2*time.Hour))
	must(t, "put at version 0 creates", s.PutSession(ctx, fresh))
	if fresh.Version != 1 {
		t.Fatalf("version after create by put = %d, want 1", fresh.Version)
	}
	got, err = s.GetSession(ctx, again.ID)
	must(t, "get", err)
	same(t, "session after put", again, got)
}

func testIDRules(t *testing.T, s engine.Store) {
	bad := newSession("p1", t0)
	bad.ID = "p1#made-up"
	wantCode(t, "create with an id that is not SessionID(policy, scheduledAt)", s.CreateSession(ctx, bad), engine.EINVALID)
	bad = newSession("p1", t0)
	bad.ScheduledAt = t0.Add(time.Minute)
	wantCode(t, "put whose id does not match its scheduled instant", s.PutSession(ctx, bad), engine.EINVALID)
	hash := newSession("p#1", t0)
	wantCode(t, "create for a policy id with '#'", s.CreateSession(ctx, hash), engine.EINVALID)
	u := newUnit(newSession("p1", t0), loc1)
	u.PolicyID = "p2"
	wantCode(t, "create a unit whose session belongs to another policy", s.CreateUnit(ctx, u), engine.EINVALID)
	wantCode(t, "put a unit whose session belongs to another policy", s.PutUnit(ctx, u), engine.EINVALID)
	x := newTask(newSession("p1", t0), loc1, "fs-00000001")
	x.PolicyID = "p"
	wantCode(t, "create a task whose session belongs to another policy", s.CreateTask(ctx, x), engine.EINVALID)
	wantCode(t, "put a task whose session belongs to another policy", s.PutTask(ctx, x), engine.EINVALID)
	// Sub-second instants are allowed; the id keeps whole seconds.
	frac := newSession("p1", t0.Add(500*time.Millisecond))
	must(t, "create at a sub-second instant", s.CreateSession(ctx, frac))
	got, err := s.GetSession(ctx, frac.ID)
	must(t, "get", err)
	same(t, "session at a sub-second instant", frac, got)
}

func testAdjustSession(t *testing.T, s engine.Store) {
	_, err := s.AdjustSession(ctx, engine.SessionID("p1", t0), engine.SessionDelta{OpenTasks: 1})
	wantCode(t, "adjust missing", err, engine.ENOTFOUND)

	ss := newSession("p1", t0)
	must(t, "create", s.CreateSession(ctx, ss))
	got, err := s.AdjustSession(ctx, ss.ID, engine.SessionDelta{OpenUnits: -1, OpenTasks: 5})
	must(t, "adjust", err)
	if got.Counters != (engine.SessionCounters{OpenUnits: 1, OpenTasks: 5}) || got.Version != 2 {
		t.Fatalf("after adjust: counters %+v version %d, want {1 5} at 2", got.Counters, got.Version)
	}
	want := newSession("p1", t0)
	want.Counters = got.Counters
	want.Version = 2
	if got.ID != want.ID || got.PolicyID != want.PolicyID || got.Status != want.Status {
		t.Fatalf("adjusted session %+v, want id %s policy %s status %s", got, want.ID, want.PolicyID, want.Status)
	}

	got.Counters.OpenTasks = 99
	if len(got.Units) > 0 {
		got.Units[0].Region = "changed"
	}
	read, err := s.GetSession(ctx, ss.ID)
	must(t, "get", err)
	same(t, "stored session after the adjust result was changed", want, read)

	// The adjustment bumped the version: a writer that read version 1 loses.
	ss.Status = engine.StatusSuccess
	wantCode(t, "put at the version before the adjustment", s.PutSession(ctx, ss), engine.ECONFLICT)
	read.Status = engine.StatusSuccess
	must(t, "put at the adjusted version", s.PutSession(ctx, read))
	got, err = s.AdjustSession(ctx, ss.ID, engine.SessionDelta{OpenTasks: -5})
	must(t, "adjust", err)
	if got.Counters.OpenTasks != 0 || got.Status != engine.StatusSuccess || got.Version != 4 {
		t.Fatalf("after second adjust: %+v status %s version %d", got.Counters, got.Status, got.Version)
	}
}

func testAdjustSessionConcurrent(t *testing.T, s engine.Store) {
	ss := newSession("p1", t0)
	ss.Counters = engine.SessionCounters{OpenUnits: 100, OpenTasks: 0}
	must(t, "create", s.CreateSession(ctx, ss))
	const workers, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.AdjustSession(ctx, ss.ID, engine.SessionDelta{OpenUnits: -1, OpenTasks: 3}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent adjust: %v", err)
	}
	got, err := s.GetSession(ctx, ss.ID)
	must(t, "get", err)
	want := engine.SessionCounters{OpenUnits: 100 - workers*each, OpenTasks: 3 * workers * each}
	if got.Counters != want || got.Version != 1+workers*each {
		t.Fatalf("after %d concurrent adjustments: %+v at version %d, want %+v at %d",
			workers*each, got.Counters, got.Version, want, 1+workers*each)
	}
}

// allPages reads every page that fetch returns, starting without a cursor,
// and fails on a repeated id, an oversized page or an empty page that
// promises more.
// idsOf lists the ids of records, in order.
func idsOf[T any](rs []T, id func(T) string) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, id(r))
	}
	return ids
}

func policyIDs(ps []*engine.PolicyRecord) []string {
	return idsOf(ps, func(p *engine.PolicyRecord) string { return p.Policy.ID })
}

func sessionIDs(ss []*engine.Session) []string {
	return idsOf(ss, func(s *engine.Session) string { return s.ID })
}

func unitIDs(us []*engine.Unit) []string { return idsOf(us, (*engine.Unit).ID) }

func taskIDs(ts []*engine.Task) []string { return idsOf(ts, (*engine.Task).ID) }

func allPages[T any](t *testing.T, limit int, fetch func(cursor string) ([]T, string, error), id func(T) string) (ids []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	cursor := ""
	for {
		page, next, err := fetch(cursor)
		must(t, fmt.Sprintf("page %d", pages+1), err)
		pages++
		if limit > 0 && len(page) > limit {
			t.Fatalf("page of %d records, limit %d", len(page), limit)
		}
		if next != "" && len(page) == 0 {
			t.Fatalf("empty page %d with a cursor", pages)
		}
		for _, r := range page {
			if seen[id(r)] {
				t.Fatalf("%s listed twice", id(r))
			}
			seen[id(r)] = true
			ids = append(ids, id(r))
		}
		if next == "" {
			return ids, pages
		}
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		cursor = next
	}
}

func sessionPages(t *testing.T, s engine.Store, q engine.SessionQuery) (ids []string, pages int) {
	t.Helper()
	return allPages(t, q.Limit, func(cursor string) ([]*engine.Session, string, error) {
		q.Cursor = cursor
		return s.ListSessions(ctx, q)
	}, func(s *engine.Session) string { return s.ID })
}

func testListSessions(t *testing.T, s engine.Store) {
	ids, _ := sessionPages(t, s, engine.SessionQuery{})
	if len(ids) != 0 {
		t.Fatalf("empty store lists %v", ids)
	}
	type ref struct {
		at time.Time
		id string
	}
	var all []ref
	for i := range 10 {
		ss := newSession("p1", t0.Add(time.Duration(i)*time.Hour))
		must(t, "create", s.CreateSession(ctx, ss))
		all = append(all, ref{ss.ScheduledAt, ss.ID})
	}
	for i := range 5 {
		// p2 runs every 90 minutes, so some of its sessions share p1's instants.
		ss := newSession("p2", t0.Add(time.Duration(i)*90*time.Minute))
		must(t, "create", s.CreateSession(ctx, ss))
		all = append(all, ref{ss.ScheduledAt, ss.ID})
	}
	// Newest first; sessions at the same instant by descending id.
	slices.SortFunc(all, func(a, b ref) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return -cmpString(a.id, b.id)
	})
	expect := func(keep func(ref) bool) []string {
		var out []string
		for _, r := range all {
			if keep(r) {
				out = append(out, r.id)
			}
		}
		return out
	}

	check := func(what string, q engine.SessionQuery, want []string) {
		t.Helper()
		got, pages := sessionPages(t, s, q)
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
		}
		if q.Limit > 0 && len(want) > q.Limit && pages < (len(want)+q.Limit-1)/q.Limit {
			t.Fatalf("%s: %d pages for %d sessions at limit %d", what, pages, len(want), q.Limit)
		}
	}
	everything := expect(func(ref) bool { return true })
	check("all, one page", engine.SessionQuery{}, everything)
	for _, limit := range []int{1, 3, 4, 15, 16} {
		check(fmt.Sprintf("all, limit %d", limit), engine.SessionQuery{Limit: limit}, everything)
	}
	p1 := expect(func(r ref) bool { return r.id[:3] == "p1#" })
	check("policy p1, limit 3", engine.SessionQuery{PolicyID: "p1", Limit: 3}, p1)
	check("policy p2", engine.SessionQuery{PolicyID: "p2"}, expect(func(r ref) bool { return r.id[:3] == "p2#" }))
	check("unknown policy", engine.SessionQuery{PolicyID: "p3"}, nil)

	// From is inclusive and To exclusive, to the nanosecond.
	from, to := t0.Add(3*time.Hour), t0.Add(6*time.Hour)
	inRange := func(r ref) bool { return !r.at.Before(from) && r.at.Before(to) }
	check("range", engine.SessionQuery{From: from, To: to}, expect(inRange))
	check("range, limit 2", engine.SessionQuery{From: from, To: to, Limit: 2}, expect(inRange))
	check("policy p1 and range, limit 2", engine.SessionQuery{PolicyID: "p1", From: from, To: to, Limit: 2},
		expect(func(r ref) bool { return inRange(r) && r.id[:3] == "p1#" }))
	check("range without To", engine.SessionQuery{From: t0.Add(8 * time.Hour)},
		expect(func(r ref) bool { return !r.at.Before(t0.Add(8 * time.Hour)) }))
	check("policy p2, range without From, limit 1", engine.SessionQuery{PolicyID: "p2", To: t0.Add(3 * time.Hour), Limit: 1},
		expect(func(r ref) bool { return r.at.Before(t0.Add(3*time.Hour)) && r.id[:3] == "p2#" }))
	check("range one nanosecond past the last session", engine.SessionQuery{From: t0.Add(9*time.Hour + 1)}, nil)

	// Bounds inside a second: ids keep whole seconds, ScheduledAt does not.
	var frac []string
	for _, d := range []time.Duration{700 * time.Millisecond, 1200 * time.Millisecond, 2 * time.Second} {
		ss := newSession("p3", t0.Add(d))
		must(t, "create", s.CreateSession(ctx, ss))
		frac = append(frac, ss.ID)
	}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	check("sub-second From", engine.SessionQuery{PolicyID: "p3", From: ms(800)}, []string{frac[2], frac[1]})
	check("sub-second To", engine.SessionQuery{PolicyID: "p3", To: ms(1100)}, []string{frac[0]})
	check("sub-second From and To", engine.SessionQuery{PolicyID: "p3", From: ms(1200), To: ms(2000)}, []string{frac[1]})
	check("sub-second range across policies", engine.SessionQuery{From: ms(800), To: t0.Add(time.Hour)}, []string{frac[2], frac[1]})

	_, _, err := s.ListSessions(ctx, engine.SessionQuery{Cursor: "not a cursor!"})
	wantCode(t, "list with a malformed cursor", err, engine.EINVALID)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testListSessionsStablePages checks that a cursor is a position, not an
// offset: sessions created between two pages neither shift the later
// pages (no skips, no repeats) nor appear before the cursor.
func testListSessionsStablePages(t *testing.T, s engine.Store) {
	for i := range 6 {
		must(t, "create", s.CreateSession(ctx, newSession("p1", t0.Add(time.Duration(i)*time.Hour))))
	}
	page1, next, err := s.ListSessions(ctx, engine.SessionQuery{PolicyID: "p1", Limit: 2})
	must(t, "page 1", err)
	// One newer than everything listed, one in the middle of what is left,
	// and one older than everything.
	for _, at := range []time.Time{t0.Add(10 * time.Hour), t0.Add(150 * time.Minute), t0.Add(-time.Hour)} {
		must(t, "create between pages", s.CreateSession(ctx, newSession("p1", at)))
	}
	var rest []*engine.Session
	for next != "" {
		var page []*engine.Session
		page, next, err = s.ListSessions(ctx, engine.SessionQuery{PolicyID: "p1", Limit: 2, Cursor: next})
		must(t, "next page", err)
		rest = append(rest, page...)
	}
	got := append(sessionIDs(page1), sessionIDs(rest)...)
	var want []string
	for _, h := range []time.Duration{5 * time.Hour, 4 * time.Hour, 3 * time.Hour, 150 * time.Minute, 2 * time.Hour, time.Hour, 0, -time.Hour} {
		want = append(want, engine.SessionID("p1", t0.Add(h)))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages with inserts between them:\n got %v\nwant %v", got, want)
	}
}

func testRunningSessions(t *testing.T, s engine.Store) {
	running, err := s.RunningSessions(ctx)
	must(t, "running on empty store", err)
	if len(running) != 0 {
		t.Fatalf("empty store has %d running sessions", len(running))
	}
	a := newSession("p1", t0)
	b := newSession("p1", t0.Add(time.Hour))
	c := newSession("p2", t0.Add(-time.Hour))
	done := newSession("p2", t0.Add(-2*time.Hour))
	done.Status = engine.StatusSuccess
	for _, ss := range []*engine.Session{a, b, c, done} {
		must(t, "create", s.CreateSession(ctx, ss))
	}
	check := func(what string, want ...string) {
		t.Helper()
		running, err := s.RunningSessions(ctx)
		must(t, what, err)
		if got := sessionIDs(running); !slices.Equal(got, want) {
			t.Fatalf("%s: running %v, want %v (oldest first)", what, got, want)
		}
	}
	check("initial", c.ID, a.ID, b.ID)
	a.Status = engine.StatusWarning
	must(t, "finish a", s.PutSession(ctx, a))
	c.Status = engine.StatusFailed
	must(t, "finish c", s.PutSession(ctx, c))
	_, err = s.AdjustSession(ctx, b.ID, engine.SessionDelta{OpenTasks: 1})
	must(t, "adjust b", err)
	check("after two finished", b.ID)
}

func testUnits(t *testing.T, s engine.Store) {
	s1 := newSession("p1", t0)
	s2 := newSession("p1", t0.Add(time.Hour))
	u1 := newUnit(s1, loc2)
	_, err := s.GetUnit(ctx, u1.ID())
	wantCode(t, "get missing unit", err, engine.ENOTFOUND)

	must(t, "create", s.CreateUnit(ctx, u1))
	if u1.Version != 1 {
		t.Fatalf("version after create = %d, want 1", u1.Version)
	}
	wantCode(t, "create twice", s.CreateUnit(ctx, newUnit(s1, loc2)), engine.ECONFLICT)
	u0 := newUnit(s1, loc1)
	must(t, "create", s.CreateUnit(ctx, u0))
	must(t, "create in another session", s.CreateUnit(ctx, newUnit(s2, loc1)))

	got, err := s.GetUnit(ctx, u1.ID())
	must(t, "get", err)
	same(t, "unit read back", u1, got)
	got.Reasons[0].Code = "changed"
	u1.Reasons[0].Message = "changed"
	again, err := s.GetUnit(ctx, u1.ID())
	must(t, "get", err)
	want := newUnit(s1, loc2)
	want.Version = 1
	same(t, "stored unit after callers changed their copies", want, again)

	again.State = engine.UnitDone
	again.Tasks = 3
	must(t, "put at version 1", s.PutUnit(ctx, again))
	if again.Version != 2 {
		t.Fatalf("version after put = %d, want 2", again.Version)
	}
	stale := newUnit(s1, loc2)
	stale.Version = 1
	wantCode(t, "put at stale version", s.PutUnit(ctx, stale), engine.ECONFLICT)
	wantCode(t, "put at version 0 over an existing unit", s.PutUnit(ctx, newUnit(s1, loc2)), engine.ECONFLICT)
	ghost := newUnit(newSession("p1", t0.Add(5*time.Hour)), loc1)
	ghost.Version = 1
	wantCode(t, "put at version 1 of a missing unit", s.PutUnit(ctx, ghost), engine.ECONFLICT)

	units, err := s.SessionUnits(ctx, s1.ID)
	must(t, "session units", err)
	if got, want := unitIDs(units), []string{u0.ID(), u1.ID()}; !slices.Equal(got, want) {
		t.Fatalf("units of session 1: %v, want %v (by id)", got, want)
	}
	same(t, "listed unit", again, units[1])
	units[0].Reasons = nil
	units, err = s.SessionUnits(ctx, "p9#2025-01-01T00:00:00Z")
	must(t, "units of an unknown session", err)
	if len(units) != 0 {
		t.Fatalf("unknown session has %d units", len(units))
	}
	got, err = s.GetUnit(ctx, u0.ID())
	must(t, "get", err)
	if len(got.Reasons) != 1 {
		t.Fatal("changing a listed unit changed the store")
	}
}

func testTaskVersions(t *testing.T, s engine.Store) {
	ss := newSession("p1", t0)
	task := newTask(ss, loc1, "fs-00000001")
	_, err := s.GetTask(ctx, task.ID())
	wantCode(t, "get missing task", err, engine.ENOTFOUND)
	must(t, "create", s.CreateTask(ctx, task))
	if task.Version != 1 {
		t.Fatalf("version after create = %d, want 1", task.Version)
	}
	wantCode(t, "create twice", s.CreateTask(ctx, newTask(ss, loc1, "fs-00000001")), engine.ECONFLICT)

	got, err := s.GetTask(ctx, task.ID())
	must(t, "get", err)
	same(t, "task read back", task, got)
	got.Copies[0].Job.State = engine.JobRunning
	got.Schedules[0] = "changed"
	got.Reasons[0].Code = "changed"
	task.Copies[0].VaultName = "changed-by-writer"
	again, err := s.GetTask(ctx, task.ID())
	must(t, "get", err)
	want := newTask(ss, loc1, "fs-00000001")
	want.Version = 1
	same(t, "stored task after callers changed their copies", want, again)

	again.Backup.State = engine.JobRunning
	must(t, "put at version 1", s.PutTask(ctx, again))
	if again.Version != 2 {
		t.Fatalf("version after put = %d, want 2", again.Version)
	}
	stale := newTask(ss, loc1, "fs-00000001")
	stale.Version = 1
	wantCode(t, "put at stale version", s.PutTask(ctx, stale), engine.ECONFLICT)
	if stale.Version != 1 {
		t.Fatalf("failed put changed the caller's version to %d", stale.Version)
	}
	wantCode(t, "put at version 0 over an existing task", s.PutTask(ctx, newTask(ss, loc1, "fs-00000001")), engine.ECONFLICT)
	ghost := newTask(ss, loc2, "fs-00000002")
	ghost.Version = 1
	wantCode(t, "put at version 1 of a missing task", s.PutTask(ctx, ghost), engine.ECONFLICT)
	_, err = s.GetTask(ctx, ghost.ID())
	wantCode(t, "failed put must create nothing", err, engine.ENOTFOUND)
	got, err = s.GetTask(ctx, task.ID())
	must(t, "get", err)
	same(t, "task after put", again, got)
}

func testTaskLookups(t *testing.T, s engine.Store) {
	ss := newSession("p1", t0)
	a := newTask(ss, loc1, "fs-0000000a")
	a.Backup.ID = "job-a1"
	a.RecoveryPointArn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:a1"
	b := newTask(ss, loc1, "fs-0000000b")
	must(t, "create a", s.CreateTask(ctx, a))
	must(t, "create b (no job yet)", s.CreateTask(ctx, b))

	_, err := s.TaskByBackupJob(ctx, "job-none")
	wantCode(t, "unknown backup job", err, engine.ENOTFOUND)
	_, err = s.TaskByBackupJob(ctx, "")
	wantCode(t, "empty backup job id", err, engine.ENOTFOUND)
	_, err = s.TaskByRecoveryPoint(ctx, "arn:aws:backup:eu-west-1:111122223333:recovery-point:none")
	wantCode(t, "unknown recovery point", err, engine.ENOTFOUND)
	_, err = s.TaskByRecoveryPoint(ctx, "")
	wantCode(t, "empty recovery point arn", err, engine.ENOTFOUND)

	got, err := s.TaskByBackupJob(ctx, "job-a1")
	must(t, "by backup job", err)
	same(t, "task by backup job", a, got)
	got, err = s.TaskByRecoveryPoint(ctx, a.RecoveryPointArn)
	must(t, "by recovery point", err)
	same(t, "task by recovery point", a, got)
	got.Copies = nil
	got, err = s.TaskByRecoveryPoint(ctx, a.RecoveryPointArn)
	must(t, "by recovery point", err)
	if len(got.Copies) != 1 {
		t.Fatal("changing a looked-up task changed the store")
	}

	// A retry starts a new job with a new recovery point: both lookups move.
	a.Backup = engine.Job{ID: "job-a2", State: engine.JobCreated, Attempt: 2}
	a.RecoveryPointArn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:a2"
	must(t, "retry a", s.PutTask(ctx, a))
	_, err = s.TaskByBackupJob(ctx, "job-a1")
	wantCode(t, "old backup job after the retry", err, engine.ENOTFOUND)
	_, err = s.TaskByRecoveryPoint(ctx, "arn:aws:backup:eu-west-1:111122223333:recovery-point:a1")
	wantCode(t, "old recovery point after the retry", err, engine.ENOTFOUND)
	got, err = s.TaskByBackupJob(ctx, "job-a2")
	must(t, "new backup job", err)
	same(t, "task by new backup job", a, got)

	b.Backup.ID = "job-b1"
	b.RecoveryPointArn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:b1"
	must(t, "start b", s.PutTask(ctx, b))
	// Terminal tasks stay findable: late events and copy events still arrive.
	a.Phase = engine.PhaseDone
	a.Backup.State = engine.JobCompleted
	must(t, "finish a", s.PutTask(ctx, a))
	for job, want := range map[string]*engine.Task{"job-a2": a, "job-b1": b} {
		got, err := s.TaskByBackupJob(ctx, job)
		must(t, "by backup job "+job, err)
		same(t, "task by backup job "+job, want, got)
		got, err = s.TaskByRecoveryPoint(ctx, want.RecoveryPointArn)
		must(t, "by recovery point of "+job, err)
		same(t, "task by recovery point of "+job, want, got)
	}
}

func testDueTasks(t *testing.T, s engine.Store) {
	ss := newSession("p1", t0)
	now := t0.Add(2 * time.Hour)
	mk := func(fs string, phase engine.TaskPhase, next time.Time) *engine.Task {
		x := newTask(ss, loc1, fs)
		x.Phase = phase
		x.NextCheckAt = next
		must(t, "create "+fs, s.CreateTask(ctx, x))
		return x
	}
	past := mk("fs-00000001", engine.PhaseBackup, now.Add(-time.Minute))
	atNow := mk("fs-00000002", engine.PhaseCopy, now)
	later := mk("fs-00000003", engine.PhaseBackup, now.Add(time.Nanosecond))
	mk("fs-00000004", engine.PhaseDone, now.Add(-time.Hour))
	mk("fs-00000005", engine.PhaseFailed, now.Add(-time.Hour))
	zero := mk("fs-00000006", engine.PhaseBackup, time.Time{})
	other := newTask(newSession("p2", t0), loc2, "fs-00000007")
	other.NextCheckAt = now.Add(-2 * time.Minute)
	must(t, "create in another policy", s.CreateTask(ctx, other))

	check := func(what string, want ...*engine.Task) {
		t.Helper()
		due, err := s.DueTasks(ctx, now)
		must(t, what, err)
		if got, want := taskIDs(due), taskIDs(want); !slices.Equal(got, want) {
			t.Fatalf("%s: due %v, want %v (earliest first)", what, got, want)
		}
	}
	// A zero NextCheckAt is <= now: a non-terminal task is never lost.
	check("initial", zero, other, past, atNow)

	past.Phase = engine.PhaseDone
	must(t, "finish past", s.PutTask(ctx, past))
	later.NextCheckAt = now.Add(-time.Hour)
	must(t, "move later to the past", s.PutTask(ctx, later))
	atNow.NextCheckAt = now.Add(time.Hour)
	must(t, "move at-now to the future", s.PutTask(ctx, atNow))
	zero.Phase = engine.PhaseFailed
	must(t, "fail zero", s.PutTask(ctx, zero))
	check("after updates", later, other)

	due, err := s.DueTasks(ctx, now.Add(time.Hour))
	must(t, "due an hour later", err)
	if got, want := taskIDs(due), taskIDs([]*engine.Task{later, other, atNow}); !slices.Equal(got, want) {
		t.Fatalf("due an hour later: %v, want %v", got, want)
	}
	due[0].Reasons = nil
	got, err := s.GetTask(ctx, later.ID())
	must(t, "get", err)
	same(t, "stored task after a due copy was changed", later, got)
}

func taskPages(t *testing.T, s engine.Store, q engine.TaskQuery) []string {
	t.Helper()
	ids, _ := allPages(t, q.Limit, func(cursor string) ([]*engine.Task, string, error) {
		q.Cursor = cursor
		return s.ListTasks(ctx, q)
	}, (*engine.Task).ID)
	if v, ok := s.(engine.TaskViewer); ok {
		checkViews(t, s, v, q)
	}
	return ids
}

// checkViews holds a store that is an engine.TaskViewer to its contract
// on every listing the suite makes: page by page, ViewTasks shows what
// ListTasks returns, with the same cursors, and returns copies of exactly
// the tasks picked, in pick's order, that the caller may change.
func checkViews(t *testing.T, s engine.Store, v engine.TaskViewer, q engine.TaskQuery) {
	t.Helper()
	for page := 1; ; page++ {
		listed, next, err := s.ListTasks(ctx, q)
		must(t, "list", err)
		var shown []string // JSON of the tasks shown, taken inside pick
		var pickedAt []int // the indexes picked, in pick's order
		copies, viewNext, err := v.ViewTasks(ctx, q, func(tasks []*engine.Task) []*engine.Task {
			for _, x := range tasks {
				b, err := json.Marshal(x)
				if err != nil {
					t.Errorf("view: %v", err)
				}
				shown = append(shown, string(b))
			}
			// Every other task, last first: copies come in pick's order.
			var out []*engine.Task
			for i := len(tasks) - 1; i >= 0; i-- {
				if i%2 == 1 || len(tasks) == 1 {
					out = append(out, tasks[i])
					pickedAt = append(pickedAt, i)
				}
			}
			return out
		})
		must(t, "view", err)
		if viewNext != next {
			t.Fatalf("page %d of %+v: ViewTasks's cursor %q, ListTasks's %q", page, q, viewNext, next)
		}
		if len(shown) != len(listed) {
			t.Fatalf("page %d of %+v: ViewTasks showed %d tasks, ListTasks returned %d", page, q, len(shown), len(listed))
		}
		for i, x := range listed {
			same(t, fmt.Sprintf("page %d of %+v, task %d shown", page, q, i), json.RawMessage(shown[i]), x)
		}
		if len(copies) != len(pickedAt) {
			t.Fatalf("page %d of %+v: %d copies of %d tasks picked", page, q, len(copies), len(pickedAt))
		}
		for k, c := range copies {
			same(t, fmt.Sprintf("page %d of %+v, copy %d", page, q, k), listed[pickedAt[k]], c)
			// The copy is the caller's: changing it changes nothing stored.
			if len(c.Schedules) > 0 {
				c.Schedules[0] = "changed"
			}
			c.FileSystem = "changed"
			if len(c.Copies) > 0 {
				c.Copies[0].VaultName = "changed"
			}
			if len(c.Reasons) > 0 {
				c.Reasons[0].Message = "changed"
			}
		}
		again, _, err := s.ListTasks(ctx, q)
		must(t, "list again", err)
		same(t, fmt.Sprintf("page %d of %+v after its copies changed", page, q), listed, again)
		if next == "" {
			return
		}
		q.Cursor = next
	}
}

func testListTasks(t *testing.T, s engine.Store) {
	s1 := newSession("p1", t0.Add(24*time.Hour))
	s2 := newSession("p1", t0)
	s3 := newSession("p2", t0)
	var want1, want2, want3 []string
	for i := range 7 {
		x := newTask(s1, []engine.Loc{loc1, loc2}[i%2], fmt.Sprintf("fs-%08x", 7-i))
		must(t, "create", s.CreateTask(ctx, x))
		want1 = append(want1, x.ID())
	}
	for i := range 4 {
		x := newTask(s2, loc1, fmt.Sprintf("fs-%08x", 100+i))
		must(t, "create", s.CreateTask(ctx, x))
		want2 = append(want2, x.ID())
	}
	for i := range 2 {
		x := newTask(s3, loc1, fmt.Sprintf("fs-%08x", i))
		must(t, "create", s.CreateTask(ctx, x))
		want3 = append(want3, x.ID())
	}
	slices.Sort(want1)
	slices.Sort(want2)
	wantP1 := append(slices.Clone(want2), want1...) // s2 is the earlier session

	for _, limit := range []int{0, 1, 3, 7, 8} {
		if got := taskPages(t, s, engine.TaskQuery{SessionID: s1.ID, Limit: limit}); !slices.Equal(got, want1) {
			t.Fatalf("session 1, limit %d:\n got %v\nwant %v (by id)", limit, got, want1)
		}
	}
	for _, limit := range []int{0, 2, 5, 11} {
		if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", Limit: limit}); !slices.Equal(got, wantP1) {
			t.Fatalf("policy p1, limit %d:\n got %v\nwant %v (by id)", limit, got, wantP1)
		}
	}
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p2"}); !slices.Equal(got, want3) {
		t.Fatalf("policy p2: %v, want %v", got, want3)
	}
	if got := taskPages(t, s, engine.TaskQuery{SessionID: "p9#2025-01-01T00:00:00Z"}); len(got) != 0 {
		t.Fatalf("unknown session lists %v", got)
	}
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p9"}); len(got) != 0 {
		t.Fatalf("unknown policy lists %v", got)
	}
	_, _, err := s.ListTasks(ctx, engine.TaskQuery{})
	wantCode(t, "list tasks without session or policy", err, engine.EINVALID)
	_, _, err = s.ListTasks(ctx, engine.TaskQuery{SessionID: s1.ID, PolicyID: "p1"})
	wantCode(t, "list tasks with session and policy", err, engine.EINVALID)
	_, _, err = s.ListTasks(ctx, engine.TaskQuery{PolicyID: "p1", Cursor: "%%%"})
	wantCode(t, "list tasks with a malformed cursor", err, engine.EINVALID)

	page, _, err := s.ListTasks(ctx, engine.TaskQuery{SessionID: s3.ID})
	must(t, "list", err)
	page[0].Copies[0].RecoveryPointArn = "changed"
	got, err := s.GetTask(ctx, page[0].ID())
	must(t, "get", err)
	if got.Copies[0].RecoveryPointArn != "" {
		t.Fatal("changing a listed task changed the store")
	}
}

func testListTasksLiveOnly(t *testing.T, s engine.Store) {
	s1 := newSession("p1", t0)
	s2 := newSession("p1", t0.Add(time.Hour))
	live := func(x *engine.Task) *engine.Task {
		x.Phase = engine.PhaseDone
		x.Backup.State = engine.JobCompleted
		x.RecoveryPointArn = "arn:aws:backup:" + x.Loc.Region + ":" + x.Loc.Account + ":recovery-point:" + x.FileSystem
		return x
	}
	var wantS1, wantP1 []string
	var sourceLive *engine.Task
	for i, sess := range []*engine.Session{s1, s1, s1, s1, s2, s2} {
		x := newTask(sess, loc1, fmt.Sprintf("fs-%08x", i))
		switch i % 3 {
		case 0: // the source point is live
			live(x)
			if sourceLive == nil {
				sourceLive = x
			}
		case 1: // the source point is deleted, its copy is live
			live(x)
			x.Deletion.State = engine.DeletionDeleted
			x.Copies[0].Job.State = engine.JobCompleted
			x.Copies[0].RecoveryPointArn = "arn:aws:backup:us-west-2:111122223333:recovery-point:c" + x.FileSystem
		case 2: // still running: nothing to keep yet
		}
		must(t, "create", s.CreateTask(ctx, x))
		if x.Live() {
			wantP1 = append(wantP1, x.ID())
			if sess == s1 {
				wantS1 = append(wantS1, x.ID())
			}
		}
	}
	slices.Sort(wantS1)
	slices.Sort(wantP1)
	if len(wantP1) != 4 || len(wantS1) != 3 {
		t.Fatalf("fixture: %d live tasks in the policy, %d in session 1", len(wantP1), len(wantS1))
	}
	for _, limit := range []int{0, 1, 3} {
		if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", LiveOnly: true, Limit: limit}); !slices.Equal(got, wantP1) {
			t.Fatalf("live tasks of p1, limit %d:\n got %v\nwant %v", limit, got, wantP1)
		}
		if got := taskPages(t, s, engine.TaskQuery{SessionID: s1.ID, LiveOnly: true, Limit: limit}); !slices.Equal(got, wantS1) {
			t.Fatalf("live tasks of session 1, limit %d:\n got %v\nwant %v", limit, got, wantS1)
		}
	}
	// Retention deletes the source point: the task is no longer live.
	sourceLive.Deletion = engine.Deletion{State: engine.DeletionDeleted, At: t0.Add(48 * time.Hour)}
	must(t, "delete the source point", s.PutTask(ctx, sourceLive))
	wantP1 = slices.DeleteFunc(wantP1, func(id string) bool { return id == sourceLive.ID() })
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", LiveOnly: true, Limit: 2}); !slices.Equal(got, wantP1) {
		t.Fatalf("live tasks after a deletion:\n got %v\nwant %v", got, wantP1)
	}
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1"}); len(got) != 6 {
		t.Fatalf("all tasks of p1 after a deletion: %d, want 6", len(got))
	}
}

// doneTask is a finished task whose source point is live.
func doneTask(sess *engine.Session, l engine.Loc, fs string, retainAt time.Time) *engine.Task {
	x := newTask(sess, l, fs)
	x.Phase = engine.PhaseDone
	x.Backup.State = engine.JobCompleted
	x.RecoveryPointArn = "arn:aws:backup:" + l.Region + ":" + l.Account + ":recovery-point:" + fs + "-" + sess.ScheduledAt.Format("0102")
	x.PointCreatedAt = sess.ScheduledAt.Add(time.Minute)
	x.RetainAt = retainAt
	return x
}

func testListTasksOfFileSystem(t *testing.T, s engine.Store) {
	var want []string
	var running *engine.Task
	for day := range 5 {
		sess := newSession("p1", t0.Add(time.Duration(day)*24*time.Hour))
		mine := doneTask(sess, loc1, "fs-0000000a", t0.Add(72*time.Hour))
		if day == 4 {
			mine = newTask(sess, loc1, "fs-0000000a") // not live yet
			running = mine
		} else {
			want = append(want, mine.ID())
		}
		others := []*engine.Task{
			mine,
			doneTask(sess, loc1, "fs-0000000b", t0), // another file system
			doneTask(sess, loc2, "fs-0000000a", t0), // same id, another account and Region
			doneTask(newSession("p2", sess.ScheduledAt), loc1, "fs-0000000a", time.Time{}), // another policy
		}
		for _, x := range others {
			must(t, "create", s.CreateTask(ctx, x))
		}
	}
	q := engine.TaskQuery{PolicyID: "p1", Loc: loc1, FileSystem: "fs-0000000a", LiveOnly: true}
	for _, limit := range []int{0, 1, 3} {
		q.Limit = limit
		if got := taskPages(t, s, q); !slices.Equal(got, want) {
			t.Fatalf("live tasks of fs-0000000a, limit %d:\n got %v\nwant %v (by id)", limit, got, want)
		}
	}
	// A backup completes: its task joins; retention deletes the oldest
	// point: its task leaves.
	running.Phase, running.Backup.State = engine.PhaseDone, engine.JobCompleted
	running.RecoveryPointArn = "arn:aws:backup:eu-west-1:111122223333:recovery-point:new"
	must(t, "complete", s.PutTask(ctx, running))
	oldest, err := s.GetTask(ctx, want[0])
	must(t, "get", err)
	oldest.Deletion = engine.Deletion{State: engine.DeletionDeleted, At: t0.Add(96 * time.Hour)}
	must(t, "delete the oldest point", s.PutTask(ctx, oldest))
	want = append(want[1:], running.ID())
	q.Limit = 2
	if got := taskPages(t, s, q); !slices.Equal(got, want) {
		t.Fatalf("live tasks of fs-0000000a after a backup and a deletion:\n got %v\nwant %v", got, want)
	}
}

func testRetentionWorkList(t *testing.T, s engine.Store) {
	sess := newSession("p1", t0)
	later := newSession("p1", t0.Add(24*time.Hour))
	// RetainAt by file system: the work list is by RetainAt, then id.
	at := map[string]time.Time{
		"fs-00000001": t0.Add(30 * time.Hour),
		"fs-00000002": t0.Add(10 * time.Hour),
		"fs-00000003": t0.Add(20 * time.Hour),
		"fs-00000004": t0.Add(20 * time.Hour),
		"fs-00000005": t0.Add(90 * time.Hour), // not yet
	}
	byID := map[string]*engine.Task{}
	for fs, r := range at {
		x := doneTask(sess, loc1, fs, r)
		must(t, "create", s.CreateTask(ctx, x))
		byID[fs] = x
	}
	notListed := []*engine.Task{
		doneTask(later, loc1, "fs-00000006", time.Time{}), // no RetainAt: nothing to look at
		newTask(later, loc1, "fs-00000007"),               // running: not terminal
	}
	notListed[1].RetainAt = t0
	gone := doneTask(later, loc1, "fs-00000008", t0) // its point is deleted
	gone.Deletion.State = engine.DeletionDeleted
	notListed = append(notListed, gone, doneTask(newSession("p2", t0), loc1, "fs-00000001", t0))
	for _, x := range notListed {
		must(t, "create", s.CreateTask(ctx, x))
	}
	ids := func(fss ...string) []string {
		var out []string
		for _, fs := range fss {
			out = append(out, byID[fs].ID())
		}
		return out
	}
	by := t0.Add(30 * time.Hour)
	want := ids("fs-00000002", "fs-00000003", "fs-00000004", "fs-00000001")
	for _, limit := range []int{0, 1, 3} {
		if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", RetainBy: by, Limit: limit}); !slices.Equal(got, want) {
			t.Fatalf("work list by %s, limit %d:\n got %v\nwant %v", by, limit, got, want)
		}
	}
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", RetainBy: t0.Add(20 * time.Hour)}); !slices.Equal(got, want[:3]) {
		t.Fatalf("work list up to a RetainAt, inclusive: %v, want %v", got, want[:3])
	}
	// A page cursor stays valid while retention moves the listed tasks.
	page, next, err := s.ListTasks(ctx, engine.TaskQuery{PolicyID: "p1", RetainBy: by, Limit: 2})
	must(t, "first page", err)
	if next == "" || !slices.Equal(taskIDs(page), want[:2]) {
		t.Fatalf("first page %v (cursor %q), want %v and a cursor", taskIDs(page), next, want[:2])
	}
	for _, x := range page {
		x.RetainAt = t0.Add(200 * time.Hour)
		must(t, "look later", s.PutTask(ctx, x))
	}
	rest := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", RetainBy: by, Cursor: next})
	if !slices.Equal(rest, want[2:]) {
		t.Fatalf("after the first page: %v, want %v", rest, want[2:])
	}
	// Moving RetainAt moves the task; deleting its point or clearing
	// RetainAt drops it.
	x := byID["fs-00000005"]
	x.RetainAt = t0.Add(time.Hour)
	must(t, "due sooner", s.PutTask(ctx, x))
	y, err := s.GetTask(ctx, byID["fs-00000003"].ID()) // moved to +200h above
	must(t, "get", err)
	y.RetainAt = t0
	y.Deletion.State = engine.DeletionDeleted
	must(t, "delete its point", s.PutTask(ctx, y))
	z := byID["fs-00000004"]
	z.RetainAt = time.Time{}
	must(t, "nothing left to try", s.PutTask(ctx, z))
	want = ids("fs-00000005", "fs-00000001")
	if got := taskPages(t, s, engine.TaskQuery{PolicyID: "p1", RetainBy: by}); !slices.Equal(got, want) {
		t.Fatalf("work list after changes:\n got %v\nwant %v", got, want)
	}
}

func testListTasksMixedQueries(t *testing.T, s engine.Store) {
	sid := newSession("p1", t0).ID
	for name, q := range map[string]engine.TaskQuery{
		"file system of a session":           {SessionID: sid, Loc: loc1, FileSystem: "fs-1", LiveOnly: true},
		"file system without Loc":            {PolicyID: "p1", FileSystem: "fs-1", LiveOnly: true},
		"file system without LiveOnly":       {PolicyID: "p1", Loc: loc1, FileSystem: "fs-1"},
		"Loc without file system":            {PolicyID: "p1", Loc: loc1, LiveOnly: true},
		"file system and RetainBy":           {PolicyID: "p1", Loc: loc1, FileSystem: "fs-1", LiveOnly: true, RetainBy: t0},
		"RetainBy of a session":              {SessionID: sid, RetainBy: t0},
		"RetainBy with LiveOnly":             {PolicyID: "p1", RetainBy: t0, LiveOnly: true},
		"RetainBy without policy or session": {RetainBy: t0},
	} {
		_, _, err := s.ListTasks(ctx, q)
		wantCode(t, name, err, engine.EINVALID)
	}
}

// testConcurrentPolicyUpdates runs read-modify-write loops that retry on
// ECONFLICT, as every use-case does: no update may be lost. Each update
// appends "<worker>.<n>" to the policy's Name (a string, because a list of
// a thousand maps makes every write of dynalite slow).
func testConcurrentPolicyUpdates(t *testing.T, s engine.Store) {
	p := newPolicy("p1")
	p.Policy.Name = "log:"
	must(t, "create", s.PutPolicy(ctx, p))
	const workers, each = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := updatePolicy(s, "p1", fmt.Sprintf("w%02d.%d", w, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p, err := s.GetPolicy(ctx, "p1")
	must(t, "get", err)
	log := strings.Fields(strings.TrimPrefix(p.Policy.Name, "log:"))
	if len(log) != workers*each || p.Version != 1+workers*each {
		t.Fatalf("after %d updates: %d logged at version %d, want %d at %d",
			workers*each, len(log), p.Version, workers*each, 1+workers*each)
	}
	// Each worker's updates landed once each, in its order.
	next := map[string]int{}
	for _, entry := range log {
		worker, n, _ := strings.Cut(entry, ".")
		if n != fmt.Sprint(next[worker]) {
			t.Fatalf("worker %s: update %s where %d was due", worker, n, next[worker])
		}
		next[worker]++
	}
}

// testConcurrentTaskUpdates has writers count on a task with
// read-modify-write loops (as job events and retention do) while readers
// look it up by id, backup job and listing: no update is lost, and every
// read is a whole task (the race detector runs this on the memory store).
func testConcurrentTaskUpdates(t *testing.T, s engine.Store) {
	sess := newSession("p1", t0)
	x := newTask(sess, loc1, "fs-00000001")
	x.Backup.ID = "job-1"
	must(t, "create", s.CreateTask(ctx, x))
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					cur, err := s.GetTask(ctx, x.ID())
					if err != nil {
						errs <- err
						return
					}
					cur.SizeBytes++
					err = s.PutTask(ctx, cur)
					if err == nil {
						break
					}
					if !engine.IsConflict(err) {
						errs <- err
						return
					}
				}
			}
		})
	}
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			a, err := s.TaskByBackupJob(ctx, "job-1")
			if err == nil {
				_, _, err = s.ListTasks(ctx, engine.TaskQuery{SessionID: sess.ID})
			}
			if err != nil || a.ID() != x.ID() {
				errs <- fmt.Errorf("read during writes: %v", err)
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.GetTask(ctx, x.ID())
	must(t, "get", err)
	if got.SizeBytes != writers*each || got.Version != 1+writers*each {
		t.Fatalf("after %d updates: count %d at version %d", writers*each, got.SizeBytes, got.Version)
	}
}

// updatePolicy appends entry to the policy's name, retrying after
// conflicts after a random pause so that fifty writers make progress.
func updatePolicy(s engine.Store, id, entry string) error {
	for attempt := 1; attempt <= 10000; attempt++ {
		p, err := s.GetPolicy(ctx, id)
		if err != nil {
			return fmt.Errorf("update %s with %s: %w", id, entry, err)
		}
		p.Policy.Name += " " + entry
		err = s.PutPolicy(ctx, p)
		if err == nil {
			return nil
		}
		if !engine.IsConflict(err) {
			return fmt.Errorf("update %s with %s: %w", id, entry, err)
		}
		// Exponential backoff with full jitter: fifty writers of one record
		// spread out until about one at a time gets through.
		ceiling := min(10*time.Millisecond<<min(attempt, 5), 500*time.Millisecond)
		time.Sleep(rand.N(ceiling))
	}
	return fmt.Errorf("update %s with %s: still conflicting after 10000 attempts", id, entry)
}
