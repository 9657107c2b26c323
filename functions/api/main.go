// Command api is efskeeper's admin API Lambda function (DESIGN.md,
// "Deployment contract"): API Gateway (REST API, IAM authorization, proxy
// integration) hands it every request, and it serves pkg/api's handler.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/efskeeper/efskeeper/pkg/api/apigw"
)

func main() {
	lambda.Start(apigw.Handler(apigw.MustWire().Handler()))
}
