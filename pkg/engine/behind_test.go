package engine

import (
	"errors"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// A failed function is learnt at the end of the batch after its own, never
// earlier or later, so where a loop stops does not depend on timing; every
// function handed over runs, in order. The same with side work, which the
// goroutine does between and within batches.
func TestBehindLearnsFailuresAtBatchBoundaries(t *testing.T) {
	for _, failAt := range []int{0, 5, behindBatch - 1, behindBatch, 3*behindBatch + 7} {
		for _, withSide := range []bool{false, true} {
			testBehindFailure(t, failAt, withSide)
		}
	}
}

// countSide is side work of left pieces, Short while over 1000 are left.
type countSide struct{ left, done atomic.Int64 }

func (c *countSide) Help() bool {
	if c.left.Add(-1) < 0 {
		return false
	}
	c.done.Add(1)
	return true
}

func (c *countSide) Short() bool { return c.left.Load() > 1000 }

func testBehindFailure(t *testing.T, failAt int, withSide bool) {
	var b *behind
	cs := &countSide{}
	if withSide {
		b = startBehind(cs)
	} else {
		b = startBehind(nil)
	}
	sideFirst := int64(-1) // side work done when function 11 ran
	var ran []int
	stoppedAt := -1
	for i := range 6 * behindBatch {
		if b.Failed() {
			stoppedAt = i
			break
		}
		b.do(func() error {
			ran = append(ran, i)
			if withSide && i == 10 {
				cs.left.Store(1500) // work that is Short, mid-batch
			}
			if withSide && i == 11 {
				sideFirst = cs.done.Load()
			}
			if i == failAt {
				return errors.New("boom")
			}
			return nil
		})
	}
	err := b.finish()
	if err == nil || err.Error() != "boom" {
		t.Errorf("fail at %d: finish returned %v", failAt, err)
	}
	if want := (failAt/behindBatch + 2) * behindBatch; stoppedAt != want {
		t.Errorf("fail at %d: the loop stopped at %d, want %d", failAt, stoppedAt, want)
	}
	if len(ran) != stoppedAt || !slices.IsSorted(ran) {
		t.Errorf("fail at %d: %d of %d functions ran, in order: %v", failAt, len(ran), stoppedAt, slices.IsSorted(ran))
	}
	if withSide && failAt >= 11 && sideFirst < 500 {
		t.Errorf("fail at %d: %d pieces of side work done before the next write, want the 500 that were Short", failAt, sideFirst)
	}
}

// With no batch to write, the goroutine does side work until there is
// none, and again after wakeSide.
func TestBehindDoesSideWorkBetweenBatches(t *testing.T) {
	cs := &countSide{}
	cs.left.Store(50)
	b := startBehind(cs)
	waitFor := func(want int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); cs.done.Load() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("side work done %d, want %d", cs.done.Load(), want)
			}
			runtime.Gosched()
		}
	}
	waitFor(50)
	cs.left.Store(30)
	b.wakeSide()
	waitFor(80)
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
}
