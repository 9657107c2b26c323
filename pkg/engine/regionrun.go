package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// sessionHead reads a session without its units when the store can
// (SessionHeads), else whole.
func (e *Engine) sessionHead(ctx context.Context, id string) (*Session, error) {
	if h, ok := e.Store.(SessionHeads); ok {
		return h.GetSessionHead(ctx, id)
	}
	return e.Store.GetSession(ctx, id)
}

// RunRegion runs one unit of a session: one account and Region. It makes
// sure EFS is opted in to AWS Backup there, resolves and checks the backup
// vault and the copy vault, lists the selected file systems and starts one
// backup job per file system under a derived IdempotencyToken.
//
// A returned error means "try again later" (the SQS message is redelivered):
// it is only returned for passing failures. Problems with the account or
// the policy end the unit with a reason on the session instead.
func (e *Engine) RunRegion(ctx context.Context, m RegionRunMsg) error {
	now := e.now()
	l := m.Loc()
	log := e.logFor(m.PolicyID, m.SessionID, l, "")
	s, err := e.sessionHead(ctx, m.SessionID)
	if IsNotFound(err) {
		log.WarnContext(ctx, "region run for an unknown session dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("region run %s %s: read session: %w", m.SessionID, l, err)
	}
	if s.Status.Terminal() {
		return nil
	}
	uid := UnitID(m.SessionID, l)
	u, err := e.Store.GetUnit(ctx, uid)
	resumed := err == nil
	if IsNotFound(err) {
		u = &Unit{SessionID: m.SessionID, PolicyID: m.PolicyID, Loc: l, State: UnitPending, Attempts: 1, CreatedAt: now, UpdatedAt: now}
		if err = e.Store.CreateUnit(ctx, u); IsConflict(err) {
			u, err = e.Store.GetUnit(ctx, uid)
			resumed = true
		}
	}
	if err != nil {
		return fmt.Errorf("region run %s %s: unit record: %w", m.SessionID, l, err)
	}
	if u.State.Terminal() {
		return nil // a duplicate message
	}
	rec, err := e.Store.GetPolicy(ctx, m.PolicyID)
	if IsNotFound(err) {
		return e.endUnit(ctx, u, UnitFailed, []Reason{{Severity: SeverityFailure, Code: ReasonRegionError,
			Account: l.Account, Region: l.Region, Message: "the policy was deleted before this Region ran"}})
	}
	if err != nil {
		return fmt.Errorf("region run %s %s: read policy: %w", m.SessionID, l, err)
	}
	p := rec.Policy
	var reasons []Reason
	fail := func(code, msg string) error {
		reasons = append(reasons, Reason{Severity: SeverityFailure, Code: code, Account: l.Account, Region: l.Region, Message: msg})
		return e.endUnit(ctx, u, UnitSkipped, reasons)
	}

	// 1. EFS opt-in.
	on, err := e.Backup.EFSOptIn(ctx, l)
	if err != nil {
		if retriable(err) {
			return fmt.Errorf("region run %s: read Region settings: %w", l, err)
		}
		return fail(ReasonOptInFailed, fmt.Sprintf("could not read the AWS Backup Region settings of account %s, %s: %v", l.Account, l.Region, err))
	}
	if !on {
		if err := e.Backup.EnableEFSOptIn(ctx, l); err != nil {
			if retriable(err) {
				return fmt.Errorf("region run %s: enable EFS opt-in: %w", l, err)
			}
			return fail(ReasonOptInFailed, fmt.Sprintf("EFS is not opted in to AWS Backup in account %s, %s and efskeeper could not turn it on: %v; opt in under AWS Backup > Settings > Service opt-in", l.Account, l.Region, err))
		}
		log.InfoContext(ctx, "opted EFS in to AWS Backup")
		reasons = append(reasons, Reason{Severity: SeverityInfo, Code: ReasonOptInEnabled, Account: l.Account, Region: l.Region,
			Message: fmt.Sprintf("EFS was not opted in to AWS Backup in account %s, %s; efskeeper opted it in", l.Account, l.Region)})
	}

	// 2. Vaults.
	bt, ok := backupTarget(p, l.Region)
	if !ok {
		return fail(ReasonVaultMissing, fmt.Sprintf("the policy names no backup vault for %s; add an entry for it (or \"*\") to backup.vaults", l.Region))
	}
	vault, warns, prob := e.resolveVault(ctx, l, bt, BackupVaultActions)
	if prob != nil {
		if prob.Retry != nil {
			return fmt.Errorf("region run %s: %s", l, prob.Message)
		}
		log.WarnContext(ctx, "backup vault refused", "code", prob.Code, "reason", prob.Message)
		return fail(prob.Code, prob.Message)
	}
	reasons = append(reasons, warns...)
	copies, copyReasons, err := e.copyPlan(ctx, p, l)
	if err != nil {
		return err
	}
	reasons = append(reasons, copyReasons...)

	// 3. File systems.
	all, err := e.FileSystems.ListFileSystems(ctx, l)
	if err != nil {
		if retriable(err) {
			return fmt.Errorf("region run %s: list file systems: %w", l, err)
		}
		return fail(ReasonRegionError, fmt.Sprintf("could not list the EFS file systems of account %s, %s: %v", l.Account, l.Region, err))
	}
	selected := make([]FileSystem, 0, len(all))
	for _, fs := range all {
		if fs.LifeCycle != "" && fs.LifeCycle != "available" {
			continue
		}
		if p.Source.Selects(fs.ID, fs.Tags) {
			selected = append(selected, fs)
		}
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].ID < selected[j].ID })
	if len(selected) == 0 {
		reasons = append(reasons, Reason{Severity: SeverityWarning, Code: ReasonNoFileSystems, Account: l.Account, Region: l.Region,
			Message: fmt.Sprintf("no available file system in account %s, %s matches the policy's selection", l.Account, l.Region)})
		return e.endUnit(ctx, u, UnitDone, reasons)
	}

	// 4. One backup job per file system.
	open := 0
	var start backupStart
	for _, fs := range selected {
		t := &Task{
			SessionID: s.ID, PolicyID: p.ID, Loc: l, FileSystem: fs.ID, ResourceArn: fs.Arn,
			Schedules: s.Schedules, ScheduledAt: s.ScheduledAt, VaultName: vault.Name, VaultArn: vault.Arn,
			Phase: PhaseBackup, Copies: cloneCopies(copies), CreatedAt: now, UpdatedAt: now,
			MaxAttempts: p.Retries.Count + 1, RetryInterval: p.Retries.IntervalMinutes,
			Index: p.Indexing.Enabled, Lifecycle: lifecycle(p),
		}
		t.RetainAt = retainEstimate(p, t)
		if resumed {
			existing, err := e.Store.GetTask(ctx, t.ID())
			if err == nil {
				if !existing.Phase.Terminal() {
					open++
				}
				continue
			}
			if !IsNotFound(err) {
				return fmt.Errorf("region run %s: read task of %s: %w", l, fs.ID, err)
			}
		}
		if start.tags == nil { // the same for every task of the unit
			start = e.backupStartFor(t)
		}
		if err := e.startBackupAttempt(ctx, t, 1, start); err != nil {
			return err
		}
		if err := e.Store.CreateTask(ctx, t); err != nil {
			if !IsConflict(err) {
				return fmt.Errorf("region run %s: record task of %s: %w", l, fs.ID, err)
			}
			// Another delivery of this message created it first.
			existing, err := e.Store.GetTask(ctx, t.ID())
			if err != nil {
				return fmt.Errorf("region run %s: read task of %s: %w", l, fs.ID, err)
			}
			t = existing
		}
		if !t.Phase.Terminal() {
			open++
		}
	}
	u.Tasks = len(selected)
	return e.endUnitWithTasks(ctx, u, UnitDone, open, reasons)
}

// copyPlan resolves the copy vault of a source Region. A refused copy vault
// does not stop the backups: the copies are recorded as skipped with the
// reason, which fails the session (a promised copy is missing).
func (e *Engine) copyPlan(ctx context.Context, p *policy.Policy, l Loc) ([]Copy, []Reason, error) {
	m, ct, ok := copyTarget(p, l.Region)
	if !ok {
		return nil, nil, nil
	}
	tl := Loc{Account: l.Account, Region: m.TargetRegion}
	v, warns, prob := e.resolveVault(ctx, tl, ct, CopyVaultActions)
	if prob != nil {
		if prob.Retry != nil {
			return nil, nil, fmt.Errorf("region run %s: copy vault: %s", l, prob.Message)
		}
		msg := fmt.Sprintf("copies from %s to %s were not started: %s", l.Region, m.TargetRegion, prob.Message)
		c := Copy{TargetRegion: m.TargetRegion, VaultName: ct.Name, Job: Job{State: JobSkipped, Message: msg}}
		return []Copy{c}, []Reason{{Severity: SeverityFailure, Code: prob.Code, Account: l.Account, Region: l.Region, Message: msg}}, nil
	}
	return []Copy{{TargetRegion: m.TargetRegion, VaultName: v.Name, VaultArn: v.Arn}}, warns, nil
}

func cloneCopies(cs []Copy) []Copy {
	if cs == nil {
		return nil
	}
	return append([]Copy(nil), cs...)
}

// backupStart is what the backup starts of one unit (account, Region and
// session) share: the role and the recovery point tags, made once per unit
// rather than per file system. The tags map is shared by those requests:
// read-only.
type backupStart struct {
	role string
	tags map[string]string
}

func (e *Engine) backupStartFor(t *Task) backupStart {
	return backupStart{
		role: roleArn(t.Loc, e.Config.BackupRoleName),
		tags: map[string]string{TagPolicy: t.PolicyID, TagSession: t.SessionID, TagSchedules: policy.JoinSchedules(t.Schedules)},
	}
}

// startBackupAttempt starts attempt n of a task's backup job and records
// the job on the task (not in the store). A failure to start counts as a
// failed attempt, except passing failures, which are returned.
func (e *Engine) startBackupAttempt(ctx context.Context, t *Task, n int, start backupStart) error {
	now := e.now()
	tok := t.backupToken(n)
	req := StartBackupRequest{
		Loc: t.Loc, VaultName: t.VaultName, ResourceArn: t.ResourceArn,
		IamRoleArn:            start.role,
		Token:                 tok,
		StartWindowMinutes:    e.Config.StartWindowMinutes,
		CompleteWindowMinutes: e.Config.CompleteWindowMinutes,
		Lifecycle:             t.Lifecycle,
		RecoveryPointTags:     start.tags,
	}
	started, err := e.Backup.StartBackup(ctx, req)
	if err != nil {
		if retriable(err) {
			return fmt.Errorf("start backup of %s in %s: %w", t.FileSystem, t.Loc, err)
		}
		t.Backup = Job{State: JobFailed, Attempt: n, Token: tok, Message: fmt.Sprintf("AWS Backup refused to start the backup: %v", err), UpdatedAt: now}
		e.backupFailed(t, now)
		return nil
	}
	t.Backup = Job{ID: started.JobID, State: JobCreated, Attempt: n, Token: tok, StartedAt: now, UpdatedAt: now}
	if started.RecoveryPointArn != "" {
		t.RecoveryPointArn = started.RecoveryPointArn
	}
	t.Phase = PhaseBackup
	t.NextCheckAt = now.Add(e.Config.StaleAfter)
	if e.Log.Enabled(ctx, slog.LevelInfo) { // the arguments cost allocations even when dropped
		e.logFor(t.PolicyID, t.SessionID, t.Loc, t.FileSystem).InfoContext(ctx, "backup started", "job", started.JobID, "attempt", n)
	}
	return nil
}

// lifecycle is the AWS Backup lifecycle of the policy: cold storage only.
// Deletion is efskeeper's retention, which knows about count-based rules,
// several schedules per point and the safeguards.
func lifecycle(p *policy.Policy) *Lifecycle {
	if p.Lifecycle == nil || p.Lifecycle.ColdAfterDays <= 0 {
		return nil
	}
	return &Lifecycle{MoveToColdStorageAfterDays: int64(p.Lifecycle.ColdAfterDays)}
}

// endUnit finishes a unit that created no open task.
func (e *Engine) endUnit(ctx context.Context, u *Unit, state UnitState, reasons []Reason) error {
	return e.endUnitWithTasks(ctx, u, state, 0, reasons)
}

// endUnitWithTasks writes the unit's final state, then moves the session
// counters: one unit less open, openTasks more. The write comes first so
// that a redelivered message finds the unit terminal and counts nothing.
func (e *Engine) endUnitWithTasks(ctx context.Context, u *Unit, state UnitState, openTasks int, reasons []Reason) error {
	now := e.now()
	for attempt := 0; ; attempt++ {
		u.State = state
		u.Reasons = append(u.Reasons, reasons...)
		u.UpdatedAt = now
		err := e.Store.PutUnit(ctx, u)
		if err == nil {
			break
		}
		if !IsConflict(err) || attempt >= 8 {
			return fmt.Errorf("region run %s: record unit: %w", u.Loc, err)
		}
		// The reconciler touched the unit (a resend) or gave up on it.
		fresh, err := e.Store.GetUnit(ctx, u.ID())
		if err != nil {
			return fmt.Errorf("region run %s: re-read unit: %w", u.Loc, err)
		}
		u = fresh
		if u.State.Terminal() {
			// Given up meanwhile: the jobs started here still count
			// through their tasks when the session is recounted.
			return nil
		}
	}
	e.logFor(u.PolicyID, u.SessionID, u.Loc, "").InfoContext(ctx, "region run finished", "state", string(state), "tasks", u.Tasks)
	return e.adjust(ctx, u.SessionID, SessionDelta{OpenUnits: -1, OpenTasks: openTasks})
}
