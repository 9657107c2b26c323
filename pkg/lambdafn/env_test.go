package lambdafn

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/infra/stacks"
)

const (
	regionQueue = "https://sqs.eu-west-1.amazonaws.com/111122223333/efskeeper-region-runs"
	indexQueue  = "https://sqs.eu-west-1.amazonaws.com/111122223333/efskeeper-index-runs"
	topic       = "arn:aws:sns:eu-west-1:111122223333:efskeeper"
)

// fullEnv is what the home stack sets on a function (every variable).
func fullEnv() map[string]string {
	return map[string]string{
		"EFSKEEPER_TABLE":            "efskeeper",
		"EFSKEEPER_REGION_QUEUE_URL": regionQueue,
		"EFSKEEPER_INDEX_QUEUE_URL":  indexQueue,
		"EFSKEEPER_TOPIC_ARN":        topic,
		"EFSKEEPER_BACKUP_ROLE_NAME": "efskeeper-backup",
		"EFSKEEPER_MEMBER_ROLE_NAME": "efskeeper-member",
		"EFSKEEPER_MAX_DELETES":      "50",
		"EFSKEEPER_DRY_RUN":          "false",
		"EFSKEEPER_LOG_LEVEL":        "info",
	}
}

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name     string
		function string
		change   map[string]string // "" deletes the variable
		check    func(t *testing.T, e Env)
		wantErrs []string // substrings, each must appear
	}{
		{name: "tick, everything set", function: FnTick, check: func(t *testing.T, e Env) {
			if e.Table != "efskeeper" || e.RegionQueueURL != regionQueue || e.TopicARN != topic || e.LogLevel != slog.LevelInfo {
				t.Errorf("%+v", e)
			}
			if e.IndexQueueURL != "" || e.MaxDeletes != 0 {
				t.Errorf("tick read variables it does not use: %+v", e)
			}
		}},
		{name: "tick needs the topic", function: FnTick, change: map[string]string{"EFSKEEPER_TOPIC_ARN": ""},
			wantErrs: []string{"tick:", "EFSKEEPER_TOPIC_ARN is not set"}},
		{name: "missing table", function: FnRegionRun, change: map[string]string{"EFSKEEPER_TABLE": ""},
			wantErrs: []string{"regionrun:", "EFSKEEPER_TABLE is not set", "DynamoDB table"}},
		{name: "blank table counts as missing", function: FnTick, change: map[string]string{"EFSKEEPER_TABLE": "  "},
			wantErrs: []string{"EFSKEEPER_TABLE is not set"}},
		{name: "role defaults", function: FnRegionRun, change: map[string]string{"EFSKEEPER_BACKUP_ROLE_NAME": "", "EFSKEEPER_MEMBER_ROLE_NAME": "", "EFSKEEPER_LOG_LEVEL": ""},
			check: func(t *testing.T, e Env) {
				if e.BackupRoleName != "efskeeper-backup" || e.MemberRoleName != "efskeeper-member" || e.LogLevel != slog.LevelInfo {
					t.Errorf("%+v", e)
				}
			}},
		{name: "custom roles and debug", function: FnJobEvents, change: map[string]string{"EFSKEEPER_MEMBER_ROLE_NAME": "OrgBackup@ops", "EFSKEEPER_LOG_LEVEL": "DEBUG"},
			check: func(t *testing.T, e Env) {
				if e.MemberRoleName != "OrgBackup@ops" || e.LogLevel != slog.LevelDebug || e.IndexQueueURL != indexQueue {
					t.Errorf("%+v", e)
				}
			}},
		{name: "every problem at once", function: FnReconcile,
			change: map[string]string{"EFSKEEPER_REGION_QUEUE_URL": "", "EFSKEEPER_INDEX_QUEUE_URL": "efskeeper-index-runs",
				"EFSKEEPER_TOPIC_ARN": "arn:aws:sqs:eu-west-1:111122223333:efskeeper", "EFSKEEPER_MEMBER_ROLE_NAME": "no spaces allowed", "EFSKEEPER_LOG_LEVEL": "loud"},
			wantErrs: []string{"EFSKEEPER_REGION_QUEUE_URL is not set", `EFSKEEPER_INDEX_QUEUE_URL="efskeeper-index-runs"`,
				"EFSKEEPER_TOPIC_ARN", "EFSKEEPER_MEMBER_ROLE_NAME", "EFSKEEPER_LOG_LEVEL"}},
		{name: "retention", function: FnRetention, change: map[string]string{"EFSKEEPER_MAX_DELETES": "7", "EFSKEEPER_DRY_RUN": "TRUE"},
			check: func(t *testing.T, e Env) {
				if e.MaxDeletes != 7 || !e.DryRun || e.MemberRoleName != "efskeeper-member" {
					t.Errorf("%+v", e)
				}
			}},
		{name: "retention needs its cap", function: FnRetention, change: map[string]string{"EFSKEEPER_MAX_DELETES": ""},
			wantErrs: []string{"EFSKEEPER_MAX_DELETES is not set"}},
		{name: "a cap of zero", function: FnRetention, change: map[string]string{"EFSKEEPER_MAX_DELETES": "0"},
			wantErrs: []string{`EFSKEEPER_MAX_DELETES="0"`, "EFSKEEPER_DRY_RUN=true to delete nothing"}},
		{name: "dry run yes", function: FnRetention, change: map[string]string{"EFSKEEPER_DRY_RUN": "yes"},
			wantErrs: []string{`EFSKEEPER_DRY_RUN="yes"`, "true or false"}},
		{name: "table by ARN", function: FnTick, change: map[string]string{"EFSKEEPER_TABLE": "arn:aws:dynamodb:eu-west-1:111122223333:table/efskeeper"},
			check: func(t *testing.T, e Env) {
				if !strings.HasSuffix(e.Table, ":table/efskeeper") {
					t.Errorf("%+v", e)
				}
			}},
		{name: "table name with a slash", function: FnTick, change: map[string]string{"EFSKEEPER_TABLE": "a/b"},
			wantErrs: []string{`EFSKEEPER_TABLE="a/b"`}},
		{name: "unknown function", function: "indexlaunch", wantErrs: []string{`no function "indexlaunch"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := fullEnv()
			for k, v := range tt.change {
				if v == "" {
					delete(vars, k)
				} else {
					vars[k] = v
				}
			}
			e, err := ParseEnv(tt.function, lookupIn(vars))
			if len(tt.wantErrs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if e.Function != tt.function {
					t.Errorf("Function %q", e.Function)
				}
				tt.check(t, e)
				return
			}
			var envErr *EnvError
			if !errors.As(err, &envErr) {
				t.Fatalf("want an *EnvError, got %v", err)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tt.name == "every problem at once" && len(envErr.Problems) != 5 {
				t.Errorf("want 5 problems, got %q", envErr.Problems)
			}
		})
	}
}

// The variables each function requires are the ones the home stack gives
// it (infra/stacks/contract.go), so that a deployed function never lacks
// one and never reads one nobody sets.
func TestContractMatchesInfra(t *testing.T) {
	for fn, vars := range Contract {
		spec, ok := stacks.FunctionByName(fn)
		if !ok {
			t.Errorf("infra has no function %s", fn)
			continue
		}
		got := slices.Sorted(slices.Values(vars))
		want := slices.Sorted(slices.Values(spec.Env))
		if !slices.Equal(got, want) {
			t.Errorf("%s: lambdafn requires %v, the stack sets %v", fn, got, want)
		}
		for _, v := range optional[fn] {
			t.Logf("%s also reads %s%s when set (not in the contract; see the report)", fn, EnvPrefix, v)
		}
	}
	if stacks.EnvPrefix != EnvPrefix {
		t.Errorf("prefix %q vs %q", stacks.EnvPrefix, EnvPrefix)
	}
}
