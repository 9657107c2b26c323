package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// FuzzPointID: every id PointID makes parses back to its parts, and
// parsePointID accepts only ids PointID makes.
func FuzzPointID(f *testing.F) {
	f.Add("p#2026-01-05T02:00:00Z#111111111111#eu-west-1#fs-0123456789abcdef0", "eu-central-1", "")
	f.Add("p#2026-01-05T02:00:00Z#1#eu-west-1#fs-01234567", "x", "cCMyMDI2")
	f.Add("", "", "%%%")
	f.Fuzz(func(t *testing.T, taskID, region, raw string) {
		if tid, reg, ok := parsePointID(PointID(taskID, region)); ok && (tid != taskID || reg != region) {
			t.Fatalf("PointID(%q, %q) parses as %q, %q", taskID, region, tid, reg)
		}
		if tid, reg, ok := parsePointID(raw); ok && PointID(tid, reg) != raw {
			t.Fatalf("%q was accepted but PointID(%q, %q) = %q", raw, tid, reg, PointID(tid, reg))
		}
	})
}

// FuzzETag: the ETag of a version reads back as that version.
func FuzzETag(f *testing.F) {
	f.Add(int64(1), `"1"`)
	f.Add(int64(99), `W/"x"`)
	f.Fuzz(func(t *testing.T, v int64, header string) {
		if got, ok := parseETag(etag(v)); v > 0 && (!ok || got != v) {
			t.Fatalf("etag(%d) = %s reads back as %d, %v", v, etag(v), got, ok)
		}
		if got, ok := parseETag(header); ok && got <= 0 {
			t.Fatalf("%q read as version %d", header, got)
		}
	})
}

// FuzzRequests sends arbitrary requests: the answer is never a 500 and
// always JSON with a code and a message when it is an error.
func FuzzRequests(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"PUT", "/policies/a", `{"id":"a","name":"A","source":{"mode":"account","accounts":["111111111111"],"regions":["eu-west-1"],"fileSystems":["fs-01234567"]},"backup":{"vaults":[{"region":"*","vault":"Default"}]},"schedules":[{"name":"d","kind":"daily","at":["02:00"],"retention":{"days":7}}]}`},
		{"POST", "/policies/a/run", `{"schedules":["d"]}`},
		{"GET", "/sessions?policy=a&from=2026-01-01T00:00:00Z&cursor=abc", ""},
		{"GET", "/restore-points?cursor=eyJwIjoiYSJ9&limit=3", ""},
		{"GET", "/restore-points/cCMy/files?path=/x", ""},
		{"GET", "/policies/a/plan?days=400&history=false", ""},
		{"DELETE", "/policies/a", ""},
		{"GET", "/files/search?fileSystem=fs-01234567&pattern=*", ""},
	} {
		f.Add(seed.method, seed.target, seed.body)
	}
	st := memory.New()
	clock := engine.ClockFunc(func() time.Time { return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) })
	s := &Server{Engine: engine.New(engine.Engine{Store: st, Queue: nopQueue{}, Clock: clock})}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(strings.ToUpper(method), "http://x"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s %q: %d %s", method, target, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: error answer %q", method, target, w.Body)
			}
		}
	})
}

type nopQueue struct{}

func (nopQueue) SendRegionRun(_ context.Context, _ engine.RegionRunMsg) error { return nil }
func (nopQueue) SendIndexRun(_ context.Context, _ engine.IndexRunMsg) error   { return nil }
