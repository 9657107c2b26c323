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
// An event is rendered into JSON when its job changes state, while the
// job and what it points to are still in the processor's caches: rendered
// at delivery, minutes later, most of its cost was fetching them from
// memory again (a job, its points, vaults, region and strings, scattered
// over a heap of hundreds of megabytes). The JSON waits in chunks of
// bytes, which the garbage collector need not scan, and a queued event is
// 32 pointer-free bytes; a dropped or filtered event is never rendered.
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
	buf     []byte           // DeliverEventsTo copies each event here
	chunks  []eventChunk     // the rendered events, by pendingEvent.chunk
	free    []uint32         // chunks that hold no pending event
	cur     uint32           // the chunk events are rendered into
	stats   EventStats
	pending int
}

// eventChunk holds rendered events.
type eventChunk struct {
	b    []byte
	refs int // deliveries of its events still to come
}

// chunkSize is the usual size of an eventChunk: about 70 events. Up to
// maxFreeChunks empty chunks keep their memory (32 MiB, pointer-free):
// enough for the burst of a 16,000-file-system fleet's completions, which
// with 64 kept were allocated again every day (22 MB a simulated day).
const chunkSize = 64 << 10

var maxFreeChunks = 512 // a variable for the test of a burst larger than it

type pendingEvent struct {
	arrival int64 // Unix ns: when it reached the bus; orders a batch
	seq     uint64
	chunk   uint32 // the eventChunk holding its JSON
	off, n  uint32 // where in the chunk
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
	e := q.render(w, j)
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
	q.chunks[e.chunk].refs++
}

// render renders the event of j's transition to its current state into
// the current chunk, or a new one when it is full.
func (q *eventQueue) render(w *World, j *job) pendingEvent {
	if len(q.chunks) == 0 || len(q.chunks[q.cur].b) > chunkSize-4<<10 {
		q.newChunk()
	}
	c := &q.chunks[q.cur]
	off := len(c.b)
	c.b = w.render(c.b, j, w.now.UnixNano()) // may grow past chunkSize: offsets stay valid
	return pendingEvent{chunk: q.cur, off: uint32(off), n: uint32(len(c.b) - off)}
}

// newChunk makes a free or new chunk the current one. The current one, if
// no event in it is pending, is free at once.
func (q *eventQueue) newChunk() {
	if len(q.chunks) > 0 && q.chunks[q.cur].refs == 0 {
		q.chunks[q.cur].b = q.chunks[q.cur].b[:0]
		return
	}
	if n := len(q.free); n > 0 {
		q.cur = q.free[n-1]
		q.free = q.free[:n-1]
		if c := &q.chunks[q.cur]; c.b == nil {
			c.b = make([]byte, 0, chunkSize)
		}
		return
	}
	q.chunks = append(q.chunks, eventChunk{b: make([]byte, 0, chunkSize)})
	q.cur = uint32(len(q.chunks) - 1)
}

// bytes returns e's JSON; done releases it once it is copied away.
func (q *eventQueue) bytes(e pendingEvent) []byte {
	return q.chunks[e.chunk].b[e.off : e.off+e.n]
}

func (q *eventQueue) done(e pendingEvent) {
	c := &q.chunks[e.chunk]
	c.refs--
	if c.refs == 0 && e.chunk != q.cur {
		c.b = c.b[:0]
		if len(q.free) >= maxFreeChunks {
			c.b = nil // the collector's, after a burst of events
		}
		q.free = append(q.free, e.chunk)
	}
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
			q.spare = append(q.spare, b[:0])
		}
	}
	q.stats.Delivered += len(dst)
	return dst
}

// render appends the EventBridge JSON of the event of j's transition to
// its current state at the instant at (Unix ns).
func (w *World) render(b []byte, j *job, at int64) []byte {
	s := w.stream(j.key.num(uint64(j.step)))
	switch j.kind {
	case engine.KindBackup:
		b = renderBackup(b, j, j.state, at, &s)
	case engine.KindCopy:
		b = renderCopy(b, j, j.state, at, &s)
	default:
		b = renderRestore(b, j, j.state, at, &s)
	}
	return append(b, '}', '}')
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
	n := 0
	for _, e := range due {
		n += int(e.n)
	}
	buf := make([]byte, 0, n)
	for i, e := range due {
		start := len(buf)
		buf = append(buf, q.bytes(e)...)
		q.done(e)
		out[i] = buf[start:len(buf):len(buf)]
	}
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
		w.mu.Lock()
		buf = append(buf[:0], q.bytes(e)...) // fn may render more events into the chunk
		q.done(e)
		w.mu.Unlock()
		fn(buf)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	q.scratch, q.buf = due[:0], buf
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
