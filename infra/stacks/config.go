// Package stacks defines the CloudFormation stacks that deploy efskeeper: the
// home stack (store, functions, queues, API, notifications, index bucket), one
// Region stack per additional Region of the home account, and the member stack
// that Organization accounts receive through StackSets.
package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Context keys the app reads (cdk.json, cdk.context.json or `cdk -c key=value`).
const (
	CtxHomeRegion         = "homeRegion"
	CtxRegions            = "regions"
	CtxNotificationEmails = "notificationEmails"
	CtxOrganizationID     = "organizationId"
	CtxMemberAccounts     = "memberAccounts"
	CtxReportTime         = "reportTime"
	CtxLogRetentionDays   = "logRetentionDays"
	CtxAssetDir           = "assetDir"
)

// Defaults for optional context values.
const (
	DefaultReportTime       = "07:00"
	DefaultLogRetentionDays = 90
	DefaultAssetDir         = "build"
)

// Config is the deployment configuration, read from CDK context. Every field
// is validated by Validate so that a typo fails the synth with the key to fix
// instead of producing a template that deploys the wrong thing.
type Config struct {
	// Account is the home account when known (CDK_DEFAULT_ACCOUNT); empty
	// synthesizes account-agnostic stacks.
	Account string
	// HomeRegion is where the home stack lives; empty synthesizes a
	// Region-agnostic home stack (only allowed without extra Regions).
	HomeRegion string
	// Regions are the Regions whose AWS Backup events efskeeper must see.
	// Every one except HomeRegion gets a Region stack.
	Regions []string
	// NotificationEmails are subscribed to the notification topic.
	NotificationEmails []string
	// OrganizationID enables Organization mode (o-xxxxxxxxxx).
	OrganizationID string
	// MemberAccounts are accounts outside an Organization that run the member
	// stack (account-mode policies on another account than the home one).
	MemberAccounts []string
	// ReportHour and ReportMinute are when the daily report runs, in UTC.
	ReportHour, ReportMinute int
	// LogRetentionDays is the retention of every log group and of the S3
	// server access logs.
	LogRetentionDays int
	// AssetDir holds functions/<name>/bootstrap and worker/efskeeper-worker.
	AssetDir string
}

// ContextReader is the part of constructs.Node that ConfigFromContext uses.
type ContextReader interface {
	TryGetContext(key *string) interface{}
}

// ConfigFromContext reads and validates the configuration. account and
// defaultRegion come from the environment (CDK_DEFAULT_ACCOUNT,
// CDK_DEFAULT_REGION) and fill in what the context leaves out.
func ConfigFromContext(node ContextReader, account, defaultRegion string) (Config, error) {
	get := func(key string) interface{} { return node.TryGetContext(&key) }
	var errs []string
	fail := func(key string, err error) { errs = append(errs, fmt.Sprintf("context %s: %v", key, err)) }

	cfg := Config{Account: account, LogRetentionDays: DefaultLogRetentionDays, AssetDir: DefaultAssetDir}
	var err error
	if cfg.HomeRegion, err = contextString(get(CtxHomeRegion)); err != nil {
		fail(CtxHomeRegion, err)
	}
	if cfg.HomeRegion == "" {
		cfg.HomeRegion = defaultRegion
	}
	if cfg.Regions, err = ContextList(get(CtxRegions)); err != nil {
		fail(CtxRegions, err)
	}
	if cfg.NotificationEmails, err = ContextList(get(CtxNotificationEmails)); err != nil {
		fail(CtxNotificationEmails, err)
	}
	if cfg.OrganizationID, err = contextString(get(CtxOrganizationID)); err != nil {
		fail(CtxOrganizationID, err)
	}
	if cfg.MemberAccounts, err = ContextList(get(CtxMemberAccounts)); err != nil {
		fail(CtxMemberAccounts, err)
	}
	reportTime, err := contextString(get(CtxReportTime))
	if err != nil {
		fail(CtxReportTime, err)
	}
	if reportTime == "" {
		reportTime = DefaultReportTime
	}
	if h, m, err := ParseClock(reportTime); err != nil {
		fail(CtxReportTime, err)
	} else {
		cfg.ReportHour, cfg.ReportMinute = h, m
	}
	if v := get(CtxLogRetentionDays); v != nil {
		if n, err := contextInt(v); err != nil {
			fail(CtxLogRetentionDays, err)
		} else {
			cfg.LogRetentionDays = n
		}
	}
	if dir, err := contextString(get(CtxAssetDir)); err != nil {
		fail(CtxAssetDir, err)
	} else if dir != "" {
		cfg.AssetDir = dir
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	emailRE   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// logRetentionDays are the retentions CloudWatch Logs accepts, in days, with
// the CDK enum member of each.
var logRetentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Validate reports every invalid value at once, each with its context key.
func (c Config) Validate() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.Account != "" && !accountRE.MatchString(c.Account) {
		add("account %q: want 12 digits", c.Account)
	}
	if c.HomeRegion != "" && !regionRE.MatchString(c.HomeRegion) {
		add("context %s %q: not a Region code such as eu-west-1", CtxHomeRegion, c.HomeRegion)
	}
	seen := map[string]bool{}
	for i, r := range c.Regions {
		switch {
		case !regionRE.MatchString(r):
			add("context %s[%d] %q: not a Region code such as eu-west-1", CtxRegions, i, r)
		case seen[r]:
			add("context %s[%d] %q: listed twice", CtxRegions, i, r)
		}
		seen[r] = true
	}
	if c.HomeRegion == "" && len(c.ExtraRegions()) > 0 {
		add("context %s: required when %s names other Regions (the Region stacks forward events to it)", CtxHomeRegion, CtxRegions)
	}
	for i, e := range c.NotificationEmails {
		if !emailRE.MatchString(e) {
			add("context %s[%d] %q: not an email address", CtxNotificationEmails, i, e)
		}
	}
	if c.OrganizationID != "" && !orgRE.MatchString(c.OrganizationID) {
		add("context %s %q: want o- followed by 10 to 32 lowercase letters or digits", CtxOrganizationID, c.OrganizationID)
	}
	for i, a := range c.MemberAccounts {
		if !accountRE.MatchString(a) {
			add("context %s[%d] %q: want 12 digits", CtxMemberAccounts, i, a)
		}
	}
	if c.ReportHour < 0 || c.ReportHour > 23 || c.ReportMinute < 0 || c.ReportMinute > 59 {
		add("context %s: %02d:%02d is not a time of day", CtxReportTime, c.ReportHour, c.ReportMinute)
	}
	if _, ok := logRetentionDays[c.LogRetentionDays]; !ok {
		add("context %s %d: CloudWatch Logs accepts one of %v", CtxLogRetentionDays, c.LogRetentionDays, slices.Sorted(maps.Keys(logRetentionDays)))
	}
	if c.AssetDir == "" {
		add("context %s: empty", CtxAssetDir)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// ExtraRegions are the configured Regions other than the home Region: each
// one gets a Region stack.
func (c Config) ExtraRegions() []string {
	var out []string
	for _, r := range c.Regions {
		if r != c.HomeRegion {
			out = append(out, r)
		}
	}
	return out
}

// ContextList accepts a list the way each context source delivers it: a JSON
// array from cdk.json or cdk.context.json, or a string from `-c key=value`
// holding either a JSON array or comma-separated items. Blank items are
// dropped; nil is an empty list.
func ContextList(v interface{}) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []interface{}:
		out := make([]string, 0, len(t))
		for i, item := range t {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("item %d is %T, want a string", i, item)
			}
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case string:
		s := strings.TrimSpace(t)
		if strings.HasPrefix(s, "[") {
			var items []interface{}
			if err := json.Unmarshal([]byte(s), &items); err != nil {
				return nil, fmt.Errorf("not a JSON array of strings: %w", err)
			}
			return ContextList(items)
		}
		var out []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("is %T, want a list of strings", v)
	}
}

func contextString(v interface{}) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(t), nil
	default:
		return "", fmt.Errorf("is %T, want a string", v)
	}
}

func contextInt(v interface{}) (int, error) {
	switch t := v.(type) {
	case float64:
		if t != float64(int(t)) {
			return 0, fmt.Errorf("%v is not a whole number", t)
		}
		return int(t), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", t)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("is %T, want a number", v)
	}
}

// ParseClock parses a 24-hour "HH:MM".
func ParseClock(s string) (hour, minute int, err error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, 0, fmt.Errorf("%q: want HH:MM", s)
	}
	hour, errH := strconv.Atoi(h)
	minute, errM := strconv.Atoi(m)
	if errH != nil || errM != nil || h[0] == '+' || h[0] == '-' || m[0] == '+' || m[0] == '-' ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, 0, fmt.Errorf("%q: want HH:MM between 00:00 and 23:59", s)
	}
	return hour, minute, nil
}
