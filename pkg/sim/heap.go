package sim

// minHeap is a binary min-heap of values ordered by less. container/heap
// would box every pushed value into an interface (one allocation per timer
// and per event); this typed heap allocates only when its slice grows.
type minHeap[T any] struct {
	items []T
	less  func(a, b *T) bool
}

func (h *minHeap[T]) len() int { return len(h.items) }

// peek returns the smallest item; the heap must not be empty.
func (h *minHeap[T]) peek() *T { return &h.items[0] }

func (h *minHeap[T]) push(v T) {
	h.items = append(h.items, v)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(&h.items[i], &h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *minHeap[T]) pop() T {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	var zero T
	h.items[last] = zero // drop references for the garbage collector
	h.items = h.items[:last]
	i, n := 0, last
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(&h.items[r], &h.items[l]) {
			m = r
		}
		if !h.less(&h.items[m], &h.items[i]) {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}

// timerHeap is the World's timer queue: a 4-ary min-heap ordered by (at,
// seq). It is minHeap specialized, because the timers are the hottest heap:
// every job step pops one, and minHeap's comparison through a func value
// is an indirect call the compiler cannot inline. Four children per node
// halve the depth, so a pop sifts down through half as many levels (each
// a likely cache miss in a heap of tens of thousands of timers) for a few
// more comparisons within one or two cache lines. (at, seq) is unique, so
// the pop order does not depend on the heap's shape.
type timerHeap struct{ items []timer }

func (a *timer) before(b *timer) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (h *timerHeap) len() int { return len(h.items) }

// peek returns the earliest timer; the heap must not be empty.
func (h *timerHeap) peek() *timer { return &h.items[0] }

func (h *timerHeap) push(t timer) {
	h.items = append(h.items, t)
	items := h.items
	i := len(items) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !t.before(&items[p]) {
			break
		}
		items[i] = items[p]
		i = p
	}
	items[i] = t
}

func (h *timerHeap) pop() timer {
	items := h.items
	top := items[0]
	last := len(items) - 1
	t := items[last]
	items = items[:last]
	h.items = items
	n := last
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for k := c + 1; k < end; k++ {
			if items[k].before(&items[m]) {
				m = k
			}
		}
		if !items[m].before(&t) {
			break
		}
		items[i] = items[m]
		i = m
	}
	if n > 0 {
		items[i] = t
	}
	return top
}
