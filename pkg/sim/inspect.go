package sim

import (
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// RecoveryPointInfo is a read-only snapshot of one recovery point, for
// invariant checks and the demo report.
type RecoveryPointInfo struct {
	Arn          string
	Account      string
	Region       string
	Vault        string
	FileSystem   string // fs-...
	ResourceArn  string
	CreatedAt    time.Time
	CompletedAt  time.Time
	Tags         map[string]string
	Status       engine.RecoveryPointStatus
	StorageClass string // WARM, COLD, DELETED
	SizeBytes    int64
	// DeleteAt is when the lifecycle expires the point (zero: never).
	DeleteAt time.Time
	// CopyOf is the source point's ARN for a copy.
	CopyOf string
	// JobID is the job that made the point.
	JobID string
	// DeletedAt is when a deletion was accepted (DeleteRecoveryPoint) or
	// carried out (lifecycle); DeletedBy says which.
	DeletedAt time.Time
	DeletedBy string
	// Gone: AWS no longer lists the point (deleted, or its backup job
	// never completed).
	Gone bool
}

// RecoveryPoints returns every recovery point ever created, in creation
// order, including those since deleted.
func (w *World) RecoveryPoints() []RecoveryPointInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]RecoveryPointInfo, len(w.rpList))
	for i, p := range w.rpList {
		out[i] = RecoveryPointInfo{
			Arn:          p.arn,
			Account:      p.vault.loc.Account,
			Region:       p.vault.loc.Region,
			Vault:        p.vault.name,
			FileSystem:   p.fsID(),
			ResourceArn:  p.resourceArn(),
			CreatedAt:    p.createdAt.time(),
			CompletedAt:  p.completedAt.time(),
			Tags:         p.tags.m(),
			Status:       p.status,
			StorageClass: p.storageClass(w.now),
			SizeBytes:    p.size,
			DeleteAt:     p.expiresAt(),
			CopyOf:       p.copyOf,
			JobID:        p.job.id,
			DeletedAt:    p.deletedAt.time(),
			DeletedBy:    p.deletedBy,
			Gone:         p.gone,
		}
	}
	return out
}

// JobInfo is a read-only snapshot of one job.
type JobInfo struct {
	Kind       engine.JobKind
	ID         string
	Token      string
	Account    string
	Region     string // where the job runs (a copy: the source Region)
	FileSystem string
	// ResourceArn is the protected file system.
	ResourceArn string
	// VaultArn is the target vault (backup) or destination vault (copy);
	// SourceVaultArn the vault a copy or restore reads from.
	VaultArn       string
	SourceVaultArn string
	// SourcePointArn is what a copy or restore reads; PointArn what a
	// backup or copy makes (a restore: the created file system's ARN).
	SourcePointArn string
	PointArn       string
	State          engine.JobState
	Message        string
	// BackupPlanID is set on jobs a backup plan created (EFS automatic
	// backups: "aws/efs/..."); empty for on-demand jobs.
	BackupPlanID string
	Bytes        int64
	CreatedAt    time.Time
	StartBy      time.Time
	StartedAt    time.Time // RUNNING
	CompletedAt  time.Time
}

// Jobs returns every job ever started, in creation order.
func (w *World) Jobs() []JobInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]JobInfo, len(w.jobs))
	for i, j := range w.jobs {
		ji := JobInfo{
			Kind:        j.kind,
			ID:          j.id,
			Token:       j.token,
			Account:     j.loc().Account,
			Region:      j.loc().Region,
			FileSystem:  j.fsID,
			ResourceArn: j.resourceArn,
			VaultArn:    j.vaultArn,
			State:       j.state,
			Message:     j.message,
			Bytes:       j.bytes,
			CreatedAt:   j.createdAt.time(),
			StartBy:     j.startBy.time(),
			StartedAt:   j.startedAt.time(),
			CompletedAt: j.completedAt.time(),
		}
		ji.PointArn, ji.SourcePointArn, ji.SourceVaultArn = j.arns()
		if j.restore != nil {
			ji.PointArn = j.restore.createdArn
		}
		if j.auto != nil {
			ji.BackupPlanID = j.auto.id
		}
		out[i] = ji
	}
	return out
}

// Calls returns how many times each AWS API operation was called
// (throttled calls included).
func (w *World) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.calls))
	for k, v := range w.calls {
		out[k] = v
	}
	return out
}
