package awscloud

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// The restore operations join the fake's routes, its default answers and
// the request-shape cases that TestEveryOperationHasAShapeTest demands.
func init() {
	restRoutes = append(restRoutes,
		struct{ service, method, pattern, op string }{"backup", "PUT", "restore-jobs", "StartRestoreJob"},
		struct{ service, method, pattern, op string }{"backup", "GET", "restore-jobs/*", "DescribeRestoreJob"},
		struct{ service, method, pattern, op string }{"backup", "GET", "backup-vaults/*/recovery-points/*/restore-metadata", "GetRecoveryPointRestoreMetadata"},
	)
	defaultReplies["backup.StartRestoreJob"] = td("api-start-restore-job-response.json")
	defaultReplies["backup.DescribeRestoreJob"] = td("api-describe-restore-job-efs.json")
	defaultReplies["backup.GetRecoveryPointRestoreMetadata"] = td("api-get-recovery-point-restore-metadata-efs.json")
	shapeCases = append(shapeCases, restoreShapeCases...)
}

// sampleStartRestore is the StartRestoreJob request of a sample body.
func sampleStartRestore(t *testing.T, name string) engine.StartRestoreRequest {
	t.Helper()
	var in struct {
		RecoveryPointArn, IamRoleArn, IdempotencyToken string
		Metadata                                       map[string]string
	}
	if err := json.Unmarshal([]byte(td(name)), &in); err != nil {
		t.Fatal(err)
	}
	l := engine.Loc{Account: homeAccount, Region: strings.Split(in.RecoveryPointArn, ":")[3]}
	return engine.StartRestoreRequest{Loc: l, RecoveryPointArn: in.RecoveryPointArn, IamRoleArn: in.IamRoleArn, Token: in.IdempotencyToken, Metadata: in.Metadata}
}

var restoreShapeCases = []shapeCase{
	{
		op: "backup.StartRestoreJob",
		run: func(t *testing.T, c *Cloud) {
			for _, name := range []string{"api-start-restore-job-request-efs-item-level-existing-fs.json", "api-start-restore-job-request-efs-item-level-new-fs.json"} {
				j, err := c.Backup().StartRestore(bg(), sampleStartRestore(t, name))
				if err != nil || j.JobID != "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20" {
					t.Fatalf("StartRestore(%s) = %+v, %v", name, j, err)
				}
			}
		},
		check: func(t *testing.T, calls []call) {
			if len(calls) != 2 {
				t.Fatalf("%d calls, want 2", len(calls))
			}
			want(t, calls[0], "PUT", "/restore-jobs")
			if calls[0].Region != "us-east-1" || calls[1].Region != "us-west-2" {
				t.Errorf("restore jobs run in the point's Region: went to %s and %s", calls[0].Region, calls[1].Region)
			}
			// Field by field as the samples, metadata values strings and
			// ItemsToRestore a JSON array in a string. The new-file-system
			// sample spells out CopySourceTagsToRestoredResource false,
			// which is the API's default and what the adapter means too.
			sameJSON(t, calls[0].Body, td("api-start-restore-job-request-efs-item-level-existing-fs.json"))
			var body map[string]any
			if err := json.Unmarshal(calls[1].Body, &body); err != nil {
				t.Fatal(err)
			}
			if v, ok := body["CopySourceTagsToRestoredResource"]; ok && v != false {
				t.Errorf("source tags must not be copied to a restored file system: %v", v)
			}
			delete(body, "CopySourceTagsToRestoredResource")
			var sample map[string]any
			json.Unmarshal([]byte(td("api-start-restore-job-request-efs-item-level-new-fs.json")), &sample)
			delete(sample, "CopySourceTagsToRestoredResource")
			if !reflect.DeepEqual(body, sample) {
				t.Errorf("new-file-system request\n%s\nwant the sample's fields", calls[1].Body)
			}
		},
	},
	{
		op: "backup.DescribeRestoreJob",
		run: func(t *testing.T, c *Cloud) {
			l := engine.Loc{Account: homeAccount, Region: "us-west-2"}
			u, err := c.Backup().DescribeRestoreJob(bg(), l, "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20")
			if err != nil {
				t.Fatal(err)
			}
			wantU := engine.JobUpdate{Kind: engine.KindRestore, Loc: l, JobID: "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20", State: engine.JobCompleted,
				ResourceArn:        "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0",
				RecoveryPointArn:   "arn:aws:backup:us-west-2:111122223333:recovery-point:b4d6e8f0-1a3c-4e5b-8d7f-9a0b1c2d3e4f",
				SourceVaultArn:     "arn:aws:backup:us-west-2:111122223333:backup-vault:efs-dr",
				CreatedResourceArn: "arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-0fedcba9876543210",
				CreatedAt:          time.UnixMilli(1716199272366).UTC(), CompletedAt: time.UnixMilli(1716200559804).UTC()}
			if !u.CreatedAt.Equal(wantU.CreatedAt) || !u.CompletedAt.Equal(wantU.CompletedAt) {
				t.Errorf("times %v %v, want %v %v", u.CreatedAt, u.CompletedAt, wantU.CreatedAt, wantU.CompletedAt)
			}
			u.CreatedAt, u.CompletedAt = wantU.CreatedAt, wantU.CompletedAt
			if u != wantU {
				t.Errorf("DescribeRestoreJob =\n%+v\nwant\n%+v", u, wantU)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/restore-jobs/7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20")
			if calls[0].Region != "us-west-2" {
				t.Errorf("went to %s", calls[0].Region)
			}
		},
	},
	{
		op: "backup.GetRecoveryPointRestoreMetadata",
		run: func(t *testing.T, c *Cloud) {
			md, err := c.Backup().RestoreMetadata(bg(), use1, "aws/efs/automatic-backup-vault", sampleRP)
			wantMD := map[string]string{"aws:backup:request-id": "3d86b624-cb6c-436f-bf72-2938f50e1954", "file-system-id": "fs-03d4399ab01e21f4d"}
			if err != nil || !reflect.DeepEqual(md, wantMD) {
				t.Fatalf("RestoreMetadata = %v, %v", md, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "GET", "backup-vaults", "aws/efs/automatic-backup-vault", "recovery-points", sampleRP, "restore-metadata")
			if calls[0].Query.Has("backupVaultAccountId") {
				t.Errorf("own vaults need no backupVaultAccountId: %v", calls[0].Query)
			}
		},
	},
}

func TestStartRestoreNeedsToken(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, nil)
	r := sampleStartRestore(t, "api-start-restore-job-request-efs-item-level-existing-fs.json")
	r.Token = ""
	if _, err := c.Backup().StartRestore(bg(), r); engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("StartRestore without token: %v", err)
	}
	if n := len(f.callsOf("backup.StartRestoreJob")); n != 0 {
		t.Fatalf("%d calls went out", n)
	}
}

func TestRestoreErrorsCarryCodes(t *testing.T) {
	f := newFake(t)
	f.on("backup.StartRestoreJob", func(call, int) reply {
		return restError(403, "AccessDeniedException", "is not authorized to perform: backup:StartRestoreJob with an explicit deny in a resource-based policy")
	})
	f.on("backup.DescribeRestoreJob", func(call, int) reply {
		return restError(400, "ResourceNotFoundException", "Cannot find restore job")
	})
	c := testCloud(t, f, nil)
	_, err := c.Backup().StartRestore(bg(), sampleStartRestore(t, "api-start-restore-job-request-efs-item-level-existing-fs.json"))
	if engine.ErrorCode(err) != engine.EDENIED || !strings.Contains(err.Error(), "restore arn:aws:backup:us-east-1") {
		t.Fatalf("denied start: %v", err)
	}
	if _, err := c.Backup().DescribeRestoreJob(bg(), use1, "nope"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("unknown job: %v", err)
	}
}

func TestPublish(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, nil)
	n := c.Notifier(topicArn)
	long := "efskeeper restore Failed:\n" + strings.Repeat("ü", 150)
	if err := n.Publish(bg(), long, "body", map[string]string{"kind": "restore", "status": "Failed", "policy": ""}); err != nil {
		t.Fatal(err)
	}
	calls := f.callsOf("sns.Publish")
	if len(calls) != 1 || calls[0].Region != "us-east-1" {
		t.Fatalf("calls %v", f.ops())
	}
	fm := calls[0].Form
	if s := fm.Get("Subject"); strings.Contains(s, "\n") || len([]rune(s)) != 99 || !strings.HasPrefix(s, "efskeeper restore Failed: üü") {
		t.Errorf("Subject %q", s)
	}
	if got, wantA := snsAttributes(fm), map[string]string{"kind": "String=restore", "status": "String=Failed"}; !reflect.DeepEqual(got, wantA) {
		t.Errorf("attributes %v, want %v (no empty policy)", got, wantA)
	}
	if err := c.Notifier("").Publish(bg(), "s", "b", nil); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("no topic: %v", err)
	}
}

// The engine's Restorer on these adapters puts on the wire exactly the
// sample's metadata for an item-level restore into the original file system.
func TestRestorerOnAdapters(t *testing.T) {
	f := newFake(t)
	f.ok("backup.GetRecoveryPointRestoreMetadata", strings.Replace(td("api-get-recovery-point-restore-metadata-efs.json"), "fs-03d4399ab01e21f4d", "fs-0123456789abcdef0", 1))
	c := testCloud(t, f, nil)
	rs := engine.NewRestorer(engine.Restorer{Store: memory.NewRestores(), Service: c.Backup(), Clock: engine.ClockFunc(time.Now)})
	r, err := rs.Start(bg(), engine.RestoreRequest{ClientToken: "t1", Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
		Items: []engine.RestoreItem{{RecoveryPointArn: sampleRP, Vault: "efs-primary", Paths: []string{"/projects/q2/report.pdf", "/home/alice"}}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.callsOf("backup.StartRestoreJob")
	if len(calls) != 1 || r.Jobs[0].JobID != "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20" {
		t.Fatalf("%d StartRestoreJob calls, job %+v", len(calls), r.Jobs[0])
	}
	var got, sample struct {
		RecoveryPointArn, IamRoleArn, IdempotencyToken, ResourceType string
		Metadata                                                     map[string]string
	}
	json.Unmarshal(calls[0].Body, &got)
	json.Unmarshal([]byte(td("api-start-restore-job-request-efs-item-level-existing-fs.json")), &sample)
	if !reflect.DeepEqual(got.Metadata, sample.Metadata) || got.RecoveryPointArn != sample.RecoveryPointArn || got.ResourceType != "EFS" {
		t.Errorf("request\n%s\nwant the sample's metadata %v", calls[0].Body, sample.Metadata)
	}
	if got.IamRoleArn != "arn:aws:iam::111122223333:role/efskeeper-backup" || got.IdempotencyToken != r.Jobs[0].Token {
		t.Errorf("role %s token %s", got.IamRoleArn, got.IdempotencyToken)
	}
	// The restore metadata came from the vault the item names.
	md := f.callsOf("backup.GetRecoveryPointRestoreMetadata")
	if len(md) != 1 || md[0].Segments[1] != "efs-primary" {
		t.Errorf("restore metadata calls %v", md)
	}
}
