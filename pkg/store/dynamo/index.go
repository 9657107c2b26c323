package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

var _ engine.IndexStore = (*Store)(nil)

// Keys of index runs and file system slots (doc.go has the layout).
const (
	pkIndexRunPrefix = "INDEXRUN#"
	skIndexRun       = "INDEXRUN"
	pkIndexLock      = "IXLOCK#"
	skIndexLock      = "IXLOCK"
	gsiDueIndex      = "DUEINDEX"
	gsiIndexFS       = "IXFS#"
	gsiIndexDone     = "IXDONE#"
	attrLockRun      = "runId"
	attrLockUntil    = "until"
)

var gsi3Key = []string{AttrPK, AttrSK, AttrGSI3PK, AttrGSI3SK}

func indexRunKey(id string) (pk, sk string) { return pkIndexRunPrefix + id, skIndexRun }

// fileSystemName is the part of a key that names one file system in one
// account and Region.
func fileSystemName(l engine.Loc, fileSystem string) string {
	return l.Account + "#" + l.Region + "#" + fileSystem
}

// checkIndexRun holds runs to the rules of the in-memory store: the id is
// derived from the task (a redelivery finds its run), and a run names its
// file system and location (its listing and slot keys).
func checkIndexRun(r *engine.IndexRun) error {
	if r == nil || r.ID == "" || r.TaskID == "" || r.FileSystem == "" || r.Loc.Account == "" || r.Loc.Region == "" {
		return engine.Errorf(engine.EINVALID, "index run: id, task, file system, account and Region are required")
	}
	if want := engine.IndexRunID(r.TaskID); r.ID != want {
		return engine.Errorf(engine.EINVALID, "index run %q: id must be %q, derived from task %q", r.ID, want, r.TaskID)
	}
	return nil
}

func (s *Store) indexRunAttrs(r *engine.IndexRun) item {
	pk, sk := indexRunKey(r.ID)
	fs := fileSystemName(r.Loc, r.FileSystem)
	byTime := ts(r.BackupCreatedAt) + "#" + r.ID
	var duePK, dueSK, donePK, doneSK string
	if !r.State.Terminal() && !r.Deadline.IsZero() {
		duePK, dueSK = gsiDueIndex, ts(r.Deadline)+"#"+r.ID
	}
	if r.State == engine.IndexDone {
		donePK, doneSK = gsiIndexDone+fs, byTime
	}
	m := attrs(attrPK, pk, attrSK, sk, attrType, "indexrun",
		AttrGSI1PK, duePK, AttrGSI1SK, dueSK, AttrGSI2PK, gsiIndexFS+fs, AttrGSI2SK, byTime, AttrGSI3PK, donePK, AttrGSI3SK, doneSK)
	// A done run names an index that restore browsing and later delta
	// indexes read: it stays. Failed and skipped runs, and runs whose
	// index was deleted after its restore points, are history only.
	if r.State == engine.IndexFailed || r.State == engine.IndexSkipped || r.State == engine.IndexDeleted {
		s.setExpiry(m, r.UpdatedAt)
	}
	return m
}

// CreateIndexRun writes a new run (1 PutItem); ECONFLICT if its id exists.
func (s *Store) CreateIndexRun(ctx context.Context, r *engine.IndexRun) error {
	return s.putIndexRun(ctx, r, 0)
}

// GetIndexRun reads one run (1 GetItem).
func (s *Store) GetIndexRun(ctx context.Context, id string) (*engine.IndexRun, error) {
	pk, sk := indexRunKey(id)
	return getRecord[engine.IndexRun](ctx, s, pk, sk, "index run", id)
}

// PutIndexRun writes the run at r.Version (1 PutItem; a failed condition
// costs 1 GetItem against emulators). The write is conditional on the
// stored run's file system listing key too, so that a run cannot move to
// another file system or location (EINVALID).
func (s *Store) PutIndexRun(ctx context.Context, r *engine.IndexRun) error {
	return s.putIndexRun(ctx, r, r.Version)
}

func (s *Store) putIndexRun(ctx context.Context, r *engine.IndexRun, read int64) error {
	if err := checkIndexRun(r); err != nil {
		return err
	}
	m, err := encode(r, s.indexRunAttrs(r), read+1)
	if err != nil {
		return fail(err, "encode index run %q", r.ID)
	}
	stored, err := s.putGuarded(ctx, m, read, AttrGSI2PK, "index run", r.ID)
	if stored != nil && versionOf(stored) == read {
		return engine.Errorf(engine.EINVALID, "index run %q: its file system and location cannot change (stored %s, written %s)",
			r.ID, sOf(stored, AttrGSI2PK), sOf(m, AttrGSI2PK))
	}
	if err != nil {
		return err
	}
	r.Version = read + 1
	return nil
}

// FileSystemIndexRuns pages through one file system's runs, newest restore
// point first: gsi2 IXFS#<fs>, or for DoneOnly the sparse gsi3 IXDONE#<fs>,
// backwards (1 Query per page, more past 1 MB).
func (s *Store) FileSystemIndexRuns(ctx context.Context, q engine.IndexRunQuery) ([]*engine.IndexRun, string, error) {
	fs := fileSystemName(q.Loc, q.FileSystem)
	in, keyAttrs := keyQuery(IndexByJob, gsiIndexFS+fs, ""), gsi2Key
	if q.DoneOnly {
		in, keyAttrs = keyQuery(IndexByPoint, gsiIndexDone+fs, ""), gsi3Key
	}
	in.ScanIndexForward = aws.Bool(false)
	return queryPage[engine.IndexRun](ctx, s, in, keyAttrs, q.Cursor, store.Limit(q.Limit), "index runs of "+q.FileSystem, nil)
}

// DueIndexRuns queries gsi1 DUEINDEX up to now, by deadline (1 Query per
// 1 MB). Only open runs with a deadline are in that list.
func (s *Store) DueIndexRuns(ctx context.Context, now time.Time) ([]*engine.IndexRun, error) {
	return queryAll[engine.IndexRun](ctx, s, keyQuery(IndexWork, gsiDueIndex, "#sk < :a", upTo(now)), "due index runs")
}

// LockFileSystem takes the file system's slot with one conditional PutItem
// (free, ours, or expired before now) that returns the item it replaced,
// which names an expired holder. A refusal returns the holder: DynamoDB
// sends the item with the failure; emulators cost 1 GetItem. If the slot
// changed between the two (freed meanwhile), it tries again.
func (s *Store) LockFileSystem(ctx context.Context, l engine.Loc, fileSystem, runID string, now, until time.Time) (engine.FileSystemLock, error) {
	name := fileSystemName(l, fileSystem)
	pk := pkIndexLock + name
	m := attrs(attrPK, pk, attrSK, skIndexLock, attrType, "indexlock", attrLockRun, runID, attrLockUntil, ts(until))
	s.setExpiry(m, until)
	var holder engine.FileSystemLock
	for attempt := 0; attempt < 3; attempt++ {
		s.count("PutItem")
		out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                           &s.table,
			Item:                                m,
			ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #run = :run OR #until < :now"),
			ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#run": attrLockRun, "#until": attrLockUntil},
			ExpressionAttributeValues:           item{":run": str(runID), ":now": str(ts(now))},
			ReturnValues:                        types.ReturnValueAllOld,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			lock := engine.FileSystemLock{RunID: runID, Until: until}
			if prev := sOf(out.Attributes, attrLockRun); prev != runID {
				lock.Previous = prev
			}
			return lock, nil
		}
		err = fail(err, "lock the index slot of %s for run %s", name, runID)
		if !engine.IsConflict(err) {
			return engine.FileSystemLock{}, err
		}
		stored, gerr := s.storedAfterFailure(ctx, err, pk, skIndexLock, "index slot", name)
		if gerr != nil {
			return engine.FileSystemLock{}, gerr
		}
		holder = engine.FileSystemLock{RunID: sOf(stored, attrLockRun)}
		holder.Until, _ = time.Parse(time.RFC3339Nano, sOf(stored, attrLockUntil))
		if stored != nil && holder.RunID != runID && !holder.Until.Before(now) {
			return holder, engine.Errorf(engine.ECONFLICT, "index slot of %s in %s is held by run %s until %s",
				fileSystem, l, holder.RunID, holder.Until.Format(time.RFC3339))
		}
		// Freed or expired between the write and the read: try again.
	}
	return holder, engine.Errorf(engine.ECONFLICT, "index slot of %s in %s changed hands during each of 3 attempts", fileSystem, l)
}

// UnlockFileSystem frees the slot if runID holds it: 1 DeleteItem on that
// condition, whose failure means someone else holds it (nothing to do).
func (s *Store) UnlockFileSystem(ctx context.Context, l engine.Loc, fileSystem, runID string) error {
	name := fileSystemName(l, fileSystem)
	s.count("DeleteItem")
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       item{attrPK: str(pkIndexLock + name), attrSK: str(skIndexLock)},
		ConditionExpression:       aws.String("#run = :run"),
		ExpressionAttributeNames:  map[string]string{"#run": attrLockRun},
		ExpressionAttributeValues: item{":run": str(runID)},
	})
	if err != nil {
		if err = fail(err, "unlock the index slot of %s for run %s", name, runID); !engine.IsConflict(err) {
			return err
		}
	}
	return nil
}
