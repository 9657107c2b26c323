package simrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

// IndexOptions turn on file indexing: index runs launch simulated EC2
// workers that run the real worker code over local directories standing in
// for the file systems' contents, write the indexes into an in-memory
// bucket, and report through the indexdone path.
type IndexOptions struct {
	// Trees maps file system ids to the directories holding their contents.
	Trees map[string]string
	// Bucket and BucketRegion name the index bucket (defaults:
	// efskeeper-index-sim in eu-west-1).
	Bucket, BucketRegion string
}

// IndexStats counts what indexing did: index runs handled by indexlaunch
// (including those its preflight refused), indexes written, and workers
// that reported a failure.
type IndexStats struct {
	Runs         int `json:"runs"`
	Written      int `json:"written"`
	WorkerFailed int `json:"workerFailed"`
}

func (h *Harness) setUpIndexing(st engine.Store, notifier engine.Notifier) {
	o := h.Opts.Index
	if o.Bucket == "" {
		o.Bucket = "efskeeper-index-sim"
	}
	if o.BucketRegion == "" {
		o.BucketRegion = "eu-west-1"
	}
	// A store that keeps index runs itself (DynamoDB) keeps them here too.
	runs, ok := h.Store.(interface {
		engine.IndexStore
		engine.WorkerConfigStore
	})
	if !ok {
		runs = memory.NewIndexes()
	}
	h.IndexRuns = runs
	h.Objects = worker.NewMemoryBucket()
	h.Instances = h.World.NewInstances(sim.InstancesConfig{Mounter: worker.Trees(o.Trees), Objects: h.Objects, Walk: walk.Options{Workers: 4}})
	h.Indexer = engine.NewIndexer(engine.Indexer{
		Store: st, Runs: runs, Configs: runs, Network: h.World.NetworkAPI(), Instances: h.Instances,
		Objects: h.Objects, Notifier: notifier, Clock: h.World, Log: h.Opts.Log,
		Config: engine.IndexerConfig{Bucket: o.Bucket, BucketRegion: o.BucketRegion},
	})
}

// runIndexing launches the queued index runs, runs the launched workers to
// the end and hands their results to indexdone, as the result objects' S3
// notifications would.
func (h *Harness) runIndexing(ctx context.Context) {
	msgs := h.Queue.Index
	h.Queue.Index = nil
	if h.Indexer == nil {
		return
	}
	for _, m := range msgs {
		if err := h.Indexer.Launch(ctx, m); err != nil {
			h.Opts.Log.Warn("index launch failed; the message will be redelivered", "error", err, "fileSystem", m.FileSystem)
			h.Queue.Index = append(h.Queue.Index, m)
			continue
		}
		h.IndexStats.Runs++
	}
	for _, res := range h.Instances.RunPending(ctx) {
		body, ok := h.Objects.Get(engine.ResultKey(res.RunID))
		if !ok {
			h.Opts.Log.Error("worker wrote no result", "run", res.RunID)
			continue
		}
		parsed, err := engine.ParseWorkerResult(body)
		if err != nil {
			h.Opts.Log.Error("worker result does not parse", "run", res.RunID, "error", err)
			continue
		}
		if err := h.Indexer.Done(ctx, parsed); err != nil {
			h.Opts.Log.Warn("index done failed", "run", res.RunID, "error", err)
			continue
		}
		if parsed.Error == "" {
			h.IndexStats.Written++
		} else {
			h.IndexStats.WorkerFailed++
		}
	}
}

// DemoTrees writes the demo's file system contents under dir: a small
// tree per file system of the Account-mode policy (the one with indexing
// on), with names a shell would struggle with.
func DemoTrees(dir string) (map[string]string, error) {
	trees := map[string]string{}
	for i, fs := range demoIndexed {
		root := filepath.Join(dir, fs)
		files := []string{
			"README.md",
			"projects/alpha/report-2026.pdf",
			"projects/alpha/data/measurements.csv",
			"projects/beta/notes.txt",
			"home/alice/.bashrc",
			"home/alice/photos/holiday 2025/IMG_0001.jpg",
			"home/bob/todo\nlist.txt",     // a newline in a name
			"home/bob/caf\xe9-latin1.txt", // not UTF-8
			"srv/www/index.html",
			fmt.Sprintf("srv/www/build-%02d/app.js", i),
		}
		for j, f := range files {
			p := filepath.Join(root, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, []byte(strings.Repeat("x", 100*(j+1))), 0o644); err != nil {
				return nil, err
			}
		}
		if err := os.Symlink("projects/alpha", filepath.Join(root, "current")); err != nil {
			return nil, err
		}
		trees[fs] = root
	}
	return trees, nil
}

// demoIndexed are the file systems account-prod selects.
var demoIndexed = []string{"fs-0123456789abcdef0", "fs-0a1b2c3d4e5f60001", "fs-0a1b2c3d4e5f60002", "fs-0a1b2c3d4e5f60003", "fs-0a1b2c3d4e5f60004"}
