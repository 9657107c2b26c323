package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

// JobEvents returns the jobevents function's handler. It takes the event as
// raw JSON so that awsevent.Parse sees AWS Backup's exact bytes (its detail
// types disagree in ways a typed decode would lose). Irrelevant events are
// dropped at debug level; malformed ones are logged at error level and
// dropped, since a retry would only fail again; a use-case error is
// returned, so that Lambda's async retries, then the dead-letter queue and
// the reconciler, take over.
func JobEvents(e *engine.Engine) func(context.Context, json.RawMessage) error {
	return func(ctx context.Context, payload json.RawMessage) error {
		u, err := awsevent.Parse(payload)
		if errors.Is(err, awsevent.ErrIrrelevant) {
			e.Log.DebugContext(ctx, "event ignored", "event", eventID(payload), "reason", err.Error())
			return nil
		}
		if err != nil {
			e.Log.ErrorContext(ctx, "event dropped: not a usable AWS Backup job event", "event", eventID(payload), "error", err.Error())
			return nil
		}
		attrs := []any{"event", eventID(payload), "kind", string(u.Kind), "job", u.JobID, "state", string(u.State),
			"account", u.Loc.Account, "region", u.Loc.Region}
		if err := e.HandleJobEvent(ctx, u); err != nil {
			e.Log.ErrorContext(ctx, "job event failed; Lambda retries it", append(attrs, "error", err.Error())...)
			return fmt.Errorf("%s job %s %s in %s: %w", u.Kind, u.JobID, u.State, u.Loc, err)
		}
		e.Log.DebugContext(ctx, "job event handled", attrs...)
		return nil
	}
}

// eventID returns the EventBridge event id, for log lines, or "" if the
// payload has none.
func eventID(payload json.RawMessage) string {
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload, &env)
	return env.ID
}
