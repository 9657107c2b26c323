package lambdafn

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
)

// The index functions, as DESIGN.md's deployment contract names them.
const (
	FnIndexLaunch = "indexlaunch"
	FnIndexDone   = "indexdone"
)

// Variables only the index functions read (without EnvPrefix).
const (
	VarIndexBucket          = "INDEX_BUCKET"
	VarWorkerProfileName    = "WORKER_PROFILE_NAME"
	VarWorkerLaunchTemplate = "WORKER_LAUNCH_TEMPLATE"
	VarWorkerAssetBucket    = "WORKER_ASSET_BUCKET"
	VarWorkerAssetKey       = "WORKER_ASSET_KEY"
)

// DefaultWorkerName is the worker's instance profile and launch template
// name in every account.
const DefaultWorkerName = "efskeeper-worker"

// IndexContract is the deployment contract's "reads env" column for the
// index functions (the infra stack also gives indexlaunch
// WORKER_ASSET_BUCKET, where the worker binary lives). Env carries the
// variables all functions share; IndexEnv the rest.
var IndexContract = map[string][]string{
	FnIndexLaunch: {VarTable, VarIndexBucket, VarMemberRoleName, VarWorkerProfileName, VarWorkerLaunchTemplate, VarWorkerAssetBucket, VarWorkerAssetKey},
	FnIndexDone:   {VarTable, VarIndexBucket, VarTopicARN},
}

// IndexEnv is the configuration of indexlaunch and indexdone.
type IndexEnv struct {
	Env
	IndexBucket          string
	WorkerProfileName    string
	WorkerLaunchTemplate string
	WorkerAssetBucket    string
	WorkerAssetKey       string
}

// LoadIndexEnv reads an index function's environment from the process.
func LoadIndexEnv(function string) (IndexEnv, error) {
	return ParseIndexEnv(function, os.LookupEnv)
}

var (
	bucketName        = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	profileOrTemplate = regexp.MustCompile(`^[A-Za-z0-9+=,.@_()/-]{1,128}$`)
)

// indexVariables are the index functions' own variables: what each holds,
// its default and where it goes.
var indexVariables = map[string]struct {
	what string
	def  string
	re   *regexp.Regexp
	dst  func(*IndexEnv) *string
}{
	VarIndexBucket:          {"the name of the S3 bucket that holds indexes and worker results", "", bucketName, func(e *IndexEnv) *string { return &e.IndexBucket }},
	VarWorkerProfileName:    {"the name of the index worker's instance profile", DefaultWorkerName, profileOrTemplate, func(e *IndexEnv) *string { return &e.WorkerProfileName }},
	VarWorkerLaunchTemplate: {"the name of the index worker's launch template", DefaultWorkerName, profileOrTemplate, func(e *IndexEnv) *string { return &e.WorkerLaunchTemplate }},
	VarWorkerAssetBucket:    {"the S3 bucket that holds the worker binary", "", bucketName, func(e *IndexEnv) *string { return &e.WorkerAssetBucket }},
	VarWorkerAssetKey:       {"the object key of the worker binary", "", regexp.MustCompile(`^[^\x00-\x1f]+$`), func(e *IndexEnv) *string { return &e.WorkerAssetKey }},
}

// ParseIndexEnv reads the variables the deployment contract gives an index
// function through lookup, with the same rules as ParseEnv (defaults, a
// set but empty variable counts as unset, every problem reported at once).
func ParseIndexEnv(function string, lookup func(string) (string, bool)) (IndexEnv, error) {
	env := IndexEnv{Env: Env{Function: function, LogLevel: slog.LevelInfo}}
	need, ok := IndexContract[function]
	if !ok {
		return env, &EnvError{Function: function, Problems: []string{fmt.Sprintf("no index function %q in the deployment contract (known: indexlaunch, indexdone)", function)}}
	}
	var problems []string
	for _, name := range append(slices.Clone(need), VarLogLevel) {
		v, set := lookup(EnvPrefix + name)
		if v = strings.TrimSpace(v); !set {
			v = ""
		}
		if spec, own := indexVariables[name]; own {
			if v == "" {
				v = spec.def
			}
			switch {
			case v == "":
				problems = append(problems, fmt.Sprintf("%s%s is not set: it must hold %s", EnvPrefix, name, spec.what))
			case !spec.re.MatchString(v):
				problems = append(problems, fmt.Sprintf("%s%s=%q is not %s", EnvPrefix, name, v, spec.what))
			default:
				*spec.dst(&env) = v
			}
			continue
		}
		// A variable every function may read: ParseEnv's rule for it.
		spec := variables[name]
		if v == "" {
			if spec.def == "" {
				problems = append(problems, fmt.Sprintf("%s%s is not set: it must hold %s", EnvPrefix, name, spec.what))
				continue
			}
			v = spec.def
		}
		if err := spec.set(&env.Env, v); err != nil {
			problems = append(problems, fmt.Sprintf("%s%s=%q is not %s: %v", EnvPrefix, name, v, spec.what, err))
		}
	}
	if len(problems) > 0 {
		return env, &EnvError{Function: function, Problems: problems}
	}
	return env, nil
}
