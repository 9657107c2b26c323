package simrun

import (
	"bytes"
	"context"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index"
)

// The demo indexes the Account-mode file systems: workers run over the
// local trees, their indexes land in the bucket and list what the trees
// hold; the Region whose VPC has no internet route is refused with a
// warning until the script fixes it.
func TestDemoIndexesTrees(t *testing.T) {
	trees, err := DemoTrees(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := demoOptions(t, 3, 17, "none")
	o.Index = &IndexOptions{Trees: trees}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := h.IndexStats
	if st.Written == 0 || st.Runs <= st.Written {
		t.Fatalf("index stats %+v: want indexes written and some refused before day 15", st)
	}
	const fs = "fs-0a1b2c3d4e5f60001"
	runs, _, err := h.IndexRuns.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: engine.Loc{Account: DemoMgmt, Region: "eu-west-1"}, FileSystem: fs, DoneOnly: true})
	if err != nil || len(runs) == 0 {
		t.Fatalf("done runs of %s: %v (%v)", fs, runs, err)
	}
	body, ok := h.Objects.Get(runs[0].IndexKey)
	if !ok {
		t.Fatalf("no index object at %s", runs[0].IndexKey)
	}
	r, err := index.Open(bytes.NewReader(body), int64(len(body)), &index.OpenOptions{OpenBase: func(key string) (io.ReaderAt, int64, error) {
		// A delta names its base relative to itself.
		b, ok := h.Objects.Get(path.Join(path.Dir(runs[0].IndexKey), key))
		if !ok {
			return nil, 0, os.ErrNotExist
		}
		return bytes.NewReader(b), int64(len(b)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for e, err := range r.List("home/bob") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Path)
	}
	sort.Strings(got)
	want := []string{"home/bob/caf\xe9-latin1.txt", "home/bob/todo\nlist.txt"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("home/bob lists %q, want %q", got, want)
	}
	checkPrunedIndexes(t, h)
	warned := false
	for _, n := range h.Notices {
		for _, r := range n.Session.Reasons {
			if r.Code == engine.ReasonIndexFailed && r.Region == "us-east-1" {
				warned = true
			}
		}
	}
	if !warned {
		t.Errorf("no session warned about the refused index runs in us-east-1")
	}
}

// checkPrunedIndexes checks what Prune left after the run: retention has
// deleted the first days' restore points (daily retention 14 days), so
// some indexes are deleted; a deleted index's points are all gone and its
// object is too; every done index, and the base of every delta that is not
// deleted, is still in the bucket.
func checkPrunedIndexes(t *testing.T, h *Harness) {
	t.Helper()
	ctx := context.Background()
	fileSystems := map[string]engine.Loc{}
	for _, k := range h.Objects.Keys() {
		parts := strings.Split(strings.TrimPrefix(k, engine.IndexesPrefix), "/")
		if strings.HasPrefix(k, engine.IndexesPrefix) && len(parts) == 4 {
			fileSystems[parts[2]] = engine.Loc{Account: parts[0], Region: parts[1]}
		}
	}
	// What the simulated AWS knows, not what the engine recorded: the
	// points of each backup (its own and its copies') and whether each is
	// deleted.
	alive := map[string]int{} // source point ARN -> points of it not deleted
	for _, p := range h.World.RecoveryPoints() {
		src := p.Arn
		if p.CopyOf != "" {
			src = p.CopyOf
		}
		if p.DeletedAt.IsZero() {
			alive[src]++
		} else if _, ok := alive[src]; !ok {
			alive[src] = 0
		}
	}
	deleted, done := 0, 0
	for fs, l := range fileSystems {
		runs, _, err := h.IndexRuns.FileSystemIndexRuns(ctx, engine.IndexRunQuery{Loc: l, FileSystem: fs, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			_, has := h.Objects.Get(r.IndexKey)
			switch r.State {
			case engine.IndexDone:
				done++
				if !has {
					t.Errorf("done run %s: no object %s", r.ID, r.IndexKey)
				}
			case engine.IndexDeleted:
				deleted++
				n, known := alive[r.RecoveryPointArn]
				if has || !known || n > 0 {
					t.Errorf("deleted run %s: object kept %v; %d points of %s still exist (known to AWS: %v)", r.ID, has, n, r.RecoveryPointArn, known)
				}
			}
			if r.BaseKey != "" && (r.State == engine.IndexDone || r.State == engine.IndexRunning) {
				if _, ok := h.Objects.Get(r.BaseKey); !ok {
					t.Errorf("run %s (%s) reads base %s, which was deleted", r.ID, r.State, r.BaseKey)
				}
			}
		}
	}
	if deleted == 0 || done == 0 {
		t.Errorf("%d indexes deleted, %d done: want the first days' indexes deleted after their restore points", deleted, done)
	}
}

// Under heavy faults (lost, repeated and late events, throttling, crashes
// between store writes) Prune still deletes only indexes whose points are
// all gone, and never a base a live delta reads.
func TestPruneUnderHeavyFaults(t *testing.T) {
	trees, err := DemoTrees(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := demoOptions(t, 11, 30, "heavy")
	o.Index = &IndexOptions{Trees: trees}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkPrunedIndexes(t, h)
}
