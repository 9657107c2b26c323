package awscloud

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Cloud creates and keeps the SDK clients of every (account, Region) it is
// asked about, and the assumed-role credentials of every member account.
// It is safe for concurrent use; a Lambda keeps one for its lifetime.
type Cloud struct {
	cfg       Config
	base      aws.Config
	partition string

	sts  *sts.Client
	org  *organizations.Client
	sqs  *sqs.Client
	snsM sync.Mutex
	sns  map[string]*sns.Client // by Region: a topic's Region is in its ARN

	homeMu  sync.Mutex
	homeAcc string

	creds   sync.Map // account -> aws.CredentialsProvider (a cache per member account)
	clients sync.Map // engine.Loc -> *locClients
}

// locClients are the clients of one (account, Region).
type locClients struct {
	backup *backup.Client
	efs    *efs.Client
}

// Load builds a Cloud from the default credential chain (the Lambda's
// role), as functions do at start-up.
func Load(ctx context.Context, cfg Config) (*Cloud, error) {
	opts := []func(*config.LoadOptions) error{}
	if cfg.HomeRegion != "" {
		opts = append(opts, config.WithRegion(cfg.HomeRegion))
	}
	base, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, engine.Errorf(engine.EINTERNAL, "load AWS configuration: %v", err)
	}
	return New(base, cfg)
}

// New builds a Cloud on an aws.Config whose credentials are the home
// account's. Its Region is the home Region unless cfg.HomeRegion says
// otherwise. New makes no AWS call.
func New(base aws.Config, cfg Config) (*Cloud, error) {
	cfg = cfg.withDefaults(base.Region)
	if cfg.HomeRegion == "" {
		return nil, engine.Errorf(engine.EINVALID, "awscloud: no home Region (set Config.HomeRegion or the aws.Config Region)")
	}
	base = base.Copy()
	base.Region = cfg.HomeRegion
	maxAttempts, maxBackoff := cfg.MaxAttempts, cfg.MaxBackoff
	base.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = maxBackoff
			o.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
			// The default token bucket fails calls once many retries
			// happened in a row: exactly when a burst of StartBackupJob
			// calls is throttled. Backoff alone spaces them out.
			o.RateLimiter = ratelimit.None
		})
	}
	c := &Cloud{
		cfg:       cfg,
		base:      base,
		partition: Partition(cfg.HomeRegion),
		sns:       map[string]*sns.Client{},
		homeAcc:   cfg.HomeAccount,
	}
	c.sts = sts.NewFromConfig(base, func(o *sts.Options) { o.BaseEndpoint = c.endpoint() })
	c.org = organizations.NewFromConfig(base, func(o *organizations.Options) { o.BaseEndpoint = c.endpoint() })
	c.sqs = sqs.NewFromConfig(base, func(o *sqs.Options) { o.BaseEndpoint = c.endpoint() })
	return c, nil
}

func (c *Cloud) endpoint() *string {
	if c.cfg.Endpoint == "" {
		return nil
	}
	return aws.String(c.cfg.Endpoint)
}

// Partition returns the ARN partition of the home Region.
func (c *Cloud) Partition() string { return c.partition }

// BackupRoleArn returns the ARN of the role AWS Backup assumes in an
// account (Config.BackupRoleName): the IamRoleArn of Start*Job requests.
func (c *Cloud) BackupRoleArn(account string) string {
	return roleArn(c.partition, account, c.cfg.BackupRoleName)
}

// MemberRoleArn returns the ARN of the role efskeeper assumes in a member
// account (Config.MemberRoleName).
func (c *Cloud) MemberRoleArn(account string) string {
	return roleArn(c.partition, account, c.cfg.MemberRoleName)
}

// HomeAccount returns the account of the Cloud's own credentials, from
// Config or, once, from sts:GetCallerIdentity. A failed lookup is retried
// on the next call.
func (c *Cloud) HomeAccount(ctx context.Context) (string, error) {
	c.homeMu.Lock()
	defer c.homeMu.Unlock()
	if c.homeAcc != "" {
		return c.homeAcc, nil
	}
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", wrap(err, "find the home account (sts:GetCallerIdentity)")
	}
	c.homeAcc = aws.ToString(out.Account)
	return c.homeAcc, nil
}

// credentials returns the credentials for calls into an account: the
// Cloud's own for the home account, an assumed member role otherwise.
func (c *Cloud) credentials(ctx context.Context, account string) (aws.CredentialsProvider, error) {
	if account == "" {
		return nil, engine.Errorf(engine.EINVALID, "no account given")
	}
	home, err := c.HomeAccount(ctx)
	if err != nil {
		return nil, err
	}
	if account == home {
		return c.base.Credentials, nil
	}
	if p, ok := c.creds.Load(account); ok {
		return p.(aws.CredentialsProvider), nil
	}
	arn := c.MemberRoleArn(account)
	assume := stscreds.NewAssumeRoleProvider(c.sts, arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = c.cfg.sessionName()
	})
	window := c.cfg.CredentialsExpiryWindow
	p := aws.NewCredentialsCache(namedProvider{assume, arn, account}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = window
	})
	actual, _ := c.creds.LoadOrStore(account, p)
	return actual.(aws.CredentialsProvider), nil
}

// namedProvider says which role could not be assumed: the SDK's own error
// names only the STS operation.
type namedProvider struct {
	p       aws.CredentialsProvider
	arn     string
	account string
}

func (n namedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	cr, err := n.p.Retrieve(ctx)
	if err != nil {
		return cr, fmt.Errorf("assume role %s in account %s (does the member stack exist there?): %w", n.arn, n.account, err)
	}
	return cr, nil
}

// at returns the clients of one (account, Region), creating them once.
func (c *Cloud) at(ctx context.Context, l engine.Loc) (*locClients, error) {
	if v, ok := c.clients.Load(l); ok {
		return v.(*locClients), nil
	}
	if l.Region == "" {
		return nil, engine.Errorf(engine.EINVALID, "no Region given for account %q", l.Account)
	}
	creds, err := c.credentials(ctx, l.Account)
	if err != nil {
		return nil, err
	}
	cfg := c.base.Copy()
	cfg.Region = l.Region
	cfg.Credentials = creds
	lc := &locClients{
		backup: backup.NewFromConfig(cfg, func(o *backup.Options) { o.BaseEndpoint = c.endpoint() }),
		efs:    efs.NewFromConfig(cfg, func(o *efs.Options) { o.BaseEndpoint = c.endpoint() }),
	}
	v, _ := c.clients.LoadOrStore(l, lc)
	return v.(*locClients), nil
}

// snsIn returns the home account's SNS client for a Region.
func (c *Cloud) snsIn(region string) *sns.Client {
	c.snsM.Lock()
	defer c.snsM.Unlock()
	if cl, ok := c.sns[region]; ok {
		return cl
	}
	cfg := c.base.Copy()
	cfg.Region = region
	cl := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = c.endpoint() })
	c.sns[region] = cl
	return cl
}
