package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/api"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutines.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestServeLocal runs serve --local at 6000 simulated minutes per second:
// the clock moves, the tick starts sessions, the CLI reads them unsigned,
// an on-demand run goes through the background loop, and Ctrl-C stops it.
func TestServeLocal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := newSyncBuffer(), newSyncBuffer()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	go func() {
		done <- runLocal(ctx, localOptions{addr: "127.0.0.1:0", speed: 6000, seed: 1, faults: "none", start: start, logLevel: slog.LevelError}, out, errOut, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve --local did not start")
	}
	if !strings.Contains(out.String(), "curl -s "+base+"/policies") {
		t.Fatalf("banner without curl examples:\n%s", out.String())
	}

	// Wait until two simulated days have passed.
	deadline := time.Now().Add(60 * time.Second)
	var h api.Health
	for {
		getJSON(t, base+"/healthz", &h)
		if h.Time.After(start.Add(48 * time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the simulated clock is at %v after a minute", h.Time)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var sessions api.SessionList
	getJSON(t, base+"/sessions?policy=account-prod", &sessions)
	if len(sessions.Sessions) < 2 {
		t.Fatalf("after two simulated days: %d sessions", len(sessions.Sessions))
	}
	tableOut, errText, code := runCLI(t, "", "sessions", "list", "--api", base, "--policy", "account-prod")
	if code != 0 || !strings.Contains(tableOut, "account-prod#2026-01-05T01:00:00Z") {
		t.Fatalf("sessions list against serve --local: %d %s %s", code, tableOut, errText)
	}

	resp, err := http.Post(base+"/policies/account-prod/run", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var run api.RunResponse
	json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run: %d", resp.StatusCode)
	}
	// The loop delivers its region runs and events: it ends.
	for {
		var d api.SessionDetail
		getJSON(t, base+"/sessions/"+strings.ReplaceAll(run.SessionID, "#", "%23"), &d)
		if d.Session.Status != "Running" {
			if len(d.Tasks) == 0 {
				t.Fatalf("on-demand session ended without tasks: %+v", d.Session)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the on-demand session never ended")
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve --local did not stop")
	}
	if !strings.HasSuffix(out.String(), "stopped\n") {
		t.Fatalf("no stop message: %q", out.String())
	}
}
