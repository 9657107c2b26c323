package engine

import (
	"errors"
	"sync"
)

// behind runs functions one after another, in the order they were given,
// on a goroutine of its own: a loop whose calls must keep their order (a
// reproducible run's calls into AWS) hands it the store writes that record
// what those calls did, and goes on with its next calls while another core
// writes.
//
// Functions go over in batches, so that handing one over rarely has to
// wake the goroutine. Whether a function failed is learnt at a batch
// boundary, for the batch before: after handing over batch k the loop
// waits for batch k-1 (long done, as a rule) and sees its errors. Where a
// loop stops after a failed write therefore depends only on which write
// failed, never on how fast the two goroutines ran: a reproducible run
// stays reproducible.
//
// The goroutine may also do other work for the loop (side, as retention
// plans the groups ahead of the one it deletes in), so that the
// loop has one goroutine beside it, not two competing for the second
// core: with two, the loop waited on the scheduler about a third of a
// retention pass.
type behind struct {
	ch     chan []func() error
	wake   chan struct{} // side may have work again
	acks   chan bool     // per batch, in order: whether a function of it failed
	batch  []func() error
	sent   int // batches handed over
	acked  int // acks received
	failed bool
	errs   []error // the goroutine's, read after finish's wait
	wg     sync.WaitGroup
}

// behindBatch is how many functions go over at once: in the engine
// benchmark's retention passes 128 took 15% less time than 32 (fewer
// wake-ups of the writing goroutine), 512 no less than 128. A failed write
// stops a pass at most two batches later.
const behindBatch = 128

// side is the other work a behind goroutine may do for the loop
// (ahead.Values started with StartOn): Help does one piece and reports
// whether there was one; Short says the loop is about to need more, which
// goes before the next write.
type side interface {
	Help() bool
	Short() bool
}

// startBehind starts the goroutine. With side not nil it writes one
// function at a time, helps first whenever side is Short, and between
// batches helps until side has nothing to do (a call to wakeSide says
// when it has again).
func startBehind(side side) *behind {
	b := &behind{ch: make(chan []func() error, 2), acks: make(chan bool, 4), wake: make(chan struct{}, 1)}
	b.wg.Go(func() {
		var batch []func() error
		failed := false
		for {
			if len(batch) == 0 {
				var ok bool
				if batch, ok = b.next(side); !ok {
					return
				}
				failed = false
				if len(batch) == 0 { // (do and finish send none)
					b.acks <- false
					continue
				}
			}
			if side != nil && side.Short() && side.Help() {
				continue
			}
			if err := batch[0](); err != nil {
				b.errs = append(b.errs, err)
				failed = true
			}
			if batch = batch[1:]; len(batch) == 0 {
				b.acks <- failed
			}
		}
	})
	return b
}

// next returns the next batch, helping side while there is none; false
// once finish closed the channel and every batch ran.
func (b *behind) next(side side) ([]func() error, bool) {
	for side != nil {
		select {
		case batch, ok := <-b.ch:
			return batch, ok
		default:
		}
		if side.Help() {
			continue
		}
		select {
		case batch, ok := <-b.ch:
			return batch, ok
		case <-b.wake:
		}
	}
	batch, ok := <-b.ch
	return batch, ok
}

// wakeSide tells the goroutine that side has work again.
func (b *behind) wakeSide() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// do queues fn, which must not share anything the caller changes after
// handing it over. At the end of a batch it learns whether the batch
// before failed (see Failed).
func (b *behind) do(fn func() error) {
	b.batch = append(b.batch, fn)
	if len(b.batch) < behindBatch {
		return
	}
	b.ch <- b.batch
	b.sent++
	b.batch = make([]func() error, 0, behindBatch)
	for b.acked < b.sent-1 {
		b.ack()
	}
}

func (b *behind) ack() {
	if <-b.acks {
		b.failed = true
	}
	b.acked++
}

// Failed reports whether a function of a batch acknowledged so far failed:
// the caller should stop.
func (b *behind) Failed() bool { return b.failed }

// finish runs what is queued, waits for it and returns every error the
// functions returned. b is done with.
func (b *behind) finish() error {
	if len(b.batch) > 0 {
		b.ch <- b.batch
		b.sent++
		b.batch = nil
	}
	close(b.ch)
	for b.acked < b.sent {
		b.ack()
	}
	b.wg.Wait()
	return errors.Join(b.errs...)
}
