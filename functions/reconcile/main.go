// Command reconcile is efskeeper's reconcile Lambda function (DESIGN.md, "Deployment
// contract"): it reads its EFSKEEPER_* configuration, wires the engine to
// AWS and serves lambdafn.Reconcile.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/lambdafn"
)

func main() {
	lambda.Start(lambdafn.ReconcileWithRestores(lambdafn.MustWireWithRestores(lambdafn.FnReconcile)))
}
