package sim

import (
	"testing"

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
