package memory

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The due list against a model: after any mix of moves (to the past, the
// future, the same minute, a zero time) and drops, due(now) lists exactly
// the slots whose current time is at or before now, by time and then
// label, and the buckets it read keep no replaced entry.
func TestDueQueueMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var q dueQueue
	slots := make([]*taskSlot, 300)
	type state struct {
		due bool
		at  time.Time
	}
	model := map[*taskSlot]state{}
	for i := range slots {
		slots[i] = &taskSlot{ord: uint64(rng.IntN(1000))*1000 + uint64(i)} // distinct labels, not in slot order
	}
	now := base
	for step := range 3000 {
		e := slots[rng.IntN(len(slots))]
		switch r := rng.IntN(10); {
		case r < 6:
			at := now.Add(time.Duration(rng.IntN(7200)-1800) * time.Second).Add(time.Duration(rng.IntN(3)) * time.Nanosecond)
			if r == 0 {
				at = time.Time{}
			}
			q.put(e, at)
			model[e] = state{true, at}
		case r < 8:
			q.drop(e)
			model[e] = state{}
		default:
			now = now.Add(time.Duration(rng.IntN(1200)) * time.Second)
		}
		if step%50 != 49 {
			continue
		}
		var want []*taskSlot
		for s, st := range model {
			if st.due && !st.at.After(now) {
				want = append(want, s)
			}
		}
		slices.SortFunc(want, func(a, b *taskSlot) int {
			return cmp.Or(model[a].at.Compare(model[b].at), cmp.Compare(a.ord, b.ord))
		})
		if got := q.due(now); !slices.Equal(got, want) {
			t.Fatalf("step %d: due %d slots, want %d", step, len(got), len(want))
		}
		last := minuteOf(now.Unix())
		for m, b := range q.buckets {
			for _, en := range b {
				if m <= last && en.seq != en.slot.dueSeq {
					t.Fatalf("step %d: a replaced entry stays in minute %d, which due read", step, m)
				}
				if minuteOf(en.sec) != m {
					t.Fatalf("step %d: entry of minute %d in bucket %d", step, minuteOf(en.sec), m)
				}
			}
		}
		if len(q.minutes) != len(q.buckets) || !slices.IsSorted(q.minutes) {
			t.Fatalf("step %d: %d minutes for %d buckets, sorted %v", step, len(q.minutes), len(q.buckets), slices.IsSorted(q.minutes))
		}
	}
}
