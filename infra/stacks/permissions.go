package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// arnVars fills the {placeholders} of ARN patterns. Each value is kept twice:
// as the CloudFormation token that goes into the template, and as cdk-nag
// prints it in a finding, so that a wildcard suppression names exactly the
// resource it allows and nothing else.
type arnVars map[string]arnVar

type arnVar struct{ token, nag string }

// pseudoVars are the stack's own partition, account and Region.
func pseudoVars() arnVars {
	return arnVars{
		"partition": {*awscdk.Aws_PARTITION(), "<AWS::Partition>"},
		"account":   {*awscdk.Aws_ACCOUNT_ID(), "<AWS::AccountId>"},
		"region":    {*awscdk.Aws_REGION(), "<AWS::Region>"},
	}
}

// with returns a copy with one more placeholder.
func (v arnVars) with(name, token, nag string) arnVars {
	out := arnVars{}
	for k, x := range v {
		out[k] = x
	}
	out[name] = arnVar{token, nag}
	return out
}

func (v arnVars) expand(pattern string, nag bool) string {
	out := pattern
	for name, x := range v {
		val := x.token
		if nag {
			val = x.nag
		}
		out = strings.ReplaceAll(out, "{"+name+"}", val)
	}
	return out
}

// ARN patterns used by more than one policy.
const (
	arnAnyVault         = "arn:{partition}:backup:*:{account}:backup-vault:*"
	arnAnyRecoveryPoint = "arn:{partition}:backup:*:{account}:recovery-point:*"
	arnAnyFileSystem    = "arn:{partition}:elasticfilesystem:*:{account}:file-system/*"
	arnBackupRole       = "arn:{partition}:iam::{account}:role/" + BackupRoleName
	arnWorkerRole       = "arn:{partition}:iam::{account}:role/" + WorkerName
	arnIndexBucket      = "arn:{partition}:s3:::{bucket}"
	arnAMIParameter     = "arn:{partition}:ssm:*::parameter" + WorkerAMIParameter
	arnAnyMemberRole    = "arn:{partition}:iam::*:role/" + MemberRoleName
	arnAllIndexes       = arnIndexBucket + "/" + IndexesPrefix + "*"
	arnOwnIndexes       = arnIndexBucket + "/" + IndexesPrefix + "{account}/*"
	arnAllResults       = arnIndexBucket + "/" + ResultsPrefix + "*"
	arnEC2Instances     = "arn:{partition}:ec2:*:{account}:instance/*"
	arnEC2Volumes       = "arn:{partition}:ec2:*:{account}:volume/*"
	arnEC2Interfaces    = "arn:{partition}:ec2:*:{account}:network-interface/*"
	arnEC2Subnets       = "arn:{partition}:ec2:*:{account}:subnet/*"
	arnEC2Groups        = "arn:{partition}:ec2:*:{account}:security-group/*"
	arnEC2Templates     = "arn:{partition}:ec2:*:{account}:launch-template/*"
	arnEC2Images        = "arn:{partition}:ec2:*::image/*"
)

// policy collects the statements of one role and the wildcard resources they
// use, so that the role's cdk-nag suppression names exactly those resources,
// each with the reason it cannot be narrower and the actions it is used for.
type policy struct {
	vars       arnVars
	statements []awsiam.PolicyStatement
	sids       map[string]bool
	wildcards  map[string]*wildcard // by finding
	order      []string
}

type wildcard struct {
	reason  string
	actions []string
}

func newPolicy(v arnVars) *policy {
	return &policy{vars: v, sids: map[string]bool{}, wildcards: map[string]*wildcard{}}
}

// conditions are IAM condition blocks: operator -> key -> value. Values are
// expanded like resources.
type conditions map[string]map[string]string

// allow adds a statement unless one with the same Sid is already there (use
// cases share statements such as PassBackupRole). Resources are ARN patterns
// expanded with the policy's vars, or CloudFormation tokens. A resource with a
// "*" must have a reason in wildcardReasons.
func (p *policy) allow(sid string, actions []string, resources []string, cond conditions) {
	if p.sids[sid] {
		return
	}
	p.sids[sid] = true
	var res []*string
	for _, r := range resources {
		res = append(res, jsii.String(p.vars.expand(r, false)))
		if !strings.Contains(r, "*") {
			continue
		}
		reason, ok := wildcardReasons[r]
		if !ok {
			panic("stacks: statement " + sid + " has wildcard resource " + r + " without a reason in wildcardReasons")
		}
		finding := "Resource::" + p.vars.expand(r, true)
		w := p.wildcards[finding]
		if w == nil {
			w = &wildcard{reason: reason}
			p.wildcards[finding] = w
			p.order = append(p.order, finding)
		}
		w.actions = append(w.actions, actions...)
	}
	props := &awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &res,
	}
	if len(cond) > 0 {
		c := map[string]interface{}{}
		for op, kv := range cond {
			m := map[string]interface{}{}
			for k, v := range kv {
				m[k] = p.vars.expand(v, false)
			}
			c[op] = m
		}
		props.Conditions = &c
	}
	p.statements = append(p.statements, awsiam.NewPolicyStatement(props))
}

// attach puts the statements into an inline policy of role and suppresses
// AwsSolutions-IAM5 for exactly the wildcard resources the statements use.
func (p *policy) attach(scope constructs.Construct, id string, role awsiam.IRole) awsiam.Policy {
	pol := awsiam.NewPolicy(scope, jsii.String(id), &awsiam.PolicyProps{
		Statements: &p.statements,
		Roles:      &[]awsiam.IRole{role},
	})
	if sups := p.suppressions(); len(sups) > 0 {
		cdknag.NagSuppressions_AddResourceSuppressions(pol, &sups, jsii.Bool(false))
	}
	return pol
}

func (p *policy) suppressions() []*cdknag.NagPackSuppression {
	var sups []*cdknag.NagPackSuppression
	for _, finding := range p.order {
		w := p.wildcards[finding]
		sups = append(sups, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(w.reason + " Used for: " + strings.Join(uniq(w.actions), ", ") + "."),
			AppliesTo: &[]interface{}{finding},
		})
	}
	return sups
}

func uniq(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Reasons for wildcard resources, shared by home function roles and the
// member role.
const (
	whyNoResourceLevel = "These actions do not support resource-level permissions (IAM service authorization reference), so the resource must be *."
	whyVaults          = "Backup vaults are named by each policy at run time and differ per account and Region; the pattern is limited to this account's vaults."
	whyRecoveryPoints  = "Recovery points are created at run time with generated ids; the pattern is limited to this account's recovery points, and the code only touches points tagged by efskeeper."
	whyFileSystems     = "File systems are selected by each policy (ids or tags) at run time; the pattern is limited to this account's file systems, and the actions only describe them or mount them read-only."
	whyRunInstances    = "RunInstances creates the instance, volume and network interface with generated ids and uses the subnet and security group the network preflight picks; every pattern is limited to this account, and the worker role it can pass is fixed."
	whyAMI             = "The launch template resolves the public Amazon Linux 2023 AMI parameter at launch in whichever Region the worker runs; the parameter name is fixed, only the Region is a wildcard."
	whyMemberRole      = "efskeeper assumes its fixed member role in the accounts a policy names, chosen at run time; the role name is fixed and the role trusts only efskeeper's function roles."
	whyIndexObjects    = "Index and result objects are written per file system and run at run time under fixed prefixes; the pattern is limited to those prefixes of the index bucket."
)

// wildcardReasons says, for every wildcard resource pattern a statement may
// use, why it cannot be narrower. allow refuses a wildcard not listed here.
var wildcardReasons = map[string]string{
	"*":                 whyNoResourceLevel,
	arnAnyVault:         whyVaults,
	arnAnyRecoveryPoint: whyRecoveryPoints,
	arnAnyFileSystem:    whyFileSystems,
	arnAMIParameter:     whyAMI,
	arnAnyMemberRole:    whyMemberRole,
	arnAllIndexes:       whyIndexObjects,
	arnOwnIndexes:       whyIndexObjects,
	arnAllResults:       whyIndexObjects,
	arnEC2Instances:     whyRunInstances,
	arnEC2Volumes:       whyRunInstances,
	arnEC2Interfaces:    whyRunInstances,
	arnEC2Subnets:       whyRunInstances,
	arnEC2Groups:        whyRunInstances,
	arnEC2Templates:     whyRunInstances,
	arnEC2Images:        whyRunInstances,
}

// Permission sets, one per use-case. The policy's vars supply {partition} and
// {account} (the account whose resources are touched: the home stack and the
// member stack each pass their own) and {bucket} (the home index bucket).

func (p *policy) runRegion() {
	p.allow("StartBackupInVault", []string{"backup:StartBackupJob"}, []string{arnAnyVault}, nil)
	p.allow("InspectVaults", []string{"backup:DescribeBackupVault", "backup:GetBackupVaultAccessPolicy", "backup:ListTags"},
		[]string{arnAnyVault}, nil)
	p.allow("RegionSettingsAndVaultList", []string{"backup:ListBackupVaults", "backup:DescribeRegionSettings", "backup:UpdateRegionSettings"},
		[]string{"*"}, nil)
	p.allow("DescribeFileSystems", []string{"elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeMountTargets",
		"elasticfilesystem:DescribeMountTargetSecurityGroups", "elasticfilesystem:DescribeTags",
		"elasticfilesystem:ListTagsForResource"}, []string{arnAnyFileSystem}, nil)
	p.passBackupRole()
}

func (p *policy) passBackupRole() {
	p.allow("PassBackupRole", []string{"iam:PassRole"}, []string{arnBackupRole},
		conditions{"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}})
}

// completeJobs is what turning a job's terminal state into the next step
// needs: reading jobs back and starting copies (jobevents, reconcile).
func (p *policy) completeJobs() {
	p.allow("StartCopy", []string{"backup:StartCopyJob"}, []string{arnAnyRecoveryPoint}, nil)
	p.allow("DescribeJobs", []string{"backup:DescribeBackupJob", "backup:DescribeCopyJob", "backup:DescribeRestoreJob"},
		[]string{"*"}, nil)
	p.passBackupRole()
}

func (p *policy) expire() {
	p.allow("ExpireRecoveryPoints", []string{"backup:DeleteRecoveryPoint", "backup:DescribeRecoveryPoint", "backup:ListTags"},
		[]string{arnAnyRecoveryPoint}, nil)
	p.allow("ListRecoveryPoints", []string{"backup:ListRecoveryPointsByBackupVault"}, []string{arnAnyVault}, nil)
}

func (p *policy) restore() {
	p.allow("StartRestore", []string{"backup:StartRestoreJob"}, []string{arnAnyRecoveryPoint}, nil)
	p.allow("RestoreMetadata", []string{"backup:GetRecoveryPointRestoreMetadata"}, []string{arnAnyRecoveryPoint, arnAnyVault}, nil)
	p.allow("ListRecoveryPoints", []string{"backup:ListRecoveryPointsByBackupVault"}, []string{arnAnyVault}, nil)
	p.allow("DescribeRestoreJobs", []string{"backup:DescribeRestoreJob"}, []string{"*"}, nil)
	p.passBackupRole()
}

// launchIndex is the network preflight and the worker launch (indexlaunch).
func (p *policy) launchIndex() {
	p.allow("NetworkPreflight", []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
		"ec2:DescribeInternetGateways", "ec2:DescribeVpcEndpoints", "ec2:DescribeSecurityGroups",
		"ec2:DescribeNetworkInterfaceAttribute", "ec2:DescribeVpcAttribute"}, []string{"*"}, nil)
	p.allow("RunWorker", []string{"ec2:RunInstances"}, []string{arnEC2Instances, arnEC2Volumes, arnEC2Interfaces,
		arnEC2Subnets, arnEC2Groups, arnEC2Templates, arnEC2Images}, nil)
	p.allow("TagWorkerAtLaunch", []string{"ec2:CreateTags"}, []string{arnEC2Instances, arnEC2Volumes, arnEC2Interfaces},
		conditions{"StringEquals": {"ec2:CreateAction": "RunInstances"}})
	p.allow("PassWorkerRole", []string{"iam:PassRole"}, []string{arnWorkerRole},
		conditions{"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})
	p.allow("ResolveWorkerAMI", []string{"ssm:GetParameters"}, []string{arnAMIParameter}, nil)
	p.allow("FindMountTargets", []string{"elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups"},
		[]string{arnAnyFileSystem}, nil)
}

// memberUseCases is everything the functions do inside a member account
// through the member role: the union of the per-function sets, scoped to the
// member account.
func (p *policy) memberUseCases() {
	p.runRegion()
	p.completeJobs()
	p.expire()
	p.restore()
	p.launchIndex()
}

// workerAccess is what the indexing worker does: mount file systems read-only
// and write its index and result into the home index bucket.
func (p *policy) workerAccess() {
	p.allow("MountReadOnly", []string{"elasticfilesystem:ClientMount"}, []string{arnAnyFileSystem}, nil)
	p.allow("WriteOwnIndexAndResult", []string{"s3:PutObject", "s3:AbortMultipartUpload"}, []string{arnOwnIndexes, arnAllResults}, nil)
	p.allow("ReadOwnIndexes", []string{"s3:GetObject"}, []string{arnOwnIndexes}, nil)
	p.allow("ListOwnIndexes", []string{"s3:ListBucket"}, []string{arnIndexBucket},
		conditions{"StringLike": {"s3:prefix": IndexesPrefix + "{account}/*"}})
}
