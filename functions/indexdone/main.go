// Command indexdone is efskeeper's indexdone Lambda function (DESIGN.md,
// "Deployment contract"): the index bucket notifies it of the result
// objects workers put under results/, and it records them
// (lambdafn.IndexDone).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/lambdafn"
)

func main() {
	lambda.Start(lambdafn.IndexDone(lambdafn.MustWireIndex(lambdafn.FnIndexDone)))
}
