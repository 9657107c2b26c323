package memory

import "time"

// Task labels. Every task slot carries a label (taskSlot.ord), a number
// that orders slots as their ids order, so that the task indexes compare
// two integers where they compared two ids. The ids share long prefixes
// and live in memory of their own: comparing them was half of what a
// search in the due or retention list cost, as their keys mostly tie on
// time.
//
// A new slot takes a label between its neighbours' in id order (the ids
// tree). When they leave no room, relabel spreads the labels of the
// smallest enclosing range of label space that is sparse enough, and
// rewrites the keys of the moved slots in every task index in place: the
// order of the slots does not change, so no index needs resorting. This is
// the list labelling of order-maintenance structures (Dietz and Sleator);
// appends, which most new tasks are (a new session's ids sort after the
// old ones'), leave a wide gap, so relabelling is rare.

const (
	ordLimit = 1 << 62 // labels are in [1, ordLimit)
	ordStep  = 1 << 32 // the gap a label leaves after its predecessor when there is room
)

// pos is a key's place in a tree: leaves[i][j].
type pos struct{ i, j int }

func (t *tree) at(p pos) key { return t.leaves[p.i][p.j] }

// prev returns the place before p; ok is false at the first key.
func (t *tree) prev(p pos) (q pos, ok bool) {
	switch {
	case p.j > 0:
		return pos{p.i, p.j - 1}, true
	case p.i > 0:
		return pos{p.i - 1, len(t.leaves[p.i-1]) - 1}, true
	}
	return p, false
}

// next returns the place after p; ok is false at the last key.
func (t *tree) next(p pos) (q pos, ok bool) {
	switch {
	case p.j+1 < len(t.leaves[p.i]):
		return pos{p.i, p.j + 1}, true
	case p.i+1 < len(t.leaves):
		return pos{p.i + 1, 0}, true
	}
	return p, false
}

// addSlot adds e (whose ord is 0) to the ids tree and labels it.
func (s *Store) addSlot(e *taskSlot) {
	i, j := s.ids.insert(key{id: e.id, task: e})
	p := pos{i, j}
	lo, hi := uint64(0), uint64(ordLimit)
	var before, after *taskSlot
	if q, ok := s.ids.prev(p); ok {
		before = s.ids.at(q).task
		lo = before.ord
	}
	if q, ok := s.ids.next(p); ok {
		after = s.ids.at(q).task
		hi = after.ord
	}
	last := s.lastSlot
	s.lastSlot = e
	if gap := hi - lo; gap >= 2 {
		// The midpoint of the gap, but near the last new slot when e
		// continues a run from it: the file systems of a Region arrive in
		// id order, and halving the gap for each of them would exhaust it
		// after some thirty. Nor more than ordStep from the slot before:
		// then a new session's ids, appended after the last session's,
		// leave room after them.
		step := min(gap/2, ordStep)
		switch {
		case last == before:
			step = max(min(gap/32, ordStep), 1)
		case last == after:
			step = gap - max(min(gap/32, ordStep), 1)
		}
		e.ord = lo + step
		return
	}
	s.relabel(p, lo)
}

// relabel finds the smallest aligned range of label space around lo (the
// label before the new slot at p) that holds few enough labels (at most
// about the square root of its size) and spreads the labels of its slots
// and the new one evenly over it.
func (s *Store) relabel(p pos, lo uint64) {
	t := &s.ids
	first, last, n := p, p, uint64(1)
	for k := 1; ; k++ {
		size := uint64(1) << k
		base := lo &^ (size - 1)
		for q, ok := t.prev(first); ok && t.at(q).task.ord >= base; q, ok = t.prev(q) {
			first, n = q, n+1
		}
		for q, ok := t.next(last); ok && t.at(q).task.ord < base+size; q, ok = t.next(q) {
			last, n = q, n+1
		}
		if n+1 <= size>>(k/2) || k == 62 {
			s.relabels++
			s.spread(first, last, base, size/(n+1))
			return
		}
	}
}

// spread gives the slots from first to last (in the ids tree) the labels
// base+step, base+2*step, ..., and rewrites their keys in the task
// indexes. The keys are all found before any is changed: a search in a
// tree whose keys are half rewritten could miss.
func (s *Store) spread(first, last pos, base, step uint64) {
	type fix struct {
		t    *tree
		i, j int
		ord  uint64
	}
	var fixes []fix
	var slots []*taskSlot
	ord := base
	for q := first; ; q, _ = s.ids.next(q) {
		e := s.ids.at(q).task
		ord += step
		slots = append(slots, e)
		if e.ord != 0 { // 0: the new slot, in no task index yet
			s.taskKeys(e, func(t *tree, k key) {
				i, j, ok := t.find(k)
				if !ok {
					panic("memory: a task's index key is missing")
				}
				fixes = append(fixes, fix{t, i, j, ord})
			})
		}
		if q == last {
			break
		}
	}
	for _, f := range fixes {
		l := f.t.leaves[f.i]
		l[f.j].ord = f.ord
		if f.j == len(l)-1 {
			f.t.bounds[f.i].ord = f.ord
		}
	}
	for i, e := range slots {
		e.ord = base + uint64(i+1)*step
	}
}

// taskKeys calls fn with each index key of e's task and its tree, as
// indexTask made them (the due list holds slots, not keys: due.go).
func (s *Store) taskKeys(e *taskSlot, fn func(*tree, key)) {
	t := indexedOf(e.task)
	zero := e.key(time.Time{})
	fn(s.sessionTasks[t.session], zero)
	if t.live {
		fn(e.fs, zero)
	}
	if t.inRetention {
		fn(s.retention[t.policy], e.key(t.retainAt))
	}
}
