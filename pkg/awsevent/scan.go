package awsevent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A hand-written decoder for the event envelope: the jobevents function
// parses every AWS Backup event of every account and Region, and
// encoding/json's reflection was most of the engine benchmark's time. It
// decodes the same fields into the same structs with the same rules
// (case-insensitive keys, last duplicate wins, null leaves a field alone,
// invalid UTF-8 becomes U+FFFD). Whenever it meets anything it is not sure
// about it gives up, and Parse falls back to encoding/json, so the fast path
// can only ever agree with the standard one; FuzzFastPathAgrees checks that.

var errFallback = errors.New("fall back to encoding/json")

type scanner struct {
	b []byte
	i int
	// alias makes string values share b's memory instead of copying it:
	// Parse reads most of an event's strings only to compare or parse them,
	// and copies (clones) the few it returns. Without alias every value is
	// a string of its own, as encoding/json's are.
	alias bool
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte but whitespace, 0 at the end.
func (s *scanner) peek() byte {
	// Compact JSON has no whitespace: a check that inlines.
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return s.b[s.i]
	}
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) lit(word string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}

// null consumes a JSON null if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	return false
}

// object calls member for each member of an object with the field among
// first..last that its key selects (fNone for other keys); member must
// consume the value. Without fields to select (first is fNone), only the
// syntax is checked.
func (s *scanner) object(first, last field, member func(f field) error) error {
	if s.peek() != '{' {
		return errFallback
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	prev := fNone
	for {
		f, err := s.key(first, last, prev)
		if err != nil {
			return err
		}
		if err := member(f); err != nil {
			return err
		}
		prev = f
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errFallback
		}
	}
}

// key reads a member's key and colon, and returns the field among
// first..last it selects. It first tries the keys that usually follow
// prev's (see successors): one comparison of bytes, when they match,
// instead of a scan of the key and a search for it among the names.
func (s *scanner) key(first, last, prev field) (field, error) {
	if s.peek() != '"' {
		return fNone, errFallback
	}
	if first != fNone {
		for _, f := range successors[prev] {
			if n := s.isNext(f); n > 0 && f >= first && f <= last {
				s.i += n
				return f, nil
			}
		}
	}
	k, err := s.rawString()
	if err != nil {
		return fNone, err
	}
	if s.peek() != ':' {
		return fNone, errFallback
	}
	s.i++
	if first == fNone {
		return fNone, nil
	}
	return fieldOf(k, first, last), nil
}

// rawString returns a string's bytes when it has no escapes and is plain
// printable ASCII (keys); otherwise it falls back.
func (s *scanner) rawString() ([]byte, error) {
	s.i++ // opening quote
	start := s.i
	if q := plainEnd(s.b, start); q < len(s.b) && s.b[q] == '"' {
		s.i = q + 1
		return s.b[start:q], nil
	}
	return nil, errFallback
}

// str decodes a string value; null leaves *dst alone.
func (s *scanner) str(dst *string) error {
	if c := s.peek(); c != '"' {
		if c == 'n' && s.lit("null") {
			return nil
		}
		return errFallback
	}
	v, err := s.stringValue()
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func (s *scanner) stringValue() (string, error) {
	s.i++
	start := s.i
	// Fastest: printable ASCII up to the closing quote.
	q := plainEnd(s.b, start)
	if q < len(s.b) && s.b[q] == '"' {
		s.i = q + 1
		return s.text(s.b[start:q]), nil
	}
	// Fast: no escapes (the first quote ends the string), no control
	// characters, valid UTF-8.
	if q := bytes.IndexByte(s.b[start:], '"'); q >= 0 {
		raw := s.b[start : start+q]
		if bytes.IndexByte(raw, '\\') < 0 {
			if hasControl(raw) {
				return "", errFallback
			}
			s.i = start + q + 1
			if !utf8.Valid(raw) {
				return fixUTF8(raw), nil
			}
			return s.text(raw), nil
		}
	}
	// Slow: unescape.
	s.i = start
	var out []byte
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return fixUTF8(out), nil
			}
			return string(out), nil
		case c < 0x20:
			return "", errFallback
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		if s.i+1 >= len(s.b) {
			return "", errFallback
		}
		e := s.b[s.i+1]
		s.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", errFallback
			}
			if utf16.IsSurrogate(r) {
				// A pair, or U+FFFD as encoding/json does for a lone half.
				save := s.i
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					s.i += 2
					if r2, ok := s.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
				}
				s.i = save
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errFallback
		}
	}
	return "", errFallback
}

// text returns raw as a string: a copy, or with alias the bytes themselves.
func (s *scanner) text(raw []byte) string {
	if s.alias {
		if len(raw) == 0 {
			return ""
		}
		return unsafe.String(&raw[0], len(raw))
	}
	return string(raw)
}

// SWAR constants: a byte in each of the eight lanes of a word.
const (
	lanes1     = 0x0101010101010101
	lanesHigh  = 0x8080808080808080
	lanesCtl   = 0x2020202020202020 // the first printable byte
	lanesBack  = 0x5c5c5c5c5c5c5c5c // backslash
	lanesQuote = 0x2222222222222222
)

// plainEnd returns the index of the first byte of b from i on that is not
// printable ASCII or is a quote or a backslash (len(b) if none): where a
// string whose contents mean themselves ends, at its closing quote. It
// reads eight bytes at a time: (x - 0x20…20) | x has a lane's high bit
// set when the lane is below 0x20 or from 0x80 up, and (y - 0x01…01) &^ y,
// for y = x ^ 0x22…22 or x ^ 0x5c…5c, when the lane is a quote or a
// backslash. Lanes above such a lane may be flagged too (by a borrow), but
// never one below it: the lowest flagged lane is the byte sought.
func plainEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^lanesQuote, x^lanesBack
		if m := (x - lanesCtl | x | (q-lanes1)&^q | (bs-lanes1)&^bs) & lanesHigh; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// hasControl reports whether b holds a byte below 0x20, eight bytes at a
// time as plain does.
func hasControl(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-lanesCtl)&^x&lanesHigh != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return true
		}
	}
	return false
}

// fixUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD,
// one per byte, as encoding/json does.
func fixUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return string(out)
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.b[s.i:s.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.i += 4
	return rune(n), true
}

// number returns a JSON number's text, checking its grammar.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else if digits() == 0 {
		return nil, errFallback
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, errFallback
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, errFallback
		}
	}
	return s.b[start:s.i], nil
}

// skip consumes any value, checking its syntax.
func (s *scanner) skip(depth int) error {
	if depth > 100 {
		return errFallback
	}
	switch c := s.peek(); {
	case c == '{':
		return s.object(fNone, fNone, func(field) error { return s.skip(depth + 1) })
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return errFallback
			}
		}
	case c == '"':
		alias := s.alias
		s.alias = true // the value is dropped: no need for a copy
		_, err := s.stringValue()
		s.alias = alias
		return err
	case c == 't':
		if s.lit("true") {
			return nil
		}
	case c == 'f':
		if s.lit("false") {
			return nil
		}
	case c == 'n':
		if s.lit("null") {
			return nil
		}
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.number()
		return err
	}
	return errFallback
}

func (s *scanner) strings(dst *[]string) error {
	if s.null() {
		*dst = nil
		return nil
	}
	if s.peek() != '[' {
		return errFallback
	}
	s.i++
	out := (*dst)[:0]
	if s.peek() == ']' {
		s.i++
		*dst = out
		return nil
	}
	for {
		var v string
		if s.peek() != '"' {
			return errFallback
		}
		if err := s.str(&v); err != nil {
			return err
		}
		out = append(out, v)
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			*dst = out
			return nil
		default:
			return errFallback
		}
	}
}

// field names a decoded field: the envelope's, then the detail's.
type field uint8

const (
	fNone field = iota
	fVersion
	fID
	fDetailType
	fSource
	fAccount
	fTime
	fRegion
	fResources
	fDetail
	fBackupJobID
	fCopyJobID
	fRestoreJobID
	fState
	fStatus
	fStatusMessage
	fResourceArn
	fSourceResourceArn
	fRecoveryPointArn
	fBackupVaultArn
	fBackupVaultName
	fSourceBackupVaultArn
	fDestinationBackupVaultArn
	fCreatedResourceArn
	fCreationDate
	fCompletionDate
	fDestinationRecoveryPointArn
	fBackupSizeInBytes
	// Detail keys that Parse does not read, named so that key can expect
	// the keys after them.
	fBytesTransferred
	fIamRoleArn
	fResourceType
	fStartBy
	fExpectedCompletionDate
	fPercentDone
	fieldCount

	firstEnvelope, lastEnvelope = fVersion, fDetail
	firstDetail, lastDetail     = fBackupJobID, fPercentDone
)

// fieldNames are the fields' JSON names.
var fieldNames = [fieldCount]string{fVersion: "version", fID: "id", fDetailType: "detail-type", fSource: "source",
	fAccount: "account", fTime: "time", fRegion: "region", fResources: "resources", fDetail: "detail",
	fBackupJobID: "backupJobId", fCopyJobID: "copyJobId", fRestoreJobID: "restoreJobId", fState: "state",
	fStatus: "status", fStatusMessage: "statusMessage", fResourceArn: "resourceArn",
	fSourceResourceArn: "sourceResourceArn", fRecoveryPointArn: "recoveryPointArn",
	fBackupVaultArn: "backupVaultArn", fBackupVaultName: "backupVaultName",
	fSourceBackupVaultArn: "sourceBackupVaultArn", fDestinationBackupVaultArn: "destinationBackupVaultArn",
	fCreatedResourceArn: "createdResourceArn", fCreationDate: "creationDate", fCompletionDate: "completionDate",
	fDestinationRecoveryPointArn: "destinationRecoveryPointArn", fBackupSizeInBytes: "backupSizeInBytes",
	fBytesTransferred: "bytesTransferred", fIamRoleArn: "iamRoleArn", fResourceType: "resourceType",
	fStartBy: "startBy", fExpectedCompletionDate: "expectedCompletionDate", fPercentDone: "percentDone"}

// quotedKeys are the fields' names as a compact event spells its keys,
// "name":, in eight-byte words (little-endian, the last one padded with
// zeros), which isNext compares without a call to memequal.
var quotedKeys = func() (q [fieldCount]struct {
	words [4]uint64
	n     int
}) {
	for f, name := range fieldNames {
		k := []byte(`"` + name + `":`)
		q[f].n = len(k)
		for i, c := range k {
			q[f].words[i/8] |= uint64(c) << (8 * (i % 8))
		}
	}
	return q
}()

// isNext returns the length of f's quoted key if the bytes at s.i are it,
// else 0.
func (s *scanner) isNext(f field) int {
	k := &quotedKeys[f]
	if s.i+(k.n+7)&^7 > len(s.b) { // the last word would pass the end
		return 0
	}
	b := s.b[s.i:]
	i := 0
	for ; i+8 <= k.n; i += 8 {
		if binary.LittleEndian.Uint64(b[i:]) != k.words[i/8] {
			return 0
		}
	}
	if r := k.n - i; r > 0 && binary.LittleEndian.Uint64(b[i:])&(1<<(8*r)-1) != k.words[i/8] {
		return 0
	}
	return k.n
}

// successors are the keys that usually follow a key (fNone: the first of
// an object), in the order of AWS's documented events, which the simulator
// keeps: the envelope's, then those of Backup, Copy and Restore Job State
// Change details.
var successors = [fieldCount][]field{
	fNone:       {fVersion, fBackupJobID, fCopyJobID},
	fVersion:    {fID},
	fID:         {fDetailType},
	fDetailType: {fSource},
	fSource:     {fAccount},
	fAccount:    {fTime},
	fTime:       {fRegion},
	fRegion:     {fResources},
	fResources:  {fDetail},

	fBackupJobID:               {fBackupSizeInBytes, fBackupVaultArn, fState},
	fCopyJobID:                 {fBackupSizeInBytes},
	fRestoreJobID:              {fBackupSizeInBytes, fBackupVaultArn, fCreationDate},
	fBackupSizeInBytes:         {fBackupVaultArn, fCreationDate},
	fBackupVaultArn:            {fBackupVaultName, fRecoveryPointArn},
	fBackupVaultName:           {fBytesTransferred},
	fBytesTransferred:          {fCreationDate},
	fCreationDate:              {fIamRoleArn, fState},
	fIamRoleArn:                {fResourceArn, fPercentDone},
	fResourceArn:               {fResourceType},
	fResourceType:              {fState, fSourceBackupVaultArn, fStatus},
	fSourceBackupVaultArn:      {fState, fDestinationBackupVaultArn},
	fState:                     {fCompletionDate, fStatusMessage, fStartBy, fSourceBackupVaultArn},
	fStatusMessage:             {fCompletionDate, fStartBy},
	fCompletionDate:            {fStartBy, fDestinationBackupVaultArn},
	fStartBy:                   {fPercentDone, fExpectedCompletionDate},
	fExpectedCompletionDate:    {fPercentDone},
	fDestinationBackupVaultArn: {fDestinationRecoveryPointArn},
}

// fieldOf returns the field among first..last (one object's) that a JSON
// key selects, as encoding/json matches them (exactly, else
// case-insensitively), or fNone for a key that names none of them. No two
// names fold to each other.
func fieldOf(k []byte, first, last field) field {
	if f := exactField(k); f != fNone {
		if f < first || f > last {
			return fNone
		}
		return f
	}
	for f := first; f <= last; f++ {
		if n := fieldNames[f]; len(n) == len(k) && bytes.EqualFold(k, []byte(n)) {
			return f
		}
	}
	return fNone
}

// exactField returns the field whose name k spells exactly: a switch,
// which the compiler turns into a search by length and value, is several
// times faster than a loop over the names or a map. It returns a number,
// so that the callers' switches on it are jump tables, not a second
// search among strings.
func exactField(k []byte) field {
	switch string(k) {
	case "version":
		return fVersion
	case "id":
		return fID
	case "detail-type":
		return fDetailType
	case "source":
		return fSource
	case "account":
		return fAccount
	case "time":
		return fTime
	case "region":
		return fRegion
	case "resources":
		return fResources
	case "detail":
		return fDetail
	case "backupJobId":
		return fBackupJobID
	case "copyJobId":
		return fCopyJobID
	case "restoreJobId":
		return fRestoreJobID
	case "state":
		return fState
	case "status":
		return fStatus
	case "statusMessage":
		return fStatusMessage
	case "resourceArn":
		return fResourceArn
	case "sourceResourceArn":
		return fSourceResourceArn
	case "recoveryPointArn":
		return fRecoveryPointArn
	case "backupVaultArn":
		return fBackupVaultArn
	case "backupVaultName":
		return fBackupVaultName
	case "sourceBackupVaultArn":
		return fSourceBackupVaultArn
	case "destinationBackupVaultArn":
		return fDestinationBackupVaultArn
	case "createdResourceArn":
		return fCreatedResourceArn
	case "creationDate":
		return fCreationDate
	case "completionDate":
		return fCompletionDate
	case "destinationRecoveryPointArn":
		return fDestinationRecoveryPointArn
	case "backupSizeInBytes":
		return fBackupSizeInBytes
	case "bytesTransferred":
		return fBytesTransferred
	case "iamRoleArn":
		return fIamRoleArn
	case "resourceType":
		return fResourceType
	case "startBy":
		return fStartBy
	case "expectedCompletionDate":
		return fExpectedCompletionDate
	case "percentDone":
		return fPercentDone
	}
	return fNone
}

// fastDecode decodes an event into env, or returns errFallback.
func fastDecode(b []byte, env *envelope) error {
	var d detail
	has, err := (&scanner{b: b}).envelope(env, &d)
	if err == nil && has {
		env.Detail = &d
	}
	return err
}

// envelope decodes an event into env but its detail, which goes to d;
// has reports whether env.Detail should point at d (a detail object came
// last, and no null after it). d is kept apart so that it need not be on
// the heap.
func (s *scanner) envelope(env *envelope, d *detail) (has bool, err error) {
	err = s.object(firstEnvelope, lastEnvelope, func(f field) error {
		switch f {
		case fVersion:
			return s.str(&env.Version)
		case fID:
			return s.str(&env.ID)
		case fDetailType:
			return s.str(&env.DetailType)
		case fSource:
			return s.str(&env.Source)
		case fAccount:
			return s.str(&env.Account)
		case fTime:
			return s.str(&env.Time)
		case fRegion:
			return s.str(&env.Region)
		case fResources:
			return s.strings(&env.Resources)
		case fDetail:
			if s.null() {
				has = false
				return nil
			}
			if !has {
				// A new object, as encoding/json allocates after a null;
				// a repeated one updates the same.
				*d = detail{}
				has = true
			}
			return s.detail(d)
		}
		return s.skip(0)
	})
	if err != nil {
		return false, err
	}
	s.ws()
	if s.i != len(s.b) {
		return false, errFallback
	}
	return has, nil
}

func (s *scanner) detail(d *detail) error {
	return s.object(firstDetail, lastDetail, func(f field) error {
		switch f {
		case fBackupJobID:
			return s.str(&d.BackupJobID)
		case fCopyJobID:
			return s.str(&d.CopyJobID)
		case fRestoreJobID:
			return s.str(&d.RestoreJobID)
		case fState:
			return s.str(&d.State)
		case fStatus:
			return s.str(&d.Status)
		case fStatusMessage:
			return s.str(&d.StatusMessage)
		case fResourceArn:
			return s.str(&d.ResourceArn)
		case fSourceResourceArn:
			return s.str(&d.SourceResourceArn)
		case fRecoveryPointArn:
			return s.str(&d.RecoveryPointArn)
		case fBackupVaultArn:
			return s.str(&d.BackupVaultArn)
		case fBackupVaultName:
			return s.str(&d.BackupVaultName)
		case fSourceBackupVaultArn:
			return s.str(&d.SourceBackupVaultArn)
		case fDestinationBackupVaultArn:
			return s.str(&d.DestinationBackupVaultArn)
		case fCreatedResourceArn:
			return s.str(&d.CreatedResourceArn)
		case fCreationDate:
			return s.str(&d.CreationDate)
		case fCompletionDate:
			return s.str(&d.CompletionDate)
		case fDestinationRecoveryPointArn:
			switch s.peek() {
			case '"':
				var v string
				if err := s.str(&v); err != nil {
					return err
				}
				d.DestinationRecoveryPointArn = arnOrEmpty(v)
				return nil
			case '{':
				// Only the empty object means "not yet".
				save := s.i
				s.i++
				if s.peek() == '}' {
					s.i++
					d.DestinationRecoveryPointArn = ""
					return nil
				}
				s.i = save
				return errFallback
			}
			if s.null() {
				d.DestinationRecoveryPointArn = ""
				return nil
			}
			return errFallback
		case fBackupSizeInBytes:
			if s.null() {
				return nil
			}
			var f float64
			var err error
			if s.peek() == '"' {
				var v string
				if err := s.str(&v); err != nil {
					return err
				}
				if v == "" {
					return nil
				}
				f, err = parseSize(v)
			} else {
				n, nerr := s.number()
				if nerr != nil {
					return nerr
				}
				f, err = parseSize(n)
			}
			if err != nil {
				return errFallback
			}
			d.BackupSizeInBytes = flexInt(f)
			return nil
		}
		return s.skip(0)
	})
}

// parseSize is strconv.ParseFloat(v, 64) for a backup's size: up to 15
// digits, which a float64 holds exactly, it counts itself.
func parseSize[T string | []byte](v T) (float64, error) {
	if len(v) == 0 || len(v) > 15 {
		return strconv.ParseFloat(string(v), 64)
	}
	n := int64(0)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return strconv.ParseFloat(string(v), 64)
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), nil
}
