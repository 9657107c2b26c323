package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

func init() { commandGroups = append(commandGroups, newPolicyCmd) }

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check policy documents and preview what they will do",
		Long: `policy works on policy documents (JSON, v1) offline: validate checks them
against every rule, plan shows the runs they will make and the restore points
their retention will expire. Neither needs AWS credentials.

list, get, put, delete, enable, disable and run work on the policies of a
deployment through its admin API (or of efskeeper serve --local).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// Wrong flags are usage errors: exit status 2, like missing arguments.
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, "%v", err) })
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyPlanCmd())
	// The verbs that work on a deployment through its admin API.
	cmd.AddCommand(policyClientCmds()...)
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check policy documents and list every problem",
		Long: `validate reads each policy document (use - for standard input) and checks
it against every rule of the v1 policy document: unknown fields, wrong types,
account and Region codes, vault naming for the mode, copy mappings, schedules,
retention and cold storage.

It prints "FILE: ok" for a valid document and one line per problem for an
invalid one, "FILE: PATH: message", where PATH is the JSON path of the value
(for example copies.mappings[1].targetRegion) and the message says what to
change. All problems are listed at once.

Exit status: 0 when every document is valid, 1 when one is invalid or cannot
be read, 2 on a usage error.`,
		Example: `  efskeeper policy validate testdata/policies/*.json
  cat policy.json | efskeeper policy validate -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(cmd, "name at least one policy file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			failed := false
			for _, file := range args {
				_, lines := loadPolicy(cmd, file)
				if len(lines) > 0 {
					failed = true
					for _, l := range lines {
						fmt.Fprintln(out, l)
					}
					continue
				}
				fmt.Fprintf(out, "%s: ok\n", file)
			}
			if failed {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

// loadPolicy reads and parses one policy file; when it cannot, it returns
// the lines to print, each starting with the file name.
func loadPolicy(cmd *cobra.Command, file string) (*policy.Policy, []string) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: cannot read: %v", file, unwrapPathError(err))}
	}
	p, probs := policy.Parse(data)
	if len(probs) == 0 {
		return p, nil
	}
	lines := make([]string, len(probs))
	for i, pr := range probs {
		lines[i] = file + ": " + pr.String()
	}
	return nil, lines
}

// unwrapPathError drops the file name from an *os.PathError, which the line
// already starts with.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func newPolicyPlanCmd() *cobra.Command {
	var (
		days      int
		from      string
		asJSON    bool
		noHistory bool
	)
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show the coming runs of a policy and what its retention will expire",
		Long: `plan validates a policy document and lists its runs in the coming --days
(from --from, default now): the local time in the policy's time zone, the UTC
time, and the schedules that share the run. When several schedules fire at
one instant they share one backup.

For each run it shows the restore points retention would expire at that
instant. The model is one file system that got a restore point at every run:
by default from a simulated history long enough for every retention to be in
its steady state (--no-history starts with no restore points). Real restore
points can differ (failed or extra backups), and retention also never deletes
the newest point of a file system or one whose copy is still running.

It also shows, per source Region, the backup vault and the copy target the
policy resolves to. Whether those vaults exist and are usable is checked
when the policy runs, not here.

--json prints the same plan as JSON for scripts.

Exit status: 0 for a plan, 1 when the policy is invalid or unreadable (the
problems are listed as by validate), 2 on a usage error.`,
		Example: `  efskeeper policy plan testdata/policies/account-prod.json
  efskeeper policy plan policy.json --days 60 --from 2025-03-01T00:00:00Z --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "name exactly one policy file, not %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if days < 1 || days > 3660 {
				return usageError(cmd, "--days must be between 1 and 3660, not %d", days)
			}
			start := time.Now().UTC().Truncate(time.Minute)
			if from != "" {
				t, err := time.Parse(time.RFC3339, from)
				if err != nil {
					return usageError(cmd, "--from must be an RFC 3339 time such as 2025-03-01T00:00:00Z, not %q", from)
				}
				start = t.UTC()
			}
			p, lines := loadPolicy(cmd, args[0])
			if p == nil {
				for _, l := range lines {
					fmt.Fprintln(cmd.OutOrStdout(), l)
				}
				return exitError{code: 1}
			}
			plan := p.Plan(start, start.AddDate(0, 0, days), !noHistory)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(planJSON(p, plan))
			}
			return writePlan(cmd.OutOrStdout(), p, plan, days)
		},
	}
	cmd.Flags().IntVar(&days, "days", 14, "how many days to plan")
	cmd.Flags().StringVar(&from, "from", "", "start of the plan, RFC 3339 (default now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&noHistory, "no-history", false, "start with no restore points instead of the steady state")
	return cmd
}

const localLayout = "Mon 2006-01-02 15:04 MST"

func writePlan(w io.Writer, p *policy.Policy, plan policy.Plan, days int) error {
	loc := p.Location()
	state := "enabled"
	if !p.Enabled {
		state = "disabled: these runs happen only once it is enabled"
	}
	fmt.Fprintf(w, "Policy %s (%s), %s\n", p.ID, p.Name, state)
	fmt.Fprintf(w, "Time zone %s; %d days after %s (%s)\n", p.Timezone, days, plan.From.In(loc).Format(localLayout), plan.From.Format(time.RFC3339))
	if plan.HistoryFrom.IsZero() {
		fmt.Fprintln(w, "Model: one file system with no restore points at the start")
	} else {
		fmt.Fprintf(w, "Model: one file system with a restore point from every run since %s\n", plan.HistoryFrom.In(loc).Format("2006-01-02"))
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tBACKUP VAULT\tCOPY TO")
	for _, r := range p.Source.Regions {
		v, _ := p.BackupVault(r)
		copyTo := "-"
		if m, ok := p.CopyMapping(r); ok {
			copyTo = m.TargetRegion + " " + vaultLabel(m.Vault, m.VaultTag)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r, vaultLabel(v.Vault, v.VaultTag), copyTo)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCAL TIME\tUTC\tSCHEDULES\tEXPIRES (RESTORE POINTS MADE)")
	expired := 0
	for _, r := range plan.Runs {
		first := fmt.Sprintf("%s\t%s\t%s", r.At.In(loc).Format(localLayout), r.At.Format("2006-01-02 15:04Z"), strings.Join(r.Schedules, ","))
		if len(r.Expires) == 0 {
			fmt.Fprintf(tw, "%s\t-\n", first)
		}
		for i, e := range r.Expires {
			if i > 0 {
				first = "\t\t"
			}
			fmt.Fprintf(tw, "%s\t%s (%s)\n", first, e.CreatedAt.In(loc).Format(localLayout), strings.Join(e.Schedules, ","))
			expired++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d runs, %d restore points expire, %d held after the last run.\n", len(plan.Runs), expired, len(plan.Kept))
	return nil
}

func vaultLabel(name string, tag *policy.Tag) string {
	if tag != nil {
		return fmt.Sprintf("tagged %s=%s", tag.Key, tag.Value)
	}
	if name == "" {
		return "-"
	}
	return name
}

// planDoc is the --json shape of a plan; times are RFC 3339, UTC unless
// named local.
type planDoc struct {
	Policy      string          `json:"policy"`
	Name        string          `json:"name"`
	Enabled     bool            `json:"enabled"`
	Timezone    string          `json:"timezone"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	HistoryFrom *time.Time      `json:"historyFrom,omitempty"`
	Regions     []planRegionDoc `json:"regions"`
	Runs        []planRunDoc    `json:"runs"`
	Expired     int             `json:"expired"`
	HeldAtEnd   int             `json:"heldAtEnd"`
}

type planRegionDoc struct {
	Region      string          `json:"region"`
	BackupVault policy.VaultRef `json:"backupVault"`
	Copy        *policy.Mapping `json:"copy,omitempty"`
}

type planRunDoc struct {
	At        time.Time       `json:"at"`
	Local     string          `json:"local"`
	Zone      string          `json:"zone"`
	Schedules []string        `json:"schedules"`
	Expires   []planExpiryDoc `json:"expires"`
}

type planExpiryDoc struct {
	CreatedAt time.Time `json:"createdAt"`
	Local     string    `json:"local"`
	Schedules []string  `json:"schedules"`
	Reason    string    `json:"reason"`
}

func planJSON(p *policy.Policy, plan policy.Plan) planDoc {
	loc := p.Location()
	doc := planDoc{Policy: p.ID, Name: p.Name, Enabled: p.Enabled, Timezone: p.Timezone,
		From: plan.From, To: plan.To, Regions: []planRegionDoc{}, Runs: []planRunDoc{}, HeldAtEnd: len(plan.Kept)}
	if !plan.HistoryFrom.IsZero() {
		h := plan.HistoryFrom
		doc.HistoryFrom = &h
	}
	for _, r := range p.Source.Regions {
		rd := planRegionDoc{Region: r}
		rd.BackupVault, _ = p.BackupVault(r)
		if m, ok := p.CopyMapping(r); ok {
			rd.Copy = &m
		}
		doc.Regions = append(doc.Regions, rd)
	}
	for _, r := range plan.Runs {
		local := r.At.In(loc)
		zone, _ := local.Zone()
		rd := planRunDoc{At: r.At, Local: local.Format(time.RFC3339), Zone: zone, Schedules: r.Schedules, Expires: []planExpiryDoc{}}
		for _, e := range r.Expires {
			rd.Expires = append(rd.Expires, planExpiryDoc{CreatedAt: e.CreatedAt, Local: e.CreatedAt.In(loc).Format(time.RFC3339), Schedules: e.Schedules, Reason: e.Reason})
			doc.Expired++
		}
		doc.Runs = append(doc.Runs, rd)
	}
	return doc
}
