package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) engine.Store { return memory.New() })
}

func TestOpsCountsEachMethod(t *testing.T) {
	s := memory.New()
	ctx := context.Background()
	_, _ = s.GetPolicy(ctx, "a")
	_, _ = s.GetPolicy(ctx, "b")
	_, _ = s.DueTasks(ctx, time.Now())
	ops := s.Ops()
	if ops["GetPolicy"] != 2 || ops["DueTasks"] != 1 || len(ops) != 2 {
		t.Fatalf("ops = %v, want GetPolicy 2 and DueTasks 1", ops)
	}
	ops["GetPolicy"] = 100
	if s.Ops()["GetPolicy"] != 2 {
		t.Fatal("Ops returned the store's own map")
	}
}

// BenchmarkDueTasks measures the reconciler's query at the benchmark's
// scale: 16,000 file systems × 7 daily sessions, of which one session's
// tasks are open and a tenth of those due.
func BenchmarkDueTasks(b *testing.B) {
	ctx := context.Background()
	s := memory.New()
	base := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	loc := engine.Loc{Account: "111122223333", Region: "eu-west-1"}
	for day := range 7 {
		at := base.Add(time.Duration(day) * 24 * time.Hour)
		sess := engine.SessionID("p1", at)
		for i := range 16000 {
			t := &engine.Task{SessionID: sess, PolicyID: "p1", Loc: loc, FileSystem: fmt.Sprintf("fs-%08x", i),
				Phase: engine.PhaseDone, NextCheckAt: at.Add(time.Hour)}
			if day == 6 {
				t.Phase = engine.PhaseBackup
				if i%10 != 0 {
					t.NextCheckAt = at.Add(48 * time.Hour)
				}
			}
			if err := s.CreateTask(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	}
	now := base.Add(6*24*time.Hour + 2*time.Hour)
	b.ResetTimer()
	for b.Loop() {
		due, err := s.DueTasks(ctx, now)
		if err != nil || len(due) != 1600 {
			b.Fatalf("due %d, %v", len(due), err)
		}
	}
}
