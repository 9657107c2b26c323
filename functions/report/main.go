// Command report is efskeeper's report Lambda function (DESIGN.md,
// "Deployment contract"): once a day it publishes the daily report to the
// SNS topic. It reads its EFSKEEPER_* configuration, wires the report to
// AWS and serves lambdafn.Report.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/lambdafn"
)

func main() {
	lambda.Start(lambdafn.Report(lambdafn.MustWireReport()))
}
