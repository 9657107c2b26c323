package lambdafn

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// lookupStore is a RestoreStore that only records which jobs were looked up.
type lookupStore struct {
	engine.RestoreStore
	looked []string
}

func (s *lookupStore) RestoreByJob(_ context.Context, jobID string) (*engine.Restore, error) {
	s.looked = append(s.looked, jobID)
	return nil, engine.Errorf(engine.ENOTFOUND, "no session has job %s", jobID)
}

func (s *lookupStore) ListRestores(context.Context, engine.RestoreQuery) ([]*engine.Restore, string, error) {
	return nil, "", nil
}

// Restore job events reach the restore sessions; backup and copy events
// still reach the engine.
func TestJobEventsRoutesRestoreEvents(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	rs := &lookupStore{}
	r := engine.NewRestorer(engine.Restorer{Store: rs, Clock: f.engine.Clock, Log: f.engine.Log})
	handler := JobEventsWithRestores(f.engine, r)
	restore := readFile(t, "../../testdata/events/eventbridge/eventbridge-restore-job-state-change-completed-efs.json")
	if _, err := invoke(t, handler, restore); err != nil {
		t.Fatal(err)
	}
	if len(rs.looked) != 1 || rs.looked[0] != "7d1f3a5c-9e2b-4c6d-8f0a-1b3c5d7e9f20" {
		t.Fatalf("restore event looked up %v, want its job", rs.looked)
	}
	backup := readFile(t, "../../testdata/events/eventbridge/eventbridge-backup-job-state-change-completed-efs.json")
	if _, err := invoke(t, handler, backup); err != nil {
		t.Fatal(err)
	}
	if len(rs.looked) != 1 {
		t.Fatalf("a backup event reached the restores: %v", rs.looked)
	}
	if _, err := invoke(t, handler, []byte(`{"source":"aws.backup","detail-type":"Restore Job State Change","account":"1","region":"r","detail":{}}`)); err != nil {
		t.Fatalf("a malformed event must be dropped, not retried: %v", err)
	}
}

func TestReconcileWithRestoresRunsBoth(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	rs := &lookupStore{}
	r := engine.NewRestorer(engine.Restorer{Store: rs, Clock: f.engine.Clock, Log: f.engine.Log})
	out, err := invoke(t, ReconcileWithRestores(f.engine, r), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var res ReconcileResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
}

// The production wiring gives jobevents and reconcile a Restorer on the
// same store and adapters.
func TestNewRestorerFromWiredEngine(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	env := Env{Function: FnJobEvents, Table: "t", TopicARN: "arn:aws:sns:eu-west-1:111111111111:efskeeper", BackupRoleName: "efskeeper-backup", MemberRoleName: "efskeeper-member"}
	e, err := Wire(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRestorer(e)
	if err != nil {
		t.Fatal(err)
	}
	if r.Store == nil || r.Service == nil || r.Notifier == nil {
		t.Fatalf("restorer not fully wired: %+v", r)
	}
}

// The reconcile function also expires index runs when its store keeps them.
func TestReconcileExpiresIndexRuns(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	if newExpirer(f.engine) != nil {
		t.Fatalf("an expirer on a store without index runs")
	}
	both := struct {
		*memory.Store
		*memory.Indexes
	}{f.store, memory.NewIndexes()}
	e := *f.engine
	e.Store = both
	if newExpirer(&e) == nil {
		t.Fatalf("no expirer although the store keeps index runs")
	}
}
