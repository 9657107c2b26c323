package stacks

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

type obj = map[string]interface{}
type arr = []interface{}

func like(m obj) assertions.Matcher { return assertions.Match_ObjectLike(&m) }
func with(a ...interface{}) assertions.Matcher {
	x := arr(a)
	return assertions.Match_ArrayWith(&x)
}

func TestTable(t *testing.T) {
	tpl := fullFixture(t).assertTemplate(t, "home")
	check(t, "one table", func() { tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1)) })
	var gsis arr
	for _, g := range TableIndexes {
		gsis = append(gsis, like(obj{
			"IndexName": g[0],
			"KeySchema": arr{
				obj{"AttributeName": g[1], "KeyType": "HASH"},
				obj{"AttributeName": g[2], "KeyType": "RANGE"},
			},
			"Projection": obj{"ProjectionType": "ALL"},
		}))
	}
	check(t, "table properties", func() {
		tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj{
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"TimeToLiveSpecification":          obj{"AttributeName": "expiresAt", "Enabled": true},
			"SSESpecification":                 obj{"SSEEnabled": true},
			"KeySchema": arr{
				obj{"AttributeName": "pk", "KeyType": "HASH"},
				obj{"AttributeName": "sk", "KeyType": "RANGE"},
			},
			"GlobalSecondaryIndexes": assertions.Match_ArrayEquals(&gsis),
		})
	})
	check(t, "table retained", func() {
		tpl.HasResource(jsii.String("AWS::DynamoDB::Table"), obj{"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
	})
}

// functionIDs maps function name -> logical id of its AWS::Lambda::Function.
func functionIDs(t *testing.T, tpl map[string]interface{}) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, spec := range Functions {
		id, ok := logicalIDOf(tpl, "AWS::Lambda::Function", constructID(spec.Name))
		if !ok {
			t.Fatalf("no function %s", spec.Name)
		}
		out[spec.Name] = id
	}
	return out
}

func TestFunctionsFollowTheContract(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	check(t, "nine functions, all arm64 provided.al2023", func() {
		tpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj{
			"Runtime":       "provided.al2023",
			"Architectures": arr{"arm64"},
			"Handler":       "bootstrap",
		}, jsii.Number(float64(len(Functions))))
		tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(float64(len(Functions))))
	})
	ids := functionIDs(t, raw)
	roles := map[string]string{}
	for _, spec := range Functions {
		fn := props(raw["Resources"].(obj)[ids[spec.Name]].(obj))
		// Environment: exactly the contract's variables plus the log level.
		vars, _ := fn["Environment"].(obj)["Variables"].(obj)
		var got, want []string
		for k := range vars {
			got = append(got, k)
		}
		want = append(want, EnvPrefix+EnvLogLevel)
		for _, k := range spec.Env {
			want = append(want, EnvPrefix+k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: environment %v, want %v", spec.Name, got, want)
		}
		if v := vars[EnvPrefix+EnvMemberRoleName]; v != nil && v != MemberRoleName {
			t.Errorf("%s: member role name %v", spec.Name, v)
		}
		if fn["Timeout"] != spec.Timeout.Seconds() || fn["MemorySize"] != float64(spec.Memory) {
			t.Errorf("%s: timeout %v memory %v, want %v %v", spec.Name, fn["Timeout"], fn["MemorySize"], spec.Timeout.Seconds(), spec.Memory)
		}
		// Own log group, with retention.
		lg := fn["LoggingConfig"].(obj)["LogGroup"]
		lgID := strings.Trim(flat(lg), "<>")
		lgRes, ok := raw["Resources"].(obj)[lgID].(obj)
		if !ok {
			t.Errorf("%s: log group %v is not in the stack", spec.Name, lg)
		} else if p := props(lgRes); p["RetentionInDays"] != float64(90) || p["LogGroupName"] != "/efskeeper/"+spec.Name {
			t.Errorf("%s: log group %v", spec.Name, p)
		}
		// Own role.
		role := flat(fn["Role"])
		if other, dup := roles[role]; dup {
			t.Errorf("%s shares role %s with %s", spec.Name, role, other)
		}
		roles[role] = spec.Name
		// Asynchronous invocations that keep failing land in the async DLQ.
		if asyncFunctions[spec.Name] != (fn["DeadLetterConfig"] != nil) {
			t.Errorf("%s: dead-letter config %v", spec.Name, fn["DeadLetterConfig"])
		}
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s      *synthesized
		fn     string
		expr   string
		fixure string
	}{
		{fullFixture(t), FnTick, "rate(1 minute)", "full"},
		{fullFixture(t), FnReconcile, "rate(15 minutes)", "full"},
		{fullFixture(t), FnRetention, "rate(1 hour)", "full"},
		{fullFixture(t), FnReport, "cron(0 7 * * ? *)", "full"},
		{minimalFixture(t), FnReport, "cron(30 21 * * ? *)", "minimal (reportTime 21:30)"},
	}
	for _, c := range cases {
		raw := c.s.template(t, "home")
		ids := functionIDs(t, raw)
		tpl := c.s.assertTemplate(t, "home")
		check(t, c.fixure+" "+c.fn+" schedule", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), obj{
				"ScheduleExpression":         c.expr,
				"ScheduleExpressionTimezone": "UTC",
				"State":                      assertions.Match_Absent(),
				"Target": like(obj{
					"Arn":              obj{"Fn::GetAtt": arr{ids[c.fn], "Arn"}},
					"DeadLetterConfig": like(obj{"Arn": assertions.Match_AnyValue()}),
				}),
			})
		})
	}
	check(t, "exactly four schedules", func() {
		fullFixture(t).assertTemplate(t, "home").ResourceCountIs(jsii.String("AWS::Scheduler::Schedule"), jsii.Number(4))
	})
}

func TestQueues(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	check(t, "every queue is encrypted", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::SQS::Queue"), obj{"SqsManagedSseEnabled": true})
	})
	queues := resources(raw, "AWS::SQS::Queue")
	if len(queues) != 5 {
		t.Errorf("%d queues, want region + index queues, their DLQs and the async DLQ", len(queues))
	}
	for qid := range queues {
		if !hasTLSOnlyPolicy(raw, "AWS::SQS::QueuePolicy", "Queues", qid) {
			t.Errorf("queue %s has no TLS-only policy", qid)
		}
	}
	// The two work queues redrive to their DLQ and hide a message for at
	// least six times the consumer's timeout.
	fns := functionIDs(t, raw)
	for _, c := range []struct{ queue, dlq, fn string }{
		{"RegionQueue", "RegionDeadLetterQueue", FnRegionRun},
		{"IndexQueue", "IndexDeadLetterQueue", FnIndexLaunch},
	} {
		qid, ok := logicalIDOf(raw, "AWS::SQS::Queue", c.queue)
		dlqID, ok2 := logicalIDOf(raw, "AWS::SQS::Queue", c.dlq)
		if !ok || !ok2 {
			t.Fatalf("no %s or %s", c.queue, c.dlq)
		}
		q := props(queues[qid])
		rp, _ := q["RedrivePolicy"].(obj)
		if rp == nil || !refersTo(rp["deadLetterTargetArn"], dlqID) || rp["maxReceiveCount"] != float64(5) {
			t.Errorf("%s: redrive policy %v, want %s after 5 receives", c.queue, rp, c.dlq)
		}
		timeout := props(raw["Resources"].(obj)[fns[c.fn]].(obj))["Timeout"].(float64)
		if vt, _ := q["VisibilityTimeout"].(float64); vt < 6*timeout {
			t.Errorf("%s: visibility timeout %v < 6 x %s timeout %v", c.queue, vt, c.fn, timeout)
		}
		check(t, c.queue+" feeds "+c.fn+" with partial batch failures", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj{
				"EventSourceArn":        obj{"Fn::GetAtt": arr{qid, "Arn"}},
				"FunctionName":          obj{"Ref": fns[c.fn]},
				"FunctionResponseTypes": arr{"ReportBatchItemFailures"},
				"ScalingConfig":         like(obj{"MaximumConcurrency": assertions.Match_AnyValue()}),
				"BatchSize":             assertions.Match_AnyValue(),
			})
		})
	}
}

func TestBackupJobEventsReachJobEvents(t *testing.T) {
	s := fullFixture(t)
	ids := functionIDs(t, s.template(t, "home"))
	tpl := s.assertTemplate(t, "home")
	check(t, "event rule", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
			"EventPattern": obj{
				"source":      arr{"aws.backup"},
				"detail-type": arr{"Backup Job State Change", "Copy Job State Change", "Restore Job State Change"},
				"detail":      obj{"$or": arr{obj{"state": arr{"ABORTED", "COMPLETED", "EXPIRED", "FAILED", "PARTIAL"}}, obj{"status": arr{obj{"exists": true}}}}},
			},
			"Targets": arr{like(obj{
				"Arn":              obj{"Fn::GetAtt": arr{ids[FnJobEvents], "Arn"}},
				"DeadLetterConfig": assertions.Match_AnyValue(),
				"RetryPolicy":      assertions.Match_AnyValue(),
			})},
		})
	})
}

func TestBusPolicy(t *testing.T) {
	full := fullFixture(t).assertTemplate(t, "home")
	check(t, "organization may put events", func() {
		full.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), obj{
			"EventBusName": "default",
			"Statement": like(obj{
				"Effect":    "Allow",
				"Principal": "*",
				"Action":    "events:PutEvents",
				"Condition": obj{"StringEquals": obj{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
			}),
		})
	})
	check(t, "listed member accounts may put events", func() {
		full.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), obj{
			"Statement": like(obj{
				"Principal": obj{"AWS": arr{obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":iam::444455556666:root"}}}}},
				"Action":    "events:PutEvents",
			}),
		})
	})
	min := minimalFixture(t).assertTemplate(t, "home")
	check(t, "no Organization statement without organizationId", func() {
		min.ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(1))
	})
}

func TestAdminAPI(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	methods := resources(raw, "AWS::ApiGateway::Method")
	if len(methods) != 2 {
		t.Errorf("%d methods, want ANY on / and on /{proxy+}", len(methods))
	}
	check(t, "every method uses IAM authorization and the request validator", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::ApiGateway::Method"), obj{
			"AuthorizationType":  "AWS_IAM",
			"RequestValidatorId": assertions.Match_AnyValue(),
			"Integration":        like(obj{"Type": "AWS_PROXY"}),
		})
	})
	check(t, "request validator", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGateway::RequestValidator"), obj{
			"ValidateRequestBody": true, "ValidateRequestParameters": true,
		})
	})
	check(t, "stage logs and throttles", func() {
		tpl.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), obj{
			"AccessLogSetting": like(obj{"DestinationArn": assertions.Match_AnyValue(), "Format": assertions.Match_AnyValue()}),
			"MethodSettings": with(like(obj{
				"HttpMethod":           "*",
				"ResourcePath":         "/*",
				"LoggingLevel":         "ERROR",
				"DataTraceEnabled":     false,
				"ThrottlingRateLimit":  APIRateLimit,
				"ThrottlingBurstLimit": APIBurstLimit,
			})),
		})
	})
}

func TestNotificationTopic(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	keyID, ok := logicalIDOf(raw, "AWS::KMS::Key", "NotificationKey")
	if !ok {
		t.Fatal("no notification key")
	}
	check(t, "topic encrypted with the rotating key", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj{"KmsMasterKeyId": obj{"Fn::GetAtt": arr{keyID, "Arn"}}})
		tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj{"EnableKeyRotation": true})
	})
	check(t, "topic requires TLS and lets CloudWatch alarms publish", func() {
		tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj{"PolicyDocument": like(obj{"Statement": with(
			like(obj{"Effect": "Deny", "Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}}}),
			like(obj{"Effect": "Allow", "Principal": obj{"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish"}),
		)})})
	})
	for _, email := range []string{"ops@example.com", "oncall@example.com"} {
		check(t, "subscription "+email, func() {
			tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj{"Protocol": "email", "Endpoint": email})
		})
	}
	check(t, "no subscriptions without notificationEmails", func() {
		minimalFixture(t).assertTemplate(t, "home").ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	})
}

func TestIndexBucket(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	ids := functionIDs(t, raw)
	blockAll := obj{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}
	check(t, "every bucket blocks public access, is encrypted and versioned", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::S3::Bucket"), obj{
			"PublicAccessBlockConfiguration": blockAll,
			"BucketEncryption":               assertions.Match_AnyValue(),
			"VersioningConfiguration":        obj{"Status": "Enabled"},
		})
	})
	check(t, "index bucket: access logs, lifecycle, results notification", func() {
		tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj{
			"LoggingConfiguration": like(obj{"DestinationBucketName": assertions.Match_AnyValue()}),
			"LifecycleConfiguration": obj{"Rules": with(
				like(obj{"NoncurrentVersionExpiration": obj{"NoncurrentDays": NoncurrentVersionDays}, "Status": "Enabled"}),
				like(obj{"Prefix": ResultsPrefix, "ExpirationInDays": ResultDays, "Status": "Enabled"}),
			)},
			"NotificationConfiguration": obj{"LambdaConfigurations": arr{obj{
				"Event":    "s3:ObjectCreated:*",
				"Function": obj{"Fn::GetAtt": arr{ids[FnIndexDone], "Arn"}},
				"Filter":   obj{"S3Key": obj{"Rules": arr{obj{"Name": "prefix", "Value": ResultsPrefix}}}},
			}}},
		})
		tpl.HasResource(jsii.String("AWS::S3::Bucket"), obj{"DeletionPolicy": "Retain", "DependsOn": assertions.Match_AnyValue()})
	})
	buckets := resources(raw, "AWS::S3::Bucket")
	if len(buckets) != 2 {
		t.Errorf("%d buckets, want the index bucket and its access-log bucket", len(buckets))
	}
	for bid := range buckets {
		if !hasTLSOnlyPolicy(raw, "AWS::S3::BucketPolicy", "Bucket", bid) {
			t.Errorf("bucket %s has no TLS-only policy", bid)
		}
	}
	// S3 may invoke indexdone for this bucket only.
	check(t, "S3 invoke permission", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), obj{
			"Principal":     "s3.amazonaws.com",
			"FunctionName":  obj{"Fn::GetAtt": arr{ids[FnIndexDone], "Arn"}},
			"SourceAccount": obj{"Ref": "AWS::AccountId"},
			"SourceArn":     assertions.Match_AnyValue(),
		})
	})
}

func TestWorkerAssetIsPassedToIndexLaunch(t *testing.T) {
	raw := fullFixture(t).template(t, "home")
	fn := props(raw["Resources"].(obj)[functionIDs(t, raw)[FnIndexLaunch]].(obj))
	vars := fn["Environment"].(obj)["Variables"].(obj)
	key := flat(vars[EnvPrefix+EnvWorkerAssetKey])
	if !regexp.MustCompile(`^[0-9a-f]{64}`).MatchString(key) {
		t.Errorf("worker asset key %q is not an asset hash", key)
	}
	if b := flat(vars[EnvPrefix+EnvWorkerAssetBucket]); !strings.Contains(b, "cdk-") || !strings.Contains(b, "-assets-") {
		t.Errorf("worker asset bucket %q is not the CDK asset bucket", b)
	}
	if vars[EnvPrefix+EnvWorkerLaunchTemplate] != WorkerName || vars[EnvPrefix+EnvWorkerProfileName] != WorkerName {
		t.Errorf("worker names %v %v", vars[EnvPrefix+EnvWorkerLaunchTemplate], vars[EnvPrefix+EnvWorkerProfileName])
	}
}

func TestLaunchTemplates(t *testing.T) {
	s := fullFixture(t)
	for _, key := range []string{"home", "region:us-east-1", "region:ap-southeast-2", "member"} {
		tpl := s.assertTemplate(t, key)
		check(t, key+" launch template", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::LaunchTemplate"), obj{
				"LaunchTemplateName": WorkerName,
				"LaunchTemplateData": like(obj{
					"MetadataOptions":                   like(obj{"HttpTokens": "required", "HttpEndpoint": "enabled"}),
					"BlockDeviceMappings":               arr{like(obj{"Ebs": like(obj{"Encrypted": true, "VolumeType": "gp3", "DeleteOnTermination": true})})},
					"ImageId":                           "resolve:ssm:" + WorkerAMIParameter,
					"InstanceInitiatedShutdownBehavior": "terminate",
					"IamInstanceProfile":                like(obj{"Arn": assertions.Match_AnyValue()}),
				}),
			})
		})
	}
	check(t, "worker profile named for RunInstances", func() {
		s.assertTemplate(t, "home").HasResourceProperties(jsii.String("AWS::IAM::InstanceProfile"), obj{"InstanceProfileName": WorkerName})
	})
}

func TestBackupRole(t *testing.T) {
	for _, key := range []string{"home", "member"} {
		tpl := fullFixture(t).assertTemplate(t, key)
		check(t, key+" backup role", func() {
			tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj{
				"RoleName": BackupRoleName,
				"AssumeRolePolicyDocument": like(obj{"Statement": arr{like(obj{
					"Principal": obj{"Service": "backup.amazonaws.com"},
				})}}),
				"ManagedPolicyArns": arr{
					obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"}}},
					obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"}}},
				},
			})
		})
	}
}

func TestAlarms(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "home")
	tpl := s.assertTemplate(t, "home")
	topic, ok := logicalIDOf(raw, "AWS::SNS::Topic", "NotificationTopic")
	if !ok {
		t.Fatal("no topic")
	}
	check(t, "every alarm notifies the topic", func() {
		tpl.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), obj{"AlarmActions": arr{obj{"Ref": topic}}})
	})
	alarms := resources(raw, "AWS::CloudWatch::Alarm")
	count := map[string]int{}
	for _, a := range alarms {
		count[flat(props(a)["MetricName"])]++
	}
	if count["ApproximateNumberOfMessagesVisible"] != 3 || count["Errors"] != len(Functions) || count[FailedSessionMetric] != 1 {
		t.Errorf("alarms by metric %v: want 3 DLQ depth, %d function errors, 1 failed sessions", count, len(Functions))
	}
	for _, name := range sessionFinishers {
		lg, ok := logicalIDOf(raw, "AWS::Logs::LogGroup", constructID(name)+"Logs")
		if !ok {
			t.Fatalf("no log group for %s", name)
		}
		check(t, name+" failed-session metric filter", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), obj{
				"LogGroupName":  obj{"Ref": lg},
				"FilterPattern": FailedSessionPattern,
				"MetricTransformations": arr{like(obj{
					"MetricNamespace": MetricNamespace, "MetricName": FailedSessionMetric, "MetricValue": "1",
				})},
			})
		})
	}
}

func TestEveryLogGroupHasRetention(t *testing.T) {
	for _, s := range []*synthesized{fullFixture(t), minimalFixture(t)} {
		want := float64(s.cfg.LogRetentionDays)
		for id, lg := range resources(s.template(t, "home"), "AWS::Logs::LogGroup") {
			if got := props(lg)["RetentionInDays"]; got != want {
				t.Errorf("log group %s retention %v, want %v", id, got, want)
			}
		}
	}
}

// hasTLSOnlyPolicy reports whether a resource policy of type policyType whose
// property prop names the resource id denies requests without TLS.
func hasTLSOnlyPolicy(tpl obj, policyType, prop, id string) bool {
	for _, pol := range resources(tpl, policyType) {
		if !refersTo(props(pol)[prop], id) {
			continue
		}
		for _, st := range allStatements(obj{"Resources": obj{"p": pol}}) {
			c, _ := st.condition()["Bool"].(obj)
			if st.body["Effect"] == "Deny" && c["aws:SecureTransport"] == "false" {
				return true
			}
		}
	}
	return false
}
