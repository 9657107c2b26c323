package engine

import (
	"context"
	"time"
)

// A restore session brings back files (or whole file systems) from one or
// more restore points. Each restore point is restored by one or more AWS
// Backup restore jobs: item-level restores are split so that a job names at
// most RestoreConfig.MaxItemsPerJob paths and its restore metadata stays
// under AWS's 200 KB cap. AWS puts restored items in a new directory
// aws-backup-restore_<datetime> off the target file system's root, even on
// a new file system, and never overwrites anything.

// RestoreStatus is the outcome of a restore session.
type RestoreStatus string

// Restore statuses.
const (
	RestoreRunning   RestoreStatus = "Running"
	RestoreCompleted RestoreStatus = "Completed" // every job completed
	RestoreFailed    RestoreStatus = "Failed"    // no job completed
	RestorePartial   RestoreStatus = "Partial"   // some jobs completed, some did not
)

// Terminal reports whether the status is final.
func (s RestoreStatus) Terminal() bool { return s != RestoreRunning && s != "" }

// RestoreTargetKind says where restored data goes.
type RestoreTargetKind string

// Restore targets.
const (
	// TargetOriginal restores into the file system the restore point was
	// taken of (newFileSystem "false"); it must be in the point's account
	// and Region, so a copy in another Region cannot be restored this way.
	TargetOriginal RestoreTargetKind = "original"
	// TargetNewFileSystem makes AWS Backup create a file system in the
	// restore point's account and Region (newFileSystem "true"). Every job
	// creates its own file system.
	TargetNewFileSystem RestoreTargetKind = "newFileSystem"
)

// EFS performance modes a new file system may get.
const (
	PerformanceGeneralPurpose = "generalPurpose"
	PerformanceMaxIO          = "maxIO"
)

// RestoreTarget is where a restore session puts its data.
type RestoreTarget struct {
	Kind RestoreTargetKind `json:"kind"`
	// The rest applies to TargetNewFileSystem only.
	// PerformanceMode is generalPurpose (the default) or maxIO.
	PerformanceMode string `json:"performanceMode,omitempty"`
	// Encrypted defaults to true; KmsKeyID (key id, key ARN, alias name or
	// alias ARN) needs it true and defaults to the AWS managed EFS key.
	Encrypted *bool  `json:"encrypted,omitempty"`
	KmsKeyID  string `json:"kmsKeyId,omitempty"`
	// AvailabilityZone makes a One Zone file system in that Availability
	// Zone (a name such as us-west-2a, in the restore point's Region).
	AvailabilityZone string `json:"availabilityZone,omitempty"`
}

// RestoreItem names what to restore from one restore point.
type RestoreItem struct {
	// RecoveryPointArn is the restore point, in the source Region or in the
	// Region of a copy. Account and Region may be left out: they are read
	// from the ARN; when given they must match it.
	RecoveryPointArn string `json:"recoveryPointArn"`
	Account          string `json:"account,omitempty"`
	Region           string `json:"region,omitempty"`
	// Vault is the backup vault that holds the point (AWS Backup's
	// DescribeRecoveryPoint and GetRecoveryPointRestoreMetadata need it).
	Vault string `json:"vault"`
	// Paths are files or directories, absolute from the file system's root
	// (not from a mount point or access point), exact and case-sensitive,
	// without wildcards. A full restore has none.
	Paths []string `json:"paths,omitempty"`

	// Filled in by Start from the restore point.
	// FileSystem is the id of the file system the point was taken of;
	// FileSystemLoc where that file system is (a copy's point lives
	// elsewhere).
	FileSystem    string    `json:"fileSystem,omitempty"`
	FileSystemLoc Loc       `json:"fileSystemLoc,omitzero"`
	PointTime     time.Time `json:"pointTime,omitzero"`
	// PolicyID is the efskeeper policy that made the point ("" for points
	// efskeeper did not make).
	PolicyID string `json:"policyId,omitempty"`
}

// Loc returns where the item's restore point is, and where its jobs run.
func (it RestoreItem) Loc() Loc { return Loc{Account: it.Account, Region: it.Region} }

// RestoreRequest asks for a restore session. ParseRestoreRequest reads one
// from JSON.
type RestoreRequest struct {
	// ClientToken makes Start idempotent: the same token returns the same
	// restore session (and a token reused for another request is an
	// error). Without one, an identical request returns the running
	// session it matches, or starts a new one when that has ended.
	ClientToken string `json:"clientToken,omitempty"`
	// Full restores whole file systems: the items name no paths.
	Full   bool          `json:"full,omitempty"`
	Items  []RestoreItem `json:"items"`
	Target RestoreTarget `json:"target"`
	// RequestedBy is who asked (the API's caller identity), for the record
	// and the mail.
	RequestedBy string `json:"requestedBy,omitempty"`
}

// RestoreJob is one AWS Backup restore job of a restore session.
type RestoreJob struct {
	// Item is the index in Restore.Items of the item the job restores.
	Item             int    `json:"item"`
	Loc              Loc    `json:"loc"`
	RecoveryPointArn string `json:"recoveryPointArn"`
	// Paths the job restores; empty for a full restore.
	Paths []string `json:"paths,omitempty"`
	// Token is the job's IdempotencyToken (and, for a new file system, its
	// CreationToken): derived from the session id and the job's position,
	// so a repeated start returns the same AWS job.
	Token string `json:"token"`
	// JobID is AWS Backup's restore job id ("" until started).
	JobID string `json:"jobId,omitempty"`
	// State is the AWS job state; JobNotStarted until the start succeeded,
	// JobGaveUp when AWS refused to start it or it timed out.
	State   JobState `json:"state"`
	Message string   `json:"message,omitempty"`
	// CreatedResourceArn is what the job restored into: the new file
	// system, or the target file system.
	CreatedResourceArn string    `json:"createdResourceArn,omitempty"`
	StartedAt          time.Time `json:"startedAt,omitzero"`
	UpdatedAt          time.Time `json:"updatedAt,omitzero"`
	CompletedAt        time.Time `json:"completedAt,omitzero"`
}

// Restore is a restore session as stored.
type Restore struct {
	ID          string        `json:"id"`
	ClientToken string        `json:"clientToken,omitempty"`
	RequestHash string        `json:"requestHash"`
	Full        bool          `json:"full,omitempty"`
	Items       []RestoreItem `json:"items"`
	Target      RestoreTarget `json:"target"`
	RequestedBy string        `json:"requestedBy,omitempty"`
	Status      RestoreStatus `json:"status"`
	Jobs        []RestoreJob  `json:"jobs"`
	CreatedAt   time.Time     `json:"createdAt"`
	UpdatedAt   time.Time     `json:"updatedAt"`
	EndedAt     time.Time     `json:"endedAt,omitzero"`
	// Notified is set once the result mail was published.
	Notified bool  `json:"notified"`
	Version  int64 `json:"version"`
}

// JobIDs returns the AWS job ids of the session's started jobs.
func (r *Restore) JobIDs() []string {
	var ids []string
	for _, j := range r.Jobs {
		if j.JobID != "" {
			ids = append(ids, j.JobID)
		}
	}
	return ids
}

// PathCount is the number of paths the session restores.
func (r *Restore) PathCount() int {
	n := 0
	for _, it := range r.Items {
		n += len(it.Paths)
	}
	return n
}

// StartRestoreRequest is what StartRestoreJob needs. Metadata holds AWS's
// EFS keys, every value a string (RestoreMetadata builds it).
type StartRestoreRequest struct {
	Loc              Loc
	RecoveryPointArn string
	IamRoleArn       string
	Token            string
	Metadata         map[string]string
}

// RestoreService is AWS Backup's restore side, per (account, Region). Errors
// carry engine codes as in Backup.
type RestoreService interface {
	// DescribeRecoveryPoint and VaultAccessPolicy are Backup's.
	DescribeRecoveryPoint(ctx context.Context, l Loc, vault, arn string) (RecoveryPoint, error)
	VaultAccessPolicy(ctx context.Context, l Loc, vault string) (string, error)
	// RestoreMetadata calls GetRecoveryPointRestoreMetadata. For EFS AWS
	// returns only file-system-id and aws:backup:request-id.
	RestoreMetadata(ctx context.Context, l Loc, vault, arn string) (map[string]string, error)
	// StartRestore calls StartRestoreJob for an EFS restore point.
	StartRestore(ctx context.Context, r StartRestoreRequest) (StartedJob, error)
	// DescribeRestoreJob reads a restore job back (reconcile).
	DescribeRestoreJob(ctx context.Context, l Loc, jobID string) (JobUpdate, error)
}

// RestoreQuery filters ListRestores. Zero fields do not filter.
type RestoreQuery struct {
	// RunningOnly keeps sessions whose status is Running.
	RunningOnly bool
	// Since keeps sessions created at or after it.
	Since  time.Time
	Cursor string // opaque, from a previous page
	Limit  int    // 0 means the store's default
}

// RestoreStore keeps restore sessions. Versions work as in Store: a write
// must carry the stored version (0 to create), fails with ECONFLICT
// otherwise, and sets the new version in the caller's struct. Reads
// return copies. pkg/store/storetest.RunRestore is the contract.
type RestoreStore interface {
	// CreateRestore fails with ECONFLICT if the id exists.
	CreateRestore(ctx context.Context, r *Restore) error
	GetRestore(ctx context.Context, id string) (*Restore, error)
	PutRestore(ctx context.Context, r *Restore) error
	// ListRestores returns sessions newest first (CreatedAt, then id
	// descending) and a cursor for the next page ("" at the end).
	ListRestores(ctx context.Context, q RestoreQuery) ([]*Restore, string, error)
	// RestoreByJob finds the session one of whose jobs has this AWS
	// restore job id; ENOTFOUND if none.
	RestoreByJob(ctx context.Context, jobID string) (*Restore, error)
}

// RestoreNotice is everything a restore result mail needs.
type RestoreNotice struct {
	Restore *Restore
}

// RestoreNotifier tells people that a restore session ended (SNS in
// production).
type RestoreNotifier interface {
	RestoreFinished(ctx context.Context, n RestoreNotice) error
}
