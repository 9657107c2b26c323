package dynamo_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
	"github.com/efskeeper/efskeeper/pkg/store/storetest"
)

func TestIndexContract(t *testing.T) {
	storetest.RunIndex(t, func(t *testing.T) engine.IndexStore { return dynamo.New(client, newTable(t)) })
}

func TestWorkerConfigContract(t *testing.T) {
	storetest.RunWorkerConfigs(t, func(t *testing.T) engine.WorkerConfigStore { return dynamo.New(client, newTable(t)) })
}

func TestRestoreContract(t *testing.T) {
	storetest.RunRestore(t, func(t *testing.T) engine.RestoreStore { return dynamo.New(client, newTable(t)) })
}

// missingItem fails the test if the item exists.
func missingItem(t *testing.T, table, pk, sk string) {
	t.Helper()
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil || out.Item != nil {
		t.Fatalf("item %s/%s: %v, want none (found %v)", pk, sk, err, out != nil && out.Item != nil)
	}
}

func newIndexRun(task string) *engine.IndexRun {
	return &engine.IndexRun{ID: engine.IndexRunID(task), TaskID: task, Loc: loc, FileSystem: "fs-00000001",
		BackupCreatedAt: at, State: engine.IndexPending, CreatedAt: at, UpdatedAt: at}
}

func newRestore(id string, jobs int) *engine.Restore {
	r := &engine.Restore{ID: id, Status: engine.RestoreRunning, CreatedAt: at, UpdatedAt: at,
		Items: []engine.RestoreItem{{RecoveryPointArn: "arn:aws:backup:eu-west-1:111122223333:recovery-point:1", Paths: []string{"/a"}}}}
	for i := range jobs {
		r.Jobs = append(r.Jobs, engine.RestoreJob{Loc: loc, Paths: []string{"/a"}, Token: fmt.Sprint(i), State: engine.JobNotStarted})
	}
	return r
}

// startJobs gives jobs [from, to) of r AWS job ids "<id>-job-<n>".
func startJobs(r *engine.Restore, from, to int) {
	for i := from; i < to; i++ {
		r.Jobs[i].JobID, r.Jobs[i].State = fmt.Sprintf("%s-job-%d", r.ID, i), engine.JobCreated
	}
}

// TestNewItemLayout checks the keys, sparse index entries and expiry of
// index runs, file system slots, worker configurations, restore sessions
// and job pointers against doc.go.
func TestNewItemLayout(t *testing.T) {
	table := newTable(t)
	s := dynamo.New(client, table, dynamo.WithEndedRetention(10*24*time.Hour))
	tenDays := int64(10 * 24 * 3600)
	T := "2025-03-01T02:00:00.000000000Z"
	fs := "111122223333#eu-west-1#fs-00000001"

	r := newIndexRun("p1#task")
	r.Deadline = at.Add(time.Hour)
	if err := s.CreateIndexRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	m := rawItem(t, table, "INDEXRUN#"+r.ID, "INDEXRUN")
	if sAttr(m, "type") != "indexrun" || sAttr(m, "gsi1pk") != "DUEINDEX" || sAttr(m, "gsi1sk") != "2025-03-01T03:00:00.000000000Z#"+r.ID ||
		sAttr(m, "gsi2pk") != "IXFS#"+fs || sAttr(m, "gsi2sk") != T+"#"+r.ID || sAttr(m, "gsi3pk") != "" || expiresAt(t, m) != 0 {
		t.Fatalf("pending index run item: %v", m)
	}
	r.State, r.UpdatedAt = engine.IndexDone, at.Add(time.Hour)
	if err := s.PutIndexRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "INDEXRUN#"+r.ID, "INDEXRUN")
	if sAttr(m, "gsi1pk") != "" || sAttr(m, "gsi3pk") != "IXDONE#"+fs || sAttr(m, "gsi3sk") != T+"#"+r.ID || expiresAt(t, m) != 0 {
		t.Fatalf("done index run item (a done run keeps its index and never expires): %v", m)
	}
	// Its index deleted after its restore points: history, which expires.
	r.State, r.UpdatedAt = engine.IndexDeleted, at.Add(2*time.Hour)
	if err := s.PutIndexRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "INDEXRUN#"+r.ID, "INDEXRUN")
	if sAttr(m, "gsi3pk") != "" || expiresAt(t, m) != at.Add(2*time.Hour).Unix()+tenDays {
		t.Fatalf("index run whose index was deleted: %v", m)
	}
	f := newIndexRun("p1#failed")
	f.State, f.Deadline = engine.IndexFailed, at
	if err := s.CreateIndexRun(ctx, f); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "INDEXRUN#"+f.ID, "INDEXRUN")
	if sAttr(m, "gsi1pk") != "" || sAttr(m, "gsi3pk") != "" || expiresAt(t, m) != at.Unix()+tenDays {
		t.Fatalf("failed index run item: %v", m)
	}

	if _, err := s.LockFileSystem(ctx, loc, "fs-00000001", r.ID, at, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "IXLOCK#"+fs, "IXLOCK")
	if sAttr(m, "runId") != r.ID || sAttr(m, "until") != "2025-03-01T03:00:00.000000000Z" || expiresAt(t, m) != at.Add(time.Hour).Unix()+tenDays {
		t.Fatalf("slot item: %v", m)
	}
	if err := s.UnlockFileSystem(ctx, loc, "fs-00000001", r.ID); err != nil {
		t.Fatal(err)
	}
	missingItem(t, table, "IXLOCK#"+fs, "IXLOCK")

	for _, c := range []*engine.WorkerConfig{{Region: "eu-west-1"}, {Account: "111122223333", Region: "eu-west-1"}} {
		if err := s.PutWorkerConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	rawItem(t, table, "WORKERCONFIGS", "WORKERCONFIG#eu-west-1#")
	if m := rawItem(t, table, "WORKERCONFIGS", "WORKERCONFIG#eu-west-1#111122223333"); sAttr(m, "type") != "workerconfig" || expiresAt(t, m) != 0 {
		t.Fatalf("worker configuration item: %v", m)
	}

	x := newRestore("rst-1", 2)
	startJobs(x, 0, 1)
	if err := s.CreateRestore(ctx, x); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "RESTORE#rst-1", "RESTORE")
	if sAttr(m, "type") != "restore" || sAttr(m, "gsi1pk") != "RUNNINGRESTORES" || sAttr(m, "gsi1sk") != T+"#rst-1" ||
		sAttr(m, "gsi2pk") != "RESTORES" || sAttr(m, "gsi2sk") != T+"#rst-1" || sAttr(m, "gsi3pk") != "" || sAttr(m, "jobsKey") == "" || expiresAt(t, m) != 0 {
		t.Fatalf("running restore item: %v", m)
	}
	p := rawItem(t, table, "RESTOREJOB#rst-1-job-0", "RESTOREJOB")
	if sAttr(p, "restoreId") != "rst-1" || sAttr(p, "type") != "restorejob" || expiresAt(t, p) != at.Unix()+tenDays {
		t.Fatalf("job pointer: %v", p)
	}
	x.Status, x.EndedAt = engine.RestoreCompleted, at.Add(2*time.Hour)
	if err := s.PutRestore(ctx, x); err != nil {
		t.Fatal(err)
	}
	m = rawItem(t, table, "RESTORE#rst-1", "RESTORE")
	if sAttr(m, "gsi1pk") != "" || sAttr(m, "gsi2pk") != "RESTORES" || expiresAt(t, m) != at.Add(2*time.Hour).Unix()+tenDays {
		t.Fatalf("ended restore item: %v", m)
	}
}

// TestRestoreJobPointers: a session carries a job id only once the id's
// pointer exists, and pointers that a lost write left behind find nothing.
func TestRestoreJobPointers(t *testing.T) {
	table := newTable(t)
	s := dynamo.New(client, table)
	r := newRestore("rst-big", 60)
	if err := s.CreateRestore(ctx, r); err != nil {
		t.Fatal(err)
	}
	// A writer at a stale version that starts jobs writes no pointer.
	stale := newRestore("rst-big", 60)
	stale.Version = 1
	startJobs(stale, 0, 60)
	if err := s.PutRestore(ctx, r); err != nil { // r moves to version 2
		t.Fatal(err)
	}
	if err := s.PutRestore(ctx, stale); !engine.IsConflict(err) {
		t.Fatalf("stale put: %v, want %s", err, engine.ECONFLICT)
	}
	missingItem(t, table, "RESTOREJOB#rst-big-job-0", "RESTOREJOB")

	// 55 jobs start at once: three batches of pointers, then the session.
	before := s.Ops()
	startJobs(r, 0, 55)
	if err := s.PutRestore(ctx, r); err != nil {
		t.Fatal(err)
	}
	if d := s.Ops()["BatchWriteItem"] - before["BatchWriteItem"]; d != 3 {
		t.Errorf("55 new job ids took %d BatchWriteItem calls, want 3", d)
	}
	for i := range 55 {
		got, err := s.RestoreByJob(ctx, r.Jobs[i].JobID)
		if err != nil || got.ID != "rst-big" || got.Version != 3 {
			t.Fatalf("job %d: %v %v", i, got, err)
		}
	}
	// A pointer whose session never took the job id (its write lost, or
	// the writer stopped) finds nothing; nor does one to a missing session.
	for jobID, restoreID := range map[string]string{"orphan-1": "rst-big", "orphan-2": "rst-gone"} {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RESTOREJOB#" + jobID}, "sk": &types.AttributeValueMemberS{Value: "RESTOREJOB"},
			"restoreId": &types.AttributeValueMemberS{Value: restoreID},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RestoreByJob(ctx, jobID); !engine.IsNotFound(err) {
			t.Fatalf("pointer %s to %s: %v, want %s", jobID, restoreID, err, engine.ENOTFOUND)
		}
	}
	// Job events that change no job id are one PutItem each.
	got, err := s.RestoreByJob(ctx, "rst-big-job-7")
	if err != nil {
		t.Fatal(err)
	}
	got.Jobs[7].State = engine.JobRunning
	before = s.Ops()
	if err := s.PutRestore(ctx, got); err != nil {
		t.Fatal(err)
	}
	if d := opsSince(before, s.Ops()); !maps.Equal(d, map[string]int{"PutItem": 1}) {
		t.Errorf("put without new job ids: %v, want 1 PutItem", d)
	}
}

func opsSince(before, after map[string]int) map[string]int {
	d := map[string]int{}
	for op, n := range after {
		if n != before[op] {
			d[op] = n - before[op]
		}
	}
	return d
}

// TestNewOpsPerMethod pins how many DynamoDB calls the index, worker
// configuration and restore methods make against dynalite. DynamoDB itself
// returns the stored item with a failed condition, so there the GetItem
// after each failed condition below does not happen.
func TestNewOpsPerMethod(t *testing.T) {
	s := dynamo.New(client, newTable(t))
	run := newIndexRun("p1#t1")
	cfg := &engine.WorkerConfig{Region: "eu-west-1"}
	rst := newRestore("rst-1", 30)
	fails := func(code string, err error) error {
		if engine.ErrorCode(err) != code {
			return fmt.Errorf("error %v, want %s", err, code)
		}
		return nil
	}
	steps := []struct {
		name string
		run  func() error
		want map[string]int
	}{
		{"CreateIndexRun", func() error { return s.CreateIndexRun(ctx, run) }, map[string]int{"PutItem": 1}},
		{"GetIndexRun", func() error { _, err := s.GetIndexRun(ctx, run.ID); return err }, map[string]int{"GetItem": 1}},
		{"PutIndexRun", func() error { return s.PutIndexRun(ctx, run) }, map[string]int{"PutItem": 1}},
		{"PutIndexRun stale", func() error {
			old := *run
			old.Version = 1
			return fails(engine.ECONFLICT, s.PutIndexRun(ctx, &old))
		}, map[string]int{"PutItem": 1, "GetItem": 1}},
		{"FileSystemIndexRuns", func() error {
			_, _, err := s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc, FileSystem: run.FileSystem})
			return err
		}, map[string]int{"Query": 1}},
		{"FileSystemIndexRuns done", func() error {
			_, _, err := s.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: loc, FileSystem: run.FileSystem, DoneOnly: true})
			return err
		}, map[string]int{"Query": 1}},
		{"DueIndexRuns", func() error { _, err := s.DueIndexRuns(ctx, at); return err }, map[string]int{"Query": 1}},
		{"LockFileSystem", func() error {
			_, err := s.LockFileSystem(ctx, loc, run.FileSystem, "ix-1", at, at.Add(time.Hour))
			return err
		}, map[string]int{"PutItem": 1}},
		{"LockFileSystem held", func() error {
			_, err := s.LockFileSystem(ctx, loc, run.FileSystem, "ix-2", at, at.Add(time.Hour))
			return fails(engine.ECONFLICT, err)
		}, map[string]int{"PutItem": 1, "GetItem": 1}},
		{"UnlockFileSystem not holder", func() error { return s.UnlockFileSystem(ctx, loc, run.FileSystem, "ix-2") }, map[string]int{"DeleteItem": 1}},
		{"UnlockFileSystem", func() error { return s.UnlockFileSystem(ctx, loc, run.FileSystem, "ix-1") }, map[string]int{"DeleteItem": 1}},

		{"PutWorkerConfig", func() error { return s.PutWorkerConfig(ctx, cfg) }, map[string]int{"PutItem": 1}},
		{"GetWorkerConfig", func() error { _, err := s.GetWorkerConfig(ctx, "", "eu-west-1"); return err }, map[string]int{"GetItem": 1}},
		{"ListWorkerConfigs", func() error { _, err := s.ListWorkerConfigs(ctx); return err }, map[string]int{"Query": 1}},
		{"DeleteWorkerConfig stale", func() error {
			return fails(engine.ECONFLICT, s.DeleteWorkerConfig(ctx, "", "eu-west-1", 9))
		}, map[string]int{"DeleteItem": 1, "GetItem": 1}},
		{"DeleteWorkerConfig", func() error { return s.DeleteWorkerConfig(ctx, "", "eu-west-1", 1) }, map[string]int{"DeleteItem": 1}},

		{"CreateRestore", func() error { return s.CreateRestore(ctx, rst) }, map[string]int{"PutItem": 1}},
		{"GetRestore", func() error { _, err := s.GetRestore(ctx, "rst-1"); return err }, map[string]int{"GetItem": 1}},
		{"PutRestore", func() error { return s.PutRestore(ctx, rst) }, map[string]int{"PutItem": 1}},
		{"PutRestore starting 30 jobs", func() error { startJobs(rst, 0, 30); return s.PutRestore(ctx, rst) },
			map[string]int{"PutItem": 2, "GetItem": 1, "BatchWriteItem": 2}},
		{"PutRestore stale", func() error {
			old := *rst
			old.Version = 1
			return fails(engine.ECONFLICT, s.PutRestore(ctx, &old))
		}, map[string]int{"PutItem": 1, "GetItem": 1}},
		{"RestoreByJob", func() error { _, err := s.RestoreByJob(ctx, "rst-1-job-3"); return err }, map[string]int{"GetItem": 2}},
		{"RestoreByJob unknown", func() error { _, err := s.RestoreByJob(ctx, "job-x"); return fails(engine.ENOTFOUND, err) },
			map[string]int{"GetItem": 1}},
		{"ListRestores", func() error { _, _, err := s.ListRestores(ctx, engine.RestoreQuery{}); return err }, map[string]int{"Query": 1}},
		{"ListRestores running", func() error {
			_, _, err := s.ListRestores(ctx, engine.RestoreQuery{RunningOnly: true, Since: at})
			return err
		}, map[string]int{"Query": 1}},
	}
	for _, st := range steps {
		before := s.Ops()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if d := opsSince(before, s.Ops()); !maps.Equal(d, st.want) {
			t.Errorf("%s: calls %v, want %v", st.name, d, st.want)
		}
	}
}
