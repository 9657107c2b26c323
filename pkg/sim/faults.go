package sim

import (
	"fmt"
	"time"
)

// Faults are the probabilities and delays with which the world misbehaves.
// The zero value is a perfect world: every event delivered once, at once, in
// order; no throttling; no job fails on its own.
type Faults struct {
	// EventDrop is the probability that an event is never delivered (AWS
	// Backup delivers to EventBridge "best effort").
	EventDrop float64
	// EventDuplicate is the probability that an event is delivered twice
	// (same bytes, same id), the second time a little later.
	EventDuplicate float64
	// EventReorder is the probability that an event is held back by up to
	// EventReorderDelay more, so that events emitted after it overtake it.
	EventReorder float64
	// EventReorderDelay bounds the extra delay of a reordered event
	// (default 15 minutes when EventReorder > 0 and this is zero).
	EventReorderDelay time.Duration
	// EventMaxDelay is the largest latency before an event reaches the bus;
	// each event's latency is uniform in [0, EventMaxDelay].
	EventMaxDelay time.Duration
	// EventBatch makes delivery happen in batches: an event becomes
	// deliverable at the first multiple of EventBatch (since the Unix epoch)
	// at or after its arrival. AWS Backup emits "every 5 minutes". Zero
	// delivers each event as soon as it arrives.
	EventBatch time.Duration
	// Throttle is the probability that an API call fails with a throttling
	// error (engine.ETHROTTLED) after it was counted, without effect.
	Throttle float64
	// BackupFail and CopyFail are the probabilities that a job that would
	// succeed ends FAILED instead, at a random point while RUNNING, with a
	// realistic statusMessage. BackupAbort: ends ABORTED ("stopped by
	// user"). RestoreFail: a restore job ends FAILED.
	BackupFail, BackupAbort, CopyFail, RestoreFail float64
}

// FaultProfile returns a named set of faults:
//   - "none": a perfect world, but events come in 5-minute batches as AWS
//     sends them;
//   - "default": rare trouble, roughly what a healthy account sees;
//   - "heavy": the chaos soak: 10% of events lost, 10% duplicated, 10%
//     reordered, late events, 5% of calls throttled, 5% of jobs failing.
func FaultProfile(name string) (Faults, error) {
	switch name {
	case "none":
		return Faults{EventBatch: 5 * time.Minute}, nil
	case "default":
		return Faults{
			EventDrop:      0.002,
			EventDuplicate: 0.01,
			EventReorder:   0.02,
			EventMaxDelay:  2 * time.Minute,
			EventBatch:     5 * time.Minute,
			Throttle:       0.005,
			BackupFail:     0.005,
			BackupAbort:    0.001,
			CopyFail:       0.005,
			RestoreFail:    0.005,
		}, nil
	case "heavy":
		return Faults{
			EventDrop:         0.10,
			EventDuplicate:    0.10,
			EventReorder:      0.10,
			EventReorderDelay: 20 * time.Minute,
			EventMaxDelay:     10 * time.Minute,
			EventBatch:        5 * time.Minute,
			Throttle:          0.05,
			BackupFail:        0.05,
			BackupAbort:       0.01,
			CopyFail:          0.05,
			RestoreFail:       0.05,
		}, nil
	}
	return Faults{}, fmt.Errorf("fault profile %q: unknown (want none, default or heavy)", name)
}

func (f Faults) reorderDelay() time.Duration {
	if f.EventReorderDelay > 0 {
		return f.EventReorderDelay
	}
	return 15 * time.Minute
}
