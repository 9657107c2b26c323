package lambdafn

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// The tests run the handlers in-process, through lambda.NewHandler as the
// runtime does, on the payloads in testdata/events, with the engine wired
// to the simulated AWS of pkg/sim and the in-memory store.

const (
	account   = "111111111111" // testdata/policies/account-prod.json
	policyID  = "account-prod"
	requestID = "c6af9ac6-7b61-11e6-9a41-93e812345678"
)

var (
	start     = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	firstRun  = time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC) // 02:00 Europe/Berlin
	sessionID = engine.SessionID(policyID, firstRun)
	euWest1   = engine.Loc{Account: account, Region: "eu-west-1"}
	usEast1   = engine.Loc{Account: account, Region: "us-east-1"}
)

// fixture is a simulated account as account-prod.json expects it, the
// engine wired to it, and everything the engine sent or logged.
type fixture struct {
	t      testing.TB
	world  *sim.World
	store  *memory.Store
	engine *engine.Engine
	queue  *queue
	logs   *syncBuffer
}

// newFixture builds the fixture; wrap, if not nil, wraps the store the
// engine uses (to inject failures) while f.store stays the real one.
func newFixture(t testing.TB, cfg engine.Config, wrap func(engine.Store) engine.Store) *fixture {
	t.Helper()
	w := sim.New(sim.Config{Seed: 1, Start: start})
	w.AddAccount(account, "")
	w.AddVault(euWest1, sim.VaultSpec{Name: "prod-vault"})
	w.AddVault(usEast1, sim.VaultSpec{Name: "Default"})
	for _, r := range []string{"eu-central-1", "us-west-2"} {
		w.AddVault(engine.Loc{Account: account, Region: r}, sim.VaultSpec{Name: "dr-vault"})
	}
	w.AddFileSystem(euWest1, sim.FileSystemSpec{ID: "fs-0123456789abcdef0", Name: "shared", SizeBytes: 1 << 30})
	w.AddFileSystem(usEast1, sim.FileSystemSpec{ID: "fs-0fedcba9876543210", Name: "gold", SizeBytes: 1 << 30,
		Tags: map[string]string{"backup": "gold"}})
	w.AddFileSystem(usEast1, sim.FileSystemSpec{ID: "fs-00000000000000001", Name: "scratch", SizeBytes: 1 << 30})

	f := &fixture{t: t, world: w, store: memory.New(), queue: &queue{}, logs: &syncBuffer{}}
	var st engine.Store = f.store
	if wrap != nil {
		st = wrap(st)
	}
	f.engine = engine.New(engine.Engine{
		Store: st, Backup: w.Backup(), FileSystems: w.FileSystems(), Org: w.Organization(),
		Queue: f.queue, Notifier: f.queue, Clock: w, Config: cfg,
		Log: NewLogger(f.logs, Env{Function: "test", LogLevel: slog.LevelDebug}),
	})

	p, problems := policy.Parse(readFile(t, "../../testdata/policies/account-prod.json"))
	if len(problems) > 0 {
		t.Fatalf("account-prod.json: %v", problems)
	}
	rec := &engine.PolicyRecord{Policy: p, Watermark: start, CreatedAt: start, UpdatedAt: start}
	run, ok := p.NextRun(start)
	if !ok || !run.At.Equal(firstRun) {
		t.Fatalf("first run of %s is %v (%v), want %v", policyID, run.At, ok, firstRun)
	}
	rec.NextRunAt = run.At
	if err := f.store.PutPolicy(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return f
}

// ctx is an invocation's context, as the Lambda runtime makes it.
func invocation() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:efskeeper-test",
	})
}

// invoke runs handler on payload the way the Lambda runtime does: JSON in,
// JSON out.
func invoke(t testing.TB, handler any, payload []byte) ([]byte, error) {
	t.Helper()
	return lambda.NewHandler(handler).Invoke(invocation(), payload)
}

// tick advances the world to at and invokes the tick handler with the
// Scheduler's default notification.
func (f *fixture) tick(at time.Time) engine.TickResult {
	f.t.Helper()
	f.world.AdvanceTo(at)
	out, err := invoke(f.t, Tick(f.engine), readFile(f.t, "../../testdata/events/scheduler/default-notification.json"))
	if err != nil {
		f.t.Fatalf("tick at %v: %v", at, err)
	}
	return decode[engine.TickResult](f.t, out)
}

// drainRegionRuns delivers the queued region-run messages to the regionrun
// handler as one SQS batch and returns the handler's response.
func (f *fixture) drainRegionRuns() events.SQSEventResponse {
	f.t.Helper()
	msgs := f.queue.takeRegionRuns()
	if len(msgs) == 0 {
		return events.SQSEventResponse{}
	}
	var bodies []string
	for _, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			f.t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	return f.regionRun(sqsBatch(f.t, bodies...))
}

func (f *fixture) regionRun(payload []byte) events.SQSEventResponse {
	f.t.Helper()
	out, err := invoke(f.t, RegionRun(f.engine), payload)
	if err != nil {
		f.t.Fatalf("regionrun: %v", err)
	}
	return decode[events.SQSEventResponse](f.t, out)
}

// decode decodes a handler's JSON output.
func decode[T any](t testing.TB, out []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return v
}

// deliverEvents hands the events the world has emitted so far to the
// jobevents handler, one invocation each, as the EventBridge rule does.
func (f *fixture) deliverEvents() int {
	f.t.Helper()
	evs := f.world.DeliverEvents()
	for _, ev := range evs {
		if _, err := invoke(f.t, JobEvents(f.engine), ev); err != nil {
			f.t.Fatalf("jobevents on %s: %v", ev, err)
		}
	}
	return len(evs)
}

// runUntilEnded advances the world in 5-minute steps, delivering events,
// until the session has ended (or a day has passed).
func (f *fixture) runUntilEnded(id string) *engine.Session {
	f.t.Helper()
	deadline := f.world.Now().Add(24 * time.Hour)
	for f.world.Now().Before(deadline) {
		f.world.Advance(5 * time.Minute)
		f.deliverEvents()
		f.drainRegionRuns()
		s := f.session(id)
		if s.Status.Terminal() {
			return s
		}
	}
	f.t.Fatalf("session %s still running after a day", id)
	return nil
}

func (f *fixture) session(id string) *engine.Session {
	f.t.Helper()
	s, err := f.store.GetSession(context.Background(), id)
	if err != nil {
		f.t.Fatalf("session %s: %v", id, err)
	}
	return s
}

func (f *fixture) tasks(id string) []*engine.Task {
	f.t.Helper()
	ts, _, err := f.store.ListTasks(context.Background(), engine.TaskQuery{SessionID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	return ts
}

// logLines returns the JSON log lines whose msg starts with prefix.
func (f *fixture) logLines(prefix string) []map[string]any {
	f.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			f.t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if msg, _ := m["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// queue keeps what the engine sends: engine.Queue and engine.Notifier in
// memory.
type queue struct {
	mu         sync.Mutex
	regionRuns []engine.RegionRunMsg
	indexRuns  []engine.IndexRunMsg
	notices    []engine.SessionNotice
}

func (q *queue) SendRegionRun(_ context.Context, m engine.RegionRunMsg) error {
	return q.keep(func() { q.regionRuns = append(q.regionRuns, m) })
}

func (q *queue) SendIndexRun(_ context.Context, m engine.IndexRunMsg) error {
	return q.keep(func() { q.indexRuns = append(q.indexRuns, m) })
}

func (q *queue) SessionFinished(_ context.Context, n engine.SessionNotice) error {
	return q.keep(func() { q.notices = append(q.notices, n) })
}

func (q *queue) keep(add func()) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	add()
	return nil
}

func (q *queue) takeRegionRuns() []engine.RegionRunMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.regionRuns
	q.regionRuns = nil
	return out
}

func (q *queue) counts() (indexRuns, notices int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.indexRuns), len(q.notices)
}

// syncBuffer is a bytes.Buffer the concurrent region runs may log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sqsBatch makes an SQS event with the given bodies, shaped like
// testdata/events/sqs/regionrun-batch.json.
func sqsBatch(t testing.TB, bodies ...string) []byte {
	t.Helper()
	var tmpl events.SQSEvent
	if err := json.Unmarshal(readFile(t, "../../testdata/events/sqs/regionrun-batch.json"), &tmpl); err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	for i, body := range bodies {
		r := tmpl.Records[0]
		r.MessageId = fmt.Sprintf("%08x%s", i+1, r.MessageId[8:])
		r.Body = body
		r.Md5OfBody = fmt.Sprintf("%x", md5.Sum([]byte(body)))
		ev.Records = append(ev.Records, r)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
