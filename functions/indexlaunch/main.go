// Command indexlaunch is efskeeper's indexlaunch Lambda function (DESIGN.md,
// "Deployment contract"): on index-run messages from SQS it checks the
// network of a file system's mount target and launches the indexing worker
// there (lambdafn.IndexLaunch).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/lambdafn"
)

func main() {
	lambda.Start(lambdafn.IndexLaunch(lambdafn.MustWireIndex(lambdafn.FnIndexLaunch)))
}
