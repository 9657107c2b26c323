package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// Metric of Sessions that ended Failed, counted from the function logs.
const (
	MetricNamespace     = "efskeeper"
	FailedSessionMetric = "FailedSessions"
)

// sessionFinishers are the functions that can end a Session: jobevents on a
// terminal job event, reconcile when it times tasks out.
var sessionFinishers = []string{FnJobEvents, FnReconcile}

// addAlarms notifies the topic when messages pile up in a dead-letter queue,
// a function errors, or a Session ends Failed.
func (h *home) addAlarms() {
	action := awscloudwatchactions.NewSnsAction(h.topic)
	alarm := func(id, description string, metric awscloudwatch.IMetric) {
		a := awscloudwatch.NewAlarm(h.stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	fiveMinutes := awscdk.Duration_Minutes(jsii.Number(5))
	for _, q := range []struct {
		id    string
		queue awssqs.Queue
		what  string
	}{
		{"RegionDeadLetterAlarm", h.regionDLQ, "region runs that failed five times"},
		{"IndexDeadLetterAlarm", h.indexDLQ, "index launches that failed five times"},
		{"AsyncDeadLetterAlarm", h.eventsDLQ, "scheduled, event or S3 invocations that failed after retries"},
	} {
		alarm(q.id, "efskeeper dead-letter queue holds "+q.what,
			q.queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
				Period: fiveMinutes, Statistic: jsii.String("Maximum"),
			}))
	}
	for _, spec := range Functions {
		alarm(constructID(spec.Name)+"ErrorAlarm", "efskeeper "+spec.Name+" function errors",
			h.functions[spec.Name].MetricErrors(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}))
	}
	for _, name := range sessionFinishers {
		awslogs.NewMetricFilter(h.stack, jsii.String(constructID(name)+"FailedSessionFilter"), &awslogs.MetricFilterProps{
			LogGroup:        h.logGroups[name],
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(FailedSessionPattern)),
			MetricNamespace: jsii.String(MetricNamespace),
			MetricName:      jsii.String(FailedSessionMetric),
			MetricValue:     jsii.String("1"),
		})
	}
	alarm("FailedSessionAlarm", "an efskeeper session finished Failed",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:  jsii.String(MetricNamespace),
			MetricName: jsii.String(FailedSessionMetric),
			Period:     fiveMinutes,
			Statistic:  jsii.String("Sum"),
		}))
}
