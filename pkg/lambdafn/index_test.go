package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/efskeeper/efskeeper/pkg/awscloud"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index"
	"github.com/efskeeper/efskeeper/pkg/index/s3index/s3test"
	"github.com/efskeeper/efskeeper/pkg/index/testtree"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

const (
	ixBucketName = "efskeeper-index-111122223333-eu-west-1"
	ixEUFS       = "fs-0123456789abcdef0" // eu-west-1, selected by id
	ixUSFS       = "fs-0fedcba9876543210" // us-east-1, selected by tag
	ixResultFile = "../../testdata/events/s3/indexdone-result-created.json"
)

// ixFixture is the fixture of the other handlers plus what indexing
// needs: worker networks, a generated tree as the contents of the
// eu-west-1 file system, an in-process S3 server as the index bucket and
// the simulated EC2 running the real worker.
type ixFixture struct {
	*fixture
	runs      *memory.Indexes
	bucket    *awscloud.Bucket
	instances *sim.Instances
	fn        *IndexFunction
	tree      string
}

func newIxFixture(t *testing.T) *ixFixture {
	t.Helper()
	f := &ixFixture{fixture: newFixture(t, engine.Config{}, nil), runs: memory.NewIndexes()}
	eu := f.world.AddWorkerNetwork(euWest1, 1, "eu-west-1a", "eu-west-1b")
	f.world.AddFileSystem(euWest1, sim.FileSystemSpec{ID: ixEUFS, Name: "shared", SizeBytes: 1 << 30, MountTargets: eu.MountTargets(ixEUFS)})
	us := f.world.AddWorkerNetwork(usEast1, 2, "us-east-1a")
	f.world.AddFileSystem(usEast1, sim.FileSystemSpec{ID: ixUSFS, Name: "gold", SizeBytes: 1 << 30,
		Tags: map[string]string{"backup": "gold"}, MountTargets: us.MountTargets(ixUSFS)})
	// In us-east-1 the mount target's group lets no NFS out.
	f.world.AddSecurityGroup(usEast1, sim.SecurityGroup{ID: us.SecurityGroupID, VpcID: us.VpcID,
		Egress: []sim.SecurityGroupRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}})

	f.tree = testtree.TempDir(t)
	if err := testtree.Hostile(f.tree, testtree.Options{Deep: 20, Wide: 300}); err != nil {
		t.Fatal(err)
	}
	srv, err := s3test.New(ixBucketName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f.bucket = awscloud.NewBucket(s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}), ixBucketName)
	f.instances = f.world.NewInstances(sim.InstancesConfig{Mounter: worker.Trees{ixEUFS: f.tree}, Objects: f.bucket, Walk: walk.Options{Workers: 8}})
	f.fn = &IndexFunction{Results: f.bucket, Bucket: ixBucketName, Indexer: engine.NewIndexer(engine.Indexer{
		Store: f.store, Runs: f.runs, Configs: f.runs, Network: f.world.NetworkAPI(), Instances: f.instances, Objects: f.bucket,
		Notifier: f.queue, Clock: f.world, Log: f.engine.Log,
		Config: engine.IndexerConfig{Bucket: ixBucketName, BucketRegion: "eu-west-1"}})}
	return f
}

func (f *ixFixture) takeIndexRuns() []engine.IndexRunMsg {
	f.queue.mu.Lock()
	defer f.queue.mu.Unlock()
	out := f.queue.indexRuns
	f.queue.indexRuns = nil
	return out
}

// launch delivers index-run messages to the indexlaunch handler as one
// SQS batch.
func (f *ixFixture) launch(msgs ...engine.IndexRunMsg) events.SQSEventResponse {
	f.t.Helper()
	var bodies []string
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		bodies = append(bodies, string(b))
	}
	out, err := invoke(f.t, IndexLaunch(f.fn), sqsBatch(f.t, bodies...))
	if err != nil {
		f.t.Fatal(err)
	}
	return decode[events.SQSEventResponse](f.t, out)
}

// resultEvent is the sample S3 notification with its first record
// pointing at key in bucket.
func resultEvent(t *testing.T, bucket, key string) []byte {
	t.Helper()
	var ev events.S3Event
	if err := json.Unmarshal(readFile(t, ixResultFile), &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	r.S3.Bucket.Name, r.S3.Bucket.Arn = bucket, "arn:aws:s3:::"+bucket
	r.S3.Object.Key = strings.ReplaceAll(key, " ", "+")
	ev.Records = []events.S3EventRecord{r}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The whole path: a scheduled backup completes, jobevents queues index
// runs, indexlaunch checks the networks and launches a worker where it can,
// the worker indexes a generated tree into S3 and puts its result, the
// bucket's notification reaches indexdone, and the run is done with an
// index that lists the tree. Where the preflight fails, the finished
// session turns Warning, names the missing piece, and is announced again.
func TestIndexEndToEnd(t *testing.T) {
	f := newIxFixture(t)
	f.tick(firstRun)
	f.drainRegionRuns()
	s := f.runUntilEnded(sessionID)
	if s.Status != engine.StatusSuccess {
		t.Fatalf("session ended %s %v before indexing", s.Status, s.Reasons)
	}
	msgs := f.takeIndexRuns()
	var fss []string
	for _, m := range msgs {
		fss = append(fss, m.FileSystem)
	}
	slices.Sort(fss)
	if !slices.Equal(fss, []string{ixEUFS, ixUSFS}) {
		t.Fatalf("index runs queued for %v, want both backed-up file systems", fss)
	}
	if resp := f.launch(msgs...); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("indexlaunch failures %v", resp.BatchItemFailures)
	}
	// Redelivered, the batch launches nothing more.
	f.launch(msgs...)
	if n := len(f.instances.List()); n != 1 {
		t.Fatalf("%d workers launched, want 1 (us-east-1 fails its preflight)", n)
	}

	results := f.instances.RunPending(context.Background())
	if len(results) != 1 || results[0].Error != "" {
		t.Fatalf("worker results %+v", results)
	}
	payload := resultEvent(t, ixBucketName, engine.ResultKey(results[0].RunID))
	if _, err := invoke(t, IndexDone(f.fn), payload); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, IndexDone(f.fn), payload); err != nil {
		t.Fatalf("a repeated notification: %v", err)
	}

	euRun, err := f.runs.GetIndexRun(context.Background(), engine.IndexRunID(engine.TaskID(sessionID, euWest1, ixEUFS)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := testtree.Find(f.tree, "-mindepth", "1", "-print0")
	if err != nil {
		t.Fatal(err)
	}
	if euRun.State != engine.IndexDone || euRun.Entries != int64(len(want)) || euRun.Bytes == 0 || euRun.InstanceID != f.instances.List()[0].ID {
		t.Fatalf("eu-west-1 run %+v; want done with the tree's %d entries", euRun, len(want))
	}
	// The index in S3 lists the tree's root directory, read with ranged GETs.
	obj, err := s3index.Open(context.Background(), f.bucket.Client(), ixBucketName, euRun.IndexKey, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(obj, obj.Size(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for e, err := range idx.List("/") {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, e.Name())
	}
	dir, err := os.ReadDir(f.tree)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dir {
		names = append(names, d.Name())
	}
	if !slices.Equal(listed, names) {
		t.Errorf("index root lists %q\nthe tree's root holds %q", listed, names)
	}

	usRun, _ := f.runs.GetIndexRun(context.Background(), engine.IndexRunID(engine.TaskID(sessionID, usEast1, ixUSFS)))
	if usRun.State != engine.IndexFailed || !strings.Contains(usRun.Message, "allow no outbound TCP 2049 (NFS)") {
		t.Errorf("us-east-1 run %s: %s", usRun.State, usRun.Message)
	}
	s = f.session(sessionID)
	var indexReasons []engine.Reason
	for _, r := range s.Reasons {
		if r.Code == engine.ReasonIndexFailed {
			indexReasons = append(indexReasons, r)
		}
	}
	if s.Status != engine.StatusWarning || len(indexReasons) != 1 || indexReasons[0].FileSystem != ixUSFS || indexReasons[0].Severity != engine.SeverityWarning {
		t.Errorf("session %s with index reasons %+v; want Warning naming %s", s.Status, indexReasons, ixUSFS)
	}
	f.queue.mu.Lock()
	last := f.queue.notices[len(f.queue.notices)-1]
	f.queue.mu.Unlock()
	if last.Session.Status != engine.StatusWarning {
		t.Errorf("last notice %s, want the session announced again as Warning", last.Session.Status)
	}
}

func TestIndexLaunchBatch(t *testing.T) {
	f := newIxFixture(t)
	good := engine.IndexRunMsg{TaskID: engine.TaskID(sessionID, euWest1, ixEUFS), PolicyID: policyID, SessionID: sessionID,
		Account: account, Region: "eu-west-1", FileSystem: ixEUFS, RecoveryPointArn: "arn:aws:backup:eu-west-1:111111111111:recovery-point:rp-1", BackupCreatedAt: firstRun}
	wrongTask := good
	wrongTask.TaskID = engine.TaskID(sessionID, euWest1, ixUSFS)
	b1, _ := json.Marshal(good)
	b2, _ := json.Marshal(wrongTask)
	// The member role cannot be assumed: not a passing failure, so the
	// run ends failed with the reason and SQS need not redeliver; the
	// malformed records are dropped.
	f.world.DenyAccess(account, true)
	out, err := invoke(t, IndexLaunch(f.fn), sqsBatch(t, string(b1), string(b2), `{"taskId":`))
	if err != nil {
		t.Fatal(err)
	}
	if resp := decode[events.SQSEventResponse](t, out); len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %+v, want none", resp.BatchItemFailures)
	}
	run, err := f.runs.GetIndexRun(context.Background(), engine.IndexRunID(good.TaskID))
	if err != nil || run.State != engine.IndexFailed || !strings.Contains(run.Message, "mount targets could not be listed") {
		t.Errorf("run %+v, %v", run, err)
	}
	if !strings.Contains(f.logs.String(), "index-run message dropped") {
		t.Error("a malformed body was not logged")
	}

	// Throttling is passing: SQS redelivers that record, and only it.
	f2 := newIxFixture(t)
	f2.fn.Indexer = engine.NewIndexer(engine.Indexer{Store: f2.store, Runs: f2.runs, Configs: f2.runs, Network: f2.world.NetworkAPI(),
		Instances: throttled{}, Clock: f2.world, Config: engine.IndexerConfig{Bucket: ixBucketName, BucketRegion: "eu-west-1"}})
	out, _ = invoke(t, IndexLaunch(f2.fn), sqsBatch(t, `{}`, string(b1)))
	if resp := decode[events.SQSEventResponse](t, out); len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier[:8] != "00000002" {
		t.Errorf("a throttled launch was not handed back to SQS alone: %+v", resp)
	}
}

type throttled struct{}

func (throttled) RunWorker(context.Context, engine.WorkerLaunch) (string, error) {
	return "", engine.Errorf(engine.ETHROTTLED, "RequestLimitExceeded")
}

func TestIndexDoneEvents(t *testing.T) {
	f := newIxFixture(t)
	// The sample's own records: a result key whose run nobody launched
	// (dropped), and a key that is not a result key (ignored).
	if err := f.bucket.Put(context.Background(), "results/ix-0123456789abcdef0123456789abcdef.json",
		[]byte(`{"runId":"ix-0123456789abcdef0123456789abcdef","fileSystem":"fs-0123456789abcdef0"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, IndexDone(f.fn), readFile(t, ixResultFile)); err != nil {
		t.Fatal(err)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "result of an unknown index run dropped") || !strings.Contains(logs, "the key is not a worker result") {
		t.Errorf("logs do not show both records handled:\n%s", logs)
	}
	// S3's test message has no records.
	if _, err := invoke(t, IndexDone(f.fn), readFile(t, "../../testdata/events/s3/s3-test-event.json")); err != nil {
		t.Errorf("test event: %v", err)
	}
	// Another bucket, a missing object, a result naming another run.
	for _, c := range []struct {
		payload []byte
		log     string
	}{
		{resultEvent(t, "someone-elses-bucket", engine.ResultKey(engine.IndexRunID("a"))), "not the index bucket"},
		{resultEvent(t, ixBucketName, engine.ResultKey(engine.IndexRunID("gone"))), "it cannot be read"},
		{resultEvent(t, ixBucketName, "results/ix-0123456789abcdef0123456789abcdee.json"), "not a result of this run"},
	} {
		if c.log == "not a result of this run" {
			f.bucket.Put(context.Background(), "results/ix-0123456789abcdef0123456789abcdee.json",
				[]byte(`{"runId":"ix-0123456789abcdef0123456789abcdef"}`))
		}
		if _, err := invoke(t, IndexDone(f.fn), c.payload); err != nil {
			t.Errorf("%s: %v", c.log, err)
		}
		if !strings.Contains(f.logs.String(), c.log) {
			t.Errorf("no log line %q", c.log)
		}
	}
	// A passing failure goes back to Lambda.
	f.fn.Results = failingReader{engine.Errorf(engine.EUNAVAIL, "connection reset")}
	if _, err := invoke(t, IndexDone(f.fn), resultEvent(t, ixBucketName, engine.ResultKey(engine.IndexRunID("a")))); err == nil {
		t.Error("an unavailable bucket must make Lambda retry")
	}
}

type failingReader struct{ err error }

func (r failingReader) Get(context.Context, string) ([]byte, error) { return nil, r.err }

func TestDecodeIndexRunMsg(t *testing.T) {
	good := engine.IndexRunMsg{TaskID: engine.TaskID(sessionID, euWest1, ixEUFS), PolicyID: policyID, SessionID: sessionID,
		Account: account, Region: "eu-west-1", FileSystem: ixEUFS, RecoveryPointArn: "arn:aws:backup:eu-west-1:111111111111:recovery-point:x", BackupCreatedAt: firstRun}
	b, _ := json.Marshal(good)
	m, err := DecodeIndexRunMsg(b)
	if err != nil || m != good {
		t.Fatalf("DecodeIndexRunMsg = %+v, %v", m, err)
	}
	for name, change := range map[string]func(*engine.IndexRunMsg){
		"sessionId":        func(m *engine.IndexRunMsg) { m.SessionID = "other#x" },
		"account":          func(m *engine.IndexRunMsg) { m.Account = "1" },
		"region":           func(m *engine.IndexRunMsg) { m.Region = "nowhere" },
		"fileSystem":       func(m *engine.IndexRunMsg) { m.FileSystem = "fs-x" },
		"taskId":           func(m *engine.IndexRunMsg) { m.TaskID = "t" },
		"recoveryPointArn": func(m *engine.IndexRunMsg) { m.RecoveryPointArn = "" },
	} {
		bad := good
		change(&bad)
		b, _ := json.Marshal(bad)
		if _, err := DecodeIndexRunMsg(b); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzDecodeIndexRunMsg(f *testing.F) {
	good := engine.IndexRunMsg{TaskID: engine.TaskID(sessionID, euWest1, ixEUFS), PolicyID: policyID, SessionID: sessionID,
		Account: account, Region: "eu-west-1", FileSystem: ixEUFS, RecoveryPointArn: "arn:aws:backup:eu-west-1:111111111111:recovery-point:x"}
	b, _ := json.Marshal(good)
	f.Add(b)
	f.Add([]byte(`{"taskId":"p#x#1#r#fs-1","policyId":"p","sessionId":"p#x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeIndexRunMsg(body)
		if err != nil {
			return
		}
		if m.TaskID != engine.TaskID(m.SessionID, engine.Loc{Account: m.Account, Region: m.Region}, m.FileSystem) {
			t.Fatalf("accepted %+v", m)
		}
	})
}

func TestParseIndexEnv(t *testing.T) {
	full := map[string]string{
		"EFSKEEPER_TABLE": "efskeeper", "EFSKEEPER_INDEX_BUCKET": ixBucketName, "EFSKEEPER_WORKER_ASSET_BUCKET": "cdk-hnb659fds-assets-111122223333-eu-west-1",
		"EFSKEEPER_WORKER_ASSET_KEY": "4f2c8d0f8e1b.bin", "EFSKEEPER_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:efskeeper", "EFSKEEPER_LOG_LEVEL": "debug",
	}
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	env, err := ParseIndexEnv(FnIndexLaunch, lookup(full))
	if err != nil {
		t.Fatal(err)
	}
	if env.Table != "efskeeper" || env.IndexBucket != ixBucketName || env.WorkerProfileName != DefaultWorkerName || env.WorkerLaunchTemplate != DefaultWorkerName ||
		env.MemberRoleName != DefaultMemberRoleName || env.WorkerAssetKey != "4f2c8d0f8e1b.bin" || env.LogLevel.String() != "DEBUG" || env.Function != FnIndexLaunch {
		t.Errorf("indexlaunch env %+v", env)
	}
	done, err := ParseIndexEnv(FnIndexDone, lookup(full))
	if err != nil || done.TopicARN != full["EFSKEEPER_TOPIC_ARN"] || done.WorkerAssetKey != "" {
		t.Errorf("indexdone env %+v, %v", done, err)
	}
	_, err = ParseIndexEnv(FnIndexLaunch, lookup(map[string]string{"EFSKEEPER_INDEX_BUCKET": "Bad_Bucket", "EFSKEEPER_WORKER_ASSET_KEY": " "}))
	var ee *EnvError
	if !errors.As(err, &ee) || len(ee.Problems) != 4 {
		t.Fatalf("problems %v; want TABLE, INDEX_BUCKET, WORKER_ASSET_BUCKET and WORKER_ASSET_KEY", err)
	}
	for _, want := range []string{"EFSKEEPER_TABLE is not set", `EFSKEEPER_INDEX_BUCKET="Bad_Bucket"`, "EFSKEEPER_WORKER_ASSET_BUCKET is not set", "EFSKEEPER_WORKER_ASSET_KEY is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := ParseIndexEnv("tick", lookup(full)); err == nil {
		t.Error("tick is not an index function")
	}
	// Every variable the index functions read is in the deployment
	// contract's list for them, and nothing more.
	if !slices.Equal(IndexContract[FnIndexDone], []string{VarTable, VarIndexBucket, VarTopicARN}) {
		t.Errorf("indexdone reads %v", IndexContract[FnIndexDone])
	}
}
