package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo"
	"github.com/efskeeper/efskeeper/pkg/store/dynamo/dynalite"
)

// handlerDriver runs every use-case through its Lambda handler, with the
// payloads Lambda would pass: the Scheduler's notification, SQS batches,
// the EventBridge events as AWS emits them.
type handlerDriver struct {
	t         testing.TB
	e         *engine.Engine
	scheduled []byte
	messages  int
}

func (d *handlerDriver) Tick(ctx context.Context) error {
	_, err := lambdaInvoke(Tick(d.e), d.scheduled)
	return err
}

func (d *handlerDriver) Reconcile(ctx context.Context) error {
	_, err := lambdaInvoke(Reconcile(d.e), d.scheduled)
	return err
}

func (d *handlerDriver) Retention(ctx context.Context) error {
	_, err := lambdaInvoke(Retention(d.e), d.scheduled)
	return err
}

func (d *handlerDriver) JobEvent(ctx context.Context, raw []byte) error {
	_, err := lambdaInvoke(JobEvents(d.e), append([]byte(nil), raw...))
	return err
}

// RegionRun sends one message as an SQS batch of one; a record reported in
// batchItemFailures is an error, so that the harness redelivers it.
func (d *handlerDriver) RegionRun(ctx context.Context, m engine.RegionRunMsg) error {
	d.messages++
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	id := fmt.Sprintf("msg-%d", d.messages)
	batch := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: id, Body: string(body), EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:eu-west-1:111111111111:efskeeper-region-runs", AWSRegion: "eu-west-1",
	}}}
	payload, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	out, err := lambdaInvoke(RegionRun(d.e), payload)
	if err != nil {
		return err
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return fmt.Errorf("regionrun answered %s: %w", out, err)
	}
	if len(resp.BatchItemFailures) > 0 {
		return fmt.Errorf("regionrun reported %s as failed", resp.BatchItemFailures[0].ItemIdentifier)
	}
	return nil
}

func lambdaInvoke(handler any, payload []byte) ([]byte, error) {
	return lambda.NewHandler(handler).Invoke(invocation(), payload)
}

// TestEndToEndThroughHandlersOnDynamoDB drives the real handlers for three
// simulated days of the demo organization, with the simulated AWS behind
// the ports and the DynamoDB store on dynalite, so that the wiring of
// payloads, handlers, engine and store is tested, not assumed.
func TestEndToEndThroughHandlersOnDynamoDB(t *testing.T) {
	srv, err := dynalite.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	store := dynamo.New(srv.Client, srv.NewTable(t))
	pols, err := simrun.LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	scheduled, err := os.ReadFile("../../testdata/events/scheduler/default-notification.json")
	if err != nil {
		t.Fatal(err)
	}
	var drv *handlerDriver
	_, rep, err := simrun.Simulate(context.Background(), simrun.Options{
		Seed: 11, Days: 3, Faults: "default", Build: simrun.DemoWorld, Script: simrun.DemoScript(),
		Policies: pols, Store: store,
		Driver: func(e *engine.Engine) simrun.Driver {
			drv = &handlerDriver{t: t, e: e, scheduled: scheduled}
			return drv
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Invariants {
		if !c.OK {
			t.Errorf("invariant %s: %s", c.Name, c.Detail)
		}
	}
	// Three days of both policies: every daily run, each with backups and
	// copies that went through the handlers into DynamoDB.
	if len(rep.Sessions) < 6 {
		t.Fatalf("want at least 6 sessions, got %d", len(rep.Sessions))
	}
	if rep.Summary.Backups == 0 || rep.Summary.Copies == 0 || drv.messages == 0 {
		t.Fatalf("nothing ran through the handlers: %+v, %d region-run messages", rep.Summary, drv.messages)
	}
	ops := store.Ops()
	if ops["PutItem"] == 0 || ops["Query"] == 0 || ops["UpdateItem"] == 0 {
		t.Fatalf("the DynamoDB store was not used: %v", ops)
	}
	t.Logf("%d sessions %v, %d backups, %d copies; DynamoDB calls %v", len(rep.Sessions), rep.Summary.Sessions, rep.Summary.Backups, rep.Summary.Copies, ops)
}
