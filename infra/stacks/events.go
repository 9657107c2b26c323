package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// backupJobEventPattern matches the AWS Backup job events jobevents handles.
func backupJobEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.backup"),
		DetailType: jsii.Strings(backupJobDetailTypes...),
	}
}

// homeBusArnPattern is the home Region's default event bus.
const homeBusArnPattern = "arn:{partition}:events:{homeRegion}:{homeAccount}:event-bus/default"

// newBackupEventForwarder forwards this account's and Region's AWS Backup
// job events to the home default bus, where the jobevents rule picks them up.
// EventBridge needs a role to put events on a bus in another Region or
// account; CDK creates one allowed to events:PutEvents on that bus only.
// Events lost on the way are caught by reconcile, which reads jobs back.
func newBackupEventForwarder(scope constructs.Construct, homeBusArn *string) awsevents.Rule {
	rule := awsevents.NewRule(scope, jsii.String("ForwardBackupJobEvents"), &awsevents.RuleProps{
		Description:  jsii.String("Forward AWS Backup job state changes to efskeeper's home event bus"),
		EventPattern: backupJobEventPattern(),
	})
	bus := awsevents.EventBus_FromEventBusArn(scope, jsii.String("HomeEventBus"), homeBusArn)
	rule.AddTarget(awseventstargets.NewEventBus(bus, nil))
	return rule
}
