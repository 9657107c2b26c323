package sim

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

var (
	ctx    = context.Background()
	locA   = engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	locDR  = engine.Loc{Account: "111122223333", Region: "eu-central-1"}
	t0     = time.Date(2024, 5, 14, 2, 0, 0, 0, time.UTC)
	gib    = int64(1 << 30)
	fsID   = "fs-0123456789abcdef0"
	fsArnA = fileSystemArn(locA, fsID)
)

// testWorld is a world with one file system in locA, a vault "primary"
// there and a vault "dr" in locDR.
func testWorld(t *testing.T, f Faults, size int64) *World {
	t.Helper()
	w := New(Config{Seed: 7, Faults: f, Start: t0})
	w.AddAccount(locA.Account, "")
	w.AddVault(locA, VaultSpec{Name: "primary"})
	w.AddVault(locDR, VaultSpec{Name: "dr"})
	w.AddFileSystem(locA, FileSystemSpec{ID: fsID, Name: "app-data", SizeBytes: size,
		MountTargets: []engine.MountTarget{{ID: "fsmt-1", SubnetID: "subnet-1", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", IPAddress: "10.0.0.5", SecurityGroups: []string{"sg-1"}}}})
	return w
}

func backupReq(token string) engine.StartBackupRequest {
	return engine.StartBackupRequest{
		Loc: locA, VaultName: "primary", ResourceArn: fsArnA,
		IamRoleArn: "arn:aws:iam::111122223333:role/efskeeper-backup", Token: token,
		StartWindowMinutes: 60, Lifecycle: &engine.Lifecycle{DeleteAfterDays: 35},
		RecoveryPointTags: map[string]string{engine.TagPolicy: "prod", engine.TagSession: "prod#2024-05-14T02:00:00Z"},
	}
}

func mustStart(t *testing.T, w *World, req engine.StartBackupRequest) engine.StartedJob {
	t.Helper()
	sj, err := w.Backup().StartBackup(ctx, req)
	if err != nil {
		t.Fatalf("StartBackup: %v", err)
	}
	return sj
}

// event is the part of an EventBridge event the tests read.
type event struct {
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Time       string   `json:"time"`
	Resources  []string `json:"resources"`
	Detail     struct {
		BackupJobID   string          `json:"backupJobId"`
		CopyJobID     string          `json:"copyJobId"`
		RestoreJobID  string          `json:"restoreJobId"`
		State         string          `json:"state"`
		Status        string          `json:"status"`
		StatusMessage string          `json:"statusMessage"`
		DestRP        json.RawMessage `json:"destinationRecoveryPointArn"`
		CreatedBy     *struct {
			BackupPlanID string `json:"backupPlanId"`
		} `json:"createdBy"`
	} `json:"detail"`
}

func (e event) state() string {
	if e.Detail.State != "" {
		return e.Detail.State
	}
	return e.Detail.Status
}

func (e event) jobID() string {
	switch {
	case e.Detail.BackupJobID != "":
		return e.Detail.BackupJobID
	case e.Detail.CopyJobID != "":
		return e.Detail.CopyJobID
	}
	return e.Detail.RestoreJobID
}

func decode(t *testing.T, raw []byte) event {
	t.Helper()
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, raw)
	}
	return e
}

// run advances the world minute by minute for d, collecting delivered
// events.
func run(w *World, d time.Duration) [][]byte {
	var out [][]byte
	for end := w.Now().Add(d); w.Now().Before(end); {
		w.Advance(time.Minute)
		out = append(out, w.DeliverEvents()...)
	}
	return out
}

func jobByID(w *World, id string) JobInfo {
	for _, j := range w.Jobs() {
		if j.ID == id {
			return j
		}
	}
	return JobInfo{}
}

func pointByArn(w *World, arn string) RecoveryPointInfo {
	for _, p := range w.RecoveryPoints() {
		if p.Arn == arn {
			return p
		}
	}
	return RecoveryPointInfo{}
}

// awsCode returns the AWS error code behind an engine error.
func awsCode(err error) string {
	var a *APIError
	if errors.As(err, &a) {
		return a.Code
	}
	return ""
}
