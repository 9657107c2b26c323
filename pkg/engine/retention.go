package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/ahead"
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
//
// A pass reads only the work list of each policy: the file systems with a
// task whose RetainAt has come (Task.RetainAt, TaskQuery.RetainBy), each
// decided as a whole, since a count rule and the newest-point safeguard
// depend on all of a file system's points. When a policy's retention rules
// are new or changed (PolicyRecord.RetentionRules), the pass sweeps every
// live task of the policy once and sets its RetainAt anew.
func (e *Engine) Retention(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	now := e.now()
	recs, err := e.Store.ListPolicies(ctx)
	if err != nil {
		return res, fmt.Errorf("retention: list policies: %w", err)
	}
	budget := &deleteBudget{left: e.Config.MaxDeletesPerRun}
	var errs []error
	for _, rec := range recs {
		res.Policies++
		if err := e.retainPolicy(ctx, rec, now, budget, &res); err != nil {
			errs = append(errs, fmt.Errorf("retention of policy %s: %w", rec.Policy.ID, err))
		}
	}
	slices.Sort(res.WouldDelete) // groups are decided concurrently
	return res, errors.Join(errs...)
}

// deleteBudget is what is left of MaxDeletesPerRun, shared by the groups
// a pass decides on at once.
type deleteBudget struct {
	mu   sync.Mutex
	left int
}

// take uses up one deletion; false when none is left.
func (b *deleteBudget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}

func (b *deleteBudget) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left <= 0
}

// add merges the result of one group into r.
func (r *RetentionResult) add(g RetentionResult) {
	r.Points += g.Points
	r.Deleted += g.Deleted
	r.Expired += g.Expired
	r.Failed += g.Failed
	r.Refused += g.Refused
	r.Protected += g.Protected
	r.WouldDelete = append(r.WouldDelete, g.WouldDelete...)
	r.Capped = r.Capped || g.Capped
}

// retainGroups decides on n groups of tasks, each planned by plan (which
// takes the policy's rules, once for the pass),
// Config.Concurrency at a time (each group's AWS calls and store writes
// one after another, as the safeguards need); it stops starting groups
// after one fails or, outside a sweep, once the budget runs out. With the
// writes behind (Concurrency 1, the work list), a failed write is learnt
// at the end of the batch after its own: the pass stops then, or at the
// end of the page when that comes first. Going on is safe: a deletion
// whose record failed is found again by the next pass ("already gone").
func (e *Engine) retainGroups(ctx context.Context, p *policy.Policy, n int, plan func(i int, rules policy.Rules) (groupPlan, error), now time.Time, budget *deleteBudget, res *RetentionResult, kind passKind) error {
	rules := p.Rules()
	type planned struct {
		plan groupPlan
		err  error
	}
	prepare := func(i int) planned {
		pl, err := plan(i, rules)
		return planned{pl, err}
	}
	record := func(write func() error) error { return write() }
	var writes *behind
	var plans ahead.Values[planned]
	if kind == workList && e.Config.Concurrency <= 1 && n >= minPipeline {
		// One group at a time (the simulation's reproducible mode): a
		// pipeline over the second core. The writes that record what this
		// goroutine did go, in order, to a goroutine behind it, which
		// between its writes reads the next groups' tasks and decides on
		// them while this one deletes; the reads are of other file
		// systems' tasks, which acting on this one does not write, and
		// the decisions are a function of them and the time. At most 64
		// groups ahead: a pass the deletion budget stops early has read
		// little it does not use.
		plans.Window = 64
		plans.StartOn(n, prepare, func() { writes.wakeSide() })
		writes = startBehind(&plans)
		prepare = plans.Get
		record = func(write func() error) error {
			writes.do(write)
			return nil
		}
	}
	var mu sync.Mutex
	var errs []error
	concurrently(n, e.Config.Concurrency, func(i int) bool {
		if kind == workList && budget.empty() {
			mu.Lock()
			res.Capped = true
			mu.Unlock()
			return false
		}
		if writes != nil && writes.Failed() {
			return false
		}
		var g RetentionResult
		pl := prepare(i)
		err := pl.err
		if err == nil {
			err = e.retainGroup(ctx, p, pl.plan, now, budget, &g, kind, record)
		}
		mu.Lock()
		defer mu.Unlock()
		res.add(g)
		if err != nil {
			errs = append(errs, err)
		}
		return err == nil
	})
	if writes != nil {
		plans.Stop()
		errs = append(errs, writes.finish()) // the helper is done with plans
		plans.Wait()
	}
	return errors.Join(errs...)
}

// minPipeline is the fewest groups a pass runs as a pipeline over two
// cores: an hourly pass often has one or two, and a goroutine just
// started would only race the pass for them (it reads a group twice when
// it loses).
const minPipeline = 8

// point is one recovery point to consider: a task's source point or one of
// its copies.
type point struct {
	copyIndex int // -1 for the source
	loc       Loc
	vault     string
	arn       string
}

// passKind says what a retention pass reads and writes.
type passKind int

const (
	workList   passKind = iota // the tasks due and their file systems
	sweep                      // every live task; writes those whose RetainAt changes
	firstSweep                 // as sweep, and writes every terminal one, so that items stored before RetainAt existed gain its index keys
)

// fileSystemKey names the tasks retention decides on together.
type fileSystemKey struct {
	loc Loc
	fs  string
}

func (e *Engine) retainPolicy(ctx context.Context, rec *PolicyRecord, now time.Time, budget *deleteBudget, res *RetentionResult) error {
	p := rec.Policy
	if digest := p.RulesDigest(); rec.RetentionRules != digest {
		return e.sweepPolicy(ctx, rec, digest, now, budget, res)
	}
	viewer, _ := e.Store.(TaskViewer)
	done := map[fileSystemKey]bool{}
	q := TaskQuery{PolicyID: p.ID, RetainBy: now, Limit: bulkPage}
	for {
		var due []fileSystemKey // one per file system
		var dueTasks []*Task    // their tasks due, without a viewer
		add := func(t *Task) bool {
			k := fileSystemKey{t.Loc, t.FileSystem}
			if done[k] {
				return false
			}
			done[k] = true
			due = append(due, k)
			return true
		}
		var next string
		var err error
		if viewer != nil {
			// The work list needs only the file systems' names.
			_, next, err = viewer.ViewTasks(ctx, q, func(page []*Task) []*Task {
				for _, t := range page {
					add(t)
				}
				return nil
			})
		} else {
			var page []*Task
			page, next, err = e.Store.ListTasks(ctx, q)
			for _, t := range page {
				if add(t) {
					dueTasks = append(dueTasks, t)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("list the restore points due: %w", err)
		}
		plan := func(i int, rules policy.Rules) (groupPlan, error) {
			k := due[i]
			gq := TaskQuery{PolicyID: p.ID, Loc: k.loc, FileSystem: k.fs, LiveOnly: true, Limit: bulkPage}
			if viewer != nil {
				pl, ok, err := viewGroup(ctx, viewer, gq, p, rules, now)
				if err != nil {
					return groupPlan{}, fmt.Errorf("list the restore points of %s in %s: %w", k.fs, k.loc, err)
				}
				if ok {
					return pl, nil
				}
				// More than a page of live points: read them all.
			}
			group, err := e.allTasks(ctx, gq)
			if err != nil {
				return groupPlan{}, fmt.Errorf("list the restore points of %s in %s: %w", k.fs, k.loc, err)
			}
			if dueTasks != nil && !slices.ContainsFunc(group, dueTasks[i].sameID) {
				group = append(group, dueTasks[i]) // the file system's listing lags a write
			}
			return planGroup(group, p, rules, now, workList), nil
		}
		if err := e.retainGroups(ctx, p, len(due), plan, now, budget, res, workList); err != nil || res.Capped || next == "" {
			return err
		}
		q.Cursor = next
	}
}

// viewGroup plans a file system's work-list pass from a view of its
// tasks (TaskViewer), copying only the tasks the plan may write; false
// when its live tasks take more than a page.
func viewGroup(ctx context.Context, viewer TaskViewer, q TaskQuery, p *policy.Policy, rules policy.Rules, now time.Time) (groupPlan, bool, error) {
	var pl groupPlan
	picked := 0
	copies, next, err := viewer.ViewTasks(ctx, q, func(page []*Task) []*Task {
		pl = planGroup(page, p, rules, now, workList)
		var acting []*Task
		for _, t := range pl.group {
			if t != nil {
				acting = append(acting, t)
			}
		}
		picked = len(acting)
		return acting
	})
	if err != nil || next != "" {
		return groupPlan{}, false, err
	}
	if len(copies) != picked {
		return groupPlan{}, false, fmt.Errorf("the store returned %d copies of the %d tasks picked", len(copies), picked)
	}
	// The plan's tasks are the view's: put the copies in their places.
	for i, t := range pl.group {
		if t != nil {
			pl.group[i], copies = copies[0], copies[1:]
		}
	}
	return pl, true, nil
}

// sweepPolicy decides on every live point of the policy, deleting what
// has expired within the budget, sets the RetainAt of every terminal task
// (now for the expired points the budget left), and then records the
// rules it did this under.
func (e *Engine) sweepPolicy(ctx context.Context, rec *PolicyRecord, digest string, now time.Time, budget *deleteBudget, res *RetentionResult) error {
	p := rec.Policy
	tasks, err := e.allTasks(ctx, TaskQuery{PolicyID: p.ID, LiveOnly: true})
	if err != nil {
		return fmt.Errorf("list restore points: %w", err)
	}
	groups := map[fileSystemKey][]*Task{}
	var keys []fileSystemKey
	for _, t := range tasks {
		k := fileSystemKey{t.Loc, t.FileSystem}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
	}
	slices.SortFunc(keys, func(a, b fileSystemKey) int {
		return cmp.Or(cmp.Compare(a.loc.Account, b.loc.Account), cmp.Compare(a.loc.Region, b.loc.Region), cmp.Compare(a.fs, b.fs))
	})
	ordered := make([][]*Task, len(keys))
	for i, k := range keys {
		ordered[i] = groups[k]
	}
	kind := sweep
	if rec.RetentionRules == "" {
		kind = firstSweep
	}
	plan := func(i int, rules policy.Rules) (groupPlan, error) {
		return planGroup(ordered[i], p, rules, now, kind), nil
	}
	if err := e.retainGroups(ctx, p, len(ordered), plan, now, budget, res, kind); err != nil {
		return err
	}
	if e.Config.DryRun {
		return nil
	}
	// Tasks still in flight from before the rules changed were not listed
	// (no live point yet) and carry estimates of the old rules: sweep again
	// at the next pass until their sessions have ended. A record without
	// RulesChangedAt (written before it existed, or by hand) takes this
	// pass's time, kept so that later sessions do not hold the sweep up.
	changedAt := rec.RulesChangedAt
	if changedAt.IsZero() {
		changedAt = now
		_, err := update(ctx,
			func(ctx context.Context) (*PolicyRecord, error) { return e.Store.GetPolicy(ctx, p.ID) },
			func(r *PolicyRecord) (bool, error) {
				if !r.RulesChangedAt.IsZero() {
					return false, nil
				}
				r.RulesChangedAt = now
				return true, nil
			},
			e.Store.PutPolicy)
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("record when the rules changed: %w", err)
		}
	}
	running, err := e.Store.RunningSessions(ctx)
	if err != nil {
		return fmt.Errorf("list running sessions: %w", err)
	}
	for _, s := range running {
		if s.PolicyID == p.ID && !s.CreatedAt.After(changedAt) {
			e.logFor(p.ID, s.ID, Loc{}, "").InfoContext(ctx, "retention sweeps again at its next pass: a session from before the rules changed is still running")
			return nil
		}
	}
	_, err = update(ctx,
		func(ctx context.Context) (*PolicyRecord, error) { return e.Store.GetPolicy(ctx, p.ID) },
		func(r *PolicyRecord) (bool, error) {
			// The digest says which rules the RetainAts were set under; if
			// an admin changed them meanwhile, the next pass sees the
			// difference and sweeps again.
			if r.RetentionRules == digest {
				return false, nil
			}
			r.RetentionRules = digest
			return true, nil
		},
		e.Store.PutPolicy)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// groupPlan is what retention decides on one file system's points before
// it acts: a function of the tasks read, the rules and the time.
type groupPlan struct {
	// group holds the tasks with a live point, oldest point first; nil
	// where the point is kept and its task's RetainAt stays: nothing to
	// write.
	group     []*Task
	decisions []policy.Decision
	protected []pointRef // newestPoints of group
}

func planGroup(tasks []*Task, p *policy.Policy, rules policy.Rules, now time.Time, kind passKind) groupPlan {
	group := make([]*Task, 0, len(tasks))
	for _, t := range tasks {
		if t.Live() && !t.PointCreatedAt.IsZero() {
			group = append(group, t)
		}
	}
	slices.SortStableFunc(group, func(a, b *Task) int { return a.PointCreatedAt.Compare(b.PointCreatedAt) })
	points := make([]policy.Point, len(group))
	for i, t := range group {
		// A group is one file system's tasks: their session ids tell them
		// apart, in their ids' order (a policy's session ids have one
		// length), without building an id for every point of every pass.
		points[i] = policy.Point{ID: t.SessionID, CreatedAt: t.PointCreatedAt, Schedules: t.Schedules}
	}
	plan := groupPlan{group: group, decisions: rules.Expiries(points, now), protected: newestPoints(group)}
	for i, d := range plan.decisions {
		t := group[i]
		if d.Keep && kind != firstSweep && settleNext(t, keptNext(p, d, t, now), now, kind, false).Equal(t.RetainAt) {
			group[i] = nil
		}
	}
	return plan
}

// keptNext is when retention should look again at a point the rules keep:
// when it expires, if known; else when the policy's estimate says, or
// later when that has passed (held by a count rule); zero when no rule
// can release it (a schedule the policy no longer has).
func keptNext(p *policy.Policy, d policy.Decision, t *Task, now time.Time) time.Time {
	if !d.ExpiresAt.IsZero() {
		return d.ExpiresAt
	}
	switch est := retainEstimate(p, t); {
	case est.After(now):
		return est
	case !est.IsZero():
		return backoff(est, now)
	}
	return time.Time{}
}

// settleNext is the RetainAt a task gets after a pass decided on `next`:
// a task whose session still writes it keeps its own (it counts once the
// task is done); on the work list, a task the pass did not change and
// that was not due keeps its own unless `next` brings its look forward.
func settleNext(t *Task, next, now time.Time, kind passKind, changed bool) time.Time {
	if !t.Phase.Terminal() {
		return t.RetainAt
	}
	if kind == workList && !changed {
		due := !t.RetainAt.IsZero() && !t.RetainAt.After(now)
		if !due && (next.IsZero() || !t.RetainAt.IsZero() && !next.Before(t.RetainAt)) {
			return t.RetainAt
		}
	}
	return next
}

// retainGroup acts on the plan of one file system's points: deletes the
// expired ones the budget allows, and sets the RetainAt of its terminal
// tasks: every one in a sweep; otherwise the due ones, and others only to
// bring their next look forward. record makes the store writes, at once
// or behind (retainGroups).
func (e *Engine) retainGroup(ctx context.Context, p *policy.Policy, plan groupPlan, now time.Time, budget *deleteBudget, res *RetentionResult, kind passKind, record func(write func() error) error) error {
	protected := plan.protected
	for i, d := range plan.decisions {
		t := plan.group[i]
		res.Points++
		if t == nil {
			continue // kept, and its RetainAt stays (planGroup)
		}
		var next time.Time
		var before []Deletion
		changed := false
		switch {
		case d.Keep:
			next = keptNext(p, d, t, now)
		case budget.empty():
			res.Capped = true
			next = now
			if !t.RetainAt.IsZero() && t.RetainAt.Before(now) {
				next = t.RetainAt // keep its place on the work list
			}
		default:
			before = deletions(t)
			out := e.expireTask(ctx, p.ID, t, protected, i, now, budget, res)
			changed = out.changed
			switch {
			case out.retry:
				next = now.Add(time.Hour)
			case out.protected:
				next = backoff(d.ExpiresAt, now)
			}
		}
		next = settleNext(t, next, now, kind, changed)
		rewrite := kind == firstSweep && t.Phase.Terminal()
		if !changed && !rewrite && next.Equal(t.RetainAt) {
			continue
		}
		if e.Config.DryRun {
			continue
		}
		t.RetainAt = next
		t.UpdatedAt = now
		if err := record(func() error { return e.recordRetention(ctx, t, before, changed, now) }); err != nil {
			return err
		}
	}
	return nil
}

// recordRetention writes a task retention looked at: its RetainAt and
// the deletions it made (changed) over `before`. When an event wrote the
// task meanwhile, it applies what the pass did to what is stored.
func (e *Engine) recordRetention(ctx context.Context, t *Task, before []Deletion, changed bool, now time.Time) error {
	err := e.Store.PutTask(ctx, t)
	if IsConflict(err) {
		var mine []Deletion
		if changed {
			mine = deletions(t)
		}
		next := t.RetainAt
		_, err = update(ctx,
			func(ctx context.Context) (*Task, error) { return e.Store.GetTask(ctx, t.ID()) },
			func(f *Task) (bool, error) {
				for i, dl := range mine {
					if dl != before[i] {
						setDeletion(f, i, dl)
					}
				}
				if f.Phase.Terminal() {
					f.RetainAt = next
				}
				f.UpdatedAt = now
				return true, nil
			},
			e.Store.PutTask)
	}
	if err != nil {
		return fmt.Errorf("record retention of %s: %w", t.ID(), err)
	}
	return nil
}

// deletions lists the deletion records of a task's points: the source's,
// then each copy's.
func deletions(t *Task) []Deletion {
	out := make([]Deletion, 1+len(t.Copies))
	out[0] = t.Deletion
	for i, c := range t.Copies {
		out[1+i] = c.Deletion
	}
	return out
}

// setDeletion sets the i-th deletion record of deletions(t).
func setDeletion(t *Task, i int, d Deletion) {
	if i == 0 {
		t.Deletion = d
	} else if i-1 < len(t.Copies) {
		t.Copies[i-1].Deletion = d
	}
}

// retainEstimate is the policy's EarliestExpiry for a task's point, moved
// by how late its backup was made after the scheduled instant; zero when
// no rule can release it.
func retainEstimate(p *policy.Policy, t *Task) time.Time {
	at, ok := p.EarliestExpiry(t.Schedules, t.ScheduledAt)
	if !ok {
		return time.Time{}
	}
	if late := t.PointCreatedAt.Sub(t.ScheduledAt); !t.PointCreatedAt.IsZero() && late > 0 {
		at = at.Add(late)
	}
	return at
}

// pointMade records when the task's backup made its point, and moves the
// task's RetainAt, an estimate from the scheduled instant, by the delay.
func (t *Task) pointMade(at time.Time) {
	if t.PointCreatedAt.IsZero() && !t.RetainAt.IsZero() && at.After(t.ScheduledAt) {
		t.RetainAt = t.RetainAt.Add(at.Sub(t.ScheduledAt))
	}
	t.PointCreatedAt = at
}

// backoff is when to look again at a point that was due at `since` and is
// still held (waiting for a newer point, or the newest of its file
// system): an hour on, then ever less often, at least daily.
func backoff(since, now time.Time) time.Time {
	wait := now.Sub(since)
	if wait < time.Hour {
		wait = time.Hour
	}
	if wait > 24*time.Hour {
		wait = 24 * time.Hour
	}
	return now.Add(wait)
}

// pointRef names a point of a group: task is the index of its task in the
// group, copy the index of the copy or -1 for the source.
type pointRef struct{ task, copy int }

// newestPoints returns, per Region, the newest live point of a file
// system (its source Region and each copy Region): never deleted. A file
// system has points in a few Regions, so a slice searched in order beats
// two maps built for every group of every pass; and the points are named
// by their places in the group, which compare faster than their ARNs
// (long, and alike up to their last characters).
func newestPoints(group []*Task) []pointRef {
	type newest struct {
		region string
		ref    pointRef
		at     time.Time
	}
	var buf [4]newest // a source Region and its copies' Regions
	best := buf[:0]
	consider := func(region string, ref pointRef, at time.Time) {
		for i := range best {
			if best[i].region == region {
				if at.After(best[i].at) {
					best[i].ref, best[i].at = ref, at
				}
				return
			}
		}
		best = append(best, newest{region, ref, at})
	}
	for i, t := range group {
		if t.Backup.State == JobCompleted && t.RecoveryPointArn != "" && !t.Deletion.Done() {
			consider(t.Loc.Region, pointRef{i, -1}, t.PointCreatedAt)
		}
		for j, c := range t.Copies {
			if c.Job.State == JobCompleted && c.RecoveryPointArn != "" && !c.Deletion.Done() {
				consider(c.TargetRegion, pointRef{i, j}, t.PointCreatedAt)
			}
		}
	}
	out := make([]pointRef, len(best))
	for i, b := range best {
		out[i] = b.ref
	}
	return out
}

// expiry is what expireTask did to a task.
type expiry struct {
	changed   bool // a deletion was recorded on the task
	retry     bool // something is left to try again soon
	protected bool // a point was spared as the newest of its Region
}

// expireTask deletes the expired points of one task, the group's task at
// index `at`, and records the outcome on the task (the caller writes it);
// it spares the protected points.
func (e *Engine) expireTask(ctx context.Context, policyID string, t *Task, protected []pointRef, at int, now time.Time, budget *deleteBudget, res *RetentionResult) expiry {
	var out expiry
	log := e.logFor(policyID, t.SessionID, t.Loc, t.FileSystem)
	for _, c := range t.Copies {
		if !c.Job.State.Terminal() {
			// AWS refuses to delete a point under a running copy, and the
			// copy would be orphaned from its source's retention; a copy
			// not started yet or waiting to retry still needs its source.
			res.Protected++
			out.retry = true
			return out
		}
	}
	var buf [4]point // a source and its copies, without an allocation
	points := buf[:0]
	if t.Backup.State == JobCompleted && t.RecoveryPointArn != "" && deletable(t.Deletion, e.Config.MaxDeleteAttempts) {
		points = append(points, point{copyIndex: -1, loc: t.Loc, vault: t.VaultName, arn: t.RecoveryPointArn})
	}
	for i, c := range t.Copies {
		if c.Job.State == JobCompleted && c.RecoveryPointArn != "" && deletable(c.Deletion, e.Config.MaxDeleteAttempts) {
			points = append(points, point{copyIndex: i, loc: Loc{Account: t.Loc.Account, Region: c.TargetRegion}, vault: c.VaultName, arn: c.RecoveryPointArn})
		}
	}
	for _, pt := range points {
		if slices.Contains(protected, pointRef{at, pt.copyIndex}) {
			res.Protected++
			out.protected = true
			continue
		}
		if !budget.take() {
			res.Capped = true
			out.retry = true
			break
		}
		if e.Config.DryRun {
			res.WouldDelete = append(res.WouldDelete, pt.arn)
			continue
		}
		d := e.deletePoint(ctx, policyID, pt, now)
		switch d.State {
		case DeletionDeleted:
			res.Deleted++
			log.LogAttrs(ctx, slog.LevelInfo, "restore point deleted", slog.String("recoveryPoint", pt.arn), slog.String("pointRegion", pt.loc.Region))
		case DeletionExpired:
			res.Expired++
			out.retry = true
			log.WarnContext(ctx, "restore point left EXPIRED by AWS Backup", "recoveryPoint", pt.arn, "message", d.Message)
		case DeletionRefused:
			res.Refused++
			log.WarnContext(ctx, "restore point not deleted: not ours", "recoveryPoint", pt.arn, "message", d.Message)
		case DeletionNone:
			out.retry = true // a passing problem: try at the next pass
			continue
		default:
			res.Failed++
			out.retry = true
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
		out.changed = true
	}
	return out
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
