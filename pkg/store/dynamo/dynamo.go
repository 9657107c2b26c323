package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// DefaultEndedRetention is how long ended sessions, units and tasks that
// hold no restore point stay in the table before DynamoDB's TTL removes
// them: over a year, so that the daily report and the API can look back
// that far.
const DefaultEndedRetention = 400 * 24 * time.Hour

// Store is engine.Store on one DynamoDB table (see the package comment for
// its layout).
type Store struct {
	db            *dynamodb.Client
	table         string
	endedRetained time.Duration

	mu  sync.Mutex
	ops map[string]int
}

var _ engine.Store = (*Store)(nil)

// Option changes a Store's settings.
type Option func(*Store)

// WithEndedRetention sets how long ended records stay before they expire;
// 0 or less turns expiry off (no expiresAt is written).
func WithEndedRetention(d time.Duration) Option {
	return func(s *Store) { s.endedRetained = d }
}

// New returns a store on an existing table (CreateTable makes one).
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{db: client, table: table, endedRetained: DefaultEndedRetention, ops: map[string]int{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Ops returns how many DynamoDB calls the store has made, by API operation
// (GetItem, PutItem, Query, ...).
func (s *Store) Ops() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ops)
}

func (s *Store) count(op string) {
	s.mu.Lock()
	s.ops[op]++
	s.mu.Unlock()
}

// item is one DynamoDB item.
type item = map[string]types.AttributeValue

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// The records are encoded with their json tags, so that attribute names
// are the API's field names.
func useJSONTags(o *attributevalue.EncoderOptions)  { o.TagKey = "json" }
func readJSONTags(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// encode turns a record into an item with the given extra attributes
// (keys, index keys, expiry), and the version the write will store.
func encode(rec any, extra item, version int64) (item, error) {
	m, err := attributevalue.MarshalMapWithOptions(rec, useJSONTags)
	if err != nil {
		return nil, err
	}
	maps.Copy(m, extra)
	m[attrVersion] = num(version)
	return m, nil
}

func decode[T any](m item) (*T, error) {
	var v T
	if err := attributevalue.UnmarshalMapWithOptions(m, &v, readJSONTags); err != nil {
		return nil, err
	}
	return &v, nil
}

// fail wraps a DynamoDB error with the step and the record, and the engine
// code that tells the caller what to do about it.
func fail(err error, format string, args ...any) error {
	code := engine.EINTERNAL
	var ae smithy.APIError
	switch {
	case errors.As(err, new(*types.ConditionalCheckFailedException)):
		code = engine.ECONFLICT
	case errors.As(err, new(*types.ProvisionedThroughputExceededException)),
		errors.As(err, new(*types.RequestLimitExceeded)),
		errors.As(err, new(*types.ThrottlingException)):
		code = engine.ETHROTTLED
	case errors.As(err, &ae):
		switch ae.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded":
			code = engine.ETHROTTLED
		case "ValidationException":
			code = engine.EINVALID
		case "ResourceNotFoundException":
			code = engine.EUNAVAIL
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = engine.EUNAVAIL
	}
	return &engine.Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// get reads one item with a strongly consistent read; ENOTFOUND if absent.
func (s *Store) get(ctx context.Context, pk, sk, kind, id string) (item, error) {
	s.count("GetItem")
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            item{attrPK: str(pk), attrSK: str(sk)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fail(err, "read %s %q from table %s", kind, id, s.table)
	}
	if out.Item == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, "%s %q not found", kind, id)
	}
	return out.Item, nil
}

func decodeAs[T any](m item, kind, id string) (*T, error) {
	v, err := decode[T](m)
	if err != nil {
		return nil, fail(err, "decode %s %q", kind, id)
	}
	return v, nil
}

// getRecord reads and decodes one record.
func getRecord[T any](ctx context.Context, s *Store, pk, sk, kind, id string) (*T, error) {
	m, err := s.get(ctx, pk, sk, kind, id)
	if err != nil {
		return nil, err
	}
	return decodeAs[T](m, kind, id)
}

// write stores rec with the extra attributes at version read+1, if read is
// the stored version (0: if it does not exist).
func (s *Store) write(ctx context.Context, rec any, extra item, read int64, kind, id string) error {
	m, err := encode(rec, extra, read+1)
	if err != nil {
		return fail(err, "encode %s %q", kind, id)
	}
	return s.put(ctx, m, read, kind, id)
}

// put writes an item if the stored version is read (0: if it does not
// exist), storing version read+1.
func (s *Store) put(ctx context.Context, m item, read int64, kind, id string) error {
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: m}
	if read == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(" + attrPK + ")")
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = item{":v": num(read)}
	}
	s.count("PutItem")
	if _, err := s.db.PutItem(ctx, in); err != nil {
		if read == 0 {
			return fail(err, "create %s %q", kind, id)
		}
		return fail(err, "write %s %q at version %d", kind, id, read)
	}
	return nil
}

// query calls fn on every item a query returns, page after page, until fn
// returns false.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput, what string, fn func(item) (bool, error)) error {
	in.TableName = &s.table
	for {
		s.count("Query")
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fail(err, "query %s", what)
		}
		for _, m := range out.Items {
			more, err := fn(m)
			if err != nil || !more {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// queryAll decodes every item a query returns.
func queryAll[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, what string) ([]*T, error) {
	var out []*T
	err := s.query(ctx, in, what, func(m item) (bool, error) {
		v, err := decode[T](m)
		if err != nil {
			return false, fail(err, "decode %s", what)
		}
		out = append(out, v)
		return true, nil
	})
	return out, err
}

// queryPage reads up to limit records that keep accepts, starting after
// cursor, and returns a cursor for the next page ("" when there is none).
// It asks for one record more than the page holds, so that the last page
// is known to be last; the cursor is the key of the page's last record,
// not DynamoDB's LastEvaluatedKey, because records after it may have been
// read and dropped.
func queryPage[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, keyAttrs []string, cursor string, limit int,
	what string, keep func(*T) bool) ([]*T, string, error) {
	if cursor != "" {
		var pos map[string]string
		if err := store.DecodeCursor(cursor, &pos); err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = item{}
		for _, a := range keyAttrs {
			v, ok := pos[a]
			if !ok || len(pos) != len(keyAttrs) {
				return nil, "", engine.Errorf(engine.EINVALID, "page cursor %q does not belong to this query", cursor)
			}
			in.ExclusiveStartKey[a] = str(v)
		}
	}
	var recs []*T
	var keys []item
	in.Limit = aws.Int32(int32(min(limit+1, 1000)))
	err := s.query(ctx, in, what, func(m item) (bool, error) {
		v, err := decode[T](m)
		if err != nil {
			return false, fail(err, "decode %s", what)
		}
		if keep == nil || keep(v) {
			recs = append(recs, v)
			keys = append(keys, m)
		}
		return len(recs) <= limit, nil
	})
	if err != nil || len(recs) <= limit {
		return recs, "", err
	}
	pos := map[string]string{}
	for _, a := range keyAttrs {
		if v, ok := keys[limit-1][a].(*types.AttributeValueMemberS); ok {
			pos[a] = v.Value
		}
	}
	return recs[:limit], store.EncodeCursor(pos), nil
}

// expiry is the expiresAt attribute for a record that ended at end.
func (s *Store) expiry(end time.Time) types.AttributeValue {
	if s.endedRetained <= 0 || end.IsZero() {
		return nil
	}
	return num(end.Add(s.endedRetained).Unix())
}
