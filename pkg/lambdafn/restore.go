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

// ReconcileResult is what the reconcile function did for backups, restore
// sessions and index runs.
type ReconcileResult struct {
	Backups  engine.ReconcileResult        `json:"backups"`
	Restores engine.RestoreReconcileResult `json:"restores"`
	// IndexRunsExpired counts index runs whose worker never reported.
	IndexRunsExpired int `json:"indexRunsExpired"`
}

// newExpirer is the part of the indexer the reconcile function needs: it
// gives up on index runs past their deadline (a worker that never booted
// or could not write its result), with a warning on their sessions. Nil
// when the store keeps no index runs.
func newExpirer(e *engine.Engine) *engine.Indexer {
	runs, ok := e.Store.(engine.IndexStore)
	if !ok {
		return nil
	}
	return engine.NewIndexer(engine.Indexer{Store: e.Store, Runs: runs, Notifier: e.Notifier, Clock: e.Clock, Log: e.Log})
}

// ReconcileWithRestores is Reconcile that also reads back quiet restore
// jobs and expires index runs whose worker never reported. Each part runs
// even if another fails.
func ReconcileWithRestores(e *engine.Engine, r *engine.Restorer) func(context.Context, json.RawMessage) (ReconcileResult, error) {
	backups := Reconcile(e)
	expirer := newExpirer(e)
	return func(ctx context.Context, payload json.RawMessage) (ReconcileResult, error) {
		var res ReconcileResult
		var err1, err2, err3 error
		res.Backups, err1 = backups(ctx, payload)
		res.Restores, err2 = r.Reconcile(ctx)
		if err2 != nil {
			err2 = retryOrLog(ctx, e.Log, "reconcile restores", err2)
		}
		if expirer != nil {
			res.IndexRunsExpired, err3 = expirer.Expire(ctx)
			if err3 != nil {
				err3 = retryOrLog(ctx, e.Log, "expire index runs", err3)
			}
		}
		return res, errors.Join(err1, err2, err3)
	}
}
