package lambdafn

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

const (
	msgEUWest1   = "0b7e2c4a-5f1d-4e8b-9a36-2d1c0f9e8b71"
	msgMalformed = "3f9a1d6e-7c2b-4a05-8e4f-6b5d3c2a1f90"
	msgUnknown   = "8c4b6f2e-1a9d-4d37-b2e5-9f0a7c6d5e43"
	msgUSEast1   = "d51e8a0c-6b3f-4c92-a7d4-0e2f9b8c1a65"
	batchFile    = "../../testdata/events/sqs/regionrun-batch.json"
)

// The batch's well-formed records are exactly what the tick sends, so the
// fixture cannot drift from the real message format.
func TestBatchFixtureMatchesTickMessages(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	f.tick(firstRun)
	var ev events.SQSEvent
	if err := json.Unmarshal(readFile(t, batchFile), &ev); err != nil {
		t.Fatal(err)
	}
	sent := map[string]bool{}
	for _, m := range f.queue.takeRegionRuns() {
		b, _ := json.Marshal(m)
		sent[string(b)] = true
	}
	for _, r := range ev.Records {
		if r.MessageId == msgEUWest1 || r.MessageId == msgUSEast1 {
			if !sent[r.Body] {
				t.Errorf("record %s body %s is not a message the tick sent (%v)", r.MessageId, r.Body, sent)
			}
		}
	}
	if len(sent) != 2 {
		t.Errorf("tick sent %d region runs, want 2 (eu-west-1, us-east-1)", len(sent))
	}
}

// A malformed body is dropped (not retried), a run of an unknown session
// is dropped by the engine, the others run: no record is reported failed.
func TestRegionRunBatch(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	f.tick(firstRun)
	f.queue.takeRegionRuns()
	resp := f.regionRun(readFile(t, batchFile))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("batchItemFailures = %+v, want none", resp.BatchItemFailures)
	}
	perRegion := map[string][]string{}
	for _, task := range f.tasks(sessionID) {
		perRegion[task.Loc.Region] = append(perRegion[task.Loc.Region], task.FileSystem)
		if task.Phase != engine.PhaseBackup || task.Backup.ID == "" {
			t.Errorf("task %s: phase %s job %q, want a started backup", task.ID(), task.Phase, task.Backup.ID)
		}
	}
	if got := strings.Join(perRegion["eu-west-1"], ","); got != "fs-0123456789abcdef0" {
		t.Errorf("eu-west-1 tasks %s", got)
	}
	if got := strings.Join(perRegion["us-east-1"], ","); got != "fs-0fedcba9876543210" {
		t.Errorf("us-east-1 tasks %s (the untagged file system must not be selected)", got)
	}
	dropped := f.logLines("region-run message dropped")
	if len(dropped) != 1 || dropped[0]["messageId"] != msgMalformed || dropped[0]["level"] != "ERROR" || dropped[0]["requestId"] != requestID {
		t.Errorf("want one error line for the malformed record with its message id and the request id, got %v", dropped)
	}
	if unknown := f.logLines("region run for an unknown session dropped"); len(unknown) != 1 {
		t.Errorf("want the engine's warning for the unknown session, got %v", unknown)
	}
}

// failingStore makes the engine's store fail the calls fail selects.
type failingStore struct {
	engine.Store
	fail func(op, id string) error
}

func (s failingStore) GetUnit(ctx context.Context, id string) (*engine.Unit, error) {
	if err := s.fail("GetUnit", id); err != nil {
		return nil, err
	}
	return s.Store.GetUnit(ctx, id)
}

func (s failingStore) DuePolicies(ctx context.Context, now time.Time) ([]*engine.PolicyRecord, error) {
	if err := s.fail("DuePolicies", ""); err != nil {
		return nil, err
	}
	return s.Store.DuePolicies(ctx, now)
}

func (s failingStore) DueTasks(ctx context.Context, now time.Time) ([]*engine.Task, error) {
	if err := s.fail("DueTasks", ""); err != nil {
		return nil, err
	}
	return s.Store.DueTasks(ctx, now)
}

func (s failingStore) ListPolicies(ctx context.Context) ([]*engine.PolicyRecord, error) {
	if err := s.fail("ListPolicies", ""); err != nil {
		return nil, err
	}
	return s.Store.ListPolicies(ctx)
}

func (s failingStore) TaskByBackupJob(ctx context.Context, jobID string) (*engine.Task, error) {
	if err := s.fail("TaskByBackupJob", jobID); err != nil {
		return nil, err
	}
	return s.Store.TaskByBackupJob(ctx, jobID)
}

// A record whose run fails with a passing error is the only one reported,
// with its message id, in the response shape Lambda expects.
func TestRegionRunReportsOnlyFailedRecords(t *testing.T) {
	badUnit := engine.UnitID(sessionID, usEast1)
	f := newFixture(t, engine.Config{}, func(st engine.Store) engine.Store {
		return failingStore{Store: st, fail: func(op, id string) error {
			if op == "GetUnit" && id == badUnit {
				return engine.Errorf(engine.EUNAVAIL, "DynamoDB is unavailable")
			}
			return nil
		}}
	})
	f.tick(firstRun)
	out, err := invoke(t, RegionRun(f.engine), readFile(t, batchFile))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batchItemFailures":[{"itemIdentifier":"` + msgUSEast1 + `"}]}`
	if string(out) != want {
		t.Fatalf("response %s, want %s", out, want)
	}
	for _, task := range f.tasks(sessionID) {
		if task.Loc != euWest1 {
			t.Errorf("task %s ran although its record failed", task.ID())
		}
	}
	failed := f.logLines("region run failed")
	if len(failed) != 1 || failed[0]["messageId"] != msgUSEast1 || failed[0]["region"] != "us-east-1" ||
		failed[0]["session"] != sessionID || failed[0]["policy"] != policyID || failed[0]["account"] != account {
		t.Errorf("want one error line naming the record, session and location, got %v", failed)
	}
	// SQS redelivers it; this time the store answers.
	f2 := failingStore{Store: f.store, fail: func(string, string) error { return nil }}
	f.engine.Store = f2
	resp := f.regionRun(sqsBatch(t, `{"sessionId":"`+sessionID+`","policyId":"account-prod","account":"111111111111","region":"us-east-1"}`))
	if len(resp.BatchItemFailures) != 0 || len(f.tasks(sessionID)) != 2 {
		t.Errorf("redelivery: failures %v, %d tasks", resp.BatchItemFailures, len(f.tasks(sessionID)))
	}
}

// Records not started before the invocation's deadline go back to SQS.
func TestRegionRunOutOfTime(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	f.tick(firstRun)
	ctx, cancel := context.WithCancel(invocation())
	cancel()
	resp, err := RegionRun(f.engine)(ctx, mustSQSEvent(t, readFile(t, batchFile)))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 4 {
		t.Fatalf("want all 4 records back, got %v", resp.BatchItemFailures)
	}
	if n := len(f.tasks(sessionID)); n != 0 {
		t.Errorf("%d tasks started after the deadline", n)
	}
}

func mustSQSEvent(t *testing.T, b []byte) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDecodeRegionRunMsg(t *testing.T) {
	good := `{"sessionId":"p#2026-01-05T01:00:00Z","policyId":"p","account":"111111111111","region":"eu-west-1"}`
	tests := []struct {
		name, body, wantErr string
	}{
		{"good", good, ""},
		{"newer version adds a field", strings.Replace(good, `}`, `,"attempt":2}`, 1), ""},
		{"truncated", good[:40], "decode"},
		{"array", `[]`, "decode"},
		{"null", `null`, "without policyId"},
		{"trailing data", good + `{}`, "decode"},
		{"no policy", `{"sessionId":"p#x","account":"111111111111","region":"eu-west-1"}`, "without policyId"},
		{"session of another policy", strings.Replace(good, `"p#`, `"q#`, 1), "does not belong"},
		{"bare policy prefix", strings.Replace(good, `p#2026-01-05T01:00:00Z`, `p#`, 1), "does not belong"},
		{"short account", strings.Replace(good, `111111111111`, `1111`, 1), "12-digit"},
		{"not a region", strings.Replace(good, `eu-west-1`, `eu-middle-7`, 1), "not an AWS Region"},
		{"number for a string", `{"sessionId":1}`, "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeRegionRunMsg([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil || m.SessionID != "p#2026-01-05T01:00:00Z" || m.Loc() != (engine.Loc{Account: "111111111111", Region: "eu-west-1"}) {
					t.Fatalf("got %+v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// Whatever the body, decoding never panics, and what it accepts re-encodes
// to a message that decodes to the same value.
func FuzzDecodeRegionRunMsg(f *testing.F) {
	var ev events.SQSEvent
	if err := json.Unmarshal(readFile(f, batchFile), &ev); err != nil {
		f.Fatal(err)
	}
	for _, r := range ev.Records {
		f.Add([]byte(r.Body))
	}
	f.Add([]byte(`{"sessionId":"a#b","policyId":"a","account":"123456789012","region":"cn-north-1","x":[1,{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeRegionRunMsg(body)
		if err != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeRegionRunMsg(b)
		if err != nil || again != m {
			t.Fatalf("accepted %q as %+v, but its encoding %s decodes to %+v, %v", body, m, b, again, err)
		}
	})
}
