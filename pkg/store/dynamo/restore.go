package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

var _ engine.RestoreStore = (*Store)(nil)

// Keys of restore sessions and of their job pointers (doc.go has the
// layout).
const (
	pkRestorePrefix    = "RESTORE#"
	skRestore          = "RESTORE"
	pkRestoreJobPrefix = "RESTOREJOB#"
	skRestoreJob       = "RESTOREJOB"
	gsiRestores        = "RESTORES"
	gsiRunningRestores = "RUNNINGRESTORES"
	attrJobsKey        = "jobsKey"   // digest of a session's started job ids
	attrRestoreID      = "restoreId" // a job pointer's session
)

func restoreKey(id string) (pk, sk string)       { return pkRestorePrefix + id, skRestore }
func restoreJobKey(jobID string) (pk, sk string) { return pkRestoreJobPrefix + jobID, skRestoreJob }

// jobsKey is a digest of a session's job ids, in any order. Every write
// of a session is conditional on it as well as on the version: a write
// that keeps the job ids (every event after the starts) needs nothing
// else; one that adds job ids must write their pointers first.
func jobsKey(ids []string) string {
	ids = slices.Sorted(slices.Values(ids))
	h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return hex.EncodeToString(h[:16])
}

func (s *Store) restoreAttrs(r *engine.Restore) item {
	pk, sk := restoreKey(r.ID)
	byTime := ts(r.CreatedAt) + "#" + r.ID
	var runPK, runSK string
	if r.Status == engine.RestoreRunning {
		runPK, runSK = gsiRunningRestores, byTime
	}
	m := attrs(attrPK, pk, attrSK, sk, attrType, "restore", attrJobsKey, jobsKey(r.JobIDs()),
		AttrGSI1PK, runPK, AttrGSI1SK, runSK, AttrGSI2PK, gsiRestores, AttrGSI2SK, byTime)
	if r.Status.Terminal() {
		end := r.EndedAt
		if end.IsZero() {
			end = r.UpdatedAt
		}
		s.setExpiry(m, end)
	}
	return m
}

// pointJobs writes the pointers from job ids to session r, 25 to a
// BatchWriteItem. A pointer outlives the session's running time (it
// expires with the retention of ended records, counted from the session's
// creation); one whose session does not carry its job id (a write that
// lost its race) is ignored by RestoreByJob.
func (s *Store) pointJobs(ctx context.Context, r *engine.Restore, jobIDs []string) error {
	if len(jobIDs) == 0 {
		return nil
	}
	born := r.CreatedAt
	if born.IsZero() {
		born = r.UpdatedAt
	}
	items := make([]item, len(jobIDs))
	for i, id := range jobIDs {
		pk, sk := restoreJobKey(id)
		items[i] = attrs(attrPK, pk, attrSK, sk, attrType, "restorejob", attrRestoreID, r.ID)
		s.setExpiry(items[i], born)
	}
	return s.batchPut(ctx, items, "job pointers of restore "+r.ID)
}

// CreateRestore writes a new session (1 PutItem; a session created with
// started jobs first writes their pointers, 1 BatchWriteItem per 25).
func (s *Store) CreateRestore(ctx context.Context, r *engine.Restore) error {
	return s.putRestore(ctx, r, 0)
}

// GetRestore reads one session (1 GetItem).
func (s *Store) GetRestore(ctx context.Context, id string) (*engine.Restore, error) {
	pk, sk := restoreKey(id)
	return getRecord[engine.Restore](ctx, s, pk, sk, "restore", id)
}

// PutRestore writes the session at r.Version. A write that keeps the job
// ids is 1 PutItem. One that starts jobs finds out from that PutItem's
// failed condition, learns the stored job ids (from the failure, or 1
// GetItem against emulators), writes the new ids' pointers (1
// BatchWriteItem per 25) and then the session (1 PutItem): a session never
// carries a job id without its pointer, so an event of a started job finds
// its session even if the writer stopped in between.
func (s *Store) PutRestore(ctx context.Context, r *engine.Restore) error {
	return s.putRestore(ctx, r, r.Version)
}

func (s *Store) putRestore(ctx context.Context, r *engine.Restore, read int64) error {
	if r == nil || r.ID == "" {
		return engine.Errorf(engine.EINVALID, "put restore: the record has no id")
	}
	m, err := encode(r, s.restoreAttrs(r), read+1)
	if err != nil {
		return fail(err, "encode restore %q", r.ID)
	}
	if read == 0 {
		if err := s.pointJobs(ctx, r, r.JobIDs()); err != nil {
			return err
		}
		err = s.put(ctx, m, 0, "restore", r.ID)
	} else {
		var stored item
		stored, err = s.putGuarded(ctx, m, read, attrJobsKey, "restore", r.ID)
		if stored != nil && versionOf(stored) == read {
			err = s.putNewJobs(ctx, r, m, stored, read)
		}
	}
	if err != nil {
		return err
	}
	r.Version = read + 1
	return nil
}

// putNewJobs writes a session whose job ids differ from the stored ones
// at the same version: the new ids' pointers first, then the session.
func (s *Store) putNewJobs(ctx context.Context, r *engine.Restore, m, stored item, read int64) error {
	old, err := decodeAs[struct {
		Jobs []engine.RestoreJob `json:"jobs"`
	}](stored, "restore", r.ID)
	if err != nil {
		return err
	}
	had := map[string]bool{}
	for _, j := range old.Jobs {
		had[j.JobID] = true
	}
	var added []string
	for _, id := range r.JobIDs() {
		if !had[id] {
			added = append(added, id)
		}
	}
	if err := s.pointJobs(ctx, r, added); err != nil {
		return err
	}
	return s.put(ctx, m, read, "restore", r.ID)
}

// ListRestores reads sessions newest first from gsi2 RESTORES, or for
// RunningOnly the sparse gsi1 RUNNINGRESTORES, backwards (1 Query per page,
// more past 1 MB: a large session's item is a few hundred KB).
func (s *Store) ListRestores(ctx context.Context, q engine.RestoreQuery) ([]*engine.Restore, string, error) {
	index, pk, keyAttrs := IndexByJob, gsiRestores, gsi2Key
	if q.RunningOnly {
		index, pk, keyAttrs = IndexWork, gsiRunningRestores, gsi1Key
	}
	in := keyQuery(index, pk, "")
	if !q.Since.IsZero() {
		in = keyQuery(index, pk, "#sk >= :a", ts(q.Since))
	}
	in.ScanIndexForward = aws.Bool(false)
	return queryPage[engine.Restore](ctx, s, in, keyAttrs, q.Cursor, store.Limit(q.Limit), "restores", nil)
}

// RestoreByJob reads the job's pointer and then its session (2 GetItems,
// both strongly consistent, so a job's first event finds a session
// written just before). A pointer whose session does not carry the job id
// (the id was replaced, or the write that added it lost) finds nothing.
func (s *Store) RestoreByJob(ctx context.Context, jobID string) (*engine.Restore, error) {
	notFound := engine.Errorf(engine.ENOTFOUND, "restore of job %q not found", jobID)
	if jobID == "" {
		return nil, notFound
	}
	pk, sk := restoreJobKey(jobID)
	m, err := s.get(ctx, pk, sk, "restore of job", jobID)
	if err != nil {
		return nil, err
	}
	r, err := s.GetRestore(ctx, sOf(m, attrRestoreID))
	if engine.IsNotFound(err) || err == nil && !slices.Contains(r.JobIDs(), jobID) {
		return nil, notFound
	}
	return r, err
}
