package awsevent

import (
	"bytes"
	"encoding/json"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"eventbridge-backup-job-state-change-running.json", "eventbridge-copy-job-state-change-completed-efs-cross-region.json"} {
		raw := read(b, name)
		// EventBridge delivers events compact; the samples are indented.
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			raw  []byte
		}{{name, raw}, {name + "/compact", compact.Bytes()}} {
			b.Run(c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Parse(c.raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// simBackupCompleted and simCopyCompleted are events as the simulator
// renders them (compact, in its key order): the engine benchmark's run
// parses 16,000 of each a simulated day (its event rule passes terminal
// events only).
const (
	simBackupCompleted = `{"version":"0","id":"9521b1f9-d3f7-4983-8021-d019371b2984","detail-type":"Backup Job State Change","source":"aws.backup","account":"111122223333","time":"2024-05-14T03:19:40Z","region":"eu-west-1","resources":["arn:aws:backup:eu-west-1:111122223333:recovery-point:e4922247-36cb-430a-bf79-7f425df273cc"],"detail":{"backupJobId":"11cdc52c-b6f5-4b00-a17c-0d1377b60749","backupSizeInBytes":"1073741824","backupVaultArn":"arn:aws:backup:eu-west-1:111122223333:backup-vault:primary","backupVaultName":"primary","bytesTransferred":"1073741824","creationDate":"2024-05-14T03:00:00Z","iamRoleArn":"arn:aws:iam::111122223333:role/efskeeper-backup","resourceArn":"arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-00000000000000002","resourceType":"EFS","state":"COMPLETED","completionDate":"2024-05-14T03:19:40.234Z","startBy":"2024-05-14T04:00:00Z","percentDone":100}}`
	simCopyCompleted   = `{"version":"0","id":"74e6e9a4-f2f4-409d-bb42-2b2b80d5ce4d","detail-type":"Copy Job State Change","source":"aws.backup","account":"111122223333","time":"2024-05-14T05:25:34Z","region":"eu-west-1","resources":["arn:aws:backup:eu-west-1:111122223333:recovery-point:e4922247-36cb-430a-bf79-7f425df273cc"],"detail":{"copyJobId":"3945144a-2ee9-4e38-898a-b8980d70f125","backupSizeInBytes":1073741824,"creationDate":"2024-05-14T05:05:00Z","iamRoleArn":"arn:aws:iam::111122223333:role/efskeeper-backup","resourceArn":"arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-00000000000000002","resourceType":"EFS","sourceBackupVaultArn":"arn:aws:backup:eu-west-1:111122223333:backup-vault:primary","state":"COMPLETED","completionDate":"2024-05-14T05:25:34.882Z","destinationBackupVaultArn":"arn:aws:backup:eu-central-1:111122223333:backup-vault:dr","destinationRecoveryPointArn":"arn:aws:backup:eu-central-1:111122223333:recovery-point:d2cb10a8-7757-40c1-a2fa-7240ead996d4"}}`
)

// BenchmarkParseSim parses the simulator's COMPLETED events.
func BenchmarkParseSim(b *testing.B) {
	for _, c := range []struct{ name, raw string }{{"backup-completed", simBackupCompleted}, {"copy-completed", simCopyCompleted}} {
		raw := []byte(c.raw)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
