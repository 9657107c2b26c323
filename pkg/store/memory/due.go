package memory

import (
	"cmp"
	"slices"
	"time"
)

// dueQueue is the reconciler's work list (Store.DueTasks): the
// non-terminal tasks by NextCheckAt. Nearly every job event moves a
// task's NextCheckAt (or ends the task), and DueTasks reads only the
// front of the list once per reconcile pass: a tree kept in order paid a
// search, a removal and an insertion for every write. Here a write
// appends an entry to the bucket of its minute and leaves the entry it
// replaces in place: an entry counts only while its seq is the slot's
// dueSeq (the write bumped it), and DueTasks drops the others from the
// buckets it reads. A replaced entry waits at most until its own minute
// comes, as NextCheckAt is when the reconciler would have looked.
type dueQueue struct {
	buckets map[int64][]dueEntry // by minute of NextCheckAt (Unix seconds / 60, rounded down)
	minutes []int64              // the buckets' minutes, ascending
}

type dueEntry struct {
	sec  int64
	nsec int32
	seq  uint32
	slot *taskSlot
}

func minuteOf(sec int64) int64 {
	m := sec / 60
	if sec%60 < 0 {
		m--
	}
	return m
}

// put makes at e's due time, replacing the entry it had.
func (q *dueQueue) put(e *taskSlot, at time.Time) {
	e.dueSeq++
	en := dueEntry{sec: at.Unix(), nsec: int32(at.Nanosecond()), seq: e.dueSeq, slot: e}
	m := minuteOf(en.sec)
	if q.buckets == nil {
		q.buckets = map[int64][]dueEntry{}
	}
	b, ok := q.buckets[m]
	if !ok {
		i, _ := slices.BinarySearch(q.minutes, m)
		q.minutes = slices.Insert(q.minutes, i, m)
	}
	q.buckets[m] = append(b, en)
}

// drop takes e off the list (its entry no longer counts).
func (q *dueQueue) drop(e *taskSlot) { e.dueSeq++ }

// due returns the slots due at now, by due time and then id, and drops
// the replaced entries of the buckets it read.
func (q *dueQueue) due(now time.Time) []*taskSlot {
	sec, nsec := now.Unix(), int32(now.Nanosecond())
	last := minuteOf(sec)
	// The label is read with the seq (one visit to each slot), so that
	// sorting compares fields at hand rather than chasing slot pointers.
	type dueSlot struct {
		sec  int64
		nsec int32
		ord  uint64
		slot *taskSlot
	}
	var found []dueSlot
	emptied := 0
	for _, m := range q.minutes {
		if m > last {
			break
		}
		b := q.buckets[m]
		keep := b[:0]
		for _, en := range b {
			if en.seq != en.slot.dueSeq {
				continue
			}
			keep = append(keep, en)
			if en.sec < sec || en.sec == sec && en.nsec <= nsec {
				found = append(found, dueSlot{en.sec, en.nsec, en.slot.ord, en.slot})
			}
		}
		clear(b[len(keep):]) // let the collector have what was dropped
		if len(keep) == 0 {
			delete(q.buckets, m)
			emptied++
		} else {
			q.buckets[m] = keep
		}
	}
	if emptied > 0 {
		q.minutes = slices.DeleteFunc(q.minutes, func(m int64) bool {
			_, ok := q.buckets[m]
			return !ok
		})
	}
	slices.SortFunc(found, func(a, b dueSlot) int {
		return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.nsec, b.nsec), cmp.Compare(a.ord, b.ord))
	})
	out := make([]*taskSlot, len(found))
	for i, en := range found {
		out[i] = en.slot
	}
	return out
}
