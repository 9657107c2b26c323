package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// RunIndex runs the contract of engine.IndexStore. newStore must return a
// new, empty store for each call.
func RunIndex(t *testing.T, newStore func(t *testing.T) engine.IndexStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s engine.IndexStore)
	}{
		{"IndexRunVersions", testIndexRunVersions},
		{"IndexRunIDRule", testIndexRunIDRule},
		{"FileSystemIndexRuns", testFileSystemIndexRuns},
		{"DueIndexRuns", testDueIndexRuns},
		{"LockFileSystem", testLockFileSystem},
		{"LockFileSystemConcurrent", testLockFileSystemConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// RunWorkerConfigs runs the contract of engine.WorkerConfigStore.
func RunWorkerConfigs(t *testing.T, newStore func(t *testing.T) engine.WorkerConfigStore) {
	t.Run("WorkerConfigs", func(t *testing.T) { testWorkerConfigs(t, newStore(t)) })
}

const fsA, fsB = "fs-0123456789abcdef0", "fs-0fedcba9876543210"

// newRun returns a run with something in every slice, so that a shallow
// copy anywhere shows.
func newRun(task string, l engine.Loc, fs string, backupAt time.Time) *engine.IndexRun {
	return &engine.IndexRun{
		ID: engine.IndexRunID(task), TaskID: task, PolicyID: "p1", SessionID: engine.SessionID("p1", t0),
		Loc: l, FileSystem: fs, RecoveryPointArn: "arn:aws:backup:" + l.Region + ":" + l.Account + ":recovery-point:" + task,
		BackupCreatedAt: backupAt, State: engine.IndexPending, SecurityGroupIDs: []string{"sg-0123456789abcdef0"},
		Errors: []string{"a: permission denied"}, CreatedAt: t0, UpdatedAt: t0,
	}
}

func testIndexRunVersions(t *testing.T, s engine.IndexStore) {
	r := newRun("task-1", loc1, fsA, t0)
	_, err := s.GetIndexRun(ctx, r.ID)
	wantCode(t, "get missing", err, engine.ENOTFOUND)
	must(t, "create", s.CreateIndexRun(ctx, r))
	if r.Version != 1 {
		t.Fatalf("version after create %d, want 1", r.Version)
	}
	again := newRun("task-1", loc1, fsA, t0)
	wantCode(t, "create twice", s.CreateIndexRun(ctx, again), engine.ECONFLICT)

	got, err := s.GetIndexRun(ctx, r.ID)
	must(t, "get", err)
	same(t, "run read back", r, got)
	got.SecurityGroupIDs[0] = "changed"
	got.Errors[0] = "changed"
	read, err := s.GetIndexRun(ctx, r.ID)
	must(t, "get", err)
	same(t, "stored run after the copy was changed", r, read)

	read.State = engine.IndexRunning
	read.InstanceID = "i-0123456789abcdef0"
	must(t, "put", s.PutIndexRun(ctx, read))
	if read.Version != 2 {
		t.Fatalf("version after put %d, want 2", read.Version)
	}
	r.State = engine.IndexFailed
	wantCode(t, "put at a stale version", s.PutIndexRun(ctx, r), engine.ECONFLICT)
	got, err = s.GetIndexRun(ctx, r.ID)
	must(t, "get", err)
	same(t, "run after a lost write", read, got)

	moved := *got
	moved.FileSystem = fsB
	if err := s.PutIndexRun(ctx, &moved); err == nil {
		t.Errorf("moving a run to another file system was accepted")
	}
}

func testIndexRunIDRule(t *testing.T, s engine.IndexStore) {
	r := newRun("task-1", loc1, fsA, t0)
	r.ID = "ix-not-derived"
	wantCode(t, "create with an id not derived from the task", s.CreateIndexRun(ctx, r), engine.EINVALID)
	r = newRun("task-1", loc1, "", t0)
	wantCode(t, "create without a file system", s.CreateIndexRun(ctx, r), engine.EINVALID)
}

func testFileSystemIndexRuns(t *testing.T, s engine.IndexStore) {
	var want []string // fsA in loc1, newest first
	for i := 0; i < 7; i++ {
		r := newRun(fmt.Sprintf("a-%d", i), loc1, fsA, t0.Add(time.Duration(i)*time.Hour))
		if i%2 == 0 {
			r.State = engine.IndexDone
		}
		must(t, "create", s.CreateIndexRun(ctx, r))
		want = append([]string{r.ID}, want...)
	}
	// Same instant: the id breaks the tie, descending.
	tie := newRun("a-tie", loc1, fsA, t0.Add(6*time.Hour))
	must(t, "create", s.CreateIndexRun(ctx, tie))
	if tie.ID > want[0] {
		want = append([]string{tie.ID}, want...)
	} else {
		want = append(want[:1], append([]string{tie.ID}, want[1:]...)...)
	}
	must(t, "create", s.CreateIndexRun(ctx, newRun("b-0", loc1, fsB, t0)))
	must(t, "create", s.CreateIndexRun(ctx, newRun("c-0", loc2, fsA, t0)))

	ids, pages := allPages(t, 3, func(cursor string) ([]*engine.IndexRun, string, error) {
		return s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA, Cursor: cursor, Limit: 3})
	}, func(r *engine.IndexRun) string { return r.ID })
	same(t, "runs of fsA in loc1, newest first", want, ids)
	if pages != 3 {
		t.Errorf("%d runs in pages of 3 took %d pages, want 3", len(ids), pages)
	}

	done, _, err := s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA, DoneOnly: true})
	must(t, "list done", err)
	var doneIDs []string
	for _, r := range done {
		if r.State != engine.IndexDone {
			t.Errorf("DoneOnly listed %s in state %s", r.ID, r.State)
		}
		doneIDs = append(doneIDs, r.ID)
	}
	same(t, "done runs", []string{engine.IndexRunID("a-6"), engine.IndexRunID("a-4"), engine.IndexRunID("a-2"), engine.IndexRunID("a-0")}, doneIDs)

	// A run that turns done appears in the done listing.
	r, err := s.GetIndexRun(ctx, engine.IndexRunID("a-5"))
	must(t, "get", err)
	r.State = engine.IndexDone
	must(t, "put", s.PutIndexRun(ctx, r))
	done, _, err = s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA, DoneOnly: true})
	must(t, "list done", err)
	if len(done) != 5 || done[0].ID != engine.IndexRunID("a-6") || done[1].ID != engine.IndexRunID("a-5") {
		t.Errorf("after a-5 turned done: %v", idsOf(done, func(r *engine.IndexRun) string { return r.TaskID }))
	}

	// A done run whose index was deleted (engine.Indexer.Prune) leaves the
	// done listing and stays in the full one.
	r, err = s.GetIndexRun(ctx, engine.IndexRunID("a-6"))
	must(t, "get", err)
	r.State = engine.IndexDeleted
	must(t, "put", s.PutIndexRun(ctx, r))
	done, _, err = s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA, DoneOnly: true})
	must(t, "list done", err)
	if len(done) != 4 || done[0].ID != engine.IndexRunID("a-5") {
		t.Errorf("after a-6's index was deleted, done runs: %v", idsOf(done, func(r *engine.IndexRun) string { return r.TaskID }))
	}
	all, _, err := s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA})
	must(t, "list all", err)
	if !slices.ContainsFunc(all, func(r *engine.IndexRun) bool {
		return r.ID == engine.IndexRunID("a-6") && r.State == engine.IndexDeleted
	}) {
		t.Errorf("the deleted run a-6 left the full listing")
	}

	_, _, err = s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc1, FileSystem: fsA, Cursor: "not a cursor"})
	wantCode(t, "bad cursor", err, engine.EINVALID)
}

func testDueIndexRuns(t *testing.T, s engine.IndexStore) {
	mk := func(task string, deadline time.Time, state engine.IndexState) {
		r := newRun(task, loc1, fsA, t0)
		r.Deadline, r.State = deadline, state
		must(t, "create "+task, s.CreateIndexRun(ctx, r))
	}
	mk("no-deadline", time.Time{}, engine.IndexPending)
	mk("late", t0.Add(-time.Hour), engine.IndexRunning)
	mk("at-now", t0, engine.IndexLaunching)
	mk("future", t0.Add(time.Minute), engine.IndexRunning)
	mk("late-done", t0.Add(-2*time.Hour), engine.IndexDone)
	due, err := s.DueIndexRuns(ctx, t0)
	must(t, "due", err)
	same(t, "due runs, by deadline", []string{"late", "at-now"}, idsOf(due, func(r *engine.IndexRun) string { return r.TaskID }))

	late := due[0]
	late.State = engine.IndexFailed
	must(t, "put", s.PutIndexRun(ctx, late))
	due, err = s.DueIndexRuns(ctx, t0)
	must(t, "due", err)
	same(t, "due runs after one failed", []string{"at-now"}, idsOf(due, func(r *engine.IndexRun) string { return r.TaskID }))
}

func testLockFileSystem(t *testing.T, s engine.IndexStore) {
	until := t0.Add(time.Hour)
	l, err := s.LockFileSystem(ctx, loc1, fsA, "ix-1", t0, until)
	must(t, "lock a free slot", err)
	same(t, "lock", engine.FileSystemLock{RunID: "ix-1", Until: until}, l)

	l, err = s.LockFileSystem(ctx, loc1, fsA, "ix-2", t0.Add(time.Minute), t0.Add(2*time.Hour))
	wantCode(t, "lock a held slot", err, engine.ECONFLICT)
	same(t, "holder reported", engine.FileSystemLock{RunID: "ix-1", Until: until}, l)

	// Other file systems and locations have slots of their own.
	_, err = s.LockFileSystem(ctx, loc1, fsB, "ix-3", t0, until)
	must(t, "lock another file system", err)
	_, err = s.LockFileSystem(ctx, loc2, fsA, "ix-4", t0, until)
	must(t, "lock the same id in another location", err)

	// The holder may lock again (a redelivery) and so extends its hold.
	l, err = s.LockFileSystem(ctx, loc1, fsA, "ix-1", t0.Add(time.Minute), t0.Add(3*time.Hour))
	must(t, "relock by the holder", err)
	same(t, "extended lock", engine.FileSystemLock{RunID: "ix-1", Until: t0.Add(3 * time.Hour)}, l)
	_, err = s.LockFileSystem(ctx, loc1, fsA, "ix-2", t0.Add(2*time.Hour), t0.Add(4*time.Hour))
	wantCode(t, "lock before the extended hold ends", err, engine.ECONFLICT)

	// An expired hold is taken over, naming the previous holder.
	l, err = s.LockFileSystem(ctx, loc1, fsA, "ix-2", t0.Add(3*time.Hour+time.Second), t0.Add(5*time.Hour))
	must(t, "take over an expired hold", err)
	same(t, "takeover", engine.FileSystemLock{RunID: "ix-2", Until: t0.Add(5 * time.Hour), Previous: "ix-1"}, l)

	// Unlocking by someone else does nothing; the holder frees the slot.
	must(t, "unlock by a former holder", s.UnlockFileSystem(ctx, loc1, fsA, "ix-1"))
	_, err = s.LockFileSystem(ctx, loc1, fsA, "ix-5", t0.Add(4*time.Hour), t0.Add(6*time.Hour))
	wantCode(t, "lock after a foreign unlock", err, engine.ECONFLICT)
	must(t, "unlock by the holder", s.UnlockFileSystem(ctx, loc1, fsA, "ix-2"))
	l, err = s.LockFileSystem(ctx, loc1, fsA, "ix-5", t0.Add(4*time.Hour), t0.Add(6*time.Hour))
	must(t, "lock a freed slot", err)
	if l.Previous != "" {
		t.Errorf("a freed slot reported previous holder %q", l.Previous)
	}
	must(t, "unlock a free slot", s.UnlockFileSystem(ctx, loc2, fsB, "ix-9"))
}

func testLockFileSystemConcurrent(t *testing.T, s engine.IndexStore) {
	const n = 20
	var wg sync.WaitGroup
	wins := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("ix-%d", i)
			if _, err := s.LockFileSystem(ctx, loc1, fsA, id, t0, t0.Add(time.Hour)); err == nil {
				wins <- id
			} else if !engine.IsConflict(err) {
				t.Errorf("lock %s: %v", id, err)
			}
		}(i)
	}
	wg.Wait()
	close(wins)
	var won []string
	for id := range wins {
		won = append(won, id)
	}
	if len(won) != 1 {
		t.Fatalf("%d runs got the slot at once: %v", len(won), won)
	}
}

func testWorkerConfigs(t *testing.T, s engine.WorkerConfigStore) {
	_, err := s.GetWorkerConfig(ctx, "", "eu-west-1")
	wantCode(t, "get missing", err, engine.ENOTFOUND)
	region := &engine.WorkerConfig{Region: "eu-west-1", SubnetID: "subnet-0123456789abcdef0",
		SecurityGroupIDs: []string{"sg-0123456789abcdef0"}, InstanceType: "t4g.small", MaxLifetimeHours: 12, UpdatedAt: t0}
	must(t, "create", s.PutWorkerConfig(ctx, region))
	if region.Version != 1 {
		t.Fatalf("version %d, want 1", region.Version)
	}
	acct := &engine.WorkerConfig{Account: loc2.Account, Region: "eu-west-1", PrivateNetwork: true}
	must(t, "create per account", s.PutWorkerConfig(ctx, acct))
	other := &engine.WorkerConfig{Region: "ap-south-1"}
	must(t, "create", s.PutWorkerConfig(ctx, other))

	got, err := s.GetWorkerConfig(ctx, "", "eu-west-1")
	must(t, "get", err)
	same(t, "Region's configuration", region, got)
	got.SecurityGroupIDs[0] = "changed"
	got, err = s.GetWorkerConfig(ctx, loc2.Account, "eu-west-1")
	must(t, "get per account", err)
	same(t, "account's configuration", acct, got)
	_, err = s.GetWorkerConfig(ctx, loc1.Account, "eu-west-1")
	wantCode(t, "get an account without its own", err, engine.ENOTFOUND)

	all, err := s.ListWorkerConfigs(ctx)
	must(t, "list", err)
	same(t, "list by region then account", []*engine.WorkerConfig{other, region, acct}, all)

	stale := *region
	stale.Version = 0
	wantCode(t, "create twice", s.PutWorkerConfig(ctx, &stale), engine.ECONFLICT)
	region.PrivateNetwork = true
	must(t, "update", s.PutWorkerConfig(ctx, region))
	wantCode(t, "delete at a stale version", s.DeleteWorkerConfig(ctx, "", "eu-west-1", 1), engine.ECONFLICT)
	must(t, "delete", s.DeleteWorkerConfig(ctx, "", "eu-west-1", region.Version))
	wantCode(t, "delete again", s.DeleteWorkerConfig(ctx, "", "eu-west-1", region.Version), engine.ENOTFOUND)
	_, err = s.GetWorkerConfig(ctx, loc2.Account, "eu-west-1")
	must(t, "the account's configuration outlives the Region's", err)

	bad := &engine.WorkerConfig{Region: "mars-north-1", SubnetID: "subnet-x"}
	wantCode(t, "invalid configuration", s.PutWorkerConfig(ctx, bad), engine.EINVALID)
}

// RunSessionFence checks what the index use-cases rely on from
// engine.Store: AdjustSession with a zero delta changes no counter but
// bumps the version, so that a writer that read the session before loses
// its conditional write (engine.Indexer's warn fences finishers with it).
func RunSessionFence(t *testing.T, newStore func(t *testing.T) engine.Store) {
	t.Run("ZeroAdjustFences", func(t *testing.T) {
		s := newStore(t)
		ss := newSession("p1", t0)
		must(t, "create", s.CreateSession(ctx, ss))
		read, err := s.GetSession(ctx, ss.ID)
		must(t, "get", err)
		got, err := s.AdjustSession(ctx, ss.ID, engine.SessionDelta{})
		must(t, "zero adjust", err)
		if got.Counters != read.Counters || got.Version != read.Version+1 {
			t.Fatalf("after a zero adjust: counters %+v version %d; want %+v at %d", got.Counters, got.Version, read.Counters, read.Version+1)
		}
		read.Status = engine.StatusSuccess
		wantCode(t, "write by a reader from before the fence", s.PutSession(ctx, read), engine.ECONFLICT)
	})
}
