package awscloud

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func ptr[T any](v T) *T { return &v }

func TestEFSOptInAbsentMeansNo(t *testing.T) {
	f := newFake(t)
	f.ok("backup.DescribeRegionSettings", `{"ResourceTypeOptInPreference":{"EBS":true},"ResourceTypeManagementPreference":{}}`)
	in, err := testCloud(t, f, nil).Backup().EFSOptIn(bg(), use1)
	if err != nil || in {
		t.Fatalf("EFSOptIn = %v, %v; want false", in, err)
	}
}

func TestListVaultsPagesAndTags(t *testing.T) {
	f := newFake(t)
	var all struct{ BackupVaultList []json.RawMessage }
	if err := json.Unmarshal([]byte(td("api-list-backup-vaults.json")), &all); err != nil {
		t.Fatal(err)
	}
	page := func(items []json.RawMessage, next string) string {
		b, _ := json.Marshal(map[string]any{"BackupVaultList": items, "NextToken": next})
		return strings.Replace(string(b), `,"NextToken":""`, "", 1)
	}
	f.pages("backup.ListBackupVaults", page(all.BackupVaultList[:2], "vaults-2"), page(all.BackupVaultList[2:], ""))
	f.on("backup.ListTags", func(c call, n int) reply {
		switch arn := c.Segments[1]; {
		case strings.HasSuffix(arn, ":efs-primary") && c.Query.Get("nextToken") == "":
			return reply{Status: 200, Body: `{"Tags":{"efskeeper:vault":"primary"},"NextToken":"tags-2"}`}
		case strings.HasSuffix(arn, ":efs-primary"):
			return reply{Status: 200, Body: `{"Tags":{"team":"storage"}}`}
		}
		return reply{Status: 200, Body: `{"Tags":{}}`}
	})

	vaults, err := testCloud(t, f, nil).Backup().ListVaults(bg(), use1)
	if err != nil {
		t.Fatal(err)
	}
	wantVaults := []engine.Vault{
		{Name: "Default", Arn: "arn:aws:backup:us-east-1:111122223333:backup-vault:Default", Type: "BACKUP_VAULT", Tags: map[string]string{}},
		{Name: "aws/efs/automatic-backup-vault", Arn: "arn:aws:backup:us-east-1:111122223333:backup-vault:aws/efs/automatic-backup-vault", Type: "BACKUP_VAULT", Tags: map[string]string{}},
		{Name: "efs-primary", Arn: "arn:aws:backup:us-east-1:111122223333:backup-vault:efs-primary", Type: "BACKUP_VAULT",
			Locked: true, MinRetentionDays: ptr[int64](7), MaxRetentionDays: ptr[int64](365),
			Tags: map[string]string{"efskeeper:vault": "primary", "team": "storage"}},
	}
	if !reflect.DeepEqual(vaults, wantVaults) {
		t.Errorf("ListVaults =\n%+v\nwant\n%+v", vaults, wantVaults)
	}
	lists := f.callsOf("backup.ListBackupVaults")
	if len(lists) != 2 || lists[1].Query.Get("nextToken") != "vaults-2" {
		t.Errorf("second page must send nextToken=vaults-2; calls %v", lists)
	}
	if n := len(f.callsOf("backup.ListTags")); n != 4 {
		t.Errorf("%d ListTags calls, want 4 (one per vault, two pages for efs-primary)", n)
	}
}

func TestDescribeVaultReportsLockAndTags(t *testing.T) {
	f := newFake(t)
	v, err := testCloud(t, f, nil).Backup().DescribeVault(bg(), use1, "efs-primary")
	if err != nil {
		t.Fatal(err)
	}
	wantVault := engine.Vault{Name: "efs-primary", Arn: "arn:aws:backup:us-east-1:111122223333:backup-vault:efs-primary",
		Type: "BACKUP_VAULT", Locked: true, MinRetentionDays: ptr[int64](7), MaxRetentionDays: ptr[int64](365),
		Tags: map[string]string{"efskeeper:vault": "prod"}}
	if !reflect.DeepEqual(v, wantVault) {
		t.Errorf("DescribeVault = %+v\nwant %+v", v, wantVault)
	}
	if tags := f.callsOf("backup.ListTags"); len(tags) != 1 || tags[0].Segments[1] != wantVault.Arn {
		t.Errorf("ListTags must be called with the vault ARN: %v", tags)
	}
}

func TestDescribeVaultMissing(t *testing.T) {
	f := newFake(t)
	f.on("backup.DescribeBackupVault", func(call, int) reply {
		return restError(404, "ResourceNotFoundException", "Backup vault nope does not exist")
	})
	_, err := testCloud(t, f, nil).Backup().DescribeVault(bg(), use1, "nope")
	if !engine.IsNotFound(err) || !strings.HasPrefix(err.Error(), "describe backup vault nope in 111122223333/us-east-1: ") {
		t.Fatalf("err = %v (code %s), want ENOTFOUND naming the vault", err, engine.ErrorCode(err))
	}
}

func TestVaultAccessPolicy(t *testing.T) {
	f := newFake(t)
	f.on("backup.GetBackupVaultAccessPolicy", func(c call, n int) reply {
		if c.Segments[1] == "no-policy" {
			return restError(404, "ResourceNotFoundException", "Backup vault no-policy has no access policy")
		}
		return restError(403, "AccessDeniedException", "not authorized to perform backup:GetBackupVaultAccessPolicy")
	})
	b := testCloud(t, f, nil).Backup()
	p, err := b.VaultAccessPolicy(bg(), use1, "no-policy")
	if p != "" || err != nil {
		t.Errorf("no policy: got %q, %v; want \"\", nil", p, err)
	}
	_, err = b.VaultAccessPolicy(bg(), use1, "secret")
	if engine.ErrorCode(err) != engine.EDENIED || !strings.Contains(err.Error(), "access policy of backup vault secret in 111122223333/us-east-1") {
		t.Errorf("denied: %v (code %s)", err, engine.ErrorCode(err))
	}
}

func TestStartWithoutTokenNeverReachesAWS(t *testing.T) {
	f := newFake(t)
	b := testCloud(t, f, nil).Backup()
	rb := sampleStartBackup()
	rb.Token = ""
	if _, err := b.StartBackup(bg(), rb); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("StartBackup without token: %v, want EINVALID", err)
	}
	rc := sampleStartCopy()
	rc.Token = ""
	if _, err := b.StartCopy(bg(), rc); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("StartCopy without token: %v, want EINVALID", err)
	}
	if ops := f.ops(); len(ops) != 0 {
		t.Errorf("calls made: %v (the SDK would have sent a random token)", ops)
	}
}

func TestStartBackupOptionalFields(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*engine.StartBackupRequest)
		want map[string]any // expected values; nil value = key must be absent
	}{
		{"no lifecycle, default windows", func(r *engine.StartBackupRequest) {
			r.Lifecycle, r.StartWindowMinutes, r.CompleteWindowMinutes, r.RecoveryPointTags = nil, 0, 0, nil
		}, map[string]any{"Lifecycle": nil, "StartWindowMinutes": nil, "CompleteWindowMinutes": nil, "RecoveryPointTags": nil}},
		{"cold storage and delete", func(r *engine.StartBackupRequest) {
			r.Lifecycle = &engine.Lifecycle{MoveToColdStorageAfterDays: 30, DeleteAfterDays: 120}
		}, map[string]any{"Lifecycle": map[string]any{"MoveToColdStorageAfterDays": 30.0, "DeleteAfterDays": 120.0}}},
		{"keep forever", func(r *engine.StartBackupRequest) {
			r.Lifecycle = &engine.Lifecycle{DeleteAfterDays: -1}
		}, map[string]any{"Lifecycle": map[string]any{"DeleteAfterDays": -1.0}}},
		{"zero lifecycle", func(r *engine.StartBackupRequest) {
			r.Lifecycle = &engine.Lifecycle{}
		}, map[string]any{"Lifecycle": nil}},
		{"efskeeper tags", func(r *engine.StartBackupRequest) {
			r.RecoveryPointTags = map[string]string{engine.TagPolicy: "prod-efs", engine.TagSession: "prod-efs#2024-05-14T02:00:00Z", engine.TagSchedules: "daily+weekly"}
		}, map[string]any{"RecoveryPointTags": map[string]any{"efskeeper:policy": "prod-efs", "efskeeper:session": "prod-efs#2024-05-14T02:00:00Z", "efskeeper:schedules": "daily+weekly"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			r := sampleStartBackup()
			tc.mod(&r)
			if _, err := testCloud(t, f, nil).Backup().StartBackup(bg(), r); err != nil {
				t.Fatal(err)
			}
			body := f.callsOf("backup.StartBackupJob")[0].JSON(t)
			if body["IdempotencyToken"] != r.Token {
				t.Errorf("IdempotencyToken %v, want %q", body["IdempotencyToken"], r.Token)
			}
			for k, v := range tc.want {
				got, ok := body[k]
				if v == nil && ok {
					t.Errorf("%s sent as %v, want it left out", k, got)
				}
				if v != nil && !reflect.DeepEqual(got, v) {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

// Throttling: AWS answers ThrottlingException twice, the SDK backs off and
// retries with the same body (same idempotency token), the third succeeds.
func TestThrottledStartBackupIsRetried(t *testing.T) {
	f := newFake(t)
	f.on("backup.StartBackupJob", func(c call, n int) reply {
		if n <= 2 {
			return restError(400, "ThrottlingException", "Rate exceeded")
		}
		return reply{Status: 200, Body: td("api-start-backup-job-response-efs.json")}
	})
	j, err := testCloud(t, f, nil).Backup().StartBackup(bg(), sampleStartBackup())
	if err != nil || j.JobID == "" {
		t.Fatalf("StartBackup = %+v, %v; want success after two throttles", j, err)
	}
	calls := f.callsOf("backup.StartBackupJob")
	if len(calls) != 3 {
		t.Fatalf("%d attempts, want 3", len(calls))
	}
	for _, c := range calls {
		if tok := c.JSON(t)["IdempotencyToken"]; tok != sampleStartBackup().Token {
			t.Errorf("attempt sent token %v, want the engine's on every attempt", tok)
		}
	}
}

func TestThrottlingThatOutlastsRetries(t *testing.T) {
	f := newFake(t)
	f.on("backup.StartBackupJob", func(call, int) reply { return restError(400, "ThrottlingException", "Rate exceeded") })
	c := testCloud(t, f, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, err := c.Backup().StartBackup(bg(), sampleStartBackup())
	if !engine.IsThrottled(err) {
		t.Fatalf("err = %v (code %s), want ETHROTTLED", err, engine.ErrorCode(err))
	}
	if !strings.HasPrefix(err.Error(), "start backup of fs-0123456789abcdef0 in 111122223333/us-east-1: ") {
		t.Errorf("message %q does not name the step and resource", err)
	}
	if n := len(f.callsOf("backup.StartBackupJob")); n != 3 {
		t.Errorf("%d attempts, want MaxAttempts = 3", n)
	}
}

func TestDefaultRetryBudgetIsEight(t *testing.T) {
	f := newFake(t)
	f.on("backup.DescribeBackupJob", func(call, int) reply { return restError(400, "ThrottlingException", "Rate exceeded") })
	_, err := testCloud(t, f, nil).Backup().DescribeBackupJob(bg(), use1, "job-1")
	if !engine.IsThrottled(err) {
		t.Fatalf("err = %v, want ETHROTTLED", err)
	}
	if n := len(f.callsOf("backup.DescribeBackupJob")); n != 8 {
		t.Errorf("%d attempts, want 8", n)
	}
}

func TestDescribeBackupJob(t *testing.T) {
	f := newFake(t)
	u, err := testCloud(t, f, nil).Backup().DescribeBackupJob(bg(), use1, "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63")
	if err != nil {
		t.Fatal(err)
	}
	wantUpdate := engine.JobUpdate{
		Kind: engine.KindBackup, Loc: use1, JobID: "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63", State: engine.JobCompleted,
		ResourceArn: sampleFSArn, RecoveryPointArn: sampleRP,
		SourceVaultArn: "arn:aws:backup:us-east-1:111122223333:backup-vault:efs-primary", SizeBytes: 1073741824,
		CreatedAt: time.UnixMilli(1715652004512).UTC(), CompletedAt: time.UnixMilli(1715653858031).UTC(),
	}
	if !sameUpdate(u, wantUpdate) {
		t.Errorf("DescribeBackupJob =\n%+v\nwant\n%+v", u, wantUpdate)
	}

	f.ok("backup.DescribeBackupJob", `{"BackupJobId":"j2","State":"EXPIRED","StatusMessage":"Backup job failed because there was a running job for the same resource.","CreationDate":1715652004.5,"ResourceArn":"`+sampleFSArn+`"}`)
	u, err = testCloud(t, f, nil).Backup().DescribeBackupJob(bg(), use1, "j2")
	if err != nil || u.State != engine.JobExpired || !strings.Contains(u.Message, "running job") || !u.CompletedAt.IsZero() {
		t.Errorf("expired job: %+v, %v", u, err)
	}
}

func TestDescribeCopyJob(t *testing.T) {
	f := newFake(t)
	u, err := testCloud(t, f, nil).Backup().DescribeCopyJob(bg(), use1, "e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61")
	if err != nil {
		t.Fatal(err)
	}
	wantUpdate := engine.JobUpdate{
		Kind: engine.KindCopy, Loc: use1, JobID: "e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61", State: engine.JobCompleted,
		ResourceArn:                 sampleFSArn,
		RecoveryPointArn:            sampleRP,
		DestinationRecoveryPointArn: "arn:aws:backup:us-west-2:111122223333:recovery-point:b4d6e8f0-1a3c-4e5b-8d7f-9a0b1c2d3e4f",
		DestinationVaultArn:         "arn:aws:backup:us-west-2:111122223333:backup-vault:efs-dr",
		SourceVaultArn:              "arn:aws:backup:us-east-1:111122223333:backup-vault:efs-primary",
		CreatedAt:                   time.UnixMilli(1715654117904).UTC(), CompletedAt: time.UnixMilli(1715656351557).UTC(),
	}
	if !sameUpdate(u, wantUpdate) {
		t.Errorf("DescribeCopyJob =\n%+v\nwant\n%+v", u, wantUpdate)
	}
	f.ok("backup.DescribeCopyJob", `{"CopyJob":{"CopyJobId":"c2","State":"FAILED","StatusMessage":"Insufficient privileges to perform this action.","SourceRecoveryPointArn":"`+sampleRP+`"}}`)
	u, err = testCloud(t, f, nil).Backup().DescribeCopyJob(bg(), use1, "c2")
	if err != nil || u.State != engine.JobFailed || u.Message != "Insufficient privileges to perform this action." || u.RecoveryPointArn != sampleRP || u.DestinationRecoveryPointArn != "" {
		t.Errorf("failed copy: %+v, %v", u, err)
	}
}

func sameUpdate(a, b engine.JobUpdate) bool {
	ta, tb := [2]time.Time{a.CreatedAt, a.CompletedAt}, [2]time.Time{b.CreatedAt, b.CompletedAt}
	a.CreatedAt, a.CompletedAt, b.CreatedAt, b.CompletedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && ta[0].Equal(tb[0]) && ta[1].Equal(tb[1])
}

func TestDescribeRecoveryPoint(t *testing.T) {
	f := newFake(t)
	f.ok("backup.ListTags", `{"Tags":{"efskeeper:policy":"prod-efs","efskeeper:session":"prod-efs#2024-05-14T02:00:00Z"}}`)
	rp, err := testCloud(t, f, nil).Backup().DescribeRecoveryPoint(bg(), use1, "efs-primary", sampleRP)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Arn != sampleRP || rp.VaultName != "efs-primary" || rp.ResourceArn != sampleFSArn || rp.Status != engine.RPCompleted ||
		rp.StorageClass != "WARM" || !rp.CreatedAt.Equal(time.UnixMilli(1715652004512)) || rp.Tags[engine.TagPolicy] != "prod-efs" {
		t.Errorf("DescribeRecoveryPoint = %+v", rp)
	}
}

func TestDescribeRecoveryPointWhileDeleting(t *testing.T) {
	f := newFake(t)
	f.ok("backup.DescribeRecoveryPoint", strings.Replace(td("api-describe-recovery-point-efs.json"), `"Status": "COMPLETED"`, `"Status": "DELETING"`, 1))
	rp, err := testCloud(t, f, nil).Backup().DescribeRecoveryPoint(bg(), use1, "efs-primary", sampleRP)
	if err != nil || rp.Status != engine.RPDeleting || rp.Tags != nil {
		t.Fatalf("DescribeRecoveryPoint = %+v, %v", rp, err)
	}
	if n := len(f.callsOf("backup.ListTags")); n != 0 {
		t.Errorf("ListTags called %d times for a DELETING point", n)
	}
}

func TestDescribeRecoveryPointGone(t *testing.T) {
	f := newFake(t)
	f.on("backup.DescribeRecoveryPoint", func(call, int) reply {
		return reply{Status: 400, Body: mustErrorSample("ResourceNotFoundException")}
	})
	_, err := testCloud(t, f, nil).Backup().DescribeRecoveryPoint(bg(), use1, "efs-primary", sampleRP)
	if !engine.IsNotFound(err) {
		t.Fatalf("err = %v, want ENOTFOUND", err)
	}

	// Gone between DescribeRecoveryPoint and ListTags: no tags, no error,
	// so that retention never deletes it on a guess.
	f = newFake(t)
	f.on("backup.ListTags", func(call, int) reply { return restError(400, "ResourceNotFoundException", "gone") })
	rp, err := testCloud(t, f, nil).Backup().DescribeRecoveryPoint(bg(), use1, "efs-primary", sampleRP)
	if err != nil || rp.Tags != nil || rp.Status != engine.RPCompleted {
		t.Fatalf("DescribeRecoveryPoint = %+v, %v", rp, err)
	}
}

// mustErrorSample returns one error body of testdata/api-error-responses.json.
func mustErrorSample(code string) string {
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(td("api-error-responses.json")), &all); err != nil {
		panic(err)
	}
	b, ok := all[code]
	if !ok {
		panic("no sample for " + code)
	}
	return string(b)
}
