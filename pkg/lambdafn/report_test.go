package lambdafn

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/notify"
)

type sentReport struct {
	subject, body string
	attrs         map[string]string
}

// reportOutbox is a notify.Publisher that keeps what it publishes, or
// fails with err.
type reportOutbox struct {
	sent []sentReport
	err  error
}

func (o *reportOutbox) Publish(_ context.Context, subject, body string, attrs map[string]string) error {
	if o.err != nil {
		return o.err
	}
	o.sent = append(o.sent, sentReport{subject, body, attrs})
	return nil
}

func TestReportEnv(t *testing.T) {
	lookup := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	env, err := ParseEnv(FnReport, lookup(map[string]string{"EFSKEEPER_TABLE": "efskeeper", "EFSKEEPER_TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:efskeeper"}))
	if err != nil || env.Table != "efskeeper" || env.MemberRoleName != DefaultMemberRoleName || env.TopicARN == "" {
		t.Fatalf("ParseEnv = %+v, %v", env, err)
	}
	_, err = ParseEnv(FnReport, lookup(map[string]string{"EFSKEEPER_TABLE": "efskeeper"}))
	if err == nil || !strings.Contains(err.Error(), "EFSKEEPER_TOPIC_ARN is not set") {
		t.Fatalf("missing topic: %v", err)
	}
}

// A day with one finished session: the handler, invoked as the runtime
// does with each Scheduler payload, publishes the report of it.
func TestReportHandler(t *testing.T) {
	f := newFixture(t, engine.Config{}, nil)
	f.tick(firstRun.Add(30 * time.Second))
	f.drainRegionRuns()
	s := f.runUntilEnded(sessionID)
	files, err := filepath.Glob("../../testdata/events/scheduler/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("scheduler payloads: %v %v", files, err)
	}
	for _, file := range files {
		out := &reportOutbox{}
		rp := &notify.Reporter{Store: f.store, FileSystems: f.world.FileSystems(), Org: f.world.Organization(), Publisher: out, Clock: f.world,
			Log: f.engine.Log}
		res := decode[notify.ReportResult](t, mustInvoke(invoke(t, Report(rp), readFile(t, file))))
		if res.Policies != 1 || res.Sessions != 1 || res.Unprotected != 1 || res.Status != s.Status || len(out.sent) != 1 {
			t.Fatalf("%s: result %+v (session %s), %d reports", filepath.Base(file), res, s.Status, len(out.sent))
		}
		m := out.sent[0]
		if m.attrs["kind"] != "report" || !strings.Contains(m.body, "fs-00000000000000001 \"scratch\"") || !strings.Contains(m.body, "Policy Production EFS (account-prod)") {
			t.Fatalf("report %q\n%s", m.subject, m.body)
		}
	}
	if done := f.logLines("report done"); len(done) != len(files) || done[0]["unprotected"] != 1.0 {
		t.Fatalf("log lines %v", done)
	}

	// A publish that fails for a passing reason is retried by Lambda; one
	// an admin must fix is logged and not retried.
	for _, tt := range []struct {
		err   error
		retry bool
	}{{engine.Errorf(engine.ETHROTTLED, "Rate exceeded"), true}, {engine.Errorf(engine.EDENIED, "not authorized to perform SNS:Publish"), false}} {
		rp := &notify.Reporter{Store: f.store, FileSystems: f.world.FileSystems(), Org: f.world.Organization(), Publisher: &reportOutbox{err: tt.err}, Clock: f.world, Log: f.engine.Log}
		_, err := invoke(t, Report(rp), []byte(`{}`))
		if (err != nil) != tt.retry {
			t.Errorf("publish error %v: handler error %v, want retry %v", tt.err, err, tt.retry)
		}
	}
}

func mustInvoke(b []byte, err error) []byte {
	if err != nil {
		panic(errors.Join(errors.New("invoke"), err))
	}
	return b
}
