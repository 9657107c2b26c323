package policy

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a policy document: Path is the JSON path of
// the offending value (for example "copies.mappings[1].targetRegion"; empty
// for the document as a whole) and Message a sentence that tells the admin
// what to change.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String renders the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem of a document, in document order. It is an
// error; an empty Problems means a valid policy. Because a nil Problems in an
// error interface is not a nil error, use Err to hand it on as an error.
type Problems []Problem

// Error joins the problems, one "path: message" per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// problemList collects problems while a document is decoded or validated.
type problemList struct{ list Problems }

func (l *problemList) add(path, msg string) {
	l.list = append(l.list, Problem{Path: path, Message: msg})
}

// join builds child paths: field names with a dot, indexes in brackets.
func join(path, field string) string {
	if !isIdent(field) {
		field = strconv.Quote(field)
		if path == "" {
			return "[" + field + "]"
		}
		return path + "[" + field + "]"
	}
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// sortProblems orders problems as the fields appear in the document (the
// order of the schema, then indexes), keeping the order of problems at one
// path. Parse finds problems in two passes (shape, then meaning); this puts
// them back in the order an admin reads the file.
func sortProblems(ps Problems) {
	keys := make([][]pathSeg, len(ps))
	for i, p := range ps {
		keys[i] = splitPath(p.Path)
	}
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lessPath(keys[idx[a]], keys[idx[b]]) })
	sorted := make(Problems, len(ps))
	for i, j := range idx {
		sorted[i] = ps[j]
	}
	copy(ps, sorted)
}

// pathSeg is one step of a path: a field (rank from the schema order, then
// name) or an index.
type pathSeg struct {
	field string
	rank  int
	index int // -1 for fields
}

func splitPath(path string) []pathSeg {
	var segs []pathSeg
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, "[\""):
			// A quoted field name, as join writes for unusual keys.
			end := 2
			for end < len(path) && !(path[end] == '"' && path[end-1] != '\\') {
				end++
			}
			name, err := strconv.Unquote(path[1:min(end+1, len(path))])
			if err != nil {
				name = path
			}
			segs = append(segs, fieldSeg(name))
			path = path[min(end+2, len(path)):]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				end = len(path) - 1
			}
			n, err := strconv.Atoi(path[1:end])
			if err != nil {
				n = 0
			}
			segs = append(segs, pathSeg{index: n})
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, fieldSeg(path[:end]))
			path = path[end:]
		}
	}
	return segs
}

func fieldSeg(name string) pathSeg {
	rank, ok := fieldRank[name]
	if !ok {
		rank = len(fieldRank) // unknown fields after known ones
	}
	return pathSeg{field: name, rank: rank, index: -1}
}

func lessPath(a, b []pathSeg) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if (x.index < 0) != (y.index < 0) {
			return x.index < 0
		}
		if x.index >= 0 {
			if x.index != y.index {
				return x.index < y.index
			}
			continue
		}
		if x.rank != y.rank {
			return x.rank < y.rank
		}
		if x.field != y.field {
			return x.field < y.field
		}
	}
	return len(a) < len(b)
}
