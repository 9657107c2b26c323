package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
)

var ctx = context.Background()

var (
	at  = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	loc = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
)

// rawItem reads an item as DynamoDB holds it.
func rawItem(t *testing.T, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("raw item %s/%s: %v (found %v)", pk, sk, err, out != nil && out.Item != nil)
	}
	return out.Item
}

func sAttr(m map[string]types.AttributeValue, name string) string {
	if v, ok := m[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// expiresAt returns the item's expiry in epoch seconds, 0 if it has none.
func expiresAt(t *testing.T, m map[string]types.AttributeValue) int64 {
	t.Helper()
	v, ok := m[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestItemLayout checks the keys, sparse index entries and expiry of each
// record type against the layout in doc.go, which the CDK table and any
// operator's queries rely on.
func TestItemLayout(t *testing.T) {
	table := newTable(t)
	s := dynamo.New(client, table, dynamo.WithEndedRetention(10*24*time.Hour))
	tenDays := int64(10 * 24 * 3600)

	p := &engine.PolicyRecord{Policy: &policy.Policy{ID: "p1", Enabled: true}, NextRunAt: at}
	if err := s.PutPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	m := rawItem(t, table, "POLICIES", "POLICY#p1")
	if sAttr(m, "gsi1pk") != "DUEPOLICY" || sAttr(m, "gsi1sk") != "2025-03-01T02:00:00.000000000Z#p1" || sAttr(m, "type") != "policy" {
		t.Fatalf("policy item: %v", m)
	}
	p.Policy.Enabled = false
	if err := s.PutPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if m := rawItem(t, table, "POLICIES", "POLICY#p1"); sAttr(m, "gsi1pk") != "" {
		t.Fatalf("disabled policy still in the due index: %v", m)
	}

	ss := &engine.Session{ID: engine.SessionID("p1", at), PolicyID: "p1", ScheduledAt: at, Status: engine.StatusRunning}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "POLICY#p1", "SESSION#p1#2025-03-01T02:00:00Z")
	if sAttr(m, "gsi1pk") != "RUNNING" || sAttr(m, "gsi2pk") != "SESSIONS" || sAttr(m, "gsi2sk") != "2025-03-01T02:00:00.000000000Z#"+ss.ID || expiresAt(t, m) != 0 {
		t.Fatalf("running session item: %v", m)
	}
	ss.Status, ss.EndedAt = engine.StatusSuccess, at.Add(time.Hour)
	if err := s.PutSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "POLICY#p1", "SESSION#"+ss.ID)
	if sAttr(m, "gsi1pk") != "" || expiresAt(t, m) != at.Add(time.Hour).Unix()+tenDays {
		t.Fatalf("ended session item: %v", m)
	}

	u := &engine.Unit{SessionID: ss.ID, PolicyID: "p1", Loc: loc, State: engine.UnitDone, UpdatedAt: at}
	if err := s.CreateUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	if m := rawItem(t, table, "POLICY#p1", "UNIT#"+u.ID()); expiresAt(t, m) != at.Unix()+tenDays {
		t.Fatalf("done unit item: %v", m)
	}

	x := &engine.Task{SessionID: ss.ID, PolicyID: "p1", Loc: loc, FileSystem: "fs-00000001", Phase: engine.PhaseBackup,
		NextCheckAt: at, UpdatedAt: at, Backup: engine.Job{ID: "job-1", State: engine.JobRunning},
		RecoveryPointArn: "arn:aws:backup:eu-west-1:111122223333:recovery-point:1"}
	if err := s.CreateTask(ctx, x); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "POLICY#p1", "TASK#"+x.ID())
	if got := sAttr(m, "gsi1pk"); len(got) != len("DUETASK#0") || got[:8] != "DUETASK#" {
		t.Fatalf("open task's due partition: %q", got)
	}
	if sAttr(m, "gsi2pk") != "JOB#job-1" || sAttr(m, "gsi3pk") != "RP#"+x.RecoveryPointArn || sAttr(m, "gsi3sk") != x.ID() || expiresAt(t, m) != 0 {
		t.Fatalf("open task item: %v", m)
	}
	// A completed task holds its restore point: it must not expire.
	x.Phase, x.Backup.State, x.UpdatedAt = engine.PhaseDone, engine.JobCompleted, at.Add(time.Hour)
	if err := s.PutTask(ctx, x); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "POLICY#p1", "TASK#"+x.ID())
	fsPK := "FS#p1#111122223333#eu-west-1#fs-00000001"
	if live, _ := m["live"].(*types.AttributeValueMemberBOOL); live == nil || !live.Value || sAttr(m, "gsi1pk") != "" || expiresAt(t, m) != 0 ||
		sAttr(m, "gsi4pk") != fsPK || sAttr(m, "gsi4sk") != x.ID() {
		t.Fatalf("live task item: %v", m)
	}
	// With a RetainAt it is on retention's work list.
	x.RetainAt = at.Add(72 * time.Hour)
	if err := s.PutTask(ctx, x); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "POLICY#p1", "TASK#"+x.ID())
	if sAttr(m, "gsi1pk") != "RETAIN#p1" || sAttr(m, "gsi1sk") != "2025-03-04T02:00:00.000000000Z#"+x.ID() || sAttr(m, "gsi4pk") != fsPK {
		t.Fatalf("task on the retention work list: %v", m)
	}
	x.Deletion = engine.Deletion{State: engine.DeletionDeleted}
	x.UpdatedAt = at.Add(48 * time.Hour)
	if err := s.PutTask(ctx, x); err != nil {
		t.Fatal(err)
	}
	if m := rawItem(t, table, "POLICY#p1", "TASK#"+x.ID()); expiresAt(t, m) != at.Add(48*time.Hour).Unix()+tenDays || sAttr(m, "gsi1pk") != "" || sAttr(m, "gsi4pk") != "" {
		t.Fatalf("deleted task item: %v", m)
	}

	// Without a retention of ended records nothing expires.
	keep := dynamo.New(client, table, dynamo.WithEndedRetention(0))
	x.UpdatedAt = at.Add(72 * time.Hour)
	if err := keep.PutTask(ctx, x); err != nil {
		t.Fatal(err)
	}
	if m := rawItem(t, table, "POLICY#p1", "TASK#"+x.ID()); expiresAt(t, m) != 0 {
		t.Fatalf("expiry written with retention off: %v", m)
	}
}

// TestOpsPerMethod pins how many DynamoDB calls the methods make, which
// the cost estimates in DESIGN.md use.
func TestOpsPerMethod(t *testing.T) {
	s := dynamo.New(client, newTable(t))
	p := &engine.PolicyRecord{Policy: &policy.Policy{ID: "p1", Enabled: true}, NextRunAt: at}
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"PutPolicy", func() error { return s.PutPolicy(ctx, p) }, map[string]int{"PutItem": 1}},
		{"GetPolicy", func() error { _, err := s.GetPolicy(ctx, "p1"); return err }, map[string]int{"GetItem": 1}},
		{"DeletePolicy stale", func() error {
			if err := s.DeletePolicy(ctx, "p1", 7); !engine.IsConflict(err) {
				t.Fatalf("stale delete: %v", err)
			}
			return nil
		}, map[string]int{"DeleteItem": 1, "GetItem": 1}},
		{"DeletePolicy missing", func() error {
			if err := s.DeletePolicy(ctx, "p9", 1); !engine.IsNotFound(err) {
				t.Fatalf("delete of a missing policy: %v", err)
			}
			return nil
		}, map[string]int{"DeleteItem": 1, "GetItem": 1}},
		{"DuePolicies", func() error { _, err := s.DuePolicies(ctx, at); return err }, map[string]int{"Query": 1}},
		{"AdjustSession", func() error {
			_, err := s.AdjustSession(ctx, "p1#2025-03-01T02:00:00Z", engine.SessionDelta{OpenTasks: 1})
			if !engine.IsNotFound(err) {
				t.Fatalf("adjust of a missing session: %v", err)
			}
			return nil
		}, map[string]int{"UpdateItem": 1}},
		{"DueTasks", func() error { _, err := s.DueTasks(ctx, at); return err }, map[string]int{"Query": dynamo.DueTaskShards}},
		{"TaskByBackupJob", func() error {
			if _, err := s.TaskByBackupJob(ctx, "job-x"); !engine.IsNotFound(err) {
				t.Fatalf("lookup of an unknown job: %v", err)
			}
			return nil
		}, map[string]int{"Query": 1}},
		{"ListTasks", func() error { _, _, err := s.ListTasks(ctx, engine.TaskQuery{PolicyID: "p1"}); return err }, map[string]int{"Query": 1}},
	}
	for _, st := range steps {
		before := s.Ops()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		after := s.Ops()
		for _, op := range []string{"GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query"} {
			if d := after[op] - before[op]; d != st.want[op] {
				t.Errorf("%s: %d %s calls, want %d", st.name, d, op, st.want[op])
			}
		}
	}
}

// TestCursorOfAnotherQuery: a cursor only resumes the kind of query that
// returned it; another query refuses it instead of starting anywhere.
func TestCursorOfAnotherQuery(t *testing.T) {
	s := dynamo.New(client, newTable(t))
	for i := range 3 {
		ss := &engine.Session{PolicyID: "p1", ScheduledAt: at.Add(time.Duration(i) * time.Hour), Status: engine.StatusRunning}
		ss.ID = engine.SessionID(ss.PolicyID, ss.ScheduledAt)
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	_, cursor, err := s.ListSessions(ctx, engine.SessionQuery{PolicyID: "p1", Limit: 1})
	if err != nil || cursor == "" {
		t.Fatalf("first page: cursor %q, %v", cursor, err)
	}
	_, _, err = s.ListSessions(ctx, engine.SessionQuery{Cursor: cursor, Limit: 1})
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("policy cursor on the all-policies query: %v, want %s", err, engine.EINVALID)
	}
}
