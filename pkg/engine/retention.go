package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// DeletionRefused: retention would have deleted the point, but it does not
// carry the deleting policy's tag, so it is left alone for good.
const DeletionRefused DeletionState = "refused"

// RetentionResult says what one retention pass did.
type RetentionResult struct {
	Policies int
	Points   int // live restore points examined (source and copies)
	Deleted  int
	// Expired counts points AWS left EXPIRED instead of deleting them.
	Expired int
	Failed  int
	Refused int // not ours by tag
	// Protected counts deletions skipped by a safeguard (newest point,
	// running copy).
	Protected int
	// WouldDelete lists the recovery point ARNs a dry run would delete.
	WouldDelete []string
	// Capped is set when MaxDeletesPerRun stopped the pass early.
	Capped bool
}

// Retention deletes the restore points efskeeper made whose retention has
// passed, with DESIGN.md's safeguards: only points tagged with the policy's
// id; never the newest completed point of a file system (per policy and
// Region); never a point under a running copy; at most MaxDeletesPerRun per
// pass; DryRun lists instead of deleting. A successful DeleteRecoveryPoint
// is read back, because AWS may only have moved the point to EXPIRED.
func (e *Engine) Retention(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	now := e.now()
	recs, err := e.Store.ListPolicies(ctx)
	if err != nil {
		return res, fmt.Errorf("retention: list policies: %w", err)
	}
	budget := e.Config.MaxDeletesPerRun
	var errs []error
	for _, rec := range recs {
		if !rec.RetentionDueAt.IsZero() && rec.RetentionDueAt.After(now) {
			continue
		}
		res.Policies++
		if err := e.retainPolicy(ctx, rec, now, &budget, &res); err != nil {
			errs = append(errs, fmt.Errorf("retention of policy %s: %w", rec.Policy.ID, err))
		}
	}
	return res, errors.Join(errs...)
}

// point is one recovery point to consider: a task's source point or one of
// its copies.
type point struct {
	copyIndex int // -1 for the source
	loc       Loc
	vault     string
	arn       string
}

func (e *Engine) retainPolicy(ctx context.Context, rec *PolicyRecord, now time.Time, budget *int, res *RetentionResult) error {
	p := rec.Policy
	var tasks []*Task
	cursor := ""
	for {
		page, next, err := e.Store.ListTasks(ctx, TaskQuery{PolicyID: p.ID, LiveOnly: true, Cursor: cursor, Limit: bulkPage})
		if err != nil {
			return fmt.Errorf("list restore points: %w", err)
		}
		tasks = append(tasks, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	groups := map[string][]*Task{}
	var keys []string
	for _, t := range tasks {
		if !t.Live() || t.PointCreatedAt.IsZero() {
			continue
		}
		k := t.Loc.Account + "/" + t.Loc.Region + "/" + t.FileSystem
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
	}
	sort.Strings(keys)
	dueAt := time.Time{}
	later := func(at time.Time) {
		if !at.IsZero() && (dueAt.IsZero() || at.Before(dueAt)) {
			dueAt = at
		}
	}
	for _, k := range keys {
		group := groups[k]
		sort.Slice(group, func(i, j int) bool { return group[i].PointCreatedAt.Before(group[j].PointCreatedAt) })
		points := make([]policy.Point, len(group))
		for i, t := range group {
			points[i] = policy.Point{ID: t.ID(), CreatedAt: t.PointCreatedAt, Schedules: t.Schedules}
		}
		decisions := p.Retain(points, now)
		protected := newestPoints(group)
		for i, d := range decisions {
			t := group[i]
			res.Points++
			if d.Keep {
				later(d.ExpiresAt)
				continue
			}
			if *budget <= 0 {
				res.Capped = true
				later(now)
				continue
			}
			retry, err := e.expireTask(ctx, p.ID, t, protected, now, budget, res)
			if err != nil {
				return err
			}
			if retry {
				later(now.Add(time.Hour))
			}
		}
	}
	if hasCountRule(p) {
		// A new point may push an old one out of a count: look again a while
		// after the next run, when its backups should have completed.
		if run, ok := p.NextRun(now); ok {
			later(run.At.Add(6 * time.Hour))
		}
	}
	if e.Config.DryRun {
		return nil
	}
	_, err := update(ctx,
		func(ctx context.Context) (*PolicyRecord, error) { return e.Store.GetPolicy(ctx, p.ID) },
		func(r *PolicyRecord) (bool, error) {
			if r.RetentionDueAt.Equal(dueAt) {
				return false, nil
			}
			r.RetentionDueAt = dueAt
			return true, nil
		},
		e.Store.PutPolicy)
	if IsNotFound(err) {
		return nil
	}
	return err
}

func hasCountRule(p *policy.Policy) bool {
	for _, s := range p.Schedules {
		if s.Retention.Count > 0 {
			return true
		}
	}
	return false
}

// newestPoints returns, per Region, the ARN of the newest live point of a
// file system (its source Region and each copy Region): never deleted.
func newestPoints(group []*Task) map[string]bool {
	newest := map[string]string{} // region -> arn
	newestAt := map[string]time.Time{}
	consider := func(region, arn string, at time.Time) {
		if cur, ok := newestAt[region]; !ok || at.After(cur) {
			newest[region], newestAt[region] = arn, at
		}
	}
	for _, t := range group {
		if t.Backup.State == JobCompleted && t.RecoveryPointArn != "" && !t.Deletion.Done() {
			consider(t.Loc.Region, t.RecoveryPointArn, t.PointCreatedAt)
		}
		for _, c := range t.Copies {
			if c.Job.State == JobCompleted && c.RecoveryPointArn != "" && !c.Deletion.Done() {
				consider(c.TargetRegion, c.RecoveryPointArn, t.PointCreatedAt)
			}
		}
	}
	out := make(map[string]bool, len(newest))
	for _, arn := range newest {
		out[arn] = true
	}
	return out
}

// expireTask deletes the expired points of one task. It reports whether
// something is left to try again later.
func (e *Engine) expireTask(ctx context.Context, policyID string, t *Task, protected map[string]bool, now time.Time, budget *int, res *RetentionResult) (bool, error) {
	log := e.logFor(policyID, t.SessionID, t.Loc, t.FileSystem)
	for _, c := range t.Copies {
		if c.Job.ID != "" && !c.Job.State.Terminal() {
			// AWS refuses to delete a point under a running copy, and the
			// copy would be orphaned from its source's retention.
			res.Protected++
			return true, nil
		}
	}
	var points []point
	if t.Backup.State == JobCompleted && t.RecoveryPointArn != "" && deletable(t.Deletion, e.Config.MaxDeleteAttempts) {
		points = append(points, point{copyIndex: -1, loc: t.Loc, vault: t.VaultName, arn: t.RecoveryPointArn})
	}
	for i, c := range t.Copies {
		if c.Job.State == JobCompleted && c.RecoveryPointArn != "" && deletable(c.Deletion, e.Config.MaxDeleteAttempts) {
			points = append(points, point{copyIndex: i, loc: Loc{Account: t.Loc.Account, Region: c.TargetRegion}, vault: c.VaultName, arn: c.RecoveryPointArn})
		}
	}
	retry := false
	changed := false
	for _, pt := range points {
		if protected[pt.arn] {
			res.Protected++
			continue
		}
		if *budget <= 0 {
			res.Capped = true
			retry = true
			break
		}
		if e.Config.DryRun {
			res.WouldDelete = append(res.WouldDelete, pt.arn)
			*budget--
			continue
		}
		d := e.deletePoint(ctx, policyID, pt, now)
		*budget--
		switch d.State {
		case DeletionDeleted:
			res.Deleted++
			log.InfoContext(ctx, "restore point deleted", "recoveryPoint", pt.arn, "pointRegion", pt.loc.Region)
		case DeletionExpired:
			res.Expired++
			retry = true
			log.WarnContext(ctx, "restore point left EXPIRED by AWS Backup", "recoveryPoint", pt.arn, "message", d.Message)
		case DeletionRefused:
			res.Refused++
			log.WarnContext(ctx, "restore point not deleted: not ours", "recoveryPoint", pt.arn, "message", d.Message)
		case DeletionNone:
			retry = true // a passing problem: try at the next pass
			continue
		default:
			res.Failed++
			retry = true
			log.WarnContext(ctx, "restore point deletion failed", "recoveryPoint", pt.arn, "message", d.Message)
		}
		prev := t.Deletion
		if pt.copyIndex >= 0 {
			prev = t.Copies[pt.copyIndex].Deletion
		}
		d.Attempts = prev.Attempts + 1
		if pt.copyIndex < 0 {
			t.Deletion = d
		} else {
			t.Copies[pt.copyIndex].Deletion = d
		}
		changed = true
	}
	if !changed {
		return retry, nil
	}
	t.UpdatedAt = now
	if err := e.Store.PutTask(ctx, t); err != nil {
		if IsConflict(err) {
			return true, nil // the task changed meanwhile; look again next pass
		}
		return retry, fmt.Errorf("record deletions of %s: %w", t.ID(), err)
	}
	return retry, nil
}

// deletable reports whether retention should (still) try to delete a point.
func deletable(d Deletion, maxAttempts int) bool {
	switch d.State {
	case DeletionDeleted, DeletionRefused:
		return false
	case DeletionExpired, DeletionFailed:
		return d.Attempts < maxAttempts
	}
	return true
}

// deletePoint deletes one recovery point after checking its tags, and reads
// it back to learn what really happened. A zero State means a passing
// problem (throttling, a point busy with another job): nothing to record.
func (e *Engine) deletePoint(ctx context.Context, policyID string, pt point, now time.Time) Deletion {
	tags, err := e.Backup.RecoveryPointTags(ctx, pt.loc, pt.arn)
	if IsNotFound(err) {
		return Deletion{State: DeletionDeleted, At: now, Message: "already gone"}
	}
	if err != nil {
		if retriable(err) {
			return Deletion{}
		}
		return Deletion{State: DeletionFailed, At: now, Message: fmt.Sprintf("could not read its tags: %v", err)}
	}
	if tags[TagPolicy] != policyID {
		return Deletion{State: DeletionRefused, At: now, Message: fmt.Sprintf("its tag %s is %q, not %q: efskeeper only deletes the points it made for this policy", TagPolicy, tags[TagPolicy], policyID)}
	}
	if err := e.Backup.DeleteRecoveryPoint(ctx, pt.loc, pt.vault, pt.arn); err != nil {
		switch {
		case IsNotFound(err):
			return Deletion{State: DeletionDeleted, At: now, Message: "already gone"}
		case retriable(err), IsConflict(err):
			return Deletion{}
		default:
			return Deletion{State: DeletionFailed, At: now, Message: err.Error()}
		}
	}
	rp, err := e.Backup.DescribeRecoveryPoint(ctx, pt.loc, pt.vault, pt.arn)
	switch {
	case IsNotFound(err):
		return Deletion{State: DeletionDeleted, At: now}
	case err != nil:
		// Deleted as far as AWS told us; the read-back failed. Record it as
		// failed so that the next pass checks again.
		return Deletion{State: DeletionFailed, At: now, Message: fmt.Sprintf("deleted, but reading it back failed: %v", err)}
	case rp.Status == RPDeleting:
		return Deletion{State: DeletionDeleted, At: now, Message: "DELETING"}
	case rp.Status == RPExpired:
		return Deletion{State: DeletionExpired, At: now, Message: "AWS Backup answered the deletion with success but the point is EXPIRED, not deleted; this happens when the role lacks permission (see DeleteRecoveryPoint)"}
	default:
		return Deletion{State: DeletionFailed, At: now, Message: fmt.Sprintf("still %s after DeleteRecoveryPoint", rp.Status)}
	}
}
