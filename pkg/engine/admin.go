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
	rec, err = writeVersioned(ctx, e.policyRecords(p.ID), ifVersion, true, e.now, func(prev *PolicyRecord, now time.Time) *PolicyRecord {
		created = prev == nil
		next := &PolicyRecord{Policy: p, CreatedAt: now, Watermark: now, RulesChangedAt: now}
		if prev != nil {
			next.Version, next.CreatedAt, next.Watermark = prev.Version, prev.CreatedAt, prev.Watermark
			// Retention sweeps again only if the rules differ from these.
			next.RetentionRules = prev.RetentionRules
			if prev.Policy.RulesDigest() == p.RulesDigest() {
				next.RulesChangedAt = prev.RulesChangedAt
			}
		}
		reschedule(next, now)
		return next
	})
	if err == nil {
		e.logFor(p.ID, "", Loc{}, "").Info("policy written by an admin", "version", rec.Version, "enabled", p.Enabled, "nextRunAt", rec.NextRunAt)
	}
	return rec, created, err
}

// SetPolicyEnabled turns a policy on or off. Enabling restarts its schedule
// now: runs it missed while disabled are not caught up.
func (e *Engine) SetPolicyEnabled(ctx context.Context, id string, enabled bool, ifVersion int64) (*PolicyRecord, error) {
	rec, err := writeVersioned(ctx, e.policyRecords(id), ifVersion, false, e.now, func(prev *PolicyRecord, now time.Time) *PolicyRecord {
		prev.Policy.Enabled = enabled
		reschedule(prev, now)
		return prev
	})
	if err == nil {
		e.logFor(id, "", Loc{}, "").Info("policy enabled or disabled by an admin", "version", rec.Version, "enabled", enabled, "nextRunAt", rec.NextRunAt)
	}
	return rec, err
}

// RemovePolicy deletes a policy record if ifVersion (or AnyVersion) allows.
// Its sessions, tasks and restore points stay; retention no longer expires
// the points of a deleted policy (it cannot know their rules any more).
func (e *Engine) RemovePolicy(ctx context.Context, id string, ifVersion int64) error {
	err := deleteVersioned(ctx, e.policyRecords(id), ifVersion)
	if err == nil {
		e.logFor(id, "", Loc{}, "").Info("policy deleted by an admin")
	}
	return err
}

func (e *Engine) policyRecords(id string) versioned[*PolicyRecord] {
	return versioned[*PolicyRecord]{
		what:    "policy " + id,
		get:     func(ctx context.Context) (*PolicyRecord, error) { return e.Store.GetPolicy(ctx, id) },
		version: func(r *PolicyRecord) int64 { return r.Version },
		put:     e.Store.PutPolicy,
		delete:  func(ctx context.Context, v int64) error { return e.Store.DeletePolicy(ctx, id, v) },
	}
}

// SaveWorkerConfig creates or replaces a worker configuration with the
// version rules of SavePolicy (the configuration is validated by the store).
func SaveWorkerConfig(ctx context.Context, st WorkerConfigStore, clock Clock, c *WorkerConfig, ifVersion int64) (rec *WorkerConfig, created bool, err error) {
	rec, err = writeVersioned(ctx, workerConfigs(st, c.Account, c.Region), ifVersion, true,
		func() time.Time { return clock.Now().UTC() },
		func(prev *WorkerConfig, now time.Time) *WorkerConfig {
			created = prev == nil
			next := *c
			next.Version, next.UpdatedAt = 0, now
			if prev != nil {
				next.Version = prev.Version
			}
			return &next
		})
	return rec, created, err
}

// RemoveWorkerConfig deletes a worker configuration if ifVersion allows.
func RemoveWorkerConfig(ctx context.Context, st WorkerConfigStore, account, region string, ifVersion int64) error {
	return deleteVersioned(ctx, workerConfigs(st, account, region), ifVersion)
}

func workerConfigs(st WorkerConfigStore, account, region string) versioned[*WorkerConfig] {
	name := region
	if account != "" {
		name = account + "/" + region
	}
	return versioned[*WorkerConfig]{
		what:    "worker configuration " + name,
		get:     func(ctx context.Context) (*WorkerConfig, error) { return st.GetWorkerConfig(ctx, account, region) },
		version: func(c *WorkerConfig) int64 { return c.Version },
		put:     st.PutWorkerConfig,
		delete:  func(ctx context.Context, v int64) error { return st.DeleteWorkerConfig(ctx, account, region, v) },
	}
}

// versioned is one record under optimistic concurrency, as an admin
// writes it: read it, check the version the admin expects, write it
// conditionally.
type versioned[T comparable] struct {
	what    string // "policy prod-efs", for messages
	get     func(context.Context) (T, error)
	version func(T) int64
	put     func(context.Context, T) error
	delete  func(context.Context, int64) error
}

// writeVersioned reads the record, checks ifVersion, lets change build the
// new record (prev is the zero T for a record that does not exist, which
// only creatable writes accept) and writes it conditionally. Without an
// expected version a lost race is retried; with one it means the admin's
// read is stale, and fails with EPRECONDITION.
func writeVersioned[T comparable](ctx context.Context, v versioned[T], ifVersion int64, creatable bool, now func() time.Time, change func(prev T, now time.Time) T) (T, error) {
	var zero T
	for attempt := 0; attempt < 8; attempt++ {
		prev, err := v.get(ctx)
		var stored int64
		switch {
		case err == nil:
			stored = v.version(prev)
		case IsNotFound(err) && creatable:
			prev = zero
		default:
			return zero, fmt.Errorf("write %s: %w", v.what, err)
		}
		if err := checkIfVersion(v.what, stored, ifVersion); err != nil {
			return zero, err
		}
		rec := change(prev, now())
		err = v.put(ctx, rec)
		switch {
		case err == nil:
			return rec, nil
		case !IsConflict(err):
			return zero, fmt.Errorf("write %s: %w", v.what, err)
		case ifVersion != AnyVersion:
			return zero, staleVersion(v.what, ifVersion, err)
		}
	}
	return zero, Errorf(ECONFLICT, "write %s: gave up after repeated concurrent updates; try again", v.what)
}

// deleteVersioned deletes the record if ifVersion allows, as writeVersioned writes.
func deleteVersioned[T comparable](ctx context.Context, v versioned[T], ifVersion int64) error {
	for attempt := 0; attempt < 8; attempt++ {
		cur, err := v.get(ctx)
		if err != nil {
			return fmt.Errorf("delete %s: %w", v.what, err)
		}
		if err := checkIfVersion(v.what, v.version(cur), ifVersion); err != nil {
			return err
		}
		err = v.delete(ctx, v.version(cur))
		switch {
		case err == nil:
			return nil
		case !IsConflict(err):
			return fmt.Errorf("delete %s: %w", v.what, err)
		case ifVersion != AnyVersion:
			return staleVersion(v.what, ifVersion, err)
		}
	}
	return Errorf(ECONFLICT, "delete %s: gave up after repeated concurrent updates; try again", v.what)
}

// reschedule restarts a policy's schedule at an admin's write: the
// watermark moves to now (runs of the new schedules before the write are
// not the admin's intent, and the tick would otherwise catch them up from a
// watermark that can be weeks old), NextRunAt is the first run after it, as
// the tick computes it. (Retention notices changed rules by their digest,
// PolicyRecord.RetentionRules.)
func reschedule(rec *PolicyRecord, now time.Time) {
	if now.After(rec.Watermark) {
		rec.Watermark = now
	}
	rec.NextRunAt = nextRunAt(rec.Policy, rec.Watermark)
	rec.UpdatedAt = now
}

func checkIfVersion(what string, stored, want int64) error {
	switch {
	case want == AnyVersion || want == stored:
		return nil
	case stored == 0:
		return Errorf(EPRECONDITION, "%s does not exist, but the request expects version %d; create it without If-Match", what, want)
	case want == 0:
		return Errorf(EPRECONDITION, "%s already exists at version %d; send If-Match with its ETag to replace it", what, stored)
	default:
		return Errorf(EPRECONDITION, "%s is at version %d, not %d: someone changed it since you read it; read it again and reapply your change", what, stored, want)
	}
}

func staleVersion(what string, want int64, cause error) error {
	return &Error{Code: EPRECONDITION, Err: cause,
		Message: fmt.Sprintf("%s changed while version %d was being replaced; read it again and reapply your change", what, want)}
}
