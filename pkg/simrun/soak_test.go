package simrun

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper"
)

var (
	soakDays  = flag.Int("soak.days", 30, "simulated days of the chaos soak")
	soakSeeds = flag.String("soak.seeds", "1,2,3", "comma-separated seeds of the chaos soak")
)

func demoOptions(t testing.TB, seed uint64, days int, faults string) Options {
	t.Helper()
	pols, err := LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Seed: seed, Days: days, Faults: faults, Build: DemoWorld, Script: DemoScript(), Policies: pols}
}

func run(t testing.TB, o Options) *Report {
	t.Helper()
	_, rep, err := Simulate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSoak is the chaos soak: heavy faults (lost, duplicated, late and
// reordered events, throttling, failing jobs, crashes between store writes)
// at several seeds; every invariant must hold. `make soak` runs it for 90
// days at five seeds.
func TestSoak(t *testing.T) {
	for _, s := range strings.Split(*soakSeeds, ",") {
		seed, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			t.Fatalf("bad -soak.seeds: %v", err)
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			rep := run(t, demoOptions(t, seed, *soakDays, "heavy"))
			for _, c := range rep.Invariants {
				if !c.OK {
					t.Errorf("invariant %s: %s", c.Name, c.Detail)
				} else {
					t.Logf("invariant %s: %s", c.Name, c.Detail)
				}
			}
			if rep.Summary.Backups == 0 || rep.Summary.Copies == 0 {
				t.Errorf("the soak did no work: %+v", rep.Summary)
			}
			if rep.Summary.Crashes == 0 {
				t.Errorf("heavy faults injected no crash")
			}
		})
	}
}

// Events, region runs and retention handled concurrently, as Lambda
// would, under heavy faults and crashes: the invariants still hold.
func TestConcurrentWorkers(t *testing.T) {
	o := demoOptions(t, 9, 20, "heavy")
	o.Workers = 4
	rep := run(t, o)
	for _, c := range rep.Invariants {
		if !c.OK {
			t.Errorf("invariant %s: %s", c.Name, c.Detail)
		}
	}
	if rep.Summary.Backups == 0 || rep.Summary.Deleted == 0 || rep.Summary.Crashes == 0 {
		t.Errorf("the run did too little: %+v", rep.Summary)
	}
}

// The same seed gives the same report, byte for byte.
func TestReproducibleBySeed(t *testing.T) {
	a, _ := json.Marshal(run(t, demoOptions(t, 42, 5, "heavy")))
	b, _ := json.Marshal(run(t, demoOptions(t, 42, 5, "heavy")))
	if !bytes.Equal(a, b) {
		t.Fatalf("two runs with seed 42 differ (%d vs %d bytes)", len(a), len(b))
	}
	c, _ := json.Marshal(run(t, demoOptions(t, 43, 5, "heavy")))
	if bytes.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 gave the same report: the seed is not used")
	}
}
