package awscloud

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Queue implements engine.Queue with two SQS queues of the home account
// in the home Region: region runs and index runs.
type Queue struct {
	c                             *Cloud
	RegionQueueURL, IndexQueueURL string
}

var _ engine.Queue = (*Queue)(nil)

// Queue returns the SQS adapter for the two queues (either URL may be ""
// in a function that never sends to it; sending there is then EINVALID).
func (c *Cloud) Queue(regionQueueURL, indexQueueURL string) *Queue {
	return &Queue{c: c, RegionQueueURL: regionQueueURL, IndexQueueURL: indexQueueURL}
}

// SendRegionRun sends one region-run message as JSON.
func (q *Queue) SendRegionRun(ctx context.Context, m engine.RegionRunMsg) error {
	return q.send(ctx, q.RegionQueueURL, m, "queue the region run of session "+m.SessionID+" in "+m.Loc().String())
}

// SendIndexRun sends one index-run message as JSON.
func (q *Queue) SendIndexRun(ctx context.Context, m engine.IndexRunMsg) error {
	return q.send(ctx, q.IndexQueueURL, m, "queue the index run of "+m.FileSystem+" in "+m.Account+"/"+m.Region)
}

func (q *Queue) send(ctx context.Context, url string, m any, step string) error {
	if url == "" {
		return engine.Errorf(engine.EINVALID, "%s: no queue URL configured", step)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return engine.Errorf(engine.EINTERNAL, "%s: encode message: %v", step, err)
	}
	_, err = q.c.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(url),
		MessageBody: aws.String(string(body)),
	})
	return wrap(err, "%s", step)
}
