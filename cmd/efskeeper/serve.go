package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper"
	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/simrun"
)

func init() { commandGroups = append(commandGroups, newServeCmd) }

// localOptions configure serve --local.
type localOptions struct {
	addr     string
	speed    float64
	seed     uint64
	faults   string
	start    time.Time
	logLevel slog.Level
}

func newServeCmd() *cobra.Command {
	var (
		o        localOptions
		local    bool
		start    string
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "serve --local",
		Short: "Run the admin API on a simulated AWS organization, on this machine",
		Long: `serve --local runs the admin API with the same handlers as the deployed one,
on an in-memory store and the simulated AWS organization of efskeeper demo
(3 accounts x 3 Regions, 20 file systems) with the demo policies. A
background loop runs the system as the deployed schedules do: the tick every
simulated minute, region runs, job events (with the --faults you choose),
the reconciler, retention and restores. The simulated clock starts at --start
(default now) and runs --speed simulated minutes per real second.

Point the CLI at it with --api (requests to loopback addresses are not
signed), or use curl; the server prints the URL and a few examples. The
Account-mode policy indexes its file systems: simulated workers walk small
local trees (written to a temporary directory), so that the file routes
browse, search and show the history of real indexes.

It stops on Ctrl-C.`,
		Example: `  efskeeper serve --local
  efskeeper serve --local --addr 127.0.0.1:9090 --speed 60 --faults heavy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !local {
				return usageError(cmd, "only --local is supported: the deployed API runs in AWS Lambda behind API Gateway")
			}
			if o.speed <= 0 || o.speed > 100000 {
				return usageError(cmd, "--speed must be above 0 and at most 100000 simulated minutes per second, not %v", o.speed)
			}
			o.start = time.Now().UTC().Truncate(time.Minute)
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return usageError(cmd, "--start must be an RFC 3339 time such as 2026-01-05T00:00:00Z, not %q", start)
				}
				o.start = t.UTC().Truncate(time.Minute)
			}
			if err := o.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError(cmd, "--log-level must be debug, info, warn or error, not %q", logLevel)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLocal(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, "%v", err) })
	cmd.Flags().BoolVar(&local, "local", false, "run locally on the simulated AWS (required)")
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().Float64Var(&o.speed, "speed", 1, "simulated minutes per real second")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the simulated world")
	cmd.Flags().StringVar(&o.faults, "faults", "default", "simulated AWS faults: none, default or heavy")
	cmd.Flags().StringVar(&start, "start", "", "first simulated instant, RFC 3339 (default now)")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "log level of the server's JSON log on standard error")
	return cmd
}

// lockedQueue hands the API's region-run messages to the harness's queue
// under the lock its loop holds while it works.
type lockedQueue struct {
	mu *sync.Mutex
	q  engine.Queue
}

func (l lockedQueue) SendRegionRun(ctx context.Context, m engine.RegionRunMsg) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.SendRegionRun(ctx, m)
}

func (l lockedQueue) SendIndexRun(ctx context.Context, m engine.IndexRunMsg) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.SendIndexRun(ctx, m)
}

// runLocal serves until ctx ends. ready, when set, receives the base URL
// once the listener is up.
func runLocal(ctx context.Context, o localOptions, out, errOut io.Writer, ready chan<- string) error {
	pols, err := simrun.LoadPolicies(efskeeper.DemoPolicies, "testdata/policies")
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(errOut, &slog.HandlerOptions{Level: o.logLevel}))
	treeDir, err := os.MkdirTemp("", "efskeeper-serve-trees-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(treeDir)
	trees, err := simrun.DemoTrees(treeDir)
	if err != nil {
		return fmt.Errorf("write the demo file system contents: %w", err)
	}
	h, err := simrun.New(simrun.Options{Seed: o.seed, Faults: o.faults, Start: o.start, Days: 100 * 365,
		Build: simrun.DemoWorld, Script: simrun.DemoScript(), Policies: pols, Log: log, Index: &simrun.IndexOptions{Trees: trees}})
	if err != nil {
		return err
	}
	var mu sync.Mutex // held by the loop while it works on the harness
	restores := h.Restorer
	srv := &api.Server{
		Engine: engine.New(engine.Engine{Store: h.Store, Org: h.World.Organization(), Queue: lockedQueue{&mu, h.Queue},
			Clock: h.World, Log: log, Config: h.Engine.Config}),
		Files:         &api.Files{Runs: h.IndexRuns, Open: h.Objects.Open},
		WorkerConfigs: h.IndexRuns,
		Restores:      restores,
		Caller:        func(*http.Request) string { return "local" },
		Log:           log,
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	base := "http://" + ln.Addr().String()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	printLocalBanner(out, base, o)
	if ready != nil {
		ready <- base
	}

	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		runClock(ctx, o.speed, func() {
			mu.Lock()
			defer mu.Unlock()
			h.World.Advance(simrun.Step)
			h.Minute(ctx, true)
			if h.World.Now().Minute()%15 == 7 {
				if _, err := restores.Reconcile(ctx); err != nil {
					log.Warn("restore reconcile failed", "error", err)
				}
			}
		})
	}()
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdown)
	<-loopDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// runClock calls minute speed times per real second until ctx ends,
// catching up (in bounded bursts) when a minute takes longer than its
// share of real time.
func runClock(ctx context.Context, speed float64, minute func()) {
	const tick = 50 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	began := time.Now()
	done := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due := int(now.Sub(began).Seconds() * speed)
			for burst := 0; done < due && burst < 1000 && ctx.Err() == nil; burst++ {
				minute()
				done++
			}
		}
	}
}

func printLocalBanner(w io.Writer, base string, o localOptions) {
	fmt.Fprintf(w, `efskeeper admin API on a simulated AWS organization
  base URL   %s
  clock      starts %s, %v simulated minutes per second (faults: %s)
  policies   account-prod, org-all (testdata/policies)

Try:
  curl -s %[1]s/healthz
  curl -s %[1]s/policies
  curl -s '%[1]s/sessions?limit=5'
  curl -s '%[1]s/restore-points?policy=account-prod&limit=5'
  curl -s -X POST %[1]s/policies/account-prod/run
  curl -s -X PUT --data-binary @testdata/policies/account-prod.json %[1]s/policies/account-prod
  curl -s %[1]s/openapi.json
  efskeeper sessions list --api %[1]s
  efskeeper points list --api %[1]s --policy org-all

Ctrl-C stops it.
`, base, o.start.Format(time.RFC3339), o.speed, o.faults)
}
