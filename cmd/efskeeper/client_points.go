package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/apiclient"
)

func init() { commandGroups = append(commandGroups, newPointsCmd, newFilesCmd) }

func newPointsCmd() *cobra.Command {
	return newGroupCmd("points", "List the restore points efskeeper made", newPointsListCmd())
}

func newPointsListCmd() *cobra.Command {
	var flags clientFlags
	var f apiclient.PointFilter
	var from, to string
	var limit int
	cmd := clientCmd("list", "List restore points: backups and their copies",
		`list shows the restore points efskeeper made that still exist: each backup,
and each copy in another Region with the backup it copies. The ID column is
what files ls and restore start take.`,
		`  efskeeper points list --file-system fs-0123456789abcdef0
  efskeeper points list --policy prod-efs --region eu-central-1 --from 2026-01-01`,
		cobra.NoArgs, &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, _ []string) error {
			var err error
			if f.From, f.To, err = parseWindow(cmd, from, to); err != nil {
				return err
			}
			all, more, err := collect(limit, func(cursor string, n int) ([]api.RestorePoint, string, error) {
				page, err := c.ListRestorePoints(ctx, f, apiclient.Page{Cursor: cursor, Limit: n})
				return page.RestorePoints, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, api.RestorePointList{RestorePoints: all})
			}
			t := newTable(out, "CREATED", "KIND", "POLICY", "ACCOUNT", "REGION", "FILE SYSTEM", "VAULT", "SCHEDULES", "ID")
			for _, p := range all {
				kind := p.Kind
				if p.Source != nil {
					kind += " of " + p.Source.Region
				}
				if p.Deletion.State != "" {
					kind += " (" + p.Deletion.State + ")"
				}
				t.row(stamp(p.CreatedAt), kind, p.PolicyID, p.Account, p.Region, p.FileSystem, p.Vault, strings.Join(p.Schedules, "+"), p.ID)
			}
			if err := t.flush(); err != nil {
				return err
			}
			if more {
				fmt.Fprintln(out, "(more restore points: raise --limit or filter)")
			}
			return nil
		})
	cmd.Flags().StringVar(&f.Policy, "policy", "", "only this policy's points")
	cmd.Flags().StringVar(&f.Account, "account", "", "only points in this account")
	cmd.Flags().StringVar(&f.Region, "region", "", "only points in this Region (copies are in their target Region)")
	cmd.Flags().StringVar(&f.FileSystem, "file-system", "", "only points of this file system")
	cmd.Flags().StringVar(&from, "from", "", "created at or after (RFC 3339 or a date)")
	cmd.Flags().StringVar(&to, "to", "", "created before (RFC 3339 or a date)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many points (0: all)")
	return cmd
}

func newFilesCmd() *cobra.Command {
	return newGroupCmd("files", "Browse and search the files of restore points, from their indexes", newFilesLsCmd(), newFilesSearchCmd(), newFilesHistoryCmd())
}

// fileRow is one entry in the ls, search and history tables.
func fileRow(e api.FileEntry) []string {
	name := e.Path
	if e.Type == "l" && e.Target != "" {
		name += " -> " + e.Target
	}
	if e.ChangedAfterBackup {
		name += " *"
	}
	return []string{e.Type, e.Mode, fmt.Sprint(e.Size), stamp(e.ModTime), name}
}

func changedNote(w io.Writer, flagged bool) {
	if flagged {
		fmt.Fprintln(w, "* changed after the restore point was taken; the point may hold an older version")
	}
}

func newFilesLsCmd() *cobra.Command {
	var flags clientFlags
	cmd := clientCmd("ls POINT [DIR]", "List a directory of a restore point",
		`ls lists one directory (default the root) of a restore point, from the index
made right after its backup: type (as find's %y), permissions, size,
modification time and path. POINT is an ID from points list; a copy lists
the index of the backup it copies.`,
		"  efskeeper files ls <point id> /home/alice",
		cobra.RangeArgs(1, 2), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			dir := ""
			if len(args) == 2 {
				dir = args[1]
			}
			var info api.IndexInfo
			all, _, err := collect(0, func(cursor string, n int) ([]api.FileEntry, string, error) {
				page, err := c.ListFiles(ctx, args[0], dir, apiclient.Page{Cursor: cursor, Limit: 1000})
				info = page.Index
				return page.Entries, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, api.FileList{Index: info, Path: strings.Trim(dir, "/"), Entries: all})
			}
			fmt.Fprintf(out, "%s at %s (backup %s, indexed %s)\n", "/"+strings.Trim(dir, "/"), info.RecoveryPointArn, stamp(info.BackupCreatedAt), stamp(info.IndexedAt))
			t := newTable(out, "TYPE", "MODE", "SIZE", "MODIFIED", "PATH")
			flagged := false
			for _, e := range all {
				t.row(fileRow(e)...)
				flagged = flagged || e.ChangedAfterBackup
			}
			if err := t.flush(); err != nil {
				return err
			}
			changedNote(out, flagged)
			return nil
		})
	return cmd
}

// fileQueryFlags are the file system flags of search and history.
func fileQueryFlags(cmd *cobra.Command, f *apiclient.FileQuery, from, to *string) {
	cmd.Flags().StringVar(&f.FileSystem, "file-system", "", "the file system (fs-...), required")
	cmd.Flags().StringVar(&f.Account, "account", "", "its account (found from its restore points when left out)")
	cmd.Flags().StringVar(&f.Region, "region", "", "its Region (found from its restore points when left out)")
	cmd.Flags().StringVar(from, "from", "", "only restore points created at or after (RFC 3339 or a date)")
	cmd.Flags().StringVar(to, "to", "", "only restore points created before (RFC 3339 or a date)")
}

func readFileQuery(cmd *cobra.Command, f *apiclient.FileQuery, from, to string) error {
	if f.FileSystem == "" {
		return usageError(cmd, "name the file system with --file-system fs-...")
	}
	var err error
	f.From, f.To, err = parseWindow(cmd, from, to)
	return err
}

func newFilesSearchCmd() *cobra.Command {
	var flags clientFlags
	var f apiclient.FileQuery
	var from, to, contains string
	var limit int
	cmd := clientCmd("search [PATTERN]", "Find files by name across the restore points of a file system",
		`search looks through the indexes of a file system's restore points, newest
first, for entries whose name matches PATTERN (find -name syntax: *, ?, [...])
and whose path contains --path. It reads each index once.`,
		`  efskeeper files search --file-system fs-0123456789abcdef0 '*.conf'
  efskeeper files search --file-system fs-0123456789abcdef0 --path home/alice/ 'report*'`,
		cobra.MaximumNArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			if err := readFileQuery(cmd, &f, from, to); err != nil {
				return err
			}
			pattern := ""
			if len(args) == 1 {
				pattern = args[0]
			}
			if pattern == "" && contains == "" {
				return usageError(cmd, "give a name PATTERN, --path, or both")
			}
			all, more, err := collect(limit, func(cursor string, n int) ([]api.FileMatch, string, error) {
				page, err := c.SearchFiles(ctx, f, pattern, contains, apiclient.Page{Cursor: cursor, Limit: n})
				return page.Matches, page.NextCursor, err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, api.FileSearch{FileSystem: f.FileSystem, Pattern: pattern, Matches: all})
			}
			t := newTable(out, "BACKUP", "TYPE", "MODE", "SIZE", "MODIFIED", "PATH")
			flagged := false
			for _, m := range all {
				t.row(append([]string{stamp(m.Index.BackupCreatedAt)}, fileRow(m.Entry)...)...)
				flagged = flagged || m.Entry.ChangedAfterBackup
			}
			if err := t.flush(); err != nil {
				return err
			}
			changedNote(out, flagged)
			if more {
				fmt.Fprintln(out, "(more matches: raise --limit or narrow the search)")
			}
			return nil
		})
	fileQueryFlags(cmd, &f, &from, &to)
	cmd.Flags().StringVar(&contains, "path", "", "only entries whose path contains this")
	cmd.Flags().IntVar(&limit, "limit", 500, "at most this many matches (0: all)")
	return cmd
}

func newFilesHistoryCmd() *cobra.Command {
	var flags clientFlags
	var f apiclient.FileQuery
	var from, to string
	cmd := clientCmd("history PATH", "Show one path across the restore points of a file system",
		`history looks PATH up in the index of each restore point of the file system,
oldest first, and says at each whether it was added, modified, unchanged or
removed since the point before, with its size and modification time.`,
		"  efskeeper files history --file-system fs-0123456789abcdef0 /etc/app.conf",
		cobra.ExactArgs(1), &flags, func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error {
			if err := readFileQuery(cmd, &f, from, to); err != nil {
				return err
			}
			h, err := c.FileHistory(ctx, f, args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if flags.json {
				return printJSON(out, h)
			}
			t := newTable(out, "BACKUP", "CHANGE", "SIZE", "DELTA", "MODIFIED", "RESTORE POINT")
			for _, v := range h.Versions {
				size, mod := "-", "-"
				if v.Entry != nil {
					size, mod = fmt.Sprint(v.Entry.Size), stamp(v.Entry.ModTime)
				}
				delta := "-"
				if v.Change == "modified" {
					delta = fmt.Sprintf("%+d", v.SizeDelta)
				}
				t.row(stamp(v.Index.BackupCreatedAt), v.Change, size, delta, mod, v.Index.RestorePointID)
			}
			return t.flush()
		})
	fileQueryFlags(cmd, &f, &from, &to)
	return cmd
}
