package engine

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// WorkerJob is what an index worker is told to do. indexlaunch puts it, as
// JSON, in the instance's user data; the worker reads it back with
// ParseWorkerJob. It carries everything the worker needs, so that the
// worker calls no efskeeper API and needs no permission beyond the index
// bucket and mounting the file system.
type WorkerJob struct {
	RunID      string `json:"runId"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	FileSystem string `json:"fileSystem"`
	// MountTargetIP is mounted directly (nfs4 <ip>:/), which works
	// whether or not the VPC has DNS hostnames on.
	MountTargetIP string `json:"mountTargetIp"`
	// Bucket is the index bucket, in BucketRegion (the home Region).
	Bucket       string `json:"bucket"`
	BucketRegion string `json:"bucketRegion"`
	IndexKey     string `json:"indexKey"`
	// BaseKey, when set, is a full index to write a delta against; the
	// worker writes a full index when it cannot read it.
	BaseKey          string    `json:"baseKey,omitempty"`
	ResultKey        string    `json:"resultKey"`
	RecoveryPointArn string    `json:"recoveryPointArn"`
	BackupCreatedAt  time.Time `json:"backupCreatedAt"`
	// MaxLifetimeSeconds bounds the whole run: past it the worker reports
	// a failure and shuts down.
	MaxLifetimeSeconds int64 `json:"maxLifetimeSeconds"`
}

// MaxLifetime returns MaxLifetimeSeconds as a duration.
func (j WorkerJob) MaxLifetime() time.Duration {
	return time.Duration(j.MaxLifetimeSeconds) * time.Second
}

var (
	ixFileSystemRE = regexp.MustCompile(`^fs-[0-9a-f]{8,40}$`)
	ixBucketRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Validate checks a job: a worker must not mount, walk or write anywhere
// a malformed job points it at.
func (j WorkerJob) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !validRunID(j.RunID) {
		add("runId %q is not an index run id", j.RunID)
	}
	if !ixAccountRE.MatchString(j.Account) {
		add("account %q is not a 12-digit account id", j.Account)
	}
	if !policy.IsRegion(j.Region) {
		add("region %q is not an AWS Region", j.Region)
	}
	if !policy.IsRegion(j.BucketRegion) {
		add("bucketRegion %q is not an AWS Region", j.BucketRegion)
	}
	if !ixFileSystemRE.MatchString(j.FileSystem) {
		add("fileSystem %q is not a file system id", j.FileSystem)
	}
	if a, err := netip.ParseAddr(j.MountTargetIP); err != nil || !a.Is4() {
		add("mountTargetIp %q is not an IPv4 address", j.MountTargetIP)
	}
	if !ixBucketRE.MatchString(j.Bucket) {
		add("bucket %q is not a bucket name", j.Bucket)
	}
	prefix := IndexesPrefix + j.Account + "/" + j.Region + "/" + j.FileSystem + "/"
	if !strings.HasPrefix(j.IndexKey, prefix) || !strings.HasSuffix(j.IndexKey, ".idx") || strings.Contains(j.IndexKey[len(prefix):], "/") {
		add("indexKey %q is not an index key of %s in %s/%s", j.IndexKey, j.FileSystem, j.Account, j.Region)
	}
	if j.BaseKey != "" && (!strings.HasPrefix(j.BaseKey, prefix) || !strings.HasSuffix(j.BaseKey, ".idx") ||
		strings.Contains(j.BaseKey[len(prefix):], "/") || j.BaseKey == j.IndexKey) {
		add("baseKey %q is not another index key of %s", j.BaseKey, j.FileSystem)
	}
	if id, ok := RunIDFromResultKey(j.ResultKey); !ok || id != j.RunID {
		add("resultKey %q is not %s", j.ResultKey, ResultKey(j.RunID))
	}
	if j.RecoveryPointArn == "" {
		add("recoveryPointArn is empty")
	}
	if j.MaxLifetimeSeconds < 60 || j.MaxLifetimeSeconds > 7*24*3600 {
		add("maxLifetimeSeconds %d is not between 60 and 604800", j.MaxLifetimeSeconds)
	}
	if len(problems) > 0 {
		return Errorf(EINVALID, "worker job: %s", strings.Join(problems, "; "))
	}
	return nil
}

// ParseWorkerJob decodes and checks a job.
func ParseWorkerJob(data []byte) (WorkerJob, error) {
	var j WorkerJob
	if err := json.Unmarshal(data, &j); err != nil {
		return j, Errorf(EINVALID, "worker job: %v", err)
	}
	return j, j.Validate()
}

// WorkerResult is what a worker reports: the result object it puts at
// WorkerJob.ResultKey, which indexdone reads.
type WorkerResult struct {
	RunID            string `json:"runId"`
	FileSystem       string `json:"fileSystem"`
	RecoveryPointArn string `json:"recoveryPointArn"`
	IndexKey         string `json:"indexKey"`
	// BaseKey is the base the worker really used ("" when it wrote a full
	// index, also when the job's base could not be read).
	BaseKey    string `json:"baseKey,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Entries    int64  `json:"entries"`
	Records    int64  `json:"records"`
	Bytes      int64  `json:"bytes"`
	WalkErrors int64  `json:"walkErrors"`
	// Errors are the first walk errors, "path: error".
	Errors     []string  `json:"errors,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	// Error says why the run failed (mount, walk, upload, lifetime); ""
	// when the index was written.
	Error string `json:"error,omitempty"`
}

// Duration is how long the worker ran.
func (r WorkerResult) Duration() time.Duration {
	if r.FinishedAt.Before(r.StartedAt) {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// MaxResultBytes bounds a result object: it is read whole.
const MaxResultBytes = 1 << 20

// maxResultErrors bounds the walk errors kept from one result.
const maxResultErrors = 50

// ParseWorkerResult decodes a result object. Anyone who may write under
// results/ can write one, so it is checked here and again against the run
// it names (Done).
func ParseWorkerResult(data []byte) (WorkerResult, error) {
	var r WorkerResult
	if len(data) > MaxResultBytes {
		return r, Errorf(EINVALID, "worker result: %d bytes, more than %d", len(data), MaxResultBytes)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, Errorf(EINVALID, "worker result: %v", err)
	}
	switch {
	case !validRunID(r.RunID):
		return r, Errorf(EINVALID, "worker result: runId %q is not an index run id", r.RunID)
	case r.Entries < 0 || r.Records < 0 || r.Bytes < 0 || r.WalkErrors < 0:
		return r, Errorf(EINVALID, "worker result of %s: negative counts", r.RunID)
	}
	if len(r.Errors) > maxResultErrors {
		r.Errors = r.Errors[:maxResultErrors]
	}
	return r, nil
}
