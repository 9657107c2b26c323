package engine

import (
	"context"
	"fmt"
	"path"
	"time"
)

// Launch starts the index run of one task's restore point (indexlaunch):
// it records the run, takes the file system's index slot (one run per
// file system at a time), runs the network preflight, picks a base for a
// delta index and launches the worker with an idempotent RunInstances.
//
// A returned error means "try again later" (SQS redelivers the message)
// and is only returned for passing failures; a redelivery finds the run
// record and the same ClientToken, so it never launches a second worker.
// Problems an admin must fix (the preflight, a refused launch) end the run
// failed with a warning on the session instead.
func (ix *Indexer) Launch(ctx context.Context, m IndexRunMsg) error {
	if m.TaskID == "" || m.FileSystem == "" || m.RecoveryPointArn == "" || m.Account == "" || m.Region == "" {
		ix.Log.Warn("index run message without task, file system, restore point or location dropped", "task", m.TaskID)
		return nil
	}
	run, err := ix.startRecord(ctx, m)
	if err != nil {
		return err
	}
	log := ix.logFor(run)
	if run.State.Terminal() || run.State == IndexRunning {
		log.Debug("index run already under way or finished", "state", string(run.State))
		return nil
	}
	cfg, err := ix.workerConfig(ctx, run.Loc)
	if err != nil {
		return fmt.Errorf("index run %s: %w", run.ID, err)
	}
	lifetime := ix.lifetime(cfg)
	now := ix.now()
	lock, err := ix.Runs.LockFileSystem(ctx, run.Loc, run.FileSystem, run.ID, now, now.Add(lifetime+ix.Config.ReportGrace+30*time.Minute))
	if IsConflict(err) {
		return ix.end(ctx, run, IndexSkipped, fmt.Sprintf("restore point %s of %s was not indexed: index run %s of the same file system holds it until %s (one index run per file system at a time)",
			run.RecoveryPointArn, run.FileSystem, lock.RunID, lock.Until.Format(time.RFC3339)), nil)
	}
	if err != nil {
		return fmt.Errorf("index run %s of %s: take the file system's index slot: %w", run.ID, run.FileSystem, err)
	}
	if lock.Previous != "" {
		ix.expireRun(ctx, lock.Previous, "a later index run of the same file system found its slot expired")
	}

	// Preflight.
	mts, err := ix.Network.MountTargets(ctx, run.Loc, run.FileSystem)
	switch {
	case IsNotFound(err):
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: the file system no longer exists in account %s, %s", run.FileSystem, run.Loc.Account, run.Loc.Region), nil)
	case err != nil && retriable(err):
		return fmt.Errorf("index run %s: list mount targets of %s: %w", run.ID, run.FileSystem, err)
	case err != nil:
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: its mount targets could not be listed: %v", run.FileSystem, err), nil)
	}
	view, err := ix.Network.DescribeNetwork(ctx, run.Loc, PreflightQuery(mts, cfg))
	switch {
	case err != nil && retriable(err):
		return fmt.Errorf("index run %s: describe the network of %s: %w", run.ID, run.FileSystem, err)
	case err != nil:
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: the network of account %s, %s could not be described: %v", run.FileSystem, run.Loc.Account, run.Loc.Region, err), nil)
	}
	place, err := Preflight(PreflightInput{Loc: run.Loc, FileSystem: run.FileSystem, MountTargets: mts, Config: cfg, Network: view,
		BucketRegion: ix.Config.BucketRegion, InterfaceEndpoints: ix.Config.InterfaceEndpoints})
	if err != nil {
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: %v", run.FileSystem, err), nil)
	}
	baseKey, err := ix.chooseBase(ctx, run)
	if err != nil {
		return fmt.Errorf("index run %s: %w", run.ID, err)
	}

	// Record the launch before making it: a crash after RunInstances then
	// leaves a "launching" run, whose redelivery repeats the call with the
	// same ClientToken and gets the same instance.
	now = ix.now()
	run.State = IndexLaunching
	run.Attempts++
	run.MountTargetID, run.MountTargetIP = place.MountTarget.ID, place.MountTarget.IPAddress
	run.AvailabilityZone, run.VpcID, run.SubnetID = place.AvailabilityZone, place.VpcID, place.SubnetID
	run.SecurityGroupIDs, run.PrivateNetwork, run.InstanceType = place.SecurityGroupIDs, place.PrivateNetwork, place.InstanceType
	run.IndexKey, run.BaseKey, run.ResultKey = IndexKey(run.Loc, run.FileSystem, run.RecoveryPointArn), baseKey, ResultKey(run.ID)
	run.LaunchedAt, run.UpdatedAt = now, now
	run.Deadline = now.Add(lifetime + ix.Config.ReportGrace)
	if err := ix.Runs.PutIndexRun(ctx, run); err != nil {
		return fmt.Errorf("index run %s: record the launch: %w", run.ID, err)
	}
	job := WorkerJob{
		RunID: run.ID, Account: run.Loc.Account, Region: run.Loc.Region, FileSystem: run.FileSystem,
		MountTargetIP: run.MountTargetIP, Bucket: ix.Config.Bucket, BucketRegion: ix.Config.BucketRegion,
		IndexKey: run.IndexKey, BaseKey: run.BaseKey, ResultKey: run.ResultKey,
		RecoveryPointArn: run.RecoveryPointArn, BackupCreatedAt: run.BackupCreatedAt,
		MaxLifetimeSeconds: int64(lifetime / time.Second),
	}
	if err := job.Validate(); err != nil {
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: %v", run.FileSystem, err), nil)
	}
	id, err := ix.Instances.RunWorker(ctx, WorkerLaunch{Loc: run.Loc, RunID: run.ID, FileSystem: run.FileSystem,
		SubnetID: run.SubnetID, SecurityGroupIDs: run.SecurityGroupIDs, InstanceType: run.InstanceType, Job: job})
	switch {
	case IsConflict(err):
		// EC2 knows the token with other parameters: an earlier attempt
		// launched the worker, whose result will come.
		log.Warn("worker already launched under this run's client token", "error", err)
		id = ""
	case err != nil && retriable(err):
		return fmt.Errorf("index run %s: launch the worker in %s: %w", run.ID, run.SubnetID, err)
	case err != nil:
		return ix.end(ctx, run, IndexFailed, fmt.Sprintf("%s was not indexed: EC2 did not launch the worker in subnet %s: %v", run.FileSystem, run.SubnetID, err), nil)
	}
	_, err = update(ctx,
		func(ctx context.Context) (*IndexRun, error) { return ix.Runs.GetIndexRun(ctx, run.ID) },
		func(r *IndexRun) (bool, error) {
			if r.State != IndexLaunching {
				return false, nil // the worker reported already
			}
			r.State, r.InstanceID, r.UpdatedAt = IndexRunning, id, ix.now()
			return true, nil
		},
		ix.Runs.PutIndexRun)
	if err != nil {
		return fmt.Errorf("index run %s: record instance %s: %w", run.ID, id, err)
	}
	log.Info("index worker launched", "instance", id, "subnet", run.SubnetID, "mountTarget", run.MountTargetID,
		"privateNetwork", run.PrivateNetwork, "base", run.BaseKey)
	return nil
}

// startRecord returns the run of the message's task, creating it.
func (ix *Indexer) startRecord(ctx context.Context, m IndexRunMsg) (*IndexRun, error) {
	id := IndexRunID(m.TaskID)
	run, err := ix.Runs.GetIndexRun(ctx, id)
	if err == nil {
		return run, nil
	}
	if !IsNotFound(err) {
		return nil, fmt.Errorf("index run %s of %s: read the record: %w", id, m.FileSystem, err)
	}
	now := ix.now()
	run = &IndexRun{ID: id, TaskID: m.TaskID, PolicyID: m.PolicyID, SessionID: m.SessionID,
		Loc: Loc{Account: m.Account, Region: m.Region}, FileSystem: m.FileSystem,
		RecoveryPointArn: m.RecoveryPointArn, BackupCreatedAt: m.BackupCreatedAt.UTC(),
		State: IndexPending, CreatedAt: now, UpdatedAt: now}
	err = ix.Runs.CreateIndexRun(ctx, run)
	if IsConflict(err) {
		run, err = ix.Runs.GetIndexRun(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("index run %s of %s: create the record: %w", id, m.FileSystem, err)
	}
	return run, nil
}

// chooseBase picks the full index the new index is a delta of, or "" for a
// full index: the newest done run's base (or that run, if it is full),
// unless its delta grew past DeltaMaxFraction of the base, the base
// already has MaxDeltaChain deltas, or retention deleted the base's
// restore points (a new delta would keep an index of points that are gone
// for as long as the delta lives; see Prune).
func (ix *Indexer) chooseBase(ctx context.Context, run *IndexRun) (string, error) {
	base, err := ix.baseRun(ctx, run)
	if base == nil || err != nil {
		return "", err
	}
	gone, err := ix.pointsGone(ctx, base)
	if err != nil {
		return "", fmt.Errorf("choose the base of the index of %s: %w", run.FileSystem, err)
	}
	if gone {
		return "", nil
	}
	return base.IndexKey, nil
}

// baseRun is chooseBase's choice before it looks at the base's restore
// points: nil for a full index.
func (ix *Indexer) baseRun(ctx context.Context, run *IndexRun) (*IndexRun, error) {
	limit := ix.Config.MaxDeltaChain + 2
	runs, _, err := ix.Runs.FileSystemIndexRuns(ctx, IndexRunQuery{Loc: run.Loc, FileSystem: run.FileSystem, DoneOnly: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list the indexes of %s: %w", run.FileSystem, err)
	}
	var newest *IndexRun
	for _, r := range runs {
		if r.ID != run.ID && r.IndexKey != "" && path.Dir(r.IndexKey) == path.Dir(IndexKey(run.Loc, run.FileSystem, run.RecoveryPointArn)) {
			newest = r
			break
		}
	}
	if newest == nil {
		return nil, nil
	}
	if newest.BaseKey == "" {
		return newest, nil
	}
	var base *IndexRun
	deltas := 0
	for _, r := range runs {
		if r.IndexKey == newest.BaseKey {
			base = r
		}
		if r.BaseKey == newest.BaseKey {
			deltas++
		}
	}
	if base == nil || deltas >= ix.Config.MaxDeltaChain || float64(newest.Records) > ix.Config.DeltaMaxFraction*float64(base.Entries) {
		return nil, nil
	}
	return base, nil
}

// end finishes a run that did not produce an index, with what the worker
// reported if it did (res): the warning goes on
// the task and session first (so that a crash before the run's final
// write repeats it, deduplicated, rather than losing it), then the run is
// recorded and the file system's slot freed.
func (ix *Indexer) end(ctx context.Context, run *IndexRun, state IndexState, msg string, res *WorkerResult) error {
	log := ix.logFor(run)
	reason := Reason{Severity: SeverityWarning, Code: ReasonIndexFailed, Account: run.Loc.Account, Region: run.Loc.Region, FileSystem: run.FileSystem, Message: msg}
	if err := ix.warn(ctx, run, reason); err != nil {
		return err
	}
	_, err := update(ctx,
		func(ctx context.Context) (*IndexRun, error) { return ix.Runs.GetIndexRun(ctx, run.ID) },
		func(r *IndexRun) (bool, error) {
			if r.State.Terminal() {
				return false, nil
			}
			if res != nil {
				ix.recordStats(r, *res)
			}
			now := ix.now()
			r.State, r.Message, r.UpdatedAt, r.FinishedAt = state, msg, now, now
			*run = *r
			return true, nil
		},
		ix.Runs.PutIndexRun)
	if err != nil {
		return fmt.Errorf("index run %s: record %s: %w", run.ID, state, err)
	}
	if state != IndexSkipped {
		// A skipped run never held the slot.
		if err := ix.Runs.UnlockFileSystem(ctx, run.Loc, run.FileSystem, run.ID); err != nil {
			log.Warn("could not free the file system's index slot; it frees itself at its expiry", "error", err)
		}
	}
	log.Warn("index run ended", "state", string(state), "message", msg)
	return nil
}

// expireRun gives up a run whose worker has not reported by its deadline
// (or whose slot a later run found expired). Errors are logged: the run's
// deadline makes the next Expire pass try again.
func (ix *Indexer) expireRun(ctx context.Context, id, why string) {
	run, err := ix.Runs.GetIndexRun(ctx, id)
	if err != nil {
		if !IsNotFound(err) {
			ix.Log.Warn("could not read an expired index run", "indexRun", id, "error", err)
		}
		return
	}
	if run.State.Terminal() {
		return
	}
	inst := run.InstanceID
	if inst == "" {
		inst = "not recorded"
	}
	within := ix.Config.MaxLifetime + ix.Config.ReportGrace
	if !run.LaunchedAt.IsZero() && run.Deadline.After(run.LaunchedAt) {
		within = run.Deadline.Sub(run.LaunchedAt) // its worker configuration's lifetime
	}
	msg := fmt.Sprintf("index of %s (restore point %s) has no result: the worker (instance %s) did not report within %s; %s",
		run.FileSystem, run.RecoveryPointArn, inst, within, why)
	if err := ix.end(ctx, run, IndexFailed, msg, nil); err != nil {
		ix.logFor(run).Warn("could not record an expired index run", "error", err)
	}
}

// Expire gives up the runs whose worker has not reported by their
// deadline, with a warning on their sessions. It belongs in the periodic
// reconcile pass; Launch also expires a stale run when it takes over its
// file system's slot, so nothing depends on it running.
func (ix *Indexer) Expire(ctx context.Context) (int, error) {
	due, err := ix.Runs.DueIndexRuns(ctx, ix.now())
	if err != nil {
		return 0, fmt.Errorf("expire index runs: %w", err)
	}
	for _, r := range due {
		ix.expireRun(ctx, r.ID, "the instance may have failed to boot or download the worker, or its result could not be written")
	}
	return len(due), nil
}
