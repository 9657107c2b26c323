package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// fakeRestoreAWS is an engine.RestoreService that keeps restore points,
// vault policies and restore jobs in maps, answers idempotency tokens as
// AWS does, and records every StartRestoreJob request.
type fakeRestoreAWS struct {
	mu       sync.Mutex
	points   map[string]fakePoint // by ARN
	policies map[string]string    // by vault name
	byToken  map[string]string
	jobs     map[string]*engine.JobUpdate
	starts   []engine.StartRestoreRequest
	// startErr, when set, may fail a start (before AWS records anything).
	startErr func(r engine.StartRestoreRequest) error
	// describeErr, when set, fails DescribeRestoreJob.
	describeErr error
	calls       map[string]int
}

type fakePoint struct {
	vault string
	rp    engine.RecoveryPoint
	rsFS  string
}

func newFakeRestoreAWS() *fakeRestoreAWS {
	return &fakeRestoreAWS{points: map[string]fakePoint{}, policies: map[string]string{}, byToken: map[string]string{},
		jobs: map[string]*engine.JobUpdate{}, calls: map[string]int{}}
}

func (f *fakeRestoreAWS) addPoint(arn, vault, rsFSArn string, status engine.RecoveryPointStatus, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, rsFS, _ := rsSplitFS(rsFSArn)
	f.points[arn] = fakePoint{vault: vault, rsFS: rsFS, rp: engine.RecoveryPoint{Arn: arn, VaultName: vault, ResourceArn: rsFSArn, Status: status,
		StorageClass: "WARM", CreatedAt: time.Date(2024, 5, 14, 2, 0, 4, 0, time.UTC), Tags: tags}}
}

func rsSplitFS(arn string) (string, string, bool) {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[:i], arn[i+1:], true
		}
	}
	return "", "", false
}

func rsNotFound(format string, args ...any) error {
	return engine.Errorf(engine.ENOTFOUND, format, args...)
}

func (f *fakeRestoreAWS) DescribeRecoveryPoint(_ context.Context, l engine.Loc, vault, arn string) (engine.RecoveryPoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DescribeRecoveryPoint"]++
	p, ok := f.points[arn]
	if !ok || p.vault != vault {
		return engine.RecoveryPoint{}, rsNotFound("recovery point %s not found in vault %s of %s", arn, vault, l)
	}
	return p.rp, nil
}

func (f *fakeRestoreAWS) VaultAccessPolicy(_ context.Context, _ engine.Loc, vault string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetBackupVaultAccessPolicy"]++
	return f.policies[vault], nil
}

func (f *fakeRestoreAWS) RestoreMetadata(_ context.Context, l engine.Loc, vault, arn string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetRecoveryPointRestoreMetadata"]++
	p, ok := f.points[arn]
	if !ok || p.vault != vault {
		return nil, rsNotFound("recovery point %s not found in %s", arn, l)
	}
	return map[string]string{"aws:backup:request-id": "3d86b624-cb6c-436f-bf72-2938f50e1954", "file-system-id": p.rsFS}, nil
}

func (f *fakeRestoreAWS) StartRestore(_ context.Context, r engine.StartRestoreRequest) (engine.StartedJob, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["StartRestoreJob"]++
	if r.Token == "" {
		return engine.StartedJob{}, fmt.Errorf("no idempotency token")
	}
	if f.startErr != nil {
		if err := f.startErr(r); err != nil {
			return engine.StartedJob{}, err
		}
	}
	f.starts = append(f.starts, r)
	if id, ok := f.byToken[r.Token]; ok {
		return engine.StartedJob{JobID: id}, nil
	}
	id := fmt.Sprintf("job-%03d", len(f.jobs))
	f.byToken[r.Token] = id
	f.jobs[id] = &engine.JobUpdate{Kind: engine.KindRestore, Loc: r.Loc, JobID: id, State: engine.JobCreated, RecoveryPointArn: r.RecoveryPointArn}
	return engine.StartedJob{JobID: id}, nil
}

func (f *fakeRestoreAWS) DescribeRestoreJob(_ context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["DescribeRestoreJob"]++
	if f.describeErr != nil {
		return engine.JobUpdate{}, f.describeErr
	}
	j, ok := f.jobs[jobID]
	if !ok || j.Loc != l {
		return engine.JobUpdate{}, rsNotFound("restore job %s not found in %s", jobID, l)
	}
	return *j, nil
}

// set moves a job to a state in AWS and returns the event AWS would send.
func (f *fakeRestoreAWS) set(jobID string, s engine.JobState, msg, created string) engine.JobUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[jobID]
	j.State, j.Message, j.CreatedResourceArn = s, msg, created
	u := *j
	u.EventTime = time.Date(2024, 5, 20, 10, 0, 0, 0, time.UTC)
	return u
}

// uniqueJobs is how many AWS jobs were created.
func (f *fakeRestoreAWS) uniqueJobs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

// rsMailbox records restore notices.
type rsMailbox struct {
	mu      sync.Mutex
	notices []engine.RestoreNotice
}

func (m *rsMailbox) RestoreFinished(_ context.Context, n engine.RestoreNotice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, n)
	return nil
}

func (m *rsMailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.notices)
}

// Fixtures: a file system in us-east-1 with three restore points in its
// vault, and a copy of the first in us-west-2.
const (
	rsAcct       = "111122223333"
	rsFS         = "fs-0123456789abcdef0"
	rsFSArn      = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
	rsRP1        = "arn:aws:backup:us-east-1:111122223333:recovery-point:8f3b9c4e-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsRP2        = "arn:aws:backup:us-east-1:111122223333:recovery-point:11111111-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsRP3        = "arn:aws:backup:us-east-1:111122223333:recovery-point:22222222-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsRPCopy     = "arn:aws:backup:us-west-2:111122223333:recovery-point:b4d6e8f0-1a3c-4e5b-8d7f-9a0b1c2d3e4f"
	rsRPAuto     = "arn:aws:backup:us-east-1:111122223333:recovery-point:33333333-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsRPPart     = "arn:aws:backup:us-east-1:111122223333:recovery-point:44444444-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsRPEBS      = "arn:aws:backup:us-east-1:111122223333:recovery-point:55555555-2d1a-4c7b-9e6f-0a1b2c3d4e5f"
	rsAutoPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteRecoveryPoint","backup:StartCopyJob","backup:StartRestoreJob"],"Resource":"*"}]}`
)

var rsT0 = time.Date(2024, 5, 20, 10, 0, 0, 0, time.UTC)

type restoreEnv struct {
	aws   *fakeRestoreAWS
	store *memory.Restores
	clock *engine.ManualClock
	mail  *rsMailbox
	r     *engine.Restorer
}

func newRestoreEnv(t *testing.T, cfg engine.RestoreConfig) *restoreEnv {
	t.Helper()
	f := newFakeRestoreAWS()
	tags := map[string]string{engine.TagPolicy: "prod-efs"}
	f.addPoint(rsRP1, "efs-primary", rsFSArn, engine.RPCompleted, tags)
	f.addPoint(rsRP2, "efs-primary", rsFSArn, engine.RPCompleted, tags)
	f.addPoint(rsRP3, "efs-primary", rsFSArn, engine.RPAvailable, tags)
	f.addPoint(rsRPCopy, "efs-dr", rsFSArn, engine.RPCompleted, tags)
	f.addPoint(rsRPAuto, "aws/efs/automatic-backup-vault", rsFSArn, engine.RPCompleted, nil)
	f.addPoint(rsRPPart, "efs-primary", rsFSArn, engine.RPPartial, tags)
	f.addPoint(rsRPEBS, "efs-primary", "arn:aws:ec2:us-east-1::volume/vol-0123", engine.RPCompleted, nil)
	f.policies["aws/efs/automatic-backup-vault"] = rsAutoPolicy
	e := &restoreEnv{aws: f, store: memory.NewRestores(), clock: engine.NewManualClock(rsT0), mail: &rsMailbox{}}
	e.r = engine.NewRestorer(engine.Restorer{Store: e.store, Service: f, Notifier: e.mail, Clock: e.clock, Config: cfg})
	return e
}

func rsPaths(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/file-%02d.txt", prefix, i)
	}
	return out
}

func rsCtx() context.Context { return context.Background() }
