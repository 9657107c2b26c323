package memory

import (
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
	return strings.Compare(a.id, b.id)
}

// tree is an ordered set of keys: a treap, so that insert and delete cost
// O(log n) and a range costs O(log n + result). The due lists are read
// every minute over 100,000 tasks; scanning all of them would dominate a
// simulation. Priorities come from a fixed-seed generator, which keeps
// runs reproducible.
type tree struct {
	root *node
	len  int
	seed uint64
}

type node struct {
	k           key
	prio        uint64
	left, right *node
}

// nextPrio is xorshift64*: fast, and deterministic per tree.
func (t *tree) nextPrio() uint64 {
	if t.seed == 0 {
		t.seed = 0x9E3779B97F4A7C15
	}
	t.seed ^= t.seed >> 12
	t.seed ^= t.seed << 25
	t.seed ^= t.seed >> 27
	return t.seed * 2685821657736338717
}

// insert adds k; adding a key that is present changes nothing.
func (t *tree) insert(k key) {
	var added bool
	t.root = insertNode(t.root, k, t.nextPrio(), &added)
	if added {
		t.len++
	}
}

func insertNode(n *node, k key, prio uint64, added *bool) *node {
	if n == nil {
		*added = true
		return &node{k: k, prio: prio}
	}
	switch c := k.cmp(n.k); {
	case c < 0:
		n.left = insertNode(n.left, k, prio, added)
		if n.left.prio > n.prio {
			l := n.left
			n.left, l.right = l.right, n
			return l
		}
	case c > 0:
		n.right = insertNode(n.right, k, prio, added)
		if n.right.prio > n.prio {
			r := n.right
			n.right, r.left = r.left, n
			return r
		}
	}
	return n
}

// remove deletes k if present.
func (t *tree) remove(k key) {
	var removed bool
	t.root = removeNode(t.root, k, &removed)
	if removed {
		t.len--
	}
}

func removeNode(n *node, k key, removed *bool) *node {
	if n == nil {
		return nil
	}
	switch c := k.cmp(n.k); {
	case c < 0:
		n.left = removeNode(n.left, k, removed)
	case c > 0:
		n.right = removeNode(n.right, k, removed)
	default:
		*removed = true
		return merge(n.left, n.right)
	}
	return n
}

// merge joins two treaps where every key of a is below every key of b.
func merge(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = merge(a.right, b)
		return a
	default:
		b.left = merge(a, b.left)
		return b
	}
}

// ascend calls fn on the keys above after (all keys when after is nil), in
// ascending order, until fn returns false. A nil tree has no keys.
func (t *tree) ascend(after *key, fn func(key) bool) {
	if t == nil {
		return
	}
	ascendNode(t.root, after, fn)
}

func ascendNode(n *node, after *key, fn func(key) bool) bool {
	if n == nil {
		return true
	}
	if after == nil || n.k.cmp(*after) > 0 {
		if !ascendNode(n.left, after, fn) || !fn(n.k) {
			return false
		}
	}
	return ascendNode(n.right, after, fn)
}

// descend calls fn on the keys below before (all keys when before is nil),
// in descending order, until fn returns false.
func (t *tree) descend(before *key, fn func(key) bool) {
	descendNode(t.root, before, fn)
}

func descendNode(n *node, before *key, fn func(key) bool) bool {
	if n == nil {
		return true
	}
	if before == nil || n.k.cmp(*before) < 0 {
		if !descendNode(n.right, before, fn) || !fn(n.k) {
			return false
		}
	}
	return descendNode(n.left, before, fn)
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
