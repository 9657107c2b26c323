package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

type fakeFS map[engine.Loc][]engine.FileSystem

func (f fakeFS) ListFileSystems(_ context.Context, l engine.Loc) ([]engine.FileSystem, error) {
	if l.Region == "ap-south-1" {
		return nil, engine.Errorf(engine.EDENIED, "User is not authorized to perform: elasticfilesystem:DescribeFileSystems")
	}
	return f[l], nil
}

type fakeOrg map[string][]string

func (o fakeOrg) AccountsIn(_ context.Context, parents []string) ([]string, error) {
	var out []string
	for _, p := range parents {
		acc, ok := o[p]
		if !ok {
			return out, errors.New("ParentNotFoundException: " + p)
		}
		out = append(out, acc...)
	}
	return out, nil
}

type message struct {
	subject, body string
	attrs         map[string]string
}

type outbox struct{ sent []message }

func (o *outbox) Publish(_ context.Context, subject, body string, attrs map[string]string) error {
	o.sent = append(o.sent, message{subject, body, attrs})
	return nil
}

func TestReporter(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 15, 7, 0, 0, 0, time.UTC)
	st := memory.New()
	account := &policy.Policy{ID: "prod", Name: "Prod", Enabled: true, Timezone: "Europe/Berlin",
		Source: policy.Source{Mode: policy.ModeAccount, Accounts: []string{use1.Account}, Regions: []string{"us-east-1", "eu-west-1"}, Tags: []policy.Tag{{Key: "backup", Value: "gold"}}}}
	org := &policy.Policy{ID: "org", Name: "Org", Enabled: true,
		Source: policy.Source{Mode: policy.ModeOrganization, OrganizationalUnits: []string{"ou-abcd-11111111", "ou-gone-00000000"}, Regions: []string{"us-east-1", "ap-south-1"},
			FileSystems: []string{"fs-0000000000000000c", "fs-000000000000000a1"}}}
	off := &policy.Policy{ID: "off", Name: "Off", Enabled: false,
		Source: policy.Source{Mode: policy.ModeAccount, Accounts: []string{use1.Account}, Regions: []string{"us-east-1"}, FileSystems: []string{"fs-0000000000000000b"}}}
	for _, p := range []*policy.Policy{account, org, off} {
		if err := st.PutPolicy(ctx, &engine.PolicyRecord{Policy: p}); err != nil {
			t.Fatal(err)
		}
	}
	// Sessions: two in the window (one failed), one before it.
	for i, s := range []struct {
		at     time.Time
		status engine.SessionStatus
	}{{now.Add(-2 * time.Hour), engine.StatusFailed}, {now.Add(-10 * time.Hour), engine.StatusSuccess}, {now.Add(-30 * time.Hour), engine.StatusFailed}} {
		ss := &engine.Session{ID: engine.SessionID("prod", s.at), PolicyID: "prod", ScheduledAt: s.at, Status: s.status, Units: []engine.Loc{use1},
			Reasons: []engine.Reason{{Severity: engine.SeverityFailure, Code: "backup-failed", Message: "reason " + string(rune('A'+i))}}}
		if err := st.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		// Each session made one task: a live point with a copy, except that
		// the oldest point was deleted and the newest copy failed.
		tk := &engine.Task{SessionID: ss.ID, PolicyID: "prod", Loc: use1, FileSystem: "fs-0000000000000000a", Phase: engine.PhaseDone,
			Backup: engine.Job{State: engine.JobCompleted}, RecoveryPointArn: "arn:rp:" + ss.ID,
			Copies: []engine.Copy{{TargetRegion: "us-west-2", Job: engine.Job{State: engine.JobCompleted}, RecoveryPointArn: "arn:copy:" + ss.ID}}}
		switch i {
		case 0:
			tk.Copies[0] = engine.Copy{TargetRegion: "us-west-2", Job: engine.Job{State: engine.JobGaveUp}}
		case 2:
			tk.Deletion = engine.Deletion{State: engine.DeletionDeleted}
		}
		if err := st.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	fs := fakeFS{
		use1: {
			{ID: "fs-0000000000000000a", Tags: map[string]string{"backup": "gold"}, LifeCycle: "available", SizeBytes: 100},
			{ID: "fs-0000000000000000b", LifeCycle: "available", SizeBytes: 20}, // only the disabled policy names it
			{ID: "fs-0000000000000000c", LifeCycle: "available", SizeBytes: 3},  // the org policy names it
			{ID: "fs-0000000000000000d", LifeCycle: "deleting", SizeBytes: 5},
		},
		euw1: {{ID: "fs-0000000000000000e", Name: "legacy", LifeCycle: "available", SizeBytes: 7}},
		{Account: "777788889999", Region: "us-east-1"}: {{ID: "fs-000000000000000a1", LifeCycle: "available", SizeBytes: 11}, {ID: "fs-000000000000000a2", LifeCycle: "available", SizeBytes: 13}},
	}
	restores := memory.NewRestores()
	if err := restores.CreateRestore(ctx, &engine.Restore{ID: "rst-new", Status: engine.RestoreFailed, CreatedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := restores.CreateRestore(ctx, &engine.Restore{ID: "rst-old", Status: engine.RestoreCompleted, CreatedAt: now.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	out := &outbox{}
	rp := &Reporter{Store: st, FileSystems: fs, Org: fakeOrg{"ou-abcd-11111111": {"777788889999", use1.Account}}, Restores: restores, Publisher: out,
		Clock: engine.ClockFunc(func() time.Time { return now })}
	res, err := rp.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rp.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]PolicyReport{}
	for _, p := range r.Policies {
		byID[p.ID] = p
	}
	prod := byID["prod"]
	if prod.Counts[engine.StatusFailed] != 1 || prod.Counts[engine.StatusSuccess] != 1 || len(prod.Troubled) != 1 {
		t.Errorf("prod sessions %v, troubled %d; want the window's two", prod.Counts, len(prod.Troubled))
	}
	if prod.SourcePoints != 2 || prod.CopyPoints["us-west-2"] != 2 || prod.Points() != 4 {
		t.Errorf("prod points: %d source, %v copies; want 2 and 2 (one point deleted, one copy failed, deleted point's copy kept)", prod.SourcePoints, prod.CopyPoints)
	}
	if prod.FileSystems != 1 || prod.SizeBytes != 100 || byID["org"].FileSystems != 2 || byID["org"].SizeBytes != 14 || byID["off"].FileSystems != 0 {
		t.Errorf("selected: prod %d/%d, org %d/%d, off %d", prod.FileSystems, prod.SizeBytes, byID["org"].FileSystems, byID["org"].SizeBytes, byID["off"].FileSystems)
	}
	var un []string
	for _, u := range r.Unprotected {
		un = append(un, u.Loc.Account+"/"+u.ID)
	}
	slices.Sort(un)
	want := []string{"111122223333/fs-0000000000000000b", "111122223333/fs-0000000000000000e", "777788889999/fs-000000000000000a2"}
	if !slices.Equal(un, want) {
		t.Errorf("unprotected %v, want %v", un, want)
	}
	if r.ProtectedFileSystems != 3 || r.ProtectedBytes != 114 {
		t.Errorf("protected %d file systems, %d bytes; want 3 and 114, each counted once", r.ProtectedFileSystems, r.ProtectedBytes)
	}
	if len(r.Problems) != 3 || !strings.Contains(strings.Join(r.Problems, "\n"), "ou-gone-00000000") || !strings.Contains(strings.Join(r.Problems, "\n"), "ap-south-1") {
		t.Errorf("problems %q: want the missing OU and the Region that cannot be listed", r.Problems)
	}
	if len(r.Restores) != 1 || r.Restores[0].ID != "rst-new" {
		t.Errorf("restores %v", r.Restores)
	}
	if res.Status != engine.StatusFailed || res.Unprotected != 3 || res.Sessions != 2 || len(out.sent) != 1 {
		t.Fatalf("result %+v, %d messages", res, len(out.sent))
	}
	m := out.sent[0]
	if m.attrs[AttrKind] != KindReport || m.attrs[AttrStatus] != "Failed" || !strings.Contains(m.subject, "1 failed session") || !strings.Contains(m.body, "fs-000000000000000a2") {
		t.Errorf("message %+v", m)
	}
	checkMail(t, m.subject, m.body)
}

func TestRestoreMailer(t *testing.T) {
	out := &outbox{}
	r := partialRestore()
	if err := (RestoreMailer{Publisher: out}).RestoreFinished(context.Background(), engine.RestoreNotice{Restore: r}); err != nil {
		t.Fatal(err)
	}
	m := out.sent[0]
	if m.attrs[AttrKind] != KindRestore || m.attrs[AttrStatus] != "Partial" || m.attrs[AttrPolicy] != "prod-efs" || !strings.HasPrefix(m.subject, "efskeeper restore Partial") {
		t.Fatalf("message %+v", m)
	}
	r.Items[1].PolicyID = "other"
	out.sent = nil
	_ = (RestoreMailer{Publisher: out}).RestoreFinished(context.Background(), engine.RestoreNotice{Restore: r})
	if _, ok := out.sent[0].attrs[AttrPolicy]; ok {
		t.Fatalf("points of two policies, yet a policy attribute: %v", out.sent[0].attrs)
	}
}
