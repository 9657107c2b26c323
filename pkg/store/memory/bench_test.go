package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// The benchmarks below run on a store shaped like the engine benchmark's
// (bench/engine) after six days: one policy, 16,000 file systems (50
// accounts × 16 Regions × 20), six finished sessions whose tasks are live
// and wait for retention (one RetainAt per session, so 16,000 ties), and
// the seventh day's session with every task in its backup phase, due at
// one of sixty minutes.

const (
	benchSessions = 7
	benchAccounts = 50
	benchFS       = 20
)

var benchRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
	"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2",
}

var benchBase = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

type benchFleet struct {
	s       *memory.Store
	old     []*engine.Task // the finished sessions' tasks, as stored
	current []*engine.Task // the open session's tasks, as stored
}

func newBenchFleet(b *testing.B) *benchFleet {
	b.Helper()
	ctx := context.Background()
	f := &benchFleet{s: memory.New()}
	for day := range benchSessions {
		at := benchBase.Add(time.Duration(day) * 24 * time.Hour)
		sess := engine.SessionID("pol-0123456789", at)
		i := 0
		for a := range benchAccounts {
			for _, r := range benchRegions {
				for fs := range benchFS {
					t := benchTask(sess, at, engine.Loc{Account: fmt.Sprintf("%012d", 100000000000+a), Region: r}, fmt.Sprintf("fs-%017x", fs*7919+a), i)
					if day == benchSessions-1 {
						t.Phase = engine.PhaseBackup
						t.Backup.State = engine.JobRunning
						t.Copies[0].Job = engine.Job{}
						t.Copies[0].RecoveryPointArn = ""
						t.RetainAt = time.Time{}
						t.NextCheckAt = at.Add(time.Hour + time.Duration(i%60)*time.Minute)
					}
					if err := f.s.CreateTask(ctx, t); err != nil {
						b.Fatal(err)
					}
					if day == benchSessions-1 {
						f.current = append(f.current, t)
					} else {
						f.old = append(f.old, t)
					}
					i++
				}
			}
		}
	}
	return f
}

// benchTask returns a finished task with a backup and a copy, both live.
func benchTask(sess string, at time.Time, l engine.Loc, fs string, i int) *engine.Task {
	job := fmt.Sprintf("job-%s-%d", at.Format("0102"), i)
	return &engine.Task{
		SessionID: sess, PolicyID: "pol-0123456789", Loc: l, FileSystem: fs,
		ResourceArn: "arn:aws:elasticfilesystem:" + l.Region + ":" + l.Account + ":file-system/" + fs,
		Schedules:   []string{"daily"}, ScheduledAt: at, VaultName: "vault", VaultArn: "arn:aws:backup:vault",
		Phase:            engine.PhaseDone,
		Backup:           engine.Job{ID: job, State: engine.JobCompleted, Attempt: 1, StartedAt: at, CompletedAt: at.Add(time.Hour)},
		RecoveryPointArn: "arn:aws:backup:" + l.Region + ":" + l.Account + ":recovery-point:" + job,
		PointCreatedAt:   at,
		Copies: []engine.Copy{{TargetRegion: "eu-central-1", VaultName: "dr", Job: engine.Job{ID: "copy-" + job, State: engine.JobCompleted, Attempt: 1},
			RecoveryPointArn: "arn:aws:backup:eu-central-1:" + l.Account + ":recovery-point:copy-" + job}},
		MaxAttempts: 3, RetryInterval: 60,
		Lifecycle: &engine.Lifecycle{DeleteAfterDays: 7},
		RetainAt:  at.Add(7 * 24 * time.Hour),
		CreatedAt: at, UpdatedAt: at,
	}
}

// benchPuts writes the tasks of a bench fleet that pick chooses, round
// and round, each changed by flip first: forth on even rounds, back on
// odd ones.
func benchPuts(b *testing.B, pick func(f *benchFleet) []*engine.Task, flip func(t *engine.Task, forth bool)) {
	f := newBenchFleet(b)
	tasks := pick(f)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		t := tasks[n%len(tasks)]
		flip(t, n/len(tasks)%2 == 0)
		if err := f.s.PutTask(ctx, t); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func currentTasks(f *benchFleet) []*engine.Task { return f.current }
func oldTasks(f *benchFleet) []*engine.Task     { return f.old }

// sign is 1 going forth, -1 going back.
func sign(forth bool) time.Duration {
	if forth {
		return 1
	}
	return -1
}

// BenchmarkPutTaskDue moves open tasks' NextCheckAt back and forth, as
// the job events of the open session do: a remove and an insert in the
// due list of 16,000 tasks with 60 distinct times.
func BenchmarkPutTaskDue(b *testing.B) {
	benchPuts(b, currentTasks, func(t *engine.Task, forth bool) {
		t.NextCheckAt = t.NextCheckAt.Add(sign(forth) * time.Minute)
	})
}

// BenchmarkPutTaskRetain moves finished tasks' RetainAt back and forth,
// as retention passes do: a remove and an insert in the retention list of
// 96,000 tasks, 16,000 of them at each time.
func BenchmarkPutTaskRetain(b *testing.B) {
	benchPuts(b, oldTasks, func(t *engine.Task, forth bool) {
		t.RetainAt = t.RetainAt.Add(sign(forth) * 24 * time.Hour)
	})
}

// BenchmarkPutTaskLive deletes and restores a finished task's points: it
// leaves and rejoins its file system's live list and the retention list.
func BenchmarkPutTaskLive(b *testing.B) {
	benchPuts(b, oldTasks, func(t *engine.Task, _ bool) {
		if t.Deletion.State == engine.DeletionNone {
			t.Deletion.State, t.Copies[0].Deletion.State = engine.DeletionDeleted, engine.DeletionDeleted
		} else {
			t.Deletion.State, t.Copies[0].Deletion.State = engine.DeletionNone, engine.DeletionNone
		}
	})
}

// BenchmarkCreateTask creates the tasks of further sessions.
func BenchmarkCreateTask(b *testing.B) {
	f := newBenchFleet(b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		t := *f.current[n%len(f.current)]
		at := benchBase.Add(time.Duration(benchSessions+n/len(f.current)) * 24 * time.Hour)
		t.SessionID, t.ScheduledAt, t.Version = engine.SessionID(t.PolicyID, at), at, 0
		if err := f.s.CreateTask(ctx, &t); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkListTasksFileSystem lists a file system's live tasks, as
// retention does for every file system.
func BenchmarkListTasksFileSystem(b *testing.B) {
	f := newBenchFleet(b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		t := f.old[n%len(f.old)]
		got, _, err := f.s.ListTasks(ctx, engine.TaskQuery{PolicyID: t.PolicyID, Loc: t.Loc, FileSystem: t.FileSystem, LiveOnly: true})
		if err != nil || len(got) != benchSessions-1 {
			b.Fatalf("%d tasks, %v", len(got), err)
		}
		n++
	}
}

// BenchmarkListTasksRetention pages through retention's work list.
func BenchmarkListTasksRetention(b *testing.B) {
	f := newBenchFleet(b)
	ctx := context.Background()
	q := engine.TaskQuery{PolicyID: "pol-0123456789", RetainBy: benchBase.Add(30 * 24 * time.Hour), Limit: 100}
	for b.Loop() {
		got, next, err := f.s.ListTasks(ctx, q)
		if err != nil || len(got) != 100 {
			b.Fatalf("%d tasks, %v", len(got), err)
		}
		q.Cursor = next
	}
}

// BenchmarkTaskByBackupJob looks tasks up by their backup job.
func BenchmarkTaskByBackupJob(b *testing.B) {
	f := newBenchFleet(b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		t := f.old[n%len(f.old)]
		if _, err := f.s.TaskByBackupJob(ctx, t.Backup.ID); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
