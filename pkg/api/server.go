// Package api is efskeeper's admin HTTP API: policies (with ETags and
// If-Match), their plans, enabling and on-demand runs, sessions with their
// units and tasks, restore points and their files. It is plain net/http
// with Go 1.22 patterns; the same handler serves API Gateway (through
// functions/api) and `efskeeper serve --local`.
//
// Every answer is JSON. Errors carry an engine error code (see errors.go,
// the one place that maps codes to HTTP statuses) and a sentence for the
// admin, never a stack trace. The OpenAPI 3 document of the API is served
// at /openapi.json and embedded in the binary (OpenAPI); the tests check
// every response they get against it.
package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// DefaultMaxBody is the largest request body the API reads (1 MiB); larger
// bodies get 413.
const DefaultMaxBody = 1 << 20

// Server holds what the handlers need.
type Server struct {
	// Engine runs the use-cases; the API reads and writes its Store
	// through it and takes the time from its Clock.
	Engine *engine.Engine
	// Files opens the file indexes of restore points. Nil makes the file
	// routes answer 501.
	Files *Files
	// WorkerConfigs keeps the per-Region index worker configurations. Nil
	// makes the /worker-configs routes answer 501.
	WorkerConfigs engine.WorkerConfigStore
	// Restores runs restore sessions. Nil makes the /restores routes
	// answer 501.
	Restores *engine.Restorer
	// Caller names who sent a request (API Gateway's caller identity), for
	// the record of a restore; nil leaves it empty.
	Caller func(*http.Request) string
	// Log receives one line per request and the detail of internal errors.
	Log *slog.Logger
	// MaxBody caps request bodies; 0 means DefaultMaxBody.
	MaxBody int64

	mux      *http.ServeMux
	pathOnly *http.ServeMux // the routes' paths without methods, to tell 405 from 404
	methods  map[string][]string
}

// route is one method and path pattern of the API.
type route struct {
	method, path string
	handle       func(w http.ResponseWriter, r *http.Request) error
}

// Handler returns the API as an http.Handler.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.MaxBody <= 0 {
		s.MaxBody = DefaultMaxBody
	}
	s.mux = http.NewServeMux()
	s.pathOnly = http.NewServeMux()
	s.methods = map[string][]string{}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt.handle))
		if _, ok := s.methods[rt.path]; !ok {
			s.pathOnly.Handle(rt.path, http.NotFoundHandler())
		}
		s.methods[rt.path] = append(s.methods[rt.path], rt.method)
	}
	s.mux.Handle("/", s.wrap(s.unrouted))
	return s
}

// ServeHTTP logs the request and turns a panic into a 500 with a JSON
// body; the stack goes to the log only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			s.Log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rw.status == 0 {
				s.writeError(rw, r, fmt.Errorf("panic: %v", v))
			}
		}
		s.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "ms", time.Since(start).Milliseconds())
	}()
	s.mux.ServeHTTP(rw, r)
}

// wrap adapts a handler that returns an error, answering the error as JSON.
func (s *Server) wrap(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.MaxBody)
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// unrouted answers requests no route takes: 405 with Allow when the path
// is one of the API's, 404 otherwise.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) error {
	if _, pattern := s.pathOnly.Handler(r); pattern != "" {
		allowed := slices.Clone(s.methods[pattern])
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return engine.Errorf(EMETHOD, "%s does not take %s; use %s", r.URL.Path, r.Method, strings.Join(allowed, ", "))
	}
	return engine.Errorf(engine.ENOTFOUND, "no such API path %s; see /openapi.json", r.URL.Path)
}

// Routes lists the API's routes as "METHOD /path" (Handler must have been
// called): the OpenAPI document must describe each of them.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", s.healthz},
		{"GET", "/openapi.json", serveOpenAPI},

		{"GET", "/policies", s.listPolicies},
		{"GET", "/policies/{id}", s.getPolicy},
		{"PUT", "/policies/{id}", s.putPolicy},
		{"DELETE", "/policies/{id}", s.deletePolicy},
		{"POST", "/policies/{id}/enable", s.enablePolicy},
		{"POST", "/policies/{id}/disable", s.disablePolicy},
		{"POST", "/policies/{id}/run", s.runPolicy},
		{"GET", "/policies/{id}/plan", s.planPolicy},

		{"GET", "/sessions", s.listSessions},
		{"GET", "/sessions/{id}", s.getSession},
		{"GET", "/sessions/{id}/tasks", s.listSessionTasks},

		{"GET", "/restore-points", s.listRestorePoints},
		{"GET", "/restore-points/{id}", s.getRestorePoint},
		{"GET", "/restore-points/{id}/files", s.browseFiles},
		{"GET", "/files/search", s.searchFiles},
		{"GET", "/files/history", s.fileHistory},

		{"GET", "/worker-configs", s.listWorkerConfigs},
		{"GET", "/worker-configs/{region}", s.getWorkerConfig},
		{"PUT", "/worker-configs/{region}", s.putWorkerConfig},
		{"DELETE", "/worker-configs/{region}", s.deleteWorkerConfig},

		{"POST", "/restores", s.startRestore},
		{"GET", "/restores", s.listRestores},
		{"GET", "/restores/{id}", s.getRestore},
	}
}

// Health is the body of GET /healthz.
type Health struct {
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, Health{Status: "ok", Time: s.Engine.Clock.Now().UTC()})
	return nil
}

// writeJSON writes v with the status. Encoding happens first so that a
// value that cannot be encoded becomes a 500, not half a body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(ErrorBody{Code: engine.EINTERNAL, Message: "internal error: the answer could not be encoded"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
