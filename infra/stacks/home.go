package stacks

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// HomeStackProps configures the home stack.
type HomeStackProps struct {
	awscdk.StackProps
	Config Config
}

// Table key and index attribute names (pkg/store/dynamo uses the same).
const (
	TableTTLAttribute = "expiresAt"
)

// TableIndexes are the global secondary indexes: name, partition key, sort
// key, all projecting every attribute.
var TableIndexes = [][3]string{
	{"gsi1", "gsi1pk", "gsi1sk"},
	{"gsi2", "gsi2pk", "gsi2sk"},
	{"gsi3", "gsi3pk", "gsi3sk"},
	{"gsi4", "gsi4pk", "gsi4sk"},
}

// home holds what the parts of the home stack share while it is built.
type home struct {
	stack       awscdk.Stack
	cfg         Config
	vars        arnVars
	table       awsdynamodb.Table
	key         awskms.Key
	topic       awssns.Topic
	eventsDLQ   awssqs.Queue
	regionQueue awssqs.Queue
	regionDLQ   awssqs.Queue
	indexQueue  awssqs.Queue
	indexDLQ    awssqs.Queue
	bucketName  *string
	bucketARN   *string
	workerAsset awss3assets.Asset
	functions   map[string]awslambda.Function
	logGroups   map[string]awslogs.LogGroup
	roles       map[string]awsiam.Role
}

// NewHomeStack creates the home stack: the store, the nine functions with
// their triggers and roles, queues, the admin API, notifications, the index
// bucket, the worker, the AWS Backup service role and the alarms.
func NewHomeStack(scope constructs.Construct, id string, props *HomeStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	h := &home{
		stack:     stack,
		cfg:       props.Config,
		functions: map[string]awslambda.Function{},
		logGroups: map[string]awslogs.LogGroup{},
		roles:     map[string]awsiam.Role{},
	}
	// The index bucket has a fixed name so that member accounts can compute
	// it from HomeAccountId and HomeRegion, and so that the S3 notification
	// permission can name it before the bucket exists.
	h.bucketName = jsii.String(fmt.Sprintf("efskeeper-index-%s-%s", *awscdk.Aws_ACCOUNT_ID(), *awscdk.Aws_REGION()))
	h.vars = pseudoVars().with("bucket", *h.bucketName, "efskeeper-index-<AWS::AccountId>-<AWS::Region>")
	h.bucketARN = jsii.String(h.vars.expand(arnIndexBucket, false))

	h.addTable()
	h.addNotifications()
	h.addQueues()
	h.addWorker()
	h.addBackupRole()
	h.addFunctions()
	h.addIndexBucket()
	h.addTriggers()
	h.addAPI()
	h.addBusPolicy()
	h.addAlarms()
	return stack
}

func (h *home) addTable() {
	h.table = awsdynamodb.NewTable(h.stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		TimeToLiveAttribute: jsii.String(TableTTLAttribute),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		// Policies, sessions and history outlive a stack mistake.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	for _, gsi := range TableIndexes {
		h.table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(gsi[0]),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(gsi[1]), Type: awsdynamodb.AttributeType_STRING},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(gsi[2]), Type: awsdynamodb.AttributeType_STRING},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	output(h.stack, "TableName", h.table.TableName(), "DynamoDB table of policies, sessions and tasks")
}

// addNotifications creates the topic with its own KMS key: the AWS-managed
// SNS key cannot be used by CloudWatch alarms, which publish here too.
func (h *home) addNotifications() {
	account := awsiam.NewAccountRootPrincipal()
	keyPolicy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		// The account administers the key through IAM. The actions are
		// listed instead of kms:* so that no statement grants a whole
		// service.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministersAndUsesKey"),
			Principals: &[]awsiam.IPrincipal{account},
			Actions: jsii.Strings("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
				"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
				"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
				"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"),
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("CloudWatchAlarmsPublish"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
			Resources:  jsii.Strings("*"),
		}),
	}})
	h.key = awskms.NewKey(h.stack, jsii.String("NotificationKey"), &awskms.KeyProps{
		Description:       jsii.String("efskeeper notification topic encryption"),
		Alias:             jsii.String("alias/efskeeper-notifications"),
		EnableKeyRotation: jsii.Bool(true),
		Policy:            keyPolicy,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	h.topic = awssns.NewTopic(h.stack, jsii.String("NotificationTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("efskeeper"),
		MasterKey:   h.key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy CDK writes for EnforceSSL replaces SNS's default
	// policy, so CloudWatch alarms of this account need their own statement.
	h.topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*h.topic.TopicArn()),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}))
	for _, email := range h.cfg.NotificationEmails {
		h.topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	output(h.stack, "TopicArn", h.topic.TopicArn(), "SNS topic of session mails, the daily report and alarms")
}

// addQueues creates the region and index queues, each with a dead-letter
// queue, and the dead-letter queue of asynchronous invocations (schedules,
// the event rule, S3 notifications).
func (h *home) addQueues() {
	newQueue := func(id string, visibility awscdk.Duration, dlq awssqs.Queue) awssqs.Queue {
		props := &awssqs.QueueProps{
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			VisibilityTimeout: visibility,
		}
		if dlq != nil {
			props.DeadLetterQueue = &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(5)}
		} else {
			props.RetentionPeriod = awscdk.Duration_Days(jsii.Number(14))
		}
		return awssqs.NewQueue(h.stack, jsii.String(id), props)
	}
	regionRun, _ := FunctionByName(FnRegionRun)
	indexLaunch, _ := FunctionByName(FnIndexLaunch)
	h.eventsDLQ = newQueue("AsyncDeadLetterQueue", nil, nil)
	h.regionDLQ = newQueue("RegionDeadLetterQueue", nil, nil)
	h.regionQueue = newQueue("RegionQueue", seconds(6*regionRun.Timeout.Seconds()), h.regionDLQ)
	h.indexDLQ = newQueue("IndexDeadLetterQueue", nil, nil)
	h.indexQueue = newQueue("IndexQueue", seconds(6*indexLaunch.Timeout.Seconds()), h.indexDLQ)
}

// addWorker uploads the worker binary as an asset and creates the worker
// role, instance profile and launch template of the home Region.
func (h *home) addWorker() {
	h.workerAsset = awss3assets.NewAsset(h.stack, jsii.String("WorkerBinary"), &awss3assets.AssetProps{
		Path: jsii.String(filepath.Join(h.cfg.AssetDir, "worker", "efskeeper-worker")),
	})
	assetObject := h.workerAsset.Bucket().ArnForObjects(h.workerAsset.S3ObjectKey())
	newWorkerRole(h.stack, h.vars, func(p *policy) {
		p.allow("ReadWorkerBinary", []string{"s3:GetObject"}, []string{*assetObject}, nil)
	})
	newWorkerLaunchTemplate(h.stack)
	output(h.stack, "WorkerAssetBucket", h.workerAsset.S3BucketName(), "bucket of the worker binary")
	output(h.stack, "WorkerAssetKey", h.workerAsset.S3ObjectKey(), "object key of the worker binary")
}

// addBackupRole creates the role AWS Backup uses for efskeeper's jobs.
func (h *home) addBackupRole() {
	newBackupRole(h.stack)
}

// newBackupRole creates efskeeper-backup with the AWS-managed policies AWS
// Backup documents for its service role.
func newBackupRole(scope constructs.Construct) awsiam.Role {
	role := awsiam.NewRole(scope, jsii.String("BackupRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(BackupRoleName),
		Description: jsii.String("Role AWS Backup assumes for efskeeper's backup, copy and restore jobs"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("backup.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSBackupServiceRolePolicyForBackup")),
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSBackupServiceRolePolicyForRestores")),
		},
	})
	var sups []*cdknag.NagPackSuppression
	for _, name := range []string{"AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"} {
		sups = append(sups, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM4"),
			Reason:    jsii.String("AWS-managed policy maintained by AWS Backup for its service role; it follows new resource types and permissions AWS Backup needs."),
			AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/" + name},
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &sups, jsii.Bool(false))
	return role
}

func seconds(s float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(s)) }

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
}
