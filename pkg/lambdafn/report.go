package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/efskeeper/efskeeper/pkg/notify"
)

// FnReport is the daily report function's name.
const FnReport = "report"

// The report function's row of the deployment contract: it reads the
// table, publishes to the topic and assumes the member role to list file
// systems in member accounts.
func init() {
	Contract[FnReport] = []string{VarTable, VarTopicARN, VarMemberRoleName}
}

// Report returns the report function's handler (daily, EventBridge
// Scheduler): it publishes the daily report. Like the other scheduled
// functions it ignores the schedule's payload except for the log line,
// and returns an error (so that Lambda retries) only for failures that may
// pass by themselves.
func Report(rp *notify.Reporter) func(context.Context, json.RawMessage) (notify.ReportResult, error) {
	log := rp.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, payload json.RawMessage) (notify.ReportResult, error) {
		res, err := rp.Run(ctx)
		attrs := append([]any{"policies", res.Policies, "sessions", res.Sessions, "points", res.Points,
			"unprotected", res.Unprotected, "problems", res.Problems, "status", string(res.Status)}, triggerAttrs(payload)...)
		if err == nil {
			log.InfoContext(ctx, FnReport+" done", attrs...)
		}
		return res, retryOrLog(ctx, log, FnReport, err)
	}
}

// WireReport builds the report use-case from the function's environment:
// the engine's store and AWS adapters (Wire) and the SNS topic as the
// publisher. Restore sessions are left out of the report until the
// DynamoDB store keeps them.
func WireReport(ctx context.Context, env Env) (*notify.Reporter, error) {
	e, err := Wire(ctx, env)
	if err != nil {
		return nil, err
	}
	pub, ok := e.Notifier.(notify.Publisher)
	if !ok {
		return nil, fmt.Errorf("%s: the notifier %T cannot publish a report", env.Function, e.Notifier)
	}
	return &notify.Reporter{Store: e.Store, FileSystems: e.FileSystems, Org: e.Org, Publisher: pub, Clock: e.Clock, Log: e.Log}, nil
}

// MustWireReport is LoadEnv and WireReport for the report function's main;
// on failure it writes the error to stderr and exits, as MustWire does.
func MustWireReport() *notify.Reporter {
	env, err := LoadEnv(FnReport)
	if err == nil {
		var rp *notify.Reporter
		if rp, err = WireReport(context.Background(), env); err == nil {
			return rp
		}
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
	return nil
}
