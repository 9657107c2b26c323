package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

// memObjects is a MemoryBucket whose first failPut Puts fail, and whose
// uploads fail with failUp when it is set.
type memObjects struct {
	*MemoryBucket
	mu      sync.Mutex
	failPut int
	puts    int
	failUp  error
}

func newObjects() *memObjects { return &memObjects{MemoryBucket: NewMemoryBucket()} }

func (m *memObjects) Upload(ctx context.Context, key string, write func(io.Writer) error) error {
	if m.failUp != nil {
		if err := write(io.Discard); err != nil {
			return err
		}
		return m.failUp
	}
	return m.MemoryBucket.Upload(ctx, key, write)
}

func (m *memObjects) Put(ctx context.Context, key string, body []byte) error {
	m.mu.Lock()
	m.puts++
	fail := m.puts <= m.failPut
	m.mu.Unlock()
	if fail {
		return errors.New("503 Slow Down")
	}
	return m.MemoryBucket.Put(ctx, key, body)
}

func (m *memObjects) get(key string) ([]byte, bool) { return m.Get(key) }

func (m *memObjects) result(t *testing.T, key string) engine.WorkerResult {
	t.Helper()
	b, ok := m.get(key)
	if !ok {
		t.Fatalf("no result at %s", key)
	}
	r, err := engine.ParseWorkerResult(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const testRP = "arn:aws:backup:eu-west-1:111122223333:recovery-point:11111111-2222-3333-4444-555555555555"

func testJob(rp string) engine.WorkerJob {
	l := engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	id := engine.IndexRunID("task#" + rp)
	return engine.WorkerJob{RunID: id, Account: l.Account, Region: l.Region, FileSystem: "fs-0123456789abcdef0",
		MountTargetIP: "10.0.1.10", Bucket: "efskeeper-index-111122223333-eu-west-1", BucketRegion: "eu-west-1",
		IndexKey: engine.IndexKey(l, "fs-0123456789abcdef0", rp), ResultKey: engine.ResultKey(id), RecoveryPointArn: rp,
		BackupCreatedAt: time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC), MaxLifetimeSeconds: 3600}
}

// makeTree writes a small tree: top-level files and directories, one nested.
func makeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type shutdowns struct {
	mu sync.Mutex
	n  int
}

func (s *shutdowns) fn() func() {
	return func() { s.mu.Lock(); s.n++; s.mu.Unlock() }
}

func (s *shutdowns) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func deps(m Mounter, o Objects, s *shutdowns) Deps {
	return Deps{Mounter: m, Objects: o, Shutdown: s.fn(), InstanceID: "i-0123456789abcdef0", Walk: walk.Options{Workers: 4}}
}

func listRoot(t *testing.T, data []byte, open func(string) (io.ReaderAt, int64, error)) []string {
	t.Helper()
	r, err := index.Open(bytes.NewReader(data), int64(len(data)), &index.OpenOptions{OpenBase: open})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for e, err := range r.List("/") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
	}
	return names
}

func TestRunWritesIndexAndReports(t *testing.T) {
	root := makeTree(t, map[string]string{"a.txt": "aa", "dir/b.txt": "bbb", "dir/sub/c": "c", "z": ""})
	obj, sd := newObjects(), &shutdowns{}
	job := testJob(testRP)
	res := Run(context.Background(), job, deps(Trees{job.FileSystem: root}, obj, sd))
	if res.Error != "" {
		t.Fatalf("run failed: %s", res.Error)
	}
	if sd.count() != 1 {
		t.Errorf("shutdown called %d times, want 1", sd.count())
	}
	if res.Entries != 6 || res.Records != 6 || res.Bytes == 0 || res.WalkErrors != 0 || res.BaseKey != "" || res.InstanceID != "i-0123456789abcdef0" {
		t.Errorf("result %+v", res)
	}
	reported := obj.result(t, job.ResultKey)
	if reported.RunID != job.RunID || reported.Entries != res.Entries || reported.IndexKey != job.IndexKey || reported.FinishedAt.Before(reported.StartedAt) {
		t.Errorf("reported %+v, want the run's result", reported)
	}
	data, ok := obj.get(job.IndexKey)
	if !ok || int64(len(data)) != res.Bytes {
		t.Fatalf("index object of %d bytes (present %v), result says %d", len(data), ok, res.Bytes)
	}
	if got := listRoot(t, data, nil); !slices.Equal(got, []string{"a.txt", "dir", "z"}) {
		t.Errorf("root of the index lists %q", got)
	}
	r, _ := index.Open(bytes.NewReader(data), int64(len(data)), nil)
	if info := r.Info(); info.FileSystemID != job.FileSystem || info.RestorePointARN != job.RecoveryPointArn || !info.BackupCreated.Equal(job.BackupCreatedAt) {
		t.Errorf("index metadata %+v", info.Meta)
	}
}

func TestRunWritesDeltaAgainstBase(t *testing.T) {
	files := map[string]string{"a": "1", "b": "2", "d/c": "3"}
	root := makeTree(t, files)
	obj, sd := newObjects(), &shutdowns{}
	full := testJob(testRP)
	if res := Run(context.Background(), full, deps(Trees{full.FileSystem: root}, obj, sd)); res.Error != "" {
		t.Fatal(res.Error)
	}
	if err := os.WriteFile(filepath.Join(root, "new"), []byte("n"), 0o644); err != nil {
		t.Fatal(err)
	}
	delta := testJob(strings.Replace(testRP, "11111111", "22222222", 1))
	delta.BaseKey = full.IndexKey
	res := Run(context.Background(), delta, deps(Trees{delta.FileSystem: root}, obj, sd))
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if res.BaseKey != full.IndexKey || res.Entries != 5 || res.Records != 1 {
		t.Errorf("delta result %+v: want base %s, 5 entries, 1 record (the new file)", res, full.IndexKey)
	}
	data, _ := obj.get(delta.IndexKey)
	open := func(loc string) (io.ReaderAt, int64, error) {
		if loc != filepath.Base(full.IndexKey) {
			t.Errorf("the delta names its base %q, want the sibling %q", loc, filepath.Base(full.IndexKey))
		}
		return obj.Open(context.Background(), full.IndexKey)
	}
	if got := listRoot(t, data, open); !slices.Equal(got, []string{"a", "b", "d", "new"}) {
		t.Errorf("delta's root lists %q", got)
	}

	// A base that is gone: a full index instead.
	gone := testJob(strings.Replace(testRP, "11111111", "33333333", 1))
	gone.BaseKey = strings.Replace(full.IndexKey, "11111111", "99999999", 1)
	res = Run(context.Background(), gone, deps(Trees{gone.FileSystem: root}, obj, sd))
	if res.Error != "" || res.BaseKey != "" || res.Records != res.Entries {
		t.Errorf("run with a missing base: %+v, want a full index", res)
	}
}

type failMount struct{ err error }

func (f failMount) Mount(context.Context, engine.WorkerJob) (string, error) { return "", f.err }
func (failMount) Unmount(context.Context, string) error                     { return nil }

func TestRunMountFailureIsReported(t *testing.T) {
	obj, sd := newObjects(), &shutdowns{}
	job := testJob(testRP)
	res := Run(context.Background(), job, deps(failMount{errors.New("mount.nfs4: Connection timed out")}, obj, sd))
	if !strings.Contains(res.Error, "mount fs-0123456789abcdef0 (10.0.1.10:/): mount.nfs4: Connection timed out") {
		t.Errorf("error %q does not say the mount failed", res.Error)
	}
	if sd.count() != 1 {
		t.Errorf("shutdown called %d times after a failed mount, want 1", sd.count())
	}
	if got := obj.result(t, job.ResultKey); got.Error != res.Error {
		t.Errorf("reported error %q, want %q", got.Error, res.Error)
	}
	if _, ok := obj.get(job.IndexKey); ok {
		t.Error("an index was written without a mount")
	}
}

// hangMount blocks like a mount whose server never answers, and ignores
// its context, as a process stuck in the kernel does.
type hangMount struct{ release chan struct{} }

func (h hangMount) Mount(context.Context, engine.WorkerJob) (string, error) {
	<-h.release
	return "", errors.New("released")
}
func (hangMount) Unmount(context.Context, string) error { return nil }

func TestRunHungMountIsBoundedByTheLifetime(t *testing.T) {
	h := hangMount{release: make(chan struct{})}
	defer close(h.release)
	obj, sd := newObjects(), &shutdowns{}
	job := testJob(testRP)
	d := deps(h, obj, sd)
	d.Lifetime = 300 * time.Millisecond
	start := time.Now()
	res := Run(context.Background(), job, d)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %s with a 300 ms lifetime", took)
	}
	if !strings.Contains(res.Error, "mount fs-0123456789abcdef0") || !strings.Contains(res.Error, "maximum lifetime ran out") {
		t.Errorf("error %q, want the mount and the lifetime named", res.Error)
	}
	if sd.count() != 1 {
		t.Errorf("shutdown called %d times, want 1", sd.count())
	}
	if got := obj.result(t, job.ResultKey); got.Error == "" {
		t.Error("the lifetime failure was not reported")
	}
}

// denyFS fails to open directories with one name, as a directory the
// root user may not read on an EFS with root squashing would.
type denyFS struct {
	walk.OS
	name string
}

func (d denyFS) OpenDir(dirfd int, name string) (int, error) {
	if name == d.name {
		return -1, unix.EACCES
	}
	return d.OS.OpenDir(dirfd, name)
}

func TestRunCountsWalkErrors(t *testing.T) {
	root := makeTree(t, map[string]string{"ok/a": "1", "secret/b": "2"})
	obj, sd := newObjects(), &shutdowns{}
	job := testJob(testRP)
	d := deps(Trees{job.FileSystem: root}, obj, sd)
	d.Walk.FS = denyFS{name: "secret"}
	res := Run(context.Background(), job, d)
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	if res.WalkErrors != 1 || len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0], "secret: ") || !strings.Contains(res.Errors[0], "permission denied") {
		t.Errorf("walk errors %d %q, want secret: permission denied", res.WalkErrors, res.Errors)
	}
}

func TestRunUploadFailureIsReported(t *testing.T) {
	root := makeTree(t, map[string]string{"a": "1"})
	obj, sd := newObjects(), &shutdowns{}
	obj.failUp = errors.New("AccessDenied: not authorized to perform s3:PutObject")
	job := testJob(testRP)
	res := Run(context.Background(), job, deps(Trees{job.FileSystem: root}, obj, sd))
	if !strings.Contains(res.Error, "index fs-0123456789abcdef0 into s3://"+job.Bucket+"/"+job.IndexKey+": AccessDenied") {
		t.Errorf("error %q", res.Error)
	}
	if sd.count() != 1 || obj.result(t, job.ResultKey).Error == "" {
		t.Error("upload failure not reported or no shutdown")
	}
}

func TestRunRetriesTheReport(t *testing.T) {
	reportBackoff = time.Millisecond
	defer func() { reportBackoff = 2 * time.Second }()
	root := makeTree(t, map[string]string{"a": "1"})
	obj, sd := newObjects(), &shutdowns{}
	obj.failPut = reportAttempts - 1
	job := testJob(testRP)
	Run(context.Background(), job, deps(Trees{job.FileSystem: root}, obj, sd))
	if obj.result(t, job.ResultKey).Entries != 1 || obj.puts != reportAttempts {
		t.Errorf("result after %d puts; want it on attempt %d", obj.puts, reportAttempts)
	}

	obj2 := newObjects()
	obj2.failPut = reportAttempts
	Run(context.Background(), job, deps(Trees{job.FileSystem: root}, obj2, sd))
	if _, ok := obj2.get(job.ResultKey); ok || obj2.puts != reportAttempts {
		t.Errorf("%d puts when every one fails, want %d and then give up", obj2.puts, reportAttempts)
	}
	if sd.count() != 2 {
		t.Errorf("shutdowns %d, want 2 (also when the report fails)", sd.count())
	}
}

func TestRunRefusesAnInvalidJob(t *testing.T) {
	obj, sd := newObjects(), &shutdowns{}
	job := testJob(testRP)
	job.MountTargetIP = "not-an-ip"
	res := Run(context.Background(), job, deps(Trees{job.FileSystem: t.TempDir()}, obj, sd))
	if !strings.Contains(res.Error, "mountTargetIp") || sd.count() != 1 {
		t.Errorf("error %q, shutdowns %d", res.Error, sd.count())
	}
	if obj.result(t, job.ResultKey).Error == "" {
		t.Error("an invalid job with a usable result key must still be reported")
	}
	job.ResultKey = "indexes/elsewhere.json"
	obj2 := newObjects()
	Run(context.Background(), job, deps(Trees{}, obj2, sd))
	if keys := obj2.Keys(); len(keys) != 0 {
		t.Errorf("a job with a foreign result key wrote %v", keys)
	}
}

func TestNFSMountCommand(t *testing.T) {
	var got [][]string
	n := NFS{Dir: filepath.Join(t.TempDir(), "efs"), Command: func(_ context.Context, name string, args ...string) error {
		got = append(got, append([]string{name}, args...))
		if name == "umount" && len(args) == 1 {
			return errors.New("target is busy")
		}
		return nil
	}}
	dir, err := n.Mount(context.Background(), testJob(testRP))
	if err != nil || dir != n.Dir {
		t.Fatalf("Mount = %q, %v", dir, err)
	}
	if err := n.Unmount(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"mount", "-t", "nfs4", "-o", "ro,nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport", "10.0.1.10:/", n.Dir},
		{"umount", n.Dir},
		{"umount", "-l", n.Dir},
	}
	b1, _ := json.Marshal(got)
	b2, _ := json.Marshal(want)
	if string(b1) != string(b2) {
		t.Errorf("commands\n%s\nwant\n%s", b1, b2)
	}
	if st, err := os.Stat(n.Dir); err != nil || !st.IsDir() {
		t.Errorf("mount point not created: %v", err)
	}
}
