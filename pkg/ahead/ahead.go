// Package ahead computes f(0), f(1), …, f(n-1) on a second goroutine ahead
// of a consumer that takes the values in order, so that work the consumer
// would do between its own steps (parsing the next event, reading the next
// file system's records) overlaps with those steps on another core.
//
// Nothing blocks: whoever claims an index computes it (claims are handed
// out in order), and the consumer, when the value it needs is not ready,
// claims and computes the next ones itself; if the other goroutine holds
// the very index it needs and is slow to finish (its thread may be
// descheduled on a busy machine), it computes that one too after a short
// spin. f must therefore give the same value when called twice for one
// index (a pure function, or a read of data nobody changes meanwhile).
//
// The second goroutine may be one the caller has anyway (StartOn, Help):
// one that does other work beside the consumer, rather than a third
// goroutine competing with the two for a machine's two cores.
package ahead

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Values is one run of f over 0..n-1. The zero value is ready for Start;
// a Values may be started again after Wait, reusing its memory.
type Values[T any] struct {
	// Window, when above zero, is how far ahead of the consumer the second
	// goroutine may go: a consumer that may stop early (see Stop) then
	// wastes at most Window values. The goroutine ends when it reaches the
	// window's edge and Get starts another (or, after StartOn, wakes the
	// helper) once the consumer has used half of what was computed ahead,
	// rather than either waiting for the other.
	Window int

	f       func(i int) T
	vals    []T
	ready   []atomic.Bool
	next    atomic.Int64 // the next index to claim
	at      atomic.Int64 // the index the consumer wants
	running atomic.Bool  // the second goroutine is claiming
	stop    atomic.Bool
	multi   bool // more than one processor: a second goroutine helps
	n       int64
	wg      sync.WaitGroup
	wake    func() // StartOn's: the helper may claim again
}

// Start begins computing f(0..n-1), on a second goroutine when there are
// at least two values and more than one processor.
func (v *Values[T]) Start(n int, f func(i int) T) {
	v.begin(n, f, nil)
	if n >= 2 && v.multi {
		v.goAhead()
	}
}

// StartOn begins computing f(0..n-1) with a helper goroutine of the
// caller's rather than one of its own: the helper calls Help, which
// computes the next value ahead (within the Window), until it returns
// false; when the consumer has used half of what was computed ahead, Get
// calls wake (on the consumer's goroutine), after which the helper should
// call Help again. The consumer waits for a helper that is helping only
// a moment (helperSpins) before it computes a value itself. Before Wait
// the helper must have stopped calling Help.
func (v *Values[T]) StartOn(n int, f func(i int) T, wake func()) {
	v.begin(n, f, wake)
	v.running.Store(true) // the helper starts by helping
}

// Help computes the next value ahead, if one may be claimed now, and
// reports whether it did: the step of the second goroutine, Start's own or
// a StartOn helper. After false (all are claimed, Stop was called, or the
// window is full) the next wake, or goroutine, says when to call it again.
func (v *Values[T]) Help() bool {
	if i, ok := v.claim(true); ok {
		v.compute(i)
		return true
	}
	v.running.Store(false)
	return false
}

// Short reports whether fewer than half a window of values is claimed
// ahead of the consumer, for a StartOn helper that has other work: it
// should Help first.
func (v *Values[T]) Short() bool {
	next := v.next.Load()
	return !v.stop.Load() && next < v.n && next < v.at.Load()+int64(max(v.Window/2, 1))
}

func (v *Values[T]) begin(n int, f func(i int) T, wake func()) {
	v.f, v.n, v.wake = f, int64(n), wake
	v.running.Store(false)
	if cap(v.vals) < n {
		v.vals = make([]T, n)
		v.ready = make([]atomic.Bool, n)
	}
	v.vals, v.ready = v.vals[:n], v.ready[:n]
	for i := range v.ready {
		v.ready[i].Store(false)
	}
	v.next.Store(0)
	v.at.Store(0)
	v.stop.Store(false)
	v.multi = runtime.GOMAXPROCS(0) > 1
}

// goAhead starts the second goroutine.
func (v *Values[T]) goAhead() {
	v.running.Store(true)
	v.wg.Go(func() {
		for v.Help() {
		}
	})
}

// claim takes the next index; false when all are taken or Stop was
// called, or for the second goroutine (ahead) at the window's edge.
func (v *Values[T]) claim(ahead bool) (int, bool) {
	if v.stop.Load() {
		return 0, false
	}
	if ahead && v.Window > 0 && v.next.Load() >= v.at.Load()+int64(v.Window) {
		return 0, false
	}
	i := v.next.Add(1) - 1
	return int(i), i < v.n
}

func (v *Values[T]) compute(i int) {
	v.vals[i] = v.f(i)
	v.ready[i].Store(true)
}

// Get returns f(i). The consumer calls it for i = 0, 1, … in order (it
// may stop early: see Stop).
func (v *Values[T]) Get(i int) T {
	v.at.Store(int64(i))
	if v.Window > 0 && v.multi && !v.running.Load() && !v.stop.Load() {
		if next := v.next.Load(); next < v.n && next <= int64(i+v.Window/2) {
			if v.wake != nil {
				v.running.Store(true)
				v.wake()
			} else {
				v.goAhead()
			}
		}
	}
	if v.wake != nil && v.multi && v.running.Load() {
		// A StartOn helper that is helping reads what the consumer would
		// (the same store, say): give it a moment rather than take index
		// i from it and contend with it for a lock, when waking a
		// goroutine that sleeps on a lock costs 100 µs on a busy machine.
		for spins := 0; spins < helperSpins && !v.ready[i].Load(); spins++ {
		}
	}
	for spins := 0; !v.ready[i].Load(); spins++ {
		if j, ok := v.claim(false); ok {
			v.compute(j)
			continue
		}
		// The other goroutine holds index i; its value takes about as long
		// as this spin, after which computing it here costs less than
		// waiting on a thread the machine may not be running.
		if spins > 1000 {
			return v.f(i)
		}
	}
	return v.vals[i]
}

// helperSpins is how long Get waits for a StartOn helper's value: some
// 40 µs on the benchmark machine (under 150 spins in the engine's
// retention as a rule), a few times what one value takes there.
const helperSpins = 20000

// Stop ends the run early: no index is claimed any more (the consumer
// does not want the rest). Wait must still be called.
func (v *Values[T]) Stop() { v.stop.Store(true) }

// Wait waits for the second goroutine (not a StartOn helper: see
// StartOn), which may be computing the last index it claimed, and drops
// the values, so that v can be started again and holds nothing the
// caller no longer needs.
func (v *Values[T]) Wait() {
	v.wg.Wait()
	clear(v.vals)
	v.f, v.wake = nil, nil
}
