package stacks

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// statement is one IAM statement found anywhere in a template: identity
// policies, trust policies, key, bucket, queue, topic and event bus policies.
type statement struct {
	where string // logical id of the resource holding it
	body  map[string]interface{}
}

func (s statement) allow() bool { return s.body["Effect"] == "Allow" }

func (s statement) actions() []string { return strs(s.body["Action"]) }

func (s statement) resources() []string { return strs(s.body["Resource"]) }

func (s statement) condition() map[string]interface{} {
	c, _ := s.body["Condition"].(map[string]interface{})
	return c
}

// allStatements walks every resource's properties: any object with an
// Effect and an Action is a statement.
func allStatements(tpl map[string]interface{}) []statement {
	var out []statement
	var walk func(where string, v interface{})
	walk = func(where string, v interface{}) {
		switch t := v.(type) {
		case map[string]interface{}:
			if _, ok := t["Effect"]; ok {
				if _, ok := t["Action"]; ok {
					out = append(out, statement{where, t})
					return
				}
			}
			for _, x := range t {
				walk(where, x)
			}
		case []interface{}:
			for _, x := range t {
				walk(where, x)
			}
		}
	}
	for id, r := range tpl["Resources"].(map[string]interface{}) {
		walk(id, r.(map[string]interface{})["Properties"])
	}
	return out
}

// wholeServiceAction matches "*" and "service:*".
var wholeServiceAction = regexp.MustCompile(`^(\*|[a-z0-9-]+:\*)$`)

// broadAllows returns the Allow statements granting every action, or every
// action of a service.
func broadAllows(tpl map[string]interface{}) []string {
	var bad []string
	for _, s := range allStatements(tpl) {
		if !s.allow() {
			continue
		}
		if _, ok := s.body["NotAction"]; ok {
			bad = append(bad, s.where+": NotAction in an Allow")
		}
		for _, a := range s.actions() {
			if wholeServiceAction.MatchString(a) {
				bad = append(bad, fmt.Sprintf("%s: %s", s.where, a))
			}
		}
	}
	return bad
}

func TestNoStatementAllowsAWholeService(t *testing.T) {
	for _, s := range []*synthesized{fullFixture(t), minimalFixture(t)} {
		for _, key := range keys(s.templates) {
			if bad := broadAllows(s.templates[key]); len(bad) > 0 {
				t.Errorf("%s: statements allow every action of a service: %v", key, bad)
			}
		}
	}
}

// The checker above must see what it is meant to catch, or the test is
// vacuous.
func TestBroadAllowsDetectsWildcards(t *testing.T) {
	tpl := map[string]interface{}{"Resources": map[string]interface{}{
		"P": map[string]interface{}{"Type": "AWS::IAM::Policy", "Properties": map[string]interface{}{
			"PolicyDocument": map[string]interface{}{"Statement": []interface{}{
				map[string]interface{}{"Effect": "Allow", "Action": []interface{}{"s3:GetObject", "s3:*"}, "Resource": "*"},
				map[string]interface{}{"Effect": "Deny", "Action": "sqs:*", "Resource": "*"},
			}},
		}},
		"K": map[string]interface{}{"Type": "AWS::KMS::Key", "Properties": map[string]interface{}{
			"KeyPolicy": map[string]interface{}{"Statement": []interface{}{
				map[string]interface{}{"Effect": "Allow", "Action": "*", "Resource": "*"},
			}},
		}},
	}}
	got := broadAllows(tpl)
	sort.Strings(got)
	want := []string{"K: *", "P: s3:*"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("broadAllows = %v, want %v (the Deny of sqs:* is fine)", got, want)
	}
}

// roleActions is the union of the actions every identity policy grants to
// the role with logical id roleID.
func roleActions(tpl map[string]interface{}, roleID string) map[string]bool {
	out := map[string]bool{}
	add := func(doc interface{}) {
		for _, s := range allStatements(map[string]interface{}{"Resources": map[string]interface{}{
			"x": map[string]interface{}{"Properties": doc},
		}}) {
			if s.allow() {
				for _, a := range s.actions() {
					out[a] = true
				}
			}
		}
	}
	for _, pol := range resources(tpl, "AWS::IAM::Policy") {
		if refersTo(props(pol)["Roles"], roleID) {
			add(props(pol)["PolicyDocument"])
		}
	}
	if role, ok := tpl["Resources"].(map[string]interface{})[roleID].(map[string]interface{}); ok {
		add(props(role)["Policies"])
	}
	return out
}

var (
	storeActions = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
		"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
		"logs:CreateLogStream", "logs:PutLogEvents"}
	consumeActions = []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl",
		"sqs:DeleteMessage", "sqs:GetQueueAttributes"}
	orgActions = []string{"organizations:ListAccountsForParent", "organizations:ListChildren",
		"organizations:ListAccounts", "organizations:DescribeAccount"}
	publishActions = []string{"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}
	jobActions     = []string{"backup:StartCopyJob", "backup:DescribeBackupJob", "backup:DescribeCopyJob",
		"backup:DescribeRestoreJob", "iam:PassRole"}
)

// expectedFunctionActions is, per function, everything its role may do in
// the full configuration. A change to a role must change this table: the
// point is that nobody widens a role by accident.
var expectedFunctionActions = map[string][]string{
	FnTick: concat(storeActions, orgActions, publishActions, []string{"sqs:SendMessage", "sts:AssumeRole"}),
	FnRegionRun: concat(storeActions, consumeActions, publishActions, []string{"backup:StartBackupJob", "backup:DescribeBackupVault",
		"backup:GetBackupVaultAccessPolicy", "backup:ListTags", "backup:ListBackupVaults", "backup:DescribeRegionSettings",
		"backup:UpdateRegionSettings", "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeMountTargets",
		"elasticfilesystem:DescribeMountTargetSecurityGroups", "elasticfilesystem:DescribeTags", "elasticfilesystem:ListTagsForResource", "iam:PassRole", "sts:AssumeRole"}),
	FnJobEvents: concat(storeActions, jobActions, publishActions, []string{"sqs:SendMessage", "sts:AssumeRole"}),
	FnReconcile: concat(storeActions, jobActions, publishActions, []string{"sqs:SendMessage", "sts:AssumeRole",
		"backup:StartRestoreJob", "backup:GetRecoveryPointRestoreMetadata", "backup:ListRecoveryPointsByBackupVault"}),
	FnRetention: concat(storeActions, []string{"backup:DeleteRecoveryPoint", "backup:DescribeRecoveryPoint", "backup:ListTags",
		"backup:ListRecoveryPointsByBackupVault", "sqs:SendMessage", "sts:AssumeRole"}),
	FnIndexLaunch: concat(storeActions, consumeActions, []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets",
		"ec2:DescribeRouteTables", "ec2:DescribeInternetGateways", "ec2:DescribeVpcEndpoints", "ec2:DescribeSecurityGroups",
		"ec2:DescribeNetworkInterfaceAttribute", "ec2:DescribeVpcAttribute", "ec2:RunInstances", "ec2:CreateTags", "iam:PassRole", "ssm:GetParameters",
		"elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups", "s3:GetObject",
		"sts:AssumeRole"}),
	FnIndexDone: concat(storeActions, publishActions, []string{"s3:GetObject", "s3:DeleteObject", "sqs:SendMessage"}),
	FnAPI: concat(storeActions, orgActions, publishActions, []string{"backup:StartRestoreJob", "backup:GetRecoveryPointRestoreMetadata",
		"backup:ListRecoveryPointsByBackupVault", "backup:DescribeRestoreJob", "iam:PassRole", "s3:GetObject",
		"s3:ListBucket", "sqs:SendMessage", "sts:AssumeRole"}),
	FnReport: concat(storeActions, publishActions, []string{"sqs:SendMessage", "sts:AssumeRole"}),
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestFunctionRolesHaveOnlyTheirUseCase(t *testing.T) {
	s := fullFixture(t)
	tpl := s.template(t, "home")
	for _, spec := range Functions {
		roleID, ok := logicalIDOf(tpl, "AWS::IAM::Role", constructID(spec.Name)+"Role")
		if !ok {
			t.Errorf("%s: no role", spec.Name)
			continue
		}
		got := roleActions(tpl, roleID)
		want := map[string]bool{}
		for _, a := range expectedFunctionActions[spec.Name] {
			want[a] = true
		}
		for a := range got {
			if !want[a] {
				t.Errorf("%s: role allows %s, which its use-case does not call", spec.Name, a)
			}
		}
		for a := range want {
			if !got[a] {
				t.Errorf("%s: role lacks %s", spec.Name, a)
			}
		}
		role := tpl["Resources"].(map[string]interface{})[roleID].(map[string]interface{})
		if name := props(role)["RoleName"]; name != FunctionRolePrefix+spec.Name {
			t.Errorf("%s: role name %v, want %s (member roles trust %s*)", spec.Name, name, FunctionRolePrefix+spec.Name, FunctionRolePrefix)
		}
	}
}

// Without an Organization or member accounts, policies can only name the home
// account: no function may assume anything, nor list the Organization.
func TestSingleAccountAssumesNothing(t *testing.T) {
	tpl := minimalFixture(t).template(t, "home")
	for _, s := range allStatements(tpl) {
		for _, a := range s.actions() {
			if strings.HasPrefix(a, "organizations:") {
				t.Errorf("%s allows %s without an Organization", s.where, a)
			}
		}
	}
	// Trust policies carry sts:AssumeRole too; only identity policies count.
	for id, pol := range resources(tpl, "AWS::IAM::Policy") {
		for _, s := range allStatements(map[string]interface{}{"Resources": map[string]interface{}{id: pol}}) {
			for _, a := range s.actions() {
				if a == "sts:AssumeRole" {
					t.Errorf("%s grants sts:AssumeRole in a single-account deployment", id)
				}
			}
		}
	}
}

func TestAssumeMemberRoleIsScoped(t *testing.T) {
	tpl := fullFixture(t).template(t, "home")
	var org, listed int
	for id, pol := range resources(tpl, "AWS::IAM::Policy") {
		for _, s := range allStatements(map[string]interface{}{"Resources": map[string]interface{}{id: pol}}) {
			if !contains(s.actions(), "sts:AssumeRole") {
				continue
			}
			for _, r := range s.resources() {
				if !strings.HasSuffix(r, ":role/"+MemberRoleName) {
					t.Errorf("%s: sts:AssumeRole on %s, want only %s roles", id, r, MemberRoleName)
				}
			}
			switch {
			case strings.Contains(strings.Join(s.resources(), ","), "::*:"):
				org++
				c := s.condition()["StringEquals"].(map[string]interface{})
				if c["aws:ResourceOrgID"] != fullContext[CtxOrganizationID] {
					t.Errorf("%s: AssumeRole in any account without aws:ResourceOrgID = the Organization: %v", id, s.condition())
				}
			default:
				listed++
				if got := strings.Join(s.resources(), ","); !strings.Contains(got, ":iam::444455556666:role/") {
					t.Errorf("%s: listed-account AssumeRole on %s", id, got)
				}
			}
		}
	}
	if org == 0 || listed == 0 {
		t.Errorf("AssumeRole statements: %d for the Organization, %d for listed accounts; want both", org, listed)
	}
}

// Every iam:PassRole names one role and the service it may be passed to.
func TestPassRoleIsConditioned(t *testing.T) {
	want := map[string]string{
		":role/" + BackupRoleName: "backup.amazonaws.com",
		":role/" + WorkerName:     "ec2.amazonaws.com",
	}
	for _, s := range []*synthesized{fullFixture(t), minimalFixture(t)} {
		for _, key := range keys(s.templates) {
			n := 0
			for _, st := range allStatements(s.templates[key]) {
				if !st.allow() || !contains(st.actions(), "iam:PassRole") {
					continue
				}
				n++
				if len(st.actions()) != 1 || len(st.resources()) != 1 {
					t.Errorf("%s %s: PassRole must stand alone on one role: %v on %v", key, st.where, st.actions(), st.resources())
					continue
				}
				r := st.resources()[0]
				matched := false
				for suffix, svc := range want {
					if strings.HasSuffix(r, suffix) {
						matched = true
						c, _ := st.condition()["StringEquals"].(map[string]interface{})
						if c["iam:PassedToService"] != svc {
							t.Errorf("%s %s: PassRole on %s without iam:PassedToService %s", key, st.where, r, svc)
						}
					}
				}
				if !matched {
					t.Errorf("%s %s: PassRole on unexpected role %s", key, st.where, r)
				}
			}
			if key != "region:us-east-1" && key != "region:ap-southeast-2" && n == 0 {
				t.Errorf("%s: no PassRole statement at all", key)
			}
		}
	}
}

// The worker mounts file systems read-only: ClientMount and nothing that
// writes or acts as root, anywhere.
func TestWorkerMountsReadOnly(t *testing.T) {
	s := fullFixture(t)
	for _, key := range []string{"home", "member"} {
		tpl := s.template(t, key)
		roleID, ok := logicalIDOf(tpl, "AWS::IAM::Role", "WorkerRole")
		if key == "member" {
			roleID, ok = logicalIDOf(tpl, "AWS::IAM::Role", "AccountWideWorkerRole")
		}
		if !ok {
			t.Fatalf("%s: no worker role", key)
		}
		got := roleActions(tpl, roleID)
		if !got["elasticfilesystem:ClientMount"] {
			t.Errorf("%s: worker cannot ClientMount", key)
		}
		for a := range got {
			if strings.HasPrefix(a, "elasticfilesystem:") && a != "elasticfilesystem:ClientMount" {
				t.Errorf("%s: worker allowed %s", key, a)
			}
			if a == "s3:DeleteObject" || a == "s3:PutObjectAcl" {
				t.Errorf("%s: worker allowed %s", key, a)
			}
		}
		for _, st := range allStatements(tpl) {
			for _, a := range st.actions() {
				if a == "elasticfilesystem:ClientWrite" || a == "elasticfilesystem:ClientRootAccess" {
					t.Errorf("%s %s allows %s", key, st.where, a)
				}
			}
		}
		// Writes only under its own account's index prefix and results/,
		// by its role policy and, for other accounts, the bucket policy.
		for _, st := range allStatements(tpl) {
			if !contains(st.actions(), "s3:PutObject") || !st.allow() {
				continue
			}
			if sid, _ := st.body["Sid"].(string); !strings.HasPrefix(st.where, "WorkerPolicy") &&
				!strings.HasPrefix(st.where, "AccountWideWorkerPolicy") && !strings.Contains(sid, "Workers") {
				continue
			}
			for _, r := range st.resources() {
				if !strings.Contains(r, "/indexes/<AWS::AccountId>/*") && !strings.HasSuffix(r, "/results/*") &&
					!strings.Contains(r, "/indexes/${aws:PrincipalAccount}/*") {
					t.Errorf("%s %s: PutObject on %s", key, st.where, r)
				}
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Only indexdone deletes objects of the index bucket, and only indexes
// (Prune), never worker results or anything else.
func TestOnlyIndexesAreDeleted(t *testing.T) {
	s := fullFixture(t)
	for _, key := range keys(s.templates) {
		n := 0
		for _, st := range allStatements(s.templates[key]) {
			if !st.allow() || !contains(st.actions(), "s3:DeleteObject") {
				continue
			}
			n++
			if key != "home" || !strings.HasPrefix(st.where, constructID(FnIndexDone)) || len(st.actions()) != 1 {
				t.Errorf("%s %s allows s3:DeleteObject (with %v)", key, st.where, st.actions())
			}
			for _, r := range st.resources() {
				if !strings.HasSuffix(r, "/"+IndexesPrefix+"*") {
					t.Errorf("%s %s: s3:DeleteObject on %s, want only %s*", key, st.where, r, IndexesPrefix)
				}
			}
		}
		if key == "home" && n != 1 {
			t.Errorf("home: %d statements allow s3:DeleteObject, want indexdone's one", n)
		}
	}
}
