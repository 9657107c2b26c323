package memory

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// key orders the entries of an index: by time, then by id. Indexes that
// order by id alone leave the time at zero. The keys of task indexes also
// point at the task's slot (task is not part of the order), so that
// listings read the task without looking its id up.
//
// Task keys carry no id but the slot's label (ord, see order.go), which
// orders task ids as the ids would: many task keys tie on their time (a
// session's 16,000 tasks share a RetainAt) and their ids share long
// prefixes (policy#instant#account#Region#), so that comparing the ids
// themselves, in memory of their own, was most of the cost of a search.
//
// The time is held as Unix seconds and nanoseconds rather than a
// time.Time: comparing two integers is cheaper than time.Time.Compare,
// which decodes its wall and monotonic fields, and searches compare keys
// millions of times per simulated day.
type key struct {
	sec  int64  // at.Unix()
	nsec int32  // at.Nanosecond()
	ord  uint64 // a task key's label; 0 in other keys
	id   string // other keys' id; "" in task keys
	task *taskSlot
}

// timeKey returns the key at t with no id: it sorts before every key at t
// that has one.
func timeKey(t time.Time) key { return key{sec: t.Unix(), nsec: int32(t.Nanosecond())} }

// keyAt returns the key of id at t.
func keyAt(t time.Time, id string) key {
	k := timeKey(t)
	k.id = id
	return k
}

// cmpTime compares a's time with b's.
func (a key) cmpTime(b key) int {
	if a.sec != b.sec {
		return cmp.Compare(a.sec, b.sec)
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// after reports whether a's time is after t's (t a timeKey).
func (a key) after(t key) bool { return a.cmpTime(t) > 0 }

func (a key) cmp(b key) int {
	if c := a.cmpTime(b); c != 0 {
		return c
	}
	if a.ord != b.ord {
		return cmp.Compare(a.ord, b.ord)
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
	// leaves holds each leaf's keys, none empty, each leaf's below the
	// next one's: slices in the array, not pointers to leaf structs, so
	// that reaching a leaf's keys costs one memory load, not two.
	leaves [][]key
	// bounds[i] is the last key of leaves[i]. The search for a leaf reads
	// this one array instead of following each probed leaf's pointer to
	// its keys (two cache misses per probe in a tree of 100,000 keys).
	bounds []key
	len    int
}

// leafMax bounds a leaf: large enough that a search is mostly inside one
// leaf, small enough that inserting copies little.
const leafMax = 64

// leafAt returns the index of the first leaf whose last key is at or above
// k (strictly above when strict), len(t.leaves) if none is.
func (t *tree) leafAt(k key, strict bool) int {
	return search(t.bounds, k, strict)
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

// insert adds k; adding a key that is present changes nothing. It
// returns where k is: leaves[i][j].
func (t *tree) insert(k key) (i, j int) {
	if len(t.leaves) == 0 {
		t.leaves = append(t.leaves, append(make([]key, 0, 4), k))
		t.bounds = append(t.bounds, k)
		t.len++
		return 0, 0
	}
	i = min(t.leafAt(k, false), len(t.leaves)-1) // above every key: the last leaf
	l := t.leaves[i]
	j = search(l, k, false)
	if j < len(l) && l[j].cmp(k) == 0 {
		return i, j
	}
	if len(l) == leafMax {
		const half = leafMax / 2
		r := make([]key, leafMax-half, leafMax)
		copy(r, l[half:])
		clear(l[half:])
		t.leaves[i] = l[:half]
		t.leaves = slices.Insert(t.leaves, i+1, r)
		t.bounds = slices.Insert(t.bounds, i, l[half-1])
		if j > half {
			i, j = i+1, j-half
		}
	}
	l = slices.Insert(t.leaves[i], j, k)
	t.leaves[i] = l
	if j == len(l)-1 {
		t.bounds[i] = k
	}
	t.len++
	return i, j
}

// find returns where k is (leaves[i][j]); ok is false if it is not.
func (t *tree) find(k key) (i, j int, ok bool) {
	i = t.leafAt(k, false)
	if i == len(t.leaves) {
		return i, 0, false
	}
	keys := t.leaves[i]
	j = search(keys, k, false)
	return i, j, j < len(keys) && keys[j].cmp(k) == 0
}

// remove deletes k if present.
func (t *tree) remove(k key) {
	i, j, ok := t.find(k)
	if !ok {
		return
	}
	l := slices.Delete(t.leaves[i], j, j+1)
	t.leaves[i] = l
	t.len--
	if j == len(l) && j > 0 {
		t.bounds[i] = l[j-1]
	}
	// Drop an empty leaf; fold a thin one into a neighbour that has room,
	// so that leaves stay dense when keys leave a range (due times move
	// forward).
	switch {
	case len(l) == 0:
		t.leaves = slices.Delete(t.leaves, i, i+1)
		t.bounds = slices.Delete(t.bounds, i, i+1)
	case len(l) > leafMax/4:
	case i+1 < len(t.leaves) && len(l)+len(t.leaves[i+1]) <= leafMax/2:
		t.leaves[i] = append(l, t.leaves[i+1]...)
		t.leaves = slices.Delete(t.leaves, i+1, i+2)
		t.bounds = slices.Delete(t.bounds, i, i+1) // l's bound is now its neighbour's
	case i > 0 && len(l)+len(t.leaves[i-1]) <= leafMax/2:
		t.leaves[i-1] = append(t.leaves[i-1], l...)
		t.leaves = slices.Delete(t.leaves, i, i+1)
		t.bounds = slices.Delete(t.bounds, i-1, i) // the previous leaf's bound is now l's
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
		j = search(t.leaves[i], *after, true)
	}
	for ; i < len(t.leaves); i, j = i+1, 0 {
		for _, k := range t.leaves[i][j:] {
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
	j := len(t.leaves[i])
	if before != nil {
		// The keys below before end in the leaf where the first key at or
		// above it is, or in the last leaf.
		i = min(t.leafAt(*before, false), i)
		j = search(t.leaves[i], *before, false)
	}
	for ; i >= 0; i-- {
		keys := t.leaves[i]
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
// ended sessions leave nothing behind. Names are ids, or a struct where a
// tree is named by several (see fileSystem).
type forest[N comparable] map[N]*tree

func (f forest[N]) insert(name N, k key) { f.tree(name).insert(k) }

// tree returns the tree of name, created empty if there is none.
func (f forest[N]) tree(name N) *tree {
	t := f[name]
	if t == nil {
		t = &tree{}
		f[name] = t
	}
	return t
}

func (f forest[N]) remove(name N, k key) {
	if t := f[name]; t != nil {
		t.remove(k)
		if t.len == 0 {
			delete(f, name)
		}
	}
}
