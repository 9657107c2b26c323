// Command efskeeper is the admin CLI of efskeeper: it validates and plans
// policies, runs the whole system on the simulated AWS (demo), builds and
// reads file indexes, and talks to a deployed admin API.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		var ee exitError
		if asExit(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "efskeeper:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "efskeeper",
		Short:         "Policy-driven protection for Amazon EFS on AWS Backup",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Each command group lives in its own file and adds itself here.
	for _, add := range commandGroups {
		root.AddCommand(add())
	}
	return root
}

// commandGroups lists the constructors of the top-level command groups; each
// group's file appends to it in an init function so that groups can be
// developed independently.
var commandGroups []func() *cobra.Command

// exitError carries an exit status other than 1 (for example 2 for usage
// errors) from a command to main. Its message, if any, was printed already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func asExit(err error, target *exitError) bool {
	ee, ok := err.(exitError)
	if ok {
		*target = ee
	}
	return ok
}

// usageError prints a usage problem and makes main exit with status 2.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "efskeeper %s: %s\n", cmd.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(cmd.ErrOrStderr(), "Run 'efskeeper %s --help' for usage.\n", cmd.CommandPath()[len("efskeeper "):])
	return exitError{code: 2}
}
