package ahead

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// The consumer gets f(i) for every i in order, whoever computed it, over
// runs of every size on a reused Values; an early Stop leaves nothing
// running after Wait.
func TestValuesInOrder(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var v Values[[]int]
	for round := range 400 {
		n := round % 37
		v.Window = []int{0, 1, 4}[round%3]
		var calls atomic.Int64
		v.Start(n, func(i int) []int {
			calls.Add(1)
			return []int{round, i, i * i}
		})
		stopAt := n
		if round%5 == 4 {
			stopAt = n / 2
		}
		for i := range stopAt {
			got := v.Get(i)
			if len(got) != 3 || got[0] != round || got[1] != i || got[2] != i*i {
				t.Fatalf("round %d: Get(%d) = %v", round, i, got)
			}
		}
		if stopAt < n {
			v.Stop()
		}
		v.Wait()
		after := calls.Load()
		if after < int64(stopAt) || after > int64(n)+int64(stopAt) {
			t.Fatalf("round %d: f called %d times for %d values, %d taken", round, after, n, stopAt)
		}
		// A window bounds what is computed beyond the values taken (one
		// more: a claim at the edge races with the consumer's move).
		if v.Window > 0 && after > 2*int64(stopAt)+int64(v.Window)+1 {
			t.Fatalf("round %d: f called %d times with window %d, %d taken", round, after, v.Window, stopAt)
		}
		for i := range v.vals {
			if v.vals[i] != nil {
				t.Fatalf("round %d: value %d kept after Wait", round, i)
			}
		}
		runtime.Gosched()
		if calls.Load() != after {
			t.Fatalf("round %d: f called after Wait", round)
		}
	}
}
