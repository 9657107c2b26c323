package memory_test

import (
	"context"
	"fmt"
	"slices"
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

// TestPutTaskRewritesOnlyItsOwn checks what PutTask's writing a new version
// over the stored one must keep: copies read before, and the caller's
// task, do not change; versions of other shapes (two copies, none) are
// stored whole.
func TestPutTaskRewritesOnlyItsOwn(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	task := &engine.Task{SessionID: engine.SessionID("p1", at), PolicyID: "p1", Loc: engine.Loc{Account: "111122223333", Region: "eu-west-1"},
		FileSystem: "fs-1", Schedules: []string{"daily"}, Phase: engine.PhaseBackup, Lifecycle: &engine.Lifecycle{DeleteAfterDays: 7},
		Copies: []engine.Copy{{TargetRegion: "eu-central-1", Job: engine.Job{ID: "c1"}}}}
	if err := s.CreateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	copies := [][]engine.Copy{
		{{TargetRegion: "eu-central-1", Job: engine.Job{ID: "c2"}}},
		{{TargetRegion: "eu-central-1", Job: engine.Job{ID: "c3"}}, {TargetRegion: "us-east-1", Job: engine.Job{ID: "c4"}}},
		nil,
		{{TargetRegion: "eu-central-1", Job: engine.Job{ID: "c5"}}},
		{{TargetRegion: "eu-central-1", Job: engine.Job{ID: "c6"}}},
	}
	for i, cp := range copies {
		before, err := s.GetTask(ctx, task.ID())
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(*before, before.Copies, *before.Lifecycle)
		task.Copies = slices.Clone(cp)
		task.Lifecycle.DeleteAfterDays = int64(10 + i)
		task.Backup.ID = fmt.Sprintf("job-%d", i)
		if err := s.PutTask(ctx, task); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(*before, before.Copies, *before.Lifecycle); got != want {
			t.Fatalf("version %d: a copy read before changed:\n got %s\nwant %s", i, got, want)
		}
		task.Lifecycle.DeleteAfterDays = 99 // the caller's, not the store's
		if len(task.Copies) > 0 {
			task.Copies[0].Job.ID = "changed"
		}
		after, err := s.TaskByBackupJob(ctx, fmt.Sprintf("job-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if after.Lifecycle.DeleteAfterDays != int64(10+i) || len(after.Copies) != len(cp) || len(cp) > 0 && after.Copies[0].Job.ID != cp[0].Job.ID ||
			after.Version != before.Version+1 {
			t.Fatalf("version %d: stored %+v, copies %+v, lifecycle %+v", i, after, after.Copies, after.Lifecycle)
		}
	}
}
