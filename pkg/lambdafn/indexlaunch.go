package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// launchReserve is the time a record needs at least: an index launch makes
// a handful of EC2 and EFS calls and a few store writes.
const launchReserve = 20 * time.Second

// IndexLaunch returns the indexlaunch function's handler. Each SQS record's
// body is one engine.IndexRunMsg, which jobevents or the reconciler queued
// when a backup completed. Records run one after the other; a record whose
// launch failed for a passing reason is reported in batchItemFailures, so
// that SQS redelivers only it (the run record and the EC2 client token make
// the redelivery launch nothing twice). A body that does not decode is
// logged and dropped. Records the invocation has no time left for are
// reported as failures too.
func IndexLaunch(f *IndexFunction) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		log := f.Indexer.Log
		for _, rec := range ev.Records {
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < launchReserve || ctx.Err() != nil {
				log.WarnContext(ctx, "index launch not started before the deadline; SQS redelivers it", "messageId", rec.MessageId)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				continue
			}
			m, err := DecodeIndexRunMsg([]byte(rec.Body))
			if err != nil {
				log.ErrorContext(ctx, "index-run message dropped: its body is not an index run", "messageId", rec.MessageId,
					"receiveCount", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
				continue
			}
			rlog := log.With("messageId", rec.MessageId, "policy", m.PolicyID, "session", m.SessionID, "account", m.Account,
				"region", m.Region, "fileSystem", m.FileSystem)
			if err := f.Indexer.Launch(ctx, m); err != nil {
				rlog.ErrorContext(ctx, "index launch failed; SQS redelivers it", "receiveCount", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				continue
			}
			rlog.DebugContext(ctx, "index launch done")
		}
		return resp, nil
	}
}

var indexFileSystemID = regexp.MustCompile(`^fs-[0-9a-f]{8,40}$`)

// DecodeIndexRunMsg decodes the body of an index-run message and checks
// that it names one task: the task id must be the one engine.TaskID derives
// from its session, account, Region and file system, and the session must
// belong to the policy. Unknown fields are ignored (a rolling deployment).
func DecodeIndexRunMsg(body []byte) (engine.IndexRunMsg, error) {
	var m engine.IndexRunMsg
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("decode index-run message: %w", err)
	}
	switch {
	case m.PolicyID == "" || !strings.HasPrefix(m.SessionID, m.PolicyID+"#") || len(m.SessionID) == len(m.PolicyID)+1:
		return m, fmt.Errorf("index-run message: sessionId %q does not belong to policy %q", m.SessionID, m.PolicyID)
	case !accountID.MatchString(m.Account):
		return m, fmt.Errorf("index-run message: account %q is not a 12-digit AWS account id", m.Account)
	case !policy.IsRegion(m.Region):
		return m, fmt.Errorf("index-run message: region %q is not an AWS Region", m.Region)
	case !indexFileSystemID.MatchString(m.FileSystem):
		return m, fmt.Errorf("index-run message: fileSystem %q is not a file system id", m.FileSystem)
	case m.TaskID != engine.TaskID(m.SessionID, engine.Loc{Account: m.Account, Region: m.Region}, m.FileSystem):
		return m, fmt.Errorf("index-run message: taskId %q is not the task of %s in session %s", m.TaskID, m.FileSystem, m.SessionID)
	case !strings.HasPrefix(m.RecoveryPointArn, "arn:"):
		return m, fmt.Errorf("index-run message: recoveryPointArn %q is not an ARN", m.RecoveryPointArn)
	}
	return m, nil
}
