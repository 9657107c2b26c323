package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Lifecycle of the index bucket.
const (
	NoncurrentVersionDays = 30 // overwritten or deleted index objects
	ResultDays            = 30 // worker result files, read once by indexdone
)

// addIndexBucket creates the index bucket and its access-log bucket, lets
// workers of member accounts write their own prefix, and notifies indexdone
// of new results.
func (h *home) addIndexBucket() {
	logs := awss3.NewBucket(h.stack, jsii.String("AccessLogBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED, // the only encryption S3 server access logging delivers to
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-access-logs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(float64(h.cfg.LogRetentionDays))),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	// No access logging of its own: cdk-nag (S1) accepts a bucket that is
	// the log target of another, and logging it would loop.

	bucket := awss3.NewBucket(h.stack, jsii.String("IndexBucket"), &awss3.BucketProps{
		BucketName:             h.bucketName,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED, // workers of member accounts write here
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("index-bucket/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("expire-noncurrent-versions"),
				NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(NoncurrentVersionDays)),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:         jsii.String("expire-results"),
				Prefix:     jsii.String(ResultsPrefix),
				Expiration: awscdk.Duration_Days(jsii.Number(ResultDays)),
			},
		},
	})
	h.addWorkerWrites(bucket)

	// S3 notification written on the bucket itself rather than through CDK's
	// notifications custom resource (a Python Lambda with a managed-policy
	// role). The permission names the bucket by its fixed name, so it can
	// exist before the bucket, which S3 checks on creation.
	indexDone := h.functions[FnIndexDone]
	permission := awslambda.NewCfnPermission(h.stack, jsii.String("IndexBucketInvokesIndexDone"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  indexDone.FunctionArn(),
		Principal:     jsii.String("s3.amazonaws.com"),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
		SourceArn:     h.bucketARN,
	})
	cfn := bucket.Node().DefaultChild().(awss3.CfnBucket)
	cfn.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{
		LambdaConfigurations: &[]interface{}{&awss3.CfnBucket_LambdaConfigurationProperty{
			Event:    jsii.String("s3:ObjectCreated:*"),
			Function: indexDone.FunctionArn(),
			Filter: &awss3.CfnBucket_NotificationFilterProperty{S3Key: &awss3.CfnBucket_S3KeyFilterProperty{
				Rules: &[]interface{}{&awss3.CfnBucket_FilterRuleProperty{Name: jsii.String("prefix"), Value: jsii.String(ResultsPrefix)}},
			}},
		}},
	})
	cfn.AddDependency(permission)
	output(h.stack, "IndexBucketName", h.bucketName, "S3 bucket of file indexes and worker results")
}

// addWorkerWrites lets workers in other accounts (Organization members, or
// listed member accounts) write only under indexes/<their account>/ and
// results/. Their own role policy says the same; S3 needs both sides for
// cross-account writes.
func (h *home) addWorkerWrites(bucket awss3.Bucket) {
	own := *h.bucketARN + "/" + IndexesPrefix + "${aws:PrincipalAccount}/*"
	results := *h.bucketARN + "/" + ResultsPrefix + "*"
	workerArn := h.vars.expand("arn:{partition}:iam::*:role/"+WorkerName, false)
	add := func(sid string, principals []awsiam.IPrincipal, extra map[string]interface{}) {
		cond := map[string]interface{}{"ArnLike": map[string]interface{}{"aws:PrincipalArn": workerArn}}
		for k, v := range extra {
			cond[k] = v
		}
		bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid + "Write"),
			Principals: &principals,
			Actions:    jsii.Strings("s3:PutObject", "s3:AbortMultipartUpload"),
			Resources:  jsii.Strings(own, results),
			Conditions: &cond,
		}))
		bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid + "Read"),
			Principals: &principals,
			Actions:    jsii.Strings("s3:GetObject"),
			Resources:  jsii.Strings(own),
			Conditions: &cond,
		}))
		listCond := map[string]interface{}{"StringLike": map[string]interface{}{"s3:prefix": IndexesPrefix + "${aws:PrincipalAccount}/*"}}
		for k, v := range cond {
			listCond[k] = v
		}
		bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid + "List"),
			Principals: &principals,
			Actions:    jsii.Strings("s3:ListBucket"),
			Resources:  jsii.Strings(*h.bucketARN),
			Conditions: &listCond,
		}))
	}
	if org := h.cfg.OrganizationID; org != "" {
		add("OrganizationWorkers", []awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			map[string]interface{}{"StringEquals": map[string]interface{}{"aws:PrincipalOrgID": org}})
	}
	if len(h.cfg.MemberAccounts) > 0 {
		var principals []awsiam.IPrincipal
		for _, a := range h.cfg.MemberAccounts {
			principals = append(principals, awsiam.NewAccountPrincipal(jsii.String(a)))
		}
		add("MemberAccountWorkers", principals, nil)
	}
}

// Schedule expressions of the periodic functions (EventBridge Scheduler).
const (
	TickSchedule      = "rate(1 minute)"
	ReconcileSchedule = "rate(15 minutes)"
	RetentionSchedule = "rate(1 hour)"
)

// ReportSchedule is the daily report's cron expression for a time of day in
// UTC.
func ReportSchedule(hour, minute int) string { return fmt.Sprintf("cron(%d %d * * ? *)", minute, hour) }

// addSchedules creates the EventBridge Scheduler schedules with one role
// that may invoke exactly these functions and write to the async DLQ. (The
// L2 Schedule target grants invoke on "<function>:*" as well, which would need
// a wildcard suppression for versions nobody publishes.)
func (h *home) addSchedules() {
	type sched struct{ id, fn, expr, what string }
	schedules := []sched{
		{"TickSchedule", FnTick, TickSchedule, "efskeeper tick: start due policy runs"},
		{"ReconcileSchedule", FnReconcile, ReconcileSchedule, "efskeeper reconcile: read back overdue jobs, start retries"},
		{"RetentionSchedule", FnRetention, RetentionSchedule, "efskeeper retention: expire restore points"},
		{"ReportSchedule", FnReport, ReportSchedule(h.cfg.ReportHour, h.cfg.ReportMinute), "efskeeper daily report"},
	}
	role := awsiam.NewRole(h.stack, jsii.String("SchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler invoking efskeeper's periodic functions"),
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
			&map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}}),
	})
	p := newPolicy(h.vars)
	var fns []string
	for _, s := range schedules {
		fns = append(fns, *h.functions[s.fn].FunctionArn())
	}
	p.allow("InvokePeriodicFunctions", []string{"lambda:InvokeFunction"}, fns, nil)
	p.send("DeadLetter", h.eventsDLQ)
	pol := p.attach(h.stack, "SchedulerPolicy", role)
	for _, s := range schedules {
		cs := awsscheduler.NewCfnSchedule(h.stack, jsii.String(s.id), &awsscheduler.CfnScheduleProps{
			Description:                jsii.String(s.what),
			ScheduleExpression:         jsii.String(s.expr),
			ScheduleExpressionTimezone: jsii.String("UTC"),
			FlexibleTimeWindow:         &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
			Target: &awsscheduler.CfnSchedule_TargetProperty{
				Arn:              h.functions[s.fn].FunctionArn(),
				RoleArn:          role.RoleArn(),
				DeadLetterConfig: &awsscheduler.CfnSchedule_DeadLetterConfigProperty{Arn: h.eventsDLQ.QueueArn()},
				RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
					MaximumRetryAttempts:     jsii.Number(2),
					MaximumEventAgeInSeconds: jsii.Number(3600),
				},
			},
		})
		// Scheduler checks the role when the schedule is created.
		cs.Node().AddDependency(pol)
	}
}

// addTriggers wires schedules, the AWS Backup event rule and the queues to
// their functions.
func (h *home) addTriggers() {
	h.addSchedules()

	// AWS Backup job events of the home Region, and those the Region and
	// member stacks forward here.
	awsevents.NewRule(h.stack, jsii.String("BackupJobEvents"), &awsevents.RuleProps{
		Description:  jsii.String("AWS Backup job state changes to efskeeper jobevents"),
		EventPattern: backupJobEventPattern(),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(h.functions[FnJobEvents], &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: h.eventsDLQ,
			RetryAttempts:   jsii.Number(4),
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
		})},
	})

	h.functions[FnRegionRun].AddEventSource(awslambdaeventsources.NewSqsEventSource(h.regionQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(10),
	}))
	h.functions[FnIndexLaunch].AddEventSource(awslambdaeventsources.NewSqsEventSource(h.indexQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(5),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(5),
	}))
}

// API Gateway stage throttling for the admin API: a handful of admins and a
// CLI, far below the account's Lambda concurrency.
const (
	APIRateLimit  = 20
	APIBurstLimit = 40
)

// addAPI creates the admin REST API: every method IAM-authorized (SigV4),
// proxied to the api function, with access and execution logs and
// throttling.
func (h *home) addAPI() {
	accessLogs := awslogs.NewLogGroup(h.stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(h.cfg.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	api := awsapigateway.NewRestApi(h.stack, jsii.String("AdminApi"), &awsapigateway.RestApiProps{
		RestApiName:   jsii.String("efskeeper-admin"),
		Description:   jsii.String("efskeeper admin API (IAM auth)"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// Execution logging needs the account-level API Gateway CloudWatch
		// role; CDK keeps it on destroy because other APIs may rely on it.
		CloudWatchRole: jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String("v1"),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat: awsapigateway.AccessLogFormat_JsonWithStandardFields(&awsapigateway.JsonWithStandardFieldProps{
				Caller: jsii.Bool(true), HttpMethod: jsii.Bool(true), Ip: jsii.Bool(true), Protocol: jsii.Bool(true),
				RequestTime: jsii.Bool(true), ResourcePath: jsii.Bool(true), ResponseLength: jsii.Bool(true),
				Status: jsii.Bool(true), User: jsii.Bool(true),
			}),
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false), // request bodies may hold paths and names
			MetricsEnabled:       jsii.Bool(true),
			ThrottlingRateLimit:  jsii.Number(APIRateLimit),
			ThrottlingBurstLimit: jsii.Number(APIBurstLimit),
		},
	})
	// The gateway checks the parameters and bodies the methods declare; the
	// api function validates bodies against its OpenAPI document.
	validator := awsapigateway.NewRequestValidator(h.stack, jsii.String("AdminApiRequestValidator"), &awsapigateway.RequestValidatorProps{
		RestApi:                   api,
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	integration := awsapigateway.NewLambdaIntegration(h.functions[FnAPI], nil)
	methods := &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_IAM,
		RequestValidator:  validator,
	}
	api.Root().AddMethod(jsii.String("ANY"), integration, methods)
	// Methods added one by one: the proxy's AnyMethod shortcut drops the
	// request validator of DefaultMethodOptions.
	api.Root().AddProxy(&awsapigateway.ProxyResourceOptions{AnyMethod: jsii.Bool(false)}).
		AddMethod(jsii.String("ANY"), integration, methods)
	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{
		{
			Id:     jsii.String("AwsSolutions-COG4"),
			Reason: jsii.String("Admins and the efskeeper CLI authenticate with IAM (SigV4, AuthorizationType AWS_IAM) instead of a Cognito user pool; there are no end users to pool."),
		},
		{
			Id:     jsii.String("AwsSolutions-APIG3"),
			Reason: jsii.String("Every method requires SigV4-signed IAM credentials of this account, so anonymous traffic is rejected before the integration; stage throttling limits abuse. A WAF web ACL would add cost without a rule that applies to signed admin calls."),
		},
	}, jsii.Bool(true))
	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM4"),
		Reason:    jsii.String("AWS-managed policy that API Gateway documents for its account-level CloudWatch Logs role; needed for execution logging of the stage."),
		AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"},
	}}, jsii.Bool(true))
	output(h.stack, "ApiUrl", api.Url(), "admin API endpoint (IAM auth)")
}

// addBusPolicy lets the Region stacks of this account and the member
// accounts put events on the home Region's default bus.
func (h *home) addBusPolicy() {
	busArn := h.vars.expand("arn:{partition}:events:{region}:{account}:event-bus/default", false)
	policy := func(id, sid string, principal interface{}, condition map[string]interface{}) {
		stmt := map[string]interface{}{
			"Sid":       sid,
			"Effect":    "Allow",
			"Principal": principal,
			"Action":    "events:PutEvents",
			"Resource":  busArn,
		}
		if condition != nil {
			stmt["Condition"] = condition
		}
		awsevents.NewCfnEventBusPolicy(h.stack, jsii.String(id), &awsevents.CfnEventBusPolicyProps{
			EventBusName: jsii.String("default"),
			StatementId:  jsii.String(sid),
			Statement:    stmt,
		})
	}
	policy("HomeAccountBusPolicy", "efskeeper-home-account",
		map[string]interface{}{"AWS": h.vars.expand("arn:{partition}:iam::{account}:root", false)}, nil)
	if org := h.cfg.OrganizationID; org != "" {
		policy("OrganizationBusPolicy", "efskeeper-organization", "*",
			map[string]interface{}{"StringEquals": map[string]interface{}{"aws:PrincipalOrgID": org}})
	}
	if len(h.cfg.MemberAccounts) > 0 {
		var roots []string
		for _, a := range h.cfg.MemberAccounts {
			roots = append(roots, h.vars.expand("arn:{partition}:iam::"+a+":root", false))
		}
		policy("MemberAccountsBusPolicy", "efskeeper-member-accounts", map[string]interface{}{"AWS": roots}, nil)
	}
}
