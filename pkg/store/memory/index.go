package memory

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// Indexes is the in-memory engine.IndexStore and engine.WorkerConfigStore:
// index runs, the one-run-per-file-system slots and worker
// configurations. It is a type of its own (not part of Store) because the
// index use-cases came after Store's contract; the DynamoDB store keeps
// both in its one table. Records are copied in and out, as in Store.
type Indexes struct {
	mu      sync.Mutex
	runs    map[string]*engine.IndexRun
	byFS    map[fsKey][]string // run ids of a file system, unordered
	active  map[string]bool    // ids of non-terminal runs
	locks   map[fsKey]engine.FileSystemLock
	configs map[configKey]*engine.WorkerConfig
}

type fsKey struct {
	loc engine.Loc
	fs  string
}

type configKey struct{ region, account string }

var (
	_ engine.IndexStore        = (*Indexes)(nil)
	_ engine.WorkerConfigStore = (*Indexes)(nil)
)

// NewIndexes returns an empty index store.
func NewIndexes() *Indexes {
	return &Indexes{
		runs:    map[string]*engine.IndexRun{},
		byFS:    map[fsKey][]string{},
		active:  map[string]bool{},
		locks:   map[fsKey]engine.FileSystemLock{},
		configs: map[configKey]*engine.WorkerConfig{},
	}
}

func cloneRun(r *engine.IndexRun) *engine.IndexRun {
	c := *r
	c.SecurityGroupIDs = slices.Clone(r.SecurityGroupIDs)
	c.Errors = slices.Clone(r.Errors)
	return &c
}

func checkRun(r *engine.IndexRun) error {
	if r == nil || r.ID == "" || r.TaskID == "" || r.FileSystem == "" || r.Loc.Account == "" || r.Loc.Region == "" {
		return engine.Errorf(engine.EINVALID, "index run: id, task, file system, account and Region are required")
	}
	if r.ID != engine.IndexRunID(r.TaskID) {
		return engine.Errorf(engine.EINVALID, "index run %q: id must be %q, derived from task %q", r.ID, engine.IndexRunID(r.TaskID), r.TaskID)
	}
	return nil
}

// CreateIndexRun stores a new run at version 1; ECONFLICT if its id exists.
func (x *Indexes) CreateIndexRun(_ context.Context, r *engine.IndexRun) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := checkRun(r); err != nil {
		return err
	}
	if old, ok := x.runs[r.ID]; ok {
		return checkVersion("index run", r.ID, old.Version, 0)
	}
	c := cloneRun(r)
	c.Version = 1
	x.runs[c.ID] = c
	k := fsKey{c.Loc, c.FileSystem}
	x.byFS[k] = append(x.byFS[k], c.ID)
	x.setActive(c)
	r.Version = 1
	return nil
}

// GetIndexRun returns a copy of the run.
func (x *Indexes) GetIndexRun(_ context.Context, id string) (*engine.IndexRun, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	r, ok := x.runs[id]
	if !ok {
		return nil, notFound("index run", id)
	}
	return cloneRun(r), nil
}

// PutIndexRun writes the run if its Version is the stored one. A run's
// task, file system and location are part of its identity and cannot change.
func (x *Indexes) PutIndexRun(_ context.Context, r *engine.IndexRun) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := checkRun(r); err != nil {
		return err
	}
	old := x.runs[r.ID]
	var stored int64
	if old != nil {
		stored = old.Version
	}
	if err := checkVersion("index run", r.ID, stored, r.Version); err != nil {
		return err
	}
	if old != nil && (old.Loc != r.Loc || old.FileSystem != r.FileSystem) {
		return engine.Errorf(engine.EINVALID, "index run %q: its file system and location cannot change", r.ID)
	}
	c := cloneRun(r)
	c.Version = stored + 1
	x.runs[c.ID] = c
	if old == nil {
		k := fsKey{c.Loc, c.FileSystem}
		x.byFS[k] = append(x.byFS[k], c.ID)
	}
	x.setActive(c)
	r.Version = c.Version
	return nil
}

func (x *Indexes) setActive(r *engine.IndexRun) {
	if r.State.Terminal() {
		delete(x.active, r.ID)
	} else {
		x.active[r.ID] = true
	}
}

// indexRunCursor is the position after the last run of a page.
type indexRunCursor struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

// FileSystemIndexRuns returns a file system's runs, newest BackupCreatedAt
// first (then id, descending).
func (x *Indexes) FileSystemIndexRuns(_ context.Context, q engine.IndexRunQuery) ([]*engine.IndexRun, string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var after *indexRunCursor
	if q.Cursor != "" {
		after = &indexRunCursor{}
		if err := store.DecodeCursor(q.Cursor, after); err != nil {
			return nil, "", err
		}
	}
	ids := x.byFS[fsKey{q.Loc, q.FileSystem}]
	runs := make([]*engine.IndexRun, 0, len(ids))
	for _, id := range ids {
		r := x.runs[id]
		if q.DoneOnly && r.State != engine.IndexDone {
			continue
		}
		if after != nil && !newerFirst(after.At, after.ID, r.BackupCreatedAt, r.ID) {
			continue
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool {
		return newerFirst(runs[i].BackupCreatedAt, runs[i].ID, runs[j].BackupCreatedAt, runs[j].ID)
	})
	limit := store.Limit(q.Limit)
	next := ""
	if len(runs) > limit {
		runs = runs[:limit]
		last := runs[limit-1]
		next = store.EncodeCursor(indexRunCursor{At: last.BackupCreatedAt, ID: last.ID})
	}
	out := make([]*engine.IndexRun, len(runs))
	for i, r := range runs {
		out[i] = cloneRun(r)
	}
	return out, next, nil
}

// newerFirst reports whether (a, aID) comes before (b, bID) in a
// newest-first listing.
func newerFirst(a time.Time, aID string, b time.Time, bID string) bool {
	if c := a.Compare(b); c != 0 {
		return c > 0
	}
	return aID > bID
}

// DueIndexRuns returns the non-terminal runs with a deadline at or before
// now, by deadline.
func (x *Indexes) DueIndexRuns(_ context.Context, now time.Time) ([]*engine.IndexRun, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []*engine.IndexRun
	for id := range x.active {
		r := x.runs[id]
		if !r.Deadline.IsZero() && !r.Deadline.After(now) {
			out = append(out, cloneRun(r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Deadline.Compare(out[j].Deadline); c != 0 {
			return c < 0
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// LockFileSystem gives the file system's slot to runID (see engine.IndexStore).
func (x *Indexes) LockFileSystem(_ context.Context, l engine.Loc, fileSystem, runID string, now, until time.Time) (engine.FileSystemLock, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := fsKey{l, fileSystem}
	cur, held := x.locks[k]
	lock := engine.FileSystemLock{RunID: runID, Until: until}
	switch {
	case !held || cur.RunID == runID:
	case cur.Until.Before(now):
		lock.Previous = cur.RunID
	default:
		return cur, engine.Errorf(engine.ECONFLICT, "index slot of %s in %s is held by run %s until %s", fileSystem, l, cur.RunID, cur.Until.Format(time.RFC3339))
	}
	x.locks[k] = engine.FileSystemLock{RunID: runID, Until: until}
	return lock, nil
}

// UnlockFileSystem frees the slot if runID holds it.
func (x *Indexes) UnlockFileSystem(_ context.Context, l engine.Loc, fileSystem, runID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := fsKey{l, fileSystem}
	if cur, ok := x.locks[k]; ok && cur.RunID == runID {
		delete(x.locks, k)
	}
	return nil
}

// --- worker configurations

func cloneConfig(c *engine.WorkerConfig) *engine.WorkerConfig {
	d := *c
	d.SecurityGroupIDs = slices.Clone(c.SecurityGroupIDs)
	return &d
}

// GetWorkerConfig returns the configuration of exactly (account, region).
func (x *Indexes) GetWorkerConfig(_ context.Context, account, region string) (*engine.WorkerConfig, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.configs[configKey{region, account}]
	if !ok {
		return nil, notFound("worker configuration", configName(account, region))
	}
	return cloneConfig(c), nil
}

func configName(account, region string) string {
	if account == "" {
		return region
	}
	return account + "/" + region
}

// ListWorkerConfigs returns every configuration, by region then account.
func (x *Indexes) ListWorkerConfigs(_ context.Context) ([]*engine.WorkerConfig, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	keys := slices.SortedFunc(maps.Keys(x.configs), func(a, b configKey) int {
		return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.account, b.account))
	})
	out := make([]*engine.WorkerConfig, len(keys))
	for i, k := range keys {
		out[i] = cloneConfig(x.configs[k])
	}
	return out, nil
}

// PutWorkerConfig writes a valid configuration if its Version is the
// stored one (0 to create it).
func (x *Indexes) PutWorkerConfig(_ context.Context, c *engine.WorkerConfig) error {
	if c == nil {
		return engine.Errorf(engine.EINVALID, "put worker configuration: nil")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	k := configKey{c.Region, c.Account}
	var stored int64
	if old := x.configs[k]; old != nil {
		stored = old.Version
	}
	if err := checkVersion("worker configuration", configName(c.Account, c.Region), stored, c.Version); err != nil {
		return err
	}
	d := cloneConfig(c)
	d.Version = stored + 1
	x.configs[k] = d
	c.Version = d.Version
	return nil
}

// DeleteWorkerConfig deletes the configuration if version is the stored one.
func (x *Indexes) DeleteWorkerConfig(_ context.Context, account, region string, version int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := configKey{region, account}
	old, ok := x.configs[k]
	if !ok {
		return notFound("worker configuration", configName(account, region))
	}
	if err := checkVersion("worker configuration", configName(account, region), old.Version, version); err != nil {
		return err
	}
	delete(x.configs, k)
	return nil
}
