package sim

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Config sets up a World.
type Config struct {
	// Seed makes every run reproducible: same seed, same calls, same world.
	Seed uint64
	// Faults are the injected failures; see FaultProfile.
	Faults Faults
	// Start is the virtual clock's first instant (default 2024-01-01
	// 00:00:00 UTC).
	Start time.Time
	// CallerRole is the IAM role name the ports act as in every account
	// (default "efskeeper-member"); vault access policies are evaluated
	// for arn:aws:iam::<account>:role/<CallerRole>.
	CallerRole string
	// CopyConcurrency is AWS Backup's quota of concurrent copy jobs per
	// account into one destination Region (default 100, not adjustable in
	// AWS). Copies beyond it stay CREATED until a slot frees.
	CopyConcurrency int
	// EventRule, when set, is the EventBridge rule between AWS Backup and
	// the consumer: an event it refuses (given its detail-type, and its
	// detail's state and status, "" when absent) is never delivered
	// (EventStats.Filtered). Nil delivers every event.
	EventRule func(detailType, state, status string) bool
}

// World is the whole simulated AWS. It is safe for concurrent use; one mutex
// serializes every call, which keeps the model simple and deterministic per
// caller.
type World struct {
	mu      sync.Mutex
	seed    uint64
	faults  Faults
	rule    func(detailType, state, status string) bool
	now     time.Time
	caller  string
	copyMax int

	timers timerHeap
	tseq   uint64

	ous      map[string]*ou
	accounts map[string]*account
	regions  map[engine.Loc]*region
	// lastRegion is the Region known found last (see known).
	lastRegion *region

	resources map[string]*resource // by resource ARN: the one-job-per-resource lock
	jobs      []*job               // every job, in creation order
	fsList    []*fileSystem        // every file system, in creation order
	jobIdx    hashIndex            // finds jobs by id
	tokens    map[key]uint32       // newest job (index in jobs) per tokenKey
	rpIdx     hashIndex            // finds the listed (not gone) points by ARN
	// lastPoint is what findPoint found last: retention's deletion asks
	// for one point three times in a row (tags, delete, read back), and a
	// lookup in an index of hundreds of thousands misses the caches. Any
	// change to rpIdx clears it.
	lastPoint *recoveryPoint
	rpList    []*recoveryPoint
	tagSets   map[key]tagSet     // interned tag sets by tagsKey
	lifecycle map[int64][]uint32 // lifecycle deletions by minute (Unix ns): point indexes
	slots     map[slotKey]*copySlots

	calls    map[string]int
	callSeq  map[key]uint64
	mismatch []TokenMismatch

	ev eventQueue
}

// RootID is the id of the simulated Organization's root.
const RootID = "r-0sim"

type ou struct {
	id, parent string
}

type account struct {
	id, parent string
	principal  string // the ports' IAM role ARN in this account
	status     string // ACTIVE, SUSPENDED, ...
	// denied: the member role cannot be assumed; every call fails EDENIED.
	denied bool
	// deleteWithoutPermission: AWS Backup lacks permission to delete in this
	// account, so DeleteRecoveryPoint and lifecycle only expire points.
	deleteWithoutPermission bool
}

// region is the state of one (account, Region).
type region struct {
	loc       engine.Loc
	optIn     bool
	vaults    map[string]*vault
	fss       map[string]*fileSystem
	plan      *autoPlan
	net       *network
	acct      *account         // the account (World.accounts never replaces one)
	tokenless uint64           // jobs started without an idempotency token
	env       [3]envelopeParts // by job kind: backup, copy, restore; built with the region
	w         *World
}

// New builds an empty world whose clock reads cfg.Start.
func New(cfg Config) *World {
	start := cfg.Start
	if start.IsZero() {
		start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	caller := cfg.CallerRole
	if caller == "" {
		caller = "efskeeper-member"
	}
	copyMax := cfg.CopyConcurrency
	if copyMax <= 0 {
		copyMax = 100
	}
	w := &World{
		seed:      cfg.Seed,
		faults:    cfg.Faults,
		rule:      cfg.EventRule,
		now:       start.UTC(),
		caller:    caller,
		copyMax:   copyMax,
		ous:       map[string]*ou{},
		accounts:  map[string]*account{},
		regions:   map[engine.Loc]*region{},
		resources: map[string]*resource{},
		jobIdx:    newHashIndex(),
		tokens:    map[key]uint32{},
		rpIdx:     newHashIndex(),
		tagSets:   map[key]tagSet{},
		lifecycle: map[int64][]uint32{},
		slots:     map[slotKey]*copySlots{},
		calls:     map[string]int{},
		callSeq:   map[key]uint64{},
	}
	w.ev.init()
	w.scheduleAutoDay(nextAutoBackup(w.now))
	return w
}

// Now returns the virtual time. World implements engine.Clock.
func (w *World) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// Advance moves the clock forward by d, running every job transition,
// lifecycle deletion and scheduled automatic backup that falls due, in time
// order (ties in the order they were scheduled).
func (w *World) Advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advanceTo(w.now.Add(d))
}

// AdvanceTo moves the clock to t (no-op if t is not after Now).
func (w *World) AdvanceTo(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advanceTo(t)
}

func (w *World) advanceTo(target time.Time) {
	end := target.UnixNano()
	for w.timers.len() > 0 && w.timers.peek().at <= end {
		t := w.timers.pop()
		if at := time.Unix(0, t.at).UTC(); at.After(w.now) {
			w.now = at
		}
		w.fire(&t)
	}
	if target.After(w.now) {
		w.now = target.UTC()
	}
}

// timer is one scheduled change. Job timers carry the job's step counter at
// scheduling time: a job that moved on since (stopped, expired, resumed)
// ignores the stale timer. A timer names its job, recovery point or file
// system by index (w.jobs, w.rpList, w.fsList), not by pointer: the heap
// holds hundreds of thousands of lifecycle timers, and pointer-free entries
// cost the garbage collector nothing to scan and need no write barriers
// when the heap moves them.
type timer struct {
	at   int64 // Unix nanoseconds
	seq  uint64
	ref  uint32
	step uint32
	kind timerKind
}

type timerKind uint8

const (
	tJobStep         timerKind = iota // the job's next planned transition
	tJobExpire                        // the backup job's start window ends
	tLifecycleMinute                  // the lifecycle deletions of one minute
	tRPGone                           // a DELETING point disappears
	tAutoDay                          // 05:00 UTC: the EFS automatic backup plan fires
	tAutoJob                          // one automatic backup job is created
)

func (w *World) schedule(at time.Time, t timer) {
	if at.Before(w.now) {
		at = w.now
	}
	w.tseq++
	t.at = at.UnixNano()
	t.seq = w.tseq
	w.timers.push(t)
}

func (w *World) fire(t *timer) {
	switch t.kind {
	case tJobStep:
		if j := w.jobs[t.ref]; j.step == t.step {
			w.jobStep(j)
		}
	case tJobExpire:
		w.jobStartWindowEnded(w.jobs[t.ref])
	case tLifecycleMinute:
		w.lifecycleMinute(t.at)
	case tRPGone:
		w.pointGone(w.rpList[t.ref])
	case tAutoDay:
		w.autoDay()
	case tAutoJob:
		w.autoJob(w.fsList[t.ref])
	}
}

// AddOU adds an organizational unit under parent ("" or RootID for the
// root, or another OU). It panics if the parent is unknown: worlds are built
// by code, and a typo must not silently build another organization.
func (w *World) AddOU(id, parent string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if parent == "" {
		parent = RootID
	}
	if parent != RootID && w.ous[parent] == nil {
		panic(fmt.Sprintf("sim: AddOU %s: parent %s does not exist", id, parent))
	}
	if id == RootID || w.ous[id] != nil {
		panic(fmt.Sprintf("sim: AddOU %s: already exists", id))
	}
	w.ous[id] = &ou{id: id, parent: parent}
}

// AddAccount adds an ACTIVE member account under parentOU ("" or RootID for
// the root). Adding an account twice moves it.
func (w *World) AddAccount(id, parentOU string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if parentOU == "" {
		parentOU = RootID
	}
	if parentOU != RootID && w.ous[parentOU] == nil {
		panic(fmt.Sprintf("sim: AddAccount %s: OU %s does not exist", id, parentOU))
	}
	if a := w.accounts[id]; a != nil {
		a.parent = parentOU
		return
	}
	w.accounts[id] = w.newAccount(id, parentOU)
}

// SetAccountStatus sets an account's Organizations status (ACTIVE,
// SUSPENDED, PENDING_CLOSURE); only ACTIVE accounts are listed.
func (w *World) SetAccountStatus(id, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustAccount(id).status = status
}

// DenyAccess makes every call into the account fail with EDENIED, as when
// the member role is missing or does not trust the caller.
func (w *World) DenyAccess(id string, denied bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustAccount(id).denied = denied
}

// SetDeleteWithoutPermission makes AWS Backup lack the permission to delete
// recovery points in the whole account: DeleteRecoveryPoint answers success
// but the point only becomes EXPIRED, and lifecycle expiry does the same.
func (w *World) SetDeleteWithoutPermission(id string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustAccount(id).deleteWithoutPermission = on
}

// SetEFSOptIn sets whether the EFS resource type is opted in to AWS Backup
// in the Region (Regions default to opted in).
func (w *World) SetEFSOptIn(l engine.Loc, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.region(l).optIn = on
}

func (w *World) newAccount(id, parent string) *account {
	return &account{id: id, parent: parent, status: "ACTIVE", principal: "arn:aws:iam::" + id + ":role/" + w.caller}
}

func (w *World) mustAccount(id string) *account {
	a := w.accounts[id]
	if a == nil {
		panic(fmt.Sprintf("sim: account %s does not exist", id))
	}
	return a
}

// region returns the state of l, creating it (and the account, under the
// root) when the world has not seen it yet.
func (w *World) region(l engine.Loc) *region {
	r := w.known(l)
	if r == nil {
		a := w.accounts[l.Account]
		if a == nil {
			a = w.newAccount(l.Account, RootID)
			w.accounts[l.Account] = a
		}
		r = &region{loc: l, optIn: true, vaults: map[string]*vault{}, fss: map[string]*fileSystem{}, acct: a, w: w}
		for _, k := range []engine.JobKind{engine.KindBackup, engine.KindCopy, engine.KindRestore} {
			r.envelope(k) // built once, here: events are rendered on other goroutines
		}
		w.regions[l] = r
	}
	return r
}

// known returns the state of l, nil if the world has not seen it yet. It
// remembers the last (account, Region) it found: callers work a Region at
// a time, and every API call looks its Region up (often twice), which in
// World.regions means hashing both strings of the Loc.
func (w *World) known(l engine.Loc) *region {
	if r := w.lastRegion; r != nil && r.loc == l {
		return r
	}
	r := w.regions[l]
	if r != nil {
		w.lastRegion = r
	}
	return r
}

// sortedLocs lists the known (account, Region) pairs in a fixed order.
func (w *World) sortedLocs() []engine.Loc {
	locs := make([]engine.Loc, 0, len(w.regions))
	for l := range w.regions {
		locs = append(locs, l)
	}
	sort.Slice(locs, func(i, j int) bool {
		if locs[i].Account != locs[j].Account {
			return locs[i].Account < locs[j].Account
		}
		return locs[i].Region < locs[j].Region
	})
	return locs
}

// stamp is an instant as Unix nanoseconds, 0 for none (the virtual clock
// never reads 1970). Jobs and recovery points keep their instants as
// stamps: a time.Time is 24 bytes with a location pointer, a stamp 8
// pointer-free bytes, and the simulator holds six per job and three per
// point for hundreds of thousands of them; smaller records cost less to
// allocate, to mark for the garbage collector and to bring into cache.
type stamp int64

func stampOf(t time.Time) stamp { return stamp(t.UnixNano()) }

// time returns the instant in UTC, the zero Time for 0.
func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

func day(n int64) time.Duration { return time.Duration(n) * 24 * time.Hour }
