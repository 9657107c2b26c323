package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
)

// Names that are the same in every account, so that one StackSet creates them
// and the functions find them without a lookup (DESIGN.md, "Deployment
// contract").
const (
	MemberRoleName     = "efskeeper-member"
	BackupRoleName     = "efskeeper-backup"
	WorkerName         = "efskeeper-worker" // role, instance profile and launch template
	FunctionRolePrefix = "efskeeper-fn-"    // home function roles; member roles trust only these
	EnvPrefix          = "EFSKEEPER_"
	IndexesPrefix      = "indexes/"
	ResultsPrefix      = "results/"
	// WorkerAMIParameter is the public SSM parameter of the latest Amazon
	// Linux 2023 arm64 AMI; launch templates resolve it at each launch.
	WorkerAMIParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
	// FailedSessionPattern matches the JSON log line a function writes when a
	// Session ends Failed; the metric filter behind the alarm counts it.
	FailedSessionPattern = `{ $.msg = "session finished" && $.status = "Failed" }`
)

// Environment variable names (without EnvPrefix) that functions read.
const (
	EnvTable                = "TABLE"
	EnvRegionQueueURL       = "REGION_QUEUE_URL"
	EnvIndexQueueURL        = "INDEX_QUEUE_URL"
	EnvTopicARN             = "TOPIC_ARN"
	EnvBackupRoleName       = "BACKUP_ROLE_NAME"
	EnvMemberRoleName       = "MEMBER_ROLE_NAME"
	EnvMaxDeletes           = "MAX_DELETES"
	EnvDryRun               = "DRY_RUN"
	EnvIndexBucket          = "INDEX_BUCKET"
	EnvWorkerProfileName    = "WORKER_PROFILE_NAME"
	EnvWorkerLaunchTemplate = "WORKER_LAUNCH_TEMPLATE"
	EnvWorkerAssetBucket    = "WORKER_ASSET_BUCKET"
	EnvWorkerAssetKey       = "WORKER_ASSET_KEY"
	EnvLogLevel             = "LOG_LEVEL"
)

// Function names, as in build/functions/<name>/bootstrap.
const (
	FnTick        = "tick"
	FnRegionRun   = "regionrun"
	FnJobEvents   = "jobevents"
	FnReconcile   = "reconcile"
	FnRetention   = "retention"
	FnIndexLaunch = "indexlaunch"
	FnIndexDone   = "indexdone"
	FnAPI         = "api"
	FnReport      = "report"
)

// FunctionSpec is one row of the deployment contract.
type FunctionSpec struct {
	Name    string
	Timeout time.Duration
	Memory  int // MiB
	// Env lists the variables (without EnvPrefix) the function reads; the
	// home stack sets exactly these plus LOG_LEVEL.
	Env []string
}

// Functions is the deployment contract's table. Timeouts also size the SQS
// visibility timeouts (six times the consumer's timeout).
var Functions = []FunctionSpec{
	{FnTick, 50 * time.Second, 256, []string{EnvTable, EnvRegionQueueURL, EnvTopicARN}},
	{FnRegionRun, 5 * time.Minute, 256, []string{EnvTable, EnvBackupRoleName, EnvMemberRoleName, EnvTopicARN}},
	{FnJobEvents, time.Minute, 256, []string{EnvTable, EnvIndexQueueURL, EnvTopicARN, EnvBackupRoleName, EnvMemberRoleName}},
	{FnReconcile, 5 * time.Minute, 256, []string{EnvTable, EnvRegionQueueURL, EnvIndexQueueURL, EnvTopicARN, EnvBackupRoleName, EnvMemberRoleName}},
	{FnRetention, 10 * time.Minute, 256, []string{EnvTable, EnvMemberRoleName, EnvMaxDeletes, EnvDryRun}},
	{FnIndexLaunch, 2 * time.Minute, 256, []string{EnvTable, EnvIndexBucket, EnvMemberRoleName, EnvWorkerProfileName, EnvWorkerLaunchTemplate, EnvWorkerAssetBucket, EnvWorkerAssetKey}},
	{FnIndexDone, time.Minute, 256, []string{EnvTable, EnvIndexBucket, EnvTopicARN}},
	{FnAPI, 29 * time.Second, 512, []string{EnvTable, EnvIndexBucket, EnvRegionQueueURL, EnvTopicARN, EnvBackupRoleName, EnvMemberRoleName}},
	{FnReport, 2 * time.Minute, 256, []string{EnvTable, EnvTopicARN, EnvMemberRoleName}},
}

// FunctionByName returns the contract row of one function.
func FunctionByName(name string) (FunctionSpec, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return FunctionSpec{}, false
}

// Retention safety defaults the retention function starts with; an operator
// changes them on the function after reading a dry run.
const (
	DefaultMaxDeletes = "50"
	DefaultDryRun     = "false"
)

// backupJobDetailTypes are the AWS Backup events jobevents consumes.
var backupJobDetailTypes = []string{awsevent.DetailBackupJob, awsevent.DetailCopyJob, awsevent.DetailRestoreJob}

// AssetPaths are the files the stacks upload from the asset directory: each
// function's bootstrap and the worker binary.
func AssetPaths(dir string) []string {
	var out []string
	for _, f := range Functions {
		out = append(out, filepath.Join(dir, "functions", f.Name, "bootstrap"))
	}
	return append(out, filepath.Join(dir, "worker", "efskeeper-worker"))
}

// CheckAssets reports every missing asset at once, so that a synth before
// `make build` says what to do instead of failing deep inside CDK.
func CheckAssets(dir string) error {
	var missing []string
	for _, p := range AssetPaths(dir) {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing build outputs %v: run 'make build' (or set context %s to the directory holding functions/<name>/bootstrap and worker/efskeeper-worker)", missing, CtxAssetDir)
	}
	return nil
}
