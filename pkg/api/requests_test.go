package api_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// TestBadRequests sends every kind of bad request and checks its status,
// its code and that the message says something.
func TestBadRequests(t *testing.T) {
	f := newFixture(t, fixtureOptions{maxBody: 64 << 10})
	doc := readPolicy(t, "account-prod.json")
	mustStatus(t, f.do("PUT", "/policies/account-prod", doc), http.StatusCreated)
	big := append(append([]byte(`{"id":"account-prod","name":"`), bytes.Repeat([]byte("x"), 70<<10)...), `"}`...)

	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code                     string
		errorAt                  string // a path in the errors list
	}{
		{name: "malformed JSON", method: "PUT", path: "/policies/account-prod", body: `{"id": "account-prod",`, status: 400, code: engine.EINVALID},
		{name: "not an object", method: "PUT", path: "/policies/account-prod", body: `[1,2]`, status: 400, code: engine.EINVALID},
		{name: "empty body", method: "PUT", path: "/policies/account-prod", body: ``, status: 400, code: engine.EINVALID},
		{name: "unknown field", method: "PUT", path: "/policies/account-prod", body: string(edit(t, doc, func(m map[string]any) { m["retention"] = 3 })), status: 400, code: engine.EINVALID, errorAt: "retention"},
		{name: "wrong type", method: "PUT", path: "/policies/account-prod", body: string(edit(t, doc, func(m map[string]any) { m["enabled"] = "yes" })), status: 400, code: engine.EINVALID, errorAt: "enabled"},
		{name: "id differs from the URL", method: "PUT", path: "/policies/prod-two", body: string(doc), status: 400, code: engine.EINVALID, errorAt: "id"},
		{name: "body too large", method: "PUT", path: "/policies/account-prod", body: string(big), status: 413, code: api.ETOOLARGE},
		{name: "run body too large", method: "POST", path: "/policies/account-prod/run", body: string(big), status: 413, code: api.ETOOLARGE},
		{name: "invalid policy id", method: "GET", path: "/policies/Prod_EFS", status: 400, code: engine.EINVALID},
		{name: "invalid policy id on PUT", method: "PUT", path: "/policies/-x", body: string(doc), status: 400, code: engine.EINVALID},
		{name: "invalid policy id on DELETE", method: "DELETE", path: "/policies/" + strings.Repeat("a", 64), status: 400, code: engine.EINVALID},
		{name: "If-None-Match other than *", method: "PUT", path: "/policies/account-prod", body: string(doc), headers: []string{"If-None-Match", `"3"`}, status: 400, code: engine.EINVALID},
		{name: "If-None-Match on an existing policy", method: "PUT", path: "/policies/account-prod", body: string(doc), headers: []string{"If-None-Match", "*"}, status: 412, code: engine.EPRECONDITION},
		{name: "body on enable", method: "POST", path: "/policies/account-prod/disable", body: `{"enabled":false}`, status: 400, code: engine.EINVALID},
		{name: "run: unknown field", method: "POST", path: "/policies/account-prod/run", body: `{"when":"now"}`, status: 400, code: engine.EINVALID, errorAt: "when"},
		{name: "run: wrong type", method: "POST", path: "/policies/account-prod/run", body: `{"schedules":[1]}`, status: 400, code: engine.EINVALID, errorAt: "schedules"},
		{name: "invalid session id", method: "GET", path: "/sessions/account-prod", status: 400, code: engine.EINVALID},
		{name: "session id with a bad instant", method: "GET", path: "/sessions/account-prod%232026-13-45T99:00:00Z", status: 400, code: engine.EINVALID},
		{name: "unknown session", method: "GET", path: "/sessions/account-prod%232026-01-05T02:00:00Z", status: 404, code: engine.ENOTFOUND},
		{name: "invalid restore point id", method: "GET", path: "/restore-points/not-an-id", status: 400, code: engine.EINVALID},
		{name: "invalid restore point id for files", method: "GET", path: "/restore-points/%25%25/files", status: 400, code: engine.EINVALID},
		{name: "bad time", method: "GET", path: "/sessions?from=monday", status: 400, code: engine.EINVALID, errorAt: "from"},
		{name: "from after to", method: "GET", path: "/sessions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", status: 400, code: engine.EINVALID, errorAt: "to"},
		{name: "bad policy filter", method: "GET", path: "/sessions?policy=A!", status: 400, code: engine.EINVALID, errorAt: "policy"},
		{name: "bad limit", method: "GET", path: "/sessions?limit=0", status: 400, code: engine.EINVALID, errorAt: "limit"},
		{name: "bad session cursor", method: "GET", path: "/sessions?cursor=garbage", status: 400, code: engine.EINVALID, errorAt: "cursor"},
		{name: "bad policy cursor", method: "GET", path: "/policies?cursor=garbage", status: 400, code: engine.EINVALID, errorAt: "cursor"},
		{name: "bad point cursor", method: "GET", path: "/restore-points?cursor=eyJwIjoiIn0", status: 400, code: engine.EINVALID, errorAt: "cursor"},
		{name: "unknown query parameter", method: "GET", path: "/restore-points?fs=fs-12345678", status: 400, code: engine.EINVALID, errorAt: "fs"},
		{name: "bad account and region", method: "GET", path: "/restore-points?account=12&region=mars", status: 400, code: engine.EINVALID, errorAt: "region"},
		{name: "search without a file system", method: "GET", path: "/files/search?pattern=*.conf", status: 400, code: engine.EINVALID, errorAt: "fileSystem"},
		{name: "history without a path", method: "GET", path: "/files/history?fileSystem=fs-0123456789abcdef0", status: 400, code: engine.EINVALID, errorAt: "path"},
		{name: "method not allowed", method: "PATCH", path: "/policies/account-prod", body: `{}`, status: 405, code: api.EMETHOD},
		{name: "POST on a list", method: "POST", path: "/sessions", body: `{}`, status: 405, code: api.EMETHOD},
		{name: "unknown path", method: "GET", path: "/nope", status: 404, code: engine.ENOTFOUND},
		{name: "trailing slash", method: "GET", path: "/policies/", status: 404, code: engine.ENOTFOUND},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.body != "" || c.method == "PUT" {
				body = []byte(c.body)
			}
			r := f.do(c.method, c.path, body, c.headers...)
			mustStatus(t, r, c.status)
			e := r.errorBody(t)
			if e.Code != c.code {
				t.Fatalf("code %q, want %q (%s)", e.Code, c.code, e.Message)
			}
			if c.errorAt != "" && !slices.ContainsFunc(e.Errors, func(p policy.Problem) bool { return p.Path == c.errorAt }) {
				t.Fatalf("no problem at %q in %+v", c.errorAt, e.Errors)
			}
			if strings.Contains(string(r.body), "goroutine") || strings.Contains(string(r.body), ".go:") {
				t.Fatalf("the answer leaks a stack trace: %s", clip(r.body))
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	rec, err := f.store.GetPolicy(t.Context(), "account-prod")
	if err != nil || rec.Version != 1 {
		t.Fatalf("bad requests changed the policy: %+v %v", rec, err)
	}
}

func TestHealthzAndOpenAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.do("GET", "/healthz", nil)
	mustStatus(t, r, http.StatusOK)
	var h api.Health
	r.decode(t, &h)
	if h.Status != "ok" || !h.Time.Equal(t0) {
		t.Fatalf("healthz %+v", h)
	}
	r = f.do("GET", "/openapi.json", nil)
	mustStatus(t, r, http.StatusOK)
	if !bytes.Equal(r.body, api.OpenAPI) {
		t.Fatal("/openapi.json is not the embedded document")
	}
}

// TestOpenAPICoversEveryRoute checks that the document and the handler
// agree on the routes, both ways: each operation of the document answers
// something other than "no such path", and each path the handler has is
// in the document.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	spec, _ := loadSpec(t)
	sample := strings.NewReplacer("{id}", "x1")
	for path, item := range spec.Paths.Map() {
		for method := range item.Operations() {
			var body []byte
			if method == "PUT" || method == "POST" {
				body = []byte(`{}`)
			}
			r := f.do(method, sample.Replace(path), body)
			if r.status == http.StatusMethodNotAllowed || r.status == http.StatusNotFound && r.errorBody(t).Message[:10] == "no such AP" {
				t.Errorf("%s %s is in the OpenAPI document but the handler does not route it (%d)", method, path, r.status)
			}
		}
	}
	routes := (&api.Server{}).Routes()
	if len(routes) < 20 {
		t.Fatalf("only %d routes: %v", len(routes), routes)
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		item := spec.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is routed but not in the document", rt)
		}
	}
}

// TestSpecCheckerRejectsWrongAnswers makes sure the fixture's OpenAPI check
// is not vacuous: answers that break the document are caught.
func TestSpecCheckerRejectsWrongAnswers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", 200, `{"status":"ok"}`},                                 // time missing
		{"/healthz", 200, `{"status":"fine","time":"2026-01-01T00:00:00Z"}`}, // not in the enum
		{"/policies", 200, `{"policies":[{"version":1}]}`},                   // policy missing
		{"/policies", 201, `{"policies":[]}`},                                // undeclared status, wrong body for default
		{"/sessions", 200, `{"sessions":[],"extra":1}`},                      // additional property
	} {
		req, _ := http.NewRequest("GET", f.url+c.path, nil)
		h := http.Header{"Content-Type": {"application/json"}}
		if err := f.checkSpec(req, response{status: c.status, header: h, body: []byte(c.body)}); err == nil {
			t.Errorf("the checker accepts %d %s for %s", c.status, c.body, c.path)
		}
	}
}

func TestDefaultBodyLimitIsOneMiB(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	pad := func(n int) []byte {
		return append(append([]byte(`{"schedules":[],"x":"`), bytes.Repeat([]byte("y"), n)...), `"}`...)
	}
	r := f.do("POST", "/policies/account-prod/run", pad(1<<20))
	mustStatus(t, r, http.StatusRequestEntityTooLarge)
	if e := r.errorBody(t); e.Code != api.ETOOLARGE || !strings.Contains(e.Message, "1048576") {
		t.Fatalf("%+v", e)
	}
	// Just under the limit the body is read (and refused for its content).
	r = f.do("POST", "/policies/account-prod/run", pad(1<<20-100))
	mustStatus(t, r, http.StatusBadRequest)
	r = f.do("GET", "/policies/account-prod?verbose=1", nil)
	mustStatus(t, r, http.StatusBadRequest)
}
