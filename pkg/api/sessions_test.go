package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper"
	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/simrun"
)

var (
	simOnce sync.Once
	simH    *simrun.Harness
	simErr  error
)

// simulated runs the demo organization with the demo policies for ten
// days, long enough for retention to delete the first points of the
// 7-day schedule, once for every test that reads it (read-only).
func simulated(t *testing.T) *simrun.Harness {
	t.Helper()
	simOnce.Do(func() {
		pols, err := simrun.LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
		if err != nil {
			simErr = err
			return
		}
		simH, simErr = simrun.New(simrun.Options{Seed: 3, Days: 10, Faults: "default", Build: simrun.DemoWorld, Script: simrun.DemoScript(), Policies: pols})
		if simErr == nil {
			simErr = simH.Run(context.Background())
		}
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simH
}

// pages follows nextCursor from path (which has a query) and returns every
// page's body.
func pages(t *testing.T, f *fixture, path string, each func(r response) string) {
	t.Helper()
	cursor := ""
	for n := 0; ; n++ {
		if n > 10000 {
			t.Fatalf("%s: the pages do not end", path)
		}
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		r := f.do("GET", p, nil)
		mustStatus(t, r, http.StatusOK)
		if cursor = each(r); cursor == "" {
			return
		}
	}
}

func escapeID(id string) string { return strings.ReplaceAll(id, "#", "%23") }

func TestSessionsFromASimulatedRun(t *testing.T) {
	h := simulated(t)
	f := newFixture(t, fixtureOptions{engine: h.Engine})
	ctx := t.Context()
	all, _, err := h.Store.ListSessions(ctx, engine.SessionQuery{Limit: 100000})
	if err != nil || len(all) < 20 {
		t.Fatalf("the simulation made %d sessions (%v)", len(all), err)
	}

	var got []api.Session
	pages(t, f, "/sessions?limit=7", func(r response) string {
		var page api.SessionList
		r.decode(t, &page)
		if len(page.Sessions) > 7 {
			t.Fatalf("page of %d sessions, limit 7", len(page.Sessions))
		}
		got = append(got, page.Sessions...)
		return page.NextCursor
	})
	if len(got) != len(all) {
		t.Fatalf("paged %d sessions, the store has %d", len(got), len(all))
	}
	for i, s := range got {
		if s.ID != all[i].ID || s.Status != string(all[i].Status) || len(s.Reasons) != len(all[i].Reasons) {
			t.Fatalf("session %d: %s %s, store has %s %s", i, s.ID, s.Status, all[i].ID, all[i].Status)
		}
		if i > 0 && s.ScheduledAt.After(got[i-1].ScheduledAt) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	withReasons := slices.IndexFunc(got, func(s api.Session) bool { return len(s.Reasons) > 0 })
	if withReasons < 0 {
		t.Fatal("the demo's sessions should carry reasons (opt-in, refused vaults)")
	}

	// Filters.
	from, to := time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC)
	n := 0
	pages(t, f, "/sessions?policy=org-all&limit=3&from="+from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339), func(r response) string {
		var page api.SessionList
		r.decode(t, &page)
		for _, s := range page.Sessions {
			n++
			if s.PolicyID != "org-all" || s.ScheduledAt.Before(from) || !s.ScheduledAt.Before(to) {
				t.Fatalf("filtered list holds %s at %v", s.ID, s.ScheduledAt)
			}
		}
		return page.NextCursor
	})
	if n != 2 {
		t.Fatalf("org-all has one daily run a day: %d sessions in two days", n)
	}

	// One session in detail: its region runs and every task.
	s := all[len(all)/2]
	r := f.do("GET", "/sessions/"+escapeID(s.ID), nil)
	mustStatus(t, r, http.StatusOK)
	var d api.SessionDetail
	r.decode(t, &d)
	tasks, _, err := h.Store.ListTasks(ctx, engine.TaskQuery{SessionID: s.ID, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if d.Session.ID != s.ID || len(d.RegionRuns) != len(s.Units) || len(d.Tasks) != len(tasks) || len(tasks) == 0 {
		t.Fatalf("detail of %s: %d region runs (want %d), %d tasks (want %d)", s.ID, len(d.RegionRuns), len(s.Units), len(d.Tasks), len(tasks))
	}
	for i, task := range d.Tasks {
		if task.ID != tasks[i].ID() || task.Backup.State != string(tasks[i].Backup.State) || len(task.Copies) != len(tasks[i].Copies) {
			t.Fatalf("task %d: %+v\nstore: %+v", i, task, tasks[i])
		}
	}
	var paged []string
	pages(t, f, "/sessions/"+escapeID(s.ID)+"/tasks?limit=2", func(r response) string {
		var page api.TaskList
		r.decode(t, &page)
		for _, task := range page.Tasks {
			paged = append(paged, task.ID)
		}
		return page.NextCursor
	})
	if len(paged) != len(tasks) {
		t.Fatalf("paged %d tasks, want %d", len(paged), len(tasks))
	}
	mustStatus(t, f.do("GET", "/sessions/"+escapeID(s.ID)+"/tasks?cursor=zzz", nil), http.StatusBadRequest)
}

// expectedPoints lists the restore points of every policy straight from
// the task records.
func expectedPoints(t *testing.T, h *simrun.Harness) map[string]*engine.Task {
	t.Helper()
	want := map[string]*engine.Task{} // recovery point ARN → task
	recs, err := h.Store.ListPolicies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		tasks, _, err := h.Store.ListTasks(t.Context(), engine.TaskQuery{PolicyID: rec.Policy.ID, Limit: 1000000})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if task.Backup.State == engine.JobCompleted && task.Deletion.State != engine.DeletionDeleted {
				want[task.RecoveryPointArn] = task
			}
			for _, c := range task.Copies {
				if c.Job.State == engine.JobCompleted && c.Deletion.State != engine.DeletionDeleted {
					want[c.RecoveryPointArn] = task
				}
			}
		}
	}
	return want
}

func TestRestorePointsFromASimulatedRun(t *testing.T) {
	h := simulated(t)
	f := newFixture(t, fixtureOptions{engine: h.Engine})
	want := expectedPoints(t, h)

	got := map[string]api.RestorePoint{}
	copies := 0
	pages(t, f, "/restore-points?limit=7", func(r response) string {
		var page api.RestorePointList
		r.decode(t, &page)
		if len(page.RestorePoints) > 7 {
			t.Fatalf("page of %d", len(page.RestorePoints))
		}
		for _, p := range page.RestorePoints {
			if _, dup := got[p.RecoveryPointArn]; dup {
				t.Fatalf("%s listed twice", p.RecoveryPointArn)
			}
			got[p.RecoveryPointArn] = p
			if p.Kind == "copy" {
				copies++
				if p.Source == nil || p.Source.Region == p.Region || p.Source.RecoveryPointArn == "" {
					t.Fatalf("copy without its source: %+v", p)
				}
			} else if p.Source != nil {
				t.Fatalf("backup with a source: %+v", p)
			}
		}
		return page.NextCursor
	})
	if len(got) != len(want) || copies == 0 {
		t.Fatalf("listed %d points (%d copies), the tasks hold %d", len(got), copies, len(want))
	}
	for arn, task := range want {
		p, ok := got[arn]
		if !ok || p.TaskID != task.ID() || p.FileSystem != task.FileSystem || !p.CreatedAt.Equal(task.PointCreatedAt) {
			t.Fatalf("point %s: listed %+v for task %s", arn, p, task.ID())
		}
	}
	deleted := 0
	for _, task := range mustAllTasks(t, h) {
		if task.Deletion.State == engine.DeletionDeleted {
			deleted++
			r := f.do("GET", "/restore-points/"+api.PointID(task.ID(), task.Loc.Region), nil)
			mustStatus(t, r, http.StatusNotFound)
		}
	}
	if deleted == 0 {
		t.Fatal("ten simulated days should have deleted restore points of the 7-day schedule")
	}

	// Filters, alone and together, and one point by id.
	var some api.RestorePoint
	for _, p := range got {
		if p.Kind == "copy" && p.PolicyID == "org-all" {
			some = p
			break
		}
	}
	for _, q := range []string{
		"policy=org-all", "account=" + some.Account, "region=" + some.Region, "fileSystem=" + some.FileSystem,
		"policy=org-all&region=" + some.Region + "&fileSystem=" + some.FileSystem,
		"from=2026-01-08T00:00:00Z&to=2026-01-10T00:00:00Z",
	} {
		vals, _ := url.ParseQuery(q)
		match := func(p api.RestorePoint) bool {
			from, _ := time.Parse(time.RFC3339, vals.Get("from"))
			to, _ := time.Parse(time.RFC3339, vals.Get("to"))
			return (vals.Get("policy") == "" || p.PolicyID == vals.Get("policy")) && (vals.Get("account") == "" || p.Account == vals.Get("account")) &&
				(vals.Get("region") == "" || p.Region == vals.Get("region")) && (vals.Get("fileSystem") == "" || p.FileSystem == vals.Get("fileSystem")) &&
				(from.IsZero() || !p.CreatedAt.Before(from)) && (to.IsZero() || p.CreatedAt.Before(to))
		}
		wantN := 0
		for _, p := range got {
			if match(p) {
				wantN++
			}
		}
		n := 0
		pages(t, f, "/restore-points?limit=5&"+q, func(r response) string {
			var page api.RestorePointList
			r.decode(t, &page)
			for _, p := range page.RestorePoints {
				n++
				if !match(p) {
					t.Fatalf("%s: %+v does not match", q, p)
				}
			}
			return page.NextCursor
		})
		if n != wantN || n == 0 {
			t.Fatalf("%s: %d points, want %d (and some)", q, n, wantN)
		}
	}
	r := f.do("GET", "/restore-points/"+some.ID, nil)
	mustStatus(t, r, http.StatusOK)
	var one api.RestorePoint
	r.decode(t, &one)
	if one.RecoveryPointArn != some.RecoveryPointArn || one.Source == nil {
		t.Fatalf("by id: %+v, want %+v", one, some)
	}
	r = f.do("GET", "/restore-points?policy=account-prod&cursor="+url.QueryEscape(firstCursor(t, f, "/restore-points?limit=1&policy=org-all")), nil)
	mustStatus(t, r, http.StatusBadRequest)
}

func firstCursor(t *testing.T, f *fixture, path string) string {
	var page api.RestorePointList
	r := f.do("GET", path, nil)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &page)
	if page.NextCursor == "" {
		t.Fatal("want a second page")
	}
	return page.NextCursor
}

func mustAllTasks(t *testing.T, h *simrun.Harness) []*engine.Task {
	var out []*engine.Task
	for _, id := range []string{"account-prod", "org-all"} {
		tasks, _, err := h.Store.ListTasks(t.Context(), engine.TaskQuery{PolicyID: id, Limit: 1000000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tasks...)
	}
	return out
}
