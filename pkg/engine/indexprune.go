package engine

import (
	"context"
	"errors"
	"fmt"
)

// Index pruning. An index describes one backup: its source restore point
// and the copies of that point in other Regions, which browsing and
// restores read through the same index. It is kept while any of those
// points may still exist, and a full index also while a delta that is not
// deleted was written against it (a delta is read through its base).
// Prune runs after every index of a file system is done, while that run
// still holds the file system's slot, so that no launch of the same file
// system chooses a base that Prune is deleting; and chooseBase writes a
// full index rather than a delta of a base whose points are gone, so that
// a base is not kept alive by new deltas.

// PruneResult says what one Prune did.
type PruneResult struct {
	Deleted int // index objects deleted (their runs are now IndexDeleted)
	Kept    int // full indexes whose points are gone, kept for their deltas
}

// PointsGone reports whether retention has deleted every restore point the
// task made: the source point and every copy's. A copy whose job has not
// ended may still make a point, and a point that AWS left EXPIRED (not
// deleted) still exists, so either keeps the answer false.
func (t *Task) PointsGone() bool {
	if t.RecoveryPointArn == "" || !t.Deletion.Done() {
		return false
	}
	for _, c := range t.Copies {
		if !c.Job.State.Terminal() || c.RecoveryPointArn != "" && !c.Deletion.Done() {
			return false
		}
	}
	return true
}

// Prune deletes the index objects of one file system whose restore points
// are all gone (see PointsGone), deltas before the full indexes they were
// written against, and records each run as IndexDeleted. The object is
// deleted before the run is recorded: after a crash between the two the
// next Prune deletes it again (an absent object is no error) and records
// it. Without Objects it does nothing. A run whose task cannot be found is
// kept: Prune deletes only what it knows to be unused.
func (ix *Indexer) Prune(ctx context.Context, l Loc, fileSystem string) (PruneResult, error) {
	var res PruneResult
	if ix.Objects == nil {
		return res, nil
	}
	var runs []*IndexRun
	q := IndexRunQuery{Loc: l, FileSystem: fileSystem}
	for {
		page, next, err := ix.Runs.FileSystemIndexRuns(ctx, q)
		if err != nil {
			return res, fmt.Errorf("prune the indexes of %s in %s: list them: %w", fileSystem, l, err)
		}
		runs = append(runs, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	// readers counts, per full index, the runs that read or will read it:
	// deltas that are done or under way. A base key that names no run's
	// index should not happen (bases outlive their deltas); if one does,
	// Prune cannot tell which full index it is and deletes none.
	readers := map[string]int{}
	keys := map[string]bool{}
	for _, r := range runs {
		keys[r.IndexKey] = true
	}
	unknownBase := ""
	for _, r := range runs {
		if r.BaseKey != "" && r.State != IndexFailed && r.State != IndexSkipped && r.State != IndexDeleted {
			readers[r.BaseKey]++
			if !keys[r.BaseKey] {
				unknownBase = r.BaseKey
			}
		}
	}
	var deltas, fulls []*IndexRun
	for _, r := range runs {
		if r.State != IndexDone || r.IndexKey == "" {
			continue
		}
		gone, err := ix.pointsGone(ctx, r)
		if err != nil {
			return res, fmt.Errorf("prune the indexes of %s in %s: %w", fileSystem, l, err)
		}
		switch {
		case !gone:
		case r.BaseKey != "":
			deltas = append(deltas, r)
		default:
			fulls = append(fulls, r)
		}
	}
	var errs []error
	for _, r := range deltas {
		if err := ix.deleteIndex(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		readers[r.BaseKey]--
		res.Deleted++
	}
	if unknownBase != "" && len(fulls) > 0 {
		ix.Log.Warn("index of restore points that are gone kept: a delta of the file system reads a base that no index run names",
			"fileSystem", fileSystem, "account", l.Account, "region", l.Region, "base", unknownBase)
		res.Kept += len(fulls)
		fulls = nil
	}
	for _, r := range fulls {
		if readers[r.IndexKey] > 0 {
			res.Kept++
			continue
		}
		if err := ix.deleteIndex(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Deleted++
	}
	return res, errors.Join(errs...)
}

// pointsGone reads the run's task and reports whether its restore points
// are all gone; false when the task is not found or names another point.
func (ix *Indexer) pointsGone(ctx context.Context, r *IndexRun) (bool, error) {
	t, err := ix.Store.GetTask(ctx, r.TaskID)
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read task %s of index run %s: %w", r.TaskID, r.ID, err)
	}
	return t.RecoveryPointArn == r.RecoveryPointArn && t.PointsGone(), nil
}

// deleteIndex deletes the run's index object, then records the run as
// IndexDeleted.
func (ix *Indexer) deleteIndex(ctx context.Context, run *IndexRun) error {
	if err := ix.Objects.DeleteIndex(ctx, run.IndexKey); err != nil {
		return fmt.Errorf("delete index s3://%s/%s of run %s: %w", ix.Config.Bucket, run.IndexKey, run.ID, err)
	}
	_, err := update(ctx,
		func(ctx context.Context) (*IndexRun, error) { return ix.Runs.GetIndexRun(ctx, run.ID) },
		func(r *IndexRun) (bool, error) {
			if r.State != IndexDone {
				return false, nil
			}
			r.State, r.UpdatedAt = IndexDeleted, ix.now()
			r.Message = "deleted: retention deleted the restore points it describes"
			return true, nil
		},
		ix.Runs.PutIndexRun)
	if err != nil {
		return fmt.Errorf("index run %s: record its index deleted: %w", run.ID, err)
	}
	ix.logFor(run).Info("index deleted after its restore points", "key", run.IndexKey, "base", run.BaseKey)
	return nil
}
