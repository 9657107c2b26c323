package awscloud

import (
	"os"
	"path/filepath"
)

// td reads a testdata file; the files are response and request bodies in
// the services' wire format (see the .source.txt next to each).
func td(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// defaultReplies answer every operation the adapters call, so that a test
// only sets what it is about.
var defaultReplies = map[string]string{
	"backup.DescribeRegionSettings":                       td("api-describe-region-settings.json"),
	"backup.UpdateRegionSettings":                         `{}`,
	"backup.ListBackupVaults":                             td("api-list-backup-vaults.json"),
	"backup.ListTags":                                     `{"Tags":{"efskeeper:vault":"prod"}}`,
	"backup.DescribeBackupVault":                          td("api-describe-backup-vault.json"),
	"backup.GetBackupVaultAccessPolicy":                   td("api-get-backup-vault-access-policy.json"),
	"backup.StartBackupJob":                               td("api-start-backup-job-response-efs.json"),
	"backup.StartCopyJob":                                 td("api-start-copy-job-response.json"),
	"backup.DescribeBackupJob":                            td("api-describe-backup-job-efs.json"),
	"backup.DescribeCopyJob":                              td("api-describe-copy-job-efs-cross-region.json"),
	"backup.DescribeRecoveryPoint":                        td("api-describe-recovery-point-efs.json"),
	"backup.DeleteRecoveryPoint":                          ``,
	"elasticfilesystem.DescribeFileSystems":               `{"FileSystems":[]}`,
	"elasticfilesystem.DescribeMountTargets":              `{"MountTargets":[]}`,
	"elasticfilesystem.DescribeMountTargetSecurityGroups": td("efs-describe-mount-target-security-groups.json"),
	"organizations.ListAccountsForParent":                 `{"Accounts":[]}`,
	"organizations.ListOrganizationalUnitsForParent":      `{"OrganizationalUnits":[]}`,
	"sqs.SendMessage":                                     ``, // filled with the body's MD5 by the fake
	"sns.Publish": `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId></PublishResult>
  <ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId></ResponseMetadata>
</PublishResponse>`,
	"sts.GetCallerIdentity": callerIdentityXML(homeAccount),
}
