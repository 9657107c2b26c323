package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/notify"
)

// NewRestorer builds the restore use-case on a wired engine's parts: the
// same store (which keeps restore sessions too), the AWS Backup adapter
// (which starts and reads restore jobs) and the topic (which gets the
// result mail).
func NewRestorer(e *engine.Engine) (*engine.Restorer, error) {
	store, ok := e.Store.(engine.RestoreStore)
	if !ok {
		return nil, fmt.Errorf("the store %T keeps no restore sessions", e.Store)
	}
	svc, ok := e.Backup.(engine.RestoreService)
	if !ok {
		return nil, fmt.Errorf("the AWS Backup adapter %T cannot restore", e.Backup)
	}
	r := engine.Restorer{Store: store, Service: svc, Clock: e.Clock, Log: e.Log}
	if pub, ok := e.Notifier.(notify.Publisher); ok {
		r.Notifier = notify.RestoreMailer{Publisher: pub}
	}
	r.Config = engine.DefaultRestoreConfig()
	r.Config.BackupRoleName = e.Config.BackupRoleName
	r.Config.MemberRoleName = e.Config.MemberRoleName
	r.Config.FunctionRolePrefix = e.Config.FunctionRolePrefix
	return engine.NewRestorer(r), nil
}

// MustWireWithRestores is MustWire for the functions that also drive
// restore sessions (jobevents and reconcile).
func MustWireWithRestores(function string) (*engine.Engine, *engine.Restorer) {
	e := MustWire(function)
	r, err := NewRestorer(e)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", function, err)) // wiring of our own types: a bug, not configuration
	}
	return e, r
}

// JobEventsWithRestores is JobEvents that also routes Restore Job State
// Change events to the restore sessions.
func JobEventsWithRestores(e *engine.Engine, r *engine.Restorer) func(context.Context, json.RawMessage) error {
	jobs := JobEvents(e)
	return func(ctx context.Context, payload json.RawMessage) error {
		u, err := awsevent.Parse(payload)
		if err != nil || u.Kind != engine.KindRestore {
			return jobs(ctx, payload) // logs and drops what does not parse
		}
		if err := r.Update(ctx, u); err != nil {
			e.Log.ErrorContext(ctx, "restore job event failed; Lambda retries it", "event", eventID(payload), "job", u.JobID,
				"state", string(u.State), "account", u.Loc.Account, "region", u.Loc.Region, "error", err.Error())
			return fmt.Errorf("restore job %s %s in %s: %w", u.JobID, u.State, u.Loc, err)
		}
		return nil
	}
}

// ReconcileResult is what the reconcile function did for backups and for
// restore sessions.
type ReconcileResult struct {
	Backups  engine.ReconcileResult        `json:"backups"`
	Restores engine.RestoreReconcileResult `json:"restores"`
}

// ReconcileWithRestores is Reconcile that also reads back quiet restore
// jobs. Both run even if one fails.
func ReconcileWithRestores(e *engine.Engine, r *engine.Restorer) func(context.Context, json.RawMessage) (ReconcileResult, error) {
	backups := Reconcile(e)
	return func(ctx context.Context, payload json.RawMessage) (ReconcileResult, error) {
		var res ReconcileResult
		var err1, err2 error
		res.Backups, err1 = backups(ctx, payload)
		res.Restores, err2 = r.Reconcile(ctx)
		if err2 != nil {
			err2 = retryOrLog(ctx, e.Log, "reconcile restores", err2)
		}
		return res, errors.Join(err1, err2)
	}
}
