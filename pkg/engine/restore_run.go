package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Restorer runs restore sessions: Start (the API), Update (Restore Job
// State Change events, from the jobevents function) and Reconcile (the
// reconcile function). Build it with NewRestorer.
type Restorer struct {
	Store   RestoreStore
	Service RestoreService
	// Notifier mails the result when a session ends; nil mails nothing.
	Notifier RestoreNotifier
	Clock    Clock
	Log      *slog.Logger
	Config   RestoreConfig
}

// NewRestorer returns a Restorer with defaults filled in.
func NewRestorer(r Restorer) *Restorer {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	r.Config = r.Config.withDefaults()
	return &r
}

func (rs *Restorer) now() time.Time { return rs.Clock.Now().UTC() }

func (rs *Restorer) logFor(r *Restore) *slog.Logger { return rs.Log.With("restore", r.ID) }

// maxGenerations bounds the search for a free id of a repeated token-less
// request.
const maxGenerations = 1000

// Start validates a request, records the restore session and starts its
// restore jobs. A request that cannot be carried out is an EINVALID error
// whose cause is RequestProblems (every problem, each at its field). The
// same ClientToken returns the same session (a token reused for another
// request is ECONFLICT); a start that was cut short resumes.
//
// Checked with AWS before anything starts: each restore point exists in
// the named vault, is COMPLETED or AVAILABLE and is an EFS point; the
// vault's access policy does not deny StartRestoreJob to efskeeper (the
// EFS automatic-backup vault's does, by default); a restore into the
// original file system uses a point in that file system's own account and
// Region (a copy in another Region can only go to a new file system).
func (rs *Restorer) Start(ctx context.Context, req RestoreRequest) (*Restore, error) {
	norm, err := normalizeRestoreRequest(req, rs.Config)
	if err != nil {
		return nil, err
	}
	hash := requestHash(norm)
	races := 0
	for n := 1; n <= maxGenerations; n++ {
		id := restoreID(norm, hash, n)
		r, err := rs.Store.GetRestore(ctx, id)
		switch {
		case err == nil && r.RequestHash != hash:
			return nil, Errorf(ECONFLICT, "the client token %q was already used for restore %s, which asked for something else; use a new token", req.ClientToken, id)
		case err == nil && (norm.ClientToken != "" || !r.Status.Terminal()):
			return rs.resume(ctx, r)
		case err == nil:
			continue // an identical request that has ended: start anew
		case !IsNotFound(err):
			return nil, fmt.Errorf("start restore %s: read session: %w", id, err)
		}
		r, err = rs.create(ctx, norm, id, hash)
		if IsConflict(err) && races < 3 {
			// Someone created it meanwhile: the next pass reads it.
			races++
			n--
			continue
		}
		if err != nil {
			return nil, err
		}
		return rs.resume(ctx, r)
	}
	return nil, Errorf(ECONFLICT, "start restore: more than %d identical restores; pass a client token", maxGenerations)
}

// create checks the restore points, plans the jobs and records the session.
func (rs *Restorer) create(ctx context.Context, req RestoreRequest, id, hash string) (*Restore, error) {
	if err := rs.checkPoints(ctx, &req); err != nil {
		return nil, err
	}
	now := rs.now()
	r := &Restore{ID: id, ClientToken: req.ClientToken, RequestHash: hash, Full: req.Full, Items: req.Items, Target: req.Target,
		RequestedBy: req.RequestedBy, Status: RestoreRunning, CreatedAt: now, UpdatedAt: now}
	jobs, err := planRestoreJobs(r, rs.Config)
	if err != nil {
		return nil, err
	}
	r.Jobs = jobs
	if err := rs.Store.CreateRestore(ctx, r); err != nil {
		return nil, fmt.Errorf("start restore %s: record session: %w", id, err)
	}
	rs.logFor(r).Info("restore session created", "jobs", len(r.Jobs), "points", len(r.Items), "paths", r.PathCount(), "target", string(r.Target.Kind), "full", r.Full)
	return r, nil
}

// restorePrincipals are the roles that call StartRestoreJob in l: the
// member role (other accounts) and the functions that start restore jobs.
func (rs *Restorer) restorePrincipals(l Loc) []string {
	return []string{roleArn(l, rs.Config.MemberRoleName), roleArn(l, rs.Config.FunctionRolePrefix+"api"), roleArn(l, rs.Config.FunctionRolePrefix+"reconcile")}
}

// checkPoints reads each item's restore point and fills in what the
// session records about it. Problems with the request are collected into
// one EINVALID error; a failed AWS call is returned as it is. The points
// are read in parallel: the API answers within API Gateway's 29 seconds.
func (rs *Restorer) checkPoints(ctx context.Context, req *RestoreRequest) error {
	problems := make([]RequestProblems, len(req.Items))
	errs := make([]error, len(req.Items))
	parallel(len(req.Items), func(i int) {
		problems[i], errs[i] = rs.checkPoint(ctx, req, i)
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var ps RequestProblems
	for _, p := range problems {
		ps = append(ps, p...)
	}
	return ps.err()
}

// checkPoint checks item i; it changes req.Items[i] only.
func (rs *Restorer) checkPoint(ctx context.Context, req *RestoreRequest, i int) (RequestProblems, error) {
	var ps RequestProblems
	it := &req.Items[i]
	f := "items[" + strconv.Itoa(i) + "]"
	l := it.Loc()
	rp, err := rs.Service.DescribeRecoveryPoint(ctx, l, it.Vault, it.RecoveryPointArn)
	if IsNotFound(err) {
		ps.add(f+".recoveryPointArn", "there is no restore point %s in vault %q of account %s, %s", it.RecoveryPointArn, it.Vault, l.Account, l.Region)
		return ps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("start restore: read restore point %s in %s: %w", it.RecoveryPointArn, l, err)
	}
	if rp.Status != RPCompleted && rp.Status != RPAvailable {
		ps.add(f+".recoveryPointArn", "the restore point is %s; only COMPLETED (AVAILABLE) points can be restored", rp.Status)
		return ps, nil
	}
	fsLoc, fsID, ok := fileSystemOf(rp.ResourceArn)
	if !ok {
		ps.add(f+".recoveryPointArn", "is a restore point of %s, not of an EFS file system", rp.ResourceArn)
		return ps, nil
	}
	doc, err := rs.Service.VaultAccessPolicy(ctx, l, it.Vault)
	if err != nil {
		return nil, fmt.Errorf("start restore: read the access policy of vault %q in %s: %w", it.Vault, l, err)
	}
	verdict, err := EvaluateVaultPolicy(doc, []string{"backup:StartRestoreJob"}, rs.restorePrincipals(l))
	if err != nil {
		ps.add(f+".vault", "the access policy of vault %q cannot be read (%v), so efskeeper cannot tell whether it allows restores", it.Vault, err)
		return ps, nil
	}
	if len(verdict.Denied) > 0 {
		hint := "remove the Deny of backup:StartRestoreJob or copy the point to another vault first"
		if strings.HasPrefix(it.Vault, "aws/") {
			hint = "this is the EFS automatic-backup vault, whose policy denies restores; change its access policy or copy the point to a vault of your own first"
		}
		ps.add(f+".vault", "the access policy of vault %q in account %s, %s denies backup:StartRestoreJob to efskeeper; %s", it.Vault, l.Account, l.Region, hint)
		return ps, nil
	}
	md, err := rs.Service.RestoreMetadata(ctx, l, it.Vault, it.RecoveryPointArn)
	if err != nil {
		return nil, fmt.Errorf("start restore: read the restore metadata of %s in %s: %w", it.RecoveryPointArn, l, err)
	}
	if id := md[MetaFileSystemID]; id != "" {
		fsID = id
	}
	it.FileSystem, it.FileSystemLoc, it.PointTime, it.PolicyID = fsID, fsLoc, rp.CreatedAt, rp.Tags[TagPolicy]
	if req.Target.Kind == TargetOriginal && fsLoc != l {
		ps.add(f+".recoveryPointArn", "the restore point is in account %s, %s but %s is in account %s, %s (the point is a copy): AWS Backup restores only in the point's own Region, so restore it to a new file system (target.kind %q) or use the source restore point",
			l.Account, l.Region, fsID, fsLoc.Account, fsLoc.Region, TargetNewFileSystem)
	}
	if az := req.Target.AvailabilityZone; az != "" {
		if m := azNameRE.FindStringSubmatch(az); m != nil && m[1] != l.Region {
			ps.add("target.availabilityZone", "%s is not in %s, where the restore point of %s is and its new file system will be", az, l.Region, f)
		}
	}
	return ps, nil
}

// maxParallel bounds the AWS calls a restore makes at once.
const maxParallel = 8

// parallel calls fn(0..n-1), at most maxParallel at a time, and waits.
func parallel(n int, fn func(i int)) {
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// resume starts the jobs of a session that have not started yet, and ends
// the session if nothing is left to wait for.
func (rs *Restorer) resume(ctx context.Context, r *Restore) (*Restore, error) {
	if r.Status.Terminal() {
		return r, nil
	}
	r, _, err := rs.startPending(ctx, r)
	if err != nil {
		return nil, err
	}
	if allJobsTerminal(r) {
		if err := rs.finish(ctx, r.ID); err != nil {
			return nil, err
		}
		return rs.Store.GetRestore(ctx, r.ID)
	}
	return r, nil
}

// jobStart is the outcome of one StartRestoreJob call.
type jobStart struct {
	started StartedJob
	err     error
}

// startPending calls StartRestoreJob for every job not started yet and
// records the answers. A passing failure (throttling, an outage) leaves
// the job for Reconcile; a refusal ends the job as given up, with AWS's
// answer as its message. It returns how many jobs it started.
func (rs *Restorer) startPending(ctx context.Context, r *Restore) (*Restore, int, error) {
	var pending []int
	for i, j := range r.Jobs {
		if j.State == JobNotStarted {
			pending = append(pending, i)
		}
	}
	answers := make([]jobStart, len(pending))
	parallel(len(pending), func(k int) {
		i := pending[k]
		j := r.Jobs[i]
		started, err := rs.Service.StartRestore(ctx, StartRestoreRequest{
			Loc: j.Loc, RecoveryPointArn: j.RecoveryPointArn, IamRoleArn: roleArn(j.Loc, rs.Config.BackupRoleName),
			Token: j.Token, Metadata: RestoreMetadata(r, i),
		})
		answers[k] = jobStart{started, err}
	})
	outcomes := map[int]jobStart{}
	for k, a := range answers {
		i := pending[k]
		// A start that keeps failing for passing reasons is retried by
		// Reconcile until JobTimeout after the session began, then given up.
		if a.err != nil && retriable(a.err) && rs.now().Sub(r.CreatedAt) < rs.Config.JobTimeout {
			rs.logFor(r).Warn("restore job start deferred", "job", i, "account", r.Jobs[i].Loc.Account, "region", r.Jobs[i].Loc.Region, "error", a.err)
			continue
		}
		outcomes[i] = a
	}
	if len(outcomes) == 0 {
		return r, 0, nil
	}
	now := rs.now()
	n := 0
	out, err := update(ctx,
		func(ctx context.Context) (*Restore, error) { return rs.Store.GetRestore(ctx, r.ID) },
		func(cur *Restore) (bool, error) {
			n = 0
			for i, o := range outcomes {
				j := &cur.Jobs[i]
				if j.State != JobNotStarted {
					continue
				}
				j.UpdatedAt = now
				if o.err != nil {
					j.State, j.Message = JobGaveUp, fmt.Sprintf("AWS Backup refused to start the restore job: %v", o.err)
					rs.logFor(cur).Warn("restore job refused", "job", i, "error", o.err)
					continue
				}
				j.JobID, j.State, j.StartedAt = o.started.JobID, JobCreated, now
				n++
				rs.logFor(cur).Info("restore job started", "job", i, "awsJob", j.JobID, "account", j.Loc.Account, "region", j.Loc.Region, "paths", len(j.Paths))
			}
			cur.UpdatedAt = now
			return true, nil
		},
		rs.Store.PutRestore)
	if err != nil {
		return nil, 0, fmt.Errorf("restore %s: record started jobs: %w", r.ID, err)
	}
	return out, n, nil
}

// stateRank orders job states so that a late event never moves a job back.
func stateRank(s JobState) int {
	switch {
	case s.Terminal():
		return 4
	case s == JobRunning:
		return 3
	case s == JobPending:
		return 2
	case s == JobCreated:
		return 1
	}
	return 0
}

// Update applies a Restore Job State Change event (or a DescribeRestoreJob
// answer) to the session that started the job. Updates of other job kinds
// and of restore jobs efskeeper did not start are ignored; duplicates and
// late, out-of-order events change nothing.
func (rs *Restorer) Update(ctx context.Context, u JobUpdate) error {
	if u.Kind != KindRestore || u.JobID == "" {
		return nil
	}
	r, err := rs.Store.RestoreByJob(ctx, u.JobID)
	if IsNotFound(err) {
		rs.Log.Debug("restore job of no restore session ignored", "awsJob", u.JobID, "account", u.Loc.Account, "region", u.Loc.Region)
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s %s: find its session: %w", u.JobID, u.State, err)
	}
	r, err = rs.apply(ctx, r, u)
	if err != nil {
		return err
	}
	if r.Status == RestoreRunning && allJobsTerminal(r) {
		return rs.finish(ctx, r.ID)
	}
	return nil
}

// apply writes one job update into the session, re-reading on conflict.
func (rs *Restorer) apply(ctx context.Context, first *Restore, u JobUpdate) (*Restore, error) {
	now := rs.now()
	cur := first
	r, err := update(ctx,
		func(ctx context.Context) (*Restore, error) {
			if cur != nil {
				r := cur
				cur = nil
				return r, nil
			}
			return rs.Store.GetRestore(ctx, first.ID)
		},
		func(r *Restore) (bool, error) {
			i := jobIndex(r, u.JobID)
			if i < 0 {
				return false, nil
			}
			j := &r.Jobs[i]
			j.UpdatedAt = now // news of the job, even if it says nothing new
			if stateRank(u.State) <= stateRank(j.State) {
				return u.Kind == KindRestore && u.EventTime.IsZero(), nil // a read-back still records that it was checked
			}
			j.State = u.State
			if u.Message != "" {
				j.Message = u.Message
			}
			if u.CreatedResourceArn != "" {
				j.CreatedResourceArn = u.CreatedResourceArn
			}
			if !u.CompletedAt.IsZero() {
				j.CompletedAt = u.CompletedAt
			} else if u.State.Terminal() {
				j.CompletedAt = now
			}
			r.UpdatedAt = now
			if u.State.Terminal() {
				rs.logFor(r).Info("restore job ended", "job", i, "awsJob", u.JobID, "state", string(u.State), "message", u.Message, "created", j.CreatedResourceArn)
			}
			return true, nil
		},
		rs.Store.PutRestore)
	if err != nil {
		return nil, fmt.Errorf("restore %s: record job %s %s: %w", first.ID, u.JobID, u.State, err)
	}
	return r, nil
}

func jobIndex(r *Restore, jobID string) int {
	for i, j := range r.Jobs {
		if j.JobID == jobID {
			return i
		}
	}
	return -1
}

func allJobsTerminal(r *Restore) bool {
	for _, j := range r.Jobs {
		if !j.State.Terminal() {
			return false
		}
	}
	return true
}

// restoreOutcome is the status of a session whose jobs all ended.
func restoreOutcome(r *Restore) RestoreStatus {
	done := 0
	for _, j := range r.Jobs {
		if j.State.Succeeded() {
			done++
		}
	}
	switch {
	case done == len(r.Jobs):
		return RestoreCompleted
	case done == 0:
		return RestoreFailed
	}
	return RestorePartial
}

// finish ends a session whose jobs have all ended: it sets the status,
// mails the result and records both. The mail goes out before the final
// write, so a crash in between mails again at the next attempt rather than
// never; a lost write race leaves the session to whoever won it (or to the
// next Reconcile).
func (rs *Restorer) finish(ctx context.Context, id string) error {
	r, err := rs.Store.GetRestore(ctx, id)
	if err != nil {
		return fmt.Errorf("finish restore %s: %w", id, err)
	}
	if r.Status.Terminal() || !allJobsTerminal(r) {
		return nil
	}
	now := rs.now()
	r.Status, r.EndedAt, r.UpdatedAt = restoreOutcome(r), now, now
	if rs.Notifier != nil {
		if err := rs.Notifier.RestoreFinished(ctx, RestoreNotice{Restore: r}); err != nil {
			rs.logFor(r).Error("restore notification failed", "error", err)
		} else {
			r.Notified = true
		}
	}
	if err := rs.Store.PutRestore(ctx, r); err != nil {
		if IsConflict(err) {
			return nil
		}
		return fmt.Errorf("finish restore %s: record outcome: %w", id, err)
	}
	rs.logFor(r).Info("restore session finished", "status", string(r.Status), "jobs", len(r.Jobs))
	return nil
}

// Get returns a restore session.
func (rs *Restorer) Get(ctx context.Context, id string) (*Restore, error) {
	return rs.Store.GetRestore(ctx, id)
}

// List pages through restore sessions, newest first.
func (rs *Restorer) List(ctx context.Context, q RestoreQuery) ([]*Restore, string, error) {
	return rs.Store.ListRestores(ctx, q)
}

// RestoreReconcileResult says what one reconcile pass over restores did.
type RestoreReconcileResult struct {
	Sessions    int // running sessions looked at
	JobsStarted int // deferred starts
	JobsRead    int // DescribeRestoreJob calls
	TimedOut    int
	Finished    int
}

// Reconcile covers for lost events: in every running session, jobs whose
// start was deferred are started, jobs without news for StaleAfter are
// read back with DescribeRestoreJob and go through Update's code, jobs
// running longer than JobTimeout are given up, and a session whose jobs
// have all ended is finished.
func (rs *Restorer) Reconcile(ctx context.Context) (RestoreReconcileResult, error) {
	var res RestoreReconcileResult
	var errs []error
	cursor := ""
	for {
		page, next, err := rs.Store.ListRestores(ctx, RestoreQuery{RunningOnly: true, Cursor: cursor})
		if err != nil {
			return res, errors.Join(append(errs, fmt.Errorf("reconcile restores: list running sessions: %w", err))...)
		}
		for _, r := range page {
			res.Sessions++
			if err := rs.reconcileOne(ctx, r, &res); err != nil {
				errs = append(errs, err)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return res, errors.Join(errs...)
}

func (rs *Restorer) reconcileOne(ctx context.Context, r *Restore, res *RestoreReconcileResult) error {
	now := rs.now()
	r, n, err := rs.startPending(ctx, r)
	if err != nil {
		return err
	}
	res.JobsStarted += n
	for _, j := range r.Jobs {
		if j.State.Terminal() || j.JobID == "" {
			continue
		}
		if !j.StartedAt.IsZero() && now.Sub(j.StartedAt) >= rs.Config.JobTimeout {
			res.TimedOut++
			msg := fmt.Sprintf("no result from AWS Backup %s after the job started; efskeeper stopped waiting (the job may still finish: check AWS Backup's restore jobs)", rs.Config.JobTimeout)
			if r, err = rs.apply(ctx, r, JobUpdate{Kind: KindRestore, JobID: j.JobID, State: JobGaveUp, Message: msg}); err != nil {
				return err
			}
			continue
		}
		if now.Sub(j.UpdatedAt) < rs.Config.StaleAfter {
			continue
		}
		res.JobsRead++
		u, err := rs.Service.DescribeRestoreJob(ctx, j.Loc, j.JobID)
		switch {
		case IsNotFound(err):
			u = JobUpdate{State: JobFailed, Message: "AWS Backup no longer knows this restore job"}
		case err != nil:
			return fmt.Errorf("reconcile restore %s: describe restore job %s in %s: %w", r.ID, j.JobID, j.Loc, err)
		}
		u.Kind, u.JobID, u.Loc, u.EventTime = KindRestore, j.JobID, j.Loc, time.Time{}
		if r, err = rs.apply(ctx, r, u); err != nil {
			return err
		}
	}
	if allJobsTerminal(r) {
		res.Finished++
		return rs.finish(ctx, r.ID)
	}
	return nil
}
