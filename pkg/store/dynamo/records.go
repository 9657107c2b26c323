package dynamo

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// keyQuery builds a query of one partition of the table (strongly
// consistent) or of an index, with an optional sort key condition on #sk
// whose values are :a and :b.
func keyQuery(index string, pk string, skCond string, values ...string) *dynamodb.QueryInput {
	pkAttr, skAttr := AttrPK, AttrSK
	if index != "" {
		pkAttr, skAttr = index+"pk", index+"sk"
	}
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: item{":pk": str(pk)},
	}
	if index != "" {
		in.IndexName = aws.String(index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	if skCond != "" {
		*in.KeyConditionExpression += " AND " + skCond
		in.ExpressionAttributeNames["#sk"] = skAttr
		for i, v := range values {
			in.ExpressionAttributeValues[[]string{":a", ":b"}[i]] = str(v)
		}
	}
	return in
}

// --- policies

// GetPolicy reads one policy record (1 GetItem).
func (s *Store) GetPolicy(ctx context.Context, id string) (*engine.PolicyRecord, error) {
	pk, sk := policyKey(id)
	return getRecord[engine.PolicyRecord](ctx, s, pk, sk, "policy", id)
}

// ListPolicies reads every policy record, by id (1 Query per 1 MB).
func (s *Store) ListPolicies(ctx context.Context) ([]*engine.PolicyRecord, error) {
	return queryAll[engine.PolicyRecord](ctx, s, keyQuery("", pkPolicies, "begins_with(#sk, :a)", skPolicyPrefix), "policies")
}

// PutPolicy writes the record at p.Version (0 creates it) (1 PutItem).
func (s *Store) PutPolicy(ctx context.Context, p *engine.PolicyRecord) error {
	if p == nil || p.Policy == nil || p.Policy.ID == "" {
		return engine.Errorf(engine.EINVALID, "put policy: the record has no policy id")
	}
	if err := s.write(ctx, p, policyAttrs(p), p.Version, "policy", p.Policy.ID); err != nil {
		return err
	}
	p.Version++
	return nil
}

// DeletePolicy deletes the policy if version is the stored one (1
// DeleteItem, and 1 GetItem when the condition fails).
func (s *Store) DeletePolicy(ctx context.Context, id string, version int64) error {
	pk, sk := policyKey(id)
	s.count("DeleteItem")
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       item{attrPK: str(pk), attrSK: str(sk)},
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
		ExpressionAttributeValues: item{":v": num(version)},
	})
	if err == nil {
		return nil
	}
	err = fail(err, "delete policy %q at version %d", id, version)
	if engine.IsConflict(err) {
		if _, gerr := s.get(ctx, pk, sk, "policy", id); engine.IsNotFound(gerr) {
			return gerr
		}
	}
	return err
}

// DuePolicies queries gsi1 DUEPOLICY up to now (1 Query per 1 MB).
func (s *Store) DuePolicies(ctx context.Context, now time.Time) ([]*engine.PolicyRecord, error) {
	return queryAll[engine.PolicyRecord](ctx, s, keyQuery(IndexWork, gsiDuePolicy, "#sk < :a", upTo(now)), "due policies")
}

// --- sessions

// CreateSession writes a new session (1 PutItem).
func (s *Store) CreateSession(ctx context.Context, ss *engine.Session) error {
	return s.putSession(ctx, ss, 0)
}

// PutSession writes the session at ss.Version (1 PutItem).
func (s *Store) PutSession(ctx context.Context, ss *engine.Session) error {
	return s.putSession(ctx, ss, ss.Version)
}

func (s *Store) putSession(ctx context.Context, ss *engine.Session, read int64) error {
	if err := store.CheckSession(ss); err != nil {
		return err
	}
	if err := s.write(ctx, ss, s.sessionAttrs(ss), read, "session", ss.ID); err != nil {
		return err
	}
	ss.Version = read + 1
	return nil
}

// GetSession reads one session (1 GetItem).
func (s *Store) GetSession(ctx context.Context, id string) (*engine.Session, error) {
	pk, sk := sessionKey(id)
	return getRecord[engine.Session](ctx, s, pk, sk, "session", id)
}

// AdjustSession adds d to the counters and 1 to the version in one
// UpdateItem and returns the session as it now is. DynamoDB's ADD cannot
// reach the nested counters, so it is SET with +, which is as atomic.
func (s *Store) AdjustSession(ctx context.Context, id string, d engine.SessionDelta) (*engine.Session, error) {
	pk, sk := sessionKey(id)
	s.count("UpdateItem")
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 item{attrPK: str(pk), attrSK: str(sk)},
		ConditionExpression: aws.String("attribute_exists(#pk)"),
		UpdateExpression:    aws.String("SET #c.#u = #c.#u + :u, #c.#t = #c.#t + :t, #v = #v + :one"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#c": "counters", "#u": "openUnits", "#t": "openTasks", "#v": attrVersion,
		},
		ExpressionAttributeValues: item{
			":u": num(int64(d.OpenUnits)), ":t": num(int64(d.OpenTasks)), ":one": num(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		err = fail(err, "adjust session %q by %+v", id, d)
		if engine.IsConflict(err) {
			return nil, engine.Errorf(engine.ENOTFOUND, "session %q not found", id)
		}
		return nil, err
	}
	return decodeAs[engine.Session](out.Attributes, "session", id)
}

// ListSessions reads sessions newest first: one policy's from its
// partition, all from gsi2 SESSIONS (1 Query per page, more when a page
// straddles 1 MB).
func (s *Store) ListSessions(ctx context.Context, q engine.SessionQuery) ([]*engine.Session, string, error) {
	var in *dynamodb.QueryInput
	keyAttrs := mainKey
	if q.PolicyID != "" {
		// Session ids are "<policy>#<RFC 3339 in whole seconds>": bound them
		// by the seconds of From and To, and drop the rest below.
		prefix := skSession + q.PolicyID + "#"
		lo, hi := prefix, prefix+"~"
		if !q.From.IsZero() {
			lo = skSession + engine.SessionID(q.PolicyID, q.From)
		}
		if !q.To.IsZero() {
			hi = skSession + engine.SessionID(q.PolicyID, q.To)
		}
		in = keyQuery("", pkPolicyPrefix+q.PolicyID, "#sk BETWEEN :a AND :b", lo, hi)
	} else {
		switch {
		case !q.From.IsZero() && !q.To.IsZero():
			in = keyQuery(IndexByJob, gsiSessions, "#sk BETWEEN :a AND :b", ts(q.From), ts(q.To))
		case !q.From.IsZero():
			in = keyQuery(IndexByJob, gsiSessions, "#sk >= :a", ts(q.From))
		case !q.To.IsZero():
			in = keyQuery(IndexByJob, gsiSessions, "#sk < :a", ts(q.To))
		default:
			in = keyQuery(IndexByJob, gsiSessions, "")
		}
		keyAttrs = gsi2Key
	}
	in.ScanIndexForward = aws.Bool(false)
	inRange := func(ss *engine.Session) bool {
		return (q.From.IsZero() || !ss.ScheduledAt.Before(q.From)) && (q.To.IsZero() || ss.ScheduledAt.Before(q.To))
	}
	return queryPage(ctx, s, in, keyAttrs, q.Cursor, store.Limit(q.Limit), "sessions", inRange)
}

// RunningSessions queries gsi1 RUNNING, oldest first (1 Query per 1 MB).
func (s *Store) RunningSessions(ctx context.Context) ([]*engine.Session, error) {
	return queryAll[engine.Session](ctx, s, keyQuery(IndexWork, gsiRunning, ""), "running sessions")
}

// --- units

// CreateUnit writes a new unit (1 PutItem).
func (s *Store) CreateUnit(ctx context.Context, u *engine.Unit) error { return s.putUnit(ctx, u, 0) }

// PutUnit writes the unit at u.Version (1 PutItem).
func (s *Store) PutUnit(ctx context.Context, u *engine.Unit) error {
	return s.putUnit(ctx, u, u.Version)
}

func (s *Store) putUnit(ctx context.Context, u *engine.Unit, read int64) error {
	if err := store.CheckUnit(u); err != nil {
		return err
	}
	if err := s.write(ctx, u, s.unitAttrs(u), read, "unit", u.ID()); err != nil {
		return err
	}
	u.Version = read + 1
	return nil
}

// GetUnit reads one unit (1 GetItem).
func (s *Store) GetUnit(ctx context.Context, id string) (*engine.Unit, error) {
	pk, sk := unitKey(id)
	return getRecord[engine.Unit](ctx, s, pk, sk, "unit", id)
}

// SessionUnits reads a session's units, by id (1 Query per 1 MB).
func (s *Store) SessionUnits(ctx context.Context, sessionID string) ([]*engine.Unit, error) {
	pk, _ := sessionKey(sessionID)
	return queryAll[engine.Unit](ctx, s, keyQuery("", pk, "begins_with(#sk, :a)", skUnit+sessionID+"#"), "units of session "+sessionID)
}

// --- tasks

// CreateTask writes a new task (1 PutItem).
func (s *Store) CreateTask(ctx context.Context, t *engine.Task) error { return s.putTask(ctx, t, 0) }

// PutTask writes the task at t.Version (1 PutItem); the item's index keys
// move with it.
func (s *Store) PutTask(ctx context.Context, t *engine.Task) error {
	return s.putTask(ctx, t, t.Version)
}

func (s *Store) putTask(ctx context.Context, t *engine.Task, read int64) error {
	if err := store.CheckTask(t); err != nil {
		return err
	}
	if err := s.write(ctx, t, s.taskAttrs(t), read, "task", t.ID()); err != nil {
		return err
	}
	t.Version = read + 1
	return nil
}

// GetTask reads one task (1 GetItem).
func (s *Store) GetTask(ctx context.Context, id string) (*engine.Task, error) {
	pk, sk := taskKey(id)
	return getRecord[engine.Task](ctx, s, pk, sk, "task", id)
}

// TaskByBackupJob queries gsi2 JOB#<id> (1 Query).
func (s *Store) TaskByBackupJob(ctx context.Context, jobID string) (*engine.Task, error) {
	return s.lookupTask(ctx, IndexByJob, gsiJob, jobID, "backup job")
}

// TaskByRecoveryPoint queries gsi3 RP#<arn> (1 Query).
func (s *Store) TaskByRecoveryPoint(ctx context.Context, arn string) (*engine.Task, error) {
	return s.lookupTask(ctx, IndexByPoint, gsiPoint, arn, "recovery point")
}

func (s *Store) lookupTask(ctx context.Context, index, prefix, value, what string) (*engine.Task, error) {
	if value == "" {
		return nil, engine.Errorf(engine.ENOTFOUND, "task of %s %q not found", what, value)
	}
	var found *engine.Task
	err := s.query(ctx, keyQuery(index, prefix+value, ""), "task of "+what+" "+value, func(m item) (bool, error) {
		var err error
		found, err = decodeAs[engine.Task](m, "task of "+what, value)
		return false, err
	})
	if err == nil && found == nil {
		err = engine.Errorf(engine.ENOTFOUND, "task of %s %q not found", what, value)
	}
	return found, err
}

// DueTasks queries the eight gsi1 DUETASK#<n> partitions in parallel up to
// now (8 Queries, more past 1 MB each) and merges them earliest first.
func (s *Store) DueTasks(ctx context.Context, now time.Time) ([]*engine.Task, error) {
	type shard struct {
		tasks []*engine.Task
		err   error
	}
	shards := make([]shard, DueTaskShards)
	var wg sync.WaitGroup
	for n := range shards {
		wg.Go(func() {
			pk := dueTaskPartition(uint32(n))
			shards[n].tasks, shards[n].err = queryAll[engine.Task](ctx, s, keyQuery(IndexWork, pk, "#sk < :a", upTo(now)), "due tasks "+pk)
		})
	}
	wg.Wait()
	var out []*engine.Task
	for _, sh := range shards {
		if sh.err != nil {
			return nil, sh.err
		}
		out = append(out, sh.tasks...)
	}
	slices.SortFunc(out, func(a, b *engine.Task) int {
		if c := a.NextCheckAt.Compare(b.NextCheckAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID(), b.ID())
	})
	return out, nil
}

// ListTasks reads the tasks of a session or a policy from the policy's
// partition, by id (1 Query per page; LiveOnly filters on the server, so
// a page may take more); a file system's live tasks from gsi4
// FS#<p>#<fs>; retention's work list from gsi1 RETAIN#<p> up to RetainBy.
func (s *Store) ListTasks(ctx context.Context, q engine.TaskQuery) ([]*engine.Task, string, error) {
	listing, err := store.CheckTaskQuery(q)
	if err != nil {
		return nil, "", err
	}
	limit := store.Limit(q.Limit)
	switch listing {
	case store.ListGroup:
		in := keyQuery(IndexByFS, fileSystemTasks(q.PolicyID, q.Loc, q.FileSystem), "")
		return queryPage[engine.Task](ctx, s, in, gsi4Key, q.Cursor, limit, "tasks of a file system", nil)
	case store.ListRetention:
		in := keyQuery(IndexWork, gsiRetain+q.PolicyID, "#sk < :a", upTo(q.RetainBy))
		return queryPage[engine.Task](ctx, s, in, gsi1Key, q.Cursor, limit, "retention work list", nil)
	}
	pk, prefix := pkPolicyPrefix+q.PolicyID, skTask
	if q.SessionID != "" {
		pk, prefix = policyPartition(q.SessionID), skTask+q.SessionID+"#"
	}
	in := keyQuery("", pk, "begins_with(#sk, :a)", prefix)
	if q.LiveOnly {
		in.FilterExpression = aws.String("#live = :live")
		in.ExpressionAttributeNames["#live"] = attrLive
		in.ExpressionAttributeValues[":live"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return queryPage[engine.Task](ctx, s, in, mainKey, q.Cursor, limit, "tasks", nil)
}
