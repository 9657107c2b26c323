// Package lambdafn holds the Lambda handlers of efskeeper's functions and the
// wiring they share: reading the EFSKEEPER_* environment (DESIGN.md,
// "Deployment contract"), building the AWS adapters, the DynamoDB store and
// the JSON logger, and handing them to engine.New.
//
// Handlers are thin adapters: they turn a Lambda payload (an EventBridge
// Scheduler invocation, an SQS batch, an EventBridge event) into one call of
// an engine use-case, log what happened and decide what Lambda should retry.
// The engine never sees a Lambda event type. Each functions/<name>/main.go
// only calls LoadEnv, Wire and lambda.Start with the handler of its name.
//
// Retry policy, per trigger:
//   - Scheduled functions (tick, reconcile, retention) return an error only
//     when the failure may pass by itself (throttling, an unavailable
//     dependency, an unexpected error); the next scheduled run redoes the
//     work anyway, so failures an admin must fix are logged, not retried.
//   - regionrun reports failed records in batchItemFailures so that SQS
//     redelivers only those; a body that does not decode is logged and
//     dropped, since redelivering it cannot help.
//   - jobevents drops irrelevant and malformed events and returns the
//     use-case's error, so that Lambda's async retries (then the dead-letter
//     queue and the reconciler) cover passing failures.
package lambdafn
