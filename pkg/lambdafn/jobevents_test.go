package lambdafn

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func eventSamples(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/events/eventbridge/*.json")
	if err != nil || len(files) < 27 {
		t.Fatalf("want the 27 EventBridge samples in testdata/events/eventbridge, got %d (%v)", len(files), err)
	}
	return files
}

// Every sample is handled without error: the irrelevant ones are ignored
// at debug level, the job events parse and find no task of theirs.
func TestJobEventsEverySample(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	for _, file := range eventSamples(t) {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			before := len(f.logLines("job event handled")) + len(f.logLines("event ignored"))
			if _, err := invoke(t, JobEvents(f.engine), readFile(t, file)); err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if dropped := f.logLines("event dropped"); len(dropped) > 0 {
				t.Fatalf("sample treated as malformed: %v", dropped)
			}
			irrelevant := strings.Contains(name, "recovery-point-state-change") || strings.Contains(name, "region-setting") ||
				name == "eventbridge-copy-job-state-change-created.json"
			msg := "job event handled"
			if irrelevant {
				msg = "event ignored"
			}
			lines := f.logLines(msg)
			if len(f.logLines("job event handled"))+len(f.logLines("event ignored")) != before+1 || len(lines) == 0 {
				t.Fatalf("want one %q line", msg)
			}
			last := lines[len(lines)-1]
			var env struct{ ID string }
			_ = json.Unmarshal(readFile(t, file), &env)
			if last["event"] != env.ID || last["requestId"] != requestID || last["level"] != "DEBUG" {
				t.Errorf("log line %v lacks the event id %s or the request id", last, env.ID)
			}
		})
	}
}

// Events that are not usable are logged at error level and not retried.
func TestJobEventsMalformed(t *testing.T) {
	tests := map[string]string{
		"no account":               `{"id":"e-1","source":"aws.backup","detail-type":"Backup Job State Change","region":"eu-west-1","detail":{"backupJobId":"j","state":"COMPLETED"}}`,
		"no detail":                `{"id":"e-2","source":"aws.backup","detail-type":"Copy Job State Change","account":"111122223333","region":"eu-west-1"}`,
		"detail of the wrong type": `{"id":"e-3","source":"aws.backup","detail-type":"Backup Job State Change","account":"111122223333","region":"eu-west-1","detail":[1]}`,
		"bad time":                 `{"id":"e-4","source":"aws.backup","detail-type":"Backup Job State Change","account":"111122223333","region":"eu-west-1","time":"yesterday","detail":{"backupJobId":"j","state":"COMPLETED"}}`,
		"no job id":                `{"id":"e-5","source":"aws.backup","detail-type":"Backup Job State Change","account":"111122223333","region":"eu-west-1","detail":{"state":"FAILED"}}`,
		"an array":                 `[]`,
		"a string":                 `"aws.backup"`,
	}
	for name, payload := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, engine.Config{}, nil)
			if _, err := invoke(t, JobEvents(f.engine), []byte(payload)); err != nil {
				t.Fatalf("handler error %v; a malformed event must not be retried", err)
			}
			dropped := f.logLines("event dropped")
			if len(dropped) != 1 || dropped[0]["level"] != "ERROR" || dropped[0]["error"] == "" {
				t.Fatalf("want one error line, got %v", dropped)
			}
		})
	}
}

// A store failure while handling an event is returned, so Lambda retries.
func TestJobEventsReturnsUseCaseErrors(t *testing.T) {
	f := newFixture(t, engine.Config{}, func(st engine.Store) engine.Store {
		return failingStore{Store: st, fail: func(op, _ string) error {
			if op == "TaskByBackupJob" {
				return engine.Errorf(engine.ETHROTTLED, "DynamoDB throttled the read")
			}
			return nil
		}}
	})
	payload := readFile(t, "../../testdata/events/eventbridge/eventbridge-backup-job-state-change-completed-efs.json")
	_, err := invoke(t, JobEvents(f.engine), payload)
	if err == nil || !strings.Contains(err.Error(), "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63") || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("want the store error naming the job, got %v", err)
	}
	failed := f.logLines("job event failed")
	if len(failed) != 1 || failed[0]["job"] != "3c9e5a71-6b2f-4d8e-a1c4-7f0e9d2b5a63" || failed[0]["account"] != "111122223333" {
		t.Errorf("want one error line naming the job, got %v", failed)
	}
}

// The whole path of one session through the handlers: the tick starts it,
// regionrun starts the backups, the simulated AWS Backup emits its events
// and jobevents moves every task on until the session ends.
func TestSessionThroughTheHandlers(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	res := f.tick(firstRun)
	if len(res.Sessions) != 1 || res.Sessions[0] != sessionID {
		t.Fatalf("tick started %v, want [%s]", res.Sessions, sessionID)
	}
	if resp := f.drainRegionRuns(); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("region runs failed: %v", resp.BatchItemFailures)
	}
	s := f.runUntilEnded(sessionID)
	if s.Status != engine.StatusSuccess {
		t.Fatalf("session ended %s: %+v", s.Status, s.Reasons)
	}
	tasks := f.tasks(sessionID)
	if len(tasks) != 2 {
		t.Fatalf("%d tasks, want 2", len(tasks))
	}
	for _, task := range tasks {
		if task.Phase != engine.PhaseDone || task.Backup.State != engine.JobCompleted || len(task.Copies) != 1 || task.Copies[0].Job.State != engine.JobCompleted {
			t.Errorf("task %s: phase %s backup %s copies %+v", task.ID(), task.Phase, task.Backup.State, task.Copies)
		}
	}
	indexRuns, notices := f.queue.counts()
	if indexRuns != 2 {
		t.Errorf("%d index runs queued, want one per completed backup (indexing is on)", indexRuns)
	}
	if handled := f.logLines("job event handled"); len(handled) == 0 {
		t.Error("no job event reached the handler")
	}
	finished := f.logLines("session finished")
	if len(finished) != 1 || finished[0]["status"] != "Success" || finished[0]["session"] != sessionID || finished[0]["function"] != "test" {
		t.Errorf("session finished lines %v", finished)
	}
	// Notifications: account-prod asks only for warnings and failures.
	if notices != 0 {
		t.Errorf("%d notices for a successful session", notices)
	}
}

// Whatever bytes arrive, the handler neither panics nor asks for a retry
// when no task is involved: with an empty store, every event is either
// dropped or finds nothing to move on.
func FuzzJobEvents(f *testing.F) {
	for _, file := range eventSamples(f) {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(`{"source":"aws.backup","detail-type":"Copy Job State Change","account":"1","region":"r","detail":{"copyJobId":"c","state":"COMPLETED","destinationRecoveryPointArn":{"x":1}}}`))
	f.Add([]byte(`{"source":"aws.backup","detail-type":"Backup Job State Change","account":"1","region":"r","detail":{"backupJobId":"b","state":"completed","backupSizeInBytes":"1e3"}}`))
	fx := newFixture(f, engine.Config{}, nil)
	handler := JobEvents(fx.engine)
	f.Fuzz(func(t *testing.T, payload []byte) {
		if err := handler(invocation(), payload); err != nil {
			t.Fatalf("error %v for %q", err, payload)
		}
	})
}
