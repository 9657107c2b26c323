package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MemberStackProps configures the member stack.
type MemberStackProps struct {
	awscdk.StackProps
	// OrganizationID becomes the default of the OrganizationId parameter.
	OrganizationID string
}

// Member stack parameter names (the StackSet passes them).
const (
	ParamHomeAccountID  = "HomeAccountId"
	ParamHomeRegion     = "HomeRegion"
	ParamOrganizationID = "OrganizationId"
)

// NewMemberStack creates the template that StackSets roll out to member
// accounts, in every Region efskeeper protects. It has no assets and needs no
// CDK bootstrap. IAM is global, so the roles and the instance profile are
// created only by the stack instance in the home Region (condition
// InHomeRegion); the event forwarding rule and the launch template are
// regional and exist in every instance.
func NewMemberStack(scope constructs.Construct, id string, props *MemberStackProps) awscdk.Stack {
	sp := props.StackProps
	sp.Synthesizer = awscdk.NewBootstraplessSynthesizer(nil)
	sp.AnalyticsReporting = jsii.Bool(false)
	if sp.Description == nil {
		sp.Description = jsii.String("efskeeper member account: role efskeeper assumes, AWS Backup role, indexing worker, event forwarding to the home account")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)

	homeAccount := awscdk.NewCfnParameter(stack, jsii.String(ParamHomeAccountID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		AllowedPattern: jsii.String(accountRE.String()),
		Description:    jsii.String("Account of the efskeeper home stack"),
	})
	homeRegion := awscdk.NewCfnParameter(stack, jsii.String(ParamHomeRegion), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		AllowedPattern: jsii.String(regionRE.String()),
		Description:    jsii.String("Region of the efskeeper home stack; account-wide roles are created by the stack instance in this Region"),
	})
	orgID := awscdk.NewCfnParameter(stack, jsii.String(ParamOrganizationID), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String(props.OrganizationID),
		AllowedPattern: jsii.String("^(o-[a-z0-9]{10,32})?$"),
		Description:    jsii.String("Organization of the home account; when set, only principals of this Organization may assume the member role"),
	})
	hasOrg := awscdk.NewCfnCondition(stack, jsii.String("HasOrganizationId"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(orgID.ValueAsString(), jsii.String(""))),
	})
	inHomeRegion := awscdk.NewCfnCondition(stack, jsii.String("InHomeRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), homeRegion.ValueAsString()),
	})

	home, region := *homeAccount.ValueAsString(), *homeRegion.ValueAsString()
	vars := pseudoVars().
		with("homeAccount", home, "<"+ParamHomeAccountID+">").
		with("homeRegion", region, "<"+ParamHomeRegion+">").
		with("bucket", "efskeeper-index-"+home+"-"+region, "efskeeper-index-<"+ParamHomeAccountID+">-<"+ParamHomeRegion+">")

	accountWide := constructs.NewConstruct(stack, jsii.String("AccountWide"))
	trust := awsiam.NewPrincipalWithConditions(awsiam.NewAccountPrincipal(homeAccount.ValueAsString()), &map[string]interface{}{
		"ArnLike": map[string]interface{}{
			"aws:PrincipalArn": vars.expand("arn:{partition}:iam::{homeAccount}:role/"+FunctionRolePrefix+"*", false),
		},
		"StringEquals": awscdk.Fn_ConditionIf(hasOrg.LogicalId(),
			map[string]interface{}{"aws:PrincipalOrgID": orgID.ValueAsString()}, awscdk.Aws_NO_VALUE()),
	})
	memberRole := awsiam.NewRole(accountWide, jsii.String("MemberRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(MemberRoleName),
		Description: jsii.String("Role efskeeper's functions in the home account assume to back up, copy, expire, index and restore here"),
		AssumedBy:   trust,
	})
	p := newPolicy(vars)
	p.memberUseCases()
	p.attach(accountWide, "MemberPolicy", memberRole)
	newBackupRole(accountWide)
	newWorkerRole(accountWide, vars, nil)
	for _, c := range *accountWide.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if res, ok := c.(awscdk.CfnResource); ok {
			res.CfnOptions().SetCondition(inHomeRegion)
		}
	}

	newBackupEventForwarder(stack, jsii.String(vars.expand(homeBusArnPattern, false)))
	newWorkerLaunchTemplate(stack)
	return stack
}
