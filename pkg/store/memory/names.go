package memory

import (
	"hash/maphash"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// names finds task slots by a name their stored task holds (its backup
// job's id, its recovery point's ARN), as a map by name would, the last
// slot given a name winning.
//
// The map is by the names' 64-bit hashes rather than by the names: a Go
// map that grows hashes every key again, and each name is a string in
// memory of its own, so growing the two maps of 100,000 names (a new
// entry for every new task) was most of what indexing a new task cost.
// A lookup checks the name in the slot's task; a name whose hash another
// name holds (in practice never) goes to a map by name.
type names struct {
	hash   func(string) uint64
	of     func(*engine.Task) string // the name a task holds
	byHash map[uint64]*taskSlot
	clash  map[string]*taskSlot
}

func newNames(of func(*engine.Task) string) *names {
	seed := maphash.MakeSeed()
	return &names{hash: func(s string) uint64 { return maphash.String(seed, s) }, of: of, byHash: map[uint64]*taskSlot{}}
}

// get returns the slot whose task holds name, nil if none does.
func (n *names) get(name string) *taskSlot {
	if len(n.clash) > 0 {
		if e, ok := n.clash[name]; ok {
			return e
		}
	}
	e := n.byHash[n.hash(name)]
	if e == nil || n.of(e.task) != name {
		return nil
	}
	return e
}

// set names e, whose task holds name.
func (n *names) set(name string, e *taskSlot) {
	h := n.hash(name)
	if cur := n.byHash[h]; cur == nil || cur == e || n.of(cur.task) == name {
		n.byHash[h] = e
		if len(n.clash) > 0 {
			delete(n.clash, name)
		}
		return
	}
	if n.clash == nil {
		n.clash = map[string]*taskSlot{}
	}
	n.clash[name] = e
}

// remove forgets name if it names e (whose task may hold another name by
// now).
func (n *names) remove(name string, e *taskSlot) {
	if len(n.clash) > 0 && n.clash[name] == e {
		delete(n.clash, name)
		return
	}
	if h := n.hash(name); n.byHash[h] == e {
		delete(n.byHash, h)
	}
}
