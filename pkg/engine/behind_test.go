package engine

import (
	"errors"
	"slices"
	"testing"
)

// A failed function is learnt at the end of the batch after its own, never
// earlier or later, so where a loop stops does not depend on timing; every
// function handed over runs, in order.
func TestBehindLearnsFailuresAtBatchBoundaries(t *testing.T) {
	for _, failAt := range []int{0, 5, behindBatch - 1, behindBatch, 3*behindBatch + 7} {
		b := startBehind()
		var ran []int
		stoppedAt := -1
		for i := range 6 * behindBatch {
			if b.Failed() {
				stoppedAt = i
				break
			}
			b.do(func() error {
				ran = append(ran, i)
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
	}
}
