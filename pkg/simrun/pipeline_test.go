package simrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
	"github.com/efskeeper/efskeeper/pkg/store/memory"
)

// A fleet whose retention passes are pipelines over two cores (hundreds of
// file systems a pass, more than two batches of writes) with crashes
// between store writes gives the same report with one processor and with
// two, run after run: where a pass stops after a failed write does not
// depend on how fast the deleting goroutine and its helper ran.
func TestRetentionPipelineReproducible(t *testing.T) {
	report := func(procs int) ([]byte, Stats) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p, probs := policy.Parse([]byte(fmt.Sprintf(`{
  "id": "fleet", "name": "Fleet", "timezone": "UTC",
  "source": {"mode": "organization", "organizationalUnits": [%q], "regions": ["us-east-1", "eu-west-1"], "tags": [{"key": "backup", "value": "yes"}]},
  "backup": {"vaults": [{"region": "*", "vaultTag": {"key": "role", "value": "primary"}}]},
  "schedules": [{"name": "daily", "kind": "daily", "at": ["01:00"], "retention": {"days": 1}}],
  "notifications": {"onSuccess": false, "onWarning": false, "onFailure": false}
}`, sim.RootID)))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		h, rep, err := Simulate(context.Background(), Options{
			Seed: 5, Days: 5, Faults: "none", CrashRate: 0.004, Policies: []*policy.Policy{p}, Store: memory.New(),
			Config: engine.Config{MaxDeletesPerRun: 5000},
			Build: func(w *sim.World) {
				for a := range 2 {
					acct := fmt.Sprintf("%012d", 100000000000+a)
					w.AddAccount(acct, sim.RootID)
					for _, r := range []string{"us-east-1", "eu-west-1"} {
						w.AddVault(engine.Loc{Account: acct, Region: r}, sim.VaultSpec{Name: "primary", Tags: map[string]string{"role": "primary"}})
						for f := range 100 {
							w.AddFileSystem(engine.Loc{Account: acct, Region: r}, sim.FileSystemSpec{
								ID: fmt.Sprintf("fs-%s%04d", r[:2], f), Tags: map[string]string{"backup": "yes"}, SizeBytes: 1 << 30,
							})
						}
					}
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if f := rep.Failed(); len(f) > 0 {
			t.Fatalf("invariants failed: %+v", f)
		}
		b, _ := json.Marshal(rep)
		return b, h.Stats
	}
	two, stats := report(2)
	if stats.Crashes == 0 || stats.Retentions == 0 {
		t.Fatalf("the run had %d crashes and %d retention passes: it tests nothing", stats.Crashes, stats.Retentions)
	}
	if again, _ := report(2); !bytes.Equal(two, again) {
		t.Fatal("two runs on two processors gave different reports")
	}
	if one, _ := report(1); !bytes.Equal(two, one) {
		t.Fatal("one processor and two gave different reports")
	}
}
