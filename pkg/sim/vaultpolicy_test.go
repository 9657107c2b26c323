package sim

import (
	"encoding/json"
	"os"
	"testing"
)

const (
	ourRole   = "arn:aws:iam::111122223333:role/efskeeper-member"
	otherRole = "arn:aws:iam::111122223333:role/someone-else"
	foreign   = "arn:aws:iam::444455556666:role/efskeeper-member"
)

func TestVaultPolicyEvaluation(t *testing.T) {
	sample := func(file string) string {
		data, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Policy string }
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		return v.Policy
	}
	auto := sample("api-get-backup-vault-access-policy-efs-automatic.json")
	if auto != AutomaticVaultPolicy {
		t.Fatalf("AutomaticVaultPolicy differs from AWS's:\n%s\n%s", AutomaticVaultPolicy, auto)
	}
	// Deny deletes to everyone but arn:aws:iam::111122223333:role/efs-backup-orchestrator.
	dr := sample("api-get-backup-vault-access-policy.json")
	tests := []struct {
		name, policy, action, principal string
		deny, allow                     bool
	}{
		{"automatic vault denies delete", auto, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"automatic vault denies copy", auto, "backup:StartCopyJob", ourRole, true, false},
		{"automatic vault denies restore", auto, "backup:StartRestoreJob", foreign, true, false},
		{"automatic vault allows backups", auto, "backup:StartBackupJob", ourRole, false, false},
		{"actions are case-insensitive", auto, "BACKUP:deleterecoverypoint", ourRole, true, false},
		{"ArnNotEquals denies others", dr, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"ArnNotEquals spares the named role", dr, "backup:DeleteRecoveryPoint", "arn:aws:iam::111122223333:role/efs-backup-orchestrator", false, false},
		{"Allow by account root", dr, "backup:CopyIntoBackupVault", ourRole, false, true},
		{"Allow by root: not another account", dr, "backup:CopyIntoBackupVault", foreign, false, false},
		{"wildcard action", `{"Statement":{"Effect":"Deny","Principal":"*","Action":"backup:*"}}`, "backup:StartCopyJob", ourRole, true, false},
		{"NotAction", `{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":"backup:Describe*"}]}`, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"NotAction spares", `{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":"backup:Delete*"}]}`, "backup:DeleteRecoveryPoint", ourRole, false, false},
		{"NotPrincipal spares the named", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["` + ourRole + `"]},"Action":"backup:*"}]}`, "backup:DeleteRecoveryPoint", ourRole, false, false},
		{"NotPrincipal denies others", `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"` + ourRole + `"},"Action":"backup:*"}]}`, "backup:DeleteRecoveryPoint", otherRole, true, false},
		{"account principal", `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"backup:*"}]}`, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"service principal never matches", `{"Statement":[{"Effect":"Deny","Principal":{"Service":"backup.amazonaws.com"},"Action":"backup:*"}]}`, "backup:DeleteRecoveryPoint", ourRole, false, false},
		{"StringLike on the principal", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/efskeeper-*"}}}]}`, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"StringNotEquals account", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111122223333"}}}]}`, "backup:DeleteRecoveryPoint", ourRole, false, false},
		{"unknown condition: a Deny applies", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, "backup:DeleteRecoveryPoint", ourRole, true, false},
		{"unknown condition: an Allow does not", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"backup:*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, "backup:CopyIntoBackupVault", foreign, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseVaultPolicy(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.denies(tc.action, tc.principal); got != tc.deny {
				t.Errorf("denies = %v", got)
			}
			if got := p.allows(tc.action, tc.principal); got != tc.allow {
				t.Errorf("allows = %v", got)
			}
		})
	}
}

func TestVaultPolicyRejectsMalformed(t *testing.T) {
	for _, doc := range []string{
		``, `{}`, `[]`, `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"x"}]}`,
		`{"Statement":[{"Effect":"Deny","Action":"x"}]}`,
		`{"Statement":[{"Effect":"Deny","Principal":"*"}]}`,
		`{"Statement":[{"Effect":"Deny","Principal":"someone","Action":"x"}]}`,
		`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"x","NotAction":"y"}]}`,
	} {
		if _, err := parseVaultPolicy(doc); err == nil {
			t.Errorf("accepted %q", doc)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"a*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*x*y", "axbxcy", true}, {"", "", true}, {"", "a", false},
	} {
		if got := glob(tc.pattern, tc.s, false); got != tc.want {
			t.Errorf("glob(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// FuzzParseVaultPolicy: any document either fails to parse or evaluates
// without panicking, and a Deny of everything to everyone always denies.
func FuzzParseVaultPolicy(f *testing.F) {
	f.Add(AutomaticVaultPolicy)
	f.Add(`{"Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333"]},"Action":["backup:*"],"Condition":{"ArnLike":{"aws:PrincipalArn":["arn:*"]}}}}`)
	f.Add(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"NotAction":"a","Condition":{"ForAnyValue:StringEqualsIgnoreCaseIfExists":{"aws:principalaccount":"1"}}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := parseVaultPolicy(doc)
		if err != nil {
			return
		}
		p.denies("backup:DeleteRecoveryPoint", ourRole)
		p.allows("backup:CopyIntoBackupVault", foreign)
		for _, s := range p.statements {
			s.applies("backup:StartCopyJob", "not-an-arn", true)
		}
	})
}
