package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReconcileResult says what one reconcile pass did.
type ReconcileResult struct {
	TasksChecked    int
	JobsRead        int
	JobsStarted     int // retries and deferred copy starts
	TimedOut        int
	UnitsResent     int
	UnitsGivenUp    int
	SessionsChecked int
}

// Reconcile covers for lost events and crashes. AWS Backup events are best
// effort: every task whose job has gone quiet is read back with
// Describe*Job and pushed through the same transition as an event; retries
// that are due are started; region runs that never finished are sent again
// and, after UnitTimeout, given up with a reason; sessions whose counters
// may have drifted are recounted from their records. Nothing stays Running
// forever.
func (e *Engine) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var res ReconcileResult
	now := e.now()
	var errs []error
	due, err := e.Store.DueTasks(ctx, now)
	if err != nil {
		return res, fmt.Errorf("reconcile: list due tasks: %w", err)
	}
	var mu sync.Mutex
	concurrently(len(due), e.Config.Concurrency, func(i int) bool {
		r := ReconcileResult{TasksChecked: 1}
		err := e.reconcileTask(ctx, due[i], now, &r)
		mu.Lock()
		defer mu.Unlock()
		res.add(r)
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	sessions, err := e.Store.RunningSessions(ctx)
	if err != nil {
		return res, errors.Join(append(errs, fmt.Errorf("reconcile: list running sessions: %w", err))...)
	}
	for _, s := range sessions {
		res.SessionsChecked++
		if err := e.reconcileSession(ctx, s, now, &res); err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// add merges r into res.
func (res *ReconcileResult) add(r ReconcileResult) {
	res.TasksChecked += r.TasksChecked
	res.JobsRead += r.JobsRead
	res.JobsStarted += r.JobsStarted
	res.TimedOut += r.TimedOut
	res.UnitsResent += r.UnitsResent
	res.UnitsGivenUp += r.UnitsGivenUp
	res.SessionsChecked += r.SessionsChecked
}

func (e *Engine) reconcileTask(ctx context.Context, t *Task, now time.Time, res *ReconcileResult) error {
	id := t.ID()
	// 1. Read back jobs that have gone quiet; a terminal answer goes through
	// the event path.
	var updates []JobUpdate
	if t.Phase == PhaseBackup && t.Backup.ID != "" && !t.Backup.State.Terminal() && t.Backup.State != JobRetryWait {
		res.JobsRead++
		u, err := e.Backup.DescribeBackupJob(ctx, t.Loc, t.Backup.ID)
		switch {
		case IsNotFound(err):
			u = JobUpdate{State: JobFailed, Message: "AWS Backup no longer knows this job"}
		case err != nil:
			return fmt.Errorf("reconcile %s: describe backup job %s: %w", id, t.Backup.ID, err)
		}
		u.Kind, u.JobID, u.Loc = KindBackup, t.Backup.ID, t.Loc
		updates = append(updates, u)
	}
	if t.Phase == PhaseCopy {
		for _, c := range t.Copies {
			if c.Job.ID == "" || c.Job.State.Terminal() || c.Job.State == JobRetryWait {
				continue
			}
			res.JobsRead++
			u, err := e.Backup.DescribeCopyJob(ctx, t.Loc, c.Job.ID)
			switch {
			case IsNotFound(err):
				u = JobUpdate{State: JobFailed, Message: "AWS Backup no longer knows this copy job"}
			case err != nil:
				return fmt.Errorf("reconcile %s: describe copy job %s: %w", id, c.Job.ID, err)
			}
			u.Kind, u.JobID, u.Loc = KindCopy, c.Job.ID, t.Loc
			updates = append(updates, u)
		}
	}
	applied := false
	for _, u := range updates {
		if !u.State.Terminal() {
			continue
		}
		applied = true
		if err := e.applyUpdate(ctx, t, u); err != nil {
			return fmt.Errorf("reconcile %s: %w", id, err)
		}
	}
	// 2. Start what is due, give up on what took too long, and schedule the
	// next look. Re-read after an update (it may have re-read and written
	// another copy); otherwise the copy in hand is the first read, and if
	// something wrote the task meanwhile the conditional write fails and
	// update reads it again. Most tasks the reconciler looks at are jobs
	// still running, and reading each twice was a tenth of the store's
	// reads.
	var finished bool
	first := t
	if applied {
		first = nil
	}
	_, err := update(ctx,
		func(ctx context.Context) (*Task, error) {
			if f := first; f != nil {
				first = nil
				return f, nil
			}
			return e.Store.GetTask(ctx, id)
		},
		func(t *Task) (bool, error) {
			if t.Phase.Terminal() {
				return false, nil
			}
			started, timedOut, err := e.advance(ctx, t, now)
			if err != nil {
				return false, err
			}
			res.JobsStarted += started
			res.TimedOut += timedOut
			e.settle(t, now)
			finished = t.Phase.Terminal()
			return true, nil
		},
		e.Store.PutTask)
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", id, err)
	}
	if finished {
		return e.adjust(ctx, t.SessionID, SessionDelta{OpenTasks: -1})
	}
	return nil
}

// advance starts due retries and deferred copies and gives up on jobs that
// have run past their windows. It changes t in memory only.
func (e *Engine) advance(ctx context.Context, t *Task, now time.Time) (started, timedOut int, err error) {
	switch t.Phase {
	case PhaseBackup:
		j := &t.Backup
		switch {
		case j.State == JobRetryWait && !j.RetryAt.After(now):
			if err := e.startBackupAttempt(ctx, t, j.Attempt+1, e.backupStartFor(t)); err != nil {
				return 0, 0, err
			}
			started++
		case !j.State.Terminal() && j.State != JobRetryWait && now.Sub(j.StartedAt) > e.backupDeadline():
			t.Reasons = append(t.Reasons, Reason{Severity: SeverityFailure, Code: ReasonTimeout, Account: t.Loc.Account, Region: t.Loc.Region, FileSystem: t.FileSystem,
				Message: fmt.Sprintf("backup job %s of %s was still %s after %s; efskeeper stopped waiting for it", j.ID, t.FileSystem, j.State, e.backupDeadline())})
			j.State = JobGaveUp
			timedOut++
		}
	case PhaseCopy:
		for i := range t.Copies {
			c := &t.Copies[i]
			switch {
			case c.Job.State == JobRetryWait && !c.Job.RetryAt.After(now), c.Job.State == JobNotStarted:
				if err := e.startCopyAttempt(ctx, t, i, c.Job.Attempt+1); err != nil {
					return started, timedOut, err
				}
				started++
			case !c.Job.State.Terminal() && c.Job.State != JobRetryWait && now.Sub(c.Job.StartedAt) > e.Config.CopyTimeout:
				t.Reasons = append(t.Reasons, Reason{Severity: SeverityFailure, Code: ReasonTimeout, Account: t.Loc.Account, Region: t.Loc.Region, FileSystem: t.FileSystem,
					Message: fmt.Sprintf("copy job %s of %s to %s was still %s after %s; efskeeper stopped waiting for it", c.Job.ID, t.FileSystem, c.TargetRegion, c.Job.State, e.Config.CopyTimeout)})
				c.Job.State = JobGaveUp
				timedOut++
			}
		}
	}
	return started, timedOut, nil
}

// backupDeadline is how long a backup job may take before efskeeper stops
// waiting: AWS ends it itself after the start and completion windows, so
// this only matters when AWS's own verdict is lost.
func (e *Engine) backupDeadline() time.Duration {
	return time.Duration(e.Config.StartWindowMinutes+e.Config.CompleteWindowMinutes)*time.Minute + 2*time.Hour
}

// recountEvery is how often a long-running session's counters are checked
// against its records.
const recountEvery = time.Hour

func (e *Engine) reconcileSession(ctx context.Context, s *Session, now time.Time, res *ReconcileResult) error {
	if s.Counters.OpenUnits > 0 {
		if err := e.reconcileUnits(ctx, s, now, res); err != nil {
			return err
		}
	}
	last := s.CreatedAt
	if s.RecountedAt.After(last) {
		last = s.RecountedAt
	}
	recount := now.Sub(last) >= recountEvery
	if recount || s.Counters.OpenUnits <= 0 && s.Counters.OpenTasks <= 0 {
		return e.finish(ctx, s.ID, recount)
	}
	return nil
}

// reconcileUnits resends the messages of units that have not finished in
// UnitResendAfter, and gives up on them after UnitTimeout.
func (e *Engine) reconcileUnits(ctx context.Context, s *Session, now time.Time, res *ReconcileResult) error {
	units, err := e.Store.SessionUnits(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("reconcile session %s: read units: %w", s.ID, err)
	}
	byLoc := make(map[Loc]*Unit, len(units))
	for _, u := range units {
		byLoc[u.Loc] = u
	}
	for _, l := range s.Units {
		u := byLoc[l]
		if u != nil && u.State.Terminal() {
			continue
		}
		last := s.CreatedAt
		if u != nil && u.UpdatedAt.After(last) {
			last = u.UpdatedAt
		}
		if now.Sub(s.CreatedAt) >= e.Config.UnitTimeout {
			if err := e.giveUpUnit(ctx, s, l, u, now); err != nil {
				return err
			}
			res.UnitsGivenUp++
			continue
		}
		if now.Sub(last) < e.Config.UnitResendAfter {
			continue
		}
		// Record the resend so that the next pass waits again.
		if u == nil {
			u = &Unit{SessionID: s.ID, PolicyID: s.PolicyID, Loc: l, State: UnitPending, CreatedAt: now}
			u.UpdatedAt = now
			if err := e.Store.CreateUnit(ctx, u); err != nil && !IsConflict(err) {
				return fmt.Errorf("reconcile session %s: record unit %s: %w", s.ID, l, err)
			}
		} else {
			u.Attempts++
			u.UpdatedAt = now
			if err := e.Store.PutUnit(ctx, u); err != nil {
				if IsConflict(err) {
					continue // the region run is writing it right now
				}
				return fmt.Errorf("reconcile session %s: record unit %s: %w", s.ID, l, err)
			}
		}
		if err := e.Queue.SendRegionRun(ctx, RegionRunMsg{SessionID: s.ID, PolicyID: s.PolicyID, Account: l.Account, Region: l.Region}); err != nil {
			return fmt.Errorf("reconcile session %s: resend %s: %w", s.ID, l, err)
		}
		res.UnitsResent++
	}
	return nil
}

func (e *Engine) giveUpUnit(ctx context.Context, s *Session, l Loc, u *Unit, now time.Time) error {
	r := Reason{Severity: SeverityFailure, Code: ReasonRegionTimeout, Account: l.Account, Region: l.Region,
		Message: fmt.Sprintf("the run of account %s, %s did not finish within %s; check the regionrun function's logs and dead-letter queue", l.Account, l.Region, e.Config.UnitTimeout)}
	if u == nil {
		u = &Unit{SessionID: s.ID, PolicyID: s.PolicyID, Loc: l, State: UnitFailed, Reasons: []Reason{r}, CreatedAt: now, UpdatedAt: now}
		if err := e.Store.CreateUnit(ctx, u); err != nil {
			if IsConflict(err) {
				return nil // the region run got there after all
			}
			return fmt.Errorf("reconcile session %s: give up unit %s: %w", s.ID, l, err)
		}
	} else {
		u.State = UnitFailed
		u.Reasons = append(u.Reasons, r)
		u.UpdatedAt = now
		if err := e.Store.PutUnit(ctx, u); err != nil {
			if IsConflict(err) {
				return nil
			}
			return fmt.Errorf("reconcile session %s: give up unit %s: %w", s.ID, l, err)
		}
	}
	return e.adjust(ctx, s.ID, SessionDelta{OpenUnits: -1})
}
