package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/notify"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

var (
	e2eHome = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	e2eDR   = engine.Loc{Account: "111122223333", Region: "eu-central-1"}
)

const e2eFS = "fs-0123456789abcdef0"

// e2eOutbox keeps what the restore mailer publishes.
type e2eOutbox struct{ subjects, bodies []string }

func (o *e2eOutbox) Publish(_ context.Context, subject, body string, _ map[string]string) error {
	o.subjects = append(o.subjects, subject)
	o.bodies = append(o.bodies, body)
	return nil
}

// e2eWorld runs a policy with copies for two days on the simulator, so
// that real restore points (sources and copies) exist, made by the engine.
func e2eWorld(t *testing.T) (*simrun.Harness, []*engine.Task) {
	t.Helper()
	p, probs := policy.Parse([]byte(`{"id": "rs-e2e", "name": "Restore E2E", "timezone": "Europe/Berlin",
	  "source": {"mode": "account", "accounts": ["111122223333"], "regions": ["eu-west-1"], "fileSystems": ["` + e2eFS + `"]},
	  "backup": {"vaults": [{"region": "*", "vault": "primary"}]},
	  "copies": {"mappings": [{"sourceRegion": "*", "targetRegion": "eu-central-1", "vault": "dr"}]},
	  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": {"days": 7}}]}`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	h, err := simrun.New(simrun.Options{Seed: 11, Days: 2, Start: time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC), Policies: []*policy.Policy{p}, Build: func(w *sim.World) {
		w.AddAccount(e2eHome.Account, sim.RootID)
		w.AddVault(e2eHome, sim.VaultSpec{Name: "primary"})
		w.AddVault(e2eDR, sim.VaultSpec{Name: "dr"})
		w.AddFileSystem(e2eHome, sim.FileSystemSpec{ID: e2eFS, Name: "app-data", SizeBytes: 2 << 30})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tasks, _, err := h.Store.ListTasks(context.Background(), engine.TaskQuery{PolicyID: "rs-e2e", LiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var done []*engine.Task
	for _, tk := range tasks {
		if tk.Phase == engine.PhaseDone && tk.Copies[0].Job.State == engine.JobCompleted {
			done = append(done, tk)
		}
	}
	if len(done) < 2 {
		t.Fatalf("the simulated policy made %d complete restore points with copies, want 2", len(done))
	}
	return h, done
}

// e2eDrive advances the world minute by minute, passing Restore Job State
// Change events through the jobevents parser to Update (unless events are
// lost) and running Reconcile every 15 minutes, until the session ends.
func e2eDrive(t *testing.T, w *sim.World, rs *engine.Restorer, id string, events bool) *engine.Restore {
	t.Helper()
	ctx := context.Background()
	for step := 1; step <= 12*60; step++ {
		w.Advance(time.Minute)
		for _, ev := range w.DeliverEvents() {
			u, err := awsevent.Parse(ev)
			if err != nil || !events {
				continue
			}
			if err := rs.Update(ctx, u); err != nil {
				t.Fatalf("Update: %v", err)
			}
		}
		if step%15 == 0 {
			if _, err := rs.Reconcile(ctx); err != nil {
				t.Fatalf("Reconcile: %v", err)
			}
		}
		r, err := rs.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Terminal() {
			return r
		}
	}
	t.Fatalf("restore %s still running after 12 hours", id)
	return nil
}

// Restore files from two restore points in one session on the simulated
// AWS, see every job complete, and the result mailed; then the migration
// case (a copy restored whole to a new file system in its Region), and a
// session whose events are all lost.
func TestRestoreEndToEndOnSim(t *testing.T) {
	h, tasks := e2eWorld(t)
	w := h.World
	out := &e2eOutbox{}
	rs := engine.NewRestorer(engine.Restorer{Store: memory.NewRestores(), Service: w.Restores(), Notifier: notify.RestoreMailer{Publisher: out}, Clock: w})
	ctx := context.Background()

	a, b := tasks[0], tasks[1]
	r, err := rs.Start(ctx, engine.RestoreRequest{ClientToken: "e2e-1", RequestedBy: "alice", Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
		Items: []engine.RestoreItem{
			{RecoveryPointArn: a.RecoveryPointArn, Vault: a.VaultName, Paths: []string{"/srv/a", "/srv/b", "/srv/c", "/srv/d", "/srv/e", "/srv/f", "/home/Ünïcode"}},
			{RecoveryPointArn: b.RecoveryPointArn, Vault: b.VaultName, Paths: []string{"/etc/app.conf", "/var/lib/db", "/srv/a"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Jobs) != 3 {
		t.Fatalf("%d jobs, want 3 (5+2 paths, then 3)", len(r.Jobs))
	}
	got := e2eDrive(t, w, rs, r.ID, true)
	if got.Status != engine.RestoreCompleted {
		t.Fatalf("status %s: %+v", got.Status, got.Jobs)
	}
	for i, j := range got.Jobs {
		if j.State != engine.JobCompleted || !strings.HasSuffix(j.CreatedResourceArn, "file-system/"+e2eFS) || j.CompletedAt.IsZero() {
			t.Errorf("job %d: %+v", i, j)
		}
	}
	t.Log(out.bodies[0])
	if len(out.subjects) != 1 || out.subjects[0] != "efskeeper restore Completed: 10 paths from 2 restore points (into the original file system)" {
		t.Fatalf("mails %q", out.subjects)
	}
	for _, want := range []string{"Completed: 3 of 3 restore jobs completed", "/home/Ünïcode", "policy rs-e2e", "aws-backup-restore_"} {
		if !strings.Contains(out.bodies[0], want) {
			t.Errorf("mail lacks %q:\n%s", want, out.bodies[0])
		}
	}

	// Migration: the copy of a's point, whole, into a new file system in
	// the copy's Region.
	before, _ := w.FileSystems().ListFileSystems(ctx, e2eDR)
	c := a.Copies[0]
	m, err := rs.Start(ctx, engine.RestoreRequest{ClientToken: "e2e-2", Full: true, Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem},
		Items: []engine.RestoreItem{{RecoveryPointArn: c.RecoveryPointArn, Vault: c.VaultName}}})
	if err != nil {
		t.Fatal(err)
	}
	got = e2eDrive(t, w, rs, m.ID, true)
	after, _ := w.FileSystems().ListFileSystems(ctx, e2eDR)
	if got.Status != engine.RestoreCompleted || len(after) != len(before)+1 || !strings.Contains(got.Jobs[0].CreatedResourceArn, ":eu-central-1:") {
		t.Fatalf("migration: %s, created %q, file systems in DR %d -> %d", got.Status, got.Jobs[0].CreatedResourceArn, len(before), len(after))
	}
	if got.Jobs[0].CreatedResourceArn != after[len(after)-1].Arn && got.Jobs[0].CreatedResourceArn != after[0].Arn {
		t.Errorf("created %s is not the new file system", got.Jobs[0].CreatedResourceArn)
	}

	// Every event lost: Reconcile alone brings the session to its end.
	l, err := rs.Start(ctx, engine.RestoreRequest{ClientToken: "e2e-3", Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
		Items: []engine.RestoreItem{{RecoveryPointArn: b.RecoveryPointArn, Vault: b.VaultName, Paths: []string{"/lost/events"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got = e2eDrive(t, w, rs, l.ID, false)
	if got.Status != engine.RestoreCompleted || len(out.subjects) != 3 {
		t.Fatalf("without events: %s, %d mails", got.Status, len(out.subjects))
	}
	if tm := w.TokenMismatches(); len(tm) != 0 {
		t.Fatalf("idempotency tokens reused with other parameters: %+v", tm)
	}

	// The sim refuses what AWS refuses: a point in the automatic vault.
	_, err = rs.Start(ctx, engine.RestoreRequest{Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
		Items: []engine.RestoreItem{{RecoveryPointArn: a.RecoveryPointArn, Vault: sim.AutomaticVaultName, Paths: []string{"/x"}}}})
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("point named in a vault that does not hold it: %v", err)
	}
}
