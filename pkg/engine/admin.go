package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// AnyVersion, given as the expected version of an admin write, writes
// whatever version is stored: a request without If-Match.
const AnyVersion int64 = -1

// SavePolicy creates or replaces policy p.ID on behalf of an admin.
// ifVersion is the version the admin last read (its ETag): the write fails
// with EPRECONDITION and changes nothing unless it is still the stored one;
// 0 means "only if it does not exist yet", AnyVersion writes unconditionally.
// created reports whether the policy was new.
//
// The schedule restarts at the write: old runs of the new schedules are not
// caught up (see reschedule).
func (e *Engine) SavePolicy(ctx context.Context, p *policy.Policy, ifVersion int64) (rec *PolicyRecord, created bool, err error) {
	rec, err = e.adminWrite(ctx, p.ID, ifVersion, true, func(prev *PolicyRecord, now time.Time) *PolicyRecord {
		created = prev == nil
		next := &PolicyRecord{Policy: p, CreatedAt: now, Watermark: now}
		if prev != nil {
			next.Version, next.CreatedAt, next.Watermark = prev.Version, prev.CreatedAt, prev.Watermark
		}
		return next
	})
	return rec, created, err
}

// SetPolicyEnabled turns a policy on or off. Enabling restarts its schedule
// now: runs it missed while disabled are not caught up.
func (e *Engine) SetPolicyEnabled(ctx context.Context, id string, enabled bool, ifVersion int64) (*PolicyRecord, error) {
	return e.adminWrite(ctx, id, ifVersion, false, func(prev *PolicyRecord, _ time.Time) *PolicyRecord {
		prev.Policy.Enabled = enabled
		return prev
	})
}

// RemovePolicy deletes a policy record if ifVersion (or AnyVersion) allows.
// Its sessions, tasks and restore points stay; retention no longer expires
// the points of a deleted policy (it cannot know their rules any more).
func (e *Engine) RemovePolicy(ctx context.Context, id string, ifVersion int64) error {
	for attempt := 0; attempt < 8; attempt++ {
		cur, err := e.Store.GetPolicy(ctx, id)
		if err != nil {
			return fmt.Errorf("delete policy %s: %w", id, err)
		}
		if err := checkIfVersion(id, cur.Version, ifVersion); err != nil {
			return err
		}
		err = e.Store.DeletePolicy(ctx, id, cur.Version)
		switch {
		case err == nil:
			e.logFor(id, "", Loc{}, "").Info("policy deleted by an admin", "version", cur.Version)
			return nil
		case IsNotFound(err):
			return fmt.Errorf("delete policy %s: %w", id, err)
		case !IsConflict(err):
			return fmt.Errorf("delete policy %s: %w", id, err)
		case ifVersion != AnyVersion:
			return staleVersion(id, ifVersion, err)
		}
	}
	return Errorf(ECONFLICT, "delete policy %s: gave up after repeated concurrent updates; try again", id)
}

// adminWrite reads the policy, checks ifVersion, lets change build the new
// record (prev is nil for a policy that does not exist, which only
// creatable writes accept), reschedules it and writes it conditionally.
// Without an expected version a lost race is retried; with one it is the
// admin's stale read and fails with EPRECONDITION.
func (e *Engine) adminWrite(ctx context.Context, id string, ifVersion int64, creatable bool, change func(prev *PolicyRecord, now time.Time) *PolicyRecord) (*PolicyRecord, error) {
	for attempt := 0; attempt < 8; attempt++ {
		now := e.now()
		prev, err := e.Store.GetPolicy(ctx, id)
		switch {
		case err == nil:
		case IsNotFound(err) && creatable:
			prev = nil
		default:
			return nil, fmt.Errorf("write policy %s: %w", id, err)
		}
		var stored int64
		if prev != nil {
			stored = prev.Version
		}
		if err := checkIfVersion(id, stored, ifVersion); err != nil {
			return nil, err
		}
		rec := change(prev, now)
		reschedule(rec, now)
		err = e.Store.PutPolicy(ctx, rec)
		switch {
		case err == nil:
			e.logFor(id, "", Loc{}, "").Info("policy written by an admin", "version", rec.Version,
				"enabled", rec.Policy.Enabled, "nextRunAt", rec.NextRunAt)
			return rec, nil
		case !IsConflict(err):
			return nil, fmt.Errorf("write policy %s: %w", id, err)
		case ifVersion != AnyVersion:
			return nil, staleVersion(id, ifVersion, err)
		}
	}
	return nil, Errorf(ECONFLICT, "write policy %s: gave up after repeated concurrent updates; try again", id)
}

// reschedule restarts a policy's schedule at an admin's write: the
// watermark moves to now (runs of the new schedules before the write are
// not the admin's intent, and the tick would otherwise catch them up from a
// watermark that can be weeks old), NextRunAt is the first run after it, as
// the tick computes it, and retention looks at the policy again at its next
// pass, since the retention rules may have changed.
func reschedule(rec *PolicyRecord, now time.Time) {
	if now.After(rec.Watermark) {
		rec.Watermark = now
	}
	rec.NextRunAt = nextRunAt(rec.Policy, rec.Watermark)
	rec.RetentionDueAt = time.Time{}
	rec.UpdatedAt = now
}

func checkIfVersion(id string, stored, want int64) error {
	switch {
	case want == AnyVersion || want == stored:
		return nil
	case stored == 0:
		return Errorf(EPRECONDITION, "policy %s does not exist, but the request expects version %d; create it without If-Match", id, want)
	case want == 0:
		return Errorf(EPRECONDITION, "policy %s already exists at version %d; send If-Match with its ETag to replace it", id, stored)
	default:
		return Errorf(EPRECONDITION, "policy %s is at version %d, not %d: someone changed it since you read it; read it again and reapply your change", id, stored, want)
	}
}

func staleVersion(id string, want int64, cause error) error {
	return &Error{Code: EPRECONDITION, Err: cause,
		Message: fmt.Sprintf("policy %s changed while version %d was being replaced; read it again and reapply your change", id, want)}
}
