package stacks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Stack and stage names. The member stack sits in its own stage so that
// `cdk deploy --all` (top-level stacks only) never deploys it into the home
// account; its template is cdk.out/assembly-Member/EfskeeperMember.template.json.
const (
	HomeStackName     = "Efskeeper"
	RegionStackPrefix = "Efskeeper-"
	MemberStageName   = "Member"
	MemberStackName   = "EfskeeperMember"
)

// featureFlags are CDK behaviours the stacks rely on, set in code so that
// tests and `cdk synth` build the same templates.
var featureFlags = map[string]interface{}{
	// Grant S3 server access logging through the bucket policy (works with
	// BucketOwnerEnforced) instead of the log-delivery ACL.
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
}

// NewApp creates the CDK app with the feature flags the stacks rely on.
// context adds values (tests pass their configuration this way; the CLI
// passes cdk.json and -c values through the environment, which win).
func NewApp(context map[string]interface{}) awscdk.App {
	ctx := map[string]interface{}{}
	for k, v := range featureFlags {
		ctx[k] = v
	}
	for k, v := range context {
		ctx[k] = v
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
}

// Deployment is every stack of one configuration.
type Deployment struct {
	Home    awscdk.Stack
	Regions map[string]awscdk.Stack
	Member  awscdk.Stack
}

// Stacks lists every stack, home first.
func (d Deployment) Stacks() []awscdk.Stack {
	out := []awscdk.Stack{d.Home}
	var regions []string
	for r := range d.Regions {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		out = append(out, d.Regions[r])
	}
	return append(out, d.Member)
}

// Build adds every stack of cfg to app and applies the AwsSolutions nag pack
// to each.
func Build(app awscdk.App, cfg Config) Deployment {
	var env *awscdk.Environment
	if cfg.Account != "" || cfg.HomeRegion != "" {
		env = &awscdk.Environment{}
		if cfg.Account != "" {
			env.Account = jsii.String(cfg.Account)
		}
		if cfg.HomeRegion != "" {
			env.Region = jsii.String(cfg.HomeRegion)
		}
	}
	d := Deployment{Regions: map[string]awscdk.Stack{}}
	d.Home = NewHomeStack(app, HomeStackName, &HomeStackProps{
		StackProps: awscdk.StackProps{
			Env:         env,
			Description: jsii.String("efskeeper: policy-driven protection for Amazon EFS on AWS Backup (home)"),
		},
		Config: cfg,
	})
	for _, r := range cfg.ExtraRegions() {
		regionEnv := &awscdk.Environment{Region: jsii.String(r)}
		if cfg.Account != "" {
			regionEnv.Account = jsii.String(cfg.Account)
		}
		s := NewRegionStack(app, RegionStackPrefix+r, &RegionStackProps{
			StackProps: awscdk.StackProps{
				Env:         regionEnv,
				Description: jsii.String("efskeeper: AWS Backup event forwarding and indexing worker in " + r),
			},
			HomeRegion: cfg.HomeRegion,
		})
		s.AddDependency(d.Home, jsii.String("the home event bus receives this Region's events"))
		d.Regions[r] = s
	}
	stage := awscdk.NewStage(app, jsii.String(MemberStageName), nil)
	d.Member = NewMemberStack(stage, MemberStackName, &MemberStackProps{OrganizationID: cfg.OrganizationID})
	for _, s := range d.Stacks() {
		ApplyNag(s)
	}
	return d
}

// ApplyNag runs the AwsSolutions rules on every resource of stack when the
// app synthesizes; findings become error or warning annotations.
func ApplyNag(stack awscdk.Stack) {
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Finding is one error annotation of a synthesized stack.
type Finding struct {
	Stack, Path, Message string
}

func (f Finding) String() string { return f.Stack + " " + f.Path + ": " + f.Message }

// Errors returns the error annotations (cdk-nag findings that are not
// suppressed, and any other synthesis error) of every stack in the assembly,
// nested stages included.
func Errors(asm cxapi.CloudAssembly) []Finding {
	var out []Finding
	for _, st := range *asm.StacksRecursively() {
		for _, m := range *st.Messages() {
			if m.Level != cxapi.SynthesisMessageLevel_ERROR {
				continue
			}
			out = append(out, Finding{Stack: *st.HierarchicalId(), Path: *m.Id, Message: messageText(m.Entry.Data)})
		}
	}
	return out
}

func messageText(data interface{}) string {
	if s, ok := data.(string); ok {
		return strings.TrimSpace(s)
	}
	return fmt.Sprint(data)
}
