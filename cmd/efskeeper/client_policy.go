package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/apiclient"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// policyClientCmds are the policy verbs that talk to the admin API; the
// policy group (policy.go) adds them beside validate and plan.
func policyClientCmds() []*cobra.Command {
	return []*cobra.Command{newPolicyListCmd(), newPolicyGetCmd(), newPolicyPutCmd(), newPolicyDeleteCmd(),
		newPolicyEnableCmd(true), newPolicyEnableCmd(false), newPolicyRunCmd()}
}

func newPolicyListCmd() *cobra.Command {
	var flags clientFlags
	return clientCmd("list", "List the policies of a deployment",
		`list shows every policy: whether it is enabled, its next run, its version
(the ETag that put --if-match takes) and when it last changed.`,
		"  efskeeper policy list --api https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
		cobra.NoArgs, &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, _ []string) error {
			all, _, err := collect(0, func(cursor string, n int) ([]api.PolicyRecord, string, error) {
				page, err := c.ListPolicies(ctx, apiclient.Page{Cursor: cursor, Limit: n})
				return page.Policies, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), api.PolicyList{Policies: all})
			}
			t := newTable(cmd.OutOrStdout(), "POLICY", "NAME", "ENABLED", "MODE", "REGIONS", "SCHEDULES", "NEXT RUN", "VERSION", "UPDATED")
			for _, r := range all {
				p := r.Policy
				var scheds []string
				for _, s := range p.Schedules {
					scheds = append(scheds, s.Name)
				}
				t.row(p.ID, p.Name, yesNo(p.Enabled), p.Source.Mode, strings.Join(p.Source.Regions, ","), strings.Join(scheds, ","),
					stamp(r.NextRunAt), fmt.Sprint(r.Version), stamp(r.UpdatedAt))
			}
			return t.flush()
		})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newPolicyGetCmd() *cobra.Command {
	var flags clientFlags
	var document bool
	cmd := clientCmd("get ID", "Show a stored policy",
		`get shows a stored policy: its state, next run and version, then the policy
document. --document prints only the document, ready to edit and put back;
--json prints the whole record as the API returns it.`,
		`  efskeeper policy get prod-efs
  efskeeper policy get prod-efs --document > prod-efs.json`,
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			rec, etag, err := c.GetPolicy(ctx, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case flags.json:
				return printJSON(out, rec)
			case document:
				return printJSON(out, rec.Policy)
			}
			state := "enabled"
			if !rec.Policy.Enabled {
				state = "disabled"
			}
			fmt.Fprintf(out, "Policy %s (%s), %s\n", rec.Policy.ID, rec.Policy.Name, state)
			fmt.Fprintf(out, "Version %d (ETag %s), updated %s, created %s\n", rec.Version, etag, stamp(rec.UpdatedAt), stamp(rec.CreatedAt))
			fmt.Fprintf(out, "Next run %s; runs up to %s are started\n\n", stamp(rec.NextRunAt), stamp(rec.Watermark))
			return printJSON(out, rec.Policy)
		})
	cmd.Flags().BoolVar(&document, "document", false, "print only the policy document")
	return cmd
}

func newPolicyPutCmd() *cobra.Command {
	var flags clientFlags
	var ifMatch string
	var create bool
	cmd := clientCmd("put FILE", "Create or replace a policy from a document",
		`put validates the policy document FILE (- for standard input) locally, as
validate does, and prints every problem; a valid document is then stored
under its id, replacing the stored policy. --if-match VERSION replaces it
only if it is still at that version (see policy list or get), so that two
admins do not overwrite each other's change; --create only creates.

The policy's schedule starts at the write: runs scheduled before it are not
caught up.`,
		`  efskeeper policy put prod-efs.json
  efskeeper policy put prod-efs.json --if-match 4`,
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			doc, err := readInput(cmd, args[0])
			if err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: cannot read: %v\n", args[0], unwrapPathError(err))
				return exitError{code: 1}
			}
			// Checked here first, so that problems read as validate prints
			// them and a typo never reaches the API.
			p, probs := policy.Parse(doc)
			if len(probs) > 0 {
				for _, pr := range probs {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", args[0], pr)
				}
				return exitError{code: 1}
			}
			cond := apiclient.Condition{CreateOnly: create}
			if ifMatch != "" {
				cond.IfMatch = `"` + strings.Trim(ifMatch, `"`) + `"`
			}
			rec, etag, created, err := c.PutPolicy(ctx, p.ID, doc, cond)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), rec)
			}
			verb := "replaced"
			if created {
				verb = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s, version %d (ETag %s), next run %s\n", p.ID, verb, rec.Version, etag, stamp(rec.NextRunAt))
			return nil
		})
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "replace only if the stored policy is at this version")
	cmd.Flags().BoolVar(&create, "create", false, "only create: fail if the policy exists")
	cmd.MarkFlagsMutuallyExclusive("if-match", "create")
	return cmd
}

func newPolicyDeleteCmd() *cobra.Command {
	var flags clientFlags
	var ifMatch string
	cmd := clientCmd("delete ID", "Delete a policy",
		`delete removes a policy: it runs no more. Its sessions and restore points
stay, and retention no longer expires them; delete the points yourself when
they are no longer needed. --if-match VERSION deletes only that version.`,
		"  efskeeper policy delete old-policy --if-match 7",
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			cond := apiclient.Condition{}
			if ifMatch != "" {
				cond.IfMatch = `"` + strings.Trim(ifMatch, `"`) + `"`
			}
			if err := c.DeletePolicy(ctx, args[0], cond); err != nil {
				return err
			}
			if !flags.json {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: deleted\n", args[0])
			}
			return nil
		})
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "delete only if the stored policy is at this version")
	return cmd
}

func newPolicyEnableCmd(enable bool) *cobra.Command {
	var flags clientFlags
	use, short, long := "enable ID", "Enable a policy", `enable turns a policy on. Its schedule starts now: the runs it missed while it
was disabled are not caught up.`
	if !enable {
		use, short, long = "disable ID", "Disable a policy", `disable turns a policy off: the tick starts no more sessions of it. Running
sessions finish, and retention goes on expiring its restore points.`
	}
	return clientCmd(use, short, long, "  efskeeper policy "+strings.Fields(use)[0]+" prod-efs",
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			rec, err := c.SetPolicyEnabled(ctx, args[0], enable, apiclient.Condition{})
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), rec)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %sd, version %d, next run %s\n", args[0], strings.Fields(use)[0], rec.Version, stamp(rec.NextRunAt))
			return nil
		})
}

func newPolicyRunCmd() *cobra.Command {
	var flags clientFlags
	var schedules []string
	cmd := clientCmd("run ID", "Start an on-demand session of a policy now",
		`run starts a session of the policy now, outside its schedule, with the same
backups and copies as a scheduled run. Its restore points are kept as the
schedules of the next scheduled run would keep them, or as --schedule names.
Follow it with efskeeper sessions show.`,
		`  efskeeper policy run prod-efs
  efskeeper policy run prod-efs --schedule monthly`,
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			id, err := c.RunPolicy(ctx, args[0], schedules)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), api.RunResponse{SessionID: id})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "started session %s\nfollow it with: efskeeper sessions show '%s'\n", id, id)
			return nil
		})
	cmd.Flags().StringSliceVar(&schedules, "schedule", nil, "schedules whose retention keeps the restore points (repeatable)")
	return cmd
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(cmd.InOrStdin())
	}
	return os.ReadFile(file)
}
