package awscloud

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Calls into a member account carry the assumed role's keys and session
// token; the role is assumed once for all its Regions and services; the
// home account's calls keep the home keys.
func TestMemberAccountCallsUseTheAssumedRole(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, nil)
	euw := engine.Loc{Account: memberAccount, Region: "eu-west-1"}
	use := engine.Loc{Account: memberAccount, Region: "us-east-1"}
	for i := 0; i < 3; i++ {
		if _, err := c.Backup().EFSOptIn(bg(), euw); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Backup().DescribeBackupJob(bg(), use, "j1"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.FileSystems().ListFileSystems(bg(), use); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Backup().EFSOptIn(bg(), use1); err != nil {
		t.Fatal(err)
	}

	if n := len(f.callsOf("sts.AssumeRole")); n != 1 {
		t.Errorf("AssumeRole called %d times, want once for the account", n)
	}
	f.mu.Lock()
	calls := append([]call(nil), f.calls...)
	f.mu.Unlock()
	var member, home int
	for _, cl := range calls {
		switch {
		case cl.Op == "sts.AssumeRole":
		case cl.AccessKey == memberKey:
			member++
			if cl.Header.Get("X-Amz-Security-Token") != memberToken {
				t.Errorf("%s: member call without the session token", cl.Op)
			}
		case cl.AccessKey == homeKey:
			home++
			if cl.Header.Get("X-Amz-Security-Token") != "" {
				t.Errorf("%s: home call carries a session token", cl.Op)
			}
		default:
			t.Errorf("%s signed with %s", cl.Op, cl.AccessKey)
		}
	}
	if member != 9 || home != 1 {
		t.Errorf("%d member and %d home calls, want 9 and 1", member, home)
	}
	regions := map[string]bool{}
	for _, cl := range f.callsOf("backup.DescribeRegionSettings") {
		regions[cl.Region] = true
	}
	if !regions["eu-west-1"] || !regions["us-east-1"] {
		t.Errorf("calls must be signed for their Region: %v", regions)
	}
}

func TestConcurrentFirstCallsAssumeOnce(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, nil)
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := engine.Loc{Account: memberAccount, Region: []string{"eu-west-1", "us-east-1", "ap-southeast-2"}[i%3]}
			if _, err := c.Backup().EFSOptIn(bg(), l); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if n := len(f.callsOf("sts.AssumeRole")); n != 1 {
		t.Errorf("AssumeRole called %d times, want 1", n)
	}
	a, _ := c.at(bg(), engine.Loc{Account: memberAccount, Region: "eu-west-1"})
	b, _ := c.at(bg(), engine.Loc{Account: memberAccount, Region: "eu-west-1"})
	if a != b {
		t.Error("clients of one (account, Region) must be made once")
	}
}

// Credentials are refreshed CredentialsExpiryWindow (5 min) before they
// expire: credentials with 4 minutes left are not used, 10 minutes are.
func TestAssumedCredentialsRefreshBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		left    time.Duration
		assumes int
	}{{4 * time.Minute, 3}, {10 * time.Minute, 1}} {
		f := newFake(t)
		f.on("sts.AssumeRole", func(call, int) reply { return xmlReply(assumeRoleXML(time.Now().Add(tc.left))) })
		c := testCloud(t, f, nil)
		for i := 0; i < 3; i++ {
			if _, err := c.Backup().EFSOptIn(bg(), engine.Loc{Account: memberAccount, Region: "eu-west-1"}); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(f.callsOf("sts.AssumeRole")); n != tc.assumes {
			t.Errorf("credentials with %v left: %d AssumeRole calls for 3 API calls, want %d", tc.left, n, tc.assumes)
		}
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	f := newFake(t)
	f.on("sts.AssumeRole", func(call, int) reply {
		return queryError(403, "AccessDenied", "User: arn:aws:sts::111122223333:assumed-role/efskeeper-regionrun/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222233334444:role/efskeeper-member")
	})
	_, err := testCloud(t, f, nil).Backup().ListVaults(bg(), engine.Loc{Account: memberAccount, Region: "eu-west-1"})
	if engine.ErrorCode(err) != engine.EDENIED {
		t.Fatalf("code %s, want %s: %v", engine.ErrorCode(err), engine.EDENIED, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "list backup vaults in 222233334444/eu-west-1: ") || !strings.Contains(msg, "assume role arn:aws:iam::222233334444:role/efskeeper-member in account 222233334444") {
		t.Errorf("message must say which role could not be assumed: %s", msg)
	}
	if n := len(f.callsOf("backup.ListBackupVaults")); n != 0 {
		t.Errorf("ListBackupVaults sent without credentials")
	}
}

func TestHomeAccountFromCallerIdentity(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, func(cfg *Config) { cfg.HomeAccount = "" })
	for i := 0; i < 3; i++ {
		if _, err := c.Backup().EFSOptIn(bg(), use1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Backup().EFSOptIn(bg(), engine.Loc{Account: memberAccount, Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.callsOf("sts.GetCallerIdentity")); n != 1 {
		t.Errorf("GetCallerIdentity called %d times, want once", n)
	}
	if n := len(f.callsOf("sts.AssumeRole")); n != 1 {
		t.Errorf("AssumeRole called %d times, want once (for the member only)", n)
	}
}

func TestHomeAccountLookupFailureIsRetried(t *testing.T) {
	f := newFake(t)
	f.on("sts.GetCallerIdentity", func(_ call, n int) reply {
		if n == 1 { // not retryable: the first call makes one attempt
			return queryError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
		}
		return xmlReply(callerIdentityXML(homeAccount))
	})
	c := testCloud(t, f, func(cfg *Config) { cfg.HomeAccount = ""; cfg.MaxAttempts = 2 })
	if _, err := c.HomeAccount(bg()); engine.ErrorCode(err) != engine.EDENIED {
		t.Fatalf("first lookup: %v, want EDENIED", err)
	}
	if acc, err := c.HomeAccount(bg()); err != nil || acc != homeAccount {
		t.Fatalf("second lookup: %q, %v", acc, err)
	}
}

func TestLocationMustBeComplete(t *testing.T) {
	f := newFake(t)
	b := testCloud(t, f, nil).Backup()
	for _, l := range []engine.Loc{{Region: "eu-west-1"}, {Account: homeAccount}} {
		if _, err := b.EFSOptIn(bg(), l); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", l, err)
		}
	}
	if len(f.ops()) != 0 {
		t.Errorf("calls made: %v", f.ops())
	}
}

func TestPartitionAndRoleArns(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1": "aws", "us-east-1": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
	} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%s) = %s, want %s", region, got, want)
		}
	}
	f := newFake(t)
	c := testCloud(t, f, func(cfg *Config) { cfg.HomeRegion = "cn-north-1"; cfg.MemberRoleName = "org-efskeeper" })
	if got := c.MemberRoleArn(memberAccount); got != "arn:aws-cn:iam::222233334444:role/org-efskeeper" {
		t.Errorf("MemberRoleArn = %s", got)
	}
	if got := c.BackupRoleArn(memberAccount); got != "arn:aws-cn:iam::222233334444:role/efskeeper-backup" {
		t.Errorf("BackupRoleArn = %s", got)
	}
	if _, err := c.Backup().EFSOptIn(bg(), engine.Loc{Account: memberAccount, Region: "cn-northwest-1"}); err != nil {
		t.Fatal(err)
	}
	if a := f.callsOf("sts.AssumeRole"); len(a) != 1 || a[0].Form.Get("RoleArn") != "arn:aws-cn:iam::222233334444:role/org-efskeeper" || a[0].Region != "cn-north-1" {
		t.Errorf("AssumeRole in China: %+v", a)
	}
}

func TestSessionName(t *testing.T) {
	for fn, want := range map[string]string{
		"":                      "efskeeper",
		"regionrun":             "efskeeper-regionrun",
		"efskeeper-api":         "efskeeper-api",
		"job events/v2":         "efskeeper-job-events-v2",
		strings.Repeat("x", 80): "efskeeper-" + strings.Repeat("x", 54),
	} {
		if got := (Config{Function: fn}).withDefaults("eu-west-1").sessionName(); got != want {
			t.Errorf("sessionName(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestNewNeedsARegion(t *testing.T) {
	if _, err := New(aws.Config{}, Config{}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("New without Region: %v", err)
	}
}

// Load reads the default credential chain, as a Lambda does (there from
// the AWS_* variables the runtime sets).
func TestLoadUsesTheDefaultChain(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "TESTKEYFROMENVIRONMENT1")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "env-token")
	t.Setenv("AWS_REGION", "ap-southeast-2")
	f := newFake(t)
	c, err := Load(bg(), Config{HomeAccount: homeAccount, Endpoint: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Queue(regionQueue, "").SendRegionRun(bg(), engine.RegionRunMsg{SessionID: "s", Account: homeAccount, Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	sent := f.callsOf("sqs.SendMessage")[0]
	if sent.AccessKey != "TESTKEYFROMENVIRONMENT1" || sent.Region != "ap-southeast-2" || sent.Header.Get("X-Amz-Security-Token") != "env-token" {
		t.Errorf("Load: key %s Region %s token %q", sent.AccessKey, sent.Region, sent.Header.Get("X-Amz-Security-Token"))
	}
}
