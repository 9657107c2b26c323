package awsevent

import (
	"bytes"
	"encoding/binary"
	"errors"
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

func (s *scanner) peek() byte {
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

// object calls field for each member; field must consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if s.peek() != '{' {
		return errFallback
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return errFallback
		}
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return errFallback
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
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

// rawString returns a string's bytes when it has no escapes and is plain
// printable ASCII (keys); otherwise it falls back.
func (s *scanner) rawString() ([]byte, error) {
	s.i++ // opening quote
	start := s.i
	if q := bytes.IndexByte(s.b[start:], '"'); q >= 0 && plain(s.b[start:start+q]) {
		s.i = start + q + 1
		return s.b[start : start+q], nil
	}
	return nil, errFallback
}

// str decodes a string value; null leaves *dst alone.
func (s *scanner) str(dst *string) error {
	if s.null() {
		return nil
	}
	if s.peek() != '"' {
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
	// Fast: no escapes (the first quote ends the string), no control
	// characters, valid UTF-8.
	if q := bytes.IndexByte(s.b[start:], '"'); q >= 0 {
		raw := s.b[start : start+q]
		if plain(raw) {
			s.i = start + q + 1
			return s.text(raw), nil
		}
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
	lanes1    = 0x0101010101010101
	lanesHigh = 0x8080808080808080
	lanesCtl  = 0x2020202020202020 // the first printable byte
	lanesBack = 0x5c5c5c5c5c5c5c5c // backslash
)

// plain reports whether b is printable ASCII without a backslash: a JSON
// string's contents that mean themselves. It reads eight bytes at a time:
// (x - 0x20…20) | x has a lane's high bit set exactly when some lane is
// below 0x20 or from 0x80 up (a borrow crosses lanes only from a lane
// below 0x20), and (y - 0x01…01) &^ y, for y = x ^ 0x5c…5c, when some
// lane of x is a backslash.
func plain(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x ^ lanesBack
		if (x-lanesCtl|x|(y-lanes1)&^y)&lanesHigh != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
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
		return s.object(func([]byte) error { return s.skip(depth + 1) })
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

// envelopeKeys and detailKeys are the JSON names of the fields decoded.
var (
	envelopeKeys = []string{"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
	detailKeys   = []string{"backupJobId", "copyJobId", "restoreJobId", "state", "status", "statusMessage", "resourceArn",
		"sourceResourceArn", "recoveryPointArn", "backupVaultArn", "backupVaultName", "sourceBackupVaultArn",
		"destinationBackupVaultArn", "createdResourceArn", "creationDate", "completionDate",
		"destinationRecoveryPointArn", "backupSizeInBytes"}
)

// fieldName returns the name among names that a JSON key selects, as
// encoding/json matches them (exactly, else case-insensitively), or ""
// for a key that names no field. No two names fold to each other.
func fieldName(k []byte, names []string) string {
	if n := exactName(k); n != "" {
		for _, m := range names { // names of this object only
			if m == n {
				return n
			}
		}
		return ""
	}
	for _, n := range names {
		if len(n) == len(k) && bytes.EqualFold(k, []byte(n)) {
			return n
		}
	}
	return ""
}

// exactName returns the name of envelopeKeys or detailKeys that k spells
// exactly: a switch, which the compiler turns into a search by length and
// value, is several times faster than a loop over the names or a map.
func exactName(k []byte) string {
	switch string(k) {
	case "version":
		return "version"
	case "id":
		return "id"
	case "detail-type":
		return "detail-type"
	case "source":
		return "source"
	case "account":
		return "account"
	case "time":
		return "time"
	case "region":
		return "region"
	case "resources":
		return "resources"
	case "detail":
		return "detail"
	case "backupJobId":
		return "backupJobId"
	case "copyJobId":
		return "copyJobId"
	case "restoreJobId":
		return "restoreJobId"
	case "state":
		return "state"
	case "status":
		return "status"
	case "statusMessage":
		return "statusMessage"
	case "resourceArn":
		return "resourceArn"
	case "sourceResourceArn":
		return "sourceResourceArn"
	case "recoveryPointArn":
		return "recoveryPointArn"
	case "backupVaultArn":
		return "backupVaultArn"
	case "backupVaultName":
		return "backupVaultName"
	case "sourceBackupVaultArn":
		return "sourceBackupVaultArn"
	case "destinationBackupVaultArn":
		return "destinationBackupVaultArn"
	case "createdResourceArn":
		return "createdResourceArn"
	case "creationDate":
		return "creationDate"
	case "completionDate":
		return "completionDate"
	case "destinationRecoveryPointArn":
		return "destinationRecoveryPointArn"
	case "backupSizeInBytes":
		return "backupSizeInBytes"
	}
	return ""
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
	err = s.object(func(k []byte) error {
		switch fieldName(k, envelopeKeys) {
		case "version":
			return s.str(&env.Version)
		case "id":
			return s.str(&env.ID)
		case "detail-type":
			return s.str(&env.DetailType)
		case "source":
			return s.str(&env.Source)
		case "account":
			return s.str(&env.Account)
		case "time":
			return s.str(&env.Time)
		case "region":
			return s.str(&env.Region)
		case "resources":
			return s.strings(&env.Resources)
		case "detail":
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
	return s.object(func(k []byte) error {
		switch fieldName(k, detailKeys) {
		case "backupJobId":
			return s.str(&d.BackupJobID)
		case "copyJobId":
			return s.str(&d.CopyJobID)
		case "restoreJobId":
			return s.str(&d.RestoreJobID)
		case "state":
			return s.str(&d.State)
		case "status":
			return s.str(&d.Status)
		case "statusMessage":
			return s.str(&d.StatusMessage)
		case "resourceArn":
			return s.str(&d.ResourceArn)
		case "sourceResourceArn":
			return s.str(&d.SourceResourceArn)
		case "recoveryPointArn":
			return s.str(&d.RecoveryPointArn)
		case "backupVaultArn":
			return s.str(&d.BackupVaultArn)
		case "backupVaultName":
			return s.str(&d.BackupVaultName)
		case "sourceBackupVaultArn":
			return s.str(&d.SourceBackupVaultArn)
		case "destinationBackupVaultArn":
			return s.str(&d.DestinationBackupVaultArn)
		case "createdResourceArn":
			return s.str(&d.CreatedResourceArn)
		case "creationDate":
			return s.str(&d.CreationDate)
		case "completionDate":
			return s.str(&d.CompletionDate)
		case "destinationRecoveryPointArn":
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
		case "backupSizeInBytes":
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
				f, err = strconv.ParseFloat(v, 64)
			} else {
				n, nerr := s.number()
				if nerr != nil {
					return nerr
				}
				f, err = strconv.ParseFloat(string(n), 64)
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
