package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// HandleJobEvent moves a task on after an AWS Backup job changed state. The
// same code serves EventBridge events and the reconciler's Describe*Job
// results. Events for jobs efskeeper does not know (EFS automatic backups,
// other tools, superseded attempts) and non-terminal states are dropped:
// they carry nothing to act on, and dropping them costs no store operation.
func (e *Engine) HandleJobEvent(ctx context.Context, u JobUpdate) error {
	if !u.State.Terminal() {
		return nil
	}
	var t *Task
	var err error
	switch u.Kind {
	case KindBackup:
		t, err = e.Store.TaskByBackupJob(ctx, u.JobID)
	case KindCopy:
		if u.RecoveryPointArn == "" {
			e.Log.WarnContext(ctx, "copy event without source recovery point dropped; the reconciler will read the job", "job", u.JobID, "account", u.Loc.Account, "region", u.Loc.Region)
			return nil
		}
		t, err = e.Store.TaskByRecoveryPoint(ctx, u.RecoveryPointArn)
	default:
		return nil
	}
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("job event %s %s: find task: %w", u.Kind, u.JobID, err)
	}
	return e.applyUpdate(ctx, t, u)
}

// applyUpdate applies u to the task with a conditional write, re-reading
// on conflict, then does what the transition calls for: queue an index run,
// count a finished task into its session.
func (e *Engine) applyUpdate(ctx context.Context, first *Task, u JobUpdate) error {
	var out transitionResult
	t := first
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if t, err = e.Store.GetTask(ctx, first.ID()); err != nil {
				return fmt.Errorf("job event %s: re-read task: %w", u.JobID, err)
			}
		}
		wasTerminal := t.Phase.Terminal()
		var err error
		out, err = e.transition(ctx, t, u)
		if err != nil {
			return err
		}
		if !out.changed {
			return nil
		}
		if out.index {
			if err := e.Queue.SendIndexRun(ctx, indexMsg(t)); err != nil {
				return fmt.Errorf("job event %s: queue index run of %s: %w", u.JobID, t.FileSystem, err)
			}
		}
		err = e.Store.PutTask(ctx, t)
		if err == nil {
			out.finished = !wasTerminal && t.Phase.Terminal()
			break
		}
		if !IsConflict(err) || attempt >= 8 {
			return fmt.Errorf("job event %s: record task %s: %w", u.JobID, t.ID(), err)
		}
	}
	if out.finished {
		return e.adjust(ctx, t.SessionID, SessionDelta{OpenTasks: -1})
	}
	return nil
}

type transitionResult struct {
	changed  bool // the task must be written
	index    bool // queue an index run
	finished bool // the task turned terminal (set after the write)
}

// transition applies one job update to a task in memory. It may start copy
// jobs (idempotently: the tokens are derived from the task).
func (e *Engine) transition(ctx context.Context, t *Task, u JobUpdate) (transitionResult, error) {
	var res transitionResult
	now := e.now()
	log := e.logFor(t.PolicyID, t.SessionID, t.Loc, t.FileSystem)
	switch u.Kind {
	case KindBackup:
		if u.JobID != t.Backup.ID || t.Backup.State.Terminal() || t.Backup.State == JobRetryWait {
			return res, nil // duplicate, late or superseded
		}
		res.changed = true
		t.Backup.State = u.State
		t.Backup.UpdatedAt = now
		t.Backup.CompletedAt = u.CompletedAt
		if u.State.Succeeded() {
			if u.RecoveryPointArn != "" && u.RecoveryPointArn != t.RecoveryPointArn {
				t.RecoveryPointArn = u.RecoveryPointArn // else keep the copy the task has, not the event's strings
			}
			if t.RecoveryPointArn == "" || u.CreatedAt.IsZero() {
				// StartBackupJob returns the point for EFS and the COMPLETED
				// event names it; if both failed us, ask AWS Backup.
				d, err := e.Backup.DescribeBackupJob(ctx, t.Loc, t.Backup.ID)
				if err != nil {
					return res, fmt.Errorf("job event %s: read the completed backup job back: %w", u.JobID, err)
				}
				if t.RecoveryPointArn == "" {
					t.RecoveryPointArn = d.RecoveryPointArn
				}
				if u.CreatedAt.IsZero() {
					u.CreatedAt = d.CreatedAt
				}
			}
			made := u.CreatedAt
			if made.IsZero() {
				made = t.Backup.StartedAt
			}
			t.pointMade(made)
			if u.SizeBytes > 0 {
				t.SizeBytes = u.SizeBytes
			}
			if log.Enabled(ctx, slog.LevelInfo) { // the arguments cost allocations even when dropped
				log.InfoContext(ctx, "backup completed", "job", u.JobID, "recoveryPoint", t.RecoveryPointArn)
			}
			t.Phase = PhaseCopy
			for i := range t.Copies {
				if t.Copies[i].Job.State == JobNotStarted {
					if err := e.startCopyAttempt(ctx, t, i, 1); err != nil {
						return res, err
					}
				}
			}
			res.index = t.Index
		} else {
			t.Backup.Message = u.Message
			log.WarnContext(ctx, "backup did not complete", "job", u.JobID, "state", u.State, "message", u.Message)
			e.backupFailed(t, now)
		}
	case KindCopy:
		i := -1
		for j := range t.Copies {
			if t.Copies[j].Job.ID == u.JobID {
				i = j
			}
		}
		if i < 0 {
			return res, nil
		}
		c := &t.Copies[i]
		if c.Job.State.Terminal() || c.Job.State == JobRetryWait {
			return res, nil
		}
		res.changed = true
		c.Job.State = u.State
		c.Job.UpdatedAt = now
		c.Job.CompletedAt = u.CompletedAt
		if u.State.Succeeded() {
			c.RecoveryPointArn = u.DestinationRecoveryPointArn
			if log.Enabled(ctx, slog.LevelInfo) {
				log.InfoContext(ctx, "copy completed", "job", u.JobID, "targetRegion", c.TargetRegion, "recoveryPoint", c.RecoveryPointArn)
			}
		} else {
			c.Job.Message = u.Message
			log.WarnContext(ctx, "copy did not complete", "job", u.JobID, "targetRegion", c.TargetRegion, "state", u.State, "message", u.Message)
			e.copyFailed(t, i, now)
		}
	}
	e.settle(t, now)
	return res, nil
}

// settle derives the task's phase and next check time from its jobs.
func (e *Engine) settle(t *Task, now time.Time) {
	t.UpdatedAt = now
	switch {
	case t.Backup.State == JobGaveUp:
		t.Phase = PhaseFailed
	case t.Backup.State.Succeeded():
		t.Phase = PhaseDone
		for _, c := range t.Copies {
			if !c.Job.State.Terminal() {
				t.Phase = PhaseCopy
			}
		}
	default:
		t.Phase = PhaseBackup
	}
	t.NextCheckAt = time.Time{}
	if t.Phase.Terminal() {
		return
	}
	next := func(j Job) {
		// A job is looked at StaleAfter after its last news, and a long job
		// less often as it ages (half its age): a 20-hour EFS backup is read
		// back a handful of times, not eighty.
		wait := e.Config.StaleAfter
		if !j.StartedAt.IsZero() {
			wait = max(wait, now.Sub(j.StartedAt)/2)
		}
		at := now.Add(wait)
		if j.State == JobRetryWait {
			at = j.RetryAt
		}
		if t.NextCheckAt.IsZero() || at.Before(t.NextCheckAt) {
			t.NextCheckAt = at
		}
	}
	if t.Phase == PhaseBackup {
		next(t.Backup)
		return
	}
	for _, c := range t.Copies {
		if !c.Job.State.Terminal() {
			next(c.Job)
		}
	}
}

// backupFailed decides between a retry and giving up after a failed
// attempt. t.Backup.State holds the AWS state and Message its reason.
func (e *Engine) backupFailed(t *Task, now time.Time) {
	what := fmt.Sprintf("backup of %s in account %s, %s ended %s", t.FileSystem, t.Loc.Account, t.Loc.Region, t.Backup.State)
	e.attemptFailed(t, &t.Backup, what, ReasonBackupRetried, ReasonBackupFailed, now)
}

// copyFailed is backupFailed for copy i.
func (e *Engine) copyFailed(t *Task, i int, now time.Time) {
	c := &t.Copies[i]
	what := fmt.Sprintf("copy of %s's restore point from %s to %s (vault %s) ended %s", t.FileSystem, t.Loc.Region, c.TargetRegion, c.VaultName, c.Job.State)
	e.attemptFailed(t, &c.Job, what, ReasonCopyRetried, ReasonCopyFailed, now)
}

// attemptFailed schedules a retry of job j while the policy allows one and
// gives up otherwise, with a reason on the task either way.
func (e *Engine) attemptFailed(t *Task, j *Job, what, retried, failed string, now time.Time) {
	if j.Message != "" {
		what += ": " + j.Message
	}
	r := Reason{Account: t.Loc.Account, Region: t.Loc.Region, FileSystem: t.FileSystem}
	if j.Attempt < t.MaxAttempts {
		j.RetryAt = now.Add(retryInterval(t))
		j.State = JobRetryWait
		r.Severity, r.Code = SeverityWarning, retried
		r.Message = fmt.Sprintf("%s; attempt %d of %d, retrying at %s", what, j.Attempt, t.MaxAttempts, j.RetryAt.Format(time.RFC3339))
	} else {
		j.State = JobGaveUp
		r.Severity, r.Code = SeverityFailure, failed
		r.Message = fmt.Sprintf("%s; no retries left (attempt %d of %d)", what, j.Attempt, t.MaxAttempts)
	}
	t.Reasons = append(t.Reasons, r)
	e.settle(t, now)
}

func retryInterval(t *Task) time.Duration {
	if t.RetryInterval <= 0 {
		return 10 * time.Minute
	}
	return time.Duration(t.RetryInterval) * time.Minute
}

// startCopyAttempt starts attempt n of copy i. A passing failure leaves the
// copy not started, for the reconciler to start; a refusal counts as a
// failed attempt.
func (e *Engine) startCopyAttempt(ctx context.Context, t *Task, i, n int) error {
	now := e.now()
	c := &t.Copies[i]
	tok := t.copyToken(c.TargetRegion, n)
	started, err := e.Backup.StartCopy(ctx, StartCopyRequest{
		Loc: t.Loc, SourceVaultName: t.VaultName, RecoveryPointArn: t.RecoveryPointArn,
		DestinationBackupVaultArn: c.VaultArn, IamRoleArn: roleArn(t.Loc, e.Config.BackupRoleName),
		Token: tok, Lifecycle: t.Lifecycle,
	})
	if err != nil {
		if retriable(err) {
			e.logFor(t.PolicyID, t.SessionID, t.Loc, t.FileSystem).WarnContext(ctx, "copy start deferred", "targetRegion", c.TargetRegion, "error", err)
			c.Job = Job{State: JobNotStarted, Attempt: n - 1, UpdatedAt: now}
			return nil
		}
		c.Job = Job{State: JobFailed, Attempt: n, Token: tok, UpdatedAt: now, Message: fmt.Sprintf("AWS Backup refused to start the copy: %v", err)}
		e.copyFailed(t, i, now)
		return nil
	}
	c.Job = Job{ID: started.JobID, State: JobCreated, Attempt: n, Token: tok, StartedAt: now, UpdatedAt: now}
	if e.Log.Enabled(ctx, slog.LevelInfo) {
		e.logFor(t.PolicyID, t.SessionID, t.Loc, t.FileSystem).InfoContext(ctx, "copy started", "job", started.JobID, "targetRegion", c.TargetRegion, "attempt", n)
	}
	return nil
}

func indexMsg(t *Task) IndexRunMsg {
	return IndexRunMsg{TaskID: t.ID(), PolicyID: t.PolicyID, SessionID: t.SessionID, Account: t.Loc.Account, Region: t.Loc.Region,
		FileSystem: t.FileSystem, RecoveryPointArn: t.RecoveryPointArn, BackupCreatedAt: t.PointCreatedAt}
}
