package sim

import (
	"cmp"
	"slices"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// EventStats counts what happened to emitted events.
type EventStats struct {
	Emitted    int // events AWS Backup produced
	Filtered   int // refused by the EventRule
	Dropped    int // never delivered
	Duplicated int // delivered twice
	Reordered  int // held back so that later events overtake them
	Delivered  int // handed out by DeliverEvents (duplicates count twice)
}

// eventQueue holds emitted events until their delivery time.
//
// An event is taken when its job changes state, while the job and what it
// points to are still in the processor's caches: a snapshot (eventSnap) of
// what its JSON says, rendered when it is delivered, possibly on another
// goroutine (TakeEvents). Rendered from the job at delivery, minutes
// later, most of its cost was fetching the job, its points, vaults and
// strings from memory again; rendered at emit, it cost the goroutine that
// steps the world. A dropped or filtered event is never taken.
//
// Events are kept in one bucket per delivery instant (a 5-minute batch
// boundary); a bucket is sorted by arrival when it is delivered, which is
// cheaper than a heap of the tens of thousands of events pending after a
// fleet's backups start together.
type eventQueue struct {
	buckets map[int64][]pendingEvent // by delivery instant, Unix ns
	due     minHeap[int64]           // the buckets' delivery instants
	seq     uint64
	scratch []pendingEvent
	spare   [][]pendingEvent // emptied buckets, for reuse
	buf     []byte           // DeliverEventsTo renders each event here
	stats   EventStats
	pending int
}

type pendingEvent struct {
	arrival int64 // Unix ns: when it reached the bus; orders a batch
	seq     uint64
	ev      *eventSnap
}

func (q *eventQueue) init() {
	q.buckets = map[int64][]pendingEvent{}
	q.due.less = func(a, b *int64) bool { return *a < *b }
}

// emit records the event of j's transition to its current state and
// decides its delivery: dropped, delayed, reordered, duplicated. All
// random draws come from the event's own stream, whose first two numbers
// are its id.
func (w *World) emit(j *job) {
	q := &w.ev
	q.stats.Emitted++
	if w.rule != nil && !w.rule(eventFields(j.kind, j.state)) {
		q.stats.Filtered++
		return
	}
	s := w.stream(j.key.num(uint64(j.step)))
	s.u64() // the event id: drawn again when it is rendered
	s.u64()
	f := &w.faults
	if s.chance(f.EventDrop) {
		q.stats.Dropped++
		return
	}
	e := pendingEvent{ev: w.snapshot(j, w.now.UnixNano())}
	delay := s.between(0, f.EventMaxDelay)
	if s.chance(f.EventReorder) {
		q.stats.Reordered++
		delay += s.between(time.Millisecond, f.reorderDelay())
	}
	q.push(w, delay, e)
	if s.chance(f.EventDuplicate) {
		q.stats.Duplicated++
		q.push(w, delay+s.between(time.Second, f.EventMaxDelay+max(f.EventBatch, time.Minute)), e)
	}
}

// eventFields are what an EventRule sees of a job's event: its
// detail-type and its detail's state or status (see render).
func eventFields(kind engine.JobKind, st engine.JobState) (detailType, state, status string) {
	switch kind {
	case engine.KindCopy:
		return DetailCopyJob, string(st), ""
	case engine.KindRestore:
		if st == engine.JobCreated {
			return DetailRestoreJob, string(st), ""
		}
		return DetailRestoreJob, "", string(st)
	}
	return DetailBackupJob, string(st), ""
}

func (q *eventQueue) push(w *World, delay time.Duration, e pendingEvent) {
	e.arrival = w.now.Add(delay).UnixNano()
	at := e.arrival
	if batch := int64(w.faults.EventBatch); batch > 0 {
		if r := at % batch; r != 0 {
			at += batch - r
		}
	}
	q.seq++
	e.seq = q.seq
	b, ok := q.buckets[at]
	if !ok {
		q.due.push(at)
		if n := len(q.spare); n > 0 {
			// The largest spare: the buckets after a fleet's start are big.
			i := 0
			for k := range q.spare {
				if cap(q.spare[k]) > cap(q.spare[i]) {
					i = k
				}
			}
			b = q.spare[i]
			q.spare[i] = q.spare[n-1]
			q.spare = q.spare[:n-1]
		}
	}
	q.buckets[at] = append(b, e)
	q.pending++
}

// take moves the events due at now, in delivery order, onto dst.
func (q *eventQueue) take(now int64, dst []pendingEvent) []pendingEvent {
	for q.due.len() > 0 && *q.due.peek() <= now {
		at := q.due.pop()
		b := q.buckets[at]
		delete(q.buckets, at)
		slices.SortFunc(b, func(x, y pendingEvent) int {
			if c := cmp.Compare(x.arrival, y.arrival); c != 0 {
				return c
			}
			return cmp.Compare(x.seq, y.seq)
		})
		dst = append(dst, b...)
		q.pending -= len(b)
		if len(q.spare) < 16 {
			clear(b) // its snapshots are the collector's once delivered
			q.spare = append(q.spare, b[:0])
		}
	}
	q.stats.Delivered += len(dst)
	return dst
}

// render appends the EventBridge JSON of the event of j's transition to
// its current state at the instant at (Unix ns).
func (w *World) render(b []byte, j *job, at int64) []byte {
	return w.snapshot(j, at).appendJSON(b)
}

// DeliverEvents returns the events whose delivery time has come, as the
// EventBridge JSON a Lambda target receives, in delivery order, with the
// configured faults applied. The slices are the caller's to keep (they
// share one allocation per call).
func (w *World) DeliverEvents() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := &w.ev
	due := q.take(w.now.UnixNano(), q.scratch[:0])
	if len(due) == 0 {
		return nil
	}
	out := make([][]byte, len(due))
	var buf []byte
	ends := make([]int, len(due))
	for i, e := range due {
		buf = e.ev.appendJSON(buf)
		ends[i] = len(buf)
	}
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	clear(due) // the snapshots are the collector's once delivered
	q.scratch = due[:0]
	return out
}

// DeliverEventsTo calls fn with each event whose delivery time has come,
// like DeliverEvents, but the bytes are valid only until fn returns (copy
// them to keep them): one buffer serves every event, which spares the
// garbage collector ~100 MB a simulated day at the benchmark's scale. fn
// may call the world (the ports, Advance): the world is not locked while
// fn runs.
func (w *World) DeliverEventsTo(fn func(event []byte)) {
	w.mu.Lock()
	q := &w.ev
	due := q.take(w.now.UnixNano(), q.scratch[:0])
	q.scratch = nil // a concurrent call gets its own
	buf := q.buf
	q.buf = nil
	w.mu.Unlock()
	for _, e := range due {
		buf = e.ev.appendJSON(buf[:0]) // a snapshot: no lock needed
		fn(buf)
	}
	clear(due)
	w.mu.Lock()
	defer w.mu.Unlock()
	q.scratch, q.buf = due[:0], buf
}

// Event is an event whose delivery time has come, not rendered yet
// (TakeEvents).
type Event struct{ s *eventSnap }

// AppendJSON appends the event's EventBridge JSON, as DeliverEvents
// returns it, to b. It reads only what the event was when its job changed
// state, so it may be called from any goroutine, at any time, while the
// world goes on.
func (e Event) AppendJSON(b []byte) []byte { return e.s.appendJSON(b) }

// TakeEvents appends to dst the events whose delivery time has come, in
// delivery order, with the configured faults applied, as DeliverEvents
// would return them, but not rendered: the caller renders them, on
// whichever goroutine it likes (the harness does on a second core).
func (w *World) TakeEvents(dst []Event) []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := &w.ev
	due := q.take(w.now.UnixNano(), q.scratch[:0])
	for _, e := range due {
		dst = append(dst, Event{e.ev})
	}
	clear(due)
	q.scratch = due[:0]
	return dst
}

// PendingEvents reports how many deliveries are still queued.
func (w *World) PendingEvents() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ev.pending
}

// EventStats returns the event counters so far.
func (w *World) EventStats() EventStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ev.stats
}
