package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/efskeeper/efskeeper/pkg/apiclient"
)

// The API client verbs (policy get|put|..., sessions, points, files,
// restore) share how they find and reach the API and how they print.

// clientFlags are the flags of every command that calls the API.
type clientFlags struct {
	api        string
	configFile string
	json       bool
	unsigned   bool
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.api, "api", "", "base URL of the admin API (default $EFSKEEPER_API, then \"api\" in the config file)")
	cmd.Flags().StringVar(&f.configFile, "config", "", "config file (default "+apiclient.DefaultConfigFile()+")")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON answer instead of a table")
	cmd.Flags().BoolVar(&f.unsigned, "unsigned", false, "do not sign requests with SigV4 (loopback URLs are never signed)")
}

// clientHelp is the part of each client command's help that says how it
// reaches the API.
const clientHelp = `
The API's URL comes from --api, else $EFSKEEPER_API, else the "api" field of
~/.config/efskeeper/config.json. Requests to an API Gateway URL are signed
with SigV4 (service execute-api) using the AWS CLI's credential chain
(environment, profile, SSO, instance role); the Region comes from the URL's
host or AWS_REGION. Requests to http://127.0.0.1:... (efskeeper serve
--local) are sent unsigned.

Exit status: 0 on success, 1 when the API refuses or cannot be reached, 2 on
a usage error.`

// newClient builds the API client the flags describe.
func (f *clientFlags) newClient(ctx context.Context) (*apiclient.Client, error) {
	u, _, err := apiclient.ResolveURL(f.api, f.configFile)
	if err != nil {
		return nil, err
	}
	return apiclient.New(ctx, u, apiclient.Options{Unsigned: f.unsigned})
}

// clientCmd is the common shape of a client command: flags, argument
// check as a usage error, and the API's errors printed readably.
func clientCmd(use, short, long, example string, args cobra.PositionalArgs, flags *clientFlags,
	run func(ctx context.Context, cmd *cobra.Command, c *apiclient.Client, args []string) error) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long + "\n" + clientHelp, Example: example,
		Args: func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError(cmd, "%v", err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := flags.newClient(cmd.Context())
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "efskeeper %s: %v\n", cmd.Name(), err)
				return exitError{code: 1}
			}
			if err := run(cmd.Context(), cmd, c, args); err != nil {
				var ee exitError
				if errors.As(err, &ee) {
					return err
				}
				printAPIError(cmd, err)
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, "%v", err) })
	flags.add(cmd)
	return cmd
}

// printAPIError prints an API error, with its problems one per line as
// `policy validate` prints them.
func printAPIError(cmd *cobra.Command, err error) {
	w := cmd.ErrOrStderr()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		fmt.Fprintf(w, "efskeeper %s: %v\n", cmd.Name(), err)
		return
	}
	fmt.Fprintf(w, "efskeeper %s: %s\n", cmd.Name(), e.Message)
	for _, p := range e.Problems {
		fmt.Fprintf(w, "  %s\n", p.String())
	}
}

// printJSON prints v indented, for --json.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints rows under a header with columns aligned.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// stamp writes an instant in UTC to the minute, "-" when zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// parseWhen reads a --from/--to flag: RFC 3339 or a date (midnight UTC).
func parseWhen(cmd *cobra.Command, name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError(cmd, "--%s must be an RFC 3339 time (2026-01-05T02:00:00Z) or a date (2026-01-05), not %q", name, v)
}

// parseWindow reads the --from and --to flags of a list.
func parseWindow(cmd *cobra.Command, from, to string) (time.Time, time.Time, error) {
	f, err := parseWhen(cmd, "from", from)
	if err != nil {
		return f, time.Time{}, err
	}
	t, err := parseWhen(cmd, "to", to)
	return f, t, err
}

// newGroupCmd is a command group of client verbs: it only holds them.
func newGroupCmd(use, short string, verbs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(c, "%v", err) })
	cmd.AddCommand(verbs...)
	return cmd
}

// collect follows the pages of a list until limit items (0: all) or the
// end, and returns whether more remain.
func collect[T any](limit int, page func(cursor string, n int) ([]T, string, error)) ([]T, bool, error) {
	var all []T
	cursor := ""
	for {
		n := 100
		if limit > 0 {
			n = min(limit-len(all), 1000)
		}
		items, next, err := page(cursor, n)
		if err != nil {
			return all, false, err
		}
		all = append(all, items...)
		if next == "" {
			return all, false, nil
		}
		if limit > 0 && len(all) >= limit {
			return all[:limit], true, nil
		}
		cursor = next
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
