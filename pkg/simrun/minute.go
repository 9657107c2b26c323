package simrun

import "context"

// Minute does one minute of the system's work at the world's current time,
// without moving the clock: the tick (when tick is set), the region-run
// messages and events that are due, the reconciler at minutes 7, 22, 37
// and 52, and retention at minute 33, as the deployed schedules run them.
// Run calls it once per simulated minute; `efskeeper serve --local` calls
// it from its own real-time loop. It is not safe for concurrent use.
func (h *Harness) Minute(ctx context.Context, tick bool) {
	now := h.World.Now()
	if tick {
		h.Stats.Ticks++
		if err := h.Driver.Tick(ctx); err != nil {
			h.Opts.Log.Warn("tick failed", "error", err)
		}
	}
	h.drainQueue(ctx)
	h.deliverEvents(ctx)
	h.runIndexing(ctx)
	if now.Minute()%15 == 7 {
		h.Stats.Reconciles++
		if err := h.Driver.Reconcile(ctx); err != nil {
			h.Opts.Log.Warn("reconcile failed", "error", err)
		}
		h.drainQueue(ctx)
		if _, err := h.Restorer.Reconcile(ctx); err != nil {
			h.Opts.Log.Warn("restore reconcile failed", "error", err)
		}
		if h.Indexer != nil {
			if _, err := h.Indexer.Expire(ctx); err != nil {
				h.Opts.Log.Warn("index expiry failed", "error", err)
			}
		}
	}
	if now.Minute() == 33 {
		h.Stats.Retentions++
		if err := h.Driver.Retention(ctx); err != nil {
			h.Opts.Log.Warn("retention failed", "error", err)
		}
	}
}
