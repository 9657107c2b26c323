package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Indexes are deleted after the restore points they describe, never
// before, and a full index only once no delta reads it.

// pruneDay indexes day n (1-based) of ixFS1: it makes the day's session
// and task (day 1's exist), launches, runs the worker and delivers its
// result, whose Done prunes. It returns the day's run.
func (e *ixEnv) pruneDay(n int) *engine.IndexRun {
	e.t.Helper()
	at := ixT0.Add(time.Duration(n-1) * 24 * time.Hour)
	sid := engine.SessionID(ixPolicy, at)
	if n > 1 {
		s := &engine.Session{ID: sid, PolicyID: ixPolicy, ScheduledAt: at, Status: engine.StatusSuccess, Units: []engine.Loc{ixHome}, CreatedAt: at, UpdatedAt: at}
		if err := e.store.CreateSession(ixCtx, s); err != nil {
			e.t.Fatal(err)
		}
		task := &engine.Task{SessionID: sid, PolicyID: ixPolicy, Loc: ixHome, FileSystem: ixFS1, Phase: engine.PhaseDone,
			Backup: engine.Job{State: engine.JobCompleted}, RecoveryPointArn: ixRP(ixFS1, n), PointCreatedAt: at, Index: true, CreatedAt: at,
			Copies: []engine.Copy{{TargetRegion: "eu-central-1", VaultName: "dr", Job: engine.Job{State: engine.JobCompleted},
				RecoveryPointArn: "arn:aws:backup:eu-central-1:111122223333:recovery-point:copy-" + string(rune('0'+n))}}}
		if err := e.store.CreateTask(ixCtx, task); err != nil {
			e.t.Fatal(err)
		}
	}
	m := e.msgFor(sid, ixFS1, ixRP(ixFS1, n), at)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		e.t.Fatal(err)
	}
	e.finishWorkers()
	r := e.run(m)
	if r.State != engine.IndexDone {
		e.t.Fatalf("day %d: run %s: %s", n, r.State, r.Message)
	}
	return r
}

// gone records retention's deletion of day n's points: the source point
// (state), and every copy's when copies is set.
func (e *ixEnv) gone(n int, state engine.DeletionState, copies bool) {
	e.t.Helper()
	id := engine.TaskID(engine.SessionID(ixPolicy, ixT0.Add(time.Duration(n-1)*24*time.Hour)), ixHome, ixFS1)
	t, err := e.store.GetTask(ixCtx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	t.Deletion = engine.Deletion{State: state, At: ixT0}
	for i := range t.Copies {
		if copies {
			t.Copies[i].Deletion = engine.Deletion{State: engine.DeletionDeleted, At: ixT0}
		}
	}
	if err := e.store.PutTask(ixCtx, t); err != nil {
		e.t.Fatal(err)
	}
}

func (e *ixEnv) hasObject(key string) bool {
	_, ok := e.objects.Get(key)
	return ok
}

func TestIndexPruneKeepsBasesAndLivePoints(t *testing.T) {
	e := newIxEnv(t)
	f1 := e.pruneDay(1)
	d2 := e.pruneDay(2)
	d3 := e.pruneDay(3)
	if f1.BaseKey != "" || d2.BaseKey != f1.IndexKey || d3.BaseKey != f1.IndexKey {
		t.Fatalf("bases: %q %q %q, want a full index and two deltas of it", f1.BaseKey, d2.BaseKey, d3.BaseKey)
	}

	// Day 1's point is gone, but two deltas read its index: it stays. The
	// next index is written full rather than as a third delta of it.
	e.gone(1, engine.DeletionDeleted, true)
	f4 := e.pruneDay(4)
	if f4.BaseKey != "" {
		t.Errorf("day 4 was written as a delta of %q, whose restore points are gone", f4.BaseKey)
	}
	if r := e.run(e.msgFor(f1.SessionID, ixFS1, f1.RecoveryPointArn, f1.BackupCreatedAt)); r.State != engine.IndexDone || !e.hasObject(f1.IndexKey) {
		t.Errorf("the base of live deltas was deleted (%s)", r.State)
	}

	// Day 2's point is EXPIRED, not deleted (it still exists); day 3's
	// source is deleted but its copy in another Region lives, and
	// restores from the copy browse the same index.
	e.gone(2, engine.DeletionExpired, true)
	e.gone(3, engine.DeletionDeleted, false)
	e.pruneDay(5)
	for _, r := range []*engine.IndexRun{f1, d2, d3} {
		if !e.hasObject(r.IndexKey) {
			t.Errorf("%s was deleted while a point it describes, or a delta that reads it, may exist", r.IndexKey)
		}
	}

	// Now every point of days 2 and 3 is gone: their deltas go, and then
	// day 1's full index, which nothing reads any more.
	e.gone(2, engine.DeletionDeleted, true)
	e.gone(3, engine.DeletionDeleted, true)
	d6 := e.pruneDay(6)
	for _, r := range []*engine.IndexRun{f1, d2, d3} {
		got := e.run(e.msgFor(r.SessionID, ixFS1, r.RecoveryPointArn, r.BackupCreatedAt))
		if e.hasObject(r.IndexKey) || got.State != engine.IndexDeleted || got.Message == "" {
			t.Errorf("%s: object kept %v, run %s %q; want the object deleted and the run deleted", r.IndexKey, e.hasObject(r.IndexKey), got.State, got.Message)
		}
	}
	for _, key := range []string{f4.IndexKey, d6.IndexKey} {
		if !e.hasObject(key) {
			t.Errorf("%s was deleted, its points live", key)
		}
	}
	if res, err := e.ix.Prune(ixCtx, ixHome, ixFS1); err != nil || res.Deleted != 0 {
		t.Errorf("a second Prune: %+v, %v; want nothing left to do", res, err)
	}
}

// failingRuns fails the write that records an index as deleted.
type failingRuns struct {
	engine.IndexStore
	fail bool
}

func (f *failingRuns) PutIndexRun(ctx context.Context, r *engine.IndexRun) error {
	if f.fail && r.State == engine.IndexDeleted {
		return errors.New("lost connection")
	}
	return f.IndexStore.PutIndexRun(ctx, r)
}

// failingObjects fails the deletion of one key.
type failingObjects struct {
	engine.IndexObjects
	key string
}

func (f failingObjects) DeleteIndex(ctx context.Context, key string) error {
	if key == f.key {
		return engine.Errorf(engine.ETHROTTLED, "SlowDown")
	}
	return f.IndexObjects.DeleteIndex(ctx, key)
}

func TestIndexPruneAfterFailures(t *testing.T) {
	e := newIxEnv(t)
	f1 := e.pruneDay(1)
	d2 := e.pruneDay(2)
	e.gone(1, engine.DeletionDeleted, true)
	e.gone(2, engine.DeletionDeleted, true)

	// The delta cannot be deleted: its base must stay too.
	ix := engine.NewIndexer(engine.Indexer{Store: e.store, Runs: e.runs, Objects: failingObjects{e.objects, d2.IndexKey}, Clock: e.world})
	res, err := ix.Prune(ixCtx, ixHome, ixFS1)
	if !engine.IsThrottled(err) || res.Deleted != 0 || res.Kept != 1 || !e.hasObject(f1.IndexKey) || !e.hasObject(d2.IndexKey) {
		t.Fatalf("Prune with the delta's deletion failing: %+v, %v; base kept %v", res, err, e.hasObject(f1.IndexKey))
	}

	// The objects go but the records are not written (a crash between
	// the two): the next Prune finishes the job.
	runs := &failingRuns{IndexStore: e.runs, fail: true}
	ix = engine.NewIndexer(engine.Indexer{Store: e.store, Runs: runs, Objects: e.objects, Clock: e.world})
	if _, err := ix.Prune(ixCtx, ixHome, ixFS1); err == nil {
		t.Fatal("Prune whose records failed reported no error")
	}
	if e.hasObject(d2.IndexKey) {
		t.Fatal("the delta's object was not deleted")
	}
	runs.fail = false
	res, err = ix.Prune(ixCtx, ixHome, ixFS1)
	if err != nil || res.Deleted != 2 {
		t.Fatalf("Prune after the crash: %+v, %v; want both indexes recorded deleted", res, err)
	}
	var states []engine.IndexState
	for _, r := range []*engine.IndexRun{f1, d2} {
		states = append(states, e.run(e.msgFor(r.SessionID, ixFS1, r.RecoveryPointArn, r.BackupCreatedAt)).State)
	}
	if !slices.Equal(states, []engine.IndexState{engine.IndexDeleted, engine.IndexDeleted}) || e.hasObject(f1.IndexKey) {
		t.Errorf("states %v, base object kept %v", states, e.hasObject(f1.IndexKey))
	}
}

// A delta that names a base no run has (it should not happen) stops Prune
// from deleting any full index of the file system: it cannot tell which
// one the delta reads.
func TestIndexPruneKeepsFullIndexesWhenABaseIsUnknown(t *testing.T) {
	e := newIxEnv(t)
	f1 := e.pruneDay(1)
	e.gone(1, engine.DeletionDeleted, true)
	odd := &engine.IndexRun{ID: engine.IndexRunID("elsewhere"), TaskID: "elsewhere", PolicyID: ixPolicy, Loc: ixHome, FileSystem: ixFS1,
		RecoveryPointArn: ixRP(ixFS1, 9), BackupCreatedAt: ixT0, State: engine.IndexDone,
		IndexKey: engine.IndexKey(ixHome, ixFS1, ixRP(ixFS1, 9)), BaseKey: engine.IndexKey(ixHome, ixFS1, ixRP(ixFS1, 8))}
	if err := e.runs.CreateIndexRun(ixCtx, odd); err != nil {
		t.Fatal(err)
	}
	res, err := e.ix.Prune(ixCtx, ixHome, ixFS1)
	if err != nil || res.Deleted != 0 || res.Kept != 1 || !e.hasObject(f1.IndexKey) {
		t.Fatalf("Prune with an unknown base: %+v, %v; full index kept %v", res, err, e.hasObject(f1.IndexKey))
	}
}

// runsEndedMeanwhile answers the first read of one run as still running,
// as Done reads it before a later run takes the expired slot and ends it.
type runsEndedMeanwhile struct {
	engine.IndexStore
	id   string
	seen bool
}

func (r *runsEndedMeanwhile) GetIndexRun(ctx context.Context, id string) (*engine.IndexRun, error) {
	run, err := r.IndexStore.GetIndexRun(ctx, id)
	if err == nil && id == r.id && !r.seen {
		r.seen = true
		run.State = engine.IndexRunning
	}
	return run, err
}

// A result whose run ended meanwhile records nothing and prunes nothing:
// the run no longer holds the file system's slot.
func TestIndexDoneOfAnEndedRunDoesNotPrune(t *testing.T) {
	e := newIxEnv(t)
	f1 := e.pruneDay(1)
	m := e.msgFor(engine.SessionID(ixPolicy, ixT0.Add(24*time.Hour)), ixFS1, ixRP(ixFS1, 2), ixT0.Add(24*time.Hour))
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	results := e.instances.RunPending(ixCtx)
	if len(results) != 1 {
		t.Fatalf("%d workers ran", len(results))
	}
	body, _ := e.objects.Get(engine.ResultKey(results[0].RunID))
	res, err := engine.ParseWorkerResult(body)
	if err != nil {
		t.Fatal(err)
	}
	// The run is ended (its slot expired and a later run took it), and
	// day 1's points go; the failed delta reads nothing.
	r := e.run(m)
	r.State, r.Message = engine.IndexFailed, "found its slot expired"
	if err := e.runs.PutIndexRun(ixCtx, r); err != nil {
		t.Fatal(err)
	}
	if err := e.runs.UnlockFileSystem(ixCtx, ixHome, ixFS1, r.ID); err != nil {
		t.Fatal(err)
	}
	e.gone(1, engine.DeletionDeleted, true)
	ix := engine.NewIndexer(engine.Indexer{Store: e.store, Runs: &runsEndedMeanwhile{IndexStore: e.runs, id: r.ID}, Objects: e.objects, Clock: e.world,
		Config: engine.IndexerConfig{Bucket: ixBucket, BucketRegion: ixHome.Region}})
	if err := ix.Done(ixCtx, res); err != nil {
		t.Fatal(err)
	}
	if got := e.run(m); got.State != engine.IndexFailed || !e.hasObject(f1.IndexKey) {
		t.Errorf("run %s, day 1's index kept %v: want the ended run left alone and no prune", got.State, e.hasObject(f1.IndexKey))
	}
	// The next index of the file system, which holds the slot, prunes.
	e.pruneDay(3)
	if e.hasObject(f1.IndexKey) {
		t.Errorf("day 1's index outlived its points after the next index was done")
	}
}
