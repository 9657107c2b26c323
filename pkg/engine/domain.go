package engine

import (
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Tag keys efskeeper puts on every restore point it creates. Retention only
// ever deletes points that carry TagPolicy with the deleting policy's id.
const (
	TagPolicy    = "efskeeper:policy"
	TagSession   = "efskeeper:session"
	TagSchedules = "efskeeper:schedules" // schedule names joined by "+"
)

// Loc is an (account, Region) pair: where an AWS call goes.
type Loc struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

func (l Loc) String() string { return l.Account + "/" + l.Region }

// PolicyRecord is a policy as stored, with the bookkeeping the tick needs.
type PolicyRecord struct {
	Policy *policy.Policy `json:"policy"`
	// Version is the optimistic-concurrency version: 0 for a record that
	// has never been written; the store increments it on every write and a
	// write whose Version is not the stored one fails with ECONFLICT.
	Version int64 `json:"version"`
	// Watermark is the last scheduled instant the tick has processed; the
	// next tick catches up every run after it.
	Watermark time.Time `json:"watermark"`
	// NextRunAt is the first run after Watermark (zero when the policy is
	// disabled or has no future run). Due queries select on it.
	NextRunAt time.Time `json:"nextRunAt"`
	// RetentionRules is the policy's RulesDigest when retention last set
	// the RetainAt of every task of the policy ("" never). While it differs
	// from the policy's digest (a new policy, or an admin changed the
	// schedules or their retention), the next retention pass sweeps all
	// of the policy's live tasks instead of its work list.
	RetentionRules string `json:"retentionRules,omitempty"`
	// RulesChangedAt is when an admin last saved the policy with other
	// retention rules (its creation counts). Tasks made before it may
	// carry estimates of the old rules: a sweep records its digest only
	// once no session of the policy made before then is still running.
	RulesChangedAt time.Time `json:"rulesChangedAt,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// SessionStatus is the outcome of one scheduled run of a policy.
type SessionStatus string

// Session statuses, as DESIGN.md defines them.
const (
	StatusRunning SessionStatus = "Running"
	StatusSuccess SessionStatus = "Success" // every task done
	StatusWarning SessionStatus = "Warning" // done with retries, a skipped Region, or a failed index
	StatusFailed  SessionStatus = "Failed"  // a backup or copy failed for good
)

// Terminal reports whether the status is final.
func (s SessionStatus) Terminal() bool { return s != StatusRunning && s != "" }

// Severity says how a Reason weighs on the session status.
type Severity string

// Severities, lowest first.
const (
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityFailure Severity = "failure"
)

// Reason codes: stable identifiers of what happened, for filtering and tests.
const (
	ReasonOptInEnabled      = "efs-opt-in-enabled"
	ReasonOptInFailed       = "efs-opt-in-failed"
	ReasonVaultMissing      = "vault-missing"
	ReasonVaultAirGapped    = "vault-air-gapped"
	ReasonVaultLocked       = "vault-locked"
	ReasonVaultPolicyDenies = "vault-policy-denies"
	ReasonVaultPolicyMay    = "vault-policy-may-deny"
	ReasonVaultTagNone      = "vault-tag-no-match"
	ReasonVaultTagMany      = "vault-tag-ambiguous"
	ReasonVaultReserved     = "vault-reserved"
	ReasonNoFileSystems     = "no-file-systems"
	ReasonRegionError       = "region-error"
	ReasonRegionTimeout     = "region-run-timeout"
	ReasonBackupFailed      = "backup-failed"
	ReasonBackupRetried     = "backup-retried"
	ReasonCopyFailed        = "copy-failed"
	ReasonCopyRetried       = "copy-retried"
	ReasonCopySkipped       = "copy-skipped"
	ReasonTimeout           = "timeout"
	ReasonIndexFailed       = "index-failed"
	ReasonAccountsFailed    = "accounts-failed"
	ReasonMissedRun         = "missed-run"
)

// Reason is something a session's reader must know: why a Region was
// skipped, why a job failed, what efskeeper changed on the admin's behalf.
type Reason struct {
	Severity   Severity `json:"severity"`
	Code       string   `json:"code"`
	Account    string   `json:"account,omitempty"`
	Region     string   `json:"region,omitempty"`
	FileSystem string   `json:"fileSystem,omitempty"`
	Message    string   `json:"message"`
}

// Session is one scheduled run of one policy. Its id is derived from the
// policy and the scheduled instant, so a repeated tick cannot create two.
type Session struct {
	ID          string        `json:"id"`
	PolicyID    string        `json:"policyId"`
	ScheduledAt time.Time     `json:"scheduledAt"`
	Schedules   []string      `json:"schedules"`
	Status      SessionStatus `json:"status"`
	Reasons     []Reason      `json:"reasons,omitempty"`
	// Units are the (account, Region) pairs the session covers, fixed at
	// creation. Each has a Unit record that its region run updates.
	Units []Loc `json:"units"`
	// Counters, adjusted atomically (Store.AdjustSession) after a unit or
	// task record turns terminal. They are a cheap hint that the session may
	// be finished; finishing checks the records themselves, and the
	// reconciler recounts a session whose counters drifted (a crash between
	// a record write and its adjustment).
	Counters SessionCounters `json:"counters"`
	// RecountedAt is when the reconciler last checked the counters
	// against the records.
	RecountedAt time.Time `json:"recountedAt,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	EndedAt     time.Time `json:"endedAt,omitempty"`
	// Notified is set once the session's notification was published.
	Notified bool  `json:"notified"`
	Version  int64 `json:"version"`
}

// SessionCounters are the session's running totals.
type SessionCounters struct {
	OpenUnits int `json:"openUnits"`
	OpenTasks int `json:"openTasks"`
}

// SessionID derives the session id from the policy id and the scheduled instant.
func SessionID(policyID string, at time.Time) string {
	return policyID + "#" + at.UTC().Format(time.RFC3339)
}

// UnitState is the progress of one region run.
type UnitState string

// Unit states.
const (
	UnitPending UnitState = "pending" // message sent, run not finished
	UnitDone    UnitState = "done"    // jobs started (or nothing to do)
	UnitSkipped UnitState = "skipped" // Region refused (vault rules etc.): see Reasons
	UnitFailed  UnitState = "failed"  // gave up after errors or timeout
)

// Terminal reports whether the state is final.
func (s UnitState) Terminal() bool { return s == UnitDone || s == UnitSkipped || s == UnitFailed }

// Unit is the record of one region run: one (session, account, Region).
type Unit struct {
	SessionID string    `json:"sessionId"`
	PolicyID  string    `json:"policyId"`
	Loc       Loc       `json:"loc"`
	State     UnitState `json:"state"`
	Tasks     int       `json:"tasks"`    // backup tasks created
	Attempts  int       `json:"attempts"` // region-run deliveries seen
	Reasons   []Reason  `json:"reasons,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

// UnitID derives a unit id.
func UnitID(sessionID string, l Loc) string { return sessionID + "#" + l.Account + "#" + l.Region }

// ID returns the unit's id.
func (u *Unit) ID() string { return UnitID(u.SessionID, u.Loc) }

// JobState is an AWS Backup job state (BackupJobState, CopyJobState), plus
// states of efskeeper's own.
type JobState string

// AWS Backup job states (backup and copy jobs), from the API model.
const (
	JobCreated   JobState = "CREATED"
	JobPending   JobState = "PENDING"
	JobRunning   JobState = "RUNNING"
	JobAborting  JobState = "ABORTING"
	JobAborted   JobState = "ABORTED"
	JobCompleted JobState = "COMPLETED"
	JobFailed    JobState = "FAILED"
	JobExpired   JobState = "EXPIRED"
	JobPartial   JobState = "PARTIAL"
	// JobNotStarted: efskeeper has not (yet) started the job.
	JobNotStarted JobState = ""
	// JobRetryWait: the last attempt failed; another starts at RetryAt.
	JobRetryWait JobState = "RETRY_WAIT"
	// JobGaveUp: failed for good (retries exhausted or not retriable).
	JobGaveUp JobState = "GAVE_UP"
	// JobSkipped: not started on purpose (for example no valid copy vault).
	JobSkipped JobState = "SKIPPED"
)

// Terminal reports whether an AWS job in this state will not change again.
func (s JobState) Terminal() bool {
	switch s {
	case JobAborted, JobCompleted, JobFailed, JobExpired, JobPartial, JobGaveUp, JobSkipped:
		return true
	}
	return false
}

// Succeeded reports whether the job produced a usable recovery point.
// PARTIAL is not success for EFS: the point may miss files.
func (s JobState) Succeeded() bool { return s == JobCompleted }

// Job is efskeeper's record of one AWS Backup job (a backup or a copy),
// including its retries.
type Job struct {
	ID      string    `json:"id,omitempty"`
	State   JobState  `json:"state"`
	Attempt int       `json:"attempt"` // 1 for the first start
	Message string    `json:"message,omitempty"`
	RetryAt time.Time `json:"retryAt,omitempty"`
	// Token is the IdempotencyToken of the current attempt.
	Token       string    `json:"token,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitempty"`
	UpdatedAt   time.Time `json:"updatedAt,omitempty"`
	CompletedAt time.Time `json:"completedAt,omitempty"`
}

// Copy is one cross-Region copy of a task's restore point.
type Copy struct {
	TargetRegion string `json:"targetRegion"`
	VaultName    string `json:"vault"`
	VaultArn     string `json:"vaultArn,omitempty"`
	Job          Job    `json:"job"`
	// RecoveryPointArn is the copy's recovery point in the target Region.
	RecoveryPointArn string   `json:"recoveryPointArn,omitempty"`
	Deletion         Deletion `json:"deletion,omitempty"`
}

// Deletion records retention's work on one recovery point.
type Deletion struct {
	State    DeletionState `json:"state,omitempty"`
	At       time.Time     `json:"at,omitempty"`
	Attempts int           `json:"attempts,omitempty"`
	Message  string        `json:"message,omitempty"`
}

// DeletionState is what retention knows of a recovery point's deletion.
type DeletionState string

// Deletion states. Deleted means AWS Backup no longer lists the point or
// reports it DELETING; Expired means DeleteRecoveryPoint answered success
// but the point only moved to EXPIRED (AWS does that without permission).
const (
	DeletionNone    DeletionState = ""
	DeletionDeleted DeletionState = "deleted"
	DeletionExpired DeletionState = "expired"
	DeletionFailed  DeletionState = "failed"
)

// Done reports whether the point is gone.
func (d Deletion) Done() bool { return d.State == DeletionDeleted }

// TaskPhase is where a task stands.
type TaskPhase string

// Task phases.
const (
	PhaseBackup TaskPhase = "backup" // backup job not yet terminal
	PhaseCopy   TaskPhase = "copy"   // backup done, copies in flight
	PhaseDone   TaskPhase = "done"   // backup (and copies) finished, at least the backup succeeded
	PhaseFailed TaskPhase = "failed" // the backup failed for good
)

// Terminal reports whether the phase is final.
func (p TaskPhase) Terminal() bool { return p == PhaseDone || p == PhaseFailed }

// Task is the backup of one file system in one session, with its copies. A
// completed task is also the record of the restore points it made: retention
// and the API read them from here.
type Task struct {
	SessionID   string    `json:"sessionId"`
	PolicyID    string    `json:"policyId"`
	Loc         Loc       `json:"loc"`
	FileSystem  string    `json:"fileSystem"` // fs-...
	ResourceArn string    `json:"resourceArn"`
	Schedules   []string  `json:"schedules"`
	ScheduledAt time.Time `json:"scheduledAt"`
	VaultName   string    `json:"vault"`
	VaultArn    string    `json:"vaultArn"`
	Phase       TaskPhase `json:"phase"`
	Backup      Job       `json:"backup"`
	// RecoveryPointArn is the source recovery point (known at start for EFS).
	RecoveryPointArn string `json:"recoveryPointArn,omitempty"`
	// PointCreatedAt is the creation time of the recovery point (the backup
	// job's creation date); retention counts from it, for copies too.
	PointCreatedAt time.Time `json:"pointCreatedAt,omitempty"`
	// SizeBytes is what the backup job reported (for EFS, the bytes it
	// transferred: a full size for the first backup, a delta after).
	SizeBytes int64    `json:"sizeBytes,omitempty"`
	Copies    []Copy   `json:"copies,omitempty"`
	Deletion  Deletion `json:"deletion,omitempty"`
	// Settings copied from the policy when the task was made, so that
	// events need not read the policy: the policy's retries (MaxAttempts =
	// retries + 1), whether to index, and the lifecycle for copies.
	MaxAttempts   int        `json:"maxAttempts"`
	RetryInterval int        `json:"retryIntervalMinutes"`
	Index         bool       `json:"index,omitempty"`
	Lifecycle     *Lifecycle `json:"lifecycle,omitempty"`
	Reasons       []Reason   `json:"reasons,omitempty"`
	// NextCheckAt is when the reconciler should next look at a non-terminal
	// task: a retry that is due, or a job whose events may have been lost.
	NextCheckAt time.Time `json:"nextCheckAt,omitempty"`
	// RetainAt is when retention should next look at the task's points
	// (zero: never, as no rule can release them or no deletion is left to
	// try). The region run sets it from the policy's EarliestExpiry of the
	// scheduled instant, the completed backup moves it by the backup's
	// delay, and every retention pass that looks at the task sets it
	// again. Stores list a task for retention (TaskQuery.RetainBy) only
	// while InRetention.
	RetainAt  time.Time `json:"retainAt,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

// TaskID derives a task id.
func TaskID(sessionID string, l Loc, fileSystem string) string {
	return sessionID + "#" + l.Account + "#" + l.Region + "#" + fileSystem
}

// AppendTaskID appends TaskID(sessionID, l, fileSystem) to b, so that a
// lookup by id (m[string(b)]) need not allocate the id.
func AppendTaskID(b []byte, sessionID string, l Loc, fileSystem string) []byte {
	b = append(b, sessionID...)
	b = append(append(b, '#'), l.Account...)
	b = append(append(b, '#'), l.Region...)
	return append(append(b, '#'), fileSystem...)
}

// ID returns the task's id.
func (t *Task) ID() string { return TaskID(t.SessionID, t.Loc, t.FileSystem) }

// sameID reports whether u has t's id, without building either.
func (t *Task) sameID(u *Task) bool {
	return t.SessionID == u.SessionID && t.Loc == u.Loc && t.FileSystem == u.FileSystem
}

// InRetention reports whether the task is on retention's work list: it is
// terminal, holds a live point and has a RetainAt.
func (t *Task) InRetention() bool {
	return t.Phase.Terminal() && !t.RetainAt.IsZero() && t.Live()
}

// Live reports whether the task holds a recovery point that retention has
// not deleted yet (the source or any copy).
func (t *Task) Live() bool {
	if t.RecoveryPointArn != "" && t.Backup.State == JobCompleted && !t.Deletion.Done() {
		return true
	}
	for _, c := range t.Copies {
		if c.RecoveryPointArn != "" && c.Job.State == JobCompleted && !c.Deletion.Done() {
			return true
		}
	}
	return false
}

// FileSystem is an EFS file system as the FileSystems port lists it.
type FileSystem struct {
	ID           string            `json:"id"`
	Arn          string            `json:"arn"`
	Name         string            `json:"name,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	LifeCycle    string            `json:"lifeCycleState"` // available, creating, deleting...
	MountTargets []MountTarget     `json:"mountTargets,omitempty"`
	SizeBytes    int64             `json:"sizeBytes"`
}

// MountTarget is one EFS mount target.
type MountTarget struct {
	ID               string   `json:"id"`
	SubnetID         string   `json:"subnetId"`
	VpcID            string   `json:"vpcId"`
	AvailabilityZone string   `json:"availabilityZone"`
	IPAddress        string   `json:"ipAddress"`
	SecurityGroups   []string `json:"securityGroups,omitempty"`
}

// Vault types, as DescribeBackupVault reports VaultType.
const (
	VaultTypeStandard      = "BACKUP_VAULT"
	VaultTypeAirGapped     = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"
	VaultTypeRestoreAccess = "RESTORE_ACCESS_BACKUP_VAULT"
)

// Vault is a backup vault with what the vault rules need to know.
type Vault struct {
	Name             string            `json:"name"`
	Arn              string            `json:"arn"`
	Type             string            `json:"type"` // VaultType*; "" is treated as BACKUP_VAULT
	Locked           bool              `json:"locked"`
	MinRetentionDays *int64            `json:"minRetentionDays,omitempty"`
	MaxRetentionDays *int64            `json:"maxRetentionDays,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// Lifecycle is the AWS Backup lifecycle put on a job.
type Lifecycle struct {
	MoveToColdStorageAfterDays int64
	DeleteAfterDays            int64
}

// StartBackupRequest is what StartBackupJob needs.
type StartBackupRequest struct {
	Loc         Loc
	VaultName   string
	ResourceArn string
	IamRoleArn  string
	// Token is the IdempotencyToken: derived, never random.
	Token                 string
	StartWindowMinutes    int64
	CompleteWindowMinutes int64
	Lifecycle             *Lifecycle
	// RecoveryPointTags may be shared by the requests of a region run:
	// implementations read it and must not change it.
	RecoveryPointTags map[string]string
}

// StartCopyRequest is what StartCopyJob needs. The call goes to the source
// Region (Loc); the destination is a vault ARN in another Region.
type StartCopyRequest struct {
	Loc                       Loc
	SourceVaultName           string
	RecoveryPointArn          string
	DestinationBackupVaultArn string
	IamRoleArn                string
	Token                     string
	Lifecycle                 *Lifecycle
}

// StartedJob is a Start*Job answer.
type StartedJob struct {
	JobID            string
	RecoveryPointArn string // EFS backups return it at once
	CreatedAt        time.Time
}

// JobKind distinguishes the job families whose events efskeeper handles.
type JobKind string

// Job kinds.
const (
	KindBackup  JobKind = "backup"
	KindCopy    JobKind = "copy"
	KindRestore JobKind = "restore"
)

// JobUpdate is the state of one AWS Backup job as an EventBridge event or a
// Describe*Job call reports it. Both go through the same transition code.
type JobUpdate struct {
	Kind    JobKind
	Loc     Loc
	JobID   string
	State   JobState
	Message string
	// ResourceArn is the protected resource (the file system).
	ResourceArn string
	// RecoveryPointArn is, for a backup job, the recovery point it makes;
	// for a copy job, the SOURCE recovery point (events carry it only as
	// resources[0]).
	RecoveryPointArn string
	// DestinationRecoveryPointArn is the copy's new point (copy jobs).
	DestinationRecoveryPointArn string
	DestinationVaultArn         string
	SourceVaultArn              string
	// VaultName is the backup job's vault (backup jobs).
	VaultName string
	// CreatedResourceArn is what a restore job created (restore jobs).
	CreatedResourceArn string
	SizeBytes          int64
	CreatedAt          time.Time
	CompletedAt        time.Time
	// EventTime is the event's time (zero for Describe results).
	EventTime time.Time
}

// RecoveryPointStatus is an AWS Backup recovery point status.
type RecoveryPointStatus string

// Recovery point statuses, from the API model.
const (
	RPCompleted RecoveryPointStatus = "COMPLETED"
	RPPartial   RecoveryPointStatus = "PARTIAL"
	RPDeleting  RecoveryPointStatus = "DELETING"
	RPExpired   RecoveryPointStatus = "EXPIRED"
	RPAvailable RecoveryPointStatus = "AVAILABLE"
	RPStopped   RecoveryPointStatus = "STOPPED"
	RPCreating  RecoveryPointStatus = "CREATING"
)

// RecoveryPoint is what DescribeRecoveryPoint reports.
type RecoveryPoint struct {
	Arn          string
	VaultName    string
	ResourceArn  string
	Status       RecoveryPointStatus
	StorageClass string // WARM, COLD, DELETED
	CreatedAt    time.Time
	Tags         map[string]string
}

// RegionRunMsg asks regionrun to run one unit of a session.
type RegionRunMsg struct {
	SessionID string `json:"sessionId"`
	PolicyID  string `json:"policyId"`
	Account   string `json:"account"`
	Region    string `json:"region"`
}

// Loc returns the message's location.
func (m RegionRunMsg) Loc() Loc { return Loc{Account: m.Account, Region: m.Region} }

// IndexRunMsg asks indexlaunch to index a file system right after a backup.
type IndexRunMsg struct {
	TaskID           string    `json:"taskId"`
	PolicyID         string    `json:"policyId"`
	SessionID        string    `json:"sessionId"`
	Account          string    `json:"account"`
	Region           string    `json:"region"`
	FileSystem       string    `json:"fileSystem"`
	RecoveryPointArn string    `json:"recoveryPointArn"`
	BackupCreatedAt  time.Time `json:"backupCreatedAt"`
}
