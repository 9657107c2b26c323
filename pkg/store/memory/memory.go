// Package memory is an in-process engine.Store: maps under one mutex, with
// ordered secondary indexes so that every query costs O(log n + result),
// as the DynamoDB store's index queries do. The simulator, the local server
// and the engine's tests use it; it passes the same contract suite
// (pkg/store/storetest) as pkg/store/dynamo.
//
// Records are deep-copied on the way in and on the way out, so a caller can
// never change stored state except through a versioned write.
package memory

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// Store is the in-memory engine.Store. The zero value is not usable; call New.
type Store struct {
	mu  sync.Mutex
	ops [numOps]int // calls by method

	policies    map[string]*engine.PolicyRecord
	duePolicies tree // (NextRunAt, id) of enabled policies with a NextRunAt

	sessions       map[string]*engine.Session
	sessionsByTime tree           // (ScheduledAt, id) of every session
	policySessions forest[string] // policy id → (ScheduledAt, id)
	running        tree           // (ScheduledAt, id) of Running sessions

	units        map[string]*engine.Unit
	sessionUnits forest[string] // session id → (0, unit id)

	tasks           map[string]*taskSlot
	sessionTasks    forest[string]     // session id → (0, task id)
	taskSessions    forest[string]     // policy id → (0, session id) of the sessions that have tasks
	fileSystemTasks forest[fileSystem] // policy, account, Region and file system → (0, id) of live tasks; kept when empty (slots hold them)
	retention       forest[string]     // policy id → (RetainAt, id) of tasks InRetention
	dueTasks        dueQueue           // non-terminal tasks by NextCheckAt (due.go)
	byBackupJob     *names             // Backup.ID → slot
	byRecoveryPoint *names             // RecoveryPointArn → slot
	ids             tree               // (0, id) of every task slot: the order of their labels (order.go)
	relabels        int                // how often labels were spread (order.go), for tests
	lastSlot        *taskSlot          // the newest task slot (order.go)
	hot             *taskSlot          // the slot last read or written by id, job or point (see slot)
}

var _ engine.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		policies:        map[string]*engine.PolicyRecord{},
		policySessions:  forest[string]{},
		sessions:        map[string]*engine.Session{},
		units:           map[string]*engine.Unit{},
		sessionUnits:    forest[string]{},
		tasks:           map[string]*taskSlot{},
		sessionTasks:    forest[string]{},
		taskSessions:    forest[string]{},
		fileSystemTasks: forest[fileSystem]{},
		retention:       forest[string]{},
		byBackupJob:     newNames(func(t *engine.Task) string { return t.Backup.ID }),
		byRecoveryPoint: newNames(func(t *engine.Task) string { return t.RecoveryPointArn }),
	}
}

// op names a Store method, to count its calls: an array indexed by it
// costs less than a map by name, for the million calls of a simulation.
type op int

const (
	opAdjustSession op = iota
	opCreateSession
	opCreateTask
	opCreateUnit
	opDeletePolicy
	opDuePolicies
	opDueTasks
	opGetPolicy
	opGetSession
	opGetTask
	opGetUnit
	opListPolicies
	opListSessions
	opListTasks
	opPutPolicy
	opPutSession
	opPutTask
	opPutUnit
	opRunningSessions
	opSessionUnits
	opTaskByBackupJob
	opTaskByRecoveryPoint
	numOps
)

var opNames = [numOps]string{
	opAdjustSession:       "AdjustSession",
	opCreateSession:       "CreateSession",
	opCreateTask:          "CreateTask",
	opCreateUnit:          "CreateUnit",
	opDeletePolicy:        "DeletePolicy",
	opDuePolicies:         "DuePolicies",
	opDueTasks:            "DueTasks",
	opGetPolicy:           "GetPolicy",
	opGetSession:          "GetSession",
	opGetTask:             "GetTask",
	opGetUnit:             "GetUnit",
	opListPolicies:        "ListPolicies",
	opListSessions:        "ListSessions",
	opListTasks:           "ListTasks",
	opPutPolicy:           "PutPolicy",
	opPutSession:          "PutSession",
	opPutTask:             "PutTask",
	opPutUnit:             "PutUnit",
	opRunningSessions:     "RunningSessions",
	opSessionUnits:        "SessionUnits",
	opTaskByBackupJob:     "TaskByBackupJob",
	opTaskByRecoveryPoint: "TaskByRecoveryPoint",
}

// Ops returns how often each Store method has been called, by method name
// (methods not called are left out). The benchmark divides them by the
// number of backups taken.
func (s *Store) Ops() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for m, n := range s.ops {
		if n > 0 {
			out[opNames[m]] = n
		}
	}
	return out
}

// lock takes the store's mutex and counts one call of method; the caller
// defers the returned unlock.
func (s *Store) lock(method op) func() {
	s.mu.Lock()
	s.ops[method]++
	return s.mu.Unlock
}

// checkVersion applies the optimistic-concurrency rule: the version a
// writer read must be the one stored (0 when there is none).
func checkVersion(kind, id string, stored, given int64) error {
	switch {
	case given == stored:
		return nil
	case stored == 0:
		return engine.Errorf(engine.ECONFLICT, "write %s %q at version %d: it does not exist", kind, id, given)
	case given == 0:
		return engine.Errorf(engine.ECONFLICT, "create %s %q: it already exists at version %d", kind, id, stored)
	default:
		return engine.Errorf(engine.ECONFLICT, "write %s %q at version %d: stored version is %d", kind, id, given, stored)
	}
}

func notFound(kind, id string) error {
	return engine.Errorf(engine.ENOTFOUND, "%s %q not found", kind, id)
}

// --- policies

// GetPolicy returns a copy of the policy record.
func (s *Store) GetPolicy(_ context.Context, id string) (*engine.PolicyRecord, error) {
	defer s.lock(opGetPolicy)()
	p, ok := s.policies[id]
	if !ok {
		return nil, notFound("policy", id)
	}
	return clonePolicyRecord(p), nil
}

// ListPolicies returns every policy record, by id.
func (s *Store) ListPolicies(_ context.Context) ([]*engine.PolicyRecord, error) {
	defer s.lock(opListPolicies)()
	ids := slices.Sorted(maps.Keys(s.policies))
	out := make([]*engine.PolicyRecord, len(ids))
	for i, id := range ids {
		out[i] = clonePolicyRecord(s.policies[id])
	}
	return out, nil
}

// PutPolicy writes the record if p.Version is the stored version (0 to
// create it) and sets p.Version to the new version.
func (s *Store) PutPolicy(_ context.Context, p *engine.PolicyRecord) error {
	defer s.lock(opPutPolicy)()
	if p == nil || p.Policy == nil || p.Policy.ID == "" {
		return engine.Errorf(engine.EINVALID, "put policy: the record has no policy id")
	}
	id := p.Policy.ID
	old := s.policies[id]
	var stored int64
	if old != nil {
		stored = old.Version
	}
	if err := checkVersion("policy", id, stored, p.Version); err != nil {
		return err
	}
	if old != nil {
		s.unindexPolicy(old)
	}
	c := clonePolicyRecord(p)
	c.Version = stored + 1
	s.policies[id] = c
	s.indexPolicy(c)
	p.Version = c.Version
	return nil
}

// DeletePolicy deletes the policy if version is the stored version. It
// leaves the policy's sessions and tasks: they record restore points.
func (s *Store) DeletePolicy(_ context.Context, id string, version int64) error {
	defer s.lock(opDeletePolicy)()
	old, ok := s.policies[id]
	if !ok {
		return notFound("policy", id)
	}
	if err := checkVersion("policy", id, old.Version, version); err != nil {
		return err
	}
	s.unindexPolicy(old)
	delete(s.policies, id)
	return nil
}

// DuePolicies returns enabled policies with a non-zero NextRunAt <= now,
// earliest first.
func (s *Store) DuePolicies(_ context.Context, now time.Time) ([]*engine.PolicyRecord, error) {
	defer s.lock(opDuePolicies)()
	var out []*engine.PolicyRecord
	nowKey := timeKey(now)
	s.duePolicies.ascend(nil, func(k key) bool {
		if k.after(nowKey) {
			return false
		}
		out = append(out, clonePolicyRecord(s.policies[k.id]))
		return true
	})
	return out, nil
}

func policyDue(p *engine.PolicyRecord) bool {
	return p.Policy.Enabled && !p.NextRunAt.IsZero()
}

func (s *Store) indexPolicy(p *engine.PolicyRecord) {
	if policyDue(p) {
		s.duePolicies.insert(keyAt(p.NextRunAt, p.Policy.ID))
	}
}

func (s *Store) unindexPolicy(p *engine.PolicyRecord) {
	if policyDue(p) {
		s.duePolicies.remove(keyAt(p.NextRunAt, p.Policy.ID))
	}
}

// --- sessions

// CreateSession stores a new session at version 1; ECONFLICT if its id
// exists, EINVALID if the id is not engine.SessionID of its policy and
// scheduled instant.
func (s *Store) CreateSession(_ context.Context, ss *engine.Session) error {
	defer s.lock(opCreateSession)()
	if err := store.CheckSession(ss); err != nil {
		return err
	}
	if old, ok := s.sessions[ss.ID]; ok {
		return checkVersion("session", ss.ID, old.Version, 0)
	}
	c := cloneSession(ss)
	c.Version = 1
	s.sessions[c.ID] = c
	s.indexSession(c)
	ss.Version = 1
	return nil
}

// GetSession returns a copy of the session.
func (s *Store) GetSession(_ context.Context, id string) (*engine.Session, error) {
	defer s.lock(opGetSession)()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, notFound("session", id)
	}
	return cloneSession(ss), nil
}

// GetSessionHead is engine.SessionHeads: GetSession without the units. It
// counts as a GetSession.
func (s *Store) GetSessionHead(_ context.Context, id string) (*engine.Session, error) {
	defer s.lock(opGetSession)()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, notFound("session", id)
	}
	c := *ss
	c.Units = nil
	return cloneSession(&c), nil
}

// PutSession writes the session if its Version is the stored one.
func (s *Store) PutSession(_ context.Context, ss *engine.Session) error {
	defer s.lock(opPutSession)()
	if err := store.CheckSession(ss); err != nil {
		return err
	}
	old := s.sessions[ss.ID]
	var stored int64
	if old != nil {
		stored = old.Version
	}
	if err := checkVersion("session", ss.ID, stored, ss.Version); err != nil {
		return err
	}
	if old != nil {
		s.unindexSession(old)
	}
	c := cloneSession(ss)
	c.Version = stored + 1
	s.sessions[c.ID] = c
	s.indexSession(c)
	ss.Version = c.Version
	return nil
}

// AdjustSession adds d to the session's counters and bumps its version,
// whatever version the caller last read.
func (s *Store) AdjustSession(_ context.Context, id string, d engine.SessionDelta) (*engine.Session, error) {
	defer s.lock(opAdjustSession)()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, notFound("session", id)
	}
	ss.Counters.OpenUnits += d.OpenUnits
	ss.Counters.OpenTasks += d.OpenTasks
	ss.Version++
	// Only what the contract promises: cloning the units and reasons of a
	// large session for every finished task was a tenth of the engine
	// benchmark.
	return &engine.Session{ID: ss.ID, PolicyID: ss.PolicyID, ScheduledAt: ss.ScheduledAt, Status: ss.Status,
		Counters: ss.Counters, Version: ss.Version}, nil
}

// sessionCursor is the position after the last session of a page.
type sessionCursor struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

// ListSessions returns sessions newest first (by ScheduledAt, then id).
func (s *Store) ListSessions(_ context.Context, q engine.SessionQuery) ([]*engine.Session, string, error) {
	defer s.lock(opListSessions)()
	var before *key
	if !q.To.IsZero() {
		k := timeKey(q.To) // every id sorts after "", so ScheduledAt == To is excluded
		before = &k
	}
	if q.Cursor != "" {
		var c sessionCursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, "", err
		}
		if k := keyAt(c.At, c.ID); before == nil || k.cmp(*before) < 0 {
			before = &k
		}
	}
	t := &s.sessionsByTime
	if q.PolicyID != "" {
		t = s.policySessions[q.PolicyID]
		if t == nil {
			return nil, "", nil
		}
	}
	keys, next := newestFirst(t, before, q.From, store.Limit(q.Limit), func(id string) time.Time { return s.sessions[id].ScheduledAt })
	out := make([]*engine.Session, len(keys))
	for i, k := range keys {
		out[i] = cloneSession(s.sessions[k.id])
	}
	return out, next, nil
}

// newestFirst pages through t from before (exclusive) towards older keys,
// stopping at from (inclusive, zero for no bound): at most limit keys, and
// the cursor of the next page ("" at the end), whose time atOf returns for
// an id: the stored time.Time, so that the cursor keeps its location.
func newestFirst(t *tree, before *key, from time.Time, limit int, atOf func(id string) time.Time) ([]key, string) {
	var keys []key
	fromKey := timeKey(from)
	t.descend(before, func(k key) bool {
		if !from.IsZero() && k.cmpTime(fromKey) < 0 || len(keys) > limit {
			return false
		}
		keys = append(keys, k)
		return true
	})
	if len(keys) <= limit {
		return keys, ""
	}
	keys = keys[:limit]
	last := keys[limit-1]
	return keys, store.EncodeCursor(sessionCursor{At: atOf(last.id), ID: last.id})
}

// RunningSessions returns the sessions whose status is Running, oldest first.
func (s *Store) RunningSessions(_ context.Context) ([]*engine.Session, error) {
	defer s.lock(opRunningSessions)()
	var out []*engine.Session
	s.running.ascend(nil, func(k key) bool {
		out = append(out, cloneSession(s.sessions[k.id]))
		return true
	})
	return out, nil
}

func (s *Store) indexSession(ss *engine.Session) {
	k := keyAt(ss.ScheduledAt, ss.ID)
	s.sessionsByTime.insert(k)
	s.policySessions.insert(ss.PolicyID, k)
	if ss.Status == engine.StatusRunning {
		s.running.insert(k)
	}
}

func (s *Store) unindexSession(ss *engine.Session) {
	k := keyAt(ss.ScheduledAt, ss.ID)
	s.sessionsByTime.remove(k)
	s.policySessions.remove(ss.PolicyID, k)
	s.running.remove(k)
}

// --- units

// CreateUnit stores a new unit at version 1; ECONFLICT if its id exists.
func (s *Store) CreateUnit(_ context.Context, u *engine.Unit) error {
	defer s.lock(opCreateUnit)()
	if err := store.CheckUnit(u); err != nil {
		return err
	}
	id := u.ID()
	if old, ok := s.units[id]; ok {
		return checkVersion("unit", id, old.Version, 0)
	}
	c := cloneUnit(u)
	c.Version = 1
	s.units[id] = c
	s.sessionUnits.insert(c.SessionID, key{id: id})
	u.Version = 1
	return nil
}

// GetUnit returns a copy of the unit.
func (s *Store) GetUnit(_ context.Context, id string) (*engine.Unit, error) {
	defer s.lock(opGetUnit)()
	u, ok := s.units[id]
	if !ok {
		return nil, notFound("unit", id)
	}
	return cloneUnit(u), nil
}

// PutUnit writes the unit if its Version is the stored one.
func (s *Store) PutUnit(_ context.Context, u *engine.Unit) error {
	defer s.lock(opPutUnit)()
	if err := store.CheckUnit(u); err != nil {
		return err
	}
	id := u.ID()
	var stored int64
	if old := s.units[id]; old != nil {
		stored = old.Version
	}
	if err := checkVersion("unit", id, stored, u.Version); err != nil {
		return err
	}
	c := cloneUnit(u)
	c.Version = stored + 1
	s.units[id] = c
	// A unit's session is part of its id: the index entry cannot move.
	s.sessionUnits.insert(c.SessionID, key{id: id})
	u.Version = c.Version
	return nil
}

// SessionUnits returns the units of a session, by id.
func (s *Store) SessionUnits(_ context.Context, sessionID string) ([]*engine.Unit, error) {
	defer s.lock(opSessionUnits)()
	var out []*engine.Unit
	if t := s.sessionUnits[sessionID]; t != nil {
		t.ascend(nil, func(k key) bool {
			out = append(out, cloneUnit(s.units[k.id]))
			return true
		})
	}
	return out, nil
}

// --- tasks

// taskSlot holds a task id's stored task, which every write replaces, and
// the id itself, made once and shared by every index key of the task. The
// keys point at the slot: listings read tasks without a map lookup, and a
// write finds the slot without allocating the id.
type taskSlot struct {
	id     string
	task   *engine.Task
	ord    uint64   // the id's label (order.go)
	buf    *taskBuf // what task is in (task == &buf.t), nil if it has its own allocation
	dueSeq uint32   // the seq of the slot's entry in the due list (due.go)
	// fs is the tree of the task's file system's live tasks, looked up
	// once: the slot's live entry comes and goes with job events and
	// retention, and hashing the five strings that name the tree for each
	// was a third of moving it. Trees of file systems are never dropped.
	fs *tree
}

// key returns the slot's index key at at.
func (e *taskSlot) key(at time.Time) key {
	k := timeKey(at)
	k.ord, k.task = e.ord, e
	return k
}

// taskKey returns the key of task id at at, for a cursor: the key of its
// slot, or if it has none a key that sorts as it would, just after the
// slot before it in id order.
func (s *Store) taskKey(at time.Time, id string) key {
	if e := s.tasks[id]; e != nil {
		return e.key(at)
	}
	k := timeKey(at)
	i, j, _ := s.ids.find(key{id: id})
	if i == len(s.ids.leaves) { // after every id
		if n := len(s.ids.leaves); n > 0 {
			k.ord = s.ids.bounds[n-1].task.ord
		}
	} else if q, ok := s.ids.prev(pos{i, j}); ok {
		k.ord = s.ids.at(q).task.ord
	}
	return k
}

// slot returns the slot of t's id, nil if the id has never been stored.
func (s *Store) slot(t *engine.Task) *taskSlot {
	// A job event reads a task (TaskByBackupJob) and writes it back: the
	// write finds the slot here without hashing its ~80-byte id into a map
	// of 100,000 (cache misses). Equal parts make an equal id; the strings
	// of a task read from the store share its bytes, so comparing them
	// reads no more than their headers.
	if h := s.hot; h != nil && h.task.FileSystem == t.FileSystem && h.task.SessionID == t.SessionID && h.task.Loc == t.Loc {
		return h
	}
	var buf [160]byte
	e := s.tasks[string(engine.AppendTaskID(buf[:0], t.SessionID, t.Loc, t.FileSystem))]
	if e != nil {
		s.hot = e
	}
	return e
}

// newSlot stores a slot for c's id; buf is what c is in, if anything.
func (s *Store) newSlot(c *engine.Task, buf *taskBuf) *taskSlot {
	e := &taskSlot{id: c.ID(), task: c, buf: buf}
	s.tasks[e.id] = e
	s.addSlot(e)
	return e
}

// CreateTask stores a new task at version 1; ECONFLICT if its id exists.
func (s *Store) CreateTask(_ context.Context, t *engine.Task) error {
	if err := store.CheckTask(t); err != nil {
		return err
	}
	c, buf := storedCopy(t) // outside the lock: it is the caller's until stored
	defer s.lock(opCreateTask)()
	if e := s.slot(c); e != nil {
		return checkVersion("task", e.id, e.task.Version, 0)
	}
	c.Version = 1
	s.indexTask(s.newSlot(c, buf), indexedOf(c))
	t.Version = 1
	return nil
}

// GetTask returns a copy of the task.
func (s *Store) GetTask(_ context.Context, id string) (*engine.Task, error) {
	defer s.lock(opGetTask)()
	e, ok := s.tasks[id]
	if !ok {
		return nil, notFound("task", id)
	}
	s.hot = e
	return cloneTask(e.task), nil // under the lock: PutTask overwrites stored tasks
}

// PutTask writes the task if its Version is the stored one, and moves its
// index entries (due list, job and recovery point lookups, live lists).
func (s *Store) PutTask(_ context.Context, t *engine.Task) error {
	if err := store.CheckTask(t); err != nil {
		return err
	}
	defer s.lock(opPutTask)()
	e := s.slot(t)
	if e == nil {
		if err := checkVersion("task", t.ID(), 0, t.Version); err != nil {
			return err
		}
		c, buf := storedCopy(t)
		c.Version = 1
		s.indexTask(s.newSlot(c, buf), indexedOf(c))
		t.Version = 1
		return nil
	}
	old := e.task
	if err := checkVersion("task", e.id, old.Version, t.Version); err != nil {
		return err
	}
	// The new version goes into the old one's memory when it fits: a
	// stored task is read by no one outside the lock (reads copy it under
	// the lock), and rewriting memory the lock holder has just read costs
	// less than a fresh kilobyte for each of the ~3 writes of every task,
	// which were an eighth of the allocations of a simulation. What the
	// indexes need of the old version is taken first.
	was, version := indexedOf(old), old.Version+1
	var c *engine.Task
	if e.buf != nil && fitsBuf(t) {
		c = e.buf.fill(t)
	} else {
		c, e.buf = storedCopy(t)
	}
	c.Version = version
	e.task = c
	s.reindexTask(e, was, indexedOf(c))
	t.Version = version
	return nil
}

// TaskByBackupJob returns the task whose current backup job has this id.
func (s *Store) TaskByBackupJob(_ context.Context, jobID string) (*engine.Task, error) {
	return s.taskBy(opTaskByBackupJob, s.byBackupJob, "task of backup job", jobID)
}

// TaskByRecoveryPoint returns the task whose source recovery point has this ARN.
func (s *Store) TaskByRecoveryPoint(_ context.Context, arn string) (*engine.Task, error) {
	return s.taskBy(opTaskByRecoveryPoint, s.byRecoveryPoint, "task of recovery point", arn)
}

// taskBy returns a copy of the task that lookup names under name.
func (s *Store) taskBy(method op, lookup *names, kind, name string) (*engine.Task, error) {
	defer s.lock(method)()
	e := lookup.get(name)
	if e == nil || name == "" {
		return nil, notFound(kind, name)
	}
	s.hot = e
	return cloneTask(e.task), nil // under the lock: PutTask overwrites stored tasks
}

// DueTasks returns the non-terminal tasks whose NextCheckAt is <= now
// (a zero NextCheckAt is due at once), earliest first.
func (s *Store) DueTasks(_ context.Context, now time.Time) ([]*engine.Task, error) {
	defer s.lock(opDueTasks)()
	var out []*engine.Task
	for _, e := range s.dueTasks.due(now) {
		out = append(out, cloneTask(e.task))
	}
	return out, nil
}

// taskCursor is the position of the last task of a page: its id, and for
// retention's work list its RetainAt.
type taskCursor struct {
	At time.Time `json:"at,omitzero"`
	ID string    `json:"id"`
}

// ListTasks pages through the tasks of a session or of a policy, by task
// id (which orders a policy's tasks by session, as session ids carry their
// scheduled instant), or through retention's work list by RetainAt.
func (s *Store) ListTasks(_ context.Context, q engine.TaskQuery) ([]*engine.Task, string, error) {
	defer s.lock(opListTasks)()
	stored, next, err := s.listTasks(q)
	for i, t := range stored {
		stored[i] = cloneTask(t) // under the lock: PutTask overwrites stored tasks
	}
	return stored, next, err
}

// ViewTasks is engine.TaskViewer: ListTasks, with pick choosing under the
// lock which of the page's tasks to copy. It counts as a ListTasks.
func (s *Store) ViewTasks(_ context.Context, q engine.TaskQuery, pick func(page []*engine.Task) []*engine.Task) ([]*engine.Task, string, error) {
	defer s.lock(opListTasks)()
	stored, next, err := s.listTasks(q)
	if err != nil {
		return nil, "", err
	}
	picked := pick(stored)
	copies := make([]*engine.Task, len(picked))
	for i, t := range picked {
		copies[i] = cloneTask(t)
	}
	return copies, next, nil
}

func (s *Store) listTasks(q engine.TaskQuery) ([]*engine.Task, string, error) {
	listing, err := store.CheckTaskQuery(q)
	if err != nil {
		return nil, "", err
	}
	var after *key
	var afterID string
	if q.Cursor != "" {
		var c taskCursor
		if err := store.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, "", err
		}
		k := s.taskKey(c.At, c.ID)
		after, afterID = &k, c.ID
	}
	retainBy := timeKey(q.RetainBy)
	limit := store.Limit(q.Limit)
	// The tasks themselves, not their keys: one slice to allocate, which
	// ListTasks fills with the copies. last is the slot of the page's last
	// task, for the cursor.
	var out []*engine.Task
	var last *taskSlot
	collect := func(k key) bool {
		if listing == store.ListRetention && k.after(retainBy) {
			return false
		}
		// LiveOnly filters as it reads, as DynamoDB's filter expression
		// does (the file system lists hold live tasks only).
		if q.LiveOnly && listing != store.ListGroup && !k.task.task.Live() {
			return true
		}
		if len(out) < limit {
			last = k.task
		}
		out = append(out, k.task.task)
		return len(out) <= limit
	}
	trees := s.sessionTasks
	switch listing {
	case store.ListGroup:
		t := s.fileSystemTasks[fileSystem{q.PolicyID, q.Loc, q.FileSystem}]
		if t != nil {
			out = make([]*engine.Task, 0, min(t.len, limit+1)) // a file system has a few
		}
		t.ascend(after, collect)
	case store.ListRetention:
		s.retention[q.PolicyID].ascend(after, collect)
	case store.ListSession:
		trees[q.SessionID].ascend(after, collect)
	case store.ListPolicy:
		// A policy's tasks in id order are its sessions' in session id
		// order (session ids of a policy have one length).
		var from *key
		if after != nil {
			from = &key{id: sessionOfTask(afterID)}
			trees[from.id].ascend(after, collect)
		}
		s.taskSessions[q.PolicyID].ascend(from, func(sk key) bool {
			if len(out) > limit {
				return false
			}
			trees[sk.id].ascend(nil, collect)
			return len(out) <= limit
		})
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		var at time.Time // zero but in retention's list, ordered by RetainAt
		if listing == store.ListRetention {
			at = last.task.RetainAt
		}
		next = store.EncodeCursor(taskCursor{At: at, ID: last.id})
	}
	if out == nil {
		out = []*engine.Task{} // as before: an empty page is not nil (JSON)
	}
	return out, next, nil
}

// sessionOfTask returns the session id at the front of a task id
// (<policy>#<instant>#...).
func sessionOfTask(id string) string {
	i := strings.IndexByte(id, '#')
	if i < 0 {
		return id
	}
	j := strings.IndexByte(id[i+1:], '#')
	if j < 0 {
		return id
	}
	return id[:i+1+j]
}

// fileSystem names the tree of a file system's live tasks. A struct, not
// the ids joined into one string: a map hashes the fields where joining
// them allocated for every live task's write and every listing.
type fileSystem struct {
	policy string
	loc    engine.Loc
	fs     string
}

// fileSystemOf names the tree of t's file system.
func fileSystemOf(t *engine.Task) fileSystem { return fileSystem{t.PolicyID, t.Loc, t.FileSystem} }

// indexed is what the task indexes hold of a task version. PutTask takes
// it from the old version before it writes the new one over it.
type indexed struct {
	session, policy          string
	fs                       fileSystem
	live, inRetention, due   bool
	retainAt, nextCheckAt    time.Time
	backupJob, recoveryPoint string
}

func indexedOf(t *engine.Task) indexed {
	return indexed{session: t.SessionID, policy: t.PolicyID, fs: fileSystemOf(t),
		live: t.Live(), inRetention: t.InRetention(), due: !t.Phase.Terminal(),
		retainAt: t.RetainAt, nextCheckAt: t.NextCheckAt,
		backupJob: t.Backup.ID, recoveryPoint: t.RecoveryPointArn}
}

func (s *Store) indexTask(e *taskSlot, t indexed) {
	k := e.key(time.Time{})
	if s.sessionTasks[t.session] == nil {
		s.taskSessions.insert(t.policy, key{id: t.session})
	}
	s.sessionTasks.insert(t.session, k)
	e.fs = s.fileSystemTasks.tree(t.fs)
	if t.live {
		e.fs.insert(k)
	}
	if t.inRetention {
		s.retention.insert(t.policy, e.key(t.retainAt))
	}
	if t.due {
		s.dueTasks.put(e, t.nextCheckAt)
	}
	if t.backupJob != "" {
		s.byBackupJob.set(t.backupJob, e)
	}
	if t.recoveryPoint != "" {
		s.byRecoveryPoint.set(t.recoveryPoint, e)
	}
}

// reindexTask moves a task's index entries from old to t, touching only
// the indexes whose keys changed: PutTask runs for every job event, and the
// session and policy of a task id never change.
func (s *Store) reindexTask(e *taskSlot, old, t indexed) {
	k := e.key(time.Time{})
	if old.session != t.session || old.policy != t.policy {
		s.unindexTask(e, old)
		s.indexTask(e, t)
		return
	}
	if old.live != t.live {
		if t.live {
			e.fs.insert(k)
		} else {
			e.fs.remove(k)
		}
	}
	if was, is := old.inRetention, t.inRetention; was != is || is && !old.retainAt.Equal(t.retainAt) {
		if was {
			s.retention.remove(t.policy, e.key(old.retainAt))
		}
		if is {
			s.retention.insert(t.policy, e.key(t.retainAt))
		}
	}
	if old.due != t.due || !old.nextCheckAt.Equal(t.nextCheckAt) {
		if t.due {
			s.dueTasks.put(e, t.nextCheckAt)
		} else {
			s.dueTasks.drop(e)
		}
	}
	if old.backupJob != t.backupJob {
		s.byBackupJob.remove(old.backupJob, e)
		if t.backupJob != "" {
			s.byBackupJob.set(t.backupJob, e)
		}
	}
	if old.recoveryPoint != t.recoveryPoint {
		s.byRecoveryPoint.remove(old.recoveryPoint, e)
		if t.recoveryPoint != "" {
			s.byRecoveryPoint.set(t.recoveryPoint, e)
		}
	}
}

func (s *Store) unindexTask(e *taskSlot, t indexed) {
	k := e.key(time.Time{})
	s.sessionTasks.remove(t.session, k)
	if s.sessionTasks[t.session] == nil {
		s.taskSessions.remove(t.policy, key{id: t.session})
	}
	e.fs.remove(k)
	s.retention.remove(t.policy, e.key(t.retainAt))
	s.dueTasks.drop(e)
	s.byBackupJob.remove(t.backupJob, e)
	s.byRecoveryPoint.remove(t.recoveryPoint, e)
}
