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

// A StartOn run gets the same values from a helper goroutine of the
// caller's, which helps until Help says there is nothing to claim and then
// sleeps until wake; the window bounds what it computes ahead, and Short
// says when the consumer is about to run out.
func TestStartOnHelper(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var v Values[[]int]
	for round := range 200 {
		n := round % 41
		v.Window = []int{2, 4, 16}[round%3]
		var calls atomic.Int64
		wake := make(chan struct{}, 1)
		done := make(chan struct{})
		helperDone := make(chan struct{})
		v.StartOn(n, func(i int) []int {
			calls.Add(1)
			return []int{round, i}
		}, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		go func() {
			defer close(helperDone)
			for {
				if v.Help() {
					continue
				}
				select {
				case <-wake:
				case <-done:
					return
				}
			}
		}()
		stopAt := n
		if round%4 == 3 {
			stopAt = n / 2
		}
		for i := range stopAt {
			if got := v.Get(i); len(got) != 2 || got[0] != round || got[1] != i {
				t.Fatalf("round %d: Get(%d) = %v", round, i, got)
			}
		}
		v.Stop()
		if v.Short() {
			t.Fatalf("round %d: Short after Stop", round)
		}
		close(done)
		<-helperDone
		v.Wait()
		// (The window's bound is TestShortAndWake's: here the consumer
		// may claim past it while it waits for a value the helper holds.)
		if after := calls.Load(); after < int64(stopAt) {
			t.Fatalf("round %d: f called %d times, %d values taken", round, after, stopAt)
		}
		for i := range v.vals {
			if v.vals[i] != nil {
				t.Fatalf("round %d: value %d kept after Wait", round, i)
			}
		}
	}
}

// Short: under half a window claimed ahead of the consumer; a helper
// that stopped at the window's edge is woken once the consumer has used
// half of it, and not before.
func TestShortAndWake(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var v Values[int]
	v.Window = 8
	wakes := 0
	v.StartOn(100, func(i int) int { return i }, func() { wakes++ })
	if !v.Short() {
		t.Fatal("nothing claimed, not Short")
	}
	for range 4 {
		if !v.Help() {
			t.Fatal("Help claimed nothing inside the window")
		}
	}
	if v.Short() {
		t.Fatal("half a window claimed ahead, still Short")
	}
	for range 4 {
		v.Help()
	}
	if v.Help() {
		t.Fatal("Help claimed past the window")
	}
	for i := range 4 {
		if v.Get(i) != i || wakes != 0 {
			t.Fatalf("Get(%d): wakes %d", i, wakes)
		}
	}
	if v.Get(4) != 4 || wakes != 1 {
		t.Fatalf("consumer half a window from the edge: wakes %d, want 1", wakes)
	}
	if v.Get(5) != 5 || wakes != 1 {
		t.Fatalf("woken helper not back yet: wakes %d, want still 1", wakes)
	}
	v.Stop()
	v.Wait()
}
