package engine

import (
	"context"
	"fmt"
)

// adjust moves a session's counters and finishes the session when they say
// nothing is open any more.
func (e *Engine) adjust(ctx context.Context, sessionID string, d SessionDelta) error {
	s, err := e.Store.AdjustSession(ctx, sessionID, d)
	if err != nil {
		return fmt.Errorf("session %s: adjust counters: %w", sessionID, err)
	}
	if s.Status == StatusRunning && s.Counters.OpenUnits <= 0 && s.Counters.OpenTasks <= 0 {
		return e.finish(ctx, s.ID, false)
	}
	return nil
}

// finish ends a session if its records say every unit and task is done:
// it computes the status from them, publishes the notification the policy
// asks for, and records the outcome. The counters only hinted that the
// session may be done; when the records disagree (a crash between a record
// write and its adjustment) the counters are set from the records instead.
//
// The notification goes out before the final write, so a crash in between
// sends it again on the next attempt rather than never (at least once).
func (e *Engine) finish(ctx context.Context, sessionID string, recount bool) error {
	s, err := e.Store.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("finish session %s: %w", sessionID, err)
	}
	if s.Status.Terminal() {
		return nil
	}
	units, err := e.Store.SessionUnits(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("finish session %s: read units: %w", sessionID, err)
	}
	// Count first: a running session is usually still running, and then
	// only its counters are needed, which a TaskViewer gives without a
	// copy of each of its tasks (a session of a large fleet has tens of
	// thousands).
	openTasks, tasks, read, err := e.sessionOpenTasks(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("finish session %s: read tasks: %w", sessionID, err)
	}
	counters := countOpen(s, units, openTasks)
	if counters.OpenUnits == 0 && counters.OpenTasks == 0 && !read {
		// Done: the outcome and the notification need the tasks.
		if tasks, err = e.sessionTasks(ctx, sessionID); err != nil {
			return fmt.Errorf("finish session %s: read tasks: %w", sessionID, err)
		}
		counters.OpenTasks = countNotTerminal(tasks)
	}
	if counters.OpenUnits > 0 || counters.OpenTasks > 0 {
		if counters != s.Counters || recount {
			s.Counters = counters
			s.UpdatedAt = e.now()
			s.RecountedAt = s.UpdatedAt
			if err := e.Store.PutSession(ctx, s); err != nil && !IsConflict(err) {
				return fmt.Errorf("finish session %s: repair counters: %w", sessionID, err)
			}
		}
		return nil
	}
	status, reasons := outcome(s, units, tasks)
	rec, err := e.Store.GetPolicy(ctx, s.PolicyID)
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("finish session %s: read policy: %w", sessionID, err)
	}
	now := e.now()
	s.Status, s.Reasons, s.Counters, s.EndedAt, s.UpdatedAt = status, reasons, counters, now, now
	e.notify(ctx, s, rec, tasks, units)
	s.Notified = true
	if err := e.Store.PutSession(ctx, s); err != nil {
		if IsConflict(err) {
			// Someone else wrote the session meanwhile (another finisher
			// or the reconciler): let the next event or reconcile decide.
			return nil
		}
		return fmt.Errorf("finish session %s: record outcome: %w", sessionID, err)
	}
	e.logFor(s.PolicyID, s.ID, Loc{}, "").InfoContext(ctx, "session finished", "status", string(status), "tasks", len(tasks), "reasons", len(reasons))
	return nil
}

// bulkPage is the page size of the use-cases that read every task of a
// session or policy (a DynamoDB page stops at 1 MB whatever the limit).
const bulkPage = 1000

func (e *Engine) sessionTasks(ctx context.Context, sessionID string) ([]*Task, error) {
	return e.allTasks(ctx, TaskQuery{SessionID: sessionID})
}

// allTasks reads every page of a task listing.
func (e *Engine) allTasks(ctx context.Context, q TaskQuery) ([]*Task, error) {
	var all []*Task
	q.Limit = bulkPage
	for {
		page, next, err := e.Store.ListTasks(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		q.Cursor = next
	}
}

// sessionOpenTasks counts the session's tasks that are not terminal. A
// TaskViewer counts them as stored; otherwise they are read, and returned
// (read).
func (e *Engine) sessionOpenTasks(ctx context.Context, sessionID string) (open int, tasks []*Task, read bool, err error) {
	viewer, ok := e.Store.(TaskViewer)
	if !ok {
		tasks, err := e.sessionTasks(ctx, sessionID)
		return countNotTerminal(tasks), tasks, true, err
	}
	q := TaskQuery{SessionID: sessionID, Limit: bulkPage}
	for {
		_, next, err := viewer.ViewTasks(ctx, q, func(page []*Task) []*Task {
			open += countNotTerminal(page)
			return nil
		})
		if err != nil || next == "" {
			return open, nil, false, err
		}
		q.Cursor = next
	}
}

func countNotTerminal(tasks []*Task) int {
	n := 0
	for _, t := range tasks {
		if !t.Phase.Terminal() {
			n++
		}
	}
	return n
}

// countOpen counts what is still open according to the records: units of
// the session without a terminal record, and the tasks that are not
// terminal (openTasks).
func countOpen(s *Session, units []*Unit, openTasks int) SessionCounters {
	done := make(map[Loc]bool, len(units))
	for _, u := range units {
		if u.State.Terminal() {
			done[u.Loc] = true
		}
	}
	c := SessionCounters{OpenTasks: openTasks}
	for _, l := range s.Units {
		if !done[l] {
			c.OpenUnits++
		}
	}
	return c
}

// maxReasons bounds the reasons kept on a session record (DynamoDB items
// are limited to 400 KB); the tasks keep every reason.
const maxReasons = 200

// outcome computes a finished session's status and reasons: Failed if any
// failure-severity reason exists (a backup or copy failed for good, a
// Region was refused), Warning for warnings (retries, a Region without file
// systems, an index that failed), Success otherwise.
func outcome(s *Session, units []*Unit, tasks []*Task) (SessionStatus, []Reason) {
	var reasons []Reason
	seen := map[Reason]bool{}
	add := func(rs []Reason) {
		for _, r := range rs {
			if !seen[r] {
				seen[r] = true
				reasons = append(reasons, r)
			}
		}
	}
	add(s.Reasons)
	for _, u := range units {
		add(u.Reasons)
	}
	for _, t := range tasks {
		add(t.Reasons)
		if t.Phase == PhaseFailed && !hasSeverity(t.Reasons, SeverityFailure) {
			add([]Reason{{Severity: SeverityFailure, Code: ReasonBackupFailed, Account: t.Loc.Account, Region: t.Loc.Region, FileSystem: t.FileSystem,
				Message: fmt.Sprintf("backup of %s failed", t.FileSystem)}})
		}
	}
	status := StatusSuccess
	if hasSeverity(reasons, SeverityWarning) {
		status = StatusWarning
	}
	if hasSeverity(reasons, SeverityFailure) {
		status = StatusFailed
	}
	if len(reasons) > maxReasons {
		// Keep the worst first so that truncation never hides a failure.
		kept := make([]Reason, 0, maxReasons)
		for _, sev := range []Severity{SeverityFailure, SeverityWarning, SeverityInfo} {
			for _, r := range reasons {
				if r.Severity == sev && len(kept) < maxReasons-1 {
					kept = append(kept, r)
				}
			}
		}
		kept = append(kept, Reason{Severity: SeverityInfo, Code: "truncated",
			Message: fmt.Sprintf("%d more reasons are on the session's tasks", len(reasons)-len(kept))})
		reasons = kept
	}
	return status, reasons
}

func hasSeverity(rs []Reason, sev Severity) bool {
	for _, r := range rs {
		if r.Severity == sev {
			return true
		}
	}
	return false
}

// notify publishes the session's notification if its policy asks for one.
// A failure to publish is logged, not returned: the session's outcome must
// not depend on the mail.
func (e *Engine) notify(ctx context.Context, s *Session, rec *PolicyRecord, tasks []*Task, units []*Unit) {
	if rec == nil || rec.Policy == nil || e.Notifier == nil {
		return
	}
	n := rec.Policy.Notifications
	want := s.Status == StatusSuccess && n.OnSuccess || s.Status == StatusWarning && n.OnWarning || s.Status == StatusFailed && n.OnFailure
	if !want {
		return
	}
	if err := e.Notifier.SessionFinished(ctx, SessionNotice{Session: s, Policy: rec, Tasks: tasks, Units: units}); err != nil {
		e.logFor(s.PolicyID, s.ID, Loc{}, "").ErrorContext(ctx, "session notification failed", "error", err)
	}
}
