// Package awsevent parses the EventBridge events AWS Backup emits for backup,
// copy and restore jobs into engine.JobUpdate values.
//
// The documented payloads disagree with each other in ways a strict decoder
// trips over (see DESIGN.md, "Event quirks"): Backup and Copy job events carry
// `state`, Restore job events `status` except their CREATED event;
// backupSizeInBytes is a string in Backup and Restore events and a number in
// Copy events; destinationRecoveryPointArn is `{}` until COMPLETED; a Copy
// event names its source recovery point only as resources[0] and its CREATED
// event has no copyJobId; dates come with or without milliseconds. The parser
// accepts all of these and rejects what would make a wrong update.
package awsevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Detail types handled here.
const (
	DetailBackupJob  = "Backup Job State Change"
	DetailCopyJob    = "Copy Job State Change"
	DetailRestoreJob = "Restore Job State Change"
)

// TerminalJobStates are the states after which an AWS Backup job does not
// change: the only Backup and Copy Job State Change events efskeeper acts
// on.
var TerminalJobStates = []string{"ABORTED", "COMPLETED", "EXPIRED", "FAILED", "PARTIAL"}

// Delivered says whether the EventBridge rule that efskeeper deploys (and
// that member Regions forward by) passes an aws.backup event on to
// jobevents, given its detail-type and its detail's state and status ("" when
// absent): Backup and Copy Job State Change events in a terminal state (the
// engine drops the others, so they would only cost invocations and
// cross-Region deliveries), and Restore Job State Change events that carry
// a status (all but CREATED; restore sessions show progress). The rule's
// pattern (infra/stacks) is built from TerminalJobStates and tested
// against this function.
func Delivered(detailType, state, status string) bool {
	switch detailType {
	case DetailBackupJob, DetailCopyJob, DetailRestoreJob:
		return slices.Contains(TerminalJobStates, state) || status != ""
	}
	return false
}

// ErrIrrelevant marks a well-formed event that carries nothing efskeeper acts
// on (another source or detail type, or a CREATED copy event without a job
// id). Handlers drop it without error.
var ErrIrrelevant = errors.New("event not relevant to efskeeper")

// errCopyCreated is made once: every copy job's CREATED event gets it.
var errCopyCreated = fmt.Errorf("copy CREATED event without copyJobId: %w", ErrIrrelevant)

// envelope is the EventBridge event structure.
type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     *detail  `json:"detail"`
}

// detail holds the union of the job event detail fields efskeeper reads.
type detail struct {
	BackupJobID                 string     `json:"backupJobId"`
	CopyJobID                   string     `json:"copyJobId"`
	RestoreJobID                string     `json:"restoreJobId"`
	State                       string     `json:"state"`
	Status                      string     `json:"status"`
	StatusMessage               string     `json:"statusMessage"`
	ResourceArn                 string     `json:"resourceArn"`
	SourceResourceArn           string     `json:"sourceResourceArn"`
	RecoveryPointArn            string     `json:"recoveryPointArn"`
	BackupVaultArn              string     `json:"backupVaultArn"`
	BackupVaultName             string     `json:"backupVaultName"`
	SourceBackupVaultArn        string     `json:"sourceBackupVaultArn"`
	DestinationBackupVaultArn   string     `json:"destinationBackupVaultArn"`
	DestinationRecoveryPointArn arnOrEmpty `json:"destinationRecoveryPointArn"`
	CreatedResourceArn          string     `json:"createdResourceArn"`
	BackupSizeInBytes           flexInt    `json:"backupSizeInBytes"`
	CreationDate                string     `json:"creationDate"`
	CompletionDate              string     `json:"completionDate"`
}

// decodeEnvelope decodes an event with the fast scanner into env and d,
// or with encoding/json when the scanner gives up; it returns the detail,
// d or another, or nil when the event has none. The fast scanner's strings
// share b's memory: the caller copies what it keeps (own).
func decodeEnvelope(b []byte, env *envelope, d *detail) (*detail, error) {
	if has, err := (&scanner{b: b, alias: true}).envelope(env, d); err == nil {
		if !has {
			return nil, nil
		}
		return d, nil
	}
	var slow envelope // apart from env, which then need not be on the heap
	if err := json.Unmarshal(b, &slow); err != nil {
		// The typed detail may not fit another service's event: tell an
		// irrelevant event from a malformed one by its envelope alone.
		var head struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
		}
		if json.Unmarshal(b, &head) == nil && (head.Source != "aws.backup" || !jobDetailType(head.DetailType)) {
			return nil, fmt.Errorf("%s %q: %w", head.Source, head.DetailType, ErrIrrelevant)
		}
		return nil, fmt.Errorf("decode EventBridge event: %w", err)
	}
	*env = slow
	return slow.Detail, nil
}

// own returns a copy of a decoded string that may share the event's bytes
// (see decodeEnvelope), which are the caller's and may be reused.
func own(s string) string { return strings.Clone(s) }

// ownAll is own for several strings at once, in one allocation (every
// event has four or five: one allocation instead of five per event). They
// then live as long as the longest-kept of them; an event's strings are a
// few hundred bytes.
func ownAll(ps ...*string) {
	n := 0
	for _, p := range ps {
		n += len(*p)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range ps {
		b.WriteString(*p)
	}
	all := b.String()
	for _, p := range ps {
		l := len(*p)
		if l == 0 {
			*p = "" // not an empty slice of all, which would keep it alive
			continue
		}
		*p, all = all[:l], all[l:]
	}
}

// shared is own for the values that repeat across events (accounts,
// Regions, vaults: a fleet has a few thousand): one copy of each serves
// every event, up to maxShared values. It replaces each *p, under one
// lock for all of an event's.
func shared(ps ...*string) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, p := range ps {
		if *p == "" {
			continue
		}
		v, ok := sharedStrings[*p]
		if !ok {
			if len(sharedStrings) >= maxShared {
				clear(sharedStrings) // a bound, not a cache policy: starts over
			}
			v = strings.Clone(*p)
			sharedStrings[v] = v
		}
		*p = v
	}
}

const maxShared = 1 << 14

var (
	sharedMu      sync.Mutex
	sharedStrings = map[string]string{}
)

// jobStates are the states AWS Backup reports, returned as these constants
// rather than as copies of the event's bytes.
var jobStates = []engine.JobState{engine.JobCreated, engine.JobPending, engine.JobRunning, engine.JobAborting,
	engine.JobAborted, engine.JobCompleted, engine.JobFailed, engine.JobExpired, engine.JobPartial}

// jobState returns a state in upper case (see own).
func jobState(s string) engine.JobState {
	up := strings.ToUpper(s)
	for _, st := range jobStates {
		if string(st) == up {
			return st
		}
	}
	return engine.JobState(own(up))
}

// Parse decodes one EventBridge event. It returns ErrIrrelevant (wrapped) for
// events efskeeper ignores, and a descriptive error for malformed ones. The
// update shares no memory with b.
func Parse(b []byte) (engine.JobUpdate, error) {
	var u engine.JobUpdate
	var env envelope
	var spare detail
	d, err := decodeEnvelope(b, &env, &spare)
	if err != nil {
		return u, err
	}
	if env.Source != "aws.backup" {
		return u, fmt.Errorf("source %q: %w", env.Source, ErrIrrelevant)
	}
	switch env.DetailType {
	case DetailBackupJob:
		u.Kind = engine.KindBackup
	case DetailCopyJob:
		u.Kind = engine.KindCopy
	case DetailRestoreJob:
		u.Kind = engine.KindRestore
	default:
		return u, fmt.Errorf("detail-type %q: %w", env.DetailType, ErrIrrelevant)
	}
	if env.Account == "" || env.Region == "" {
		return u, fmt.Errorf("%s event %s: account and region are required", env.DetailType, env.ID)
	}
	if d == nil {
		return u, fmt.Errorf("%s event %s: detail is missing", env.DetailType, env.ID)
	}
	state := d.State
	if state == "" {
		state = d.Status
	}
	if state == "" {
		return u, fmt.Errorf("%s event %s: detail has neither state nor status", env.DetailType, env.ID)
	}
	if u.EventTime, err = parseTime(env.Time); err != nil {
		return u, fmt.Errorf("%s event %s: time: %w", env.DetailType, env.ID, err)
	}
	if u.CreatedAt, err = parseTime(d.CreationDate); err != nil {
		return u, fmt.Errorf("%s event %s: creationDate: %w", env.DetailType, env.ID, err)
	}
	if u.CompletedAt, err = parseTime(d.CompletionDate); err != nil {
		return u, fmt.Errorf("%s event %s: completionDate: %w", env.DetailType, env.ID, err)
	}
	first := ""
	if len(env.Resources) > 0 {
		first = env.Resources[0]
	}
	switch u.Kind {
	case engine.KindBackup:
		u.JobID = d.BackupJobID
	case engine.KindCopy:
		u.JobID = d.CopyJobID
		if u.JobID == "" && jobState(state) == engine.JobCreated {
			return u, errCopyCreated
		}
	case engine.KindRestore:
		u.JobID = d.RestoreJobID
	}
	if u.JobID == "" {
		return u, fmt.Errorf("%s event %s: detail has no job id", env.DetailType, env.ID)
	}
	u.Loc = engine.Loc{Account: env.Account, Region: env.Region}
	u.State = jobState(state)
	u.Message = cleanMessage(d.StatusMessage)
	u.SizeBytes = int64(d.BackupSizeInBytes)
	switch u.Kind {
	case engine.KindBackup:
		u.ResourceArn = d.ResourceArn
		u.VaultName = d.BackupVaultName
		u.SourceVaultArn = d.BackupVaultArn
		// The documented COMPLETED event has the point only as resources[0].
		u.RecoveryPointArn = d.RecoveryPointArn
		if u.RecoveryPointArn == "" && isRecoveryPoint(first) {
			u.RecoveryPointArn = first
		}
	case engine.KindCopy:
		u.ResourceArn = d.ResourceArn
		u.SourceVaultArn = d.SourceBackupVaultArn
		u.DestinationVaultArn = d.DestinationBackupVaultArn
		u.DestinationRecoveryPointArn = string(d.DestinationRecoveryPointArn)
		if isRecoveryPoint(first) {
			u.RecoveryPointArn = first
		}
	case engine.KindRestore:
		u.ResourceArn = d.SourceResourceArn
		u.RecoveryPointArn = d.RecoveryPointArn
		if u.RecoveryPointArn == "" && isRecoveryPoint(first) {
			u.RecoveryPointArn = first
		}
		u.CreatedResourceArn = d.CreatedResourceArn
	}
	shared(&u.Loc.Account, &u.Loc.Region, &u.VaultName, &u.SourceVaultArn, &u.DestinationVaultArn)
	ownAll(&u.JobID, &u.Message, &u.ResourceArn, &u.RecoveryPointArn, &u.DestinationRecoveryPointArn, &u.CreatedResourceArn)
	return u, nil
}

func jobDetailType(t string) bool {
	return t == DetailBackupJob || t == DetailCopyJob || t == DetailRestoreJob
}

func isRecoveryPoint(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":recovery-point:")
}

// cleanMessage strips the literal quotes AWS wraps some status messages in.
func cleanMessage(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

// parseTime accepts RFC 3339 with or without fractional seconds; "" is zero.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, ok := parseUTCMillis(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// parseUTCMillis reads the form AWS Backup's events use,
// 2006-01-02T15:04:05Z or 2006-01-02T15:04:05.000Z, when every field is in
// range; anything else is left to time.Parse, which answers the same for
// these (FuzzParseTime). It counts the days itself: time.Date, which
// normalizes out-of-range fields and looks up the location, was most of
// the cost of the three times of every event.
func parseUTCMillis(s string) (time.Time, bool) {
	if len(s) != 20 && (len(s) != 24 || s[19] != '.') || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	bad := 0 // a digit out of 0-9 makes it negative
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			d := int(c) - '0'
			bad |= d | (9 - d)
			v = v*10 + d
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	ms := 0
	if len(s) == 24 {
		ms = num(20, 3)
	}
	if bad < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	return time.Unix(unixDays(y, mo, d)*86400+int64(h*3600+mi*60+sec), int64(ms)*1e6).UTC(), true
}

// daysIn returns the number of days of month mo (1-12) of year y.
func daysIn(y, mo int) int {
	if mo == 2 {
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 30 + (mo+mo/8)%2 // 31 in January, March, May, July, August, October, December
}

// unixDays returns the days from 1970-01-01 to the proleptic Gregorian
// date y-mo-d, for y from 0 to 9999 (H. Hinnant's days_from_civil).
func unixDays(y, mo, d int) int64 {
	if mo <= 2 { // count years from March: February's leap day ends them
		y--
		mo += 12
	}
	y += 400 // keeps y positive: 400 years are 146097 days
	era, yoe := y/400, y%400
	doy := (153*(mo-3)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468 - 146097
}

// flexInt decodes a JSON number or a string holding an integer.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		b = []byte(s)
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("backupSizeInBytes %s is not a number", b)
	}
	*f = flexInt(n)
	return nil
}

// arnOrEmpty decodes a string, or the empty object AWS sends before a copy
// completes, as "".
type arnOrEmpty string

func (a *arnOrEmpty) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = arnOrEmpty(s)
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err == nil && len(m) == 0 {
		*a = ""
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*a = ""
		return nil
	}
	return fmt.Errorf("destinationRecoveryPointArn %s is neither a string nor {}", b)
}
