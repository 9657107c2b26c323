package stacks

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// asyncFunctions are invoked asynchronously (Scheduler, EventBridge, S3):
// what Lambda fails to process after its retries lands in the async DLQ.
var asyncFunctions = map[string]bool{
	FnTick: true, FnJobEvents: true, FnReconcile: true, FnRetention: true, FnReport: true, FnIndexDone: true,
}

// addFunctions creates the nine functions of the deployment contract, each
// with its own log group and its own least-privilege role.
func (h *home) addFunctions() {
	env := map[string]*string{
		EnvTable:                h.table.TableName(),
		EnvRegionQueueURL:       h.regionQueue.QueueUrl(),
		EnvIndexQueueURL:        h.indexQueue.QueueUrl(),
		EnvTopicARN:             h.topic.TopicArn(),
		EnvBackupRoleName:       jsii.String(BackupRoleName),
		EnvMemberRoleName:       jsii.String(MemberRoleName),
		EnvMaxDeletes:           jsii.String(DefaultMaxDeletes),
		EnvDryRun:               jsii.String(DefaultDryRun),
		EnvIndexBucket:          h.bucketName,
		EnvWorkerProfileName:    jsii.String(WorkerName),
		EnvWorkerLaunchTemplate: jsii.String(WorkerName),
		EnvWorkerAssetBucket:    h.workerAsset.S3BucketName(),
		EnvWorkerAssetKey:       h.workerAsset.S3ObjectKey(),
	}
	for _, spec := range Functions {
		vars := map[string]*string{EnvPrefix + EnvLogLevel: jsii.String("info")}
		for _, k := range spec.Env {
			v, ok := env[k]
			if !ok {
				panic("stacks: no value for " + EnvPrefix + k + " of function " + spec.Name)
			}
			vars[EnvPrefix+k] = v
		}
		id := constructID(spec.Name)
		logGroup := awslogs.NewLogGroup(h.stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String("/efskeeper/" + spec.Name),
			Retention:     retention(h.cfg.LogRetentionDays),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		role := awsiam.NewRole(h.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
			RoleName:    jsii.String(FunctionRolePrefix + spec.Name),
			Description: jsii.String("efskeeper " + spec.Name + " function"),
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		})
		logGroup.GrantWrite(role)
		props := &awslambda.FunctionProps{
			Description:  jsii.String("efskeeper " + spec.Name),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(h.cfg.AssetDir, "functions", spec.Name)), nil),
			Timeout:      seconds(spec.Timeout.Seconds()),
			MemorySize:   jsii.Number(float64(spec.Memory)),
			Role:         role,
			LogGroup:     logGroup,
			Environment:  &vars,
		}
		if asyncFunctions[spec.Name] {
			props.DeadLetterQueue = h.eventsDLQ
		}
		fn := awslambda.NewFunction(h.stack, jsii.String(id), props)
		h.functions[spec.Name] = fn
		h.logGroups[spec.Name] = logGroup
		h.roles[spec.Name] = role
		h.functionPolicy(spec.Name).attach(h.stack, id+"Policy", role)
	}
}

// functionPolicy is what each use-case calls, and nothing else.
func (h *home) functionPolicy(name string) *policy {
	p := newPolicy(h.vars)
	p.useTable(h)
	switch name {
	case FnTick:
		p.send("SendRegionRuns", h.regionQueue)
		p.publish(h) // a session that selects nothing ends at once
		if h.cfg.OrganizationID != "" {
			p.allow("ResolveOrganizationUnits", []string{"organizations:ListAccountsForParent", "organizations:ListChildren",
				"organizations:ListAccounts", "organizations:DescribeAccount"}, []string{"*"}, nil)
		}
	case FnRegionRun:
		p.runRegion()
		p.publish(h) // the last Region of a session ends it
	case FnJobEvents:
		p.completeJobs()
		p.send("SendIndexRuns", h.indexQueue)
		p.publish(h)
	case FnReconcile:
		p.completeJobs()
		p.restore() // starts restore jobs that were deferred
		p.send("SendRegionRuns", h.regionQueue)
		p.send("SendIndexRuns", h.indexQueue)
		p.publish(h)
	case FnRetention:
		p.expire()
	case FnIndexLaunch:
		p.launchIndex()
		p.allow("ReadWorkerBinary", []string{"s3:GetObject"},
			[]string{*h.workerAsset.Bucket().ArnForObjects(h.workerAsset.S3ObjectKey())}, nil)
	case FnIndexDone:
		// The result, and the index it names: Done checks the index object
		// itself instead of trusting the worker's word.
		p.allow("ReadResults", []string{"s3:GetObject"}, []string{arnAllResults, arnAllIndexes}, nil)
		// Done prunes the indexes whose restore points retention deleted
		// (engine.Indexer.Prune); the bucket is versioned, so a deleted
		// index stays recoverable for NoncurrentVersionDays.
		p.allow("DeleteIndexes", []string{"s3:DeleteObject"}, []string{arnAllIndexes}, nil)
		p.publish(h)
	case FnAPI:
		p.restore()
		p.allow("ReadIndexes", []string{"s3:GetObject"}, []string{arnAllIndexes}, nil)
		p.allow("ListIndexes", []string{"s3:ListBucket"}, []string{arnIndexBucket},
			conditions{"StringLike": {"s3:prefix": IndexesPrefix + "*"}})
		p.send("SendRegionRuns", h.regionQueue)
		p.publish(h) // on-demand runs and restores can end at once
		if h.cfg.OrganizationID != "" {
			// On-demand runs of Organization-mode policies resolve OUs as the tick does.
			p.allow("ResolveOrganizationUnits", []string{"organizations:ListAccountsForParent", "organizations:ListChildren",
				"organizations:ListAccounts", "organizations:DescribeAccount"}, []string{"*"}, nil)
		}
	case FnReport:
		p.publish(h)
	}
	if name != FnIndexDone {
		p.assumeMemberRole(h.cfg)
	}
	return p
}

// useTable allows item reads and writes on the table and its indexes, named
// one by one so that no wildcard is needed.
func (p *policy) useTable(h *home) {
	resources := []string{*h.table.TableArn()}
	for _, gsi := range TableIndexes {
		resources = append(resources, *h.table.TableArn()+"/index/"+gsi[0])
	}
	p.allow("Store", []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
		"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"}, resources, nil)
}

func (p *policy) send(sid string, q awssqs.IQueue) {
	p.allow(sid, []string{"sqs:SendMessage"}, []string{*q.QueueArn()}, nil)
}

func (p *policy) publish(h *home) {
	p.allow("Notify", []string{"sns:Publish"}, []string{*h.topic.TopicArn()}, nil)
	p.allow("EncryptNotifications", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{*h.key.KeyArn()}, nil)
}

// assumeMemberRole allows assuming efskeeper-member in the accounts this
// deployment may reach: any account of the Organization (checked with
// aws:ResourceOrgID), and the listed member accounts outside it. Without
// either, policies can only name the home account and nothing is assumed.
func (p *policy) assumeMemberRole(cfg Config) {
	if cfg.OrganizationID != "" {
		p.allow("AssumeMemberRoleInOrganization", []string{"sts:AssumeRole"}, []string{arnAnyMemberRole},
			conditions{"StringEquals": {"aws:ResourceOrgID": cfg.OrganizationID}})
	}
	if len(cfg.MemberAccounts) > 0 {
		var arns []string
		for _, a := range cfg.MemberAccounts {
			arns = append(arns, "arn:{partition}:iam::"+a+":role/"+MemberRoleName)
		}
		p.allow("AssumeMemberRoleInListedAccounts", []string{"sts:AssumeRole"}, arns, nil)
	}
}

// constructID turns a function name into a construct id ("indexlaunch" ->
// "IndexlaunchFunction").
func constructID(name string) string {
	return string(name[0]-'a'+'A') + name[1:] + "Function"
}

// retention maps a validated day count to the CDK enum.
func retention(days int) awslogs.RetentionDays { return logRetentionDays[days] }
