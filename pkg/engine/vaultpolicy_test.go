package engine

import (
	"reflect"
	"testing"
)

func TestEvaluateVaultPolicy(t *testing.T) {
	role := "arn:aws:iam::111122223333:role/efskeeper-backup"
	member := "arn:aws:iam::111122223333:role/efskeeper-member"
	principals := []string{role, member}
	efsAutomatic := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteBackupVault","backup:DeleteBackupVaultAccessPolicy","backup:DeleteRecoveryPoint","backup:StartCopyJob","backup:StartRestoreJob","backup:UpdateRecoveryPointLifecycle"],"Resource":"*"}]}`
	tests := []struct {
		name        string
		doc         string
		actions     []string
		denied      []string
		maybeDenied []string
		wantErr     bool
	}{
		{name: "no policy", doc: "", actions: BackupVaultActions},
		{name: "EFS automatic vault policy", doc: efsAutomatic, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint", "backup:StartCopyJob", "backup:StartRestoreJob"}},
		{name: "allow only", doc: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"backup:*","Resource":"*"}]}`, actions: BackupVaultActions},
		{name: "deny unrelated action", doc: `{"Statement":{"Effect":"Deny","Principal":"*","Action":"backup:PutBackupVaultAccessPolicy","Resource":"*"}}`, actions: BackupVaultActions},
		{name: "wildcard action", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"backup:Delete*","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint"}},
		{name: "action case-insensitive", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"Backup:copyintobackupvault","Resource":"*"}]}`, actions: CopyVaultActions,
			denied: []string{"backup:CopyIntoBackupVault"}},
		{name: "other principal", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/someone-else"},"Action":"backup:*","Resource":"*"}]}`, actions: BackupVaultActions},
		{name: "our role by ARN", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:role/efskeeper-backup"]},"Action":"backup:StartBackupJob","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:StartBackupJob"}},
		{name: "our account root", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"backup:StartRestoreJob","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:StartRestoreJob"}},
		{name: "our account id", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"backup:StartRestoreJob","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:StartRestoreJob"}},
		{name: "role wildcard", doc: `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/efskeeper-*"},"Action":"backup:DeleteRecoveryPoint","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint"}},
		{name: "NotAction denies the rest", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","NotAction":["backup:StartBackupJob","backup:StartCopyJob"],"Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint", "backup:StartRestoreJob"}},
		{name: "NotPrincipal excluding us", doc: `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:role/efskeeper-backup","arn:aws:iam::111122223333:role/efskeeper-member"]},"Action":"backup:*","Resource":"*"}]}`, actions: BackupVaultActions},
		{name: "NotPrincipal excluding others", doc: `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"backup:DeleteRecoveryPoint","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint"}},
		{name: "conditional deny", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-123"}}}]}`, actions: BackupVaultActions,
			maybeDenied: []string{"backup:DeleteRecoveryPoint"}},
		{name: "unconditional wins over conditional", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Effect":"Deny","Principal":"*","Action":"backup:DeleteRecoveryPoint","Resource":"*"}]}`, actions: BackupVaultActions,
			denied: []string{"backup:DeleteRecoveryPoint"}},
		{name: "brackets are literal", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"backup:[SD]tart*","Resource":"*"}]}`, actions: BackupVaultActions},
		{name: "not JSON", doc: `{"Statement":`, actions: BackupVaultActions, wantErr: true},
		{name: "odd principal", doc: `{"Statement":[{"Effect":"Deny","Principal":42,"Action":"backup:*"}]}`, actions: BackupVaultActions, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := EvaluateVaultPolicy(tc.doc, tc.actions, principals)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(v.Denied, tc.denied) {
				t.Errorf("denied = %v, want %v", v.Denied, tc.denied)
			}
			if !reflect.DeepEqual(v.MaybeDenied, tc.maybeDenied) {
				t.Errorf("maybe denied = %v, want %v", v.MaybeDenied, tc.maybeDenied)
			}
		})
	}
}

func FuzzEvaluateVaultPolicy(f *testing.F) {
	f.Add(`{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteRecoveryPoint"],"Resource":"*"}]}`)
	f.Add(`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"NotAction":"backup:S*"}}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := EvaluateVaultPolicy(doc, BackupVaultActions, []string{"arn:aws:iam::1:role/efskeeper-backup"})
		if err != nil {
			return
		}
		for _, a := range v.Denied {
			for _, b := range v.MaybeDenied {
				if a == b {
					t.Fatalf("%s both denied and maybe denied", a)
				}
			}
		}
	})
}
