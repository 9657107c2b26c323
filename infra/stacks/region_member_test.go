package stacks

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestRegionStacks(t *testing.T) {
	s := fullFixture(t)
	if got := keys(s.d.Regions); strings.Join(got, ",") != "ap-southeast-2,us-east-1" {
		t.Errorf("Region stacks for %v, want every configured Region except the home Region", got)
	}
	if _, ok := s.templates["region:eu-west-1"]; ok {
		t.Error("a Region stack for the home Region")
	}
	for _, r := range []string{"us-east-1", "ap-southeast-2"} {
		key := "region:" + r
		raw := s.template(t, key)
		tpl := s.assertTemplate(t, key)
		roleID, ok := logicalIDOf(raw, "AWS::IAM::Role", "ForwardBackupJobEventsEventsRole")
		if !ok {
			t.Fatalf("%s: no forwarding role", key)
		}
		homeBus := obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":events:eu-west-1:", obj{"Ref": "AWS::AccountId"}, ":event-bus/default"}}}
		check(t, key+" forwards backup job events to the home bus", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
				"EventPattern": obj{
					"source":      arr{"aws.backup"},
					"detail-type": arr{"Backup Job State Change", "Copy Job State Change", "Restore Job State Change"},
					"detail":      obj{"$or": arr{obj{"state": arr{"ABORTED", "COMPLETED", "EXPIRED", "FAILED", "PARTIAL"}}, obj{"status": arr{obj{"exists": true}}}}},
				},
				"Targets": arr{like(obj{"Arn": homeBus, "RoleArn": obj{"Fn::GetAtt": arr{roleID, "Arn"}}})},
			})
			tpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj{
				"PolicyDocument": like(obj{"Statement": arr{like(obj{"Action": "events:PutEvents", "Resource": homeBus})}}),
			})
		})
		if n := len(resources(raw, "AWS::Lambda::Function")); n != 0 {
			t.Errorf("%s has %d functions; everything runs in the home Region", key, n)
		}
	}
}

func TestMemberStackIsAStandaloneStackSetTemplate(t *testing.T) {
	s := fullFixture(t)
	raw := s.template(t, "member")
	tpl := s.assertTemplate(t, "member")
	params, _ := raw["Parameters"].(obj)
	var names []string
	for k := range params {
		names = append(names, k)
	}
	if got := strings.Join(keys(params), ","); got != "HomeAccountId,HomeRegion,OrganizationId" {
		t.Errorf("parameters %v, want HomeAccountId, HomeRegion, OrganizationId (no bootstrap or asset parameters)", got)
	}
	if raw["Rules"] != nil {
		t.Errorf("template has Rules %v (a bootstrap version check cannot pass in member accounts)", raw["Rules"])
	}
	if p := params[ParamOrganizationID].(obj); p["Default"] != "o-a1b2c3d4e5" {
		t.Errorf("OrganizationId default %v, want the context organizationId", p["Default"])
	}
	st := s.asm.GetStackArtifact(s.d.Member.ArtifactId())
	if deps := *st.Dependencies(); len(deps) != 0 {
		for _, d := range deps {
			if strings.Contains(*d.Id(), "assets") {
				t.Errorf("member stack has an asset manifest %s; StackSets cannot publish assets", *d.Id())
			}
		}
	}
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::CDK::Metadata"} {
		if n := len(resources(raw, typ)); n != 0 {
			t.Errorf("member stack has %d %s", n, typ)
		}
	}

	check(t, "member role trusts only efskeeper's function roles of the home account, in the Organization", func() {
		tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj{
			"RoleName": MemberRoleName,
			"AssumeRolePolicyDocument": like(obj{"Statement": arr{obj{
				"Action":    "sts:AssumeRole",
				"Effect":    "Allow",
				"Principal": obj{"AWS": obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":iam::", obj{"Ref": "HomeAccountId"}, ":root"}}}},
				"Condition": obj{
					"ArnLike": obj{"aws:PrincipalArn": obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":iam::", obj{"Ref": "HomeAccountId"}, ":role/efskeeper-fn-*"}}}},
					"StringEquals": obj{"Fn::If": arr{"HasOrganizationId",
						obj{"aws:PrincipalOrgID": obj{"Ref": "OrganizationId"}}, obj{"Ref": "AWS::NoValue"}}},
				},
			}}}),
		})
	})
	// IAM is global: roles and profiles only in the home Region's instance.
	for id, r := range raw["Resources"].(obj) {
		res := r.(obj)
		typ := res["Type"].(string)
		global := strings.HasPrefix(id, "AccountWide")
		if strings.HasPrefix(typ, "AWS::IAM::") && global != (res["Condition"] == "InHomeRegion") {
			t.Errorf("%s (%s): condition %v", id, typ, res["Condition"])
		}
	}
	for _, name := range []string{MemberRoleName, BackupRoleName, WorkerName} {
		check(t, "member account role "+name, func() {
			tpl.HasResource(jsii.String("AWS::IAM::Role"), obj{"Condition": "InHomeRegion", "Properties": like(obj{"RoleName": name})})
		})
	}
	check(t, "forwarding to the home bus in every Region", func() {
		tpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj{
			"Targets": arr{like(obj{"Arn": obj{"Fn::Join": arr{"", arr{"arn:", obj{"Ref": "AWS::Partition"}, ":events:",
				obj{"Ref": "HomeRegion"}, ":", obj{"Ref": "HomeAccountId"}, ":event-bus/default"}}}})},
		})
		tpl.HasResource(jsii.String("AWS::Events::Rule"), obj{"Condition": assertions.Match_Absent()})
	})
}

// The member role gets the union of the member-side use-cases, scoped to the
// member account: nothing on the home table, queues, topic or bucket.
func TestMemberRolePermissions(t *testing.T) {
	raw := fullFixture(t).template(t, "member")
	roleID, ok := logicalIDOf(raw, "AWS::IAM::Role", "AccountWideMemberRole")
	if !ok {
		t.Fatal("no member role")
	}
	got := roleActions(raw, roleID)
	for _, a := range []string{"backup:StartBackupJob", "backup:StartCopyJob", "backup:DeleteRecoveryPoint",
		"backup:StartRestoreJob", "ec2:RunInstances", "iam:PassRole", "elasticfilesystem:DescribeFileSystems"} {
		if !got[a] {
			t.Errorf("member role lacks %s", a)
		}
	}
	for a := range got {
		for _, prefix := range []string{"dynamodb:", "sqs:", "sns:", "s3:", "sts:", "kms:", "organizations:"} {
			if strings.HasPrefix(a, prefix) {
				t.Errorf("member role allows %s; that belongs to the home account", a)
			}
		}
	}
}
