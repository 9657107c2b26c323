package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

const acct = "111122223333"

var (
	home = engine.Loc{Account: acct, Region: "eu-west-1"}
	dr   = engine.Loc{Account: acct, Region: "eu-central-1"}
)

func accountPolicy(t *testing.T, backupVault, copyVault string) *policy.Policy {
	t.Helper()
	return accountPolicyKeeping(t, backupVault, copyVault, `{"days": 3}`)
}

// accountPolicyKeeping is accountPolicy with the daily schedule's
// retention rule as JSON.
func accountPolicyKeeping(t *testing.T, backupVault, copyVault, retention string) *policy.Policy {
	t.Helper()
	doc := `{"id": "p1", "name": "P1", "timezone": "UTC",
	  "source": {"mode": "account", "accounts": ["` + acct + `"], "regions": ["eu-west-1"], "tags": [{"key": "backup", "value": "yes"}]},
	  "backup": {"vaults": [{"region": "*", "vault": "` + backupVault + `"}]},
	  "copies": {"mappings": [{"sourceRegion": "*", "targetRegion": "eu-central-1", "vault": "` + copyVault + `"}]},
	  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": ` + retention + `}],
	  "retries": {"count": 1, "intervalMinutes": 10}}`
	p, probs := policy.Parse([]byte(doc))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return p
}

// world builds one account with two tagged file systems and a vault layout
// chosen by the test.
func world(vaults func(w *sim.World)) func(w *sim.World) {
	return func(w *sim.World) {
		w.AddAccount(acct, sim.RootID)
		for _, id := range []string{"fs-00000000000000001", "fs-00000000000000002"} {
			w.AddFileSystem(home, sim.FileSystemSpec{ID: id, Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 30})
		}
		w.AddFileSystem(home, sim.FileSystemSpec{ID: "fs-00000000000000003", Tags: map[string]string{"backup": "no"}, SizeBytes: 1 << 30})
		vaults(w)
	}
}

func runDays(t *testing.T, p *policy.Policy, build func(*sim.World), faults string, days int) (*simrun.Harness, *simrun.Report) {
	t.Helper()
	return runHarness(t, simrun.Options{Seed: 3, Days: days, Faults: faults, Build: build, Policies: []*policy.Policy{p}})
}

// runHarness runs the harness to its end and fails the test on any
// invariant that does not hold.
func runHarness(t *testing.T, o simrun.Options) (*simrun.Harness, *simrun.Report) {
	t.Helper()
	h, rep, err := simrun.Simulate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Failed() {
		t.Errorf("invariant %s: %s", c.Name, c.Detail)
	}
	return h, rep
}

func codes(rs []engine.Reason) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return strings.Join(out, ",")
}

// Vault rules and the EFS opt-in are checked before any job starts; a
// refusal is a named reason on the session, never a silent skip.
func TestRegionChecks(t *testing.T) {
	min := int64(7)
	tests := []struct {
		name        string
		vaults      func(w *sim.World)
		optInOff    bool
		wantStatus  engine.SessionStatus
		wantCode    string
		wantBackups int
		wantCopies  int
	}{
		{name: "all good", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main"})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusSuccess, wantBackups: 2, wantCopies: 2},
		{name: "opt-in off is turned on", optInOff: true, vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main"})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusSuccess, wantCode: engine.ReasonOptInEnabled, wantBackups: 2, wantCopies: 2},
		{name: "backup vault missing", vaults: func(w *sim.World) {
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultMissing},
		{name: "air-gapped backup vault", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main", Type: engine.VaultTypeAirGapped})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultAirGapped},
		{name: "locked backup vault", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main", Locked: true})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultLocked},
		{name: "vault lock by min retention only", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main", MinRetentionDays: &min})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultLocked},
		{name: "access policy denies delete", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main", AccessPolicy: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"}]}`})
			w.AddVault(dr, sim.VaultSpec{Name: "dr"})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultPolicyDenies},
		{name: "copy vault refused: backups run, copies skipped", vaults: func(w *sim.World) {
			w.AddVault(home, sim.VaultSpec{Name: "main"})
			w.AddVault(dr, sim.VaultSpec{Name: "dr", AccessPolicy: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:CopyIntoBackupVault","Resource":"*"}]}`})
		}, wantStatus: engine.StatusFailed, wantCode: engine.ReasonVaultPolicyDenies, wantBackups: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			build := world(func(w *sim.World) {
				tc.vaults(w)
				if tc.optInOff {
					w.SetEFSOptIn(home, false)
				}
			})
			h, rep := runDays(t, accountPolicy(t, "main", "dr"), build, "none", 1)
			if len(rep.Sessions) != 1 {
				t.Fatalf("want 1 session, got %d", len(rep.Sessions))
			}
			s := rep.Sessions[0]
			if engine.SessionStatus(s.Status) != tc.wantStatus {
				t.Errorf("status %s, want %s (reasons %s)", s.Status, tc.wantStatus, codes(s.Reasons))
			}
			if tc.wantCode != "" && !strings.Contains(codes(s.Reasons), tc.wantCode) {
				t.Errorf("reasons %s, want %s", codes(s.Reasons), tc.wantCode)
			}
			for _, r := range s.Reasons {
				if r.Message == "" || r.Region == "" {
					t.Errorf("reason without message or Region: %+v", r)
				}
			}
			if s.Backups != tc.wantBackups || s.Copies != tc.wantCopies {
				t.Errorf("backups %d copies %d, want %d and %d", s.Backups, s.Copies, tc.wantBackups, tc.wantCopies)
			}
			if tc.wantBackups == 0 {
				for _, j := range h.World.Jobs() {
					if strings.HasPrefix(j.Token, "efsk-") {
						t.Errorf("job %s started although the Region was refused", j.ID)
					}
				}
			}
		})
	}
}

// Organization mode: the vault tag must match exactly one vault per account
// and Region.
func TestVaultTagMatching(t *testing.T) {
	doc := `{"id": "org", "name": "Org", "timezone": "UTC",
	  "source": {"mode": "organization", "organizationalUnits": ["ou-ab12-cdef3456"], "regions": ["eu-west-1"], "tags": [{"key": "backup", "value": "yes"}]},
	  "backup": {"vaults": [{"region": "*", "vaultTag": {"key": "role", "value": "primary"}}]},
	  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": {"days": 3}}]}`
	p, probs := policy.Parse([]byte(doc))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	build := func(w *sim.World) {
		w.AddOU("ou-ab12-cdef3456", sim.RootID)
		for i, a := range []string{"100000000001", "100000000002", "100000000003"} {
			w.AddAccount(a, "ou-ab12-cdef3456")
			l := engine.Loc{Account: a, Region: "eu-west-1"}
			w.AddFileSystem(l, sim.FileSystemSpec{ID: "fs-0000000000000000" + string(rune('1'+i)), Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 30})
			switch i {
			case 0: // exactly one
				w.AddVault(l, sim.VaultSpec{Name: "v", Tags: map[string]string{"role": "primary"}})
			case 1: // two
				w.AddVault(l, sim.VaultSpec{Name: "v1", Tags: map[string]string{"role": "primary"}})
				w.AddVault(l, sim.VaultSpec{Name: "v2", Tags: map[string]string{"role": "primary"}})
			case 2: // none
				w.AddVault(l, sim.VaultSpec{Name: "v", Tags: map[string]string{"role": "other"}})
			}
		}
	}
	_, rep := runDays(t, p, build, "none", 1)
	s := rep.Sessions[0]
	if s.Status != string(engine.StatusFailed) || s.Backups != 1 {
		t.Fatalf("status %s backups %d, want Failed with 1 backup", s.Status, s.Backups)
	}
	want := map[string]string{"100000000002": engine.ReasonVaultTagMany, "100000000003": engine.ReasonVaultTagNone}
	for _, r := range s.Reasons {
		if w, ok := want[r.Account]; ok && r.Code == w {
			if !strings.Contains(r.Message, "role=primary") {
				t.Errorf("message does not name the tag: %s", r.Message)
			}
			delete(want, r.Account)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing reasons %v in %s", want, codes(s.Reasons))
	}
}

// Lost events: with every event dropped, the reconciler alone must bring
// the backups and copies to completion and end the sessions.
func TestReconcilerCoversLostEvents(t *testing.T) {
	build := world(func(w *sim.World) {
		w.AddVault(home, sim.VaultSpec{Name: "main"})
		w.AddVault(dr, sim.VaultSpec{Name: "dr"})
	})
	h, rep, err := simrun.Simulate(context.Background(), simrun.Options{Seed: 9, Days: 2, FaultsOverride: &sim.Faults{EventDrop: 1}, Build: build, Policies: []*policy.Policy{accountPolicy(t, "main", "dr")}})
	if err != nil {
		t.Fatal(err)
	}
	if h.Stats.Events != 0 {
		t.Fatalf("%d events delivered with EventDrop=1", h.Stats.Events)
	}
	for _, s := range rep.Sessions {
		if s.Status != string(engine.StatusSuccess) || s.Backups != 2 || s.Copies != 2 {
			t.Errorf("session %s: %s, %d backups, %d copies", s.ID, s.Status, s.Backups, s.Copies)
		}
	}
	for _, c := range rep.Failed() {
		t.Errorf("invariant %s: %s", c.Name, c.Detail)
	}
}

// countingDriver is a simrun.Driver that calls the engine directly and
// records what its reconcile and retention passes
// did: over the reconcile passes, the tasks checked and the task reads.
type countingDriver struct {
	e              *engine.Engine
	store          *memory.Store
	events         bool // handle job events (else they are lost)
	checked, reads int
	jobsRead       int
	retentions     []engine.RetentionResult
}

func (d *countingDriver) Tick(ctx context.Context) error { _, err := d.e.Tick(ctx); return err }
func (d *countingDriver) RegionRun(ctx context.Context, m engine.RegionRunMsg) error {
	return d.e.RunRegion(ctx, m)
}
func (d *countingDriver) JobEvent(ctx context.Context, raw []byte) error {
	if !d.events {
		return nil
	}
	u, err := awsevent.Parse(raw)
	if err != nil {
		return nil
	}
	return d.e.HandleJobEvent(ctx, u)
}
func (d *countingDriver) Retention(ctx context.Context) error {
	res, err := d.e.Retention(ctx)
	d.retentions = append(d.retentions, res)
	return err
}
func (d *countingDriver) Reconcile(ctx context.Context) error {
	before := d.store.Ops()["GetTask"]
	res, err := d.e.Reconcile(ctx)
	d.reads += d.store.Ops()["GetTask"] - before
	d.checked += res.TasksChecked
	d.jobsRead += res.JobsRead
	return err
}

// The reconciler reads a task it looks at once: the DueTasks copy serves
// the write unless a terminal job update was applied to it first (the
// transition may have re-read and written another copy). Jobs still
// running are most of what it looks at; reading each again doubled its
// store reads.
func TestReconcileReadsRunningTasksOnce(t *testing.T) {
	build := func(w *sim.World) {
		w.AddAccount(acct, sim.RootID)
		for _, id := range []string{"fs-00000000000000001", "fs-00000000000000002"} {
			// Large: their jobs run for hours, past several reconcile passes.
			w.AddFileSystem(home, sim.FileSystemSpec{ID: id, Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 40})
		}
		w.AddVault(home, sim.VaultSpec{Name: "main"})
		w.AddVault(dr, sim.VaultSpec{Name: "dr"})
	}
	st := memory.New()
	var d *countingDriver
	_, rep, err := simrun.Simulate(context.Background(), simrun.Options{Seed: 9, Days: 2, FaultsOverride: &sim.Faults{EventDrop: 1},
		Build: build, Store: st, Policies: []*policy.Policy{accountPolicy(t, "main", "dr")},
		Driver: func(e *engine.Engine) simrun.Driver { d = &countingDriver{e: e, store: st}; return d }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Failed() {
		t.Errorf("invariant %s: %s", c.Name, c.Detail)
	}
	// Each of the 2 days' 2 tasks ends with at most a completed backup and
	// a completed copy read back: at most 8 updates applied, one re-read
	// each; every other check found its job running.
	if d.checked <= 16 {
		t.Fatalf("only %d tasks checked: the test needs jobs still running at several passes", d.checked)
	}
	if d.reads > 8 {
		t.Errorf("reconcile read tasks %d times for %d checks (%d jobs read); want at most 8 (one per applied update)", d.reads, d.checked, d.jobsRead)
	}
}

// sessionReads counts how a session's tasks are read: copied (ListTasks)
// or viewed (ViewTasks).
type sessionReads struct {
	*memory.Store
	mu            sync.Mutex
	copies, views int
}

func (s *sessionReads) ListTasks(ctx context.Context, q engine.TaskQuery) ([]*engine.Task, string, error) {
	if q.SessionID != "" {
		s.mu.Lock()
		s.copies++
		s.mu.Unlock()
	}
	return s.Store.ListTasks(ctx, q)
}

func (s *sessionReads) ViewTasks(ctx context.Context, q engine.TaskQuery, pick func([]*engine.Task) []*engine.Task) ([]*engine.Task, string, error) {
	if q.SessionID != "" {
		s.mu.Lock()
		s.views++
		s.mu.Unlock()
	}
	return s.Store.ViewTasks(ctx, q, pick)
}

// The hourly recount of a long session counts its open tasks from a view,
// without a copy of each task; only the finish, whose outcome and
// notification need them, copies the session's tasks.
func TestRecountCopiesNoTasks(t *testing.T) {
	build := func(w *sim.World) {
		w.AddAccount(acct, sim.RootID)
		for _, id := range []string{"fs-00000000000000001", "fs-00000000000000002"} {
			// Large: their jobs run for hours, past several recounts.
			w.AddFileSystem(home, sim.FileSystemSpec{ID: id, Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 40})
		}
		twoVaults(w)
	}
	st := &sessionReads{Store: memory.New()}
	h, err := simrun.New(simrun.Options{Seed: 9, Days: 2, Faults: "none", Build: build, Store: st,
		Policies: []*policy.Policy{accountPolicy(t, "main", "dr")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Run(ctx); err != nil { // not Simulate: its report reads every session's tasks
		t.Fatal(err)
	}
	sessions, _, err := st.ListSessions(ctx, engine.SessionQuery{})
	if err != nil || len(sessions) != 2 || !sessions[0].Status.Terminal() || !sessions[1].Status.Terminal() {
		t.Fatalf("sessions %v (%v): want 2 that ended", sessions, err)
	}
	if st.views <= len(sessions) {
		t.Fatalf("sessions' tasks viewed %d times: the test needs recounts of running sessions", st.views)
	}
	if st.copies != len(sessions) {
		t.Errorf("sessions' tasks copied %d times for %d sessions (and %d views); want one copy per finished session", st.copies, len(sessions), st.views)
	}
}
