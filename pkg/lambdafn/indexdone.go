package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// IndexDone returns the indexdone function's handler. The index bucket
// notifies it of objects created under results/ (S3 invokes it
// asynchronously, with the keys URL-encoded as in every S3 event). For each
// record it reads the result object and hands it to Indexer.Done.
// Notifications of other buckets, other event types, keys that are not
// result keys, results that were deleted meanwhile and result objects that
// do not decode are logged and dropped: a retry cannot change them. A
// passing failure is returned, so that Lambda retries the event (Done is
// idempotent) and, after that, the run's deadline takes over.
func IndexDone(f *IndexFunction) func(context.Context, events.S3Event) error {
	return func(ctx context.Context, ev events.S3Event) error {
		log := f.Indexer.Log
		var errs []error
		for _, rec := range ev.Records {
			key := rec.S3.Object.URLDecodedKey
			if key == "" {
				key = rec.S3.Object.Key
			}
			rlog := log.With("bucket", rec.S3.Bucket.Name, "key", key, "eventName", rec.EventName)
			if rec.EventSource != "aws:s3" || !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
				rlog.DebugContext(ctx, "S3 event ignored: not an object creation")
				continue
			}
			if rec.S3.Bucket.Name != f.Bucket {
				rlog.WarnContext(ctx, "S3 event ignored: not the index bucket", "indexBucket", f.Bucket)
				continue
			}
			runID, ok := engine.RunIDFromResultKey(key)
			if !ok {
				rlog.WarnContext(ctx, "S3 event ignored: the key is not a worker result (results/<run id>.json)")
				continue
			}
			body, err := f.Results.Get(ctx, key)
			switch code := engine.ErrorCode(err); {
			case err == nil:
			case code == engine.ENOTFOUND || code == engine.EINVALID || code == engine.EDENIED:
				rlog.ErrorContext(ctx, "worker result dropped: it cannot be read", "indexRun", runID, "error", err.Error())
				continue
			default:
				rlog.ErrorContext(ctx, "worker result not read; Lambda retries", "indexRun", runID, "error", err.Error())
				errs = append(errs, fmt.Errorf("read s3://%s/%s: %w", f.Bucket, key, err))
				continue
			}
			res, err := engine.ParseWorkerResult(body)
			if err == nil && res.RunID != runID {
				err = fmt.Errorf("the result names run %s", res.RunID)
			}
			if err != nil {
				rlog.ErrorContext(ctx, "worker result dropped: it is not a result of this run", "indexRun", runID, "error", err.Error())
				continue
			}
			if err := f.Indexer.Done(ctx, res); err != nil {
				rlog.ErrorContext(ctx, "index result not recorded; Lambda retries", "indexRun", runID, "error", err.Error())
				errs = append(errs, fmt.Errorf("index result %s: %w", runID, err))
				continue
			}
			rlog.DebugContext(ctx, "index result recorded", "indexRun", runID)
		}
		return errors.Join(errs...)
	}
}
