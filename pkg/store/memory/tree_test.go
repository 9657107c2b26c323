package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTreeMatchesSortedSlice runs random inserts, removes and range reads
// against the treap and against a sorted slice, and compares them.
func TestTreeMatchesSortedSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	randKey := func() key {
		// Few distinct times and ids, so that ties and repeats are common.
		return key{at: base.Add(time.Duration(rng.IntN(20)) * time.Minute), id: fmt.Sprintf("id%02d", rng.IntN(30))}
	}
	var tr tree
	var model []key
	find := func(k key) (int, bool) {
		return slices.BinarySearchFunc(model, k, key.cmp)
	}
	for step := range 20000 {
		k := randKey()
		switch op := rng.IntN(4); op {
		case 0, 1:
			tr.insert(k)
			if i, ok := find(k); !ok {
				model = slices.Insert(model, i, k)
			}
		case 2:
			tr.remove(k)
			if i, ok := find(k); ok {
				model = slices.Delete(model, i, i+1)
			}
		case 3:
			limit := rng.IntN(10)
			var asc, desc []key
			bound := &k
			if rng.IntN(5) == 0 {
				bound = nil
			}
			tr.ascend(bound, func(x key) bool { asc = append(asc, x); return len(asc) < limit })
			tr.descend(bound, func(x key) bool { desc = append(desc, x); return len(desc) < limit })
			var wantAsc, wantDesc []key
			for _, x := range model {
				if bound == nil || x.cmp(*bound) > 0 {
					wantAsc = append(wantAsc, x)
				}
			}
			for i := len(model) - 1; i >= 0; i-- {
				if bound == nil || model[i].cmp(*bound) < 0 {
					wantDesc = append(wantDesc, model[i])
				}
			}
			wantAsc = wantAsc[:min(len(wantAsc), max(limit, 1))]
			wantDesc = wantDesc[:min(len(wantDesc), max(limit, 1))]
			if !slices.Equal(asc, wantAsc) || !slices.Equal(desc, wantDesc) {
				t.Fatalf("step %d, bound %v, limit %d:\nascend %v want %v\ndescend %v want %v", step, bound, limit, asc, wantAsc, desc, wantDesc)
			}
		}
		if tr.len != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, tr.len, len(model))
		}
	}
}
