package index

import (
	"errors"
	"slices"
)

// Change says how a path differs at one restore point from the one before.
type Change string

// The changes History reports.
const (
	ChangeAdded     Change = "added"     // exists here, not at the previous point
	ChangeRemoved   Change = "removed"   // existed at the previous point, not here
	ChangeModified  Change = "modified"  // size, mtime or type differ
	ChangeUnchanged Change = "unchanged" // same size, mtime and type
	ChangeAbsent    Change = "absent"    // neither here nor at the previous point
)

// HistoryPoint is one path at one restore point.
type HistoryPoint struct {
	Index  Info
	Exists bool
	Entry  Entry // valid when Exists
	Change Change
	// SizeDelta is Entry.Size minus the size at the previous point where
	// the path existed with the path existing at both.
	SizeDelta int64
}

// History looks path up in each index and returns one point per index,
// ordered by backup creation time, each compared with the point before.
// Indexes of one file system's restore points usually share a base, so
// the lookups hit the same few blocks.
func History(path string, indexes []*Reader) ([]HistoryPoint, error) {
	sorted := slices.Clone(indexes)
	slices.SortStableFunc(sorted, func(a, b *Reader) int { return a.backupTime().Compare(b.backupTime()) })
	var out []HistoryPoint
	var prev *HistoryPoint
	for _, r := range sorted {
		p := HistoryPoint{Index: r.Info()}
		e, err := r.Lookup(path)
		switch {
		case err == nil:
			p.Exists, p.Entry = true, e
		case errors.Is(err, ErrNotFound):
		default:
			return nil, err
		}
		switch {
		case p.Exists && (prev == nil || !prev.Exists):
			p.Change = ChangeAdded
		case !p.Exists && prev != nil && prev.Exists:
			p.Change = ChangeRemoved
		case !p.Exists:
			p.Change = ChangeAbsent
		case p.Entry.Size != prev.Entry.Size || p.Entry.MTime != prev.Entry.MTime || p.Entry.Type != prev.Entry.Type:
			p.Change = ChangeModified
			p.SizeDelta = p.Entry.Size - prev.Entry.Size
		default:
			p.Change = ChangeUnchanged
		}
		out = append(out, p)
		prev = &out[len(out)-1]
	}
	return out, nil
}
