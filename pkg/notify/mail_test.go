package notify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

var (
	at   = time.Date(2024, 5, 14, 0, 30, 0, 0, time.UTC) // 02:30 in Berlin (CEST)
	use1 = engine.Loc{Account: "111122223333", Region: "us-east-1"}
	euw1 = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	mem  = engine.Loc{Account: "444455556666", Region: "us-east-1"}
)

func policyRecord(id, name, zone string) *engine.PolicyRecord {
	return &engine.PolicyRecord{Policy: &policy.Policy{ID: id, Name: name, Enabled: true, Timezone: zone,
		Notifications: policy.Notifications{OnSuccess: true, OnWarning: true, OnFailure: true}}}
}

func task(l engine.Loc, fs string, phase engine.TaskPhase, backup engine.Job, copies []engine.Copy, reasons ...engine.Reason) *engine.Task {
	return &engine.Task{SessionID: engine.SessionID("prod-efs", at), PolicyID: "prod-efs", Loc: l, FileSystem: fs, Phase: phase,
		Backup: backup, Copies: copies, Reasons: reasons, MaxAttempts: 3}
}

func failedSession() engine.SessionNotice {
	s := &engine.Session{ID: engine.SessionID("prod-efs", at), PolicyID: "prod-efs", ScheduledAt: at, Schedules: []string{"daily", "weekly"},
		Status: engine.StatusFailed, Units: []engine.Loc{use1, euw1, mem}, EndedAt: at.Add(72*time.Minute + 13*time.Second)}
	retry := engine.Reason{Severity: engine.SeverityWarning, Code: engine.ReasonBackupRetried, Account: use1.Account, Region: use1.Region, FileSystem: "fs-0aaaaaaaaaaaaaaa1",
		Message: "backup of fs-0aaaaaaaaaaaaaaa1 in account 111122223333, us-east-1 ended EXPIRED: Backup job expired because another job was running; attempt 1 of 3, retrying at 2024-05-14T00:50:00Z"}
	failed := engine.Reason{Severity: engine.SeverityFailure, Code: engine.ReasonBackupFailed, Account: mem.Account, Region: mem.Region, FileSystem: "fs-0ccccccccccccccc3",
		Message: "backup of fs-0ccccccccccccccc3 in account 444455556666, us-east-1 ended FAILED: Insufficient privileges to perform this action.; no retries left (attempt 3 of 3)"}
	copyFailed := engine.Reason{Severity: engine.SeverityFailure, Code: engine.ReasonCopyFailed, Account: use1.Account, Region: use1.Region, FileSystem: "fs-0bbbbbbbbbbbbbbb2",
		Message: "copy of fs-0bbbbbbbbbbbbbbb2's restore point from us-east-1 to us-west-2 (vault dr-vault) ended FAILED: Access denied; no retries left (attempt 1 of 1)"}
	vault := engine.Reason{Severity: engine.SeverityFailure, Code: engine.ReasonVaultMissing, Account: euw1.Account, Region: euw1.Region,
		Message: `backup vault "prod-vault" does not exist in account 111122223333, eu-west-1; create it or change the policy`}
	optIn := engine.Reason{Severity: engine.SeverityInfo, Code: engine.ReasonOptInEnabled, Account: mem.Account, Region: mem.Region,
		Message: "EFS was not opted in to AWS Backup in account 444455556666, us-east-1; efskeeper opted it in"}
	s.Reasons = []engine.Reason{optIn, retry, failed, copyFailed, vault}
	ok := engine.Job{State: engine.JobCompleted, Attempt: 1}
	copyOK := []engine.Copy{{TargetRegion: "us-west-2", VaultName: "dr-vault", Job: engine.Job{State: engine.JobCompleted, Attempt: 1}}}
	return engine.SessionNotice{
		Session: s,
		Policy:  policyRecord("prod-efs", "Production EFS", "Europe/Berlin"),
		Tasks: []*engine.Task{
			task(use1, "fs-0aaaaaaaaaaaaaaa1", engine.PhaseDone, engine.Job{State: engine.JobCompleted, Attempt: 2}, copyOK, retry),
			task(use1, "fs-0bbbbbbbbbbbbbbb2", engine.PhaseDone, ok, []engine.Copy{{TargetRegion: "us-west-2", VaultName: "dr-vault",
				Job: engine.Job{State: engine.JobGaveUp, Attempt: 1, Message: "Access denied"}}}, copyFailed),
			task(mem, "fs-0ccccccccccccccc3", engine.PhaseFailed, engine.Job{State: engine.JobGaveUp, Attempt: 3,
				Message: "Insufficient privileges to perform this action."}, nil, failed),
			task(mem, "fs-0ddddddddddddddd4", engine.PhaseDone, ok, copyOK),
		},
		Units: []*engine.Unit{
			{SessionID: s.ID, PolicyID: "prod-efs", Loc: use1, State: engine.UnitDone, Tasks: 2},
			{SessionID: s.ID, PolicyID: "prod-efs", Loc: euw1, State: engine.UnitSkipped, Reasons: []engine.Reason{vault}},
			{SessionID: s.ID, PolicyID: "prod-efs", Loc: mem, State: engine.UnitDone, Tasks: 2, Reasons: []engine.Reason{optIn}},
		},
	}
}

func TestSessionGolden(t *testing.T) {
	n := failedSession()
	subj, body := Session(n)
	golden(t, "session-failed", subj, body)
	if subj != "efskeeper Failed: Production EFS 2024-05-14 00:30 UTC" {
		t.Errorf("subject %q", subj)
	}
	for _, want := range []string{"(02:30 CEST, Europe/Berlin)", "FAILED      fs-0ccccccccccccccc3", "Insufficient privileges", "COPY FAILED", "vault-missing [111122223333 eu-west-1]"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}

	ok := &engine.Session{ID: engine.SessionID("home", at), PolicyID: "home", ScheduledAt: at, Schedules: []string{"daily"},
		Status: engine.StatusSuccess, Units: []engine.Loc{use1}, EndedAt: at.Add(31 * time.Minute)}
	subj, body = Session(engine.SessionNotice{Session: ok, Policy: policyRecord("home", "", "UTC"),
		Tasks: []*engine.Task{task(use1, "fs-0123456789abcdef0", engine.PhaseDone, engine.Job{State: engine.JobCompleted, Attempt: 1}, nil)}})
	golden(t, "session-success", subj, body)
}

// Hostile input: a long non-ASCII policy name with a line break, a reason
// of 5000 characters with line breaks and control characters, 250 file
// systems and 150 reasons: the subject keeps its status and time, lines
// stay lines, lists end with "and N more".
func TestSessionHostileGolden(t *testing.T) {
	name := "Produktion – Dateisysteme für Überwachung\nund 日本語のファイルシステム " + strings.Repeat("ß", 80)
	s := &engine.Session{ID: engine.SessionID("prod-efs", at), PolicyID: "prod-efs", ScheduledAt: at, Status: engine.StatusWarning,
		Units: []engine.Loc{use1}, EndedAt: at.Add(50 * time.Hour)}
	long := "AWS said:\r\nline two\u2028" + strings.Repeat("détail \x1b[31m ", 700)
	for i := range 150 {
		s.Reasons = append(s.Reasons, engine.Reason{Severity: engine.SeverityWarning, Code: "region-error", Account: use1.Account, Region: use1.Region,
			Message: fmt.Sprintf("reason %d: %s", i, long)})
	}
	var tasks []*engine.Task
	for i := range 250 {
		st := engine.Job{State: engine.JobCompleted, Attempt: 1}
		phase := engine.PhaseDone
		var rs []engine.Reason
		if i%50 == 7 {
			st = engine.Job{State: engine.JobGaveUp, Attempt: 3, Message: long}
			phase = engine.PhaseFailed
			for k := range 7 {
				rs = append(rs, engine.Reason{Severity: engine.SeverityFailure, Code: engine.ReasonBackupFailed, Account: use1.Account, Region: use1.Region,
					FileSystem: fmt.Sprintf("fs-%017x", i), Message: fmt.Sprintf("attempt %d: %s", k, long)})
			}
		}
		tasks = append(tasks, task(use1, fmt.Sprintf("fs-%017x", i), phase, st, nil, rs...))
	}
	subj, body := Session(engine.SessionNotice{Session: s, Policy: policyRecord("prod-efs", name, "Asia/Tokyo"), Tasks: tasks})
	golden(t, "session-hostile", subj, body)
	if !strings.HasPrefix(subj, "efskeeper Warning: Produktion") || !strings.HasSuffix(subj, "2024-05-14 00:30 UTC") {
		t.Errorf("subject lost its status or time: %q", subj)
	}
	for _, want := range []string{"… and 150 more file systems", "… and 50 more reasons", "… and 2 more reasons", "FAILED      fs-00000000000000007"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
}

func partialRestore() *engine.Restore {
	rp1 := "arn:aws:backup:us-east-1:111122223333:recovery-point:8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rp2 := "arn:aws:backup:us-east-1:111122223333:recovery-point:11111111-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	fsArn := "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
	return &engine.Restore{
		ID: "rst-4f1c0a8e9b7d6c5e4f3a2b1c", RequestedBy: "arn:aws:sts::111122223333:assumed-role/admin/alice",
		Items: []engine.RestoreItem{
			{RecoveryPointArn: rp1, Account: use1.Account, Region: use1.Region, Vault: "efs-primary", Paths: []string{"/projects/q2/report.pdf", "/home/alice", "/home/bob/ünïcödé.txt"},
				FileSystem: "fs-0123456789abcdef0", FileSystemLoc: use1, PointTime: at, PolicyID: "prod-efs"},
			{RecoveryPointArn: rp2, Account: use1.Account, Region: use1.Region, Vault: "efs-primary", Paths: []string{"/etc/app.conf"},
				FileSystem: "fs-0123456789abcdef0", FileSystemLoc: use1, PointTime: at.Add(-24 * time.Hour), PolicyID: "prod-efs"},
		},
		Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
		Status: engine.RestorePartial,
		Jobs: []engine.RestoreJob{
			{Item: 0, Loc: use1, RecoveryPointArn: rp1, Paths: []string{"/projects/q2/report.pdf", "/home/alice"}, JobID: "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20",
				State: engine.JobCompleted, CreatedResourceArn: fsArn, StartedAt: at.Add(26 * time.Hour), CompletedAt: at.Add(26*time.Hour + 21*time.Minute)},
			{Item: 0, Loc: use1, RecoveryPointArn: rp1, Paths: []string{"/home/bob/ünïcödé.txt"}, JobID: "8e2a4b6c-0f3d-4e5f-9a1b-2c4d6e8f0a31",
				State: engine.JobCompleted, CreatedResourceArn: fsArn, StartedAt: at.Add(26 * time.Hour), CompletedAt: at.Add(26*time.Hour + 4*time.Minute)},
			{Item: 1, Loc: use1, RecoveryPointArn: rp2, Paths: []string{"/etc/app.conf"}, JobID: "9f3b5c7d-1a4e-4f60-8b2c-3d5e7f9a1b42",
				State: engine.JobFailed, Message: "Restore job failed because file system fs-0123456789abcdef0 was not found.", StartedAt: at.Add(26 * time.Hour), CompletedAt: at.Add(26*time.Hour + 2*time.Minute)},
		},
		CreatedAt: at.Add(26 * time.Hour), UpdatedAt: at.Add(26*time.Hour + 21*time.Minute), EndedAt: at.Add(26*time.Hour + 22*time.Minute),
	}
}

func TestRestoreGolden(t *testing.T) {
	subj, body := Restore(engine.RestoreNotice{Restore: partialRestore()})
	golden(t, "restore-partial", subj, body)
	if subj != "efskeeper restore Partial: 4 paths from 2 restore points (into the original file system)" {
		t.Errorf("subject %q", subj)
	}

	on := true
	full := &engine.Restore{
		ID: "rst-migrate", Full: true,
		Items: []engine.RestoreItem{{RecoveryPointArn: "arn:aws:backup:us-west-2:111122223333:recovery-point:b4d6e8f0-1a3c-4e5b-8d7f-9a0b1c2d3e4f",
			Account: use1.Account, Region: "us-west-2", Vault: "efs-dr", FileSystem: "fs-0123456789abcdef0", FileSystemLoc: use1, PointTime: at}},
		Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, PerformanceMode: engine.PerformanceGeneralPurpose, Encrypted: &on,
			KmsKeyID: "arn:aws:kms:us-west-2:111122223333:key/abcd1234-a123-456a-a12b-a123b4cd56ef", AvailabilityZone: "us-west-2a"},
		Status: engine.RestoreCompleted,
		Jobs: []engine.RestoreJob{{Item: 0, Loc: engine.Loc{Account: use1.Account, Region: "us-west-2"}, JobID: "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20", State: engine.JobCompleted,
			CreatedResourceArn: "arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-0fedcba9876543210", StartedAt: at, CompletedAt: at.Add(3*time.Hour + 5*time.Minute)}},
		CreatedAt: at, EndedAt: at.Add(3*time.Hour + 7*time.Minute),
	}
	subj, body = Restore(engine.RestoreNotice{Restore: full})
	golden(t, "restore-full-copy", subj, body)
	if !strings.Contains(body, "copy in account 111122223333, us-west-2") || !strings.Contains(body, "into fs-0fedcba9876543210 (new file system)") {
		t.Errorf("body does not say where the copy was restored:\n%s", body)
	}
}

func TestRestoreHostileGolden(t *testing.T) {
	r := partialRestore()
	r.RequestedBy = "alice\nSubject: forged"
	r.Items[0].Paths = nil
	r.Jobs = r.Jobs[2:]
	r.Jobs[0].Item = 0
	r.Items = r.Items[:1]
	for i := range 260 {
		p := fmt.Sprintf("/données/%03d/日本語 %s", i, strings.Repeat("x", i%7))
		if i == 3 {
			p = "/evil\nline/\x00nul"
		}
		r.Items[0].Paths = append(r.Items[0].Paths, p)
	}
	for i := 0; i < 260; i += 5 {
		r.Jobs = append(r.Jobs, engine.RestoreJob{Item: 0, Loc: use1, Paths: r.Items[0].Paths[i:min(i+5, 260)], JobID: fmt.Sprintf("job-%03d", i/5),
			State: engine.JobFailed, Message: strings.Repeat("Restore job failed because of an internal error. ", 40)})
	}
	r.Jobs = r.Jobs[1:]
	r.Status = engine.RestoreFailed
	subj, body := Restore(engine.RestoreNotice{Restore: r})
	golden(t, "restore-hostile", subj, body)
	if !strings.Contains(body, "… and 5 more paths") || strings.Contains(body, "\nSubject: forged") {
		t.Errorf("hostile restore body not cut or not flattened")
	}
}

func dailyReport() *Report {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	to := time.Date(2024, 5, 15, 7, 0, 0, 0, time.UTC)
	failed := &engine.Session{ID: engine.SessionID("prod-efs", at), PolicyID: "prod-efs", ScheduledAt: at, Status: engine.StatusFailed, Reasons: failedSession().Session.Reasons}
	warn := &engine.Session{ID: engine.SessionID("prod-efs", at.Add(-time.Hour)), PolicyID: "prod-efs", ScheduledAt: at.Add(-time.Hour), Status: engine.StatusWarning,
		Reasons: []engine.Reason{{Severity: engine.SeverityWarning, Code: engine.ReasonNoFileSystems, Account: euw1.Account, Region: euw1.Region, Message: "no file system in account 111122223333, eu-west-1 matches the selection"}}}
	return &Report{
		From: to.Add(-24 * time.Hour), To: to,
		Policies: []PolicyReport{
			{ID: "prod-efs", Name: "Production EFS", Enabled: true, Zone: berlin,
				Counts:   map[engine.SessionStatus]int{engine.StatusSuccess: 22, engine.StatusWarning: 1, engine.StatusFailed: 1},
				Troubled: []*engine.Session{failed, warn}, SourcePoints: 336, CopyPoints: map[string]int{"us-west-2": 330, "eu-central-1": 12},
				FileSystems: 14, SizeBytes: 3_400_000_000_000},
			{ID: "dev", Name: "Dev", Enabled: false, Zone: time.UTC, Counts: map[engine.SessionStatus]int{}, CopyPoints: map[string]int{}, SourcePoints: 3},
		},
		ProtectedFileSystems: 14, ProtectedBytes: 3_400_000_000_000,
		Unprotected: []UnprotectedFS{
			{Loc: mem, ID: "fs-0eeeeeeeeeeeeeee5", Name: "scratch", SizeBytes: 5 << 30},
			{Loc: use1, ID: "fs-0fffffffffffffff6", SizeBytes: 1234},
		},
		Restores: []*engine.Restore{partialRestore()},
		Problems: []string{"could not list the file systems of account 444455556666, eu-west-1: access_denied: User is not authorized to perform: sts:AssumeRole"},
	}
}

func TestDailyGolden(t *testing.T) {
	r := dailyReport()
	subj, body := Daily(r)
	golden(t, "report-daily", subj, body)
	if subj != "efskeeper daily report 2024-05-15: 1 failed session, 1 warning, 2 unprotected file systems" {
		t.Errorf("subject %q", subj)
	}
	if r.Status() != engine.StatusFailed {
		t.Errorf("status %s", r.Status())
	}

	empty := &Report{From: r.From, To: r.To}
	subj, body = Daily(empty)
	golden(t, "report-empty", subj, body)
	if empty.Status() != engine.StatusSuccess || !strings.Contains(subj, "all good") {
		t.Errorf("empty report: %s %q", empty.Status(), subj)
	}
}

func TestDailyHostileGolden(t *testing.T) {
	r := dailyReport()
	r.Policies[0].Name = strings.Repeat("Überlanger Richtlinienname\t", 30)
	for i := range 140 {
		r.Unprotected = append(r.Unprotected, UnprotectedFS{Loc: use1, ID: fmt.Sprintf("fs-1%016x", i), Name: "名前\n" + strings.Repeat("z", i), SizeBytes: int64(i) << 20})
	}
	subj, body := Daily(r)
	golden(t, "report-hostile", subj, body)
	if !strings.Contains(body, "… and 42 more file systems") {
		t.Errorf("unprotected list not cut")
	}
}

func TestTextHelpers(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct{ got, want string }{
		{stamp(time.Date(2024, 3, 31, 0, 30, 0, 0, time.UTC), berlin), "2024-03-31 00:30 UTC (01:30 CET, Europe/Berlin)"},
		{stamp(time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC), berlin), "2024-03-31 01:30 UTC (03:30 CEST, Europe/Berlin)"},
		{stamp(time.Date(2024, 5, 14, 23, 0, 0, 0, time.UTC), berlin), "2024-05-14 23:00 UTC (2024-05-15 01:00 CEST, Europe/Berlin)"},
		{stamp(time.Time{}, berlin), "-"},
		{duration(45 * time.Second), "45 s"},
		{duration(72 * time.Minute), "1 h 12 min"},
		{duration(50 * time.Hour), "2 days 2 h"},
		{bytes(1023), "1023 B"},
		{bytes(5 << 30), "5.0 GiB"},
		{bytes(3_400_000_000_000), "3.1 TiB"},
		{oneLine("a\r\n\tb\u2028c\x00d", 50), "a b c d"},
		{oneLine("äöü", 2), "ä…"},
		{oneLine("bad\xffutf8", 50), "bad utf8"},
		{subject("efskeeper Failed:", strings.Repeat("n", 200), "2024-05-14 00:30 UTC"), "efskeeper Failed: " + strings.Repeat("n", 59) + "… 2024-05-14 00:30 UTC"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: %q, want %q", i, tt.got, tt.want)
		}
	}
}

// FuzzSession: whatever names and messages come in, the mail is one a
// subscriber can receive.
func FuzzSession(f *testing.F) {
	f.Add("Production", "prod", "Europe/Berlin", "backup failed", "fs-1", 3)
	f.Add("\n\x00\xff", "p#x", "Mars/Olympus", strings.Repeat("\u2028", 300), "", 0)
	f.Add(strings.Repeat("長", 200), "", "", "\r\n", "fs-\n", 120)
	f.Fuzz(func(t *testing.T, name, id, zone, msg, fs string, n int) {
		n = min(max(n, 0), 300)
		s := &engine.Session{ID: id, PolicyID: id, ScheduledAt: at, Status: engine.StatusFailed, Schedules: []string{msg},
			Reasons: []engine.Reason{{Severity: engine.SeverityFailure, Code: msg, Account: fs, Message: msg}}}
		var tasks []*engine.Task
		for i := range n {
			tasks = append(tasks, task(use1, fs+fmt.Sprint(i), engine.PhaseFailed, engine.Job{State: engine.JobFailed, Message: msg}, nil,
				engine.Reason{Severity: engine.SeverityWarning, Code: msg, Message: msg}))
		}
		subj, body := Session(engine.SessionNotice{Session: s, Policy: policyRecord(id, name, zone), Tasks: tasks})
		checkMail(t, subj, body)
		r := partialRestore()
		r.ID, r.RequestedBy, r.Jobs[2].Message, r.Items[0].Paths[0] = id, name, msg, msg
		subj, body = Restore(engine.RestoreNotice{Restore: r})
		checkMail(t, subj, body)
	})
}
