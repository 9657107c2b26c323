package memory

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// TestNamesMatchMap renames slots at random and compares names with a map
// by name, once with real hashes and once with every name hashing alike,
// so that all but one go through the clash map.
func TestNamesMatchMap(t *testing.T) {
	for _, clash := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(5, 6))
		n := newNames(func(t *engine.Task) string { return t.Backup.ID })
		if clash {
			n.hash = func(string) uint64 { return 7 }
		}
		model := map[string]*taskSlot{}
		slots := make([]*taskSlot, 8)
		for i := range slots {
			slots[i] = &taskSlot{task: &engine.Task{}}
		}
		for step := range 5000 {
			e := slots[rng.IntN(len(slots))]
			// As reindexTask does: forget the old name, then give the new.
			old, name := e.task.Backup.ID, ""
			if rng.IntN(4) > 0 {
				name = fmt.Sprintf("job-%d", rng.IntN(12))
			}
			if old != name {
				n.remove(old, e)
				if model[old] == e {
					delete(model, old)
				}
			}
			e.task = &engine.Task{Backup: engine.Job{ID: name}} // a new version
			if name != "" {
				n.set(name, e)
				model[name] = e
			}
			for i := range 12 {
				name := fmt.Sprintf("job-%d", i)
				if got, want := n.get(name), model[name]; got != want {
					t.Fatalf("clash %v, step %d: %s names %p, want %p", clash, step, name, got, want)
				}
			}
		}
		if clash && len(n.clash) == 0 {
			t.Fatal("no name went through the clash map")
		}
	}
}
