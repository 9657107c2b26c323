// Package worker is the core of the EFS indexing worker, the program that
// indexlaunch starts on a short-lived EC2 instance (worker/ is its main).
// Run mounts the file system read-only, walks it, streams the index to the
// index bucket, reports the result and shuts the instance down, whatever
// happened: every failure becomes a reported result, and a maximum lifetime
// bounds a hung mount or walk.
//
// Mounting, the bucket and the shutdown are behind small interfaces, so
// that the same code runs on an instance (NFS, S3, shutdown -h now), in the
// simulator (a local directory tree, an in-process S3) and in tests.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
)

// Mounter makes the file system's tree available to walk.
type Mounter interface {
	// Mount mounts the job's file system read-only and returns the
	// directory to walk.
	Mount(ctx context.Context, job engine.WorkerJob) (string, error)
	// Unmount undoes Mount.
	Unmount(ctx context.Context, dir string) error
}

// Objects is the index bucket as the worker uses it.
type Objects interface {
	// Open opens an object for ranged reads (the base of a delta index).
	Open(ctx context.Context, key string) (io.ReaderAt, int64, error)
	// Upload streams an object: write writes it; the object exists only if
	// Upload returns nil (a failed write leaves nothing behind).
	Upload(ctx context.Context, key string, write func(io.Writer) error) error
	// Put stores a small object (the result).
	Put(ctx context.Context, key string, body []byte) error
}

// Deps are what Run works with.
type Deps struct {
	Mounter Mounter
	Objects Objects
	// Shutdown powers the instance off (the launch makes that a
	// termination). Run calls it last, whatever happened.
	Shutdown func()
	// Clock defaults to the wall clock.
	Clock engine.Clock
	Log   *slog.Logger
	// InstanceID goes into the result, for the admin's search of logs.
	InstanceID string
	// Walk tunes the walk (workers, read-ahead); OnError is Run's.
	Walk walk.Options
	// Lifetime, when set, replaces the job's maximum lifetime: jobs ask
	// for at least a minute, tests of the bound cannot wait that long.
	Lifetime time.Duration
}

// maxErrors is how many walk errors the result lists (all are counted).
const maxErrors = 20

// Run does one job and returns the result it reported (or tried to). It
// never returns early without calling Shutdown.
func Run(ctx context.Context, job engine.WorkerJob, d Deps) engine.WorkerResult {
	if d.Clock == nil {
		d.Clock = engine.ClockFunc(time.Now)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	log := d.Log.With("indexRun", job.RunID, "fileSystem", job.FileSystem, "account", job.Account, "region", job.Region)
	defer func() {
		if d.Shutdown != nil {
			log.Info("shutting down")
			d.Shutdown()
		}
	}()
	res := engine.WorkerResult{RunID: job.RunID, FileSystem: job.FileSystem, RecoveryPointArn: job.RecoveryPointArn,
		IndexKey: job.IndexKey, InstanceID: d.InstanceID, StartedAt: d.Clock.Now().UTC()}
	if err := job.Validate(); err != nil {
		res.Error = err.Error()
	} else {
		// Keep time for the report: it must go out even when the run
		// used up its lifetime.
		lifetime := job.MaxLifetime()
		if d.Lifetime > 0 {
			lifetime = d.Lifetime
		}
		reserve := min(2*time.Minute, lifetime/10)
		life, cancel := context.WithTimeout(ctx, lifetime-reserve)
		err := run(life, job, d, &res, log)
		cancel()
		if err != nil {
			res.Error = err.Error()
		}
	}
	res.FinishedAt = d.Clock.Now().UTC()
	if res.Error != "" {
		log.Error("index run failed", "error", res.Error)
	} else {
		log.Info("index written", "key", job.IndexKey, "base", res.BaseKey, "entries", res.Entries, "bytes", res.Bytes, "walkErrors", res.WalkErrors)
	}
	report(ctx, job, d, res, log)
	return res
}

// run mounts, builds and unmounts. Each blocking step runs in a goroutine
// that Run stops waiting for when the lifetime is over: a process stuck in
// an NFS call on a hard mount cannot be interrupted, only abandoned (the
// shutdown ends it).
func run(ctx context.Context, job engine.WorkerJob, d Deps, res *engine.WorkerResult, log *slog.Logger) error {
	dir, err := bounded(ctx, func() (string, error) { return d.Mounter.Mount(ctx, job) })
	if err != nil {
		return phaseError(ctx, fmt.Sprintf("mount %s (%s:/)", job.FileSystem, job.MountTargetIP), err)
	}
	log.Info("mounted", "dir", dir, "mountTarget", job.MountTargetIP)
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := bounded(uctx, func() (struct{}, error) { return struct{}{}, d.Mounter.Unmount(uctx, dir) }); err != nil {
			log.Warn("unmount failed; the shutdown ends the mount", "error", err)
		}
	}()
	base, baseLoc := openBase(ctx, job, d, log)
	var errs []string
	stats, err := bounded(ctx, func() (index.Stats, error) {
		var stats index.Stats
		err := d.Objects.Upload(ctx, job.IndexKey, func(w io.Writer) error {
			opts := walk.Options{Workers: d.Walk.Workers, MaxBuffered: d.Walk.MaxBuffered, FS: d.Walk.FS, Stats: d.Walk.Stats}
			opts.OnError = func(p string, err error) {
				if len(errs) < maxErrors {
					errs = append(errs, p+": "+err.Error())
				}
			}
			var err error
			stats, err = walk.Build(ctx, dir, w, walk.BuildOptions{Walk: opts, Base: base, BaseLocation: baseLoc,
				Meta: index.Meta{FileSystemID: job.FileSystem, RestorePointARN: job.RecoveryPointArn,
					BackupCreated: job.BackupCreatedAt, IndexCreated: d.Clock.Now(), Source: "efs://" + job.FileSystem}})
			return err
		})
		return stats, err
	})
	if err != nil {
		return phaseError(ctx, "index "+job.FileSystem+" into s3://"+job.Bucket+"/"+job.IndexKey, err)
	}
	if base != nil {
		res.BaseKey = job.BaseKey
	}
	res.Entries, res.Records, res.Bytes, res.WalkErrors, res.Errors = stats.Entries, stats.Records, stats.Bytes, stats.Errors, errs
	return nil
}

// openBase opens the job's base index, or returns nil to write a full
// index: a base that is gone, damaged, itself a delta or of another file
// system is no base.
func openBase(ctx context.Context, job engine.WorkerJob, d Deps, log *slog.Logger) (*index.Reader, string) {
	if job.BaseKey == "" {
		return nil, ""
	}
	r, size, err := d.Objects.Open(ctx, job.BaseKey)
	var base *index.Reader
	if err == nil {
		base, err = index.Open(r, size, nil)
	}
	if err == nil && base.Info().FileSystemID != job.FileSystem {
		err = fmt.Errorf("it is an index of %s", base.Info().FileSystemID)
	}
	if err != nil {
		log.Warn("base index unusable; writing a full index", "base", job.BaseKey, "error", err)
		return nil, ""
	}
	loc := "s3://" + job.Bucket + "/" + job.BaseKey
	if path.Dir(job.BaseKey) == path.Dir(job.IndexKey) {
		loc = path.Base(job.BaseKey) // relative: the indexes may move together
	}
	return base, loc
}

// phaseError names the step that failed; past the lifetime it says so,
// since the step's own error is only "context deadline exceeded".
func phaseError(ctx context.Context, step string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s: still not done when the worker's maximum lifetime ran out (a hung NFS mount, or a file system too large for the lifetime)", step)
	}
	return fmt.Errorf("%s: %w", step, err)
}

// bounded runs f and returns its result, or ctx's error as soon as ctx is
// done, leaving f to finish (or hang) on its own.
func bounded[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// reportAttempts is how often the result is put before the worker gives
// up (and the run expires at its deadline); reportBackoff times the
// attempt number is the pause between two.
const reportAttempts = 4

var reportBackoff = 2 * time.Second

// report puts the result object that triggers indexdone. It has its own
// time budget: the run's may be spent.
func report(ctx context.Context, job engine.WorkerJob, d Deps, res engine.WorkerResult, log *slog.Logger) {
	if id, ok := engine.RunIDFromResultKey(job.ResultKey); !ok || id != job.RunID || d.Objects == nil {
		log.Error("the job has no usable result key; nothing can be reported", "resultKey", job.ResultKey)
		return
	}
	body, err := json.Marshal(res)
	if err != nil {
		log.Error("encode result", "error", err)
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	for attempt := 1; ; attempt++ {
		_, err = bounded(rctx, func() (struct{}, error) { return struct{}{}, d.Objects.Put(rctx, job.ResultKey, body) })
		if err == nil {
			log.Info("result reported", "key", job.ResultKey)
			return
		}
		if attempt == reportAttempts || rctx.Err() != nil {
			log.Error("result not reported; the run expires at its deadline", "key", job.ResultKey, "error", err)
			return
		}
		select {
		case <-time.After(time.Duration(attempt) * reportBackoff):
		case <-rctx.Done():
		}
	}
}
