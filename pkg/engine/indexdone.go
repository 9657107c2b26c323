package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Done records a worker's result (indexdone). A result for an unknown run
// (stale, or written by someone else) is dropped; a repeated one changes
// nothing. A result that claims success is checked against the index
// object itself when Objects is set: its file system and restore point
// must be the run's, and its counts are the ones recorded. A failed or
// unverifiable run leaves a warning on its session.
//
// A returned error means "try again later" (passing failures only).
func (ix *Indexer) Done(ctx context.Context, res WorkerResult) error {
	run, err := ix.Runs.GetIndexRun(ctx, res.RunID)
	if IsNotFound(err) {
		ix.Log.Warn("result of an unknown index run dropped", "indexRun", res.RunID, "fileSystem", res.FileSystem)
		return nil
	}
	if err != nil {
		return fmt.Errorf("index result %s: read the run: %w", res.RunID, err)
	}
	log := ix.logFor(run)
	if run.State.Terminal() {
		log.Debug("index result for a finished run ignored", "state", string(run.State))
		return nil
	}
	if run.State == IndexPending {
		log.Warn("index result for a run that was never launched dropped")
		return nil
	}
	if res.FileSystem != run.FileSystem || res.RecoveryPointArn != run.RecoveryPointArn || res.IndexKey != run.IndexKey {
		log.Warn("index result that does not match its run dropped", "resultFileSystem", res.FileSystem, "resultIndexKey", res.IndexKey)
		return nil
	}
	where := fmt.Sprintf("index of %s (restore point %s)", run.FileSystem, run.RecoveryPointArn)
	if res.InstanceID != "" {
		where += " on instance " + res.InstanceID
	}
	if res.Error != "" {
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s failed: %s", where, res.Error), &res)
	}
	sum := IndexSummary{FileSystemID: run.FileSystem, RecoveryPointArn: run.RecoveryPointArn, Entries: res.Entries,
		Records: res.Records, Bytes: res.Bytes, WalkErrors: res.WalkErrors, BaseKey: res.BaseKey}
	if ix.Objects != nil {
		sum, err = ix.Objects.IndexInfo(ctx, run.IndexKey)
		switch {
		case IsNotFound(err):
			return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s reported success, but s3://%s/%s does not exist", where, ix.Config.Bucket, run.IndexKey), &res)
		case err != nil && retriable(err):
			return fmt.Errorf("index result %s: read s3://%s/%s: %w", run.ID, ix.Config.Bucket, run.IndexKey, err)
		case err != nil:
			return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s reported success, but s3://%s/%s cannot be read: %v", where, ix.Config.Bucket, run.IndexKey, err), &res)
		case sum.FileSystemID != run.FileSystem || sum.RecoveryPointArn != run.RecoveryPointArn:
			return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s reported success, but s3://%s/%s is an index of %s (restore point %s)",
				where, ix.Config.Bucket, run.IndexKey, sum.FileSystemID, sum.RecoveryPointArn), &res)
		}
	}
	if sum.WalkErrors > 0 {
		first := ""
		if len(res.Errors) > 0 {
			first = "; first: " + strings.Join(res.Errors[:min(3, len(res.Errors))], "; ")
		}
		r := Reason{Severity: SeverityWarning, Code: ReasonIndexIncomplete, Account: run.Loc.Account, Region: run.Loc.Region, FileSystem: run.FileSystem,
			Message: fmt.Sprintf("%s is incomplete: %d entries could not be read%s", where, sum.WalkErrors, first)}
		if err := ix.warn(ctx, run, r); err != nil {
			return err
		}
	}
	recorded := false // false: the run ended meanwhile (a later run took its expired slot)
	_, err = update(ctx,
		func(ctx context.Context) (*IndexRun, error) { return ix.Runs.GetIndexRun(ctx, run.ID) },
		func(r *IndexRun) (bool, error) {
			recorded = false // (a conflict reads the run again)
			if r.State.Terminal() {
				return false, nil
			}
			ix.recordStats(r, res)
			r.Entries, r.Records, r.Bytes, r.WalkErrors, r.BaseKey = sum.Entries, sum.Records, sum.Bytes, sum.WalkErrors, sum.BaseKey
			now := ix.now()
			r.State, r.UpdatedAt, r.FinishedAt, r.Message = IndexDone, now, now, ""
			*run = *r
			recorded = true
			return true, nil
		},
		ix.Runs.PutIndexRun)
	if err != nil {
		return fmt.Errorf("index result %s: record done: %w", run.ID, err)
	}
	// Still holding the file system's slot: no launch of it chooses a base
	// while Prune decides which indexes to delete. A run that ended
	// meanwhile may have lost the slot to a later run: no prune then.
	if !recorded {
		log.Debug("index result for a run that ended meanwhile ignored")
		return nil
	}
	if pr, err := ix.Prune(ctx, run.Loc, run.FileSystem); err != nil {
		log.Warn("could not delete every index whose restore points are gone; the next index of the file system tries again", "deleted", pr.Deleted, "error", err)
	} else if pr.Deleted > 0 || pr.Kept > 0 {
		log.Info("indexes of restore points that are gone", "deleted", pr.Deleted, "keptAsBase", pr.Kept)
	}
	if err := ix.Runs.UnlockFileSystem(ctx, run.Loc, run.FileSystem, run.ID); err != nil {
		log.Warn("could not free the file system's index slot; it frees itself at its expiry", "error", err)
	}
	log.Info("index done", "key", run.IndexKey, "base", run.BaseKey, "entries", run.Entries, "bytes", run.Bytes,
		"walkErrors", run.WalkErrors, "duration", run.Duration.String())
	return nil
}

// recordStats copies what the worker says about its run into the record.
func (ix *Indexer) recordStats(r *IndexRun, res WorkerResult) {
	if res.InstanceID != "" {
		r.InstanceID = res.InstanceID
	}
	r.Entries, r.Records, r.Bytes, r.WalkErrors, r.BaseKey = res.Entries, res.Records, res.Bytes, res.WalkErrors, res.BaseKey
	r.Errors = slices.Clone(res.Errors)
	r.Duration = res.Duration()
}

// warn puts an index reason on the run's task and, when the session has
// already finished, on the session, raising Success to Warning.
//
// Sessions may finish while an index runs (the index is queued when the
// backup completes; copies may finish first). The task keeps every reason,
// and finishing a session collects its tasks' reasons, so a session that
// is still running needs nothing more. The race is a finisher that read
// the tasks before our task write and writes the session after it. To shut
// it out, warn bumps the session's version with a zero AdjustSession after
// the task write: a finisher that read the session before that loses its
// conditional write (finish leaves the session Running, and the
// reconciler's next pass finishes it with the task's reason), and one that
// reads it after also reads the task as written. If AdjustSession shows the
// session already terminal, the reason is merged into it with a
// conditional write, retried on conflict; a session that was Success
// becomes Warning and is announced again if its policy asks for warnings.
func (ix *Indexer) warn(ctx context.Context, run *IndexRun, reason Reason) error {
	_, err := update(ctx,
		func(ctx context.Context) (*Task, error) { return ix.Store.GetTask(ctx, run.TaskID) },
		func(t *Task) (bool, error) {
			if slices.Contains(t.Reasons, reason) {
				return false, nil
			}
			t.Reasons = append(t.Reasons, reason)
			t.UpdatedAt = ix.now()
			return true, nil
		},
		ix.Store.PutTask)
	if IsNotFound(err) {
		ix.logFor(run).Warn("index reason not recorded: the task no longer exists", "reason", reason.Message)
		return nil
	}
	if err != nil {
		return fmt.Errorf("index run %s: record the reason on task %s: %w", run.ID, run.TaskID, err)
	}
	s, err := ix.Store.AdjustSession(ctx, run.SessionID, SessionDelta{})
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("index run %s: fence session %s: %w", run.ID, run.SessionID, err)
	}
	if !s.Status.Terminal() {
		return nil
	}
	raised := false
	s, err = update(ctx,
		func(ctx context.Context) (*Session, error) { return ix.Store.GetSession(ctx, run.SessionID) },
		func(s *Session) (bool, error) {
			raised = false
			if slices.Contains(s.Reasons, reason) {
				return false, nil
			}
			if len(s.Reasons) < maxReasons {
				s.Reasons = append(s.Reasons, reason)
			}
			if s.Status == StatusSuccess {
				s.Status, raised = StatusWarning, true
			}
			s.UpdatedAt = ix.now()
			return true, nil
		},
		ix.Store.PutSession)
	if err != nil {
		return fmt.Errorf("index run %s: record the reason on finished session %s: %w", run.ID, run.SessionID, err)
	}
	if raised {
		ix.logFor(run).Info("finished session raised to Warning by an index problem", "code", reason.Code)
		ix.announce(ctx, s)
	}
	return nil
}

// announce sends a finished session's notification again after its status
// changed, if its policy asks for that status. Failures are logged, as
// finish does: the outcome must not depend on the mail.
func (ix *Indexer) announce(ctx context.Context, s *Session) {
	if ix.Notifier == nil {
		return
	}
	rec, err := ix.Store.GetPolicy(ctx, s.PolicyID)
	if err != nil {
		ix.Log.Warn("session notification skipped: policy unreadable", "session", s.ID, "error", err)
		return
	}
	tasks, err := ix.eng.sessionTasks(ctx, s.ID)
	if err != nil {
		ix.Log.Warn("session notification skipped: tasks unreadable", "session", s.ID, "error", err)
		return
	}
	units, err := ix.Store.SessionUnits(ctx, s.ID)
	if err != nil {
		ix.Log.Warn("session notification skipped: units unreadable", "session", s.ID, "error", err)
		return
	}
	ix.eng.notify(ctx, s, rec, tasks, units)
}
