package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper"
	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/simrun"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

var updateClientGolden = flag.Bool("update-client", false, "rewrite the golden files under testdata/client")

func clientGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "client", name)
	if *updateClientGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test -update-client creates it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update-client rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// clientServer is the admin API on three simulated days of the demo
// organization (a fixed seed and start: the same answers every run), with
// indexes for the restore points of one file system and restores on the
// simulated AWS. requests counts what reached it.
type clientServer struct {
	url      string
	h        *simrun.Harness
	requests atomic.Int64
}

const indexedFS = "fs-0a1b2c3d4e5f60001"

// newClientServer starts a fresh server for one test (the simulation
// takes well under a second), so that tests do not see each other's writes.
func newClientServer(t *testing.T) *clientServer {
	t.Helper()
	cs, err := startClientServer(t)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func startClientServer(t *testing.T) (*clientServer, error) {
	pols, err := simrun.LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
	if err != nil {
		return nil, err
	}
	h, err := simrun.New(simrun.Options{Seed: 11, Days: 3, Faults: "default", Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		Build: simrun.DemoWorld, Policies: pols})
	if err != nil {
		return nil, err
	}
	if err := h.Run(context.Background()); err != nil {
		return nil, err
	}
	files, err := indexTasks(h)
	if err != nil {
		return nil, err
	}
	cs := &clientServer{h: h}
	srv := &api.Server{Engine: h.Engine, Files: files, WorkerConfigs: memory.NewIndexes(),
		Restores: engine.NewRestorer(engine.Restorer{Store: memory.NewRestores(), Service: h.World.Restores(), Clock: h.World}),
		Caller:   func(*http.Request) string { return "arn:aws:iam::111111111111:user/alice" }}
	handler := srv.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	cs.url = hs.URL
	return cs, nil
}

// indexTasks writes an index for every completed backup of indexedFS: the
// same small tree, with app.conf growing by a byte a day.
func indexTasks(h *simrun.Harness) (*api.Files, error) {
	ctx := context.Background()
	runs := memory.NewIndexes()
	objects := map[string][]byte{}
	tasks, _, err := h.Store.ListTasks(ctx, engine.TaskQuery{PolicyID: "account-prod", Limit: 100000})
	if err != nil {
		return nil, err
	}
	for i, t := range tasks {
		if t.FileSystem != indexedFS || t.Backup.State != engine.JobCompleted {
			continue
		}
		var buf bytes.Buffer
		w, err := index.NewWriter(&buf, index.WriterOptions{Meta: index.Meta{FileSystemID: t.FileSystem, RestorePointARN: t.RecoveryPointArn, BackupCreated: t.PointCreatedAt}})
		if err != nil {
			return nil, err
		}
		mtime := time.Date(2025, 12, 24, 9, 30, 0, 0, time.UTC)
		entries := []index.Entry{
			{Path: "etc", Type: index.TypeDir, Mode: 0o755, MTime: mtime.UnixNano(), CTime: mtime.UnixNano()},
			{Path: "etc/app.conf", Type: index.TypeFile, Mode: 0o644, Size: int64(100 + i), MTime: t.PointCreatedAt.Add(-time.Hour).UnixNano(), CTime: t.PointCreatedAt.Add(-time.Hour).UnixNano()},
			{Path: "etc/current", Type: index.TypeSymlink, Mode: 0o777, Target: "app.conf", MTime: mtime.UnixNano(), CTime: mtime.UnixNano()},
			{Path: "home", Type: index.TypeDir, Mode: 0o755, MTime: mtime.UnixNano(), CTime: mtime.UnixNano()},
			{Path: "home/report.doc", Type: index.TypeFile, Mode: 0o600, Size: 4096, MTime: mtime.UnixNano(), CTime: t.PointCreatedAt.Add(time.Minute).UnixNano()},
		}
		slices.SortFunc(entries, func(a, b index.Entry) int { return index.ComparePaths(a.Path, b.Path) })
		for j := range entries {
			if err := w.Add(&entries[j]); err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		key := engine.IndexKey(t.Loc, t.FileSystem, t.RecoveryPointArn)
		objects[key] = buf.Bytes()
		run := &engine.IndexRun{ID: engine.IndexRunID(t.ID()), TaskID: t.ID(), PolicyID: t.PolicyID, SessionID: t.SessionID, Loc: t.Loc,
			FileSystem: t.FileSystem, RecoveryPointArn: t.RecoveryPointArn, BackupCreatedAt: t.PointCreatedAt, State: engine.IndexDone,
			IndexKey: key, Entries: int64(len(entries)), FinishedAt: t.PointCreatedAt.Add(20 * time.Minute), CreatedAt: t.PointCreatedAt, UpdatedAt: t.PointCreatedAt}
		if err := runs.CreateIndexRun(ctx, run); err != nil {
			return nil, err
		}
	}
	return &api.Files{Runs: runs, Open: func(_ context.Context, key string) (io.ReaderAt, int64, error) {
		b, ok := objects[key]
		if !ok {
			return nil, 0, engine.Errorf(engine.ENOTFOUND, "no index %s", key)
		}
		return bytes.NewReader(b), int64(len(b)), nil
	}}, nil
}

// firstPoint returns the id of the oldest restore point of indexedFS.
func (cs *clientServer) firstPoint(t *testing.T) string {
	out, _, code := runCLI(t, "", "points", "list", "--api", cs.url, "--file-system", indexedFS, "--json")
	if code != 0 {
		t.Fatalf("points list: %d", code)
	}
	var l api.RestorePointList
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.RestorePoints) == 0 {
		t.Fatalf("%v %s", err, out)
	}
	return l.RestorePoints[0].ID
}

// TestClientReadVerbs checks the tables of the read-only verbs against
// golden files.
func TestClientReadVerbs(t *testing.T) {
	cs := newClientServer(t)
	point := cs.firstPoint(t)
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"policy-list.golden", []string{"policy", "list"}},
		{"policy-get.golden", []string{"policy", "get", "org-all"}},
		{"sessions-list.golden", []string{"sessions", "list", "--policy", "org-all", "--limit", "3"}},
		{"sessions-list-window.golden", []string{"sessions", "list", "--from", "2026-01-06", "--to", "2026-01-07"}},
		{"sessions-show.golden", []string{"sessions", "show", "org-all#2026-01-06T01:30:00Z"}},
		{"points-list.golden", []string{"points", "list", "--file-system", indexedFS}},
		{"points-list-copies.golden", []string{"points", "list", "--policy", "account-prod", "--region", "us-west-2", "--limit", "4"}},
		{"files-ls-root.golden", []string{"files", "ls", point}},
		{"files-ls-etc.golden", []string{"files", "ls", point, "/etc"}},
		{"files-ls-home.golden", []string{"files", "ls", point, "home/"}},
		{"files-search.golden", []string{"files", "search", "--file-system", indexedFS, "*.conf"}},
		{"files-history.golden", []string{"files", "history", "--file-system", indexedFS, "/etc/app.conf"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, code := runCLI(t, "", append(c.args, "--api", cs.url)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			clientGolden(t, c.golden, out)
			// --json prints the API's document.
			out, _, code = runCLI(t, "", append(c.args, "--api", cs.url, "--json")...)
			if code != 0 || !json.Valid([]byte(out)) {
				t.Fatalf("--json: exit %d, %.200s", code, out)
			}
		})
	}
}

func TestClientPolicyWrites(t *testing.T) {
	cs := newClientServer(t)
	apiFlag := []string{"--api", cs.url}
	dir := t.TempDir()

	// An invalid document is refused locally, without a request, listed as
	// validate lists it.
	before := cs.requests.Load()
	out, _, code := runCLI(t, "", append([]string{"policy", "put", invalidDoc}, apiFlag...)...)
	if code != 1 || cs.requests.Load() != before {
		t.Fatalf("invalid document: exit %d, %d requests", code, cs.requests.Load()-before)
	}
	want, _, _ := runCLI(t, "", "policy", "validate", invalidDoc)
	if out != want {
		t.Fatalf("put prints problems unlike validate:\n%s\nvs\n%s", out, want)
	}

	// get --document round-trips through put, with the version as If-Match.
	doc, _, code := runCLI(t, "", append([]string{"policy", "get", "account-prod", "--document"}, apiFlag...)...)
	if code != 0 {
		t.Fatal("get --document")
	}
	file := filepath.Join(dir, "p.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	recJSON, _, _ := runCLI(t, "", append([]string{"policy", "get", "account-prod", "--json"}, apiFlag...)...)
	var rec api.PolicyRecord
	if err := json.Unmarshal([]byte(recJSON), &rec); err != nil || rec.Version < 1 {
		t.Fatalf("get --json: %v %q", err, recJSON)
	}
	v := rec.Version // the tick has written the policy as its runs went by
	_, errOut, code := runCLI(t, "", append([]string{"policy", "put", file, "--if-match", fmt.Sprint(v + 5)}, apiFlag...)...)
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("is at version %d, not %d", v, v+5)) {
		t.Fatalf("stale --if-match: exit %d, %q", code, errOut)
	}
	out, _, code = runCLI(t, "", append([]string{"policy", "put", file, "--if-match", fmt.Sprint(v)}, apiFlag...)...)
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf(`account-prod: replaced, version %d (ETag "%d"), next run 2026-01-08 01:00Z`, v+1, v+1)) {
		t.Fatalf("put: exit %d, %q", code, out)
	}
	// From standard input, create-only: it exists.
	_, errOut, code = runCLI(t, doc, append([]string{"policy", "put", "-", "--create"}, apiFlag...)...)
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("--create on an existing policy: %d %q", code, errOut)
	}

	out, _, code = runCLI(t, "", append([]string{"policy", "disable", "account-prod"}, apiFlag...)...)
	if code != 0 || out != fmt.Sprintf("account-prod: disabled, version %d, next run -\n", v+2) {
		t.Fatalf("disable: %d %q", code, out)
	}
	out, _, code = runCLI(t, "", append([]string{"policy", "enable", "account-prod"}, apiFlag...)...)
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("account-prod: enabled, version %d", v+3)) {
		t.Fatalf("enable: %d %q", code, out)
	}
	out, _, code = runCLI(t, "", append([]string{"policy", "run", "account-prod", "--schedule", "monthly"}, apiFlag...)...)
	if code != 0 || !strings.HasPrefix(out, "started session account-prod#2026-01-08T") {
		t.Fatalf("run: %d %q", code, out)
	}
	_, errOut, code = runCLI(t, "", append([]string{"policy", "run", "account-prod", "--schedule", "hourly"}, apiFlag...)...)
	if code != 1 || !strings.Contains(errOut, `no schedule "hourly"`) {
		t.Fatalf("run with an unknown schedule: %d %q", code, errOut)
	}

	// A policy of its own to delete.
	other := strings.Replace(doc, `"id": "account-prod"`, `"id": "scratch"`, 1)
	out, _, code = runCLI(t, other, append([]string{"policy", "put", "-"}, apiFlag...)...)
	if code != 0 || !strings.HasPrefix(out, "scratch: created, version 1") {
		t.Fatalf("create: %d %q", code, out)
	}
	_, _, code = runCLI(t, "", append([]string{"policy", "delete", "scratch", "--if-match", "2"}, apiFlag...)...)
	if code != 1 {
		t.Fatal("delete with a stale version succeeded")
	}
	out, _, code = runCLI(t, "", append([]string{"policy", "delete", "scratch", "--if-match", "1"}, apiFlag...)...)
	if code != 0 || out != "scratch: deleted\n" {
		t.Fatalf("delete: %d %q", code, out)
	}
	_, errOut, code = runCLI(t, "", append([]string{"policy", "get", "scratch"}, apiFlag...)...)
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Fatalf("get after delete: %d %q", code, errOut)
	}
}

func TestClientRestore(t *testing.T) {
	cs := newClientServer(t)
	point := cs.firstPoint(t)
	out, errOut, code := runCLI(t, "", "restore", "start", point, "/etc/app.conf", "/home/report.doc", "--token", "golden-1", "--api", cs.url)
	if code != 0 {
		t.Fatalf("restore start: %d %s", code, errOut)
	}
	clientGolden(t, "restore-start.golden", out)
	id := strings.Fields(out)[1]
	id = strings.TrimSuffix(id, ":")
	out, _, code = runCLI(t, "", "restore", "status", id, "--api", cs.url)
	if code != 0 || !strings.HasPrefix(out, "Restore "+id+": Running") {
		t.Fatalf("status: %d %q", code, out)
	}
	out, _, code = runCLI(t, "", "restore", "status", "--api", cs.url)
	if code != 0 {
		t.Fatal("status list")
	}
	clientGolden(t, "restore-status.golden", out)
	_, errOut, code = runCLI(t, "", "restore", "start", point, "etc/app.conf", "--api", cs.url)
	if code != 1 || !strings.Contains(errOut, "items[0].paths[0]") {
		t.Fatalf("a relative path: %d %q", code, errOut)
	}
	_, _, code = runCLI(t, "", "restore", "start", point, "--api", cs.url)
	if code != 2 {
		t.Fatalf("no paths and no --full: exit %d, want 2", code)
	}
}

func TestClientUsageAndConnection(t *testing.T) {
	t.Setenv("EFSKEEPER_API", "")
	missing := filepath.Join(t.TempDir(), "config.json")
	_, errOut, code := runCLI(t, "", "sessions", "list", "--config", missing)
	if code != 1 || !strings.Contains(errOut, "no API URL") {
		t.Fatalf("no URL: %d %q", code, errOut)
	}
	if err := os.WriteFile(missing, []byte(`{"api":"http://127.0.0.1:1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, "", "sessions", "list", "--config", missing)
	if code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("nothing listening: %d %q", code, errOut)
	}
	for _, args := range [][]string{
		{"sessions", "list", "--from", "yesterday", "--api", "http://127.0.0.1:1"},
		{"sessions", "show"},
		{"policy", "get"},
		{"files", "search", "--api", "http://127.0.0.1:1"}, // --file-system missing
		{"serve"},
		{"serve", "--local", "--speed", "0"},
	} {
		if _, _, code := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
