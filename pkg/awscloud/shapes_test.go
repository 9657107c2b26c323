package awscloud

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

var (
	use1 = engine.Loc{Account: homeAccount, Region: "us-east-1"}

	sampleRP    = "arn:aws:backup:us-east-1:111122223333:recovery-point:8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	sampleFSArn = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
	topicArn    = "arn:aws:sns:us-east-1:111122223333:efskeeper-notices"
	regionQueue = "https://sqs.eu-west-1.amazonaws.com/111122223333/efskeeper-region"
	indexQueue  = "https://sqs.eu-west-1.amazonaws.com/111122223333/efskeeper-index"
)

// shapeCase drives one adapter method and checks the request of one SDK
// operation as it reached the wire.
type shapeCase struct {
	op    string // service.Operation, as the fake names it
	setup func(f *fakeAWS)
	run   func(t *testing.T, c *Cloud)
	check func(t *testing.T, calls []call)
}

// shapeCases has a case for every SDK operation the package calls;
// TestEveryOperationHasAShapeTest keeps it that way.
var shapeCases = []shapeCase{
	{
		op: "backup.DescribeRegionSettings",
		run: func(t *testing.T, c *Cloud) {
			in, err := c.Backup().EFSOptIn(bg(), use1)
			if err != nil || !in {
				t.Fatalf("EFSOptIn = %v, %v; want true (the sample opts EFS in)", in, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/account-settings")
			if len(calls[0].Body) != 0 || len(calls[0].Query) != 0 {
				t.Errorf("DescribeRegionSettings sends nothing; got body %q query %v", calls[0].Body, calls[0].Query)
			}
		},
	},
	{
		op: "backup.UpdateRegionSettings",
		setup: func(f *fakeAWS) {
			f.ok("backup.DescribeRegionSettings", strings.Replace(td("api-describe-region-settings.json"), `"EFS": true,`, `"EFS": false,`, 1))
		},
		run: func(t *testing.T, c *Cloud) {
			if err := c.Backup().EnableEFSOptIn(bg(), use1); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "PUT", "/account-settings")
			body := calls[0].JSON(t)
			if _, ok := body["ResourceTypeManagementPreference"]; ok {
				t.Errorf("management preferences must not be sent: %s", calls[0].Body)
			}
			var settings struct{ ResourceTypeOptInPreference map[string]bool }
			json.Unmarshal([]byte(td("api-describe-region-settings.json")), &settings)
			wantMap := settings.ResourceTypeOptInPreference // the sample, EFS true, others as they were
			got := map[string]bool{}
			for k, v := range body["ResourceTypeOptInPreference"].(map[string]any) {
				got[k] = v.(bool)
			}
			if !reflect.DeepEqual(got, wantMap) {
				t.Errorf("opt-in map sent:\n%v\nwant the current map with EFS true:\n%v", got, wantMap)
			}
		},
	},
	{
		op: "backup.ListBackupVaults",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Backup().ListVaults(bg(), use1); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/backup-vaults")
			// No vaultType, no shared=true, no token: the account's own
			// vaults of every type, from the first page.
			if q := calls[0].Query; len(q) != 0 {
				t.Errorf("first page must list own vaults of every type: query %v", q)
			}
		},
	},
	{
		op: "backup.ListTags",
		run: func(t *testing.T, c *Cloud) {
			tags, err := c.Backup().RecoveryPointTags(bg(), use1, sampleRP)
			if err != nil || tags["efskeeper:vault"] != "prod" {
				t.Fatalf("RecoveryPointTags = %v, %v", tags, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			if calls[0].Method != "GET" || len(calls[0].Segments) != 2 || calls[0].Segments[0] != "tags" || calls[0].Segments[1] != sampleRP {
				t.Errorf("ListTags request %s %s, want GET /tags/{resourceArn}", calls[0].Method, calls[0].Path)
			}
		},
	},
	{
		op: "backup.DescribeBackupVault",
		setup: func(f *fakeAWS) {
			f.ok("backup.DescribeBackupVault", td("api-describe-backup-vault-efs-automatic.json"))
		},
		run: func(t *testing.T, c *Cloud) {
			v, err := c.Backup().DescribeVault(bg(), use1, "aws/efs/automatic-backup-vault")
			if err != nil || v.Name != "aws/efs/automatic-backup-vault" {
				t.Fatalf("DescribeVault = %+v, %v", v, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			// A vault name is one path label: its slashes are escaped.
			if calls[0].Path != "/backup-vaults/aws%2Fefs%2Fautomatic-backup-vault" {
				t.Errorf("path %s, want the name as one escaped label", calls[0].Path)
			}
			if calls[0].Query.Has("backupVaultAccountId") {
				t.Errorf("own vaults need no backupVaultAccountId: %v", calls[0].Query)
			}
		},
	},
	{
		op: "backup.GetBackupVaultAccessPolicy",
		run: func(t *testing.T, c *Cloud) {
			p, err := c.Backup().VaultAccessPolicy(bg(), use1, "efs-dr")
			if err != nil || !strings.Contains(p, `"Sid":"DenyDeletes"`) {
				t.Fatalf("VaultAccessPolicy = %q, %v", p, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/backup-vaults/efs-dr/access-policy")
		},
	},
	{
		op: "backup.StartBackupJob",
		run: func(t *testing.T, c *Cloud) {
			j, err := c.Backup().StartBackup(bg(), sampleStartBackup())
			if err != nil {
				t.Fatal(err)
			}
			wantJob := engine.StartedJob{
				JobID:            "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63",
				RecoveryPointArn: sampleRP,
				CreatedAt:        time.UnixMilli(1715652004512).UTC(),
			}
			if j.JobID != wantJob.JobID || j.RecoveryPointArn != wantJob.RecoveryPointArn || !j.CreatedAt.Equal(wantJob.CreatedAt) {
				t.Errorf("StartBackup = %+v, want %+v", j, wantJob)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "PUT", "/backup-jobs")
			sameJSON(t, calls[0].Body, td("api-start-backup-job-request-efs.json"))
		},
	},
	{
		op: "backup.StartCopyJob",
		run: func(t *testing.T, c *Cloud) {
			j, err := c.Backup().StartCopy(bg(), sampleStartCopy())
			if err != nil || j.JobID != "e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61" || j.CreatedAt.IsZero() {
				t.Fatalf("StartCopy = %+v, %v", j, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "PUT", "/copy-jobs")
			if calls[0].Region != "us-east-1" {
				t.Errorf("copy jobs start in the source Region, went to %s", calls[0].Region)
			}
			sameJSON(t, calls[0].Body, td("api-start-copy-job-request-efs-cross-region.json"))
		},
	},
	{
		op: "backup.DescribeBackupJob",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Backup().DescribeBackupJob(bg(), use1, "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63"); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/backup-jobs/3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63")
		},
	},
	{
		op: "backup.DescribeCopyJob",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Backup().DescribeCopyJob(bg(), use1, "e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61"); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/copy-jobs/e2a9c7d4-1b3f-4e6a-9c8d-5f7b0a2e4c61")
		},
	},
	{
		op: "backup.DescribeRecoveryPoint",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Backup().DescribeRecoveryPoint(bg(), use1, "efs-primary", sampleRP); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "GET", "backup-vaults", "efs-primary", "recovery-points", sampleRP)
		},
	},
	{
		op: "backup.DeleteRecoveryPoint",
		run: func(t *testing.T, c *Cloud) {
			if err := c.Backup().DeleteRecoveryPoint(bg(), use1, "efs-primary", sampleRP); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantSegments(t, calls[0], "DELETE", "backup-vaults", "efs-primary", "recovery-points", sampleRP)
		},
	},
	{
		op: "elasticfilesystem.DescribeFileSystems",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.FileSystems().ListFileSystems(bg(), use1); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/2015-02-01/file-systems")
			if q := calls[0].Query; q.Has("FileSystemId") || q.Has("CreationToken") || q.Has("Marker") {
				t.Errorf("first page lists every file system: query %v", q)
			}
		},
	},
	{
		op: "elasticfilesystem.DescribeMountTargets",
		setup: func(f *fakeAWS) {
			f.ok("elasticfilesystem.DescribeFileSystems", onePage("efs-describe-file-systems-page1.json", `"NextMarker": "marker-page-2"`))
		},
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.FileSystems().ListFileSystems(bg(), use1); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/2015-02-01/mount-targets")
			if got := calls[0].Query.Get("FileSystemId"); got != "fs-0123456789abcdef0" {
				t.Errorf("FileSystemId = %q", got)
			}
		},
	},
	{
		op: "elasticfilesystem.DescribeMountTargetSecurityGroups",
		setup: func(f *fakeAWS) {
			f.ok("elasticfilesystem.DescribeFileSystems", onePage("efs-describe-file-systems-page1.json", `"NextMarker": "marker-page-2"`))
			f.ok("elasticfilesystem.DescribeMountTargets", onePage("efs-describe-mount-targets-page1.json", `"NextMarker": "mt-marker-2"`))
		},
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.FileSystems().ListFileSystems(bg(), use1); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			want(t, calls[0], "GET", "/2015-02-01/mount-targets/fsmt-0a1b2c3d4e5f60001/security-groups")
		},
	},
	{
		op: "organizations.ListAccountsForParent",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Organization().AccountsIn(bg(), []string{"ou-abcd-11111111"}); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantJSONRPC(t, calls[0], "AWSOrganizationsV20161128.ListAccountsForParent", "application/x-amz-json-1.1")
			if b := calls[0].JSON(t); b["ParentId"] != "ou-abcd-11111111" || b["NextToken"] != nil {
				t.Errorf("body %s", calls[0].Body)
			}
		},
	},
	{
		op: "organizations.ListOrganizationalUnitsForParent",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Organization().AccountsIn(bg(), []string{"r-abcd"}); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			wantJSONRPC(t, calls[0], "AWSOrganizationsV20161128.ListOrganizationalUnitsForParent", "application/x-amz-json-1.1")
			if b := calls[0].JSON(t); b["ParentId"] != "r-abcd" {
				t.Errorf("body %s", calls[0].Body)
			}
		},
	},
	{
		op: "sqs.SendMessage",
		run: func(t *testing.T, c *Cloud) {
			q := c.Queue(regionQueue, indexQueue)
			if err := q.SendRegionRun(bg(), engine.RegionRunMsg{SessionID: "prod-efs#2024-05-14T02:00:00Z", PolicyID: "prod-efs", Account: homeAccount, Region: "us-east-1"}); err != nil {
				t.Fatal(err)
			}
			if err := q.SendIndexRun(bg(), engine.IndexRunMsg{TaskID: "t1", PolicyID: "prod-efs", Account: homeAccount, Region: "us-east-1", FileSystem: "fs-0123456789abcdef0", RecoveryPointArn: sampleRP}); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			if len(calls) != 2 {
				t.Fatalf("%d SendMessage calls, want 2", len(calls))
			}
			wantJSONRPC(t, calls[0], "AmazonSQS.SendMessage", "application/x-amz-json-1.0")
			if calls[0].Region != "eu-west-1" {
				t.Errorf("queues live in the home Region, call went to %s", calls[0].Region)
			}
			for i, wantURL := range []string{regionQueue, indexQueue} {
				b := calls[i].JSON(t)
				if b["QueueUrl"] != wantURL {
					t.Errorf("call %d QueueUrl %v, want %s", i, b["QueueUrl"], wantURL)
				}
				var msg map[string]any
				if err := json.Unmarshal([]byte(b["MessageBody"].(string)), &msg); err != nil {
					t.Errorf("MessageBody is not JSON: %v", err)
				}
				if i == 0 && (msg["sessionId"] != "prod-efs#2024-05-14T02:00:00Z" || msg["region"] != "us-east-1") {
					t.Errorf("region run body %v", msg)
				}
				if i == 1 && (msg["fileSystem"] != "fs-0123456789abcdef0" || msg["recoveryPointArn"] != sampleRP) {
					t.Errorf("index run body %v", msg)
				}
			}
		},
	},
	{
		op: "sns.Publish",
		run: func(t *testing.T, c *Cloud) {
			n := c.Notifier(topicArn)
			if err := n.SessionFinished(bg(), sampleNotice()); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			f := calls[0].Form
			if calls[0].Method != "POST" || f.Get("Action") != "Publish" || f.Get("Version") != "2010-03-31" {
				t.Errorf("not a Publish: %s %v", calls[0].Method, f)
			}
			if calls[0].Region != "us-east-1" {
				t.Errorf("Publish goes to the topic's Region us-east-1, went to %s", calls[0].Region)
			}
			if f.Get("TopicArn") != topicArn {
				t.Errorf("TopicArn %q", f.Get("TopicArn"))
			}
			if s := f.Get("Subject"); s != "efskeeper Failed: Production EFS (2024-05-14 02:00 UTC)" {
				t.Errorf("Subject %q", s)
			}
			if !strings.Contains(f.Get("Message"), "backup-failed") {
				t.Errorf("Message lacks the reason:\n%s", f.Get("Message"))
			}
			attrs := snsAttributes(f)
			wantAttrs := map[string]string{"policy": "String=prod-efs", "status": "String=Failed"}
			if !reflect.DeepEqual(attrs, wantAttrs) {
				t.Errorf("message attributes %v, want %v", attrs, wantAttrs)
			}
		},
	},
	{
		op: "sts.AssumeRole",
		run: func(t *testing.T, c *Cloud) {
			if _, err := c.Backup().EFSOptIn(bg(), engine.Loc{Account: memberAccount, Region: "eu-central-1"}); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, calls []call) {
			f := calls[0].Form
			if f.Get("Version") != "2011-06-15" || calls[0].AccessKey != homeKey {
				t.Errorf("AssumeRole must be signed by the home account: %v key %s", f, calls[0].AccessKey)
			}
			if f.Get("RoleArn") != "arn:aws:iam::222233334444:role/efskeeper-member" || f.Get("RoleSessionName") != "efskeeper-regionrun" {
				t.Errorf("AssumeRole form %v", f)
			}
			if calls[0].Region != "eu-west-1" {
				t.Errorf("STS is called in the home Region, went to %s", calls[0].Region)
			}
		},
	},
	{
		op: "sts.GetCallerIdentity",
		run: func(t *testing.T, c *Cloud) {
			c.homeAcc = "" // as when Config.HomeAccount is empty
			acc, err := c.HomeAccount(bg())
			if err != nil || acc != homeAccount {
				t.Fatalf("HomeAccount = %q, %v", acc, err)
			}
		},
		check: func(t *testing.T, calls []call) {
			if f := calls[0].Form; f.Get("Version") != "2011-06-15" || len(f) != 2 {
				t.Errorf("GetCallerIdentity form %v", f)
			}
		},
	},
}

func TestRequestShapes(t *testing.T) {
	for _, sc := range shapeCases {
		t.Run(sc.op, func(t *testing.T) {
			f := newFake(t)
			if sc.setup != nil {
				sc.setup(f)
			}
			c := testCloud(t, f, nil)
			sc.run(t, c)
			calls := f.callsOf(sc.op)
			if len(calls) == 0 {
				t.Fatalf("no %s call; calls were %v", sc.op, f.ops())
			}
			for _, c := range calls {
				if c.Service != strings.SplitN(sc.op, ".", 2)[0] {
					t.Errorf("%s signed for service %q", sc.op, c.Service)
				}
			}
			sc.check(t, calls)
		})
	}
}

func sampleStartBackup() engine.StartBackupRequest {
	return engine.StartBackupRequest{
		Loc:                   use1,
		VaultName:             "efs-primary",
		ResourceArn:           sampleFSArn,
		IamRoleArn:            "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole",
		Token:                 "fs-0123456789abcdef0-20240514T0200Z",
		StartWindowMinutes:    60,
		CompleteWindowMinutes: 4320,
		Lifecycle:             &engine.Lifecycle{DeleteAfterDays: 35},
		RecoveryPointTags:     map[string]string{"managed-by": "efs-backup-orchestrator"},
	}
}

func sampleStartCopy() engine.StartCopyRequest {
	return engine.StartCopyRequest{
		Loc:                       use1,
		SourceVaultName:           "efs-primary",
		RecoveryPointArn:          sampleRP,
		DestinationBackupVaultArn: "arn:aws:backup:us-west-2:111122223333:backup-vault:efs-dr",
		IamRoleArn:                "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole",
		Token:                     "8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f->us-west-2/efs-dr",
		Lifecycle:                 &engine.Lifecycle{DeleteAfterDays: 90},
	}
}

func sampleNotice() engine.SessionNotice {
	at := time.Date(2024, 5, 14, 2, 0, 0, 0, time.UTC)
	return engine.SessionNotice{
		Session: &engine.Session{
			ID: engine.SessionID("prod-efs", at), PolicyID: "prod-efs", ScheduledAt: at,
			Schedules: []string{"daily"}, Status: engine.StatusFailed,
		},
		Policy: samplePolicyRecord(),
		Tasks: []*engine.Task{{
			Loc: use1, FileSystem: "fs-0123456789abcdef0", Phase: engine.PhaseFailed,
			Backup:  engine.Job{State: engine.JobFailed, Message: "Backup job failed because there was a running job for the same resource."},
			Reasons: []engine.Reason{{Severity: engine.SeverityFailure, Code: engine.ReasonBackupFailed, Message: "gave up after 3 attempts"}},
		}},
		Units: []*engine.Unit{{Reasons: []engine.Reason{{Severity: engine.SeverityFailure, Code: engine.ReasonBackupFailed, Account: homeAccount, Region: "us-east-1", FileSystem: "fs-0123456789abcdef0", Message: "backup failed"}}}},
	}
}

// want checks a REST call's method and escaped path.
func want(t *testing.T, c call, method, path string) {
	t.Helper()
	if c.Method != method || c.Path != path {
		t.Errorf("%s: %s %s, want %s %s", c.Op, c.Method, c.Path, method, path)
	}
}

// wantSegments checks a REST call's method and unescaped path labels.
func wantSegments(t *testing.T, c call, method string, segs ...string) {
	t.Helper()
	if c.Method != method || !reflect.DeepEqual(c.Segments, segs) {
		t.Errorf("%s: %s %v, want %s %v", c.Op, c.Method, c.Segments, method, segs)
	}
}

// wantJSONRPC checks an awsJson call: POST / with target and content type.
func wantJSONRPC(t *testing.T, c call, target, contentType string) {
	t.Helper()
	if c.Method != "POST" || c.Path != "/" {
		t.Errorf("%s: %s %s, want POST /", c.Op, c.Method, c.Path)
	}
	if got := c.Header.Get("X-Amz-Target"); got != target {
		t.Errorf("X-Amz-Target %q, want %q", got, target)
	}
	if got := c.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
}

// sameJSON compares a request body with a sample, field by field.
func sameJSON(t *testing.T, got []byte, wantJSON string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(wantJSON), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("request body\n%s\nwant\n%s", gb, wb)
	}
}

// snsAttributes decodes MessageAttributes.entry.N.* form fields into
// name -> "DataType=StringValue".
func snsAttributes(f url.Values) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name := f.Get(p + "Name")
		if name == "" {
			return out
		}
		out[name] = f.Get(p+"Value.DataType") + "=" + f.Get(p+"Value.StringValue")
	}
}

// onePage is a paged sample cut down to its first page.
func onePage(name, next string) string {
	return strings.Replace(td(name), next, `"Marker": ""`, 1)
}

func samplePolicyRecord() *engine.PolicyRecord {
	return &engine.PolicyRecord{Policy: &policy.Policy{ID: "prod-efs", Name: "Production EFS"}}
}
