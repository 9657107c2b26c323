package api

import (
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// The types below are the API's JSON documents, as openapi.json describes
// them. They are kept apart from the stored records so that the storage
// layout can change without changing the API; pkg/apiclient decodes into
// them. Zero times are left out (omitzero).

// PolicyRecord is a policy with its bookkeeping (GET /policies/{id}).
// Policy is the document as PUT takes it back.
type PolicyRecord struct {
	Policy    *policy.Policy `json:"policy"`
	Version   int64          `json:"version"`
	NextRunAt time.Time      `json:"nextRunAt,omitzero"`
	// Watermark is the last scheduled instant the tick has started.
	Watermark time.Time `json:"watermark,omitzero"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PolicyList is a page of policies.
type PolicyList struct {
	Policies   []PolicyRecord `json:"policies"`
	NextCursor string         `json:"nextCursor,omitempty"`
}

// RunRequest is the optional body of POST /policies/{id}/run.
type RunRequest struct {
	// Schedules whose retention keeps the on-demand restore points; by
	// default those of the policy's next scheduled run.
	Schedules []string `json:"schedules,omitempty"`
}

// RunResponse answers POST /policies/{id}/run.
type RunResponse struct {
	SessionID string `json:"sessionId"`
}

// Session is one run of a policy, with the reasons that explain its status.
type Session struct {
	ID          string          `json:"id"`
	PolicyID    string          `json:"policyId"`
	ScheduledAt time.Time       `json:"scheduledAt"`
	Schedules   []string        `json:"schedules"`
	Status      string          `json:"status"`
	Reasons     []engine.Reason `json:"reasons"`
	Units       []engine.Loc    `json:"units"`
	OpenUnits   int             `json:"openUnits"`
	OpenTasks   int             `json:"openTasks"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	EndedAt     time.Time       `json:"endedAt,omitzero"`
	Notified    bool            `json:"notified"`
}

// SessionList is a page of sessions, newest first.
type SessionList struct {
	Sessions   []Session `json:"sessions"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

// SessionDetail is a session with its region runs and the first page of
// its tasks (GET /sessions/{id}; more tasks from /sessions/{id}/tasks).
type SessionDetail struct {
	Session         Session `json:"session"`
	RegionRuns      []Unit  `json:"regionRuns"`
	Tasks           []Task  `json:"tasks"`
	NextTasksCursor string  `json:"nextTasksCursor,omitempty"`
}

// TaskList is a page of a session's tasks.
type TaskList struct {
	Tasks      []Task `json:"tasks"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Unit is one region run of a session: one account and Region.
type Unit struct {
	Account   string          `json:"account"`
	Region    string          `json:"region"`
	State     string          `json:"state"`
	Tasks     int             `json:"tasks"`
	Attempts  int             `json:"attempts"`
	Reasons   []engine.Reason `json:"reasons"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// Job is an AWS Backup job as efskeeper follows it, with its retries.
type Job struct {
	ID          string    `json:"id,omitempty"`
	State       string    `json:"state"`
	Attempt     int       `json:"attempt"`
	Message     string    `json:"message,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
	RetryAt     time.Time `json:"retryAt,omitzero"`
}

// Deletion is what retention did to a restore point; State is empty while
// the point is kept.
type Deletion struct {
	State    string    `json:"state,omitempty"`
	At       time.Time `json:"at,omitzero"`
	Attempts int       `json:"attempts,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Copy is one cross-Region copy of a task's restore point.
type Copy struct {
	TargetRegion     string   `json:"targetRegion"`
	Vault            string   `json:"vault"`
	Job              Job      `json:"job"`
	RecoveryPointArn string   `json:"recoveryPointArn,omitempty"`
	Deletion         Deletion `json:"deletion"`
}

// Task is the backup of one file system in one session, with its copies.
type Task struct {
	ID               string          `json:"id"`
	SessionID        string          `json:"sessionId"`
	Account          string          `json:"account"`
	Region           string          `json:"region"`
	FileSystem       string          `json:"fileSystem"`
	Phase            string          `json:"phase"`
	Schedules        []string        `json:"schedules"`
	Vault            string          `json:"vault"`
	Backup           Job             `json:"backup"`
	RecoveryPointArn string          `json:"recoveryPointArn,omitempty"`
	PointCreatedAt   time.Time       `json:"pointCreatedAt,omitzero"`
	Copies           []Copy          `json:"copies"`
	Deletion         Deletion        `json:"deletion"`
	Reasons          []engine.Reason `json:"reasons"`
}

// RestorePoint is one recovery point efskeeper made: a backup, or a copy
// of one in another Region (Source then names the backup it copies).
type RestorePoint struct {
	// ID is opaque; it names the point in /restore-points/{id}.
	ID               string    `json:"id"`
	Kind             string    `json:"kind"` // backup or copy
	PolicyID         string    `json:"policyId"`
	SessionID        string    `json:"sessionId"`
	TaskID           string    `json:"taskId"`
	Account          string    `json:"account"`
	Region           string    `json:"region"`
	FileSystem       string    `json:"fileSystem"`
	Vault            string    `json:"vault"`
	RecoveryPointArn string    `json:"recoveryPointArn"`
	CreatedAt        time.Time `json:"createdAt"`
	Schedules        []string  `json:"schedules"`
	// Deletion is set when retention tried to delete the point and AWS
	// only expired it, or the deletion failed.
	Deletion Deletion     `json:"deletion"`
	Source   *PointSource `json:"source,omitempty"`
}

// PointSource names the backup a copy was made from.
type PointSource struct {
	ID               string `json:"id"`
	Region           string `json:"region"`
	RecoveryPointArn string `json:"recoveryPointArn"`
}

// RestorePointList is a page of restore points.
type RestorePointList struct {
	RestorePoints []RestorePoint `json:"restorePoints"`
	NextCursor    string         `json:"nextCursor,omitempty"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func policyRecordDoc(r *engine.PolicyRecord) PolicyRecord {
	return PolicyRecord{Policy: r.Policy, Version: r.Version, NextRunAt: r.NextRunAt, Watermark: r.Watermark,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func sessionDoc(s *engine.Session) Session {
	return Session{ID: s.ID, PolicyID: s.PolicyID, ScheduledAt: s.ScheduledAt, Schedules: nonNil(s.Schedules),
		Status: string(s.Status), Reasons: nonNil(s.Reasons), Units: nonNil(s.Units),
		OpenUnits: s.Counters.OpenUnits, OpenTasks: s.Counters.OpenTasks,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, EndedAt: s.EndedAt, Notified: s.Notified}
}

func unitDoc(u *engine.Unit) Unit {
	return Unit{Account: u.Loc.Account, Region: u.Loc.Region, State: string(u.State), Tasks: u.Tasks,
		Attempts: u.Attempts, Reasons: nonNil(u.Reasons), UpdatedAt: u.UpdatedAt}
}

func jobDoc(j engine.Job) Job {
	return Job{ID: j.ID, State: string(j.State), Attempt: j.Attempt, Message: j.Message,
		StartedAt: j.StartedAt, CompletedAt: j.CompletedAt, RetryAt: j.RetryAt}
}

func deletionDoc(d engine.Deletion) Deletion {
	return Deletion{State: string(d.State), At: d.At, Attempts: d.Attempts, Message: d.Message}
}

func taskDoc(t *engine.Task) Task {
	doc := Task{ID: t.ID(), SessionID: t.SessionID, Account: t.Loc.Account, Region: t.Loc.Region,
		FileSystem: t.FileSystem, Phase: string(t.Phase), Schedules: nonNil(t.Schedules), Vault: t.VaultName,
		Backup: jobDoc(t.Backup), RecoveryPointArn: t.RecoveryPointArn, PointCreatedAt: t.PointCreatedAt,
		Copies: []Copy{}, Deletion: deletionDoc(t.Deletion), Reasons: nonNil(t.Reasons)}
	for _, c := range t.Copies {
		doc.Copies = append(doc.Copies, Copy{TargetRegion: c.TargetRegion, Vault: c.VaultName, Job: jobDoc(c.Job),
			RecoveryPointArn: c.RecoveryPointArn, Deletion: deletionDoc(c.Deletion)})
	}
	return doc
}
