package simrun

import (
	"github.com/efskeeper/efskeeper/pkg/ahead"
	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

// eventBatch holds a minute's events as the world rendered them, in one
// buffer reused from minute to minute (the world's bytes are valid only
// during its callback), and parses them ahead of the handler (pkg/ahead):
// Parse is a pure function of the bytes.
type eventBatch struct {
	buf    []byte
	ends   []int
	parses ahead.Values[parseResult]
}

type parseResult struct {
	u   engine.JobUpdate
	err error
}

func (b *eventBatch) reset() {
	b.buf, b.ends = b.buf[:0], b.ends[:0]
}

// add copies one event into the batch (the world's DeliverEventsTo callback).
func (b *eventBatch) add(raw []byte) {
	b.buf = append(b.buf, raw...)
	b.ends = append(b.ends, len(b.buf))
}

func (b *eventBatch) len() int { return len(b.ends) }

// event returns the bytes of event i.
func (b *eventBatch) event(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.buf[start:b.ends[i]:b.ends[i]]
}

// parseAhead starts parsing the batch's events.
func (b *eventBatch) parseAhead() {
	b.parses.Start(b.len(), func(i int) parseResult {
		u, err := awsevent.Parse(b.event(i))
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
