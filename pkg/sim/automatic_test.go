package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// autoWorld has one file system with EFS automatic backups in locA.
func autoWorld(t *testing.T, size int64, start time.Time) *World {
	t.Helper()
	w := New(Config{Seed: 3, Start: start})
	w.AddVault(locA, VaultSpec{Name: "primary"})
	w.AddFileSystem(locA, FileSystemSpec{ID: fsID, SizeBytes: size, AutomaticBackups: true})
	return w
}

func TestAutomaticBackupRunsDailyAtFive(t *testing.T) {
	start := time.Date(2024, 5, 14, 0, 0, 0, 0, time.UTC)
	w := autoWorld(t, gib, start)
	var created []event
	for _, raw := range run(w, 3*24*time.Hour) {
		e := decode(t, raw)
		if e.state() == "COMPLETED" && e.Detail.CreatedBy == nil {
			t.Errorf("automatic job event without createdBy: %s", raw)
		}
		if e.state() == "PENDING" {
			created = append(created, e)
		}
	}
	jobs := w.Jobs()
	if len(jobs) != 3 {
		t.Fatalf("%d automatic jobs in 3 days", len(jobs))
	}
	for i, j := range jobs {
		day := start.AddDate(0, 0, i).Add(5 * time.Hour)
		if j.CreatedAt.Before(day) || j.CreatedAt.After(day.Add(autoSpread)) {
			t.Errorf("job %d created %v, want shortly after %v", i, j.CreatedAt, day)
		}
		if !j.StartBy.Equal(day.Add(8*time.Hour)) || j.State != engine.JobCompleted {
			t.Errorf("job %d: startBy %v, state %s", i, j.StartBy, j.State)
		}
		if !strings.HasPrefix(j.BackupPlanID, "aws/efs/") || !strings.HasSuffix(j.VaultArn, ":backup-vault:"+AutomaticVaultName) {
			t.Errorf("job %d: plan %q vault %q", i, j.BackupPlanID, j.VaultArn)
		}
		if j.ID != strings.ToUpper(j.ID) {
			t.Errorf("plan job ids are upper case in AWS's examples, got %s", j.ID)
		}
		if p := pointByArn(w, j.PointArn); p.DeleteAt.Sub(p.CreatedAt) != 35*24*time.Hour {
			t.Errorf("automatic point kept %v, want 35 days", p.DeleteAt.Sub(p.CreatedAt))
		}
	}
	if len(created) != 3 || created[0].Detail.CreatedBy.BackupPlanID != jobs[0].BackupPlanID {
		t.Fatalf("PENDING events %+v", created)
	}
}

func TestOurBackupMakesAutomaticBackupExpire(t *testing.T) {
	// Ours starts at 04:50 on a file system that takes longer than the
	// automatic job's start window (05:00-13:00) to back up.
	w := autoWorld(t, 900*gib, time.Date(2024, 5, 14, 4, 50, 0, 0, time.UTC))
	req := backupReq("ours")
	sj := mustStart(t, w, req)
	var expired []event
	for _, raw := range run(w, 20*time.Hour) {
		if e := decode(t, raw); e.state() == "EXPIRED" {
			expired = append(expired, e)
		}
	}
	if j := jobByID(w, sj.JobID); j.State != engine.JobCompleted {
		t.Fatalf("our job %s", j.State)
	}
	if len(expired) != 1 {
		t.Fatalf("%d EXPIRED events, want the automatic job's", len(expired))
	}
	e := expired[0]
	if e.Detail.CreatedBy == nil || !strings.HasPrefix(e.Detail.CreatedBy.BackupPlanID, "aws/efs/") ||
		e.Detail.StatusMessage != `"Backup job failed because there was a running job for the same resource."` {
		t.Fatalf("EXPIRED event: %+v", e.Detail)
	}
}

func TestAutomaticBackupMakesOursExpire(t *testing.T) {
	w := autoWorld(t, 900*gib, time.Date(2024, 5, 14, 4, 0, 0, 0, time.UTC))
	w.AdvanceTo(time.Date(2024, 5, 14, 5, 30, 0, 0, time.UTC))
	var auto JobInfo
	for _, j := range w.Jobs() {
		auto = j
	}
	if auto.State != engine.JobRunning {
		t.Fatalf("automatic job %+v, want RUNNING at 05:30", auto)
	}
	req := backupReq("ours")
	req.StartWindowMinutes = 60
	sj := mustStart(t, w, req)
	w.Advance(2 * time.Hour)
	j := jobByID(w, sj.JobID)
	if j.State != engine.JobExpired || j.Message != msgRunningJob {
		t.Fatalf("our job %s %q, want EXPIRED behind the automatic backup", j.State, j.Message)
	}
}

func TestAutomaticVaultDeniesCopyRestoreDelete(t *testing.T) {
	w := autoWorld(t, gib, time.Date(2024, 5, 14, 4, 0, 0, 0, time.UTC))
	w.AddVault(locDR, VaultSpec{Name: "dr"})
	w.Advance(4 * time.Hour)
	jobs := w.Jobs()
	if len(jobs) != 1 || jobs[0].State != engine.JobCompleted {
		t.Fatalf("jobs %+v", jobs)
	}
	arn := jobs[0].PointArn
	b := w.Backup()
	if err := b.DeleteRecoveryPoint(ctx, locA, AutomaticVaultName, arn); !isDenied(err) {
		t.Errorf("delete: %v", err)
	}
	_, err := b.StartCopy(ctx, engine.StartCopyRequest{Loc: locA, SourceVaultName: AutomaticVaultName, RecoveryPointArn: arn,
		DestinationBackupVaultArn: vaultArn(locDR, "dr"), Token: "c"})
	if !isDenied(err) {
		t.Errorf("copy: %v", err)
	}
	_, err = b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: arn, Token: "r",
		Metadata: map[string]string{"newFileSystem": "true"}})
	if !isDenied(err) {
		t.Errorf("restore: %v", err)
	}
	policy, err := b.VaultAccessPolicy(ctx, locA, AutomaticVaultName)
	if err != nil || policy != AutomaticVaultPolicy {
		t.Errorf("policy %q, %v", policy, err)
	}
	vaults, err := b.ListVaults(ctx, locA)
	if err != nil || len(vaults) != 2 || vaults[0].Name != AutomaticVaultName || vaults[1].Name != "primary" {
		t.Errorf("vaults %+v, %v", vaults, err)
	}
}

func isDenied(err error) bool {
	return engine.ErrorCode(err) == engine.EDENIED && awsCode(err) == ErrAccessDenied
}

func TestAutomaticBackupsFollowTheTag(t *testing.T) {
	w := autoWorld(t, gib, time.Date(2024, 5, 14, 0, 0, 0, 0, time.UTC))
	w.Advance(24 * time.Hour)
	w.SetFileSystemTags(locA, fsID, map[string]string{"Name": "x"})
	w.Advance(48 * time.Hour)
	if n := len(w.Jobs()); n != 1 {
		t.Fatalf("%d automatic jobs after the tag was removed on day 1, want 1", n)
	}
}
