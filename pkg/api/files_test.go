package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// runStore is the part of engine.IndexStore the file routes read, over a
// map; the other methods are not used by the API.
type runStore struct {
	mu   sync.Mutex
	runs map[string]*engine.IndexRun
}

func (s *runStore) CreateIndexRun(_ context.Context, r *engine.IndexRun) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *r
	c.Version = 1
	s.runs[r.ID] = &c
	return nil
}

func (s *runStore) GetIndexRun(_ context.Context, id string) (*engine.IndexRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[id]
	if !ok {
		return nil, engine.Errorf(engine.ENOTFOUND, "index run %s not found", id)
	}
	c := *r
	return &c, nil
}

func (s *runStore) PutIndexRun(context.Context, *engine.IndexRun) error { panic("not used by the API") }
func (s *runStore) DueIndexRuns(context.Context, time.Time) ([]*engine.IndexRun, error) {
	panic("not used by the API")
}
func (s *runStore) LockFileSystem(context.Context, engine.Loc, string, string, time.Time, time.Time) (engine.FileSystemLock, error) {
	panic("not used by the API")
}
func (s *runStore) UnlockFileSystem(context.Context, engine.Loc, string, string) error {
	panic("not used by the API")
}

// FileSystemIndexRuns pages newest first, two runs a page, so that the
// API's paging through runs is exercised.
func (s *runStore) FileSystemIndexRuns(_ context.Context, q engine.IndexRunQuery) ([]*engine.IndexRun, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*engine.IndexRun
	for _, id := range slices.Sorted(maps.Keys(s.runs)) {
		r := s.runs[id]
		if r.Loc == q.Loc && r.FileSystem == q.FileSystem && (!q.DoneOnly || r.State == engine.IndexDone) {
			c := *r
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *engine.IndexRun) int { return b.BackupCreatedAt.Compare(a.BackupCreatedAt) })
	start := 0
	if q.Cursor != "" {
		var c struct{ N int }
		if err := store.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, "", err
		}
		start = c.N
	}
	end := min(start+2, len(out))
	next := ""
	if end < len(out) {
		next = store.EncodeCursor(struct{ N int }{end})
	}
	return out[start:end], next, nil
}

// fileWorld is a file system with four restore points: three indexed (the
// third as a delta over the first), one whose index is damaged, plus one
// point without an index run.
type fileWorld struct {
	f       *fixture
	objects map[string][]byte
	runs    *runStore
	tasks   []*engine.Task
}

const (
	fwAccount = "111111111111"
	fwRegion  = "eu-west-1"
	fwFS      = "fs-0123456789abcdef0"
	oddName   = "home/b\xffad.txt" // not valid UTF-8
)

type entrySpec struct {
	path string
	typ  index.Type
	size int64
}

func writeIndex(t *testing.T, meta index.Meta, entries []entrySpec, base *index.Reader, baseLoc string) []byte {
	t.Helper()
	slices.SortFunc(entries, func(a, b entrySpec) int { return index.ComparePaths(a.path, b.path) })
	var buf bytes.Buffer
	w, err := index.NewWriter(&buf, index.WriterOptions{Meta: meta, Base: base, BaseLocation: baseLoc})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		mode := uint32(0o644)
		if e.typ == index.TypeDir {
			mode = 0o755
		}
		mt := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(e.size) * time.Hour).UnixNano()
		if err := w.Add(&index.Entry{Path: e.path, Type: e.typ, Size: e.size, Mode: mode, MTime: mt, CTime: mt, Nlink: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newFileWorld(t *testing.T) *fileWorld {
	fw := &fileWorld{objects: map[string][]byte{}, runs: &runStore{runs: map[string]*engine.IndexRun{}}}
	files := &api.Files{Runs: fw.runs, Open: func(_ context.Context, key string) (io.ReaderAt, int64, error) {
		b, ok := fw.objects[key]
		if !ok {
			return nil, 0, engine.Errorf(engine.ENOTFOUND, "no index object %s", key)
		}
		return bytes.NewReader(b), int64(len(b)), nil
	}}
	fw.f = newFixture(t, fixtureOptions{files: files})
	mustStatus(t, fw.f.do("PUT", "/policies/p", edit(t, readPolicy(t, "account-prod.json"), func(m map[string]any) { m["id"] = "p" })), http.StatusCreated)
	ctx := t.Context()
	loc := engine.Loc{Account: fwAccount, Region: fwRegion}
	trees := [][]entrySpec{
		{{"etc", index.TypeDir, 0}, {"etc/app.conf", index.TypeFile, 10}, {"home", index.TypeDir, 0}, {"home/a.txt", index.TypeFile, 1}, {oddName, index.TypeFile, 2}},
		{{"etc", index.TypeDir, 0}, {"etc/app.conf", index.TypeFile, 20}, {"home", index.TypeDir, 0}, {"home/a.txt", index.TypeFile, 1}, {"home/c.conf", index.TypeFile, 3}},
		{{"etc", index.TypeDir, 0}, {"etc/app.conf", index.TypeFile, 20}, {"home", index.TypeDir, 0}},
		{{"etc", index.TypeDir, 0}},
		nil, // not indexed
	}
	var base *index.Reader
	for i, tree := range trees {
		at := time.Date(2026, 1, 5+i, 2, 0, 0, 0, time.UTC)
		sid := engine.SessionID("p", at)
		arn := "arn:aws:backup:eu-west-1:111111111111:recovery-point:rp-" + string(rune('a'+i))
		task := &engine.Task{SessionID: sid, PolicyID: "p", Loc: loc, FileSystem: fwFS, Schedules: []string{"daily"}, ScheduledAt: at,
			VaultName: "v", Phase: engine.PhaseDone, Backup: engine.Job{State: engine.JobCompleted, Attempt: 1},
			RecoveryPointArn: arn, PointCreatedAt: at, Index: true,
			Copies: []engine.Copy{{TargetRegion: "eu-central-1", VaultName: "dr", Job: engine.Job{State: engine.JobCompleted, Attempt: 1}, RecoveryPointArn: arn + "-copy"}}}
		if err := fw.f.store.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		fw.tasks = append(fw.tasks, task)
		if tree == nil {
			continue
		}
		key := engine.IndexKey(loc, fwFS, arn)
		meta := index.Meta{FileSystemID: fwFS, RestorePointARN: arn, BackupCreated: at, IndexCreated: at.Add(time.Minute)}
		switch i {
		case 2:
			fw.objects[key] = writeIndex(t, meta, tree, base, "rp-a.idx")
		case 3:
			fw.objects[key] = []byte("this is not an index at all, just bytes long enough to hold a trailer.........")
		default:
			fw.objects[key] = writeIndex(t, meta, tree, nil, "")
		}
		if i == 0 {
			var err error
			if base, err = index.Open(bytes.NewReader(fw.objects[key]), int64(len(fw.objects[key])), nil); err != nil {
				t.Fatal(err)
			}
		}
		run := &engine.IndexRun{ID: engine.IndexRunID(task.ID()), TaskID: task.ID(), PolicyID: "p", SessionID: sid, Loc: loc, FileSystem: fwFS,
			RecoveryPointArn: arn, BackupCreatedAt: at, State: engine.IndexDone, IndexKey: key, Entries: int64(len(tree)), FinishedAt: at.Add(time.Hour)}
		if err := fw.runs.CreateIndexRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	return fw
}

func (fw *fileWorld) pointID(i int, copy bool) string {
	region := fwRegion
	if copy {
		region = "eu-central-1"
	}
	return api.PointID(fw.tasks[i].ID(), region)
}

func TestBrowseFiles(t *testing.T) {
	fw := newFileWorld(t)
	f := fw.f
	r := f.do("GET", "/restore-points/"+fw.pointID(0, false)+"/files", nil)
	mustStatus(t, r, http.StatusOK)
	var list api.FileList
	r.decode(t, &list)
	if names(list.Entries) != "etc home" || list.Index.RecoveryPointArn != fw.tasks[0].RecoveryPointArn || list.Path != "" {
		t.Fatalf("root: %+v", list)
	}
	// A copy lists the index of the backup it copies; paths may start with /.
	r = f.do("GET", "/restore-points/"+fw.pointID(0, true)+"/files?path=/home/", nil)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Entries) != 2 || list.Entries[0].Name != "a.txt" || list.Entries[0].Type != "f" || list.Entries[0].Mode != "0644" {
		t.Fatalf("home: %+v", list.Entries)
	}
	odd := list.Entries[1]
	if b, _ := base64.StdEncoding.DecodeString(odd.PathBase64); string(b) != oddName || odd.Path != "home/b\uFFFDad.txt" {
		t.Fatalf("a name that is not UTF-8 must keep its bytes in pathBase64: %+v", odd)
	}
	// Pages of one entry.
	var paged []string
	pages(t, f, "/restore-points/"+fw.pointID(1, false)+"/files?path=home&limit=1", func(r response) string {
		var page api.FileList
		r.decode(t, &page)
		for _, e := range page.Entries {
			paged = append(paged, e.Name)
		}
		return page.NextCursor
	})
	if !slices.Equal(paged, []string{"a.txt", "c.conf"}) {
		t.Fatalf("paged %v", paged)
	}
	// The delta index reads through its base.
	r = f.do("GET", "/restore-points/"+fw.pointID(2, false)+"/files?path=etc", nil)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Entries) != 1 || list.Entries[0].Size != 20 {
		t.Fatalf("delta index: %+v", list.Entries)
	}

	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/restore-points/" + fw.pointID(0, false) + "/files?path=nope", 404, engine.ENOTFOUND},
		{"/restore-points/" + fw.pointID(0, false) + "/files?path=etc/app.conf", 400, engine.EINVALID},
		{"/restore-points/" + fw.pointID(4, false) + "/files", 404, engine.ENOTFOUND}, // no index run
		{"/restore-points/" + fw.pointID(3, false) + "/files", 500, engine.EINTERNAL}, // damaged index
		{"/restore-points/" + api.PointID(fw.tasks[0].ID(), "us-west-2") + "/files", 404, engine.ENOTFOUND},
		{"/restore-points/" + fw.pointID(0, false) + "/files?cursor=xyz", 400, engine.EINVALID},
	} {
		r := f.do("GET", c.path, nil)
		mustStatus(t, r, c.status)
		if e := r.errorBody(t); e.Code != c.code {
			t.Fatalf("%s: code %s", c.path, e.Code)
		}
	}
	r = f.do("GET", "/restore-points/"+fw.pointID(3, false)+"/files", nil)
	if e := r.errorBody(t); !bytes.Contains([]byte(e.Message), []byte("damaged")) {
		t.Fatalf("a damaged index must say so: %q", e.Message)
	}
	// An index Prune deleted says so rather than "not yet".
	fw.runs.mu.Lock()
	fw.runs.runs[engine.IndexRunID(fw.tasks[1].ID())].State = engine.IndexDeleted
	fw.runs.mu.Unlock()
	r = f.do("GET", "/restore-points/"+fw.pointID(1, false)+"/files", nil)
	mustStatus(t, r, http.StatusNotFound)
	if e := r.errorBody(t); !bytes.Contains([]byte(e.Message), []byte("was deleted after retention deleted")) {
		t.Fatalf("a deleted index: %q", e.Message)
	}
}

func names(es []api.FileEntry) string {
	var b bytes.Buffer
	for i, e := range es {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Name)
	}
	return b.String()
}

func TestSearchAndHistory(t *testing.T) {
	fw := newFileWorld(t)
	f := fw.f
	// The damaged index of point 3 makes searches that reach it fail: a
	// window without it searches fine.
	window := "&to=2026-01-08T00:00:00Z"
	r := f.do("GET", "/files/search?fileSystem="+fwFS+"&pattern=*.conf"+window, nil)
	mustStatus(t, r, http.StatusOK)
	var s api.FileSearch
	r.decode(t, &s)
	var got []string
	for _, m := range s.Matches {
		got = append(got, m.Index.RecoveryPointArn[len(m.Index.RecoveryPointArn)-4:]+":"+m.Entry.Path)
	}
	want := []string{"rp-c:etc/app.conf", "rp-b:etc/app.conf", "rp-b:home/c.conf", "rp-a:etc/app.conf"}
	if !slices.Equal(got, want) {
		t.Fatalf("search: %v, want %v", got, want)
	}
	var paged []string
	pages(t, f, "/files/search?fileSystem="+fwFS+"&account="+fwAccount+"&region="+fwRegion+"&pattern=*.conf&limit=1"+window, func(r response) string {
		var page api.FileSearch
		r.decode(t, &page)
		for _, m := range page.Matches {
			paged = append(paged, m.Index.RecoveryPointArn[len(m.Index.RecoveryPointArn)-4:]+":"+m.Entry.Path)
		}
		return page.NextCursor
	})
	if !slices.Equal(paged, want) {
		t.Fatalf("paged search: %v, want %v", paged, want)
	}
	r = f.do("GET", "/files/search?fileSystem="+fwFS+"&pattern=*.conf", nil)
	mustStatus(t, r, http.StatusInternalServerError)
	r = f.do("GET", "/files/search?fileSystem=fs-99999999&pattern=*", nil)
	mustStatus(t, r, http.StatusNotFound)
	r = f.do("GET", "/files/search?fileSystem="+fwFS+"&pattern="+url.QueryEscape("etc/*.conf"), nil)
	mustStatus(t, r, http.StatusBadRequest)

	r = f.do("GET", "/files/history?fileSystem="+fwFS+"&path=/etc/app.conf"+window, nil)
	mustStatus(t, r, http.StatusOK)
	var h api.FileHistory
	r.decode(t, &h)
	var changes []string
	for _, v := range h.Versions {
		changes = append(changes, v.Change)
	}
	if !slices.Equal(changes, []string{"added", "modified", "unchanged"}) || h.Versions[1].SizeDelta != 10 || h.Versions[0].Entry.Size != 10 {
		t.Fatalf("history of etc/app.conf: %v %+v", changes, h.Versions)
	}
	r = f.do("GET", "/files/history?fileSystem="+fwFS+"&path=home/a.txt"+window, nil)
	mustStatus(t, r, http.StatusOK)
	h = api.FileHistory{}
	r.decode(t, &h)
	changes = changes[:0]
	for _, v := range h.Versions {
		changes = append(changes, v.Change)
	}
	if !slices.Equal(changes, []string{"added", "unchanged", "removed"}) || h.Versions[2].Entry != nil {
		t.Fatalf("history of home/a.txt: %v", changes)
	}

	// Without a file index configured, the file routes say so.
	bare := newFixture(t, fixtureOptions{store: fw.f.store})
	r = bare.do("GET", "/files/history?fileSystem="+fwFS+"&path=etc", nil)
	mustStatus(t, r, http.StatusNotImplemented)
}
