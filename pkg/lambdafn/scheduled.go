package lambdafn

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// The scheduled functions take the schedule's input as json.RawMessage:
// EventBridge Scheduler sends whatever the schedule's Input is, or, without
// one, its default notification (an EventBridge-style envelope whose detail
// is the string "{}"). Nothing in it changes what the use-case does; the
// envelope's time and schedule ARN only go into the log.

// Tick returns the tick function's handler (every minute): it starts the
// sessions of due policies.
func Tick(e *engine.Engine) func(context.Context, json.RawMessage) (engine.TickResult, error) {
	return scheduled(e, FnTick, e.Tick, func(r engine.TickResult) (bool, []any) {
		return r.Policies > 0, []any{"policies", r.Policies, "sessions", r.Sessions}
	})
}

// Reconcile returns the reconcile function's handler (every 15 minutes): it
// reads back quiet jobs, starts due retries and resends or gives up
// unfinished region runs.
func Reconcile(e *engine.Engine) func(context.Context, json.RawMessage) (engine.ReconcileResult, error) {
	return scheduled(e, FnReconcile, e.Reconcile, func(r engine.ReconcileResult) (bool, []any) {
		busy := r.JobsRead+r.JobsStarted+r.TimedOut+r.UnitsResent+r.UnitsGivenUp > 0
		return busy, []any{"tasksChecked", r.TasksChecked, "jobsRead", r.JobsRead, "jobsStarted", r.JobsStarted,
			"timedOut", r.TimedOut, "unitsResent", r.UnitsResent, "unitsGivenUp", r.UnitsGivenUp, "sessionsChecked", r.SessionsChecked}
	})
}

// Retention returns the retention function's handler (hourly): it deletes
// the expired restore points efskeeper made, or in a dry run lists them.
func Retention(e *engine.Engine) func(context.Context, json.RawMessage) (engine.RetentionResult, error) {
	return scheduled(e, FnRetention, e.Retention, func(r engine.RetentionResult) (bool, []any) {
		attrs := []any{"dryRun", e.Config.DryRun, "policies", r.Policies, "points", r.Points, "deleted", r.Deleted,
			"expired", r.Expired, "failed", r.Failed, "refused", r.Refused, "protected", r.Protected, "capped", r.Capped}
		if e.Config.DryRun {
			// The dry run's whole point is this list.
			attrs = append(attrs, "wouldDelete", r.WouldDelete)
		}
		return true, attrs
	})
}

// scheduled adapts a periodic use-case. summary says whether the run did
// anything worth an info line (a tick that found nothing due logs at debug,
// or every minute would add a line) and what to log.
func scheduled[R any](e *engine.Engine, name string, run func(context.Context) (R, error), summary func(R) (bool, []any)) func(context.Context, json.RawMessage) (R, error) {
	return func(ctx context.Context, payload json.RawMessage) (R, error) {
		res, err := run(ctx)
		busy, attrs := summary(res)
		attrs = append(attrs, triggerAttrs(payload)...)
		level := slog.LevelDebug
		if busy {
			level = slog.LevelInfo
		}
		e.Log.Log(ctx, level, name+" done", attrs...)
		return res, retryOrLog(ctx, e.Log, name, err)
	}
}

// retryOrLog returns err when a Lambda retry may succeed, and otherwise
// logs it and returns nil: the next scheduled run redoes the work, and a
// retry of a failure that needs an admin only repeats the same error.
func retryOrLog(ctx context.Context, log *slog.Logger, name string, err error) error {
	if err == nil {
		return nil
	}
	if WorthRetry(err) {
		log.ErrorContext(ctx, name+" failed; Lambda retries it", "error", err.Error())
		return err
	}
	log.ErrorContext(ctx, name+" failed; not retried, the next scheduled run tries again", "error", err.Error(), "code", engine.ErrorCode(err))
	return nil
}

// WorthRetry reports whether err, or any error joined into it, may pass by
// itself: throttling, an unavailable dependency, or an error without an
// engine code (unexpected, so possibly passing; so is a conflict that
// survived the engine's own re-reads). Errors an admin must fix (invalid,
// denied, not found, precondition) are not worth a retry.
func WorthRetry(err error) bool {
	if err == nil {
		return false
	}
	if ee, ok := err.(*engine.Error); ok {
		switch ee.Code {
		case engine.EINVALID, engine.EDENIED, engine.ENOTFOUND, engine.EPRECONDITION:
			return false
		}
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, child := range u.Unwrap() {
			if WorthRetry(child) {
				return true
			}
		}
		return false
	case interface{ Unwrap() error }:
		if child := u.Unwrap(); child != nil {
			return WorthRetry(child)
		}
	}
	return true
}

// triggerAttrs picks the time and the schedule ARN from a Scheduler or
// EventBridge envelope, if the payload is one.
func triggerAttrs(payload json.RawMessage) []any {
	var env struct {
		Time      string   `json:"time"`
		Resources []string `json:"resources"`
	}
	if json.Unmarshal(payload, &env) != nil {
		return nil
	}
	var attrs []any
	if env.Time != "" {
		attrs = append(attrs, "scheduledTime", env.Time)
	}
	if len(env.Resources) > 0 {
		attrs = append(attrs, "schedule", env.Resources[0])
	}
	return attrs
}
