package awscloud

import (
	"fmt"
	"strings"
	"time"
)

// Default role names, the same in every account (one StackSet makes them).
const (
	DefaultBackupRoleName = "efskeeper-backup"
	DefaultMemberRoleName = "efskeeper-member"
)

// Config says how a Cloud reaches AWS.
type Config struct {
	// HomeRegion is the Region of the calls that are not per Region:
	// sts:AssumeRole, Organizations, SQS. Default: the aws.Config's Region.
	HomeRegion string
	// HomeAccount is the account whose credentials the Cloud was built
	// with. Empty: asked once from sts:GetCallerIdentity.
	HomeAccount string
	// BackupRoleName is the role AWS Backup assumes to run jobs
	// (BackupRoleArn). Default DefaultBackupRoleName.
	BackupRoleName string
	// MemberRoleName is the role efskeeper assumes in member accounts.
	// Default DefaultMemberRoleName.
	MemberRoleName string
	// Function names the caller (a Lambda function such as "regionrun");
	// assumed-role sessions are called "efskeeper-<Function>" so that
	// CloudTrail tells the functions apart. Default "efskeeper".
	Function string
	// Endpoint, when set, is the base URL of every service (tests point it
	// at a local server). Production leaves it empty.
	Endpoint string
	// MaxAttempts is the SDK's attempts per call, throttling included.
	// Default 8: AWS Backup and Organizations throttle at a few calls per
	// second and a region run makes bursts of calls.
	MaxAttempts int
	// MaxBackoff caps the delay between two attempts. Default 20 s (the
	// SDK's); tests make it tiny.
	MaxBackoff time.Duration
	// CredentialsExpiryWindow is how long before expiry assumed-role
	// credentials are refreshed. Default 5 minutes, so that a call never
	// leaves with credentials that expire on the way.
	CredentialsExpiryWindow time.Duration
	// Concurrency bounds the parallel mount-target calls of
	// ListFileSystems. Default 4.
	Concurrency int
}

func (c Config) withDefaults(region string) Config {
	if c.HomeRegion == "" {
		c.HomeRegion = region
	}
	if c.BackupRoleName == "" {
		c.BackupRoleName = DefaultBackupRoleName
	}
	if c.MemberRoleName == "" {
		c.MemberRoleName = DefaultMemberRoleName
	}
	if c.Function == "" {
		c.Function = "efskeeper"
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 20 * time.Second
	}
	if c.CredentialsExpiryWindow <= 0 {
		c.CredentialsExpiryWindow = 5 * time.Minute
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	return c
}

// sessionName is the RoleSessionName of assumed-role sessions: at most 64
// characters of [\w+=,.@-].
func (c Config) sessionName() string {
	name := c.Function
	if !strings.HasPrefix(name, "efskeeper") {
		name = "efskeeper-" + name
	}
	b := []byte(name)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			strings.IndexByte("_+=,.@-", ch) >= 0
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

// Partition returns the ARN partition of a Region: aws-cn for China,
// aws-us-gov for GovCloud, the ISO partitions for theirs, aws otherwise.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eu-isoe-"):
		return "aws-iso-e"
	case strings.HasPrefix(region, "us-isof-"):
		return "aws-iso-f"
	}
	return "aws"
}

// roleArn is the ARN of a role in an account of the home partition.
func roleArn(partition, account, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, name)
}
