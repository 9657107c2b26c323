package memory

import (
	"slices"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// The clone functions copy a record with every slice, map and pointer it
// holds, so that neither the caller's later changes nor the store's reach
// the other side. They are written out field by field because a JSON round
// trip costs about fifty times as much; clone_test.go fills every field by
// reflection and fails when a new reference field is not copied here.

func clonePolicyRecord(r *engine.PolicyRecord) *engine.PolicyRecord {
	c := *r
	c.Policy = clonePolicy(r.Policy)
	return &c
}

func clonePolicy(p *policy.Policy) *policy.Policy {
	if p == nil {
		return nil
	}
	c := *p
	c.Source.Accounts = slices.Clone(p.Source.Accounts)
	c.Source.OrganizationalUnits = slices.Clone(p.Source.OrganizationalUnits)
	c.Source.Regions = slices.Clone(p.Source.Regions)
	c.Source.FileSystems = slices.Clone(p.Source.FileSystems)
	c.Source.Tags = slices.Clone(p.Source.Tags)
	c.Source.ExcludeTags = slices.Clone(p.Source.ExcludeTags)
	c.Backup.Vaults = slices.Clone(p.Backup.Vaults)
	for i := range c.Backup.Vaults {
		c.Backup.Vaults[i].VaultTag = cloneTag(c.Backup.Vaults[i].VaultTag)
	}
	c.Copies.Mappings = slices.Clone(p.Copies.Mappings)
	for i := range c.Copies.Mappings {
		c.Copies.Mappings[i].VaultTag = cloneTag(c.Copies.Mappings[i].VaultTag)
	}
	c.Schedules = slices.Clone(p.Schedules)
	for i := range c.Schedules {
		c.Schedules[i].At = slices.Clone(c.Schedules[i].At)
		c.Schedules[i].Days = slices.Clone(c.Schedules[i].Days)
	}
	if p.Lifecycle != nil {
		l := *p.Lifecycle
		c.Lifecycle = &l
	}
	return &c
}

func cloneTag(t *policy.Tag) *policy.Tag {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func cloneSession(s *engine.Session) *engine.Session {
	c := *s
	c.Schedules = slices.Clone(s.Schedules)
	c.Reasons = slices.Clone(s.Reasons)
	c.Units = slices.Clone(s.Units)
	return &c
}

func cloneUnit(u *engine.Unit) *engine.Unit {
	c := *u
	c.Reasons = slices.Clone(u.Reasons)
	return &c
}

// taskBuf holds a task of the common shape (at most one schedule and one
// copy) with its lifecycle and its slices' arrays: one allocation where
// there would be four.
type taskBuf struct {
	t      engine.Task
	lc     engine.Lifecycle
	sched  [1]string
	copies [1]engine.Copy
}

// fitsBuf reports whether t's copy fits in a taskBuf.
func fitsBuf(t *engine.Task) bool { return len(t.Schedules) <= 1 && len(t.Copies) <= 1 }

// fill makes b a copy of t, which fits, and returns b's task. The slices'
// capacity is their length, so a caller's append moves them out. Nil
// slices stay nil: JSON tells nil from empty.
func (b *taskBuf) fill(t *engine.Task) *engine.Task {
	*b = taskBuf{t: *t}
	c := &b.t
	c.Schedules = cloneInto(b.sched[:0], t.Schedules)
	c.Copies = cloneInto(b.copies[:0], t.Copies)
	cloneTail(c, t, &b.lc)
	return c
}

// cloneTail gives c, a shallow copy of t, its own reasons and lifecycle,
// the lifecycle in lc when it is not nil.
func cloneTail(c, t *engine.Task, lc *engine.Lifecycle) {
	c.Reasons = slices.Clone(t.Reasons)
	if t.Lifecycle != nil {
		if lc == nil {
			lc = new(engine.Lifecycle)
		}
		*lc = *t.Lifecycle
		c.Lifecycle = lc
	}
}

// storedCopy copies t to be stored: in a taskBuf when it fits, which a
// later version can then be written over (PutTask).
func storedCopy(t *engine.Task) (*engine.Task, *taskBuf) {
	if !fitsBuf(t) {
		return cloneTask(t), nil
	}
	b := new(taskBuf)
	return b.fill(t), b
}

// cloneTask copies a task. The store clones a task for every read and
// write, so the common shapes take one allocation (see taskBuf); a task
// without copies takes a smaller one.
func cloneTask(t *engine.Task) *engine.Task {
	switch ns, ncp := len(t.Schedules), len(t.Copies); {
	case ns <= 1 && ncp == 1:
		return new(taskBuf).fill(t)
	case ns <= 1 && ncp == 0:
		b := &struct {
			t     engine.Task
			lc    engine.Lifecycle
			sched [1]string
		}{t: *t}
		c := &b.t
		c.Schedules = cloneInto(b.sched[:0], t.Schedules)
		c.Copies = slices.Clone(t.Copies)
		cloneTail(c, t, &b.lc)
		return c
	}
	c := new(engine.Task)
	*c = *t
	c.Schedules = slices.Clone(t.Schedules)
	c.Copies = slices.Clone(t.Copies)
	cloneTail(c, t, nil)
	return c
}

// cloneInto copies s into buf, which has room for it, and returns the copy
// with its capacity cut to its length; nil stays nil.
func cloneInto[T any](buf, s []T) []T {
	if s == nil {
		return nil
	}
	buf = append(buf, s...)
	return buf[:len(buf):len(buf)]
}
