package sim

import (
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// BenchmarkRenderBackupEvent measures one backup event's rendering and
// queueing, the simulator's per-event cost.
func BenchmarkRenderBackupEvent(b *testing.B) {
	w := testWorld(&testing.T{}, Faults{}, gib)
	sj, _ := w.Backup().StartBackup(ctx, backupReq("tok"))
	j := w.findJob(sj.JobID)
	j.state = engine.JobRunning
	j.bytes = gib
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j.step++
		w.emit(j)
		if w.ev.pending > 1000 {
			w.DeliverEventsTo(func([]byte) {})
		}
	}
}

// BenchmarkRenderCompleted renders the COMPLETED events of many finished
// backup and copy jobs, round and round: what the engine benchmark's run
// delivers (its event rule passes terminal events only, so every event is
// a job's first rendering, and it reads jobs scattered across the heap).
func BenchmarkRenderCompleted(b *testing.B) {
	const n = 500
	w := fleetWorld(7, Faults{EventBatch: 5 * time.Minute}, n)
	driveFleet(w, n, 12*time.Hour)
	byKind := map[engine.JobKind][]*job{}
	for _, j := range w.jobs {
		if j.state == engine.JobCompleted {
			byKind[j.kind] = append(byKind[j.kind], j)
		}
	}
	for _, kind := range []engine.JobKind{engine.KindBackup, engine.KindCopy} {
		jobs := byKind[kind]
		if len(jobs) < n {
			b.Fatalf("%d completed %s jobs, want %d", len(jobs), kind, n)
		}
		b.Run(string(kind), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			i := 0
			for b.Loop() {
				j := jobs[i%len(jobs)]
				buf = w.render(buf[:0], j, int64(j.completedAt))
				i++
			}
		})
	}
}
