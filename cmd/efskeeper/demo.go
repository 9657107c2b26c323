package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/efskeeper/efskeeper"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/simrun"
)

func init() { commandGroups = append(commandGroups, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var (
		days       int
		seed       uint64
		faults     string
		reportFile string
		policyDir  string
		quiet      bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole system on a simulated AWS organization",
		Long: `demo builds a simulated AWS organization (3 accounts x 3 Regions, 20 EFS file
systems, vaults that exercise both policy modes, a Region where EFS is not yet
opted in to AWS Backup, a tag that matches two vaults, a logically air-gapped
vault) and runs the example policies of testdata/policies on it for --days
simulated days: ticks, region runs, job events with the faults you choose,
the reconciler and retention, exactly as the Lambda functions run them.

It prints one line per session and a summary, checks the system's
invariants, and exits non-zero if one fails. --report writes the whole run as
JSON; two runs with the same --seed write the same report.`,
		Example: `  efskeeper demo
  efskeeper demo --days 90 --faults heavy --seed 7 --report run.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 3650 {
				return usageError(cmd, "--days must be between 1 and 3650, not %d", days)
			}
			var pols []*policy.Policy
			var err error
			if policyDir != "" {
				pols, err = simrun.LoadPolicies(os.DirFS(policyDir), ".")
			} else {
				pols, err = simrun.LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
			}
			if err != nil {
				return err
			}
			treeDir, err := os.MkdirTemp("", "efskeeper-demo-trees-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(treeDir)
			trees, err := simrun.DemoTrees(treeDir)
			if err != nil {
				return fmt.Errorf("write the demo file system contents: %w", err)
			}
			opts := simrun.Options{Seed: seed, Days: days, Faults: faults, Build: simrun.DemoWorld, Script: simrun.DemoScript(), Policies: pols,
				Index: &simrun.IndexOptions{Trees: trees}}
			out := cmd.OutOrStdout()
			errOut := cmd.ErrOrStderr()
			var bar *progressbar.ProgressBar
			if !quiet {
				desc := fmt.Sprintf("simulating %d days", days)
				if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					bar = progressbar.NewOptions(days*24, progressbar.OptionSetWriter(errOut), progressbar.OptionSetDescription(desc),
						progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
					opts.Progress = func(done, _ time.Duration) { _ = bar.Set(int(done / time.Hour)) }
				} else {
					// Not a terminal: a line every 5 simulated days.
					opts.Progress = func(done, total time.Duration) {
						if done%(5*24*time.Hour) == 0 && done > 0 {
							fmt.Fprintf(errOut, "%s: day %d of %d\n", desc, int(done/(24*time.Hour)), int(total/(24*time.Hour)))
						}
					}
				}
			}
			h, err := simrun.New(opts)
			if err != nil {
				return usageError(cmd, "%v", err)
			}
			started := time.Now()
			ctx := context.Background()
			if err := h.Run(ctx); err != nil {
				return err
			}
			if bar != nil {
				_ = bar.Finish()
			}
			rep, err := h.Report(ctx)
			if err != nil {
				return err
			}
			byID := map[string]*policy.Policy{}
			for _, p := range pols {
				byID[p.ID] = p
			}
			if err := rep.WriteTable(out, byID); err != nil {
				return err
			}
			fmt.Fprintf(out, "simulated %d days (seed %d, faults %s) in %.1fs\n", days, seed, faults, time.Since(started).Seconds())
			if reportFile != "" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(reportFile, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
				fmt.Fprintf(out, "report written to %s\n", reportFile)
			}
			if failed := rep.Failed(); len(failed) > 0 {
				for _, f := range failed {
					fmt.Fprintf(errOut, "invariant %s failed: %s\n", f.Name, f.Detail)
				}
				return exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&days, "days", 45, "simulated days to run")
	f.Uint64Var(&seed, "seed", 1, "seed of the simulation; the same seed gives the same run")
	f.StringVar(&faults, "faults", "default", "faults to inject: none, default or heavy")
	f.StringVar(&reportFile, "report", "", "write the run as JSON to this file")
	f.StringVar(&policyDir, "policies", "", "directory of policy files to run instead of the built-in examples")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress output")
	return cmd
}
