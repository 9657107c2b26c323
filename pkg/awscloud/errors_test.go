package awscloud

import (
	"errors"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Each case makes one operation fail the way its service fails and checks
// the engine code and the sentence the admin reads.
func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name, op string
		rep      reply
		run      func(c *Cloud) error
		code     string
		prefix   string
	}{
		{"backup not found", "backup.DescribeBackupJob", reply{Status: 400, Body: mustErrorSample("ResourceNotFoundException")},
			func(c *Cloud) error { _, err := c.Backup().DescribeBackupJob(bg(), use1, "j1"); return err },
			engine.ENOTFOUND, "describe backup job j1 in 111122223333/us-east-1: "},
		{"backup invalid request", "backup.StartCopyJob", reply{Status: 400, Body: mustErrorSample("InvalidRequestException")},
			func(c *Cloud) error { _, err := c.Backup().StartCopy(bg(), sampleStartCopy()); return err },
			engine.EINVALID, "copy " + sampleRP + " to arn:aws:backup:us-west-2:111122223333:backup-vault:efs-dr from 111122223333/us-east-1: "},
		{"backup invalid parameter", "backup.StartBackupJob", restError(400, "InvalidParameterValueException", "Invalid lifecycle"),
			func(c *Cloud) error { _, err := c.Backup().StartBackup(bg(), sampleStartBackup()); return err },
			engine.EINVALID, "start backup of fs-0123456789abcdef0 in 111122223333/us-east-1: "},
		{"backup busy recovery point", "backup.DeleteRecoveryPoint", reply{Status: 400, Body: mustErrorSample("InvalidResourceStateException")},
			func(c *Cloud) error { return c.Backup().DeleteRecoveryPoint(bg(), use1, "efs-primary", sampleRP) },
			engine.EPRECONDITION, "delete recovery point " + sampleRP + " in 111122223333/us-east-1: "},
		{"backup too many jobs", "backup.StartBackupJob", reply{Status: 400, Body: mustErrorSample("LimitExceededException")},
			func(c *Cloud) error { _, err := c.Backup().StartBackup(bg(), sampleStartBackup()); return err },
			engine.ETHROTTLED, "start backup of "},
		{"backup unavailable", "backup.DescribeCopyJob", reply{Status: 500, Body: mustErrorSample("ServiceUnavailableException")},
			func(c *Cloud) error { _, err := c.Backup().DescribeCopyJob(bg(), use1, "c1"); return err },
			engine.EUNAVAIL, "describe copy job c1 in "},
		{"backup access denied, header only", "backup.UpdateRegionSettings",
			reply{Status: 403, Header: map[string]string{"X-Amzn-Errortype": "AccessDeniedException"}, Body: `{"message":"User is not authorized to perform: backup:UpdateRegionSettings"}`},
			func(c *Cloud) error { return c.Backup().EnableEFSOptIn(bg(), use1) },
			engine.EDENIED, "opt EFS in to AWS Backup in 111122223333/us-east-1: "},
		{"backup unknown client error", "backup.ListBackupVaults", restError(400, "SomethingNewException", "new"),
			func(c *Cloud) error { _, err := c.Backup().ListVaults(bg(), use1); return err },
			engine.EINTERNAL, "list backup vaults in 111122223333/us-east-1: "},
		{"efs denied", "elasticfilesystem.DescribeFileSystems",
			reply{Status: 403, Header: map[string]string{"X-Amzn-Errortype": "AccessDeniedException"}, Body: `{"ErrorCode":"AccessDeniedException","Message":"not authorized"}`},
			func(c *Cloud) error { _, err := c.FileSystems().ListFileSystems(bg(), use1); return err },
			engine.EDENIED, "list EFS file systems in 111122223333/us-east-1: "},
		{"efs throttled", "elasticfilesystem.DescribeFileSystems",
			reply{Status: 429, Header: map[string]string{"X-Amzn-Errortype": "ThrottlingException"}, Body: `{"ErrorCode":"ThrottlingException","Message":"Rate exceeded"}`},
			func(c *Cloud) error { _, err := c.FileSystems().ListFileSystems(bg(), use1); return err },
			engine.ETHROTTLED, "list EFS file systems in "},
		{"organizations not in use", "organizations.ListAccountsForParent", jsonError(400, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."),
			func(c *Cloud) error { _, err := c.Organization().AccountsIn(bg(), []string{"r-abcd"}); return err },
			engine.EPRECONDITION, "list the accounts of r-abcd: "},
		{"organizations unknown parent", "organizations.ListAccountsForParent", jsonError(400, "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."),
			func(c *Cloud) error {
				_, err := c.Organization().AccountsIn(bg(), []string{"ou-abcd-99999999"})
				return err
			},
			engine.ENOTFOUND, "list the accounts of ou-abcd-99999999: "},
		{"organizations too many requests", "organizations.ListOrganizationalUnitsForParent", jsonError(400, "TooManyRequestsException", "slow down"),
			func(c *Cloud) error { _, err := c.Organization().AccountsIn(bg(), []string{"r-abcd"}); return err },
			engine.ETHROTTLED, "list the organizational units of r-abcd: "},
		{"sqs missing queue", "sqs.SendMessage",
			reply{Status: 400, Header: map[string]string{"X-Amzn-Query-Error": "AWS.SimpleQueueService.NonExistentQueue;Sender"}, Body: `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`},
			func(c *Cloud) error {
				return c.Queue(regionQueue, "").SendRegionRun(bg(), engine.RegionRunMsg{SessionID: "s1", Account: homeAccount, Region: "us-east-1"})
			},
			engine.ENOTFOUND, "queue the region run of session s1 in 111122223333/us-east-1: "},
		{"sns denied", "sns.Publish", queryError(403, "AuthorizationError", "User is not authorized to perform: SNS:Publish"),
			func(c *Cloud) error { return c.Notifier(topicArn).SessionFinished(bg(), sampleNotice()) },
			engine.EDENIED, "publish the result of session prod-efs#2024-05-14T02:00:00Z to " + topicArn + ": "},
		{"sns missing topic", "sns.Publish", queryError(404, "NotFound", "Topic does not exist"),
			func(c *Cloud) error { return c.Notifier(topicArn).SessionFinished(bg(), sampleNotice()) },
			engine.ENOTFOUND, "publish the result of session "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.on(tc.op, func(call, int) reply { return tc.rep })
			err := tc.run(testCloud(t, f, func(c *Config) { c.MaxAttempts = 2 }))
			if got := engine.ErrorCode(err); got != tc.code {
				t.Errorf("code %q, want %q; err = %v", got, tc.code, err)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Errorf("message %q, want prefix %q", err, tc.prefix)
			}
			var ee *engine.Error
			if errors.As(err, &ee) && ee.Err == nil {
				t.Errorf("the SDK error must stay in the chain: %#v", ee)
			}
		})
	}
}

func TestNoAnswerIsUnavailable(t *testing.T) {
	f := newFake(t)
	c := testCloud(t, f, func(c *Config) { c.MaxAttempts = 2 })
	f.srv.Close() // connection refused from now on
	_, err := c.Backup().EFSOptIn(bg(), use1)
	if engine.ErrorCode(err) != engine.EUNAVAIL {
		t.Errorf("code %s, want %s: %v", engine.ErrorCode(err), engine.EUNAVAIL, err)
	}
}

func TestWrapKeepsEngineCodes(t *testing.T) {
	inner := engine.Errorf(engine.EINVALID, "no Region given")
	err := wrap(inner, "list vaults in %s", "x")
	if engine.ErrorCode(err) != engine.EINVALID || err.Error() != "list vaults in x: no Region given" {
		t.Errorf("wrap = %v (%s)", err, engine.ErrorCode(err))
	}
	if wrap(nil, "x") != nil {
		t.Error("wrap(nil) must be nil")
	}
}
