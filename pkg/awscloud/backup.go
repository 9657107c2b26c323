package awscloud

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// efsResourceType is the key of EFS in AWS Backup's Region settings.
const efsResourceType = "EFS"

// Backup implements engine.Backup with AWS Backup.
type Backup struct{ c *Cloud }

var _ engine.Backup = (*Backup)(nil)

// Backup returns the AWS Backup adapter.
func (c *Cloud) Backup() *Backup { return &Backup{c} }

func (b *Backup) client(ctx context.Context, l engine.Loc) (*backup.Client, error) {
	lc, err := b.c.at(ctx, l)
	if err != nil {
		return nil, err
	}
	return lc.backup, nil
}

// EFSOptIn reports ResourceTypeOptInPreference["EFS"]; a Region that does
// not list EFS at all is not opted in.
func (b *Backup) EFSOptIn(ctx context.Context, l engine.Loc) (bool, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return false, wrap(err, "read AWS Backup Region settings in %s", l)
	}
	out, err := cl.DescribeRegionSettings(ctx, &backup.DescribeRegionSettingsInput{})
	if err != nil {
		return false, wrap(err, "read AWS Backup Region settings in %s", l)
	}
	return out.ResourceTypeOptInPreference[efsResourceType], nil
}

// EnableEFSOptIn reads the Region's opt-in map and writes it back with EFS
// set to true. Sending only {"EFS": true} is not safe: the API documents no
// merge semantics, and users report that resource types left out of the
// map can flip to opted in (hashicorp/terraform-provider-aws#30881). The
// map DescribeRegionSettings returns holds only the types the Region
// supports, so writing it back does not trip the "invalid values" error an
// unsupported type causes (#21801). The management preferences are not
// sent, so they stay as they are. A change by someone else between the
// read and the write is lost; opting in happens once per Region and the
// window is a few milliseconds.
func (b *Backup) EnableEFSOptIn(ctx context.Context, l engine.Loc) error {
	cl, err := b.client(ctx, l)
	if err != nil {
		return wrap(err, "opt EFS in to AWS Backup in %s", l)
	}
	cur, err := cl.DescribeRegionSettings(ctx, &backup.DescribeRegionSettingsInput{})
	if err != nil {
		return wrap(err, "read AWS Backup Region settings in %s", l)
	}
	prefs := make(map[string]bool, len(cur.ResourceTypeOptInPreference)+1)
	for k, v := range cur.ResourceTypeOptInPreference {
		prefs[k] = v
	}
	prefs[efsResourceType] = true
	if _, err := cl.UpdateRegionSettings(ctx, &backup.UpdateRegionSettingsInput{ResourceTypeOptInPreference: prefs}); err != nil {
		return wrap(err, "opt EFS in to AWS Backup in %s", l)
	}
	return nil
}

// ListVaults lists the account's own vaults in the Region (not vaults
// shared with it) with their tags.
func (b *Backup) ListVaults(ctx context.Context, l engine.Loc) ([]engine.Vault, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return nil, wrap(err, "list backup vaults in %s", l)
	}
	var vaults []engine.Vault
	p := backup.NewListBackupVaultsPaginator(cl, &backup.ListBackupVaultsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "list backup vaults in %s", l)
		}
		for _, m := range page.BackupVaultList {
			vaults = append(vaults, engine.Vault{
				Name:             aws.ToString(m.BackupVaultName),
				Arn:              aws.ToString(m.BackupVaultArn),
				Type:             string(m.VaultType),
				Locked:           aws.ToBool(m.Locked),
				MinRetentionDays: m.MinRetentionDays,
				MaxRetentionDays: m.MaxRetentionDays,
			})
		}
	}
	for i := range vaults {
		tags, err := b.tags(ctx, cl, vaults[i].Arn)
		if err != nil {
			return nil, wrap(err, "list tags of backup vault %s in %s", vaults[i].Name, l)
		}
		vaults[i].Tags = tags
	}
	return vaults, nil
}

// DescribeVault describes one vault with its tags.
func (b *Backup) DescribeVault(ctx context.Context, l engine.Loc, name string) (engine.Vault, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return engine.Vault{}, wrap(err, "describe backup vault %s in %s", name, l)
	}
	out, err := cl.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})
	if err != nil {
		return engine.Vault{}, wrap(err, "describe backup vault %s in %s", name, l)
	}
	v := engine.Vault{
		Name:             aws.ToString(out.BackupVaultName),
		Arn:              aws.ToString(out.BackupVaultArn),
		Type:             string(out.VaultType),
		Locked:           aws.ToBool(out.Locked),
		MinRetentionDays: out.MinRetentionDays,
		MaxRetentionDays: out.MaxRetentionDays,
	}
	if v.Tags, err = b.tags(ctx, cl, v.Arn); err != nil {
		return engine.Vault{}, wrap(err, "list tags of backup vault %s in %s", name, l)
	}
	return v, nil
}

// VaultAccessPolicy returns the vault's access policy, "" when it has none.
// AWS Backup answers ResourceNotFoundException both for "no policy" and
// for "no vault"; callers describe the vault first.
func (b *Backup) VaultAccessPolicy(ctx context.Context, l engine.Loc, name string) (string, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return "", wrap(err, "read the access policy of backup vault %s in %s", name, l)
	}
	out, err := cl.GetBackupVaultAccessPolicy(ctx, &backup.GetBackupVaultAccessPolicyInput{BackupVaultName: aws.String(name)})
	if err != nil {
		if codeOf(err) == engine.ENOTFOUND {
			return "", nil
		}
		return "", wrap(err, "read the access policy of backup vault %s in %s", name, l)
	}
	return aws.ToString(out.Policy), nil
}

// StartBackup calls StartBackupJob. The request must carry its token: the
// SDK would otherwise fill in a random one, and a retried start would make
// a second job.
func (b *Backup) StartBackup(ctx context.Context, r engine.StartBackupRequest) (engine.StartedJob, error) {
	fs := fileSystemID(r.ResourceArn)
	if r.Token == "" {
		return engine.StartedJob{}, engine.Errorf(engine.EINVALID, "start backup of %s in %s: no idempotency token", fs, r.Loc)
	}
	cl, err := b.client(ctx, r.Loc)
	if err != nil {
		return engine.StartedJob{}, wrap(err, "start backup of %s in %s", fs, r.Loc)
	}
	in := &backup.StartBackupJobInput{
		BackupVaultName:   aws.String(r.VaultName),
		ResourceArn:       aws.String(r.ResourceArn),
		IamRoleArn:        aws.String(r.IamRoleArn),
		IdempotencyToken:  aws.String(r.Token),
		Lifecycle:         lifecycle(r.Lifecycle),
		RecoveryPointTags: r.RecoveryPointTags,
	}
	if r.StartWindowMinutes > 0 {
		in.StartWindowMinutes = aws.Int64(r.StartWindowMinutes)
	}
	if r.CompleteWindowMinutes > 0 {
		in.CompleteWindowMinutes = aws.Int64(r.CompleteWindowMinutes)
	}
	out, err := cl.StartBackupJob(ctx, in)
	if err != nil {
		return engine.StartedJob{}, wrap(err, "start backup of %s in %s", fs, r.Loc)
	}
	return engine.StartedJob{
		JobID:            aws.ToString(out.BackupJobId),
		RecoveryPointArn: aws.ToString(out.RecoveryPointArn),
		CreatedAt:        aws.ToTime(out.CreationDate),
	}, nil
}

// StartCopy calls StartCopyJob in the source Region, with the request's
// token (never the SDK's random one).
func (b *Backup) StartCopy(ctx context.Context, r engine.StartCopyRequest) (engine.StartedJob, error) {
	if r.Token == "" {
		return engine.StartedJob{}, engine.Errorf(engine.EINVALID, "copy %s to %s from %s: no idempotency token", r.RecoveryPointArn, r.DestinationBackupVaultArn, r.Loc)
	}
	cl, err := b.client(ctx, r.Loc)
	if err != nil {
		return engine.StartedJob{}, wrap(err, "copy %s to %s from %s", r.RecoveryPointArn, r.DestinationBackupVaultArn, r.Loc)
	}
	out, err := cl.StartCopyJob(ctx, &backup.StartCopyJobInput{
		RecoveryPointArn:          aws.String(r.RecoveryPointArn),
		SourceBackupVaultName:     aws.String(r.SourceVaultName),
		DestinationBackupVaultArn: aws.String(r.DestinationBackupVaultArn),
		IamRoleArn:                aws.String(r.IamRoleArn),
		IdempotencyToken:          aws.String(r.Token),
		Lifecycle:                 lifecycle(r.Lifecycle),
	})
	if err != nil {
		return engine.StartedJob{}, wrap(err, "copy %s to %s from %s", r.RecoveryPointArn, r.DestinationBackupVaultArn, r.Loc)
	}
	return engine.StartedJob{
		JobID:     aws.ToString(out.CopyJobId),
		CreatedAt: aws.ToTime(out.CreationDate),
	}, nil
}

// DescribeBackupJob reads a backup job back. SourceVaultArn carries the
// job's vault (the vault the recovery point lands in).
func (b *Backup) DescribeBackupJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe backup job %s in %s", jobID, l)
	}
	out, err := cl.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String(jobID)})
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe backup job %s in %s", jobID, l)
	}
	return engine.JobUpdate{
		Kind:             engine.KindBackup,
		Loc:              l,
		JobID:            aws.ToString(out.BackupJobId),
		State:            engine.JobState(out.State),
		Message:          aws.ToString(out.StatusMessage),
		ResourceArn:      aws.ToString(out.ResourceArn),
		RecoveryPointArn: aws.ToString(out.RecoveryPointArn),
		SourceVaultArn:   aws.ToString(out.BackupVaultArn),
		SizeBytes:        aws.ToInt64(out.BackupSizeInBytes),
		CreatedAt:        aws.ToTime(out.CreationDate),
		CompletedAt:      aws.ToTime(out.CompletionDate),
	}, nil
}

// DescribeCopyJob reads a copy job back from its source Region.
func (b *Backup) DescribeCopyJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe copy job %s in %s", jobID, l)
	}
	out, err := cl.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: aws.String(jobID)})
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe copy job %s in %s", jobID, l)
	}
	j := out.CopyJob
	if j == nil {
		return engine.JobUpdate{}, engine.Errorf(engine.EUNAVAIL, "describe copy job %s in %s: the answer has no CopyJob", jobID, l)
	}
	id := aws.ToString(j.CopyJobId)
	if id == "" {
		id = jobID
	}
	return engine.JobUpdate{
		Kind:                        engine.KindCopy,
		Loc:                         l,
		JobID:                       id,
		State:                       engine.JobState(j.State),
		Message:                     aws.ToString(j.StatusMessage),
		ResourceArn:                 aws.ToString(j.ResourceArn),
		RecoveryPointArn:            aws.ToString(j.SourceRecoveryPointArn),
		DestinationRecoveryPointArn: aws.ToString(j.DestinationRecoveryPointArn),
		DestinationVaultArn:         aws.ToString(j.DestinationBackupVaultArn),
		SourceVaultArn:              aws.ToString(j.SourceBackupVaultArn),
		CreatedAt:                   aws.ToTime(j.CreationDate),
		CompletedAt:                 aws.ToTime(j.CompletionDate),
	}, nil
}

// DescribeRecoveryPoint reads a recovery point and its tags. ENOTFOUND
// once the point is gone. A point that is DELETING keeps no tags worth
// reading; its Tags stay nil.
func (b *Backup) DescribeRecoveryPoint(ctx context.Context, l engine.Loc, vault, arn string) (engine.RecoveryPoint, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return engine.RecoveryPoint{}, wrap(err, "describe recovery point %s in %s", arn, l)
	}
	out, err := cl.DescribeRecoveryPoint(ctx, &backup.DescribeRecoveryPointInput{
		BackupVaultName:  aws.String(vault),
		RecoveryPointArn: aws.String(arn),
	})
	if err != nil {
		return engine.RecoveryPoint{}, wrap(err, "describe recovery point %s in %s", arn, l)
	}
	rp := engine.RecoveryPoint{
		Arn:          aws.ToString(out.RecoveryPointArn),
		VaultName:    aws.ToString(out.BackupVaultName),
		ResourceArn:  aws.ToString(out.ResourceArn),
		Status:       engine.RecoveryPointStatus(out.Status),
		StorageClass: string(out.StorageClass),
		CreatedAt:    aws.ToTime(out.CreationDate),
	}
	if rp.Arn == "" {
		rp.Arn = arn
	}
	if rp.Status == engine.RPDeleting {
		return rp, nil
	}
	tags, err := b.tags(ctx, cl, rp.Arn)
	switch {
	case codeOf(err) == engine.ENOTFOUND:
		// Gone between the two calls: no tags, so retention leaves it be.
	case err != nil:
		return engine.RecoveryPoint{}, wrap(err, "list tags of recovery point %s in %s", arn, l)
	default:
		rp.Tags = tags
	}
	return rp, nil
}

// RecoveryPointTags lists a recovery point's tags.
func (b *Backup) RecoveryPointTags(ctx context.Context, l engine.Loc, arn string) (map[string]string, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return nil, wrap(err, "list tags of recovery point %s in %s", arn, l)
	}
	tags, err := b.tags(ctx, cl, arn)
	if err != nil {
		return nil, wrap(err, "list tags of recovery point %s in %s", arn, l)
	}
	return tags, nil
}

// DeleteRecoveryPoint asks AWS Backup to delete a point. HTTP 200 does not
// prove deletion (the point may only turn EXPIRED): callers read it back.
func (b *Backup) DeleteRecoveryPoint(ctx context.Context, l engine.Loc, vault, arn string) error {
	cl, err := b.client(ctx, l)
	if err != nil {
		return wrap(err, "delete recovery point %s in %s", arn, l)
	}
	_, err = cl.DeleteRecoveryPoint(ctx, &backup.DeleteRecoveryPointInput{
		BackupVaultName:  aws.String(vault),
		RecoveryPointArn: aws.String(arn),
	})
	return wrap(err, "delete recovery point %s in %s", arn, l)
}

// tags pages through ListTags of a vault or recovery point ARN.
func (b *Backup) tags(ctx context.Context, cl *backup.Client, arn string) (map[string]string, error) {
	tags := map[string]string{}
	p := backup.NewListTagsPaginator(cl, &backup.ListTagsInput{ResourceArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for k, v := range page.Tags {
			tags[k] = v
		}
	}
	return tags, nil
}

// lifecycle converts the engine's lifecycle; zero days mean "not set"
// (-1 stays: it means "keep forever" to AWS Backup).
func lifecycle(l *engine.Lifecycle) *types.Lifecycle {
	if l == nil || l.DeleteAfterDays == 0 && l.MoveToColdStorageAfterDays == 0 {
		return nil
	}
	out := &types.Lifecycle{}
	if l.DeleteAfterDays != 0 {
		out.DeleteAfterDays = aws.Int64(l.DeleteAfterDays)
	}
	if l.MoveToColdStorageAfterDays != 0 {
		out.MoveToColdStorageAfterDays = aws.Int64(l.MoveToColdStorageAfterDays)
	}
	return out
}

// fileSystemID returns the fs-... id at the end of an EFS ARN, or the ARN
// itself when it has none: error messages name file systems by id.
func fileSystemID(arn string) string {
	if i := strings.LastIndex(arn, "file-system/"); i >= 0 {
		return arn[i+len("file-system/"):]
	}
	return arn
}
