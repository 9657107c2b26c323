package lambdafn

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// EnvPrefix starts every variable a function reads.
const EnvPrefix = "EFSKEEPER_"

// Function names, as DESIGN.md's deployment contract and the build name them.
const (
	FnTick      = "tick"
	FnRegionRun = "regionrun"
	FnJobEvents = "jobevents"
	FnReconcile = "reconcile"
	FnRetention = "retention"
)

// Variable names without EnvPrefix.
const (
	VarTable          = "TABLE"
	VarRegionQueueURL = "REGION_QUEUE_URL"
	VarIndexQueueURL  = "INDEX_QUEUE_URL"
	VarTopicARN       = "TOPIC_ARN"
	VarBackupRoleName = "BACKUP_ROLE_NAME"
	VarMemberRoleName = "MEMBER_ROLE_NAME"
	VarMaxDeletes     = "MAX_DELETES"
	VarDryRun         = "DRY_RUN"
	VarLogLevel       = "LOG_LEVEL"
)

// Default role names, the same in every account (one StackSet makes them).
const (
	DefaultBackupRoleName = "efskeeper-backup"
	DefaultMemberRoleName = "efskeeper-member"
)

// Contract is the deployment contract's "reads env" column for the
// functions that exist: the variables each function must be given. Role
// names and LOG_LEVEL have defaults; every other listed variable is
// required, so that a function with a missing queue or topic fails at
// start-up with the variable's name instead of at its first send.
var Contract = map[string][]string{
	FnTick:      {VarTable, VarRegionQueueURL, VarTopicARN},
	FnRegionRun: {VarTable, VarBackupRoleName, VarMemberRoleName, VarTopicARN},
	FnJobEvents: {VarTable, VarIndexQueueURL, VarTopicARN, VarBackupRoleName, VarMemberRoleName},
	FnReconcile: {VarTable, VarRegionQueueURL, VarIndexQueueURL, VarTopicARN, VarBackupRoleName, VarMemberRoleName},
	FnRetention: {VarTable, VarMemberRoleName, VarMaxDeletes, VarDryRun},
}

// optional are variables a function reads when they are set although the
// contract does not list them.
var optional = map[string][]string{}

// Env is a function's configuration, read from its environment.
type Env struct {
	// Function is the function's name (FnTick...). It names the
	// assumed-role sessions in CloudTrail and every log line.
	Function       string
	Table          string
	RegionQueueURL string
	IndexQueueURL  string
	TopicARN       string
	BackupRoleName string
	MemberRoleName string
	// MaxDeletes caps the recovery points one retention run deletes.
	MaxDeletes int
	// DryRun makes retention list what it would delete, and delete nothing.
	DryRun   bool
	LogLevel slog.Level
}

// EnvError lists every problem of a function's environment, so that a
// deployer fixes them in one go.
type EnvError struct {
	Function string
	Problems []string
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("%s: the function's environment is not usable: %s", e.Function, strings.Join(e.Problems, "; "))
}

// LoadEnv reads the environment of the named function from the process.
func LoadEnv(function string) (Env, error) {
	return ParseEnv(function, os.LookupEnv)
}

// ParseEnv reads the variables the deployment contract gives function,
// through lookup (os.LookupEnv in production), applies the defaults and
// checks every value. A variable that is set but empty counts as unset.
func ParseEnv(function string, lookup func(string) (string, bool)) (Env, error) {
	env := Env{Function: function, LogLevel: slog.LevelInfo}
	need, ok := Contract[function]
	if !ok {
		return env, &EnvError{Function: function, Problems: []string{fmt.Sprintf("no function %q in the deployment contract (known: tick, regionrun, jobevents, reconcile, retention)", function)}}
	}
	var problems []string
	get := func(name string) (string, bool) {
		v, ok := lookup(EnvPrefix + name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	read := func(name string, required bool) {
		spec := variables[name]
		v, set := get(name)
		if !set {
			if spec.def == "" {
				if required {
					problems = append(problems, fmt.Sprintf("%s%s is not set: it must hold %s", EnvPrefix, name, spec.what))
				}
				return
			}
			v = spec.def
		}
		if err := spec.set(&env, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s%s=%q is not %s: %v", EnvPrefix, name, v, spec.what, err))
		}
	}
	for _, name := range need {
		read(name, true)
	}
	for _, name := range optional[function] {
		read(name, false)
	}
	read(VarLogLevel, false)
	if len(problems) > 0 {
		return env, &EnvError{Function: function, Problems: problems}
	}
	return env, nil
}

// variable describes one EFSKEEPER_ variable: what it holds (for error
// messages), its default and how it is checked and stored.
type variable struct {
	what string
	def  string
	set  func(e *Env, v string) error
}

var (
	tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	roleName  = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
)

var variables = map[string]variable{
	VarTable: {what: "the name of the DynamoDB table that keeps efskeeper's state", set: func(e *Env, v string) error {
		if !tableName.MatchString(v) && !isARN(v, "dynamodb", "table/") {
			return fmt.Errorf("a table name is 3-255 characters of A-Z a-z 0-9 _ . - (or a table ARN)")
		}
		e.Table = v
		return nil
	}},
	VarRegionQueueURL: {what: "the URL of the SQS queue of region runs", set: func(e *Env, v string) error {
		e.RegionQueueURL = v
		return checkQueueURL(v)
	}},
	VarIndexQueueURL: {what: "the URL of the SQS queue of index runs", set: func(e *Env, v string) error {
		e.IndexQueueURL = v
		return checkQueueURL(v)
	}},
	VarTopicARN: {what: "the ARN of the SNS topic that session results go to", set: func(e *Env, v string) error {
		if !isARN(v, "sns", "") {
			return fmt.Errorf("want arn:<partition>:sns:<region>:<account>:<topic>")
		}
		e.TopicARN = v
		return nil
	}},
	VarBackupRoleName: {what: "the name of the IAM role AWS Backup runs efskeeper's jobs with", def: DefaultBackupRoleName, set: func(e *Env, v string) error {
		e.BackupRoleName = v
		return checkRoleName(v)
	}},
	VarMemberRoleName: {what: "the name of the IAM role efskeeper assumes in member accounts", def: DefaultMemberRoleName, set: func(e *Env, v string) error {
		e.MemberRoleName = v
		return checkRoleName(v)
	}},
	VarMaxDeletes: {what: "the most restore points one retention run may delete, a whole number of at least 1", set: func(e *Env, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a whole number of at least 1 (set %s%s=true to delete nothing)", EnvPrefix, VarDryRun)
		}
		e.MaxDeletes = n
		return nil
	}},
	VarDryRun: {what: "whether retention only lists what it would delete (true or false)", set: func(e *Env, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		e.DryRun = b
		return nil
	}},
	VarLogLevel: {what: "a log level (debug, info, warn or error)", def: "info", set: func(e *Env, v string) error {
		return e.LogLevel.UnmarshalText([]byte(v))
	}},
}

func checkQueueURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("want https://sqs.<region>.amazonaws.com/<account>/<queue>")
	}
	return nil
}

func checkRoleName(v string) error {
	if !roleName.MatchString(v) {
		return fmt.Errorf("a role name is 1-64 characters of A-Z a-z 0-9 + = , . @ _ -")
	}
	return nil
}

// isARN reports whether v is an ARN of service whose resource starts with
// resourcePrefix.
func isARN(v, service, resourcePrefix string) bool {
	a, err := arn.Parse(v)
	return err == nil && a.Service == service && a.Region != "" && a.AccountID != "" &&
		a.Resource != "" && strings.HasPrefix(a.Resource, resourcePrefix)
}
