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

// eventSnap is what the JSON of an event says, taken from its job when
// the job changes state (World.emit): the job's own fields then, and the
// strings of what it points to. It holds nothing that changes afterwards
// (a region's envelope parts are built with the region), so it can be
// rendered later, on any goroutine.
type eventSnap struct {
	kind                                         engine.JobKind
	state                                        engine.JobState
	at                                           int64  // when the job changed state, Unix ns
	rng                                          stream // the event's own stream (its id)
	reg                                          *region
	id, resourceArn, vaultArn, iamRole, message  string
	bytes                                        int64
	createdAt, startBy, completedAt, expectedEnd stamp
	// Of what the job points to.
	pointArn, srcPointArn, srcVaultArn string
	vaultObjArn, vaultName             string // the vault's (vaultArn is as requested)
	createdArn                         string // a restore's created resource
	autoCreatedBy                      []byte // never written after it is built
}

// snapshot takes the event of j's transition to its current state at the
// instant at (Unix ns).
func (w *World) snapshot(j *job, at int64) *eventSnap {
	e := &eventSnap{
		kind: j.kind, state: j.state, at: at, rng: w.stream(j.key.num(uint64(j.step))), reg: j.reg,
		id: j.id, resourceArn: j.resourceArn, vaultArn: j.vaultArn, iamRole: j.iamRole, message: j.message,
		bytes: j.bytes, createdAt: j.createdAt, startBy: j.startBy, completedAt: j.completedAt, expectedEnd: j.expectedEnd,
	}
	e.pointArn, e.srcPointArn, e.srcVaultArn = j.arns()
	if j.vault != nil {
		e.vaultObjArn, e.vaultName = j.vault.arn, j.vault.name
	}
	if j.restore != nil {
		e.createdArn = j.restore.createdArn
	}
	if j.auto != nil {
		e.autoCreatedBy = j.auto.createdBy
	}
	return e
}

// appendJSON appends the event's EventBridge JSON to b.
func (e *eventSnap) appendJSON(b []byte) []byte {
	s := e.rng
	switch e.kind {
	case engine.KindBackup:
		b = renderBackup(b, e, &s)
	case engine.KindCopy:
		b = renderCopy(b, e, &s)
	default:
		b = renderRestore(b, e, &s)
	}
	return append(b, '}', '}')
}

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

func renderBackup(b []byte, j *eventSnap, s *stream) []byte {
	st, at := j.state, j.at
	var res string
	if st == engine.JobCompleted {
		res = j.pointArn
	}
	b = appendEnvelope(b, s, engine.KindBackup, j.reg, at, res)
	b = appendField(b, "backupJobId", j.id)
	if st == engine.JobCreated {
		b = appendField(b, "state", string(st))
		b = appendTimeField(b, "creationDate", j.createdAt)
		return b
	}
	if st == engine.JobRunning || st == engine.JobCompleted {
		b = appendIntStrField(b, "backupSizeInBytes", j.bytes)
	}
	b = appendField(b, "backupVaultArn", j.vaultObjArn)
	b = appendField(b, "backupVaultName", j.vaultName)
	transferred := int64(0)
	if st == engine.JobCompleted {
		transferred = j.bytes
	}
	b = appendIntStrField(b, "bytesTransferred", transferred)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendField(b, "resourceArn", j.resourceArn)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "state", string(st))
	switch st {
	case engine.JobPending:
		b = appendField(b, "statusMessage", "")
	case engine.JobFailed, engine.JobAborted, engine.JobExpired:
		b = appendKey(b, "statusMessage")
		b = appendStr(b, `"`+j.message+`"`)
	}
	switch st {
	case engine.JobCompleted, engine.JobAborted, engine.JobExpired:
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	b = appendTimeField(b, "startBy", j.startBy)
	if st == engine.JobRunning {
		b = appendKey(b, "expectedCompletionDate")
		b = append(b, '"')
		b = j.expectedEnd.time().AppendFormat(b, "Jan 2, 2006 3:04:05 PM")
		b = append(b, '"')
	}
	percent := int64(0)
	if st == engine.JobCompleted {
		percent = 100
	}
	b = appendIntField(b, "percentDone", percent)
	b = append(b, j.autoCreatedBy...)
	return b
}

func renderCopy(b []byte, j *eventSnap, s *stream) []byte {
	st, at := j.state, j.at
	b = appendEnvelope(b, s, engine.KindCopy, j.reg, at, j.srcPointArn)
	if st == engine.JobCreated {
		b = appendTimeField(b, "creationDate", j.createdAt)
		b = appendField(b, "state", string(st))
		b = appendField(b, "sourceBackupVaultArn", j.srcVaultArn)
		b = appendField(b, "destinationBackupVaultArn", j.vaultArn)
		return b
	}
	b = appendField(b, "copyJobId", j.id)
	b = appendIntField(b, "backupSizeInBytes", j.bytes)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendField(b, "resourceArn", j.resourceArn)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "sourceBackupVaultArn", j.srcVaultArn)
	b = appendField(b, "state", string(st))
	if st == engine.JobFailed {
		b = appendField(b, "statusMessage", j.message)
	}
	if st.Terminal() {
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	b = appendField(b, "destinationBackupVaultArn", j.vaultArn)
	b = appendKey(b, "destinationRecoveryPointArn")
	if st == engine.JobCompleted {
		b = appendStr(b, j.pointArn)
	} else {
		b = append(b, '{', '}')
	}
	return b
}

func renderRestore(b []byte, j *eventSnap, s *stream) []byte {
	st, at := j.state, j.at
	b = appendEnvelope(b, s, engine.KindRestore, j.reg, at, j.srcPointArn)
	b = appendField(b, "restoreJobId", j.id)
	if st == engine.JobCreated {
		b = appendTimeField(b, "creationDate", j.createdAt)
		b = appendField(b, "state", string(st))
		return b
	}
	if st == engine.JobCompleted {
		b = appendField(b, "backupVaultArn", j.srcVaultArn)
		b = appendField(b, "recoveryPointArn", j.srcPointArn)
		b = appendField(b, "sourceResourceArn", j.resourceArn)
	}
	b = appendIntStrField(b, "backupSizeInBytes", j.bytes)
	b = appendTimeField(b, "creationDate", j.createdAt)
	b = appendField(b, "iamRoleArn", j.iamRole)
	b = appendIntField(b, "percentDone", 0)
	b = appendField(b, "resourceType", "EFS")
	b = appendField(b, "status", string(st))
	switch st {
	case engine.JobFailed:
		b = appendField(b, "statusMessage", j.message)
	case engine.JobCompleted:
		b = appendField(b, "createdResourceArn", j.createdArn)
		b = appendTimeField(b, "completionDate", j.completedAt)
	}
	return b
}

// appendEnvelope writes the EventBridge envelope up to the opening brace
// of "detail"; close adds the two closing braces.
func appendEnvelope(b []byte, s *stream, kind engine.JobKind, r *region, at int64, resource string) []byte {
	b = append(b, `{"version":"0","id":"`...)
	b = s.appendUUID(b, false)
	e := r.envelope(kind)
	b = append(b, e.head...)
	b = appendUnixISO(b, at, false)
	b = append(b, e.tail...)
	if resource != "" {
		b = appendStr(b, resource)
	}
	return append(b, `],"detail":{`...)
}

// envelopeParts are the pre-rendered constant parts of the envelope of one
// detail-type's events in one (account, Region): around the time, up to
// the resources list.
type envelopeParts struct{ head, tail []byte }

func (r *region) envelope(kind engine.JobKind) *envelopeParts {
	i := 0
	detailType := DetailBackupJob
	switch kind {
	case engine.KindCopy:
		i, detailType = 1, DetailCopyJob
	case engine.KindRestore:
		i, detailType = 2, DetailRestoreJob
	}
	e := &r.env[i]
	if e.head == nil {
		e.head = appendField([]byte{'"', ','}, "detail-type", detailType)
		e.head = appendField(e.head, "source", "aws.backup")
		e.head = appendField(e.head, "account", r.loc.Account)
		e.head = append(appendKey(e.head, "time"), '"')
		e.tail = append(e.tail, '"')
		e.tail = appendField(e.tail, "region", r.loc.Region)
		e.tail = append(appendKey(e.tail, "resources"), '[')
	}
	return e
}

// appendKey writes "key": with a separating comma unless it opens an
// object or array or follows a comma (cached fragments start with one).
func appendKey(b []byte, k string) []byte {
	if n := len(b); n > 0 {
		if c := b[n-1]; c != '{' && c != '[' && c != ',' {
			b = append(b, ',')
		}
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
func appendTimeField(b []byte, k string, t stamp) []byte {
	b = append(appendKey(b, k), '"')
	if t == 0 { // the zero Time (see stamp.time)
		b = appendISO(b, time.Time{}, true)
	} else {
		b = appendUnixISO(b, int64(t), true)
	}
	return append(b, '"')
}

// appendUnixISO is appendISO for the instant ns nanoseconds after
// 1970-01-01 UTC. It takes the date from the count of days (H. Hinnant's
// civil_from_days) and writes the digits two at a time into one array,
// which made it four times faster than appendISO, whose Date, Clock and
// 17 small appends were a quarter of the cost of rendering an event.
func appendUnixISO(b []byte, ns int64, millis bool) []byte {
	if ns < 0 {
		return appendISO(b, time.Unix(0, ns), millis)
	}
	sec, days := ns/1e9, ns/(86400*1e9)
	daySec := int(sec - days*86400)
	// civil_from_days, for days >= 0 (so the era is too)
	z := int(days) + 719468
	era, doe := z/146097, z%146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d, m, y := doy-(153*mp+2)/5+1, mp+3, yoe+era*400
	if m > 12 {
		m -= 12
		y++
	}
	var buf [24]byte
	put2 := func(i, v int) { buf[i], buf[i+1] = digitPairs[2*v], digitPairs[2*v+1] }
	put2(0, y/100)
	put2(2, y%100)
	buf[4] = '-'
	put2(5, m)
	buf[7] = '-'
	put2(8, d)
	buf[10] = 'T'
	put2(11, daySec/3600)
	buf[13] = ':'
	put2(14, daySec/60%60)
	buf[16] = ':'
	put2(17, daySec%60)
	n := 19
	if ms := int(ns % 1e9 / 1e6); millis && ms != 0 {
		buf[19], buf[20] = '.', byte('0'+ms/100)
		put2(21, ms%100)
		n = 23
	}
	buf[n] = 'Z'
	return append(b, buf[:n+1]...)
}

// digitPairs holds the two decimal digits of 0 to 99, one pair after the
// other.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendISO formats t in UTC as 2006-01-02T15:04:05[.000]Z by hand:
// time.AppendFormat parses its layout on every call and was a third of the
// cost of rendering an event.
func appendISO(b []byte, t time.Time, millis bool) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	if ms := t.Nanosecond() / 1e6; millis && ms != 0 {
		b = append(b, '.')
		b = appendDigits(b, ms, 3)
	}
	return append(b, 'Z')
}

// appendDigits writes n (0 <= n < 10^width) zero-padded to width digits.
func appendDigits(b []byte, n, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}

// jsonPlain marks the bytes a JSON string holds as they are: printable
// ASCII but the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainPrefix returns the length of s's prefix of jsonPlain bytes. It reads
// eight bytes at a time (the strings are ARNs and ids of ~40-100 bytes): a
// word is plain when no lane is below 0x20 or from 0x80 up, which
// (x - 0x20…20) | x shows in the lanes' high bits (a borrow crosses lanes
// only from a lane below 0x20), and no lane is a quote or a backslash,
// which (y - 0x01…01) &^ y shows for y = x ^ 0x22…22 or x ^ 0x5c…5c.
func plainPrefix(s string) int {
	const ones, high, ctl, quote, back = 0x0101010101010101, 0x8080808080808080, 0x2020202020202020, 0x2222222222222222, 0x5c5c5c5c5c5c5c5c
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8] // one bounds check, and the loads become one
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, bs := x^quote, x^back
		if (x-ctl|x|(q-ones)&^q|(bs-ones)&^bs)&high != 0 {
			break
		}
	}
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	return i
}

// appendStr writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; HTML characters stay as they are (EventBridge does
// not escape them).
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	i := plainPrefix(s)
	if i == len(s) { // the usual case: nothing to escape
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
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
