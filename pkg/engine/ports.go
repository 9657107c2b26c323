package engine

import (
	"context"
	"sync"
	"time"
)

// Clock gives the current time. Every use-case takes time from it, never
// from time.Now, so that the simulator can run months in seconds.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// ManualClock reads the time it was given and moves only when told: for
// tests and tools that drive use-cases step by step.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock that reads t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Backup is the AWS Backup API as efskeeper uses it, per (account, Region).
// Implementations assume the member role for accounts other than the home
// account. Errors carry engine codes: ENOTFOUND for missing resources,
// ETHROTTLED for throttling that survived the SDK's retries, EDENIED for
// access denied.
type Backup interface {
	// EFSOptIn reports whether the EFS resource type is opted in to AWS
	// Backup in the Region (DescribeRegionSettings).
	EFSOptIn(ctx context.Context, l Loc) (bool, error)
	// EnableEFSOptIn opts EFS in (UpdateRegionSettings), leaving every other
	// resource type as it was.
	EnableEFSOptIn(ctx context.Context, l Loc) error
	// ListVaults lists every backup vault with its type, lock settings and
	// tags (ListBackupVaults + ListTags).
	ListVaults(ctx context.Context, l Loc) ([]Vault, error)
	// DescribeVault describes one vault with its tags; ENOTFOUND if absent.
	DescribeVault(ctx context.Context, l Loc, name string) (Vault, error)
	// VaultAccessPolicy returns the vault's access policy JSON, "" if none.
	VaultAccessPolicy(ctx context.Context, l Loc, name string) (string, error)
	// StartBackup calls StartBackupJob.
	StartBackup(ctx context.Context, r StartBackupRequest) (StartedJob, error)
	// StartCopy calls StartCopyJob in the source Region.
	StartCopy(ctx context.Context, r StartCopyRequest) (StartedJob, error)
	// DescribeBackupJob and DescribeCopyJob read a job back (reconcile).
	DescribeBackupJob(ctx context.Context, l Loc, jobID string) (JobUpdate, error)
	DescribeCopyJob(ctx context.Context, l Loc, jobID string) (JobUpdate, error)
	// DescribeRecoveryPoint reads a point back; ENOTFOUND once it is gone.
	DescribeRecoveryPoint(ctx context.Context, l Loc, vault, arn string) (RecoveryPoint, error)
	// RecoveryPointTags lists the tags of a recovery point (ListTags).
	RecoveryPointTags(ctx context.Context, l Loc, arn string) (map[string]string, error)
	// DeleteRecoveryPoint calls DeleteRecoveryPoint. Success does not prove
	// deletion: read the point back.
	DeleteRecoveryPoint(ctx context.Context, l Loc, vault, arn string) error
}

// FileSystems lists EFS file systems with their tags and mount targets.
type FileSystems interface {
	ListFileSystems(ctx context.Context, l Loc) ([]FileSystem, error)
}

// Organization resolves the accounts of an AWS Organization.
type Organization interface {
	// AccountsIn returns the ACTIVE accounts under the given OUs or root
	// (ou-..., r-...), recursively, sorted.
	AccountsIn(ctx context.Context, parents []string) ([]string, error)
}

// Queue sends work to the asynchronous use-cases (SQS in production).
type Queue interface {
	SendRegionRun(ctx context.Context, m RegionRunMsg) error
	SendIndexRun(ctx context.Context, m IndexRunMsg) error
}

// Notifier tells people about finished sessions (SNS in production).
type Notifier interface {
	SessionFinished(ctx context.Context, n SessionNotice) error
}

// SessionNotice is everything a session mail needs.
type SessionNotice struct {
	Session *Session
	Policy  *PolicyRecord
	Tasks   []*Task
	Units   []*Unit
}

// SessionDelta is an atomic adjustment of a session's counters.
type SessionDelta struct {
	OpenUnits int
	OpenTasks int
}

// SessionQuery filters ListSessions. Zero fields do not filter.
type SessionQuery struct {
	PolicyID string
	From, To time.Time // ScheduledAt range, inclusive From, exclusive To
	Cursor   string    // opaque, from a previous page
	Limit    int       // 0 means the store's default
}

// TaskQuery filters ListTasks. Exactly one of SessionID or PolicyID is set.
// Tasks come in id order (a policy's by session, as session ids carry
// their instant), except with RetainBy.
type TaskQuery struct {
	SessionID string
	PolicyID  string
	// LiveOnly keeps tasks that still hold a recovery point (Task.Live).
	LiveOnly bool
	// FileSystem, with PolicyID, Loc and LiveOnly, keeps the tasks of one
	// file system: the points retention decides on together.
	Loc        Loc
	FileSystem string
	// RetainBy, with PolicyID alone, lists retention's work list instead:
	// the tasks that are InRetention with a RetainAt at or before it, by
	// RetainAt, then id.
	RetainBy time.Time
	Cursor   string
	Limit    int
}

// Store keeps efskeeper's state. All writes of versioned records are
// conditional: a record's Version must equal the stored version (0 to
// create one that must not exist) or the write fails with ECONFLICT; on
// success the store sets Version to the new value in the caller's struct.
// Reads return copies the caller may change freely. pkg/store/storetest is
// the contract every implementation passes.
type Store interface {
	GetPolicy(ctx context.Context, id string) (*PolicyRecord, error)
	ListPolicies(ctx context.Context) ([]*PolicyRecord, error)
	PutPolicy(ctx context.Context, p *PolicyRecord) error
	DeletePolicy(ctx context.Context, id string, version int64) error
	// DuePolicies returns enabled policies with a non-zero NextRunAt <= now.
	DuePolicies(ctx context.Context, now time.Time) ([]*PolicyRecord, error)

	// CreateSession fails with ECONFLICT if the id exists.
	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, id string) (*Session, error)
	PutSession(ctx context.Context, s *Session) error
	// AdjustSession adds d to the counters atomically, without a version
	// check (bumping Version), and returns the session's ID, PolicyID,
	// Status, Counters and Version as they now are; its other fields may be
	// empty (it runs for every finished task, and a session of a large
	// Organization lists hundreds of units).
	AdjustSession(ctx context.Context, id string, d SessionDelta) (*Session, error)
	// ListSessions returns sessions newest first and a cursor for the next
	// page ("" at the end).
	ListSessions(ctx context.Context, q SessionQuery) ([]*Session, string, error)
	// RunningSessions returns sessions whose status is Running.
	RunningSessions(ctx context.Context) ([]*Session, error)

	// CreateUnit fails with ECONFLICT if the id exists.
	CreateUnit(ctx context.Context, u *Unit) error
	GetUnit(ctx context.Context, id string) (*Unit, error)
	PutUnit(ctx context.Context, u *Unit) error
	SessionUnits(ctx context.Context, sessionID string) ([]*Unit, error)

	// CreateTask fails with ECONFLICT if the id exists.
	CreateTask(ctx context.Context, t *Task) error
	GetTask(ctx context.Context, id string) (*Task, error)
	PutTask(ctx context.Context, t *Task) error
	// TaskByBackupJob finds the task whose current backup job has this id.
	TaskByBackupJob(ctx context.Context, jobID string) (*Task, error)
	// TaskByRecoveryPoint finds the task whose source recovery point has
	// this ARN (copy events name only the source point).
	TaskByRecoveryPoint(ctx context.Context, arn string) (*Task, error)
	// DueTasks returns non-terminal tasks whose NextCheckAt is <= now:
	// the reconciler's work list (stale jobs, retries that are due).
	DueTasks(ctx context.Context, now time.Time) ([]*Task, error)
	// ListTasks pages through the tasks of a session or a policy.
	ListTasks(ctx context.Context, q TaskQuery) ([]*Task, string, error)
}

// SessionHeads is a Store that can read a session without its list of
// units (the in-memory one): a region run needs a session's status,
// schedules and time, and the session of a large Organization lists
// hundreds of units, which every one of its region runs would copy.
type SessionHeads interface {
	// GetSessionHead is GetSession with the session's Units left nil.
	GetSessionHead(ctx context.Context, id string) (*Session, error)
}

// TaskViewer is a Store that can show a page of tasks as stored, without
// copying them, and copy only the ones the caller picks (the in-memory
// store, whose reads are consistent and whose copies are most of the cost
// of a read). Retention decides on a file system's points from such a
// view and copies only the tasks it will write: a file system holds a few
// live points and a pass usually writes one of them. Finishing a session
// counts its open tasks from views.
type TaskViewer interface {
	// ViewTasks calls pick with the page ListTasks(ctx, q) would return,
	// as stored and while no write can change it, and returns copies of
	// the tasks pick returns (each one of the page's, in pick's order)
	// and the cursor of the next page. pick must not change the tasks,
	// and must not keep them, or any slice, map or pointer they hold,
	// after it returns; strings and values it copies are its own. It
	// must not call the store (which may hold a lock meanwhile).
	ViewTasks(ctx context.Context, q TaskQuery, pick func(page []*Task) []*Task) (copies []*Task, next string, err error)
}
