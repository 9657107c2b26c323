package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/apiclient"
	"github.com/efskeeper/efskeeper/pkg/engine"
)

func init() { commandGroups = append(commandGroups, newSessionsCmd) }

func newSessionsCmd() *cobra.Command {
	return newGroupCmd("sessions", "Follow the sessions (runs) of the policies of a deployment", newSessionsListCmd(), newSessionsShowCmd())
}

func newSessionsListCmd() *cobra.Command {
	var flags clientFlags
	var policyID, from, to string
	var limit int
	cmd := clientCmd("list", "List sessions, newest first",
		`list shows the sessions of every policy (or of --policy), newest first: when
they were scheduled, their status, the schedules they ran for, how many
region runs and tasks are still open, and their reasons (why a Region was
skipped, why a job failed, what efskeeper changed on your behalf).`,
		`  efskeeper sessions list --policy prod-efs --limit 20
  efskeeper sessions list --from 2026-01-01 --to 2026-02-01 --json`,
		cobra.NoArgs, &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, _ []string) error {
			f := apiclient.SessionFilter{Policy: policyID}
			var err error
			if f.From, f.To, err = parseWindow(cmd, from, to); err != nil {
				return err
			}
			all, more, err := collect(limit, func(cursor string, n int) ([]api.Session, string, error) {
				page, err := c.ListSessions(ctx, f, apiclient.Page{Cursor: cursor, Limit: n})
				return page.Sessions, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, api.SessionList{Sessions: all})
			}
			t := newTable(out, "SESSION", "STATUS", "SCHEDULES", "UNITS", "OPEN TASKS", "ENDED", "REASONS")
			for _, s := range all {
				t.row(s.ID, s.Status, strings.Join(s.Schedules, ","), fmt.Sprint(len(s.Units)), fmt.Sprint(s.OpenTasks), stamp(s.EndedAt), reasonCodes(s.Reasons))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if more {
				fmt.Fprintf(out, "(more sessions: raise --limit or narrow --from/--to)\n")
			}
			return nil
		})
	cmd.Flags().StringVar(&policyID, "policy", "", "only this policy's sessions")
	cmd.Flags().StringVar(&from, "from", "", "scheduled at or after (RFC 3339 or a date)")
	cmd.Flags().StringVar(&to, "to", "", "scheduled before (RFC 3339 or a date)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many sessions (0: all)")
	return cmd
}

// reasonCodes summarises reasons as code×count, in order of first use.
func reasonCodes(rs []engine.Reason) string {
	var order []string
	count := map[string]int{}
	for _, r := range rs {
		if count[r.Code] == 0 {
			order = append(order, r.Code)
		}
		count[r.Code]++
	}
	for i, c := range order {
		if count[c] > 1 {
			order[i] = fmt.Sprintf("%s×%d", c, count[c])
		}
	}
	return strings.Join(order, ",")
}

func newSessionsShowCmd() *cobra.Command {
	var flags clientFlags
	return clientCmd("show ID", "Show a session with its reasons, region runs and tasks",
		`show prints one session: its status and every reason, each region run
(account and Region) with its state, and each task (one file system's
backup and its copies) with its jobs and restore points. Quote the id in a
shell: it holds a '#'.`,
		"  efskeeper sessions show 'prod-efs#2026-01-05T01:00:00Z'",
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			d, err := c.GetSession(ctx, args[0])
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), d)
			}
			return writeSession(cmd.OutOrStdout(), d)
		})
}

func writeSession(w io.Writer, d api.SessionDetail) error {
	s := d.Session
	fmt.Fprintf(w, "Session %s: %s\n", s.ID, s.Status)
	fmt.Fprintf(w, "Policy %s, scheduled %s for %s; started %s, ended %s\n", s.PolicyID, stamp(s.ScheduledAt), strings.Join(s.Schedules, "+"), stamp(s.CreatedAt), stamp(s.EndedAt))
	if len(s.Reasons) > 0 {
		fmt.Fprintln(w, "\nReasons:")
		for _, r := range s.Reasons {
			fmt.Fprintf(w, "  %-8s %s%s: %s\n", r.Severity, r.Code, where(r), r.Message)
		}
	}
	fmt.Fprintln(w)
	t := newTable(w, "ACCOUNT", "REGION", "REGION RUN", "TASKS", "ATTEMPTS", "REASONS")
	for _, u := range d.RegionRuns {
		t.row(u.Account, u.Region, u.State, fmt.Sprint(u.Tasks), fmt.Sprint(u.Attempts), reasonCodes(u.Reasons))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w, "ACCOUNT", "REGION", "FILE SYSTEM", "PHASE", "BACKUP", "COPIES", "REASONS")
	for _, task := range d.Tasks {
		backup := jobLabel(task.Backup)
		var copies []string
		for _, c := range task.Copies {
			copies = append(copies, c.TargetRegion+":"+jobLabel(c.Job))
		}
		t.row(task.Account, task.Region, task.FileSystem, task.Phase, backup, strings.Join(copies, " "), reasonCodes(task.Reasons))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s, %s.\n", plural(len(d.RegionRuns), "region run", "region runs"), plural(len(d.Tasks), "task", "tasks"))
	return nil
}

func where(r engine.Reason) string {
	var parts []string
	for _, p := range []string{r.Account, r.Region, r.FileSystem} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

// jobLabel is a job's state with its attempt when it was retried.
func jobLabel(j api.Job) string {
	st := j.State
	if st == "" {
		st = "not started"
	}
	if j.Attempt > 1 {
		st += fmt.Sprintf(" (attempt %d)", j.Attempt)
	}
	return st
}
