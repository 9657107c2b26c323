package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/api/apigw"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

type queue struct{ sent []engine.RegionRunMsg }

func (q *queue) SendRegionRun(_ context.Context, m engine.RegionRunMsg) error {
	q.sent = append(q.sent, m)
	return nil
}
func (q *queue) SendIndexRun(context.Context, engine.IndexRunMsg) error { return nil }

type org struct{}

func (org) AccountsIn(context.Context, []string) ([]string, error) { return nil, nil }

// invoke runs the function's handler on a real-shaped proxy event, as the
// Lambda runtime does.
func invoke(t *testing.T, h http.Handler, file string) events.APIGatewayProxyResponse {
	t.Helper()
	payload, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(apigw.Handler(h)).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestProxyEvents(t *testing.T) {
	st := memory.New()
	q := &queue{}
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	e := engine.New(engine.Engine{Store: st, Queue: q, Org: org{}, Clock: engine.ClockFunc(func() time.Time { return now })})
	doc, err := os.ReadFile("../../../testdata/policies/account-prod.json")
	if err != nil {
		t.Fatal(err)
	}
	p, probs := policy.Parse(doc)
	if probs != nil {
		t.Fatal(probs)
	}
	if _, _, err := e.SavePolicy(context.Background(), p, engine.AnyVersion); err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{Engine: e, Caller: apigw.Caller}
	h := srv.Handler()

	// A base64 body, as API Gateway sends binary media types.
	resp := invoke(t, h, "testdata/post-run.json")
	if resp.StatusCode != http.StatusAccepted || resp.MultiValueHeaders["Content-Type"][0] != "application/json" {
		t.Fatalf("run: %d %s", resp.StatusCode, resp.Body)
	}
	if len(q.sent) != 2 {
		t.Fatalf("region runs sent: %+v", q.sent)
	}
	ss, err := st.GetSession(context.Background(), "account-prod#2026-03-02T01:00:00Z")
	if err != nil || ss.Schedules[0] != "weekly" {
		t.Fatalf("session %+v %v", ss, err)
	}

	// The decoded path holds the session id's '#'.
	resp = invoke(t, h, "testdata/get-session.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get session: %d %s", resp.StatusCode, resp.Body)
	}
	var d api.SessionDetail
	if err := json.Unmarshal([]byte(resp.Body), &d); err != nil || d.Session.ID != "account-prod#2026-03-02T01:00:00Z" {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestRequestConversion(t *testing.T) {
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/files/search",
		MultiValueQueryStringParameters: map[string][]string{"pattern": {"*.conf"}, "fileSystem": {"fs-01234567"}},
		MultiValueHeaders:               map[string][]string{"If-Match": {`"3"`}},
		RequestContext:                  events.APIGatewayProxyRequestContext{DomainName: "abc.execute-api.eu-west-1.amazonaws.com", Identity: events.APIGatewayRequestIdentity{UserArn: "arn:aws:iam::1:user/bob"}}}
	r, err := apigw.Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.Query().Get("pattern") != "*.conf" || r.Header.Get("If-Match") != `"3"` || apigw.Caller(r) != "arn:aws:iam::1:user/bob" {
		t.Fatalf("%s %v %s", r.URL, r.Header, apigw.Caller(r))
	}
	ev = events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/sessions/p%232026-01-05T02:00:00Z"}
	if r, _ = apigw.Request(context.Background(), ev); r.URL.Path != "/sessions/p#2026-01-05T02:00:00Z" || r.URL.EscapedPath() != "/sessions/p%232026-01-05T02:00:00Z" {
		t.Fatalf("escaped path: %q %q", r.URL.Path, r.URL.EscapedPath())
	}
	if _, err := apigw.Request(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/x", Body: "!!", IsBase64Encoded: true}); err == nil {
		t.Fatal("a body that is not base64 was accepted")
	}
}

func TestWireFromTheEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"EFSKEEPER_TABLE": "efskeeper", "EFSKEEPER_REGION_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111111111111/efskeeper-region",
		"EFSKEEPER_TOPIC_ARN": "arn:aws:sns:eu-west-1:111111111111:efskeeper",
		"AWS_REGION":          "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
	} {
		t.Setenv(k, v)
	}
	t.Setenv("EFSKEEPER_INDEX_BUCKET", "")
	if _, err := apigw.Wire(context.Background()); err == nil || !strings.Contains(err.Error(), "EFSKEEPER_INDEX_BUCKET") {
		t.Fatalf("without the bucket: %v", err)
	}
	t.Setenv("EFSKEEPER_INDEX_BUCKET", "efskeeper-index-111111111111")
	srv, err := apigw.Wire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if srv.Files == nil || srv.WorkerConfigs == nil || srv.Restores == nil || srv.Caller == nil {
		t.Fatalf("the deployed API lacks a part: files %v, worker configs %v, restores %v", srv.Files != nil, srv.WorkerConfigs != nil, srv.Restores != nil)
	}
	t.Setenv("EFSKEEPER_TABLE", "")
	if _, err := apigw.Wire(context.Background()); err == nil || !strings.Contains(err.Error(), "EFSKEEPER_TABLE") {
		t.Fatalf("without the table: %v", err)
	}
}
