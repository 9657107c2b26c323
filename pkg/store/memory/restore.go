package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// Restores is the in-memory engine.RestoreStore. Restore sessions are few
// and not part of engine.Store, so they have a store of their own; it
// keeps the same rules (versions, copies, paging) as Store.
type Restores struct {
	mu      sync.Mutex
	byID    map[string]*engine.Restore
	byTime  tree // (CreatedAt, id) of every session
	running tree // (CreatedAt, id) of Running sessions
	byJob   map[string]string
}

var _ engine.RestoreStore = (*Restores)(nil)

// NewRestores returns an empty restore store.
func NewRestores() *Restores {
	return &Restores{byID: map[string]*engine.Restore{}, byJob: map[string]string{}}
}

func checkRestore(r *engine.Restore) error {
	if r == nil || r.ID == "" {
		return engine.Errorf(engine.EINVALID, "put restore: the record has no id")
	}
	return nil
}

// CreateRestore stores a new session at version 1; ECONFLICT if its id exists.
func (s *Restores) CreateRestore(_ context.Context, r *engine.Restore) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkRestore(r); err != nil {
		return err
	}
	if old, ok := s.byID[r.ID]; ok {
		return checkVersion("restore", r.ID, old.Version, 0)
	}
	if r.Version != 0 {
		return checkVersion("restore", r.ID, 0, r.Version)
	}
	s.write(r, nil, 1)
	return nil
}

// GetRestore returns a copy of the session.
func (s *Restores) GetRestore(_ context.Context, id string) (*engine.Restore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return nil, notFound("restore", id)
	}
	return cloneRestore(r), nil
}

// PutRestore writes the session if its Version is the stored one.
func (s *Restores) PutRestore(_ context.Context, r *engine.Restore) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := checkRestore(r); err != nil {
		return err
	}
	old := s.byID[r.ID]
	var stored int64
	if old != nil {
		stored = old.Version
	}
	if err := checkVersion("restore", r.ID, stored, r.Version); err != nil {
		return err
	}
	s.write(r, old, stored+1)
	return nil
}

// write replaces old (nil for a new session) with a copy of r at version
// v and moves the index entries.
func (s *Restores) write(r, old *engine.Restore, v int64) {
	if old != nil {
		k := keyAt(old.CreatedAt, old.ID)
		s.byTime.remove(k)
		s.running.remove(k)
		for _, id := range old.JobIDs() {
			delete(s.byJob, id)
		}
	}
	c := cloneRestore(r)
	c.Version = v
	s.byID[c.ID] = c
	k := keyAt(c.CreatedAt, c.ID)
	s.byTime.insert(k)
	if c.Status == engine.RestoreRunning {
		s.running.insert(k)
	}
	for _, id := range c.JobIDs() {
		s.byJob[id] = c.ID
	}
	r.Version = v
}

// restoreCursor is the position after the last session of a page.
// restoreCursor has the shape newestFirst writes.
type restoreCursor = sessionCursor

// ListRestores returns sessions newest first (CreatedAt, then id).
func (s *Restores) ListRestores(_ context.Context, q engine.RestoreQuery) ([]*engine.Restore, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var before *key
	if q.Cursor != "" {
		var c restoreCursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, "", err
		}
		k := keyAt(c.At, c.ID)
		before = &k
	}
	t := &s.byTime
	if q.RunningOnly {
		t = &s.running
	}
	keys, next := newestFirst(t, before, q.Since, store.Limit(q.Limit), func(id string) time.Time { return s.byID[id].CreatedAt })
	out := make([]*engine.Restore, len(keys))
	for i, k := range keys {
		out[i] = cloneRestore(s.byID[k.id])
	}
	return out, next, nil
}

// RestoreByJob returns the session one of whose jobs has this AWS job id.
func (s *Restores) RestoreByJob(_ context.Context, jobID string) (*engine.Restore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byJob[jobID]
	if !ok || jobID == "" {
		return nil, notFound("restore of job", jobID)
	}
	return cloneRestore(s.byID[id]), nil
}

func cloneRestore(r *engine.Restore) *engine.Restore {
	c := *r
	c.Items = slices.Clone(r.Items)
	for i := range c.Items {
		c.Items[i].Paths = slices.Clone(r.Items[i].Paths)
	}
	c.Jobs = slices.Clone(r.Jobs)
	for i := range c.Jobs {
		c.Jobs[i].Paths = slices.Clone(r.Jobs[i].Paths)
	}
	if r.Target.Encrypted != nil {
		e := *r.Target.Encrypted
		c.Target.Encrypted = &e
	}
	return &c
}
