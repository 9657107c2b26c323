package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// t0 is the fixture's starting time: a Monday, 00:00 UTC.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// recordingQueue keeps what the engine sends.
type recordingQueue struct {
	mu  sync.Mutex
	msg []engine.RegionRunMsg
}

func (q *recordingQueue) SendRegionRun(_ context.Context, m engine.RegionRunMsg) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msg = append(q.msg, m)
	return nil
}

func (q *recordingQueue) SendIndexRun(context.Context, engine.IndexRunMsg) error { return nil }

func (q *recordingQueue) sent() []engine.RegionRunMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]engine.RegionRunMsg(nil), q.msg...)
}

// noOrg resolves no organizational unit: the fixture's policies name
// accounts.
type noOrg struct{}

func (noOrg) AccountsIn(context.Context, []string) ([]string, error) { return nil, nil }

// fixture is the API on a real loopback listener, with a checker of every
// answer against the OpenAPI document.
type fixture struct {
	t      testing.TB
	url    string
	store  engine.Store
	engine *engine.Engine
	clock  *engine.ManualClock
	queue  *recordingQueue
	spec   *openapi3.T
	router routers.Router
	client *http.Client
}

type fixtureOptions struct {
	store engine.Store
	files *api.Files
	// engine, when set, is used as is (its Store is the fixture's).
	engine *engine.Engine
	// maxBody overrides the body limit.
	maxBody       int64
	restores      *engine.Restorer
	workerConfigs engine.WorkerConfigStore
	// caller is who the server believes sends every request.
	caller string
}

func newFixture(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: engine.NewManualClock(t0), queue: &recordingQueue{}, client: &http.Client{Timeout: 30 * time.Second}}
	f.store = o.store
	if f.store == nil {
		f.store = memory.New()
	}
	f.engine = o.engine
	if f.engine == nil {
		f.engine = engine.New(engine.Engine{Store: f.store, Queue: f.queue, Org: noOrg{}, Clock: f.clock})
	} else {
		f.store = f.engine.Store
	}
	s := &api.Server{Engine: f.engine, Files: o.files, MaxBody: o.maxBody, Restores: o.restores, WorkerConfigs: o.workerConfigs}
	if o.caller != "" {
		s.Caller = func(*http.Request) string { return o.caller }
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.spec, f.router = loadSpec(t)
	return f
}

var (
	specOnce   sync.Once
	specDoc    *openapi3.T
	specRouter routers.Router
	specErr    error
)

// loadSpec loads and validates the embedded OpenAPI document once.
func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		specDoc, specErr = loader.LoadFromData(api.OpenAPI)
		if specErr == nil {
			specErr = specDoc.Validate(context.Background())
		}
		if specErr == nil {
			specRouter, specErr = legacy.NewRouter(specDoc)
		}
	})
	if specErr != nil {
		t.Fatalf("the embedded OpenAPI document does not load: %v", specErr)
	}
	return specDoc, specRouter
}

// response is one answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorBody(t testing.TB) api.ErrorBody {
	t.Helper()
	var e api.ErrorBody
	r.decode(t, &e)
	if e.Code == "" || e.Message == "" {
		t.Fatalf("error answer without code or message: %s", r.body)
	}
	return e
}

// do sends a request (headers as name, value pairs) and checks the answer
// against the OpenAPI document: its status must be one the operation
// declares (or its default), its body must match that response's schema.
// Answers to paths the document does not have must be 404 or 405 with an
// Error body.
func (f *fixture) do(method, path string, body []byte, headers ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: got}
	if err := f.checkSpec(req, r); err != nil {
		f.t.Errorf("%s %s answered %d %s\nwhich the OpenAPI document does not allow: %v", method, path, r.status, clip(got), err)
	}
	if ct := resp.Header.Get("Content-Type"); r.status != http.StatusNoContent && method != http.MethodHead && !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	return r
}

func (f *fixture) checkSpec(req *http.Request, r response) error {
	// The router matches on the document's server-less paths.
	route, params, err := f.router.FindRoute(req)
	if err != nil {
		if r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			return err
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			return err
		}
		return f.spec.Components.Schemas["Error"].Value.VisitJSON(v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  r.status,
		Header:  r.header,
		Body:    io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// mustStatus fails unless r has the status.
func mustStatus(t testing.TB, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, clip(r.body))
	}
}

// readPolicy reads a policy file of testdata/policies.
func readPolicy(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/policies/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
