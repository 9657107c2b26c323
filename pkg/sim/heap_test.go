package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerHeapOrder checks that the timer heap pops in (at, seq) order
// whatever the order of pushes, with pops interleaved and many equal
// instants (ties must go by seq, the scheduling order): a slice sorted
// before each pop stands in for the heap.
func TestTimerHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var ref []timer
	seq, pops := uint64(0), 0
	pop := func() {
		slices.SortFunc(ref, func(a, b timer) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return int(a.seq) - int(b.seq)
		})
		got, want := h.pop(), ref[0]
		ref = ref[1:]
		pops++
		if got != want {
			t.Fatalf("pop %d: got %+v, want %+v", pops, got, want)
		}
	}
	for round := range 3000 {
		for range r.IntN(6) {
			seq++
			tm := timer{at: int64(r.IntN(50) + round/10), seq: seq, ref: uint32(round)}
			h.push(tm)
			ref = append(ref, tm)
		}
		if len(ref) > 0 && r.IntN(2) == 0 {
			pop()
		}
	}
	for len(ref) > 0 {
		pop()
	}
	if h.len() != 0 || pops != int(seq) {
		t.Fatalf("%d timers left, %d popped of %d", h.len(), pops, seq)
	}
}
