package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestBackupRunsThroughStatesAndMakesPoint(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	sj := mustStart(t, w, backupReq("tok"))
	if !strings.HasPrefix(sj.RecoveryPointArn, "arn:aws:backup:eu-west-1:111122223333:recovery-point:") {
		t.Fatalf("EFS backups name their recovery point at once, got %q", sj.RecoveryPointArn)
	}
	rp, err := w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
	if err != nil || rp.Status != engine.RPCreating {
		t.Fatalf("point while the job runs: %+v, %v; want CREATING", rp, err)
	}
	var states []string
	for _, raw := range run(w, 3*time.Hour) {
		e := decode(t, raw)
		if e.jobID() != sj.JobID {
			t.Fatalf("event of another job: %s", raw)
		}
		states = append(states, e.state())
		if e.state() == "COMPLETED" {
			if len(e.Resources) != 1 || e.Resources[0] != sj.RecoveryPointArn {
				t.Errorf("COMPLETED resources = %v, want the recovery point", e.Resources)
			}
		} else if len(e.Resources) != 0 {
			t.Errorf("%s resources = %v, want []", e.state(), e.Resources)
		}
	}
	if got := strings.Join(states, ","); got != "CREATED,PENDING,RUNNING,COMPLETED" {
		t.Fatalf("states = %s", got)
	}
	u, err := w.Backup().DescribeBackupJob(ctx, locA, sj.JobID)
	if err != nil || u.State != engine.JobCompleted || u.RecoveryPointArn != sj.RecoveryPointArn || u.CompletedAt.IsZero() {
		t.Fatalf("DescribeBackupJob = %+v, %v", u, err)
	}
	rp, err = w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn)
	if err != nil || rp.Status != engine.RPCompleted || rp.StorageClass != "WARM" || rp.Tags[engine.TagPolicy] != "prod" || !rp.CreatedAt.Equal(t0) {
		t.Fatalf("DescribeRecoveryPoint = %+v, %v", rp, err)
	}
	if _, err := w.Backup().DescribeBackupJob(ctx, locDR, sj.JobID); !engine.IsNotFound(err) || awsCode(err) != ErrResourceNotFound {
		t.Fatalf("job described in another Region: %v, want ResourceNotFoundException", err)
	}
}

func TestJobDurationGrowsWithSize(t *testing.T) {
	dur := func(size int64) time.Duration {
		w := testWorld(t, Faults{}, size)
		sj := mustStart(t, w, backupReq("tok"))
		w.Advance(48 * time.Hour)
		j := jobByID(w, sj.JobID)
		if j.State != engine.JobCompleted {
			t.Fatalf("size %d: state %s", size, j.State)
		}
		return j.CompletedAt.Sub(j.CreatedAt)
	}
	small, big := dur(gib), dur(500*gib)
	if small < 5*time.Minute || small > time.Hour {
		t.Errorf("1 GiB backup took %v, want minutes", small)
	}
	if big < 4*small {
		t.Errorf("500 GiB backup took %v, 1 GiB %v: size does not count", big, small)
	}
}

func TestIncrementalBackupTransfersLess(t *testing.T) {
	w := testWorld(t, Faults{}, 100*gib)
	first := mustStart(t, w, backupReq("a"))
	w.Advance(24 * time.Hour)
	second := mustStart(t, w, backupReq("b"))
	w.Advance(24 * time.Hour)
	a, b := jobByID(w, first.JobID), jobByID(w, second.JobID)
	if a.Bytes != 100*gib || b.Bytes != 5*gib {
		t.Fatalf("bytes: first %d, second %d; want full then 5%%", a.Bytes, b.Bytes)
	}
}

func TestIdempotencyToken(t *testing.T) {
	other := backupReq("tok")
	other.Lifecycle = &engine.Lifecycle{DeleteAfterDays: 7}
	tests := []struct {
		name         string
		second       engine.StartBackupRequest
		after        time.Duration
		wantSameJob  bool
		wantMismatch bool
	}{
		{"same token and parameters", backupReq("tok"), time.Hour, true, false},
		{"same token, other parameters", other, time.Hour, true, true},
		{"same token after 24 hours", backupReq("tok"), 25 * time.Hour, false, false},
		{"other token", backupReq("tok2"), time.Hour, false, false},
		{"no token at all", backupReq(""), time.Hour, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, Faults{}, gib)
			firstReq := backupReq("tok")
			if tc.second.Token == "" {
				firstReq.Token = ""
			}
			first := mustStart(t, w, firstReq)
			w.Advance(tc.after)
			emitted := w.EventStats().Emitted
			second := mustStart(t, w, tc.second)
			if same := second.JobID == first.JobID; same != tc.wantSameJob {
				t.Fatalf("second job %s, first %s: same=%v, want %v", second.JobID, first.JobID, same, tc.wantSameJob)
			}
			wantJobs := 2
			if tc.wantSameJob {
				wantJobs = 1
				if second.RecoveryPointArn != first.RecoveryPointArn || !second.CreatedAt.Equal(first.CreatedAt) {
					t.Errorf("retry answered %+v, first %+v", second, first)
				}
				if got := w.EventStats().Emitted; got != emitted {
					t.Errorf("a retried start emitted %d events", got-emitted)
				}
			}
			if n := len(w.Jobs()); n != wantJobs {
				t.Errorf("%d jobs, want %d", n, wantJobs)
			}
			if n := len(w.TokenMismatches()); (n > 0) != tc.wantMismatch {
				t.Errorf("token mismatches %v, want mismatch=%v", w.TokenMismatches(), tc.wantMismatch)
			}
			if got := w.Calls()["StartBackupJob"]; got != 2 {
				t.Errorf("StartBackupJob calls = %d, want 2", got)
			}
		})
	}
}

func TestOneJobPerResource(t *testing.T) {
	w := testWorld(t, Faults{}, 50*gib)
	first := mustStart(t, w, backupReq("a"))
	second := mustStart(t, w, backupReq("b"))
	w.Advance(10 * time.Minute)
	if j := jobByID(w, second.JobID); j.State != engine.JobCreated {
		t.Fatalf("second backup of a busy file system is %s, want CREATED", j.State)
	}
	w.Advance(6 * time.Hour)
	a, b := jobByID(w, first.JobID), jobByID(w, second.JobID)
	if a.State != engine.JobCompleted || b.State != engine.JobCompleted {
		t.Fatalf("states %s, %s; want both COMPLETED (the second had an 8 h window)", a.State, b.State)
	}
	if b.StartedAt.Before(a.CompletedAt) {
		t.Fatalf("second started running at %v, before the first completed at %v", b.StartedAt, a.CompletedAt)
	}
}

func TestStartWindowExpires(t *testing.T) {
	w := testWorld(t, Faults{}, 500*gib) // hours of backup
	mustStart(t, w, backupReq("a"))
	req := backupReq("b")
	req.StartWindowMinutes = 60
	second := mustStart(t, w, req)
	var expired []event
	for _, raw := range run(w, 3*time.Hour) {
		if e := decode(t, raw); e.jobID() == second.JobID && e.state() == "EXPIRED" {
			expired = append(expired, e)
		}
	}
	j := jobByID(w, second.JobID)
	if j.State != engine.JobExpired || j.Message != msgRunningJob {
		t.Fatalf("second job %s %q", j.State, j.Message)
	}
	if j.CompletedAt.Before(j.StartBy) || j.CompletedAt.After(j.StartBy.Add(3*time.Minute)) {
		t.Errorf("expired at %v, start window ended %v", j.CompletedAt, j.StartBy)
	}
	if len(expired) != 1 {
		t.Fatalf("%d EXPIRED events", len(expired))
	}
	if got := expired[0].Detail.StatusMessage; got != `"`+msgRunningJob+`"` {
		t.Errorf("statusMessage %s: want AWS's embedded quotes", got)
	}
	if p := pointByArn(w, second.RecoveryPointArn); !p.Gone {
		t.Errorf("an expired backup left a recovery point: %+v", p)
	}
	if _, err := w.Backup().DescribeRecoveryPoint(ctx, locA, "primary", second.RecoveryPointArn); !engine.IsNotFound(err) {
		t.Errorf("DescribeRecoveryPoint of an expired backup's point: %v", err)
	}
}

// startCopy copies a completed backup to locDR/dr.
func startCopy(t *testing.T, w *World, point, token string) engine.StartedJob {
	t.Helper()
	sj, err := w.Backup().StartCopy(ctx, engine.StartCopyRequest{
		Loc: locA, SourceVaultName: "primary", RecoveryPointArn: point,
		DestinationBackupVaultArn: vaultArn(locDR, "dr"), IamRoleArn: "arn:aws:iam::111122223333:role/efskeeper-backup",
		Token: token, Lifecycle: &engine.Lifecycle{DeleteAfterDays: 90},
	})
	if err != nil {
		t.Fatalf("StartCopy: %v", err)
	}
	return sj
}

func TestCopyAndBackupShareTheResource(t *testing.T) {
	w := testWorld(t, Faults{}, 200*gib)
	b1 := mustStart(t, w, backupReq("a"))
	w.Advance(12 * time.Hour)
	cp := startCopy(t, w, b1.RecoveryPointArn, "copy")
	w.Advance(20 * time.Minute)
	if j := jobByID(w, cp.JobID); j.State != engine.JobRunning {
		t.Fatalf("copy %s, want RUNNING", j.State)
	}
	req := backupReq("b")
	req.StartWindowMinutes = 0 // AWS's default 8 hours
	b2 := mustStart(t, w, req)
	w.Advance(30 * time.Minute)
	if j := jobByID(w, b2.JobID); j.State != engine.JobCreated {
		t.Fatalf("backup during a copy of the same file system is %s, want CREATED", j.State)
	}
	if err := w.Backup().DeleteRecoveryPoint(ctx, locA, "primary", b1.RecoveryPointArn); engine.ErrorCode(err) != engine.EPRECONDITION || awsCode(err) != ErrInvalidResourceState {
		t.Fatalf("deleting the source of a running copy: %v, want InvalidResourceStateException", err)
	}
	w.Advance(12 * time.Hour)
	c, b := jobByID(w, cp.JobID), jobByID(w, b2.JobID)
	if c.State != engine.JobCompleted || b.State != engine.JobCompleted || b.StartedAt.Before(c.CompletedAt) {
		t.Fatalf("copy %s until %v, backup %s from %v", c.State, c.CompletedAt, b.State, b.StartedAt)
	}
	cpPoint := pointByArn(w, c.PointArn)
	src := pointByArn(w, b1.RecoveryPointArn)
	if cpPoint.Region != locDR.Region || cpPoint.Vault != "dr" || cpPoint.CopyOf != src.Arn ||
		!cpPoint.CreatedAt.Equal(src.CreatedAt) || cpPoint.Tags[engine.TagSession] != src.Tags[engine.TagSession] {
		t.Fatalf("copy point %+v of %+v: want the source's creation date and tags in eu-central-1/dr", cpPoint, src)
	}
	if !cpPoint.DeleteAt.Equal(src.CreatedAt.Add(90 * 24 * time.Hour)) {
		t.Errorf("copy expires %v, want 90 days after the source's creation", cpPoint.DeleteAt)
	}
	if err := w.Backup().DeleteRecoveryPoint(ctx, locA, "primary", b1.RecoveryPointArn); err != nil {
		t.Fatalf("delete after the copy ended: %v", err)
	}
}

func TestCopyEventsComeFromTheSourceRegion(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	b := mustStart(t, w, backupReq("a"))
	w.Advance(3 * time.Hour)
	w.DeliverEvents()
	cp := startCopy(t, w, b.RecoveryPointArn, "copy")
	var states []string
	for _, raw := range run(w, 3*time.Hour) {
		e := decode(t, raw)
		if e.DetailType != DetailCopyJob {
			continue
		}
		states = append(states, e.state())
		if e.Region != locA.Region || e.Account != locA.Account {
			t.Errorf("copy event from %s/%s, want the source Region", e.Account, e.Region)
		}
		if len(e.Resources) != 1 || e.Resources[0] != b.RecoveryPointArn {
			t.Errorf("copy event resources %v, want the source point", e.Resources)
		}
		switch e.state() {
		case "CREATED":
			if e.Detail.CopyJobID != "" {
				t.Errorf("CREATED copy event has copyJobId %q", e.Detail.CopyJobID)
			}
		case "COMPLETED":
			if e.Detail.CopyJobID != cp.JobID || !strings.HasPrefix(string(e.Detail.DestRP), `"arn:aws:backup:eu-central-1:`) {
				t.Errorf("COMPLETED copy event: id %s, destination %s", e.Detail.CopyJobID, e.Detail.DestRP)
			}
		default:
			if string(e.Detail.DestRP) != "{}" {
				t.Errorf("%s copy event destinationRecoveryPointArn %s, want {}", e.state(), e.Detail.DestRP)
			}
		}
	}
	if got := strings.Join(states, ","); got != "CREATED,RUNNING,COMPLETED" {
		t.Fatalf("copy states %s", got)
	}
	u, err := w.Backup().DescribeCopyJob(ctx, locA, cp.JobID)
	if err != nil || u.State != engine.JobCompleted || u.RecoveryPointArn != b.RecoveryPointArn || u.DestinationRecoveryPointArn == "" {
		t.Fatalf("DescribeCopyJob %+v, %v", u, err)
	}
}

func TestCopyFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(w *World)
		dest    string
		wantMsg string
	}{
		{"destination vault missing", nil, vaultArn(locDR, "nope"), "does not exist"},
		{"destination denies copy into", func(w *World) {
			w.SetVaultPolicy(locDR, "dr", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:CopyInto*","Resource":"*"}]}`)
		}, vaultArn(locDR, "dr"), msgInsufficientPrivileges},
		{"cross-account without allow", func(w *World) {
			w.AddVault(engine.Loc{Account: "444455556666", Region: "eu-central-1"}, VaultSpec{Name: "central"})
		}, vaultArn(engine.Loc{Account: "444455556666", Region: "eu-central-1"}, "central"), msgInsufficientPrivileges},
		{"into the automatic vault", func(w *World) {
			w.AddVault(locDR, VaultSpec{Name: AutomaticVaultName})
		}, vaultArn(locDR, AutomaticVaultName), msgInsufficientPrivileges},
		{"locked vault retention too short", func(w *World) {
			min := int64(365)
			w.AddVault(locDR, VaultSpec{Name: "dr", MinRetentionDays: &min})
		}, vaultArn(locDR, "dr"), "retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, Faults{}, gib)
			b := mustStart(t, w, backupReq("a"))
			w.Advance(3 * time.Hour)
			if tc.setup != nil {
				tc.setup(w)
			}
			sj, err := w.Backup().StartCopy(ctx, engine.StartCopyRequest{Loc: locA, SourceVaultName: "primary",
				RecoveryPointArn: b.RecoveryPointArn, DestinationBackupVaultArn: tc.dest, Token: "c",
				Lifecycle: &engine.Lifecycle{DeleteAfterDays: 90}})
			if err != nil {
				t.Fatalf("StartCopy: %v (these fail as jobs, not calls)", err)
			}
			w.Advance(3 * time.Hour)
			j := jobByID(w, sj.JobID)
			if j.State != engine.JobFailed || !strings.Contains(j.Message, tc.wantMsg) {
				t.Fatalf("copy %s %q, want FAILED with %q", j.State, j.Message, tc.wantMsg)
			}
		})
	}
}

func TestCopyConcurrencyQuota(t *testing.T) {
	w := New(Config{Seed: 1, Start: t0, CopyConcurrency: 2})
	w.AddVault(locA, VaultSpec{Name: "primary"})
	w.AddVault(locDR, VaultSpec{Name: "dr"})
	var points []string
	for i := range 4 {
		id := "fs-0000000000000000" + string(rune('a'+i))
		w.AddFileSystem(locA, FileSystemSpec{ID: id, SizeBytes: 100 * gib})
		req := backupReq("b" + id)
		req.ResourceArn = fileSystemArn(locA, id)
		points = append(points, mustStart(t, w, req).RecoveryPointArn)
	}
	w.Advance(12 * time.Hour)
	var ids []string
	for i, p := range points {
		ids = append(ids, startCopy(t, w, p, "c"+string(rune('a'+i))).JobID)
	}
	w.Advance(20 * time.Minute)
	running := 0
	for _, id := range ids {
		if jobByID(w, id).State == engine.JobRunning {
			running++
		}
	}
	if running != 2 {
		t.Fatalf("%d copies running with a quota of 2", running)
	}
	w.Advance(24 * time.Hour)
	for _, id := range ids {
		if s := jobByID(w, id).State; s != engine.JobCompleted {
			t.Fatalf("copy %s ended %s", id, s)
		}
	}
}

func TestStartBackupRefusals(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(w *World)
		mutate   func(r *engine.StartBackupRequest)
		wantCode string
		wantAWS  string
	}{
		{"EFS not opted in", func(w *World) { w.SetEFSOptIn(locA, false) }, nil, engine.EINVALID, ErrInvalidRequest},
		{"vault missing", nil, func(r *engine.StartBackupRequest) { r.VaultName = "nope" }, engine.ENOTFOUND, ErrResourceNotFound},
		{"start window under 60", nil, func(r *engine.StartBackupRequest) { r.StartWindowMinutes = 30 }, engine.EINVALID, ErrInvalidParameterValue},
		{"cold without 90 days", nil, func(r *engine.StartBackupRequest) {
			r.Lifecycle = &engine.Lifecycle{MoveToColdStorageAfterDays: 30, DeleteAfterDays: 60}
		}, engine.EINVALID, ErrInvalidParameterValue},
		{"resource in another Region", nil, func(r *engine.StartBackupRequest) { r.ResourceArn = fileSystemArn(locDR, fsID) }, engine.EINVALID, ErrInvalidParameterValue},
		{"member role denied", func(w *World) { w.DenyAccess(locA.Account, true) }, nil, engine.EDENIED, ErrAccessDenied},
		{"unknown account", nil, func(r *engine.StartBackupRequest) { r.Loc.Account = "999999999999" }, engine.EDENIED, ErrAccessDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, Faults{}, gib)
			if tc.setup != nil {
				tc.setup(w)
			}
			req := backupReq("tok")
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			_, err := w.Backup().StartBackup(ctx, req)
			if engine.ErrorCode(err) != tc.wantCode || awsCode(err) != tc.wantAWS {
				t.Fatalf("err %v: code %s/%s, want %s/%s", err, engine.ErrorCode(err), awsCode(err), tc.wantCode, tc.wantAWS)
			}
			if len(w.Jobs()) != 0 {
				t.Fatalf("a refused start made a job")
			}
		})
	}
}

func TestOptInTurnsOn(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	w.SetEFSOptIn(locA, false)
	b := w.Backup()
	if on, err := b.EFSOptIn(ctx, locA); err != nil || on {
		t.Fatalf("EFSOptIn = %v, %v", on, err)
	}
	if err := b.EnableEFSOptIn(ctx, locA); err != nil {
		t.Fatal(err)
	}
	if on, _ := b.EFSOptIn(ctx, locA); !on {
		t.Fatal("UpdateRegionSettings did not opt in")
	}
	mustStart(t, w, backupReq("tok"))
	if c := w.Calls(); c["DescribeRegionSettings"] != 2 || c["UpdateRegionSettings"] != 1 {
		t.Fatalf("calls %v", c)
	}
}

func TestBackupFailsAsJob(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(w *World)
		vault   string
		want    engine.JobState
		wantMsg string
	}{
		{"vault removed after start", func(w *World) { w.RemoveVault(locA, "primary") }, "primary", engine.JobFailed, "does not exist"},
		{"file system deleted", func(w *World) { w.DeleteFileSystem(locA, fsID) }, "primary", engine.JobFailed, "not found"},
		{"automatic vault is reserved", nil, AutomaticVaultName, engine.JobFailed, msgInsufficientPrivileges},
		{"locked vault max retention", func(w *World) {
			max := int64(7)
			w.AddVault(locA, VaultSpec{Name: "primary", MaxRetentionDays: &max})
		}, "primary", engine.JobFailed, "retention"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorld(t, Faults{}, gib)
			w.AddVault(locA, VaultSpec{Name: AutomaticVaultName})
			req := backupReq("tok")
			req.VaultName = tc.vault
			sj := mustStart(t, w, req)
			if tc.setup != nil {
				tc.setup(w)
			}
			var failed []event
			for _, raw := range run(w, 2*time.Hour) {
				if e := decode(t, raw); e.state() == string(tc.want) {
					failed = append(failed, e)
				}
			}
			j := jobByID(w, sj.JobID)
			if j.State != tc.want || !strings.Contains(j.Message, tc.wantMsg) {
				t.Fatalf("job %s %q, want %s with %q", j.State, j.Message, tc.want, tc.wantMsg)
			}
			if len(failed) != 1 || len(failed[0].Resources) != 0 || !strings.HasPrefix(failed[0].Detail.StatusMessage, `"`) {
				t.Fatalf("FAILED events %+v: want one, resources [], quoted message", failed)
			}
		})
	}
}

func TestStopBackupJob(t *testing.T) {
	w := testWorld(t, Faults{}, 100*gib)
	sj := mustStart(t, w, backupReq("tok"))
	w.Advance(10 * time.Minute)
	if !w.StopBackupJob(locA, sj.JobID) {
		t.Fatal("StopBackupJob found no running job")
	}
	if w.StopBackupJob(locA, sj.JobID) {
		t.Fatal("a stopped job stopped twice")
	}
	j := jobByID(w, sj.JobID)
	if j.State != engine.JobAborted || j.Message != msgStoppedByUser {
		t.Fatalf("job %s %q", j.State, j.Message)
	}
	next := mustStart(t, w, backupReq("tok2"))
	w.Advance(24 * time.Hour)
	if s := jobByID(w, next.JobID).State; s != engine.JobCompleted {
		t.Fatalf("the stopped job did not free the file system: next is %s", s)
	}
}

func TestCompletionWindowAborts(t *testing.T) {
	w := testWorld(t, Faults{}, 1000*gib)
	req := backupReq("tok")
	req.CompleteWindowMinutes = 120
	sj := mustStart(t, w, req)
	w.Advance(24 * time.Hour)
	j := jobByID(w, sj.JobID)
	if j.State != engine.JobAborted || j.CompletedAt.After(j.CreatedAt.Add(2*time.Hour)) {
		t.Fatalf("job %s at %v, want ABORTED at the end of the completion window", j.State, j.CompletedAt)
	}
}

// A backup of a file system that does not exist fails with AWS's message;
// one that appears while the job waits is backed up.
func TestBackupOfMissingFileSystem(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	req := backupReq("tok-missing")
	req.ResourceArn = fileSystemArn(locA, "fs-0000000000000dead")
	sj := mustStart(t, w, req)
	run(w, 3*time.Hour)
	u, err := w.Backup().DescribeBackupJob(ctx, locA, sj.JobID)
	if err != nil || u.State != engine.JobFailed || !strings.Contains(u.Message, "was not found") {
		t.Fatalf("backup of a missing file system: %+v, %v; want FAILED, not found", u, err)
	}

	req = backupReq("tok-late")
	req.ResourceArn = fileSystemArn(locA, "fs-0000000000000beef")
	sj = mustStart(t, w, req)
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-0000000000000beef", SizeBytes: gib})
	run(w, 3*time.Hour)
	u, err = w.Backup().DescribeBackupJob(ctx, locA, sj.JobID)
	if err != nil || u.State != engine.JobCompleted {
		t.Fatalf("backup of a file system added after the start: %+v, %v; want COMPLETED", u, err)
	}
}

// A file system's jobs share one lock even when the first job started
// before the file system existed (its lock then came from World.resources,
// not from the file system's record).
func TestLockOfLateFileSystem(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	late := fileSystemArn(locA, "fs-0000000000000beef")
	req := backupReq("early")
	req.ResourceArn = late
	first := mustStart(t, w, req)
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-0000000000000beef", SizeBytes: 500 * gib})
	w.Advance(10 * time.Minute)
	if j := jobByID(w, first.JobID); j.State != engine.JobRunning {
		t.Fatalf("first backup is %s, want RUNNING", j.State)
	}
	req = backupReq("later")
	req.ResourceArn = late
	second := mustStart(t, w, req)
	w.Advance(30 * time.Minute)
	if j := jobByID(w, second.JobID); j.State != engine.JobCreated {
		t.Fatalf("second backup of the busy file system is %s, want CREATED", j.State)
	}
}
