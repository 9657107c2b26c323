package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// sliceViewer is a TaskViewer over fixed tasks, one page; its copies are
// shallow but for the schedules (these tasks have no other slices).
type sliceViewer struct {
	tasks  []*Task
	picked []*Task
}

func (v *sliceViewer) ViewTasks(_ context.Context, _ TaskQuery, pick func([]*Task) []*Task) ([]*Task, string, error) {
	v.picked = pick(v.tasks)
	var out []*Task
	for _, t := range v.picked {
		c := *t
		c.Schedules = slices.Clone(t.Schedules)
		out = append(out, &c)
	}
	return out, "", nil
}

// viewGroup's plan is planGroup's, with copies in the places of the
// tasks it may write and nothing where it will not.
func TestViewGroupPutsCopiesInPlace(t *testing.T) {
	p, probs := policy.Parse([]byte(`{"id": "p1", "name": "P1", "timezone": "UTC",
	  "source": {"mode": "account", "accounts": ["111122223333"], "regions": ["eu-west-1"], "fileSystems": ["fs-0123456789abcdef0"]},
	  "backup": {"vaults": [{"region": "*", "vault": "main"}]},
	  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": {"count": 2}}]}`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	var tasks []*Task
	// Five points, listed newest first (a view is in id order, not by
	// point): the count rule keeps the two newest, the others expire.
	for d := 5; d >= 1; d-- {
		at := time.Date(2026, 5, d, 1, 0, 0, 0, time.UTC)
		tasks = append(tasks, &Task{SessionID: fmt.Sprintf("p1#%s", at.Format(time.RFC3339)), PolicyID: "p1",
			Loc: Loc{Account: "111122223333", Region: "eu-west-1"}, FileSystem: "fs-0123456789abcdef0", Schedules: []string{"daily"},
			ScheduledAt: at, Phase: PhaseDone, Backup: Job{State: JobCompleted}, RecoveryPointArn: fmt.Sprintf("arn:rp-%d", d),
			PointCreatedAt: at, RetainAt: at.Add(48 * time.Hour)})
	}
	// The kept points' tasks already look again when the pass would have
	// them look: nothing to write there.
	oldest := slices.Clone(tasks)
	slices.Reverse(oldest)
	var points []policy.Point
	for _, x := range oldest {
		points = append(points, policy.Point{ID: x.SessionID, CreatedAt: x.PointCreatedAt, Schedules: x.Schedules})
	}
	for i, d := range p.Rules().Expiries(points, now) {
		if d.Keep {
			oldest[i].RetainAt = keptNext(p, d, oldest[i], now)
		}
	}
	want := planGroup(tasks, p, p.Rules(), now, workList)
	acting := 0
	for _, x := range want.group {
		if x != nil {
			acting++
		}
	}
	if acting < 2 || acting == len(want.group) {
		t.Fatalf("fixture: %d of %d tasks to act on; the test needs several, not all", acting, len(want.group))
	}
	v := &sliceViewer{tasks: tasks}
	got, ok, err := viewGroup(context.Background(), v, TaskQuery{}, p, p.Rules(), now)
	if err != nil || !ok {
		t.Fatalf("viewGroup: %v, %v", ok, err)
	}
	if len(v.picked) != acting {
		t.Errorf("picked %d tasks to copy, the plan acts on %d", len(v.picked), acting)
	}
	for i, w := range want.group {
		g := got.group[i]
		switch {
		case w == nil && g != nil:
			t.Errorf("point %d: %s in the plan, which needs no write", i, g.ID())
		case w == nil:
		case g == nil:
			t.Errorf("point %d: nothing in the plan, want a copy of %s", i, w.ID())
		case g.ID() != w.ID():
			t.Errorf("point %d: a copy of %s, want %s", i, g.ID(), w.ID())
		case slices.Contains(tasks, g):
			t.Errorf("point %d: the view's task itself, not a copy", i)
		}
	}
	if !slices.Equal(got.protected, want.protected) || len(got.decisions) != len(want.decisions) {
		t.Errorf("decisions or protected points differ: %v vs %v", got.protected, want.protected)
	}
}
