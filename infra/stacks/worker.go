package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WorkerInstanceType is the launch template's default; a worker
// configuration's instanceType overrides it at RunInstances.
const WorkerInstanceType = "m7g.large"

// WorkerVolumeGiB is the root volume size: the AMI needs 8 GiB, the rest is
// room for the index being built before upload.
const WorkerVolumeGiB = 16

// newWorkerLaunchTemplate creates the launch template efskeeper-worker in the
// stack's Region. The AMI is resolved from the public SSM parameter at each
// launch, so every worker boots a current Amazon Linux 2023 without a
// redeploy. The instance profile is referenced by name: the role is global
// and created once per account (home stack, or the member stack in its home
// Region).
func newWorkerLaunchTemplate(scope constructs.Construct) awsec2.LaunchTemplate {
	lt := awsec2.NewLaunchTemplate(scope, jsii.String("WorkerLaunchTemplate"), &awsec2.LaunchTemplateProps{
		LaunchTemplateName: jsii.String(WorkerName),
		VersionDescription: jsii.String("efskeeper indexing worker: IMDSv2 only, encrypted gp3 root, terminates on shutdown"),
		MachineImage: awsec2.MachineImage_ResolveSsmParameterAtLaunch(jsii.String(WorkerAMIParameter),
			&awsec2.SsmParameterImageOptions{Os: awsec2.OperatingSystemType_LINUX}),
		InstanceType: awsec2.NewInstanceType(jsii.String(WorkerInstanceType)),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume: awsec2.BlockDeviceVolume_Ebs(jsii.Number(WorkerVolumeGiB), &awsec2.EbsDeviceOptions{
				Encrypted:           jsii.Bool(true),
				VolumeType:          awsec2.EbsDeviceVolumeType_GP3,
				DeleteOnTermination: jsii.Bool(true),
			}),
		}},
		RequireImdsv2:           jsii.Bool(true),
		HttpTokens:              awsec2.LaunchTemplateHttpTokens_REQUIRED,
		HttpEndpoint:            jsii.Bool(true),
		HttpPutResponseHopLimit: jsii.Number(1),
		// The worker powers itself off when done; terminate so nothing is
		// left running or billed. indexlaunch sets it at RunInstances too.
		InstanceInitiatedShutdownBehavior: awsec2.InstanceInitiatedShutdownBehavior_TERMINATE,
		InstanceProfile:                   awsiam.InstanceProfile_FromInstanceProfileName(scope, jsii.String("WorkerProfileByName"), jsii.String(WorkerName)),
	})
	awscdk.Tags_Of(lt).Add(jsii.String("Name"), jsii.String(WorkerName), nil)
	awscdk.Tags_Of(lt).Add(jsii.String("efskeeper:role"), jsii.String("worker"), nil)
	return lt
}

// newWorkerRole creates the worker's role and instance profile, both named
// efskeeper-worker. extra adds statements that only exist in one stack (the
// home stack's worker reads the worker binary asset directly).
func newWorkerRole(scope constructs.Construct, vars arnVars, extra func(*policy)) (awsiam.Role, awsiam.InstanceProfile) {
	role := awsiam.NewRole(scope, jsii.String("WorkerRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(WorkerName),
		Description: jsii.String("efskeeper indexing worker: mounts EFS read-only, writes its index and result"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
	})
	p := newPolicy(vars)
	p.workerAccess()
	if extra != nil {
		extra(p)
	}
	p.attach(scope, "WorkerPolicy", role)
	profile := awsiam.NewInstanceProfile(scope, jsii.String("WorkerProfile"), &awsiam.InstanceProfileProps{
		InstanceProfileName: jsii.String(WorkerName),
		Role:                role,
	})
	return role, profile
}
