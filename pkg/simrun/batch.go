package simrun

import (
	"sync"

	"github.com/efskeeper/efskeeper/pkg/ahead"
	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/sim"
)

// eventBatch holds a minute's events and parses them ahead of the handler
// (pkg/ahead): Parse is a pure function of the bytes.
//
// With the engine's own handler (the direct driver) the batch holds the
// events unrendered (sim.TakeEvents), and renders them too on the second
// goroutine, as it parses them: a render reads only what the event was
// when emitted. A driver that is handed the raw bytes gets them rendered
// first, in one buffer reused from minute to minute.
type eventBatch struct {
	taken  []sim.Event // unrendered, or
	buf    []byte      // rendered, ends[i] the end of event i
	ends   []int
	parses ahead.Values[parseResult]
}

type parseResult struct {
	u   engine.JobUpdate
	err error
}

// scratch holds the buffers a taken event is rendered into to be parsed
// (Parse shares no memory with its input): one per goroutine at a time.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

func (b *eventBatch) reset() {
	clear(b.taken) // the events are the collector's once handled
	b.taken, b.buf, b.ends = b.taken[:0], b.buf[:0], b.ends[:0]
}

// add copies one event into the batch (the world's DeliverEventsTo callback).
func (b *eventBatch) add(raw []byte) {
	b.buf = append(b.buf, raw...)
	b.ends = append(b.ends, len(b.buf))
}

func (b *eventBatch) len() int { return len(b.taken) + len(b.ends) }

// event returns the bytes of rendered event i.
func (b *eventBatch) event(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.buf[start:b.ends[i]:b.ends[i]]
}

// parseAhead starts parsing the batch's events (and rendering the taken
// ones).
func (b *eventBatch) parseAhead() {
	b.parses.Start(b.len(), func(i int) parseResult {
		if len(b.taken) == 0 {
			u, err := awsevent.Parse(b.event(i))
			return parseResult{u, err}
		}
		p := scratch.Get().(*[]byte)
		*p = b.taken[i].AppendJSON((*p)[:0])
		u, err := awsevent.Parse(*p)
		scratch.Put(p)
		return parseResult{u, err}
	})
}

// parsed returns Parse(event(i)); the handler calls it for i = 0, 1, … in
// order.
func (b *eventBatch) parsed(i int) (engine.JobUpdate, error) {
	r := b.parses.Get(i)
	return r.u, r.err
}

// done waits for the parser, which may still be on the last event it
// claimed, before the buffers are reused.
func (b *eventBatch) done() { b.parses.Wait() }
