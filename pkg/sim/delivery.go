package sim

import "time"

// EventStats counts what happened to emitted events.
type EventStats struct {
	Emitted    int // events AWS Backup produced
	Dropped    int // never delivered
	Duplicated int // delivered twice
	Reordered  int // held back so that later events overtake them
	Delivered  int // handed out by DeliverEvents (duplicates count twice)
}

// eventQueue holds rendered events until their delivery time.
type eventQueue struct {
	pending minHeap[pendingEvent]
	seq     uint64
	arena   []byte
	stats   EventStats
}

type pendingEvent struct {
	deliverAt int64 // Unix ns: the batch that delivers it
	arrival   int64 // Unix ns: when it reached the bus; orders a batch
	seq       uint64
	data      []byte
}

func (q *eventQueue) init() {
	q.pending.less = func(a, b *pendingEvent) bool {
		if a.deliverAt != b.deliverAt {
			return a.deliverAt < b.deliverAt
		}
		if a.arrival != b.arrival {
			return a.arrival < b.arrival
		}
		return a.seq < b.seq
	}
}

// arenaSize is the chunk events are rendered into: one allocation serves
// dozens of events instead of one each.
const arenaSize = 64 << 10

// open returns the arena to append one event to, and where it starts.
func (q *eventQueue) open() ([]byte, int) {
	if cap(q.arena)-len(q.arena) < 4096 {
		q.arena = make([]byte, 0, arenaSize)
	}
	return q.arena, len(q.arena)
}

// close finishes an event rendered into b[start:], applies the delivery
// faults and queues it.
func (q *eventQueue) close(w *World, b []byte, start int, id string) {
	b = append(b, '}', '}')
	q.stats.Emitted++
	f := &w.faults
	s := w.stream(newKey("deliver").str(id))
	if s.chance(f.EventDrop) {
		q.stats.Dropped++
		q.arena = b[:start] // reuse the space
		return
	}
	q.arena = b
	data := b[start:len(b):len(b)] // capped: a caller's append cannot clobber the next event
	delay := s.between(0, f.EventMaxDelay)
	if s.chance(f.EventReorder) {
		q.stats.Reordered++
		delay += s.between(time.Millisecond, f.reorderDelay())
	}
	q.push(w, delay, data)
	if s.chance(f.EventDuplicate) {
		q.stats.Duplicated++
		q.push(w, delay+s.between(time.Second, f.EventMaxDelay+max(f.EventBatch, time.Minute)), data)
	}
}

func (q *eventQueue) push(w *World, delay time.Duration, data []byte) {
	arrival := w.now.Add(delay).UnixNano()
	at := arrival
	if batch := int64(w.faults.EventBatch); batch > 0 {
		if r := at % batch; r != 0 {
			at += batch - r
		}
	}
	q.seq++
	q.pending.push(pendingEvent{deliverAt: at, arrival: arrival, seq: q.seq, data: data})
}

// DeliverEvents returns the events whose delivery time has come, as the
// EventBridge JSON a Lambda target receives, in delivery order, with the
// configured faults applied. Each slice is the caller's to keep.
func (w *World) DeliverEvents() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now.UnixNano()
	var out [][]byte
	for w.ev.pending.len() > 0 && w.ev.pending.peek().deliverAt <= now {
		out = append(out, w.ev.pending.pop().data)
	}
	w.ev.stats.Delivered += len(out)
	return out
}

// PendingEvents reports how many deliveries are still queued.
func (w *World) PendingEvents() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ev.pending.len()
}

// EventStats returns the event counters so far.
func (w *World) EventStats() EventStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ev.stats
}
