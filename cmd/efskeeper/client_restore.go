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

func init() { commandGroups = append(commandGroups, newRestoreCmd) }

func newRestoreCmd() *cobra.Command {
	return newGroupCmd("restore", "Restore files or whole file systems from restore points", newRestoreStartCmd(), newRestoreStatusCmd())
}

func newRestoreStartCmd() *cobra.Command {
	var flags clientFlags
	var newFS, full bool
	var token string
	cmd := clientCmd("start POINT [PATH...]", "Restore paths (or a whole file system) from a restore point",
		`start restores PATHs, exact and absolute from the file system's root, from
the restore point POINT (an ID from points list) into the file system it was
taken of, or with --new-file-system into a new one. --full restores
everything (always into a new file system). AWS Backup puts restored items
in an aws-backup-restore_<time> directory. A copy in another Region can only
be restored into a new file system.

--token makes the request idempotent: the same token returns the same
restore. Follow it with efskeeper restore status.`,
		`  efskeeper restore start <point id> /home/alice/report.doc /etc/app.conf
  efskeeper restore start <point id> --full`,
		cobra.MinimumNArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			paths := args[1:]
			if full == (len(paths) > 0) {
				return usageError(cmd, "name the paths to restore, or --full for the whole file system (not both)")
			}
			pt, err := c.GetRestorePoint(ctx, args[0])
			if err != nil {
				return err
			}
			req := api.RestoreRequest{ClientToken: token, Full: full, Target: engine.RestoreTarget{Kind: engine.TargetOriginal},
				Items: []api.RestoreRequestItem{{RecoveryPointArn: pt.RecoveryPointArn, Account: pt.Account, Region: pt.Region, Vault: pt.Vault, Paths: paths}}}
			if newFS || full {
				req.Target.Kind = engine.TargetNewFileSystem
			}
			r, err := c.StartRestore(ctx, req)
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return writeRestore(cmd.OutOrStdout(), r)
		})
	cmd.Flags().BoolVar(&newFS, "new-file-system", false, "restore into a new file system instead of the original")
	cmd.Flags().BoolVar(&full, "full", false, "restore the whole file system (into a new one)")
	cmd.Flags().StringVar(&token, "token", "", "idempotency token: the same token returns the same restore")
	return cmd
}

func newRestoreStatusCmd() *cobra.Command {
	var flags clientFlags
	var running bool
	var limit int
	cmd := clientCmd("status [ID]", "Show a restore, or list the recent ones",
		`status shows one restore and its jobs, or without ID lists the recent
restores (--running: only those still running).`,
		`  efskeeper restore status
  efskeeper restore status rst-0123456789abcdef01234567`,
		cobra.MaximumNArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				r, err := c.GetRestore(ctx, args[0])
				if err != nil {
					return err
				}
				if flags.json {
					return printJSON(out, r)
				}
				return writeRestore(out, r)
			}
			all, _, err := collect(limit, func(cursor string, n int) ([]api.Restore, string, error) {
				page, err := c.ListRestores(ctx, running, apiclient.Page{Cursor: cursor, Limit: n})
				return page.Restores, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			if flags.json {
				return printJSON(out, api.RestoreList{Restores: all})
			}
			t := newTable(out, "RESTORE", "STATUS", "TARGET", "ITEMS", "PATHS", "JOBS", "CREATED", "ENDED", "BY")
			for _, r := range all {
				paths := 0
				for _, it := range r.Items {
					paths += len(it.Paths)
				}
				t.row(r.ID, r.Status, string(r.Target.Kind), fmt.Sprint(len(r.Items)), fmt.Sprint(paths), fmt.Sprint(len(r.Jobs)), stamp(r.CreatedAt), stamp(r.EndedAt), r.RequestedBy)
			}
			return t.flush()
		})
	cmd.Flags().BoolVar(&running, "running", false, "only restores still running")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many restores (0: all)")
	return cmd
}

func writeRestore(w io.Writer, r api.Restore) error {
	fmt.Fprintf(w, "Restore %s: %s, into %s; created %s, ended %s\n", r.ID, r.Status, r.Target.Kind, stamp(r.CreatedAt), stamp(r.EndedAt))
	for i, it := range r.Items {
		what := "everything"
		if len(it.Paths) > 0 {
			what = strings.Join(it.Paths, ", ")
		}
		fmt.Fprintf(w, "  item %d: %s of %s (%s/%s, backup %s): %s\n", i, it.RecoveryPointArn, it.FileSystem, it.Account, it.Region, stamp(it.PointTime), what)
	}
	fmt.Fprintln(w)
	t := newTable(w, "ITEM", "JOB", "STATE", "PATHS", "RESTORED INTO", "MESSAGE")
	for _, j := range r.Jobs {
		t.row(fmt.Sprint(j.Item), j.JobID, j.State, fmt.Sprint(len(j.Paths)), j.CreatedResourceArn, j.Message)
	}
	return t.flush()
}
