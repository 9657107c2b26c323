package index

import (
	"errors"
	"strings"
)

// Glob is a compiled `find -name` pattern.
//
// find matches -name with fnmatch(3) and no flags, so: '*' and '?' match any
// byte including a leading dot; "[...]" brackets with '!' or '^' negation,
// ranges, character classes such as [:alpha:], [=c=] and [.c.]; backslash
// quotes the next byte; a '[' without its ']' is an ordinary byte; a trailing
// backslash never matches. Matching is bytewise, as in the C locale (run find
// with LC_ALL=C to compare), so names that are not UTF-8 match like any
// other bytes.
type Glob struct {
	pattern string
	literal bool // no special bytes: plain comparison
}

// ErrBadPattern reports a pattern that can never match a name.
var ErrBadPattern = errors.New("bad pattern")

// CompileGlob prepares pattern for matching names. A pattern containing '/'
// never matches a name (find warns about such patterns), and is refused.
func CompileGlob(pattern string) (*Glob, error) {
	if i := strings.IndexByte(pattern, 0); i >= 0 {
		pattern = pattern[:i] // what a C string would see
	}
	if strings.IndexByte(pattern, '/') >= 0 {
		return nil, errors.Join(ErrBadPattern, errors.New("a -name pattern matches names, which never contain '/'; use --path-contains for paths"))
	}
	return &Glob{pattern: pattern, literal: !strings.ContainsAny(pattern, `*?[\`)}, nil
}

// Match reports whether name matches the pattern.
func (g *Glob) Match(name []byte) bool {
	if g.literal {
		return string(name) == g.pattern
	}
	return fnmatch(g.pattern, 0, name, 0)
}

// String returns the pattern.
func (g *Glob) String() string { return g.pattern }

// charAt emulates reading a NUL-terminated C string.
func charAt(p string, i int) byte {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// charClassMaxLength bounds a [:name:] as glibc does.
const charClassMaxLength = 2048 // CHARCLASS_NAME_MAX in glibc

// fnmatch is glibc's internal_fnmatch (posix/fnmatch_loop.c) for flags 0 in
// the C locale: the collation sequence is byte order, collating symbols and
// equivalence classes are single bytes.
func fnmatch(p string, pi int, n []byte, ni int) bool {
	for {
		c := charAt(p, pi)
		pi++
		if c == 0 {
			break
		}
		switch c {
		case '?':
			if ni == len(n) {
				return false
			}
		case '\\':
			c = charAt(p, pi)
			pi++
			if c == 0 {
				return false // trailing backslash loses
			}
			if ni == len(n) || n[ni] != c {
				return false
			}
		case '*':
			for c = charAt(p, pi); c == '?' || c == '*'; c = charAt(p, pi) {
				pi++
				if c == '?' {
					if ni == len(n) {
						return false
					}
					ni++
				}
			}
			pi++
			if c == 0 {
				return true
			}
			if c == '[' {
				for ; ni < len(n); ni++ {
					if fnmatch(p, pi-1, n, ni) {
						return true
					}
				}
				return false
			}
			if c == '\\' {
				c = charAt(p, pi)
			}
			for ; ni < len(n); ni++ {
				if n[ni] == c && fnmatch(p, pi-1, n, ni) {
					return true
				}
			}
			return false
		case '[':
			if ni == len(n) {
				return false
			}
			r := matchBracket(p, pi, n[ni])
			switch r.outcome {
			case bracketFail:
				return false
			case bracketLiteral:
				if n[ni] != '[' {
					return false
				}
			case bracketMatched:
				pi = r.next
			}
		default:
			if ni == len(n) || n[ni] != c {
				return false
			}
		}
		ni++
	}
	return ni == len(n)
}

type bracketOutcome int

const (
	bracketFail    bracketOutcome = iota // the whole fnmatch fails
	bracketLiteral                       // unterminated: '[' is an ordinary byte
	bracketMatched                       // the bracket matched fn; continue at next
)

type bracketResult struct {
	outcome bracketOutcome
	next    int
}

// matchBracket matches one byte fn against the bracket expression whose '['
// is just before p[pi].
func matchBracket(p string, pi int, fn byte) bracketResult {
	fail := bracketResult{outcome: bracketFail}
	not := charAt(p, pi) == '!' || charAt(p, pi) == '^'
	if not {
		pi++
	}
	c := charAt(p, pi)
	pi++
	matched := false
loop:
	for {
		normal := false // whether c is an ordinary element to compare
		switch {
		case c == '\\':
			if charAt(p, pi) == 0 {
				return fail
			}
			c = charAt(p, pi)
			pi++
			normal = true
		case c == '[' && charAt(p, pi) == ':':
			startp := pi
			var name []byte
			isClass := true
			for {
				if len(name) == charClassMaxLength {
					return fail
				}
				pi++
				c = charAt(p, pi)
				if c == ':' && charAt(p, pi+1) == ']' {
					pi += 2
					break
				}
				if c < 'a' || c >= 'z' {
					pi = startp
					c = '['
					isClass = false
					break
				}
				name = append(name, c)
			}
			if isClass {
				in, ok := inCharClass(string(name), fn)
				if !ok {
					return fail
				}
				if in {
					matched = true
					break loop
				}
				c = charAt(p, pi)
				pi++
			} else {
				normal = true
			}
		case c == '[' && charAt(p, pi) == '=':
			startp := pi
			pi++
			c = charAt(p, pi)
			if c == 0 {
				pi = startp
				c = '['
				normal = true
				break
			}
			str := c
			pi++
			c = charAt(p, pi)
			if c != '=' || charAt(p, pi+1) != ']' {
				pi = startp
				c = '['
				normal = true
				break
			}
			pi += 2
			if fn == str {
				matched = true
				break loop
			}
			c = charAt(p, pi)
			pi++
		case c == 0:
			return bracketResult{outcome: bracketLiteral}
		case c == '[' && charAt(p, pi) == '.':
			cold, next, ok := collatingSymbol(p, pi)
			if !ok {
				return fail
			}
			pi = next
			isRange := charAt(p, pi) == '-' && charAt(p, pi+1) != 0
			if !isRange && fn == cold {
				matched = true
				break loop
			}
			c = charAt(p, pi)
			pi++
			if matched, ok, c, pi = bracketRange(p, pi, c, cold, fn); !ok {
				return fail
			}
			if matched {
				break loop
			}
		default:
			normal = true
		}
		if normal {
			isRange := charAt(p, pi) == '-' && charAt(p, pi+1) != 0 && charAt(p, pi+1) != ']'
			if !isRange && c == fn {
				matched = true
				break loop
			}
			cold := c
			c = charAt(p, pi)
			pi++
			var ok bool
			if matched, ok, c, pi = bracketRange(p, pi, c, cold, fn); !ok {
				return fail
			}
			if matched {
				break loop
			}
		}
		if c == ']' {
			break
		}
	}
	if !matched {
		if !not {
			return fail
		}
		return bracketResult{outcome: bracketMatched, next: pi}
	}
	// Skip the rest of the bracket that already matched.
	for {
		c = charAt(p, pi)
		pi++
		if c == ']' {
			break
		}
		switch {
		case c == 0:
			// Unterminated after all: rescan with '[' as an ordinary
			// byte (glibc bug 28792, fixed in 2.36).
			return bracketResult{outcome: bracketLiteral}
		case c == '\\':
			if charAt(p, pi) == 0 {
				return fail
			}
			pi++
		case c == '[' && charAt(p, pi) == ':':
			c1 := 0
			startp := pi
			for {
				pi++
				c = charAt(p, pi)
				c1++
				if c1 == charClassMaxLength {
					return fail
				}
				if charAt(p, pi) == ':' && charAt(p, pi+1) == ']' {
					break
				}
				if c < 'a' || c >= 'z' {
					pi = startp - 2
					break
				}
			}
			pi += 2
		case c == '[' && charAt(p, pi) == '=':
			pi++
			if charAt(p, pi) == 0 {
				return fail
			}
			pi++
			if charAt(p, pi) != '=' || charAt(p, pi+1) != ']' {
				return fail
			}
			pi += 2
		case c == '[' && charAt(p, pi) == '.':
			for {
				pi++
				c = charAt(p, pi)
				if c == 0 {
					return fail
				}
				if c == '.' && charAt(p, pi+1) == ']' {
					break
				}
			}
			pi += 2
		}
	}
	if not {
		return fail
	}
	return bracketResult{outcome: bracketMatched, next: pi}
}

// bracketRange handles a possible range after the element cold, with c the
// byte read after it. It returns whether fn matched, ok=false when the whole
// match fails, and the next byte and position.
func bracketRange(p string, pi int, c, cold, fn byte) (matched, ok bool, _ byte, _ int) {
	if c != '-' || charAt(p, pi) == ']' {
		return false, true, c, pi
	}
	cend := charAt(p, pi)
	pi++
	if cend == '[' && charAt(p, pi) == '.' {
		var ok bool
		if cend, pi, ok = collatingSymbol(p, pi); !ok {
			return false, false, c, pi
		}
	} else {
		if cend == '\\' {
			cend = charAt(p, pi)
			pi++
		}
		if cend == 0 {
			return false, false, c, pi
		}
	}
	if cold <= fn && fn <= cend {
		return true, true, c, pi
	}
	c = charAt(p, pi)
	pi++
	return false, true, c, pi
}

// inCharClass reports whether b is in the named class of the C locale; ok is
// false for an unknown class name.
func inCharClass(name string, b byte) (in, ok bool) {
	upper := b >= 'A' && b <= 'Z'
	lower := b >= 'a' && b <= 'z'
	digit := b >= '0' && b <= '9'
	alpha := upper || lower
	graph := b >= 0x21 && b <= 0x7e
	switch name {
	case "alnum":
		return alpha || digit, true
	case "alpha":
		return alpha, true
	case "blank":
		return b == ' ' || b == '\t', true
	case "cntrl":
		return b < 0x20 || b == 0x7f, true
	case "digit":
		return digit, true
	case "graph":
		return graph, true
	case "lower":
		return lower, true
	case "print":
		return graph || b == ' ', true
	case "punct":
		return graph && !alpha && !digit, true
	case "space":
		return b == ' ' || (b >= '\t' && b <= '\r'), true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F'), true
	}
	return false, false
}

// collatingSymbol parses "[.c.]" whose '.' is at p[pi]. In the C locale only
// single-byte symbols exist; ok is false when the whole match fails.
func collatingSymbol(p string, pi int) (sym byte, next int, ok bool) {
	startp := pi
	n := 0
	for {
		pi++
		c := charAt(p, pi)
		if c == '.' && charAt(p, pi+1) == ']' {
			pi += 2
			break
		}
		if c == 0 {
			return 0, pi, false
		}
		n++
	}
	if n != 1 {
		return 0, pi, false
	}
	return p[startp+1], pi, true
}
