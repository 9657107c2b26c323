package engine_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

// The index use-cases on the simulated AWS (VPC model, EC2-like instances
// that run the real worker on a local tree), the memory stores and an
// in-memory bucket.

var (
	ixCtx  = context.Background()
	ixT0   = time.Date(2025, 6, 2, 2, 0, 0, 0, time.UTC)
	ixHome = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
)

const (
	ixFS1    = "fs-0123456789abcdef0"
	ixFS2    = "fs-0fedcba9876543210"
	ixPolicy = "ix-policy"
	ixBucket = "efskeeper-index-111122223333-eu-west-1"
)

// ixInstances wraps the simulated EC2 to inject failures around launches.
type ixInstances struct {
	*sim.Instances
	before func() error // fails the call before launching
	after  func() error // fails the call after launching (the answer is lost)
}

func (i *ixInstances) RunWorker(ctx context.Context, l engine.WorkerLaunch) (string, error) {
	if i.before != nil {
		if err := i.before(); err != nil {
			return "", err
		}
	}
	id, err := i.Instances.RunWorker(ctx, l)
	if err == nil && i.after != nil {
		if err := i.after(); err != nil {
			return "", err
		}
	}
	return id, err
}

type ixMail struct {
	mu      sync.Mutex
	notices []engine.SessionNotice
}

func (m *ixMail) SessionFinished(_ context.Context, n engine.SessionNotice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, n)
	return nil
}

type ixEnv struct {
	t         *testing.T
	world     *sim.World
	store     *memory.Store
	runs      *memory.Indexes
	objects   *worker.MemoryBucket
	instances *ixInstances
	mail      *ixMail
	ix        *engine.Indexer
	tree      string
	session   *engine.Session
}

// newIxEnv builds one account whose two file systems have mount targets in
// a public subnet, a session (still Running) with a task per file system,
// and the Indexer.
func newIxEnv(t *testing.T) *ixEnv {
	t.Helper()
	w := sim.New(sim.Config{Seed: 5, Start: ixT0})
	w.AddAccount(ixHome.Account, "")
	w.AddVPC(ixHome, sim.VPC{ID: "vpc-1", CIDR: "10.0.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true})
	w.AddSubnet(ixHome, sim.Subnet{ID: "subnet-a", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", CIDR: "10.0.1.0/24", MapPublicIPOnLaunch: true})
	w.AddRouteTable(ixHome, sim.RouteTable{ID: "rtb-main", VpcID: "vpc-1", Main: true, Routes: []sim.Route{{Destination: "0.0.0.0/0", Target: "igw-1"}}})
	w.AddInternetGateway(ixHome, sim.InternetGateway{ID: "igw-1", AttachedVpcID: "vpc-1"})
	w.AddSecurityGroup(ixHome, sim.SecurityGroup{ID: "sg-efs", VpcID: "vpc-1", Egress: []sim.SecurityGroupRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}})
	for i, fs := range []string{ixFS1, ixFS2} {
		w.AddFileSystem(ixHome, sim.FileSystemSpec{ID: fs, SizeBytes: 1 << 30, MountTargets: []engine.MountTarget{{ID: "fsmt-" + fs[3:], SubnetID: "subnet-a",
			VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", IPAddress: "10.0.1." + string(rune('1'+i)), SecurityGroups: []string{"sg-efs"}}}})
	}
	tree := t.TempDir()
	for _, p := range []string{"home/alice/notes.txt", "home/bob/todo", "srv/app/config.yml"} {
		full := filepath.Join(tree, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &ixEnv{t: t, world: w, store: memory.New(), runs: memory.NewIndexes(), objects: worker.NewMemoryBucket(), mail: &ixMail{}, tree: tree}
	e.instances = &ixInstances{Instances: w.NewInstances(sim.InstancesConfig{Mounter: worker.Trees{ixFS1: tree, ixFS2: tree},
		Objects: e.objects, Walk: walk.Options{Workers: 2}})}
	p := &policy.Policy{ID: ixPolicy, Name: "Index test", Enabled: true, Timezone: "UTC",
		Indexing: policy.Indexing{Enabled: true}, Notifications: policy.Notifications{OnWarning: true, OnFailure: true}}
	if err := e.store.PutPolicy(ixCtx, &engine.PolicyRecord{Policy: p}); err != nil {
		t.Fatal(err)
	}
	e.session = &engine.Session{ID: engine.SessionID(ixPolicy, ixT0), PolicyID: ixPolicy, ScheduledAt: ixT0, Status: engine.StatusRunning,
		Units: []engine.Loc{ixHome}, CreatedAt: ixT0, UpdatedAt: ixT0}
	if err := e.store.CreateSession(ixCtx, e.session); err != nil {
		t.Fatal(err)
	}
	for _, fs := range []string{ixFS1, ixFS2} {
		task := &engine.Task{SessionID: e.session.ID, PolicyID: ixPolicy, Loc: ixHome, FileSystem: fs, Phase: engine.PhaseDone,
			Backup: engine.Job{State: engine.JobCompleted}, RecoveryPointArn: ixRP(fs, 1), PointCreatedAt: ixT0, Index: true, CreatedAt: ixT0}
		if err := e.store.CreateTask(ixCtx, task); err != nil {
			t.Fatal(err)
		}
	}
	e.ix = engine.NewIndexer(engine.Indexer{Store: e.store, Runs: e.runs, Configs: e.runs, Network: w.NetworkAPI(), Instances: e.instances,
		Objects: e.objects, Notifier: e.mail, Clock: w,
		Config: engine.IndexerConfig{Bucket: ixBucket, BucketRegion: ixHome.Region, MaxLifetime: 2 * time.Hour}})
	return e
}

func ixRP(fs string, n int) string {
	return "arn:aws:backup:eu-west-1:111122223333:recovery-point:" + fs[3:11] + "-0000-4000-8000-00000000000" + string(rune('0'+n))
}

func (e *ixEnv) msg(fs string) engine.IndexRunMsg {
	return e.msgFor(e.session.ID, fs, ixRP(fs, 1), ixT0)
}

func (e *ixEnv) msgFor(sessionID, fs, rp string, at time.Time) engine.IndexRunMsg {
	return engine.IndexRunMsg{TaskID: engine.TaskID(sessionID, ixHome, fs), PolicyID: ixPolicy, SessionID: sessionID,
		Account: ixHome.Account, Region: ixHome.Region, FileSystem: fs, RecoveryPointArn: rp, BackupCreatedAt: at}
}

func (e *ixEnv) run(m engine.IndexRunMsg) *engine.IndexRun {
	e.t.Helper()
	r, err := e.runs.GetIndexRun(ixCtx, engine.IndexRunID(m.TaskID))
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// finishWorkers runs the pending workers and delivers their results to
// Done, as the result objects' S3 notifications would.
func (e *ixEnv) finishWorkers() []engine.WorkerResult {
	e.t.Helper()
	results := e.instances.RunPending(ixCtx)
	for _, res := range results {
		body, ok := e.objects.Get(engine.ResultKey(res.RunID))
		if !ok {
			e.t.Fatalf("worker of %s put no result", res.RunID)
		}
		parsed, err := engine.ParseWorkerResult(body)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.ix.Done(ixCtx, parsed); err != nil {
			e.t.Fatal(err)
		}
	}
	return results
}

func (e *ixEnv) finishSession(status engine.SessionStatus) {
	e.t.Helper()
	s, err := e.store.GetSession(ixCtx, e.session.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	s.Status, s.EndedAt, s.Notified = status, ixT0, true
	if err := e.store.PutSession(ixCtx, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *ixEnv) task(fs string) *engine.Task {
	t, err := e.store.GetTask(ixCtx, engine.TaskID(e.session.ID, ixHome, fs))
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func ixReasons(rs []engine.Reason, code string) []string {
	var out []string
	for _, r := range rs {
		if r.Code == code {
			out = append(out, r.Message)
		}
	}
	return out
}

func TestIndexLaunchAndDone(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	r := e.run(m)
	if r.State != engine.IndexRunning || r.SubnetID != "subnet-a" || r.MountTargetIP != "10.0.1.1" || !slices.Equal(r.SecurityGroupIDs, []string{"sg-efs"}) ||
		r.IndexKey != engine.IndexKey(ixHome, ixFS1, m.RecoveryPointArn) || r.BaseKey != "" || r.InstanceID == "" || r.Attempts != 1 {
		t.Fatalf("run after launch: %+v", r)
	}
	if !r.Deadline.Equal(ixT0.Add(2*time.Hour + 20*time.Minute)) {
		t.Errorf("deadline %s, want launch + lifetime + grace", r.Deadline)
	}
	insts := e.instances.List()
	if len(insts) != 1 {
		t.Fatalf("%d instances", len(insts))
	}
	job := insts[0].Launch.Job
	if job.Bucket != ixBucket || job.MountTargetIP != "10.0.1.1" || job.MaxLifetimeSeconds != 7200 || job.ResultKey != "results/"+r.ID+".json" ||
		!job.BackupCreatedAt.Equal(ixT0) || insts[0].Launch.RunID != r.ID {
		t.Errorf("job %+v", job)
	}

	e.finishWorkers()
	r = e.run(m)
	if r.State != engine.IndexDone || r.Entries != 8 || r.Bytes == 0 || r.Message != "" || r.FinishedAt.IsZero() {
		t.Fatalf("run after done: %+v", r)
	}
	// The slot is free again: the next restore point of the file system
	// can be indexed, as a delta of this one.
	m2 := e.msgFor(engine.SessionID(ixPolicy, ixT0.Add(24*time.Hour)), ixFS1, ixRP(ixFS1, 2), ixT0.Add(24*time.Hour))
	if err := e.ix.Launch(ixCtx, m2); err != nil {
		t.Fatal(err)
	}
	if r2 := e.run(m2); r2.State != engine.IndexRunning || r2.BaseKey != r.IndexKey {
		t.Errorf("second run %s base %q, want running as a delta of %s", r2.State, r2.BaseKey, r.IndexKey)
	}
	e.finishWorkers()
	if r2 := e.run(m2); r2.State != engine.IndexDone || r2.Entries != 8 || r2.Records != 0 || r2.BaseKey != r.IndexKey {
		t.Errorf("delta run %+v: want done with 8 entries, no changed records", r2)
	}
	if got := e.task(ixFS1).Reasons; len(got) != 0 {
		t.Errorf("a good index left reasons: %v", got)
	}
	// Results that arrive again change nothing.
	res := engine.WorkerResult{RunID: r.ID, FileSystem: ixFS1, RecoveryPointArn: r.RecoveryPointArn, IndexKey: r.IndexKey, Error: "late failure"}
	if err := e.ix.Done(ixCtx, res); err != nil || e.run(m).State != engine.IndexDone {
		t.Errorf("a late result changed a done run: %v", err)
	}
}

func TestIndexLaunchIsIdempotent(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	for i := 0; i < 3; i++ {
		if err := e.ix.Launch(ixCtx, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.instances.List()); n != 1 {
		t.Errorf("%d instances after three deliveries, want 1", n)
	}
	if r := e.run(m); r.Attempts != 1 || r.State != engine.IndexRunning {
		t.Errorf("run %+v", r)
	}

	// The launch answer is lost (the instance exists, the call failed):
	// the redelivery gets the same instance through the client token.
	m2 := e.msg(ixFS2)
	lost := true
	e.instances.after = func() error {
		if lost {
			lost = false
			return engine.Errorf(engine.EUNAVAIL, "connection reset")
		}
		return nil
	}
	if err := e.ix.Launch(ixCtx, m2); err == nil {
		t.Fatal("a lost launch answer must make SQS redeliver")
	}
	if r := e.run(m2); r.State != engine.IndexLaunching {
		t.Fatalf("run after a lost answer: %s", r.State)
	}
	if err := e.ix.Launch(ixCtx, m2); err != nil {
		t.Fatal(err)
	}
	insts := e.instances.List()
	r := e.run(m2)
	if len(insts) != 2 || r.State != engine.IndexRunning || r.InstanceID != insts[1].ID {
		t.Errorf("after redelivery: %d instances, run %s on %q", len(insts), r.State, r.InstanceID)
	}

	// EC2 refusing the token with other parameters means an earlier
	// attempt launched the worker: the run counts as running.
	e3 := newIxEnv(t)
	e3.instances.before = func() error {
		return &engine.Error{Code: engine.ECONFLICT, Message: "run instances", Err: io.EOF}
	}
	if err := e3.ix.Launch(ixCtx, e3.msg(ixFS1)); err != nil {
		t.Fatal(err)
	}
	if r := e3.run(e3.msg(ixFS1)); r.State != engine.IndexRunning || r.InstanceID != "" {
		t.Errorf("run after IdempotentParameterMismatch: %+v", r)
	}
}

func TestIndexOneRunPerFileSystem(t *testing.T) {
	e := newIxEnv(t)
	first := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, first); err != nil {
		t.Fatal(err)
	}
	// Another policy's session backs up the same file system meanwhile.
	other := engine.SessionID(ixPolicy, ixT0.Add(time.Hour))
	s := &engine.Session{ID: other, PolicyID: ixPolicy, ScheduledAt: ixT0.Add(time.Hour), Status: engine.StatusSuccess, Units: []engine.Loc{ixHome}, CreatedAt: ixT0}
	if err := e.store.CreateSession(ixCtx, s); err != nil {
		t.Fatal(err)
	}
	task := &engine.Task{SessionID: other, PolicyID: ixPolicy, Loc: ixHome, FileSystem: ixFS1, Phase: engine.PhaseDone, Index: true, CreatedAt: ixT0}
	if err := e.store.CreateTask(ixCtx, task); err != nil {
		t.Fatal(err)
	}
	second := e.msgFor(other, ixFS1, ixRP(ixFS1, 3), ixT0.Add(time.Hour))
	if err := e.ix.Launch(ixCtx, second); err != nil {
		t.Fatal(err)
	}
	r := e.run(second)
	if r.State != engine.IndexSkipped || !strings.Contains(r.Message, "index run "+e.run(first).ID+" of the same file system holds it") {
		t.Errorf("second run %s: %s", r.State, r.Message)
	}
	if n := len(e.instances.List()); n != 1 {
		t.Errorf("%d workers for one file system at once", n)
	}
	got, _ := e.store.GetSession(ixCtx, other)
	if got.Status != engine.StatusWarning || len(ixReasons(got.Reasons, engine.ReasonIndexFailed)) != 1 {
		t.Errorf("the finished session of the skipped run: %s %v", got.Status, got.Reasons)
	}
	// Another file system is not held up.
	if err := e.ix.Launch(ixCtx, e.msg(ixFS2)); err != nil || e.run(e.msg(ixFS2)).State != engine.IndexRunning {
		t.Errorf("a second file system waited: %v", err)
	}
}

func TestIndexPreflightFailureWarnsTheSession(t *testing.T) {
	e := newIxEnv(t)
	// Break the public path: the route goes to a gateway that was detached.
	e.world.AddInternetGateway(ixHome, sim.InternetGateway{ID: "igw-1"})
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	r := e.run(m)
	if r.State != engine.IndexFailed || !strings.Contains(r.Message, "goes to igw-1, which is not attached to vpc-1") {
		t.Fatalf("run %s: %s", r.State, r.Message)
	}
	if len(e.instances.List()) != 0 {
		t.Error("a worker was launched despite the failed preflight")
	}
	reasons := ixReasons(e.task(ixFS1).Reasons, engine.ReasonIndexFailed)
	if len(reasons) != 1 || !strings.Contains(reasons[0], "not attached") {
		t.Errorf("task reasons %v", reasons)
	}
	// The session was still running: it is left to finish, which collects
	// the task's reason; only its version moved (the fence).
	s, _ := e.store.GetSession(ixCtx, e.session.ID)
	if s.Status != engine.StatusRunning || len(s.Reasons) != 0 || s.Version <= e.session.Version {
		t.Errorf("running session %s, reasons %v, version %d (was %d)", s.Status, s.Reasons, s.Version, e.session.Version)
	}
	// A finisher that read the session before the fence loses its write.
	stale := *e.session
	stale.Status = engine.StatusSuccess
	if err := e.store.PutSession(ixCtx, &stale); !engine.IsConflict(err) {
		t.Errorf("a stale finisher's write: %v, want ECONFLICT", err)
	}
	// The slot is free: the failed run does not block the next one.
	if _, err := e.runs.LockFileSystem(ixCtx, ixHome, ixFS1, "ix-other", ixT0, ixT0.Add(time.Hour)); err != nil {
		t.Errorf("slot still held after a failed preflight: %v", err)
	}
}

func TestIndexWorkerConfigurationIsUsed(t *testing.T) {
	e := newIxEnv(t)
	// The mount target's subnet cannot reach S3, a configured one can.
	e.world.AddSubnet(ixHome, sim.Subnet{ID: "subnet-a", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", CIDR: "10.0.1.0/24"})
	e.world.AddSubnet(ixHome, sim.Subnet{ID: "subnet-0000000000000000b", VpcID: "vpc-1", AvailabilityZone: "eu-west-1b", CIDR: "10.0.2.0/24", MapPublicIPOnLaunch: true})
	e.world.AddSecurityGroup(ixHome, sim.SecurityGroup{ID: "sg-00000000000000abc", VpcID: "vpc-1", Egress: []sim.SecurityGroupRule{
		{Protocol: "tcp", FromPort: 2049, ToPort: 2049, GroupIDs: []string{"sg-efs"}}, {Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}})
	cfg := &engine.WorkerConfig{Region: ixHome.Region, SubnetID: "subnet-0000000000000000b", SecurityGroupIDs: []string{"sg-00000000000000abc"}, InstanceType: "t4g.small",
		MaxLifetimeHours: 30}
	if err := e.runs.PutWorkerConfig(ixCtx, cfg); err != nil {
		t.Fatal(err)
	}
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	r := e.run(m)
	l := e.instances.List()
	if r.State != engine.IndexRunning || r.SubnetID != "subnet-0000000000000000b" || r.InstanceType != "t4g.small" || len(l) != 1 ||
		l[0].Launch.SubnetID != "subnet-0000000000000000b" || !slices.Equal(l[0].Launch.SecurityGroupIDs, []string{"sg-00000000000000abc"}) || l[0].Launch.InstanceType != "t4g.small" {
		t.Errorf("run %+v, launch %+v", r, l)
	}
	// Its lifetime bounds the worker (not the deployment's 2 hours), the
	// run's deadline and the file system's slot.
	if len(l) == 1 && l[0].Launch.Job.MaxLifetimeSeconds != 30*3600 || !r.Deadline.Equal(r.LaunchedAt.Add(30*time.Hour+20*time.Minute)) {
		t.Errorf("lifetime: job %+v, deadline %s after launch", l, r.Deadline.Sub(r.LaunchedAt))
	}
	if _, err := e.runs.LockFileSystem(ixCtx, ixHome, ixFS1, "ix-other", ixT0.Add(30*time.Hour), ixT0.Add(31*time.Hour)); !engine.IsConflict(err) {
		t.Errorf("another run took the slot within the configured lifetime: %v", err)
	}
	// An account's own configuration wins over the Region's.
	own := &engine.WorkerConfig{Account: ixHome.Account, Region: ixHome.Region, SubnetID: "subnet-0000000000000ffff"}
	if err := e.runs.PutWorkerConfig(ixCtx, own); err != nil {
		t.Fatal(err)
	}
	m2 := e.msg(ixFS2)
	if err := e.ix.Launch(ixCtx, m2); err != nil {
		t.Fatal(err)
	}
	if r := e.run(m2); r.State != engine.IndexFailed || !strings.Contains(r.Message, "subnet subnet-0000000000000ffff of the worker configuration") {
		t.Errorf("run with the account's configuration: %s %s", r.State, r.Message)
	}
}

func TestIndexFailureRaisesAFinishedSession(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	e.finishSession(engine.StatusSuccess)
	// The worker cannot mount: its tree is gone.
	if err := os.RemoveAll(e.tree); err != nil {
		t.Fatal(err)
	}
	res := e.finishWorkers()
	if len(res) != 1 || !strings.Contains(res[0].Error, "mount "+ixFS1) {
		t.Fatalf("worker results %+v", res)
	}
	r := e.run(m)
	if r.State != engine.IndexFailed || !strings.Contains(r.Message, "failed: mount "+ixFS1) || !strings.Contains(r.Message, r.InstanceID) {
		t.Errorf("run %s: %s", r.State, r.Message)
	}
	s, _ := e.store.GetSession(ixCtx, e.session.ID)
	if s.Status != engine.StatusWarning || len(ixReasons(s.Reasons, engine.ReasonIndexFailed)) != 1 {
		t.Errorf("session %s %v, want Warning with the index reason", s.Status, s.Reasons)
	}
	if len(e.mail.notices) != 1 || e.mail.notices[0].Session.Status != engine.StatusWarning {
		t.Errorf("notices %d: want the session announced again as Warning", len(e.mail.notices))
	}
	// A Failed session stays Failed but gets the reason too.
	e2 := newIxEnv(t)
	e2.finishSession(engine.StatusFailed)
	e2.world.DeleteFileSystem(ixHome, ixFS1)
	if err := e2.ix.Launch(ixCtx, e2.msg(ixFS1)); err != nil {
		t.Fatal(err)
	}
	s, _ = e2.store.GetSession(ixCtx, e2.session.ID)
	if s.Status != engine.StatusFailed || len(ixReasons(s.Reasons, engine.ReasonIndexFailed)) != 1 || len(e2.mail.notices) != 0 {
		t.Errorf("failed session %s %v, %d notices", s.Status, s.Reasons, len(e2.mail.notices))
	}
	// Warning twice for the same thing adds one reason.
	if err := e2.ix.Launch(ixCtx, e2.msg(ixFS1)); err != nil {
		t.Fatal(err)
	}
	if got := ixReasons(e2.task(ixFS1).Reasons, engine.ReasonIndexFailed); len(got) != 1 {
		t.Errorf("task reasons after a redelivery: %v", got)
	}
}

func TestIndexDoneChecksTheIndexObject(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	r := e.run(m)
	claim := engine.WorkerResult{RunID: r.ID, FileSystem: ixFS1, RecoveryPointArn: r.RecoveryPointArn, IndexKey: r.IndexKey, Entries: 10}
	// A result for a run nobody launched, or for another file system, is dropped.
	if err := e.ix.Done(ixCtx, engine.WorkerResult{RunID: engine.IndexRunID("nope"), FileSystem: ixFS1}); err != nil {
		t.Error(err)
	}
	forged := claim
	forged.FileSystem = ixFS2
	if err := e.ix.Done(ixCtx, forged); err != nil || e.run(m).State != engine.IndexRunning {
		t.Errorf("a result for another file system changed the run: %v", err)
	}
	// Success claimed, no index object.
	if err := e.ix.Done(ixCtx, claim); err != nil {
		t.Fatal(err)
	}
	if r := e.run(m); r.State != engine.IndexFailed || !strings.Contains(r.Message, "does not exist") {
		t.Errorf("run %s: %s", r.State, r.Message)
	}

	// An index of another file system under the run's key.
	m2 := e.msg(ixFS2)
	if err := e.ix.Launch(ixCtx, m2); err != nil {
		t.Fatal(err)
	}
	r2 := e.run(m2)
	var b bytes.Buffer
	w, _ := index.NewWriter(&b, index.WriterOptions{Meta: index.Meta{FileSystemID: ixFS1, RestorePointARN: r2.RecoveryPointArn}})
	w.Close()
	e.objects.Put(ixCtx, r2.IndexKey, b.Bytes())
	if err := e.ix.Done(ixCtx, engine.WorkerResult{RunID: r2.ID, FileSystem: ixFS2, RecoveryPointArn: r2.RecoveryPointArn, IndexKey: r2.IndexKey}); err != nil {
		t.Fatal(err)
	}
	if r2 = e.run(m2); r2.State != engine.IndexFailed || !strings.Contains(r2.Message, "is an index of "+ixFS1) {
		t.Errorf("run %s: %s", r2.State, r2.Message)
	}
}

func TestIndexWalkErrorsWarn(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	r := e.run(m)
	var b bytes.Buffer
	w, _ := index.NewWriter(&b, index.WriterOptions{Meta: index.Meta{FileSystemID: ixFS1, RestorePointARN: r.RecoveryPointArn}})
	w.AddError("private", io.ErrUnexpectedEOF)
	w.Close()
	e.objects.Put(ixCtx, r.IndexKey, b.Bytes())
	res := engine.WorkerResult{RunID: r.ID, FileSystem: ixFS1, RecoveryPointArn: r.RecoveryPointArn, IndexKey: r.IndexKey,
		WalkErrors: 1, Errors: []string{"private: permission denied"}}
	if err := e.ix.Done(ixCtx, res); err != nil {
		t.Fatal(err)
	}
	if r = e.run(m); r.State != engine.IndexDone || r.WalkErrors != 1 {
		t.Errorf("run %s with %d walk errors", r.State, r.WalkErrors)
	}
	got := ixReasons(e.task(ixFS1).Reasons, engine.ReasonIndexIncomplete)
	if len(got) != 1 || !strings.Contains(got[0], "1 entries could not be read; first: private: permission denied") {
		t.Errorf("reasons %v", got)
	}
}

func TestIndexExpiry(t *testing.T) {
	e := newIxEnv(t)
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	if n, err := e.ix.Expire(ixCtx); err != nil || n != 0 {
		t.Fatalf("Expire before the deadline: %d, %v", n, err)
	}
	// The worker never reports (it failed to boot).
	e.world.Advance(3 * time.Hour)
	n, err := e.ix.Expire(ixCtx)
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	r := e.run(m)
	if r.State != engine.IndexFailed || !strings.Contains(r.Message, "did not report within 2h20m0s") || !strings.Contains(r.Message, r.InstanceID) {
		t.Errorf("expired run %s: %s", r.State, r.Message)
	}
	if got := ixReasons(e.task(ixFS1).Reasons, engine.ReasonIndexFailed); len(got) != 1 {
		t.Errorf("reasons %v", got)
	}
	// Its late result changes nothing.
	e.finishWorkers()
	if r := e.run(m); r.State != engine.IndexFailed {
		t.Errorf("a late result revived an expired run: %s", r.State)
	}
}

// A run that never reported holds the slot only until its hold ends; the
// next run takes the slot over and ends the old one, even if Expire never
// ran.
func TestIndexStaleSlotIsTakenOver(t *testing.T) {
	e := newIxEnv(t)
	first := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, first); err != nil {
		t.Fatal(err)
	}
	e.world.Advance(4 * time.Hour)
	next := e.msgFor(engine.SessionID(ixPolicy, ixT0.Add(4*time.Hour)), ixFS1, ixRP(ixFS1, 4), ixT0.Add(4*time.Hour))
	if err := e.ix.Launch(ixCtx, next); err != nil {
		t.Fatal(err)
	}
	if r := e.run(first); r.State != engine.IndexFailed || !strings.Contains(r.Message, "found its slot expired") {
		t.Errorf("old run %s: %s", r.State, r.Message)
	}
	if r := e.run(next); r.State != engine.IndexRunning {
		t.Errorf("new run %s: %s", r.State, r.Message)
	}
}

func TestIndexLaunchRefusalAndPassingFailures(t *testing.T) {
	e := newIxEnv(t)
	e.instances.before = func() error { return engine.Errorf(engine.ETHROTTLED, "RequestLimitExceeded") }
	m := e.msg(ixFS1)
	if err := e.ix.Launch(ixCtx, m); !engine.IsThrottled(err) {
		t.Fatalf("throttled launch: %v, want the error back for a redelivery", err)
	}
	e.instances.before = func() error { return engine.Errorf(engine.EDENIED, "UnauthorizedOperation: ec2:RunInstances") }
	if err := e.ix.Launch(ixCtx, m); err != nil {
		t.Fatal(err)
	}
	if r := e.run(m); r.State != engine.IndexFailed || !strings.Contains(r.Message, "EC2 did not launch the worker in subnet subnet-a: UnauthorizedOperation") {
		t.Errorf("run %s: %s", r.State, r.Message)
	}
	// Malformed messages are dropped.
	if err := e.ix.Launch(ixCtx, engine.IndexRunMsg{TaskID: "x"}); err != nil {
		t.Error(err)
	}
}
