package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Write helpers of the records added after engine.Store: index runs,
// worker configurations and restore sessions. Their writes check more than
// the version, so a failed condition needs the stored item to say why.

// storedAfterFailure returns the item a failed conditional write found
// (nil if there was none). DynamoDB returns it with the error when asked
// (ReturnValuesOnConditionCheckFailure, no read capacity); emulators that
// do not (dynalite) cost one strongly consistent GetItem.
func (s *Store) storedAfterFailure(ctx context.Context, err error, pk, sk, kind, id string) (item, error) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) && len(ccf.Item) > 0 {
		return ccf.Item, nil
	}
	m, gerr := s.get(ctx, pk, sk, kind, id)
	if engine.IsNotFound(gerr) {
		return nil, nil
	}
	return m, gerr
}

// versionOf is an item's version attribute (0 if it has none).
func versionOf(m item) int64 {
	if v, ok := m[attrVersion].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

// sOf is an item's string attribute ("" if it has none).
func sOf(m item, name string) string {
	if v, ok := m[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// putGuarded writes m if the stored version is read and the stored
// attribute guard equals m's (read 0: if the item does not exist). The
// guard is something the write must not change (an index run's file
// system), or a digest whose change needs work first (a restore's job
// ids). When the condition fails it returns ECONFLICT and the stored item
// (nil if absent), so that the caller can tell a stale version from a
// changed guard: 1 PutItem, and on failure 1 GetItem against emulators.
func (s *Store) putGuarded(ctx context.Context, m item, read int64, guard, kind, id string) (item, error) {
	if read == 0 {
		return nil, s.put(ctx, m, 0, kind, id)
	}
	s.count("PutItem")
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                m,
		ConditionExpression:                 aws.String("#v = :v AND #g = :g"),
		ExpressionAttributeNames:            map[string]string{"#v": attrVersion, "#g": guard},
		ExpressionAttributeValues:           item{":v": num(read), ":g": m[guard]},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil, nil
	}
	err = fail(err, "write %s %q at version %d", kind, id, read)
	if !engine.IsConflict(err) {
		return nil, err
	}
	stored, gerr := s.storedAfterFailure(ctx, err, sOf(m, attrPK), sOf(m, attrSK), kind, id)
	if gerr != nil {
		return nil, gerr
	}
	return stored, err
}

// deleteVersioned deletes an item if version is the stored one: 1
// DeleteItem, and on a failed condition 1 GetItem against emulators, to
// tell ENOTFOUND from ECONFLICT.
func (s *Store) deleteVersioned(ctx context.Context, pk, sk string, version int64, kind, id string) error {
	s.count("DeleteItem")
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           &s.table,
		Key:                                 item{attrPK: str(pk), attrSK: str(sk)},
		ConditionExpression:                 aws.String("#v = :v"),
		ExpressionAttributeNames:            map[string]string{"#v": attrVersion},
		ExpressionAttributeValues:           item{":v": num(version)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil
	}
	err = fail(err, "delete %s %q at version %d", kind, id, version)
	if !engine.IsConflict(err) {
		return err
	}
	stored, gerr := s.storedAfterFailure(ctx, err, pk, sk, kind, id)
	switch {
	case gerr != nil:
		return gerr
	case stored == nil:
		return engine.Errorf(engine.ENOTFOUND, "%s %q not found", kind, id)
	}
	return err
}

// batchPut writes items without conditions, 25 to a BatchWriteItem, and
// retries what DynamoDB leaves unprocessed (throttling) with backoff.
func (s *Store) batchPut(ctx context.Context, items []item, what string) error {
	for len(items) > 0 {
		n := min(len(items), 25)
		reqs := make([]types.WriteRequest, n)
		for i, m := range items[:n] {
			reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: m}}
		}
		items = items[n:]
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for attempt := 0; len(pending[s.table]) > 0; attempt++ {
			if attempt == 8 {
				return engine.Errorf(engine.ETHROTTLED, "write %s: %d items still unprocessed after %d attempts", what, len(pending[s.table]), attempt)
			}
			if attempt > 0 {
				select {
				case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
				case <-ctx.Done():
					return fail(ctx.Err(), "write %s", what)
				}
			}
			s.count("BatchWriteItem")
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fail(err, "write %s", what)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}
