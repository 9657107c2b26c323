package sim

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// EventBridge detail-types the simulator emits (source "aws.backup").
const (
	DetailBackupJob  = "Backup Job State Change"
	DetailCopyJob    = "Copy Job State Change"
	DetailRestoreJob = "Restore Job State Change"
)

// The renderers below write the exact shapes of AWS's documented examples
// (testdata/eventbridge-*.json), key order included:
//   - Backup and Copy events say "state", Restore events "status" (but
//     the Restore CREATED event says "state");
//   - backupSizeInBytes and bytesTransferred are strings in Backup and
//     Restore events, backupSizeInBytes a number in Copy events;
//   - CREATED events are minimal; the Copy CREATED event has no copyJobId;
//   - a Backup event names its recovery point only in resources[0], and
//     only when COMPLETED (every other Backup event has resources: []);
//   - a Copy event has no source recovery point field: it is resources[0];
//     destinationRecoveryPointArn is {} until COMPLETED;
//   - a Backup statusMessage is wrapped in literal quotes, a Copy one not;
//   - expectedCompletionDate is "Jul 15, 2020 9:39:07 PM", not ISO 8601;
//   - createdBy appears only on jobs a backup plan created.

func (w *World) emitBackup(j *job) {
	b, start := w.ev.open()
	var res string
	if j.state == engine.JobCompleted {
		res = j.point.arn
	}
	id := w.eventID(j)
	b = appendEnvelope(b, id, DetailBackupJob, j.loc, w.now, res)
	b = appendKey(b, "backupJobId")
	b = appendStr(b, j.id)
	if j.state == engine.JobCreated {
		b = appendField(b, "state", string(j.state))
		b = appendTimeField(b, "creationDate", j.createdAt)
		w.ev.close(w, b, start, id)
		return
	}
	if j.state == engine.JobRunning || j.state == engine.JobCompleted {
		b = appendIntStrField(b, "backupSizeInBytes", j.bytes)
	}
	b = appendField(b, "backupVaultArn", j.vault.arn)
	b = appendField(b, "backupVaultName", j.vault.name)
	transferred := int64(0)
	if j.state == engine.JobCompleted {
		transferred = j.bytes
	}
	b = appendIntStrField(b, "bytesTransferred", transferred)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendField(b, "resourceArn", j.resourceArn)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "state", string(j.state))
	switch j.state {
	case engine.JobPending:
		b = appendField(b, "statusMessage", "")
	case engine.JobFailed, engine.JobAborted, engine.JobExpired:
		b = appendKey(b, "statusMessage")
		b = appendStr(b, `"`+j.message+`"`)
	}
	switch j.state {
	case engine.JobCompleted, engine.JobAborted, engine.JobExpired:
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	b = appendTimeField(b, "startBy", j.startBy)
	if j.state == engine.JobRunning {
		b = appendKey(b, "expectedCompletionDate")
		b = append(b, '"')
		b = j.expectedEnd.UTC().AppendFormat(b, "Jan 2, 2006 3:04:05 PM")
		b = append(b, '"')
	}
	percent := int64(0)
	if j.state == engine.JobCompleted {
		percent = 100
	}
	b = appendIntField(b, "percentDone", percent)
	if p := j.auto; p != nil {
		b = appendKey(b, "createdBy")
		b = append(b, '{')
		b = appendField(b, "backupPlanId", p.id)
		b = appendField(b, "backupPlanArn", p.arn)
		b = appendField(b, "backupPlanVersion", p.version)
		b = appendField(b, "backupPlanRuleId", p.ruleID)
		b = append(b, '}')
	}
	w.ev.close(w, b, start, id)
}

func (w *World) emitCopy(j *job) {
	b, start := w.ev.open()
	id := w.eventID(j)
	b = appendEnvelope(b, id, DetailCopyJob, j.loc, w.now, j.srcPoint.arn)
	srcVault := j.srcVault.arn
	if j.state == engine.JobCreated {
		b = appendTimeField(b, "creationDate", j.createdAt)
		b = appendField(b, "state", string(j.state))
		b = appendField(b, "sourceBackupVaultArn", srcVault)
		b = appendField(b, "destinationBackupVaultArn", j.vaultArn)
		w.ev.close(w, b, start, id)
		return
	}
	b = appendField(b, "copyJobId", j.id)
	b = appendIntField(b, "backupSizeInBytes", j.bytes)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendField(b, "resourceArn", j.resourceArn)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "sourceBackupVaultArn", srcVault)
	b = appendField(b, "state", string(j.state))
	if j.state == engine.JobFailed {
		b = appendField(b, "statusMessage", j.message)
	}
	if j.state.Terminal() {
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	b = appendField(b, "destinationBackupVaultArn", j.vaultArn)
	b = appendKey(b, "destinationRecoveryPointArn")
	if j.state == engine.JobCompleted {
		b = appendStr(b, j.point.arn)
	} else {
		b = append(b, '{', '}')
	}
	w.ev.close(w, b, start, id)
}

func (w *World) emitRestore(j *job) {
	b, start := w.ev.open()
	id := w.eventID(j)
	r := j.restore
	b = appendEnvelope(b, id, DetailRestoreJob, j.loc, w.now, j.srcPoint.arn)
	b = appendField(b, "restoreJobId", j.id)
	if j.state == engine.JobCreated {
		b = appendTimeField(b, "creationDate", j.createdAt)
		b = appendField(b, "state", string(j.state))
		w.ev.close(w, b, start, id)
		return
	}
	if j.state == engine.JobCompleted {
		b = appendField(b, "backupVaultArn", j.srcVault.arn)
		b = appendField(b, "recoveryPointArn", j.srcPoint.arn)
		b = appendField(b, "sourceResourceArn", j.resourceArn)
	}
	b = appendIntStrField(b, "backupSizeInBytes", j.bytes)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendIntField(b, "percentDone", 0)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "status", string(j.state))
	switch j.state {
	case engine.JobFailed:
		b = appendField(b, "statusMessage", j.message)
	case engine.JobCompleted:
		b = appendField(b, "createdResourceArn", r.createdArn)
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	w.ev.close(w, b, start, id)
}

// eventID derives the id of the event for the job's current transition.
func (w *World) eventID(j *job) string {
	s := w.stream(newKey("event-id").str(j.id).num(uint64(j.step)))
	return s.uuid(false)
}

// appendEnvelope writes the EventBridge envelope up to the opening brace
// of "detail"; close adds the two closing braces.
func appendEnvelope(b []byte, id, detailType string, l engine.Loc, at time.Time, resource string) []byte {
	b = append(b, `{"version":"0","id":`...)
	b = appendStr(b, id)
	b = appendField(b, "detail-type", detailType)
	b = appendField(b, "source", "aws.backup")
	b = appendField(b, "account", l.Account)
	b = appendKey(b, "time")
	b = append(b, '"')
	b = at.UTC().Truncate(time.Second).AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, '"')
	b = appendField(b, "region", l.Region)
	b = appendKey(b, "resources")
	b = append(b, '[')
	if resource != "" {
		b = appendStr(b, resource)
	}
	b = append(b, ']')
	b = appendKey(b, "detail")
	return append(b, '{')
}

// appendKey writes "key": with a separating comma unless it opens an
// object or array.
func appendKey(b []byte, k string) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendField(b []byte, k, v string) []byte { return appendStr(appendKey(b, k), v) }

func appendIntField(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, k), v, 10)
}

func appendIntStrField(b []byte, k string, v int64) []byte {
	b = append(appendKey(b, k), '"')
	return append(strconv.AppendInt(b, v, 10), '"')
}

// appendTimeField writes an ISO-8601 UTC time with milliseconds, or without
// a fraction when the milliseconds are zero, as AWS does
// ("2020-07-16T05:00:00Z" next to "2020-07-15T21:33:00.803Z").
func appendTimeField(b []byte, k string, t time.Time) []byte {
	b = append(appendKey(b, k), '"')
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		b = t.AppendFormat(b, "2006-01-02T15:04:05Z")
	} else {
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	return append(b, '"')
}

// appendStr writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; HTML characters stay as they are (EventBridge does
// not escape them).
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
