package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
)

// backupJobEventPattern matches the AWS Backup job events jobevents acts
// on, as awsevent.Delivered says: Backup and Copy Job State Change events
// in a terminal state (about two in three events of a backup are CREATED,
// PENDING or RUNNING, which the engine drops; filtering them here saves
// their invocations and, from member Regions, their cross-Region
// deliveries), and Restore Job State Change events with a status.
func backupJobEventPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.backup"),
		DetailType: jsii.Strings(backupJobDetailTypes...),
		Detail:     &backupJobEventDetail,
	}
}

// backupJobEventDetail is the detail part of backupJobEventPattern.
var backupJobEventDetail = map[string]interface{}{
	"$or": []interface{}{
		map[string]interface{}{"state": awsevent.TerminalJobStates},
		map[string]interface{}{"status": []interface{}{map[string]interface{}{"exists": true}}},
	},
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
