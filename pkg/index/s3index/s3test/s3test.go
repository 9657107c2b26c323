// Package s3test runs an in-process S3-compatible server (gofakes3) that
// counts the ranged GETs and bytes it serves, for tests and benchmarks of
// index reads.
package s3test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a counting S3 server on a loopback port.
type Server struct {
	URL     string
	backend *s3mem.Backend
	http    *httptest.Server

	// Counters of GET requests on objects and the body bytes they returned.
	GETs      atomic.Int64
	RangeGETs atomic.Int64
	BytesOut  atomic.Int64
}

// New starts a server with the given buckets.
func New(buckets ...string) (*Server, error) {
	s := &Server{backend: s3mem.New()}
	h := gofakes3.New(s.backend).Server()
	s.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Object reads: GET /bucket/key (path style), not listings or
		// multipart calls.
		q := r.URL.Query()
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && !q.Has("uploadId") && !q.Has("uploads") {
			s.GETs.Add(1)
			if r.Header.Get("Range") != "" {
				s.RangeGETs.Add(1)
			}
			w = &countingWriter{ResponseWriter: w, n: &s.BytesOut}
		}
		h.ServeHTTP(w, r)
	}))
	s.URL = s.http.URL
	for _, b := range buckets {
		if err := s.backend.CreateBucket(b); err != nil {
			s.Close()
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return s, nil
}

// Env returns the environment a client needs to use this server with dummy
// credentials.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_S3":       s.URL,
		"AWS_REGION":                "us-east-1",
		"AWS_ACCESS_KEY_ID":         "test",
		"AWS_SECRET_ACCESS_KEY":     "test",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// ResetCounters zeroes the GET counters.
func (s *Server) ResetCounters() {
	s.GETs.Store(0)
	s.RangeGETs.Store(0)
	s.BytesOut.Store(0)
}

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}
