package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTreeMatchesSortedSlice runs random inserts, removes and range reads
// against the tree and against a sorted slice, and compares them. The keys
// are many leaves' worth, so that leaves split, thin out, fold and empty.
func TestTreeMatchesSortedSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	randKey := func() key {
		// Few distinct times and ids, so that ties and repeats are common.
		k := timeKey(base.Add(time.Duration(rng.IntN(20)) * time.Minute))
		k.id = fmt.Sprintf("id%02d", rng.IntN(30))
		return k
	}
	var tr tree
	var model []key
	find := func(k key) (int, bool) {
		return slices.BinarySearchFunc(model, k, key.cmp)
	}
	for step := range 20000 {
		k := randKey()
		op := rng.IntN(4)
		if step >= 12000 && step < 16000 && op == 1 {
			op = 2 // drain the tree (thin and empty leaves), then fill it again
		}
		switch op {
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
		checkBounds(t, &tr)
	}
}

// TestTreeDrains checks the sizes the random test passes through: a large
// tree, an empty one.
func TestTreeDrains(t *testing.T) {
	var tr tree
	for i := range 1000 {
		tr.insert(key{id: fmt.Sprintf("id%04d", i)})
	}
	if tr.len != 1000 || len(tr.leaves) < 1000/leafMax {
		t.Fatalf("len %d in %d leaves", tr.len, len(tr.leaves))
	}
	for i := range 1000 {
		if i%7 != 0 {
			tr.remove(key{id: fmt.Sprintf("id%04d", i)})
		}
	}
	var got []string
	tr.ascend(nil, func(k key) bool { got = append(got, k.id); return true })
	if len(got) != 143 || got[0] != "id0000" || got[142] != "id0994" || tr.len != 143 {
		t.Fatalf("after removes: %d keys %v..., len %d", len(got), got[:min(len(got), 3)], tr.len)
	}
	checkBounds(t, &tr)
	if len(tr.leaves) > 143/(leafMax/4)+1 {
		t.Fatalf("%d keys left in %d leaves: thin leaves were not folded", tr.len, len(tr.leaves))
	}
	for i := 0; i < 1000; i += 7 {
		tr.remove(key{id: fmt.Sprintf("id%04d", i)})
	}
	if tr.len != 0 || len(tr.leaves) != 0 {
		t.Fatalf("emptied tree: len %d, %d leaves", tr.len, len(tr.leaves))
	}
}

// checkBounds fails unless each leaf's bound is its last key.
func checkBounds(t *testing.T, tr *tree) {
	t.Helper()
	if len(tr.bounds) != len(tr.leaves) {
		t.Fatalf("%d bounds for %d leaves", len(tr.bounds), len(tr.leaves))
	}
	for i, l := range tr.leaves {
		if last := l[len(l)-1]; tr.bounds[i] != last {
			t.Fatalf("leaf %d of %d: bound %v, last key %v", i, len(tr.leaves), tr.bounds[i], last)
		}
	}
}
