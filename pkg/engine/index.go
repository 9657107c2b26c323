package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"
)

// Indexing: after a backup completes, indexlaunch starts a short-lived EC2
// worker next to one of the file system's mount targets (after a network
// preflight); the worker mounts the file system read-only, walks it, writes
// the index to the index bucket and reports through a result object, which
// indexdone reads. The records and ports below are what those two
// use-cases need; they are separate from Store so that Store's contract
// and its implementations stay as they are.

// IndexState is where an index run stands.
type IndexState string

// Index run states.
const (
	IndexPending   IndexState = "pending"   // message seen, nothing launched
	IndexLaunching IndexState = "launching" // preflight passed, RunInstances under way
	IndexRunning   IndexState = "running"   // the worker runs; its result is awaited
	IndexDone      IndexState = "done"      // the index is in the bucket
	IndexFailed    IndexState = "failed"    // see Message; the session has a warning
	IndexSkipped   IndexState = "skipped"   // not run on purpose (another run held the file system)
	IndexDeleted   IndexState = "deleted"   // was done; the index was deleted after its restore points (see Prune)
)

// Terminal reports whether the state is final.
func (s IndexState) Terminal() bool {
	return s == IndexDone || s == IndexFailed || s == IndexSkipped || s == IndexDeleted
}

// ReasonIndexIncomplete marks an index that was written but could not read
// every entry (the worker lists the first problems).
const ReasonIndexIncomplete = "index-incomplete"

// IndexRun is the record of indexing one task's restore point: one per
// task, whose id is derived from the task id, so that a redelivered
// message finds the run it started.
type IndexRun struct {
	ID               string    `json:"id"`
	TaskID           string    `json:"taskId"`
	PolicyID         string    `json:"policyId"`
	SessionID        string    `json:"sessionId"`
	Loc              Loc       `json:"loc"`
	FileSystem       string    `json:"fileSystem"`
	RecoveryPointArn string    `json:"recoveryPointArn"`
	BackupCreatedAt  time.Time `json:"backupCreatedAt"`

	State IndexState `json:"state"`
	// Attempts counts the launch deliveries seen.
	Attempts int `json:"attempts"`

	// Where the worker runs, as the preflight chose.
	MountTargetID    string   `json:"mountTargetId,omitempty"`
	MountTargetIP    string   `json:"mountTargetIp,omitempty"`
	AvailabilityZone string   `json:"availabilityZone,omitempty"`
	VpcID            string   `json:"vpcId,omitempty"`
	SubnetID         string   `json:"subnetId,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	PrivateNetwork   bool     `json:"privateNetwork,omitempty"`
	InstanceType     string   `json:"instanceType,omitempty"`
	InstanceID       string   `json:"instanceId,omitempty"`

	// IndexKey is the index object's key in the index bucket; BaseKey the
	// full index a delta index was written against ("" for a full index).
	IndexKey  string `json:"indexKey,omitempty"`
	BaseKey   string `json:"baseKey,omitempty"`
	ResultKey string `json:"resultKey,omitempty"`

	// What the index holds (from the index object when indexdone could
	// read it, else from the worker's result).
	Entries    int64         `json:"entries,omitempty"`
	Records    int64         `json:"records,omitempty"` // rows stored: a delta's changes
	Bytes      int64         `json:"bytes,omitempty"`
	WalkErrors int64         `json:"walkErrors,omitempty"`
	Errors     []string      `json:"errors,omitempty"` // the first walk errors, "path: error"
	Duration   time.Duration `json:"duration,omitempty"`
	Message    string        `json:"message,omitempty"`

	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	LaunchedAt time.Time `json:"launchedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
	// Deadline is when a run that has not reported is given up: the
	// worker's lifetime plus a grace period for its report.
	Deadline time.Time `json:"deadline,omitempty"`
	Version  int64     `json:"version"`
}

// IndexRunID derives an index run's id from its task's id. It is short and
// plain ([0-9a-f] after "ix-") because it is also the EC2 ClientToken (64
// characters at most), a tag value and part of the result object's key.
func IndexRunID(taskID string) string {
	h := sha256.Sum256([]byte("index\x00" + taskID))
	return "ix-" + hex.EncodeToString(h[:16])
}

// IndexesPrefix and ResultsPrefix are the index bucket's two areas
// (DESIGN.md, "Deployment contract"); indexdone is notified of objects
// created under ResultsPrefix.
const (
	IndexesPrefix = "indexes/"
	ResultsPrefix = "results/"
)

// IndexKey is where the index of one restore point of a file system
// lives: indexes/<account>/<region>/<file system>/<recovery point id>.idx.
// Deltas name their base relative to their own key, so every index of one
// file system shares one prefix.
func IndexKey(l Loc, fileSystem, recoveryPointArn string) string {
	return IndexesPrefix + l.Account + "/" + l.Region + "/" + fileSystem + "/" + recoveryPointID(recoveryPointArn) + ".idx"
}

// ResultKey is where the worker of a run puts its result.
func ResultKey(runID string) string { return ResultsPrefix + runID + ".json" }

// RunIDFromResultKey returns the run id of a result key, or false if key is
// not one ResultKey makes.
func RunIDFromResultKey(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, ResultsPrefix)
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, ".json")
	if !ok || !validRunID(id) {
		return "", false
	}
	return id, true
}

func validRunID(id string) bool {
	hexPart, ok := strings.CutPrefix(id, "ix-")
	if !ok || len(hexPart) != 32 {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// recoveryPointID is the last part of a recovery point ARN
// (arn:aws:backup:<region>:<account>:recovery-point:<id>), reduced to
// characters that are safe in an S3 key; anything unusual is hashed.
func recoveryPointID(arn string) string {
	id := arn[strings.LastIndexAny(arn, ":/")+1:]
	ok := id != "" && len(id) <= 100
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if ok && id != "." && id != ".." {
		return id
	}
	h := sha256.Sum256([]byte(arn))
	return "rp-" + hex.EncodeToString(h[:16])
}

// IndexRunQuery selects the runs of one file system.
type IndexRunQuery struct {
	Loc        Loc
	FileSystem string
	// DoneOnly keeps runs whose index is in the bucket (state done).
	DoneOnly bool
	Cursor   string
	Limit    int
}

// FileSystemLock is the holder of a file system's index slot.
type FileSystemLock struct {
	RunID string
	Until time.Time
	// Previous is the run whose expired hold this acquisition replaced
	// ("" if the slot was free or already ours).
	Previous string
}

// IndexStore keeps index runs and the one-run-per-file-system slots. Runs
// follow Store's versioning rules (0 to create; ECONFLICT on a stale
// version; the store sets Version on success). pkg/store/storetest's
// RunIndex is the contract.
type IndexStore interface {
	// CreateIndexRun fails with ECONFLICT if the id exists.
	CreateIndexRun(ctx context.Context, r *IndexRun) error
	GetIndexRun(ctx context.Context, id string) (*IndexRun, error)
	PutIndexRun(ctx context.Context, r *IndexRun) error
	// FileSystemIndexRuns pages through one file system's runs, newest
	// restore point first (BackupCreatedAt, then id, descending).
	FileSystemIndexRuns(ctx context.Context, q IndexRunQuery) ([]*IndexRun, string, error)
	// DueIndexRuns returns the non-terminal runs whose Deadline is set and
	// <= now: runs whose worker never reported.
	DueIndexRuns(ctx context.Context, now time.Time) ([]*IndexRun, error)
	// LockFileSystem gives the file system's index slot to runID until
	// until. It succeeds when the slot is free, already held by runID (the
	// hold is then extended) or held by a run whose hold ended before now
	// (Previous names it). Otherwise it fails with ECONFLICT and returns
	// the current holder.
	LockFileSystem(ctx context.Context, l Loc, fileSystem, runID string, now, until time.Time) (FileSystemLock, error)
	// UnlockFileSystem frees the slot if runID holds it, and does nothing
	// otherwise.
	UnlockFileSystem(ctx context.Context, l Loc, fileSystem, runID string) error
}

// WorkerConfigStore keeps the per-Region worker configurations. Writes are
// versioned as Store's are.
type WorkerConfigStore interface {
	// GetWorkerConfig returns the configuration of exactly (account,
	// region); account "" is the one for every account. ENOTFOUND if none.
	GetWorkerConfig(ctx context.Context, account, region string) (*WorkerConfig, error)
	// ListWorkerConfigs returns every configuration, by region then account.
	ListWorkerConfigs(ctx context.Context) ([]*WorkerConfig, error)
	PutWorkerConfig(ctx context.Context, c *WorkerConfig) error
	DeleteWorkerConfig(ctx context.Context, account, region string, version int64) error
}

// Network describes what the launch preflight checks, in one account and
// Region.
type Network interface {
	// MountTargets lists a file system's usable mount targets with their
	// security groups; ENOTFOUND if the file system does not exist.
	MountTargets(ctx context.Context, l Loc, fileSystem string) ([]MountTarget, error)
	// DescribeNetwork describes the VPCs named in q and those of the
	// subnets named in q: each VPC's DNS attributes, subnets, route
	// tables, VPC endpoints and the internet gateways its route tables
	// point at; and the security groups named in q. Things that do not
	// exist are left out, not errors: the preflight names them.
	DescribeNetwork(ctx context.Context, l Loc, q NetworkQuery) (NetworkView, error)
}

// Instances launches index workers (EC2 RunInstances in production).
type Instances interface {
	// RunWorker launches one worker instance and returns its id. The
	// launch is idempotent per WorkerLaunch.RunID (the EC2 ClientToken): a
	// repeat returns the same instance, or ECONFLICT when EC2 refuses the
	// repeat because a parameter changed (the instance exists anyway).
	RunWorker(ctx context.Context, w WorkerLaunch) (string, error)
}

// IndexObjects reads index objects back, so that indexdone believes the
// index it finds rather than the worker's word, and deletes the indexes
// whose restore points are gone (Prune).
type IndexObjects interface {
	// IndexInfo opens the index at key in the index bucket (and its base,
	// for a delta) and returns what its footer says. ENOTFOUND if absent.
	IndexInfo(ctx context.Context, key string) (IndexSummary, error)
	// DeleteIndex deletes the object at key; an absent object is no error
	// (S3's DeleteObject answers 204 for both).
	DeleteIndex(ctx context.Context, key string) error
}

// IndexSummary is what an index object says about itself.
type IndexSummary struct {
	FileSystemID     string
	RecoveryPointArn string
	Entries          int64
	Records          int64
	Bytes            int64
	WalkErrors       int64
	// BaseKey is the key of the full index a delta refers to, "" for a full index.
	BaseKey string
}

// WorkerLaunch is one worker instance to start.
type WorkerLaunch struct {
	Loc              Loc
	RunID            string
	FileSystem       string
	SubnetID         string
	SecurityGroupIDs []string
	// InstanceType overrides the launch template's when not empty.
	InstanceType string
	Job          WorkerJob
}

// IndexerConfig tunes the index use-cases. Zero fields take defaults.
type IndexerConfig struct {
	// Bucket is the index bucket, in BucketRegion (the home Region).
	Bucket       string
	BucketRegion string
	// MaxLifetime bounds a worker: it reports a failure and shuts down
	// when the walk and upload take longer (a hung NFS mount, a huge file
	// system). Default 8 hours.
	MaxLifetime time.Duration
	// ReportGrace is added to MaxLifetime for a run's deadline, after
	// which a run without a result is given up. Default 20 minutes.
	ReportGrace time.Duration
	// InterfaceEndpoints are the services (as in com.amazonaws.<region>.<service>)
	// for which a worker on a private network needs an interface endpoint.
	// The worker itself talks to S3 only (a gateway endpoint) and gets its
	// credentials from the instance metadata service, so the default is
	// none; a deployment that adds, say, log shipping lists "logs" here.
	InterfaceEndpoints []string
	// DeltaMaxFraction: the next index is written full when the newest
	// delta stored more than this fraction of its base's entries. Default 0.25.
	DeltaMaxFraction float64
	// MaxDeltaChain: the next index is written full when this many deltas
	// already share one base, so that a base is not kept forever. Default 30.
	MaxDeltaChain int
}

func (c IndexerConfig) withDefaults() IndexerConfig {
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = 8 * time.Hour
	}
	if c.ReportGrace <= 0 {
		c.ReportGrace = 20 * time.Minute
	}
	if c.DeltaMaxFraction <= 0 {
		c.DeltaMaxFraction = 0.25
	}
	if c.MaxDeltaChain <= 0 {
		c.MaxDeltaChain = 30
	}
	return c
}

// Indexer runs the index use-cases: Launch (indexlaunch), Done (indexdone)
// and Expire (runs whose worker never reported). Build it with NewIndexer.
type Indexer struct {
	// Store holds the tasks and sessions that index failures are reported on.
	Store     Store
	Runs      IndexStore
	Configs   WorkerConfigStore
	Network   Network
	Instances Instances
	// Objects, when set, lets Done check the index object itself.
	Objects IndexObjects
	// Notifier, when set, mails a finished session again when an index
	// failure turns it from Success to Warning.
	Notifier Notifier
	Clock    Clock
	Log      *slog.Logger
	Config   IndexerConfig

	// eng gives access to the session helpers the engine already has
	// (task listing, notification, log attributes).
	eng *Engine
}

// NewIndexer returns an Indexer with defaults filled in.
func NewIndexer(ix Indexer) *Indexer {
	if ix.Log == nil {
		ix.Log = slog.New(slog.DiscardHandler)
	}
	ix.Config = ix.Config.withDefaults()
	ix.eng = New(Engine{Store: ix.Store, Notifier: ix.Notifier, Clock: ix.Clock, Log: ix.Log})
	return &ix
}

func (ix *Indexer) now() time.Time { return ix.Clock.Now().UTC() }

func (ix *Indexer) logFor(r *IndexRun) *slog.Logger {
	return ix.eng.logFor(r.PolicyID, r.SessionID, r.Loc, r.FileSystem).With("indexRun", r.ID)
}
