// Package simrun runs the whole of efskeeper on the simulated AWS of
// pkg/sim: the tick, region runs, job events, reconcile and retention, as
// the Lambda functions would run them, on a virtual clock. The demo, the
// chaos soak, the engine benchmark and end-to-end tests are built on it.
//
// Between the engine and the world it puts what production has between
// them: an SQS-like queue (at-least-once, redelivery after a failure),
// EventBridge delivery of the simulated events through the same parser the
// jobevents function uses (with Lambda's async retries), and, with crash
// faults, a store that fails writes before or after they happen.
package simrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

// Options configure a run.
type Options struct {
	Seed   uint64
	Days   int
	Faults string // none, default, heavy
	// FaultsOverride, when set, replaces the named profile.
	FaultsOverride *sim.Faults
	// Start is the first simulated instant (default 2026-01-05 00:00 UTC).
	Start time.Time
	// Build populates the world (accounts, file systems, vaults); Script
	// lists changes an admin makes during the run. DemoWorld provides both.
	Build  func(w *sim.World)
	Script []Action
	// Policies are put into the store before the run starts.
	Policies []*policy.Policy
	// Store defaults to a memory store.
	Store engine.Store
	// Config tunes the engine.
	Config engine.Config
	// CrashRate is the probability that a store write fails (half of the
	// time after it happened), simulating a function that dies between two
	// steps. "heavy" faults default to 0.02.
	CrashRate float64
	// Drain is how long the run goes on after the last scheduled day, with
	// no new sessions, so that every session can end (default 3 days).
	Drain time.Duration
	// Index, when set, turns on file indexing (see IndexOptions).
	Index *IndexOptions
	// Driver, when set, makes the harness call the use-cases through it
	// (for example through the Lambda handlers) instead of directly.
	Driver func(e *engine.Engine) Driver
	// Workers, above 1, handles the events of a minute and the region runs
	// due on that many goroutines, as concurrent Lambda invocations would,
	// and makes retention and the reconciler work on that many file systems
	// or tasks at once (unless Config.Concurrency says otherwise). The order of calls into
	// the world then varies, so a run is no longer reproducible by seed:
	// the demo and the soak use 1, the engine benchmark the machine's cores.
	Workers int
	// Progress is called once per simulated hour.
	Progress func(done, total time.Duration)
	Log      *slog.Logger
}

// Action is a change made to the world at a given offset from the start.
type Action struct {
	At   time.Duration
	Note string
	Do   func(w *sim.World)
}

// Driver is how the harness invokes the use-cases: directly, or through
// the Lambda handlers with real-shaped payloads (pkg/lambdafn's tests).
type Driver interface {
	Tick(ctx context.Context) error
	RegionRun(ctx context.Context, m engine.RegionRunMsg) error
	// JobEvent gets the EventBridge event exactly as AWS would deliver it.
	JobEvent(ctx context.Context, raw []byte) error
	Reconcile(ctx context.Context) error
	Retention(ctx context.Context) error
}

// direct calls the engine.
type direct struct{ e *engine.Engine }

func (d direct) Tick(ctx context.Context) error { _, err := d.e.Tick(ctx); return err }
func (d direct) RegionRun(ctx context.Context, m engine.RegionRunMsg) error {
	return d.e.RunRegion(ctx, m)
}
func (d direct) JobEvent(ctx context.Context, raw []byte) error {
	u, err := awsevent.Parse(raw)
	if err != nil {
		return nil // counted by the harness
	}
	return d.e.HandleJobEvent(ctx, u)
}
func (d direct) Reconcile(ctx context.Context) error { _, err := d.e.Reconcile(ctx); return err }
func (d direct) Retention(ctx context.Context) error { _, err := d.e.Retention(ctx); return err }

// Harness holds a wired system.
type Harness struct {
	Opts   Options
	World  *sim.World
	Store  engine.Store
	Engine *engine.Engine
	Driver Driver
	Queue  *Queue
	// Indexing, when Options.Index is set.
	Indexer   *engine.Indexer
	Instances *sim.Instances
	Objects   *worker.MemoryBucket
	IndexRuns interface {
		engine.IndexStore
		engine.WorkerConfigStore
	}
	IndexStats IndexStats
	// Restorer runs restore sessions on the simulated AWS; Restore Job
	// State Change events reach it like the jobevents function routes them.
	Restorer *engine.Restorer
	Notices  []engine.SessionNotice // without their Tasks and Units
	Stats    Stats
	mu       sync.Mutex // Notices and Stats, with Workers > 1
	crash    *crashStore
	batch    eventBatch // a minute's events, reused
	start    time.Time
	// ticksUntil is the last instant a tick may start sessions.
	ticksUntil time.Time
}

// Stats counts what the harness drove.
type Stats struct {
	Ticks, RegionRuns, RegionRunErrors, Events, EventErrors, EventsIrrelevant int
	EventsLost, Reconciles, Retentions                                        int
	Crashes                                                                   int
}

// New builds the world and the engine.
func New(o Options) (*Harness, error) {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	}
	if o.Faults == "" {
		o.Faults = "none"
	}
	if o.Drain == 0 {
		o.Drain = 72 * time.Hour
	}
	faults, err := sim.FaultProfile(o.Faults)
	if err != nil {
		return nil, err
	}
	if o.FaultsOverride != nil {
		faults = *o.FaultsOverride
	}
	if o.CrashRate == 0 && o.Faults == "heavy" {
		o.CrashRate = 0.02
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	// The deployed EventBridge rule passes on only what jobevents acts on.
	w := sim.New(sim.Config{Seed: o.Seed, Faults: faults, Start: o.Start, EventRule: awsevent.Delivered})
	if o.Build != nil {
		o.Build(w)
	}
	h := &Harness{Opts: o, World: w, start: o.Start}
	st := o.Store
	if st == nil {
		st = memory.New()
	}
	h.Store = st
	if o.CrashRate > 0 {
		h.crash = &crashStore{Store: st, rate: o.CrashRate, seed: o.Seed}
		st = h.crash
		if v, ok := h.Store.(storeViews); ok {
			st = crashViews{h.crash, v} // so that crash runs take the engine's view paths too
		}
	}
	h.Queue = &Queue{}
	notifier := notifierFunc(func(_ context.Context, n engine.SessionNotice) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		// As SNS would, let go of the tasks and units the message was made
		// from (a session of a large fleet has tens of thousands; the
		// store has them all).
		n.Tasks, n.Units = nil, nil
		h.Notices = append(h.Notices, n)
		return nil
	})
	if o.Config.Concurrency == 0 {
		o.Config.Concurrency = max(1, o.Workers) // 1: reproducible
	}
	h.Engine = engine.New(engine.Engine{
		Store: st, Backup: w.Backup(), FileSystems: w.FileSystems(), Org: w.Organization(),
		Queue: h.Queue, Notifier: notifier, Clock: w, Log: o.Log, Config: o.Config,
	})
	if o.Index != nil {
		h.setUpIndexing(st, notifier)
	}
	restores, ok := h.Store.(engine.RestoreStore)
	if !ok {
		restores = memory.NewRestores()
	}
	h.Restorer = engine.NewRestorer(engine.Restorer{Store: restores, Service: w.Restores(), Clock: w, Log: o.Log})
	h.Driver = direct{h.Engine}
	if o.Driver != nil {
		h.Driver = o.Driver(h.Engine)
	}
	ctx := context.Background()
	for _, p := range o.Policies {
		rec := &engine.PolicyRecord{Policy: p, Watermark: o.Start, CreatedAt: o.Start, UpdatedAt: o.Start}
		if run, ok := p.NextRun(o.Start); ok && p.Enabled {
			rec.NextRunAt = run.At
		}
		if err := h.Store.PutPolicy(ctx, rec); err != nil {
			return nil, fmt.Errorf("put policy %s: %w", p.ID, err)
		}
	}
	h.ticksUntil = o.Start.Add(time.Duration(o.Days) * 24 * time.Hour)
	return h, nil
}

type notifierFunc func(context.Context, engine.SessionNotice) error

func (f notifierFunc) SessionFinished(ctx context.Context, n engine.SessionNotice) error {
	return f(ctx, n)
}

// Step is the harness's time step: the tick's period.
const Step = time.Minute

// Run drives the system minute by minute: the tick every minute (until the
// last day), region-run messages and events as they come, the reconciler
// every 15 minutes and retention every hour. After the last day it goes on
// without ticks until no session is Running, or Drain has passed.
func (h *Harness) Run(ctx context.Context) error {
	script := append([]Action(nil), h.Opts.Script...)
	sort.SliceStable(script, func(i, j int) bool { return script[i].At < script[j].At })
	total := h.ticksUntil.Sub(h.start)
	end := h.ticksUntil.Add(h.Opts.Drain)
	for step := 0; ; step++ {
		now := h.World.Now()
		for len(script) > 0 && !h.start.Add(script[0].At).After(now) {
			h.Opts.Log.Info("script", "note", script[0].Note)
			script[0].Do(h.World)
			script = script[1:]
		}
		h.Minute(ctx, now.Before(h.ticksUntil))
		if h.Opts.Progress != nil && now.Minute() == 0 {
			done := now.Sub(h.start)
			if done > total {
				done = total
			}
			h.Opts.Progress(done, total)
		}
		if !now.Before(h.ticksUntil) {
			running, err := h.Store.RunningSessions(ctx)
			if err == nil && len(running) == 0 && h.Queue.Len() == 0 {
				return nil
			}
			if !now.Before(end) {
				return nil
			}
		}
		h.World.Advance(Step)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// drainQueue delivers region-run messages like SQS with a Lambda consumer:
// a message whose handler fails becomes visible again after a while.
func (h *Harness) drainQueue(ctx context.Context) {
	now := h.World.Now()
	due := h.Queue.due(now)
	h.concurrently(len(due), func(i int) {
		m := due[i]
		err := h.Driver.RegionRun(ctx, m.msg)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.Stats.RegionRuns++
		if err != nil {
			h.Stats.RegionRunErrors++
			h.Opts.Log.Warn("region run failed; message will be redelivered", "error", err, "session", m.msg.SessionID)
			if m.receives < 10 {
				h.Queue.redeliver(m, now.Add(5*time.Minute)) // visibility timeout
			}
		}
	})
}

// concurrently calls fn(0) .. fn(n-1): in order, or with Workers > 1 on
// that many goroutines.
func (h *Harness) concurrently(n int, fn func(i int)) {
	if h.Opts.Workers <= 1 || n < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(h.Opts.Workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// deliverEvents hands the world's events to the job-event use-case through
// the parser, with Lambda's asynchronous retries (two more attempts).
//
// A minute's events are rendered, parsed and handled. With one worker
// they are handled one after another, in order (the run is reproducible
// by seed), while a second goroutine parses ahead of the handler: parsing
// is a pure function of the bytes, as each jobevents invocation parses its
// own payload, so it can run on another core without changing what the
// handler does or in what order. For the engine's own handler it renders
// them too (a render reads only what the event was when emitted); a
// driver that is handed the bytes gets them rendered first.
func (h *Harness) deliverEvents(ctx context.Context) {
	b := &h.batch
	b.reset()
	_, isDirect := h.Driver.(direct)
	if h.Opts.Workers <= 1 && isDirect {
		// The handler takes parsed updates: render on the second core too.
		b.taken = h.World.TakeEvents(b.taken)
	} else {
		h.World.DeliverEventsTo(b.add)
	}
	if h.Opts.Workers <= 1 {
		b.parseAhead()
		for i := range b.len() {
			u, err := b.parsed(i)
			var raw []byte // the direct driver needs none
			if !isDirect {
				raw = b.event(i)
			}
			h.handleParsed(ctx, raw, u, err)
		}
		b.done()
	} else {
		h.concurrently(b.len(), func(i int) {
			u, err := awsevent.Parse(b.event(i))
			h.handleParsed(ctx, b.event(i), u, err)
		})
	}
	if h.crash != nil {
		h.Stats.Crashes = h.crash.count()
	}
}

// handleParsed is one jobevents invocation after its Parse(raw).
func (h *Harness) handleParsed(ctx context.Context, raw []byte, u engine.JobUpdate, err error) {
	count := func(c *int) {
		h.mu.Lock()
		*c++
		h.mu.Unlock()
	}
	count(&h.Stats.Events)
	if errors.Is(err, awsevent.ErrIrrelevant) {
		count(&h.Stats.EventsIrrelevant)
		return
	}
	if err != nil {
		count(&h.Stats.EventErrors)
		h.Opts.Log.Error("event does not parse", "error", err)
		return
	}
	var herr error
	for attempt := 0; attempt < 3; attempt++ {
		if d, ok := h.Driver.(direct); ok {
			if u.Kind == engine.KindRestore {
				herr = h.Restorer.Update(ctx, u)
			} else {
				herr = d.e.HandleJobEvent(ctx, u) // parsed once already
			}
		} else {
			herr = h.Driver.JobEvent(ctx, raw)
		}
		if herr == nil {
			break
		}
	}
	if herr != nil {
		count(&h.Stats.EventsLost)
		h.Opts.Log.Warn("event handling failed three times; the reconciler must cover it", "error", herr)
	}
}

// Queue is an in-process stand-in for the SQS queues.
type Queue struct {
	mu    sync.Mutex
	msgs  []queued
	Index []engine.IndexRunMsg
}

type queued struct {
	msg      engine.RegionRunMsg
	visible  time.Time
	receives int
}

// SendRegionRun implements engine.Queue.
func (q *Queue) SendRegionRun(_ context.Context, m engine.RegionRunMsg) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, queued{msg: m})
	return nil
}

// SendIndexRun implements engine.Queue; index runs are recorded only.
func (q *Queue) SendIndexRun(_ context.Context, m engine.IndexRunMsg) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Index = append(q.Index, m)
	return nil
}

// Len is the number of messages waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

func (q *Queue) due(now time.Time) []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out, keep []queued
	for _, m := range q.msgs {
		if m.visible.After(now) {
			keep = append(keep, m)
			continue
		}
		m.receives++
		out = append(out, m)
	}
	q.msgs = keep
	return out
}

func (q *Queue) redeliver(m queued, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m.visible = at
	q.msgs = append(q.msgs, m)
}
