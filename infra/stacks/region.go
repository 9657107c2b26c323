package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// RegionStackProps configures a Region stack. StackProps.Env.Region is the
// Region it deploys to.
type RegionStackProps struct {
	awscdk.StackProps
	// HomeRegion is where the home stack's event bus is.
	HomeRegion string
}

// NewRegionStack creates what the home account needs in another Region:
// forwarding of AWS Backup job events to the home bus, and the worker launch
// template (the worker role and profile are global, from the home stack).
func NewRegionStack(scope constructs.Construct, id string, props *RegionStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	vars := pseudoVars().
		with("homeRegion", props.HomeRegion, props.HomeRegion).
		with("homeAccount", *awscdk.Aws_ACCOUNT_ID(), "<AWS::AccountId>")
	newBackupEventForwarder(stack, jsii.String(vars.expand(homeBusArnPattern, false)))
	newWorkerLaunchTemplate(stack)
	return stack
}
