package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// TestLabelsFollowIDs creates tasks in the orders that exhaust label gaps
// (descending, ascending into a closed gap, random), so that labels are
// spread again and again, and checks after each batch that labels follow
// the ids and that every task index is still sorted and finds its keys.
func TestLabelsFollowIDs(t *testing.T) {
	ctx := context.Background()
	s := New()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	create := func(policy string, day int, fs []int) {
		at := base.Add(time.Duration(day) * 24 * time.Hour)
		for _, n := range fs {
			task := &engine.Task{SessionID: engine.SessionID(policy, at), PolicyID: policy,
				Loc: engine.Loc{Account: "111122223333", Region: "eu-west-1"}, FileSystem: fmt.Sprintf("fs-%06d", n),
				Phase: engine.PhaseBackup, NextCheckAt: at.Add(time.Duration(n%5) * time.Minute)}
			if n%3 == 0 { // finished, live, waiting for retention
				task.Phase, task.NextCheckAt = engine.PhaseDone, time.Time{}
				task.Backup = engine.Job{ID: fmt.Sprintf("job-%s-%d", policy, n), State: engine.JobCompleted}
				task.RecoveryPointArn = "rp-" + task.Backup.ID
				task.RetainAt = at.Add(time.Duration(n%2) * time.Hour)
			}
			if err := s.CreateTask(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
	}
	seq := func(from, to, by int) []int {
		var out []int
		for n := from; (n-to)*by < 0; n += by {
			out = append(out, n)
		}
		return out
	}
	create("p1", 0, []int{0})
	create("p3", 0, []int{0})
	create("p2", 0, seq(0, 3000, 1))    // ascending between p1's and p3's
	create("p2", 1, seq(3000, 0, -1))   // descending
	create("p2", 2, rng.Perm(3000))     // random
	create("p1", 0, seq(1, 3000, 1))    // ascending, after p1's first
	create("p0", 0, seq(3000, 0, -1))   // descending, before everything
	create("p1", 0, seq(3000, 6000, 2)) // and between them
	create("p1", 0, seq(3001, 6000, 2))
	if s.relabels < 10 {
		t.Fatalf("labels were spread %d times: the test does not exhaust gaps", s.relabels)
	}
	checkLabels(t, s)
	// Listings see the ids' order.
	got, _, err := s.ListTasks(ctx, engine.TaskQuery{SessionID: engine.SessionID("p1", base), Limit: 10000})
	if err != nil || len(got) != 6000 {
		t.Fatalf("%d tasks, %v", len(got), err)
	}
	if !slices.IsSortedFunc(got, func(a, b *engine.Task) int { return strings.Compare(a.ID(), b.ID()) }) {
		t.Fatal("a session's tasks are not in id order")
	}
}

// checkLabels fails unless labels increase along the ids and every key of
// a task index carries its slot's label, in order.
func checkLabels(t *testing.T, s *Store) {
	t.Helper()
	var prev *taskSlot
	s.ids.ascend(nil, func(k key) bool {
		if prev != nil && prev.ord >= k.task.ord {
			t.Fatalf("%s has label %d, %s after it %d", prev.id, prev.ord, k.task.id, k.task.ord)
		}
		prev = k.task
		return true
	})
	var trees []*tree
	for _, f := range []forest[string]{s.sessionTasks, s.retention} {
		for _, tr := range f {
			trees = append(trees, tr)
		}
	}
	for _, tr := range s.fileSystemTasks {
		trees = append(trees, tr)
	}
	for _, tr := range trees {
		checkBounds(t, tr)
		var last *key
		tr.ascend(nil, func(k key) bool {
			if k.ord != k.task.ord {
				t.Fatalf("key of %s has label %d, its slot %d", k.task.id, k.ord, k.task.ord)
			}
			if last != nil && last.cmp(k) >= 0 {
				t.Fatalf("%s before %s in a tree", last.task.id, k.task.id)
			}
			last = &k
			return true
		})
		for _, l := range tr.leaves {
			for _, k := range l {
				if _, _, ok := tr.find(k); !ok {
					t.Fatalf("key of %s not found", k.task.id)
				}
			}
		}
	}
}

// TestCursorOfUnknownTask resumes listings from cursors that name no
// stored task (between two ids, before and after all of them): the page
// starts at the next id, as it would in a store that had the task.
func TestCursorOfUnknownTask(t *testing.T) {
	ctx := context.Background()
	s := New()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := engine.SessionID("p1", at)
	loc := engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	var ids []string
	for _, fs := range []string{"fs-b", "fs-d", "fs-f"} {
		task := &engine.Task{SessionID: sess, PolicyID: "p1", Loc: loc, FileSystem: fs, Phase: engine.PhaseDone,
			Backup: engine.Job{State: engine.JobCompleted}, RecoveryPointArn: "rp-" + fs, RetainAt: at}
		if err := s.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, task.ID())
	}
	for _, c := range []struct {
		fs   string
		want []string
	}{
		{"fs-a", ids},
		{"fs-c", ids[1:]},
		{"fs-d", ids[2:]}, // a stored one, for comparison
		{"fs-e", ids[2:]},
		{"fs-g", nil},
	} {
		id := engine.TaskID(sess, loc, c.fs)
		for _, q := range []engine.TaskQuery{
			{SessionID: sess, Cursor: store.EncodeCursor(taskCursor{ID: id})},
			{PolicyID: "p1", Cursor: store.EncodeCursor(taskCursor{ID: id})},
			{PolicyID: "p1", RetainBy: at, Cursor: store.EncodeCursor(taskCursor{At: at, ID: id})},
		} {
			got, _, err := s.ListTasks(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, x := range got {
				gotIDs = append(gotIDs, x.ID())
			}
			if !slices.Equal(gotIDs, c.want) {
				t.Errorf("after %s (query %+v): %v, want %v", c.fs, q, gotIDs, c.want)
			}
		}
	}
}
