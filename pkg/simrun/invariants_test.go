package simrun

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// The invariants must be able to fail: each sabotage below breaks one.
func TestInvariantsCatchSabotage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		sabotage func(t *testing.T, h *Harness)
		broken   string
	}{
		{"extra session", func(t *testing.T, h *Harness) {
			at := h.start.Add(90 * time.Minute).Add(7 * time.Second)
			s := &engine.Session{ID: engine.SessionID("org-all", at), PolicyID: "org-all", ScheduledAt: at, Status: engine.StatusSuccess}
			if err := h.Store.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}, "one-session-per-instant"},
		{"stray job with our token", func(t *testing.T, h *Harness) {
			l := engine.Loc{Account: DemoMgmt, Region: "eu-west-1"}
			_, err := h.World.Backup().StartBackup(ctx, engine.StartBackupRequest{Loc: l, VaultName: "prod-vault",
				ResourceArn: "arn:aws:elasticfilesystem:eu-west-1:111111111111:file-system/fs-0a1b2c3d4e5f60001",
				IamRoleArn:  "arn:aws:iam::111111111111:role/efskeeper-backup", Token: "efsk-not-an-attempt", StartWindowMinutes: 60, CompleteWindowMinutes: 600})
			if err != nil {
				t.Fatal(err)
			}
		}, "one-job-per-attempt"},
		{"newest point deleted", func(t *testing.T, h *Harness) {
			pts := h.World.RecoveryPoints()
			for i := len(pts) - 1; i >= 0; i-- {
				p := pts[i]
				if p.CopyOf == "" && p.DeletedAt.IsZero() && p.Tags[engine.TagPolicy] == "account-prod" && p.Status == engine.RPCompleted {
					l := engine.Loc{Account: p.Account, Region: p.Region}
					if err := h.World.Backup().DeleteRecoveryPoint(ctx, l, p.Vault, p.Arn); err != nil {
						t.Fatal(err)
					}
					return
				}
			}
			t.Fatal("no point to delete")
		}, "safe-deletions"},
		{"retention stops", func(t *testing.T, h *Harness) {
			h.World.Advance(30 * 24 * time.Hour) // and nothing runs
		}, "timely-deletions"},
		{"session left running", func(t *testing.T, h *Harness) {
			sessions, err := allSessions(ctx, h.Store)
			if err != nil {
				t.Fatal(err)
			}
			s := sessions[len(sessions)-1]
			s.Status = engine.StatusRunning
			if err := h.Store.PutSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}, "sessions-terminal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(demoOptions(t, 5, 3, "none"))
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Run(ctx); err != nil {
				t.Fatal(err)
			}
			tc.sabotage(t, h)
			rep, err := h.Report(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, c := range rep.Failed() {
				failed = append(failed, c.Name)
			}
			if len(failed) != 1 || failed[0] != tc.broken {
				t.Fatalf("want exactly %s to fail, got %v", tc.broken, strings.Join(failed, ", "))
			}
		})
	}
}
