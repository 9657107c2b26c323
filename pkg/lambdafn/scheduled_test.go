package lambdafn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Every payload a schedule may send starts the due session; the tick's
// output is its result, and its log line names the schedule when the
// payload does.
func TestTickAcceptsEverySchedulerPayload(t *testing.T) {
	files, err := filepath.Glob("../../testdata/events/scheduler/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("scheduler payloads: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f := newFixture(t, engine.Config{}, nil)
			f.world.AdvanceTo(firstRun.Add(30 * time.Second))
			out, err := invoke(t, Tick(f.engine), readFile(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if res := decode[engine.TickResult](t, out); len(res.Sessions) != 1 || res.Sessions[0] != sessionID {
				t.Fatalf("output %s, want session %s", out, sessionID)
			}
			if msgs := f.queue.takeRegionRuns(); len(msgs) != 2 {
				t.Fatalf("%d region runs sent, want 2", len(msgs))
			}
			done := f.logLines("tick done")
			if len(done) != 1 || done[0]["level"] != "INFO" || done[0]["requestId"] != requestID || done[0]["policies"] != 1.0 {
				t.Fatalf("tick done lines %v", done)
			}
			var env struct{ Resources []string }
			_ = json.Unmarshal(readFile(t, file), &env)
			if len(env.Resources) > 0 && done[0]["schedule"] != env.Resources[0] {
				t.Errorf("log line names schedule %v, want %s", done[0]["schedule"], env.Resources[0])
			}
			// The next minute nothing is due: a debug line, no session.
			f.world.Advance(time.Minute)
			out, err = invoke(t, Tick(f.engine), []byte(`{}`))
			if err != nil || string(out) != `{"Policies":0,"Sessions":null}` {
				t.Errorf("idle tick: %s, %v", out, err)
			}
			if done := f.logLines("tick done"); len(done) != 2 || done[1]["level"] != "DEBUG" {
				t.Errorf("idle tick lines %v", done)
			}
		})
	}
}

// The scheduled handlers return an error (so Lambda retries) only for
// failures that may pass by themselves; the others are logged.
func TestScheduledHandlersRetryOnlyPassingFailures(t *testing.T) {
	handlers := map[string]struct {
		op      string // the store call the use-case starts with
		handler func(e *engine.Engine) any
	}{
		FnTick:      {"DuePolicies", func(e *engine.Engine) any { return Tick(e) }},
		FnReconcile: {"DueTasks", func(e *engine.Engine) any { return Reconcile(e) }},
		FnRetention: {"ListPolicies", func(e *engine.Engine) any { return Retention(e) }},
	}
	failures := []struct {
		name  string
		err   error
		retry bool
	}{
		{"throttled", engine.Errorf(engine.ETHROTTLED, "rate exceeded"), true},
		{"unavailable", engine.Errorf(engine.EUNAVAIL, "service unavailable"), true},
		{"unexpected", errors.New("connection reset by peer"), true},
		{"access denied", engine.Errorf(engine.EDENIED, "not authorized to perform dynamodb:Query"), false},
		{"invalid", engine.Errorf(engine.EINVALID, "table efskeeper does not exist"), false},
	}
	payload := readFile(t, "../../testdata/events/scheduler/default-notification.json")
	for name, h := range handlers {
		for _, fail := range failures {
			t.Run(name+"/"+fail.name, func(t *testing.T) {
				f := newFixture(t, engine.Config{}, func(st engine.Store) engine.Store {
					return failingStore{Store: st, fail: func(op, _ string) error {
						if op == h.op {
							return fail.err
						}
						return nil
					}}
				})
				f.world.AdvanceTo(firstRun)
				_, err := invoke(t, h.handler(f.engine), payload)
				if fail.retry != (err != nil) {
					t.Fatalf("handler returned %v; want a retry: %v", err, fail.retry)
				}
				lines := f.logLines(name + " failed")
				if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["error"] == nil {
					t.Fatalf("want one error line, got %v", lines)
				}
			})
		}
	}
}

// Lost events: the reconcile handler reads the quiet jobs back and moves
// the tasks on, as jobevents would have.
func TestReconcileReadsBackLostEvents(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	f.tick(firstRun)
	f.drainRegionRuns()
	f.world.Advance(3 * time.Hour)
	if lost := len(f.world.DeliverEvents()); lost == 0 {
		t.Fatal("the world emitted no events to lose")
	}
	out, err := invoke(t, Reconcile(f.engine), readFile(t, "../../testdata/events/scheduler/eventbridge-rule-scheduled-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	res := decode[engine.ReconcileResult](t, out)
	if res.TasksChecked != 2 || res.JobsRead < 2 {
		t.Fatalf("reconcile result %+v, want both tasks checked and their jobs read", res)
	}
	for _, task := range f.tasks(sessionID) {
		if task.Backup.State != engine.JobCompleted || task.Phase == engine.PhaseBackup {
			t.Errorf("task %s still %s/%s after reconcile", task.ID(), task.Phase, task.Backup.State)
		}
	}
	if done := f.logLines("reconcile done"); len(done) != 1 || done[0]["level"] != "INFO" || done[0]["jobsRead"] != float64(res.JobsRead) {
		t.Errorf("reconcile done lines %v", done)
	}
}

// Two daily sessions, then three weeks: the first day's restore points
// are past their 14 days, the second day's are the newest and protected.
// A dry run lists the expired ones; a real run deletes exactly those.
func TestRetentionDryRunThenDelete(t *testing.T) {
	f := newFixture(t, engine.Config{DryRun: true}, nil)
	for day := 0; day < 2; day++ {
		at := firstRun.AddDate(0, 0, day)
		res := f.tick(at)
		if len(res.Sessions) != 1 {
			t.Fatalf("day %d: sessions %v", day, res.Sessions)
		}
		f.drainRegionRuns()
		if s := f.runUntilEnded(res.Sessions[0]); s.Status != engine.StatusSuccess {
			t.Fatalf("day %d: session %s", day, s.Status)
		}
	}
	f.world.AdvanceTo(firstRun.AddDate(0, 0, 21))

	out, err := invoke(t, Retention(f.engine), readFile(t, "../../testdata/events/scheduler/default-notification.json"))
	if err != nil {
		t.Fatal(err)
	}
	dry := decode[engine.RetentionResult](t, out)
	// Per file system: the source point and its copy of day one.
	if dry.Deleted != 0 || len(dry.WouldDelete) != 4 || dry.Protected == 0 {
		t.Fatalf("dry run %+v: want 4 points listed, none deleted, the newest protected", dry)
	}
	lines := f.logLines("retention done")
	if len(lines) != 1 || lines[0]["dryRun"] != true || len(lines[0]["wouldDelete"].([]any)) != 4 {
		t.Fatalf("dry-run log line %v must list what would be deleted", lines)
	}

	f.engine.Config.DryRun = false
	out, err = invoke(t, Retention(f.engine), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	real := decode[engine.RetentionResult](t, out)
	if real.Deleted+real.Expired != len(dry.WouldDelete) || real.Deleted == 0 {
		t.Fatalf("real run %+v after a dry run listing %d", real, len(dry.WouldDelete))
	}
	gone := map[string]bool{}
	for _, task := range f.tasks(sessionID) {
		if task.Deletion.State != "" {
			gone[task.RecoveryPointArn] = true
		}
		for _, c := range task.Copies {
			if c.Deletion.State != "" {
				gone[c.RecoveryPointArn] = true
			}
		}
	}
	for _, arn := range dry.WouldDelete {
		if !gone[arn] {
			t.Errorf("%s was listed by the dry run but not deleted from day one's session", arn)
		}
	}
}

func TestWorthRetry(t *testing.T) {
	denied := engine.Errorf(engine.EDENIED, "denied")
	throttled := engine.Errorf(engine.ETHROTTLED, "slow down")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"denied", denied, false},
		{"wrapped denied", fmt.Errorf("tick policy p: %w", denied), false},
		{"not found", engine.Errorf(engine.ENOTFOUND, "gone"), false},
		{"precondition", engine.Errorf(engine.EPRECONDITION, "no"), false},
		{"invalid with a throttled cause", &engine.Error{Code: engine.EINVALID, Message: "bad", Err: throttled}, false},
		{"throttled", throttled, true},
		{"conflict that survived re-reads", engine.Errorf(engine.ECONFLICT, "gave up"), true},
		{"internal", engine.Errorf(engine.EINTERNAL, "bug"), true},
		{"plain", errors.New("EOF"), true},
		{"deadline", context.DeadlineExceeded, true},
		{"joined, all for the admin", errors.Join(denied, fmt.Errorf("x: %w", engine.Errorf(engine.EINVALID, "y"))), false},
		{"joined, one passing", errors.Join(denied, fmt.Errorf("x: %w", throttled)), true},
		{"wrapped join", fmt.Errorf("reconcile: %w", errors.Join(denied, throttled)), true},
	}
	for _, tt := range tests {
		if got := WorthRetry(tt.err); got != tt.want {
			t.Errorf("%s: WorthRetry(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
