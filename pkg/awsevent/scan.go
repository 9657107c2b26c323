package awsevent

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
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
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], nil
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, errFallback
		}
		s.i++
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
	// Fast: no escapes, ASCII or valid UTF-8.
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			raw := s.b[start:s.i]
			s.i++
			if utf8.Valid(raw) {
				return string(raw), nil
			}
			return fixUTF8(raw), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		s.i++
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
		_, err := s.stringValue()
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

// key reports whether a JSON key names a field, as encoding/json matches
// them (case-insensitively).
func key(k []byte, name string) bool {
	return len(k) == len(name) && (string(k) == name || bytes.EqualFold(k, []byte(name)))
}

// fastDecode decodes an event into env, or returns errFallback.
func fastDecode(b []byte, env *envelope) error {
	s := &scanner{b: b}
	err := s.object(func(k []byte) error {
		switch {
		case key(k, "version"):
			return s.str(&env.Version)
		case key(k, "id"):
			return s.str(&env.ID)
		case key(k, "detail-type"):
			return s.str(&env.DetailType)
		case key(k, "source"):
			return s.str(&env.Source)
		case key(k, "account"):
			return s.str(&env.Account)
		case key(k, "time"):
			return s.str(&env.Time)
		case key(k, "region"):
			return s.str(&env.Region)
		case key(k, "resources"):
			return s.strings(&env.Resources)
		case key(k, "detail"):
			if s.null() {
				env.Detail = nil
				return nil
			}
			if env.Detail == nil {
				env.Detail = &detail{}
			}
			return s.detail(env.Detail)
		}
		return s.skip(0)
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(s.b) {
		return errFallback
	}
	return nil
}

func (s *scanner) detail(d *detail) error {
	return s.object(func(k []byte) error {
		switch {
		case key(k, "backupJobId"):
			return s.str(&d.BackupJobID)
		case key(k, "copyJobId"):
			return s.str(&d.CopyJobID)
		case key(k, "restoreJobId"):
			return s.str(&d.RestoreJobID)
		case key(k, "state"):
			return s.str(&d.State)
		case key(k, "status"):
			return s.str(&d.Status)
		case key(k, "statusMessage"):
			return s.str(&d.StatusMessage)
		case key(k, "resourceArn"):
			return s.str(&d.ResourceArn)
		case key(k, "sourceResourceArn"):
			return s.str(&d.SourceResourceArn)
		case key(k, "recoveryPointArn"):
			return s.str(&d.RecoveryPointArn)
		case key(k, "backupVaultArn"):
			return s.str(&d.BackupVaultArn)
		case key(k, "backupVaultName"):
			return s.str(&d.BackupVaultName)
		case key(k, "sourceBackupVaultArn"):
			return s.str(&d.SourceBackupVaultArn)
		case key(k, "destinationBackupVaultArn"):
			return s.str(&d.DestinationBackupVaultArn)
		case key(k, "createdResourceArn"):
			return s.str(&d.CreatedResourceArn)
		case key(k, "creationDate"):
			return s.str(&d.CreationDate)
		case key(k, "completionDate"):
			return s.str(&d.CompletionDate)
		case key(k, "destinationRecoveryPointArn"):
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
		case key(k, "backupSizeInBytes"):
			if s.null() {
				return nil
			}
			var text []byte
			if s.peek() == '"' {
				var v string
				if err := s.str(&v); err != nil {
					return err
				}
				if v == "" {
					return nil
				}
				text = []byte(v)
			} else {
				n, err := s.number()
				if err != nil {
					return err
				}
				text = n
			}
			f, err := strconv.ParseFloat(string(text), 64)
			if err != nil {
				return errFallback
			}
			d.BackupSizeInBytes = flexInt(f)
			return nil
		}
		return s.skip(0)
	})
}
