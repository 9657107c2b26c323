package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// RunRestore runs the contract suite of engine.RestoreStore. newStore must
// return a new, empty store for each call.
func RunRestore(t *testing.T, newStore func(t *testing.T) engine.RestoreStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s engine.RestoreStore)
	}{
		{"Versions", testRestoreVersions},
		{"Copies", testRestoreCopies},
		{"ByJob", testRestoreByJob},
		{"List", testListRestores},
		{"ListRunningOnly", testListRestoresRunning},
		{"Concurrent", testRestoreConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// newRestore returns a running session with something in every slice and
// pointer, so that a shallow copy anywhere shows.
func newRestore(id string, at time.Time) *engine.Restore {
	on := true
	rp := "arn:aws:backup:eu-west-1:111122223333:recovery-point:" + id
	return &engine.Restore{
		ID:          id,
		RequestHash: "h-" + id,
		Items: []engine.RestoreItem{{RecoveryPointArn: rp, Account: loc1.Account, Region: loc1.Region, Vault: "v",
			Paths: []string{"/a", "/b/ü"}, FileSystem: "fs-0123456789abcdef0", FileSystemLoc: loc1, PointTime: at.Add(-time.Hour), PolicyID: "p1"}},
		Target: engine.RestoreTarget{Kind: engine.TargetNewFileSystem, PerformanceMode: engine.PerformanceGeneralPurpose, Encrypted: &on},
		Status: engine.RestoreRunning,
		Jobs: []engine.RestoreJob{
			{Item: 0, Loc: loc1, RecoveryPointArn: rp, Paths: []string{"/a"}, Token: "t0", State: engine.JobNotStarted},
			{Item: 0, Loc: loc1, RecoveryPointArn: rp, Paths: []string{"/b/ü"}, Token: "t1", State: engine.JobNotStarted},
		},
		CreatedAt: at,
		UpdatedAt: at,
	}
}

func testRestoreVersions(t *testing.T, s engine.RestoreStore) {
	_, err := s.GetRestore(ctx, "rst-none")
	wantCode(t, "get of a missing restore", err, engine.ENOTFOUND)
	r := newRestore("rst-1", t0)
	wantCode(t, "put of a missing restore at version 3", s.PutRestore(ctx, &engine.Restore{ID: "rst-1", Version: 3}), engine.ECONFLICT)
	must(t, "create", s.CreateRestore(ctx, r))
	if r.Version != 1 {
		t.Fatalf("version after create %d, want 1", r.Version)
	}
	got, err := s.GetRestore(ctx, "rst-1")
	must(t, "get", err)
	same(t, "restore read back", r, got)
	dup := newRestore("rst-1", t0)
	wantCode(t, "second create", s.CreateRestore(ctx, dup), engine.ECONFLICT)
	wantCode(t, "put at version 0 of an existing restore", s.PutRestore(ctx, dup), engine.ECONFLICT)

	got.Status = engine.RestoreCompleted
	must(t, "put at the stored version", s.PutRestore(ctx, got))
	if got.Version != 2 {
		t.Fatalf("version after put %d, want 2", got.Version)
	}
	r.Status = engine.RestoreFailed
	wantCode(t, "put at a stale version", s.PutRestore(ctx, r), engine.ECONFLICT)
	back, err := s.GetRestore(ctx, "rst-1")
	must(t, "get", err)
	if back.Status != engine.RestoreCompleted || back.Version != 2 {
		t.Fatalf("stale put changed the record: %s v%d", back.Status, back.Version)
	}
	wantCode(t, "create without id", s.CreateRestore(ctx, &engine.Restore{}), engine.EINVALID)
}

func testRestoreCopies(t *testing.T, s engine.RestoreStore) {
	r := newRestore("rst-1", t0)
	must(t, "create", s.CreateRestore(ctx, r))
	want := newRestore("rst-1", t0)
	want.Version = 1
	// Changing the written struct must not change the stored record.
	r.Items[0].Paths[0] = "/changed"
	r.Jobs[1].Paths[0] = "/changed"
	*r.Target.Encrypted = false
	got, err := s.GetRestore(ctx, "rst-1")
	must(t, "get", err)
	same(t, "record after changing the written struct", want, got)
	// Nor changing a record read back.
	got.Items[0].Paths[1] = "/changed"
	got.Jobs[0].Paths[0] = "/changed"
	*got.Target.Encrypted = false
	got.Jobs[0].State = engine.JobFailed
	again, err := s.GetRestore(ctx, "rst-1")
	must(t, "get", err)
	same(t, "record after changing a copy", want, again)
}

func testRestoreByJob(t *testing.T, s engine.RestoreStore) {
	_, err := s.RestoreByJob(ctx, "")
	wantCode(t, "by empty job id", err, engine.ENOTFOUND)
	a, b := newRestore("rst-a", t0), newRestore("rst-b", t0.Add(time.Minute))
	must(t, "create a", s.CreateRestore(ctx, a))
	must(t, "create b", s.CreateRestore(ctx, b))
	_, err = s.RestoreByJob(ctx, "job-1")
	wantCode(t, "job not started yet", err, engine.ENOTFOUND)
	_, err = s.RestoreByJob(ctx, "")
	wantCode(t, "by empty job id with unstarted jobs", err, engine.ENOTFOUND)

	a.Jobs[0].JobID = "job-1"
	must(t, "put a", s.PutRestore(ctx, a))
	b.Jobs[0].JobID, b.Jobs[1].JobID = "job-2", "job-3"
	must(t, "put b", s.PutRestore(ctx, b))
	for job, want := range map[string]string{"job-1": "rst-a", "job-2": "rst-b", "job-3": "rst-b"} {
		got, err := s.RestoreByJob(ctx, job)
		must(t, "by "+job, err)
		if got.ID != want {
			t.Fatalf("RestoreByJob(%s) = %s, want %s", job, got.ID, want)
		}
		if got.Version != 2 {
			t.Fatalf("RestoreByJob(%s) returned version %d, want the newest (2)", job, got.Version)
		}
	}
	// A job id that a record no longer carries is no longer found.
	a.Jobs[0].JobID = "job-9"
	must(t, "put a again", s.PutRestore(ctx, a))
	_, err = s.RestoreByJob(ctx, "job-1")
	wantCode(t, "job id replaced", err, engine.ENOTFOUND)
	got, err := s.RestoreByJob(ctx, "job-9")
	must(t, "by job-9", err)
	if got.ID != "rst-a" {
		t.Fatalf("RestoreByJob(job-9) = %s", got.ID)
	}
}

func restorePages(t *testing.T, s engine.RestoreStore, q engine.RestoreQuery) []string {
	t.Helper()
	ids, _ := allPages(t, q.Limit, func(cursor string) ([]*engine.Restore, string, error) {
		q.Cursor = cursor
		return s.ListRestores(ctx, q)
	}, func(r *engine.Restore) string { return r.ID })
	return ids
}

func testListRestores(t *testing.T, s engine.RestoreStore) {
	if ids := restorePages(t, s, engine.RestoreQuery{}); len(ids) != 0 {
		t.Fatalf("empty store lists %v", ids)
	}
	// 12 sessions, two of them at the same instant (the id breaks the tie).
	var want []string
	for i := range 12 {
		at := t0.Add(time.Duration(i) * time.Hour)
		if i == 11 {
			at = t0.Add(10 * time.Hour)
		}
		id := fmt.Sprintf("rst-%02d", i)
		must(t, "create "+id, s.CreateRestore(ctx, newRestore(id, at)))
		want = append(want, id)
	}
	slices.Reverse(want) // newest first: rst-11 and rst-10 share an instant, rst-11 sorts after
	for _, limit := range []int{0, 1, 5, 12, 50} {
		got := restorePages(t, s, engine.RestoreQuery{Limit: limit})
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: %v, want %v", limit, got, want)
		}
	}
	got := restorePages(t, s, engine.RestoreQuery{Since: t0.Add(9 * time.Hour), Limit: 2})
	if !slices.Equal(got, []string{"rst-11", "rst-10", "rst-09"}) {
		t.Fatalf("since 09:00: %v", got)
	}
	_, _, err := s.ListRestores(ctx, engine.RestoreQuery{Cursor: "not-a-cursor"})
	wantCode(t, "bad cursor", err, engine.EINVALID)
}

func testListRestoresRunning(t *testing.T, s engine.RestoreStore) {
	var recs []*engine.Restore
	for i := range 5 {
		r := newRestore(fmt.Sprintf("rst-%d", i), t0.Add(time.Duration(i)*time.Minute))
		must(t, "create", s.CreateRestore(ctx, r))
		recs = append(recs, r)
	}
	recs[1].Status = engine.RestoreCompleted
	recs[3].Status = engine.RestorePartial
	must(t, "end 1", s.PutRestore(ctx, recs[1]))
	must(t, "end 3", s.PutRestore(ctx, recs[3]))
	got := restorePages(t, s, engine.RestoreQuery{RunningOnly: true, Limit: 2})
	if !slices.Equal(got, []string{"rst-4", "rst-2", "rst-0"}) {
		t.Fatalf("running: %v", got)
	}
	if all := restorePages(t, s, engine.RestoreQuery{}); len(all) != 5 {
		t.Fatalf("all: %v", all)
	}
}

func testRestoreConcurrent(t *testing.T, s engine.RestoreStore) {
	r := newRestore("rst-c", t0)
	must(t, "create", s.CreateRestore(ctx, r))
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 1000; attempt++ {
				cur, err := s.GetRestore(ctx, "rst-c")
				if err != nil {
					errs <- err
					return
				}
				cur.Items[0].Paths = append(cur.Items[0].Paths, fmt.Sprintf("/w%d", w))
				err = s.PutRestore(ctx, cur)
				if err == nil {
					return
				}
				if !engine.IsConflict(err) {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("writer %d never won", w)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := s.GetRestore(ctx, "rst-c")
	must(t, "get", err)
	if n := len(got.Items[0].Paths); n != 2+writers || got.Version != 1+writers {
		t.Fatalf("after %d concurrent writers: %d paths, version %d; an update was lost", writers, n, got.Version)
	}
}
