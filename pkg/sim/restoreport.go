package sim

import (
	"context"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// RestoreAPI implements engine.RestoreService on the world: the same
// StartRestoreJob and DescribeRestoreJob as BackupAPI's restore calls, in
// the engine's types, plus GetRecoveryPointRestoreMetadata.
type RestoreAPI struct{ b *BackupAPI }

var _ engine.RestoreService = (*RestoreAPI)(nil)

// Restores returns the restore port.
func (w *World) Restores() *RestoreAPI { return &RestoreAPI{b: w.Backup()} }

// DescribeRecoveryPoint is BackupAPI's.
func (a *RestoreAPI) DescribeRecoveryPoint(ctx context.Context, l engine.Loc, vault, arn string) (engine.RecoveryPoint, error) {
	return a.b.DescribeRecoveryPoint(ctx, l, vault, arn)
}

// VaultAccessPolicy is BackupAPI's.
func (a *RestoreAPI) VaultAccessPolicy(ctx context.Context, l engine.Loc, vault string) (string, error) {
	return a.b.VaultAccessPolicy(ctx, l, vault)
}

// RestoreMetadata is GetRecoveryPointRestoreMetadata. For EFS, AWS returns
// only aws:backup:request-id and file-system-id (notes.md §8), and so does
// the simulator.
func (a *RestoreAPI) RestoreMetadata(ctx context.Context, l engine.Loc, vault, arn string) (map[string]string, error) {
	w := a.b.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.call(ctx, "GetRecoveryPointRestoreMetadata", l); err != nil {
		return nil, err
	}
	p, err := w.point(l, vault, arn, "get restore metadata of")
	if err != nil {
		return nil, err
	}
	s := w.stream(newKey("restore-metadata").str(arn))
	return map[string]string{
		"aws:backup:request-id": s.uuid(false),
		"file-system-id":        p.fsID(),
	}, nil
}

// StartRestore is StartRestoreJob.
func (a *RestoreAPI) StartRestore(ctx context.Context, r engine.StartRestoreRequest) (engine.StartedJob, error) {
	id, err := a.b.StartRestore(ctx, RestoreRequest{Loc: r.Loc, RecoveryPointArn: r.RecoveryPointArn, IamRoleArn: r.IamRoleArn, Token: r.Token, Metadata: r.Metadata})
	if err != nil {
		return engine.StartedJob{}, err
	}
	w := a.b.w
	w.mu.Lock()
	defer w.mu.Unlock()
	return engine.StartedJob{JobID: id, CreatedAt: w.findJob(id).createdAt.time()}, nil
}

// DescribeRestoreJob reads a restore job back as an engine.JobUpdate.
func (a *RestoreAPI) DescribeRestoreJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	return a.b.describeJob(ctx, "DescribeRestoreJob", engine.KindRestore, l, jobID)
}
