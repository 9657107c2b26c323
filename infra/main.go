// Command infra is the CDK app that deploys efskeeper (cdk.json runs it).
// It synthesizes the home stack, one stack per extra Region and the member
// stack, checks them with the cdk-nag AwsSolutions rules, and exits non-zero
// when a rule reports an unsuppressed error, so `cdk synth` and `cdk deploy`
// stop before anything reaches CloudFormation.
package main

import (
	"fmt"
	"os"

	"github.com/aws/jsii-runtime-go"

	"github.com/efskeeper/efskeeper/infra/stacks"
)

func main() {
	os.Exit(run())
}

func run() int {
	// jsii's environment is fixed when its packages initialize, before
	// main: cdk.json sets JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION and
	// JSII_DEPRECATED on the app command instead.
	defer jsii.Close()

	app := stacks.NewApp(nil)
	cfg, err := stacks.ConfigFromContext(app.Node(), os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "efskeeper infra: configuration: %v\n", err)
		return 2
	}
	if err := stacks.CheckAssets(cfg.AssetDir); err != nil {
		fmt.Fprintf(os.Stderr, "efskeeper infra: %v\n", err)
		return 2
	}
	stacks.Build(app, cfg)
	errs := stacks.Errors(app.Synth(nil))
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "efskeeper infra: %d error annotation(s); fix them or add a suppression with a reason:\n", len(errs))
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "  "+e.String())
		}
		return 1
	}
	return 0
}
