package awscloud

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Backup is also the engine's restore port: it has DescribeRecoveryPoint
// and VaultAccessPolicy already, and the restore calls below.
var _ engine.RestoreService = (*Backup)(nil)

// StartRestore calls StartRestoreJob for an EFS restore point, in the
// point's account and Region, with the request's token (never the SDK's
// random one) and without copying the source's tags to a new file system:
// tags such as backup=gold would make the restored copy match a policy's
// selection and be backed up as if it were production.
func (b *Backup) StartRestore(ctx context.Context, r engine.StartRestoreRequest) (engine.StartedJob, error) {
	if r.Token == "" {
		return engine.StartedJob{}, engine.Errorf(engine.EINVALID, "restore %s in %s: no idempotency token", r.RecoveryPointArn, r.Loc)
	}
	cl, err := b.client(ctx, r.Loc)
	if err != nil {
		return engine.StartedJob{}, wrap(err, "restore %s in %s", r.RecoveryPointArn, r.Loc)
	}
	out, err := cl.StartRestoreJob(ctx, &backup.StartRestoreJobInput{
		RecoveryPointArn: aws.String(r.RecoveryPointArn),
		Metadata:         r.Metadata,
		IamRoleArn:       aws.String(r.IamRoleArn),
		IdempotencyToken: aws.String(r.Token),
		ResourceType:     aws.String(efsResourceType),
	})
	if err != nil {
		return engine.StartedJob{}, wrap(err, "restore %s in %s", r.RecoveryPointArn, r.Loc)
	}
	return engine.StartedJob{JobID: aws.ToString(out.RestoreJobId)}, nil
}

// DescribeRestoreJob reads a restore job back.
func (b *Backup) DescribeRestoreJob(ctx context.Context, l engine.Loc, jobID string) (engine.JobUpdate, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe restore job %s in %s", jobID, l)
	}
	out, err := cl.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: aws.String(jobID)})
	if err != nil {
		return engine.JobUpdate{}, wrap(err, "describe restore job %s in %s", jobID, l)
	}
	id := aws.ToString(out.RestoreJobId)
	if id == "" {
		id = jobID
	}
	return engine.JobUpdate{
		Kind:               engine.KindRestore,
		Loc:                l,
		JobID:              id,
		State:              engine.JobState(out.Status),
		Message:            aws.ToString(out.StatusMessage),
		ResourceArn:        aws.ToString(out.SourceResourceArn),
		RecoveryPointArn:   aws.ToString(out.RecoveryPointArn),
		SourceVaultArn:     aws.ToString(out.BackupVaultArn),
		CreatedResourceArn: aws.ToString(out.CreatedResourceArn),
		SizeBytes:          aws.ToInt64(out.BackupSizeInBytes),
		CreatedAt:          aws.ToTime(out.CreationDate),
		CompletedAt:        aws.ToTime(out.CompletionDate),
	}, nil
}

// RestoreMetadata calls GetRecoveryPointRestoreMetadata. For EFS, AWS
// answers only file-system-id and aws:backup:request-id.
func (b *Backup) RestoreMetadata(ctx context.Context, l engine.Loc, vault, pointArn string) (map[string]string, error) {
	cl, err := b.client(ctx, l)
	if err != nil {
		return nil, wrap(err, "read the restore metadata of %s in %s", pointArn, l)
	}
	out, err := cl.GetRecoveryPointRestoreMetadata(ctx, &backup.GetRecoveryPointRestoreMetadataInput{
		BackupVaultName:  aws.String(vault),
		RecoveryPointArn: aws.String(pointArn),
	})
	if err != nil {
		return nil, wrap(err, "read the restore metadata of %s in %s", pointArn, l)
	}
	if out.RestoreMetadata == nil {
		return map[string]string{}, nil
	}
	return out.RestoreMetadata, nil
}

// Publish publishes one message to the topic, in the topic's Region, with
// string message attributes (empty values are left out: SNS refuses them),
// the subject made one line under 100 characters and the body kept under
// SNS's size limit. notify.Publisher: the restore mails and the daily
// report go through it.
func (n *Notifier) Publish(ctx context.Context, subject, body string, attrs map[string]string) error {
	step := "publish to " + n.TopicArn
	if n.TopicArn == "" {
		return engine.Errorf(engine.EINVALID, "%s: no topic configured", step)
	}
	region := n.c.cfg.HomeRegion
	if a, err := arn.Parse(n.TopicArn); err == nil && a.Region != "" {
		region = a.Region
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(n.TopicArn),
		Message:           aws.String(clipMessage(body)),
		MessageAttributes: map[string]types.MessageAttributeValue{},
	}
	for name, v := range attrs {
		if v != "" {
			in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	if s := cleanSubject(subject); s != "" {
		in.Subject = aws.String(s)
	}
	_, err := n.c.snsIn(region).Publish(ctx, in)
	return wrap(err, "%s", step)
}
