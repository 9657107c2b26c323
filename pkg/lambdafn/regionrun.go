package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// RegionRunConcurrency is how many records of one SQS batch run at once. A
// region run makes bursts of AWS Backup calls, which throttle at a few
// calls per second per account and Region; a few in parallel shorten a
// batch without inviting throttling.
const RegionRunConcurrency = 4

// RegionRun returns the regionrun function's handler. Each SQS record's body
// is one engine.RegionRunMsg. A record whose run fails is reported in
// batchItemFailures, so that SQS redelivers only it (and, after the queue's
// maxReceiveCount, moves it to the dead-letter queue); a body that does not
// decode is logged at error level and dropped, because redelivering it
// cannot make it decode. Records not started before the invocation's
// deadline are reported as failures too.
func RegionRun(e *engine.Engine) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		failed := make([]bool, len(ev.Records))
		sem := make(chan struct{}, RegionRunConcurrency)
		var wg sync.WaitGroup
		for i := range ev.Records {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				// Out of time: leave the rest to SQS.
				failed[i] = true
				e.Log.WarnContext(ctx, "region run not started before the deadline; SQS redelivers it", "messageId", ev.Records[i].MessageId)
				continue
			}
			wg.Add(1)
			go func(i int) {
				defer func() { <-sem; wg.Done() }()
				failed[i] = !regionRunRecord(ctx, e, ev.Records[i])
			}(i)
		}
		wg.Wait()
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i, f := range failed {
			if f {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

// regionRunRecord runs one record and reports whether it is finished with
// (done, or dropped for good).
func regionRunRecord(ctx context.Context, e *engine.Engine, rec events.SQSMessage) bool {
	m, err := DecodeRegionRunMsg([]byte(rec.Body))
	if err != nil {
		e.Log.ErrorContext(ctx, "region-run message dropped: its body is not a region run", "messageId", rec.MessageId,
			"receiveCount", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
		return true
	}
	log := e.Log.With("messageId", rec.MessageId, "policy", m.PolicyID, "session", m.SessionID, "account", m.Account, "region", m.Region)
	if err := e.RunRegion(ctx, m); err != nil {
		log.ErrorContext(ctx, "region run failed; SQS redelivers it", "receiveCount", rec.Attributes["ApproximateReceiveCount"], "error", err.Error())
		return false
	}
	log.DebugContext(ctx, "region run done")
	return true
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// DecodeRegionRunMsg decodes the body of a region-run message: one JSON
// object with sessionId, policyId, account and region, as the tick and the
// reconciler send it. The session id must belong to the policy and the
// Region must be a real one; fields added by a later version are ignored,
// so that a rolling deployment does not drop messages.
func DecodeRegionRunMsg(body []byte) (engine.RegionRunMsg, error) {
	var m engine.RegionRunMsg
	if err := json.Unmarshal(body, &m); err != nil {
		return m, fmt.Errorf("decode region-run message: %w", err)
	}
	switch {
	case m.PolicyID == "":
		return m, fmt.Errorf("region-run message without policyId")
	case !strings.HasPrefix(m.SessionID, m.PolicyID+"#") || len(m.SessionID) == len(m.PolicyID)+1:
		return m, fmt.Errorf("region-run message: sessionId %q does not belong to policy %q", m.SessionID, m.PolicyID)
	case !accountID.MatchString(m.Account):
		return m, fmt.Errorf("region-run message: account %q is not a 12-digit AWS account id", m.Account)
	case !policy.IsRegion(m.Region):
		return m, fmt.Errorf("region-run message: region %q is not an AWS Region", m.Region)
	}
	return m, nil
}
