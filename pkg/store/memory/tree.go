package memory

import (
	"slices"
	"strings"
	"time"
)

// key orders the entries of an index: by time, then by id. Indexes that
// order by id alone leave at zero. The keys of task indexes also point at
// the task's slot (task is not part of the order), so that listings read
// the task without looking its id up.
type key struct {
	at   time.Time
	id   string
	task *taskSlot
}

func (a key) cmp(b key) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	if a.task != nil && a.task == b.task {
		return 0 // one slot, one id: skip comparing ~75 bytes
	}
	return strings.Compare(a.id, b.id)
}

// tree is an ordered set of keys: a sorted sequence of leaves, each a
// sorted slice of at most leafMax keys, so that insert and delete cost a
// binary search over the leaves, one within a leaf and a short copy, and a
// range costs a search plus the result. The due lists are read every
// minute over 100,000 tasks; scanning all of them would dominate a
// simulation. Keys in arrays instead of a node per key (an earlier treap)
// halve the cache lines a search touches and leave the collector a few
// objects per thousand keys rather than one per key.
type tree struct {
	leaves []*leaf // none empty; each leaf's keys are below the next one's
	len    int
}

type leaf struct{ keys []key }

// leafMax bounds a leaf: large enough that a search is mostly inside one
// leaf, small enough that inserting copies little.
const leafMax = 64

// leafAt returns the index of the first leaf whose last key is at or above
// k (strictly above when strict), len(t.leaves) if none is.
func (t *tree) leafAt(k key, strict bool) int {
	lo, hi := 0, len(t.leaves)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		keys := t.leaves[m].keys
		if c := keys[len(keys)-1].cmp(k); c < 0 || strict && c == 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// search returns the index of the first key at or above k (strictly above
// when strict).
func search(keys []key, k key, strict bool) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c := keys[m].cmp(k); c < 0 || strict && c == 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insert adds k; adding a key that is present changes nothing.
func (t *tree) insert(k key) {
	if len(t.leaves) == 0 {
		t.leaves = append(t.leaves, &leaf{keys: append(make([]key, 0, 4), k)})
		t.len++
		return
	}
	i := min(t.leafAt(k, false), len(t.leaves)-1) // above every key: the last leaf
	l := t.leaves[i]
	j := search(l.keys, k, false)
	if j < len(l.keys) && l.keys[j].cmp(k) == 0 {
		return
	}
	if len(l.keys) == leafMax {
		const half = leafMax / 2
		r := &leaf{keys: make([]key, leafMax-half, leafMax)}
		copy(r.keys, l.keys[half:])
		clear(l.keys[half:])
		l.keys = l.keys[:half]
		t.leaves = slices.Insert(t.leaves, i+1, r)
		if j > half {
			l, j = r, j-half
		}
	}
	l.keys = slices.Insert(l.keys, j, k)
	t.len++
}

// remove deletes k if present.
func (t *tree) remove(k key) {
	i := t.leafAt(k, false)
	if i == len(t.leaves) {
		return
	}
	l := t.leaves[i]
	j := search(l.keys, k, false)
	if j == len(l.keys) || l.keys[j].cmp(k) != 0 {
		return
	}
	l.keys = slices.Delete(l.keys, j, j+1)
	t.len--
	// Drop an empty leaf; fold a thin one into a neighbour that has room,
	// so that leaves stay dense when keys leave a range (due times move
	// forward).
	switch {
	case len(l.keys) == 0:
		t.leaves = slices.Delete(t.leaves, i, i+1)
	case len(l.keys) > leafMax/4:
	case i+1 < len(t.leaves) && len(l.keys)+len(t.leaves[i+1].keys) <= leafMax/2:
		l.keys = append(l.keys, t.leaves[i+1].keys...)
		t.leaves = slices.Delete(t.leaves, i+1, i+2)
	case i > 0 && len(l.keys)+len(t.leaves[i-1].keys) <= leafMax/2:
		p := t.leaves[i-1]
		p.keys = append(p.keys, l.keys...)
		t.leaves = slices.Delete(t.leaves, i, i+1)
	}
}

// ascend calls fn on the keys above after (all keys when after is nil), in
// ascending order, until fn returns false. A nil tree has no keys.
func (t *tree) ascend(after *key, fn func(key) bool) {
	if t == nil {
		return
	}
	i, j := 0, 0
	if after != nil {
		if i = t.leafAt(*after, true); i == len(t.leaves) {
			return
		}
		j = search(t.leaves[i].keys, *after, true)
	}
	for ; i < len(t.leaves); i, j = i+1, 0 {
		for _, k := range t.leaves[i].keys[j:] {
			if !fn(k) {
				return
			}
		}
	}
}

// descend calls fn on the keys below before (all keys when before is nil),
// in descending order, until fn returns false.
func (t *tree) descend(before *key, fn func(key) bool) {
	i := len(t.leaves) - 1
	if i < 0 {
		return
	}
	j := len(t.leaves[i].keys)
	if before != nil {
		// The keys below before end in the leaf where the first key at or
		// above it is, or in the last leaf.
		i = min(t.leafAt(*before, false), i)
		j = search(t.leaves[i].keys, *before, false)
	}
	for ; i >= 0; i-- {
		keys := t.leaves[i].keys
		if j < 0 {
			j = len(keys)
		}
		for j--; j >= 0; j-- {
			if !fn(keys[j]) {
				return
			}
		}
	}
}

// forest is a family of trees by name (for example the tasks of each
// session), created on first use and dropped when they become empty so that
// ended sessions leave nothing behind.
type forest map[string]*tree

func (f forest) insert(name string, k key) {
	t := f[name]
	if t == nil {
		t = &tree{}
		f[name] = t
	}
	t.insert(k)
}

func (f forest) remove(name string, k key) {
	if t := f[name]; t != nil {
		t.remove(k)
		if t.len == 0 {
			delete(f, name)
		}
	}
}
