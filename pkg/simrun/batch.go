package simrun

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/efskeeper/efskeeper/pkg/awsevent"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

// eventBatch holds a minute's events as the world rendered them, in one
// buffer reused from minute to minute (the world's bytes are valid only
// during its callback), and what Parse made of each.
//
// parseAhead lets a second goroutine parse the events while the handler
// works through them in order. Whoever claims an event (claims are handed
// out in order) parses it; the handler, when the event it needs is not
// parsed yet, claims and parses the next ones itself, and if the other
// goroutine holds the very event it needs and is slow to finish (its
// thread may be descheduled on a busy machine), parses that one too: a
// second parse of the same bytes gives the same result. Nothing waits but
// done, at the end of the minute, for the parser's last event.
type eventBatch struct {
	buf    []byte
	ends   []int
	res    []parseResult
	state  []atomic.Uint32 // per event: 0 unclaimed or being parsed, 1 parsed
	claim  claims
	parser sync.WaitGroup
}

type parseResult struct {
	u   engine.JobUpdate
	err error
}

// claims hands out the events of a batch to parse, in order.
type claims struct {
	next atomic.Int64
	n    int64
}

// take claims the next event; false when every one is claimed.
func (c *claims) take() (int, bool) {
	i := c.next.Add(1) - 1
	return int(i), i < c.n
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

// parseAhead prepares the batch for parsed and, when there are several
// events and more than one processor, starts a goroutine that parses them.
func (b *eventBatch) parseAhead() {
	n := b.len()
	if cap(b.res) < n {
		b.res = make([]parseResult, n)
		b.state = make([]atomic.Uint32, n)
	}
	b.res = b.res[:n]
	b.state = b.state[:n]
	for i := range b.state {
		b.state[i].Store(0)
	}
	b.claim.next.Store(0)
	b.claim.n = int64(n)
	if n >= 2 && runtime.GOMAXPROCS(0) > 1 {
		b.parser.Go(func() {
			for i, ok := b.claim.take(); ok; i, ok = b.claim.take() {
				b.parse(i)
			}
		})
	}
}

// done waits for the parser goroutine, which may still be on the last
// event it claimed, before the buffers are reused.
func (b *eventBatch) done() { b.parser.Wait() }

// parse parses event i (claimed by the caller) and marks it parsed.
func (b *eventBatch) parse(i int) {
	u, err := awsevent.Parse(b.event(i))
	b.res[i] = parseResult{u, err}
	b.state[i].Store(1)
}

// parsed returns Parse(event(i)), parsing events up to it if nobody has.
// The handler calls it for i = 0, 1, ... in order.
func (b *eventBatch) parsed(i int) (engine.JobUpdate, error) {
	for spins := 0; b.state[i].Load() == 0; spins++ {
		if j, ok := b.claim.take(); ok {
			b.parse(j)
			continue
		}
		// The other goroutine is parsing event i, which takes a few
		// microseconds; a spin of about as long, then parse it here.
		if spins > 1000 {
			return awsevent.Parse(b.event(i))
		}
	}
	r := b.res[i]
	return r.u, r.err
}
