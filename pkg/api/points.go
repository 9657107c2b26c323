package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// A restore point's id is the base64url of its task's id and the Region
// the point is in: the task's own Region for the backup, a copy's target
// Region for a copy. It leads straight to the task record, which is where
// efskeeper keeps what it knows of the point, and it is URL-safe although
// task ids hold '#' and ':'.

// PointID returns the id of the restore point of task taskID in region.
func PointID(taskID, region string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(taskID + "\x00" + region))
}

// parsePointID splits a restore point id; ok is false for anything
// PointID cannot have made.
func parsePointID(id string) (taskID, region string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", false
	}
	taskID, region, ok = strings.Cut(string(b), "\x00")
	if !ok || !regionPattern.MatchString(region) {
		return "", "", false
	}
	// <session>#<account>#<region>#<file system>
	parts := strings.Split(taskID, "#")
	if len(parts) != 5 || !validSessionID(parts[0]+"#"+parts[1]) || !accountPattern.MatchString(parts[2]) ||
		!regionPattern.MatchString(parts[3]) || !fsPattern.MatchString(parts[4]) {
		return "", "", false
	}
	return taskID, region, true
}

// restorePoints lists the points a task holds now: its backup and each
// copy that completed and that retention has not deleted.
func restorePoints(t *engine.Task) []RestorePoint {
	var out []RestorePoint
	taskID := t.ID()
	base := RestorePoint{Kind: "backup", PolicyID: t.PolicyID, SessionID: t.SessionID, TaskID: taskID,
		Account: t.Loc.Account, FileSystem: t.FileSystem, CreatedAt: t.PointCreatedAt, Schedules: nonNil(t.Schedules)}
	sourceOK := t.RecoveryPointArn != "" && t.Backup.State == engine.JobCompleted && !t.Deletion.Done()
	if sourceOK {
		p := base
		p.ID, p.Region, p.Vault, p.RecoveryPointArn, p.Deletion = PointID(taskID, t.Loc.Region), t.Loc.Region, t.VaultName, t.RecoveryPointArn, deletionDoc(t.Deletion)
		out = append(out, p)
	}
	for _, c := range t.Copies {
		if c.RecoveryPointArn == "" || c.Job.State != engine.JobCompleted || c.Deletion.Done() {
			continue
		}
		p := base
		p.Kind = "copy"
		p.ID, p.Region, p.Vault, p.RecoveryPointArn, p.Deletion = PointID(taskID, c.TargetRegion), c.TargetRegion, c.VaultName, c.RecoveryPointArn, deletionDoc(c.Deletion)
		p.Source = &PointSource{ID: PointID(taskID, t.Loc.Region), Region: t.Loc.Region, RecoveryPointArn: t.RecoveryPointArn}
		out = append(out, p)
	}
	return out
}

// pointFilter is the query of GET /restore-points.
type pointFilter struct {
	policy, account, region, fileSystem string
	from, to                            time.Time
}

func (f pointFilter) match(p RestorePoint) bool {
	return (f.account == "" || p.Account == f.account) && (f.region == "" || p.Region == f.region) &&
		(f.fileSystem == "" || p.FileSystem == f.fileSystem) &&
		(f.from.IsZero() || !p.CreatedAt.Before(f.from)) && (f.to.IsZero() || p.CreatedAt.Before(f.to))
}

func readPointFilter(q *query) pointFilter {
	f := pointFilter{
		policy:     q.str("policy", policyIDPattern, "a policy id"),
		account:    q.str("account", accountPattern, "a 12-digit account id"),
		region:     q.str("region", regionPattern, "an AWS Region code"),
		fileSystem: q.str("fileSystem", fsPattern, "a file system id (fs-...)"),
		from:       q.time("from"),
		to:         q.time("to"),
	}
	q.window(f.from, f.to)
	return f
}

// pointCursor is the position after the last point of a page: the policy,
// the store's cursor of the task page being read, how many of that page's
// tasks were used up, and how many of the next task's points.
type pointCursor struct {
	Policy string `json:"p"`
	Page   string `json:"c,omitempty"`
	Tasks  int    `json:"t,omitempty"`
	Points int    `json:"k,omitempty"`
}

// pointTaskPage is how many tasks one store read fetches.
const pointTaskPage = 200

// walkPoints calls fn with each restore point matching f, policy by policy
// (in id order) and, within one, in task order, starting at the cursor
// position; fn returns false to stop, and walkPoints then returns the
// cursor of the point fn refused. A listing without a policy covers the
// policies that exist; a deleted policy's points are listed only when it
// is named.
func (s *Server) walkPoints(r *http.Request, f pointFilter, c pointCursor, fn func(RestorePoint) bool) (string, error) {
	ctx := r.Context()
	var ids []string
	if f.policy != "" {
		ids = []string{f.policy}
	} else {
		recs, err := s.Engine.Store.ListPolicies(ctx)
		if err != nil {
			return "", fmt.Errorf("list restore points: list policies: %w", err)
		}
		for _, rec := range recs {
			ids = append(ids, rec.Policy.ID)
		}
		slices.Sort(ids)
	}
	for _, id := range ids {
		if c.Policy != "" && id < c.Policy {
			continue
		}
		page, skipTasks, skipPoints := "", 0, 0
		if id == c.Policy {
			page, skipTasks, skipPoints = c.Page, c.Tasks, c.Points
		}
		for {
			tasks, next, err := s.Engine.Store.ListTasks(ctx, engine.TaskQuery{PolicyID: id, LiveOnly: true, Cursor: page, Limit: pointTaskPage})
			if err != nil {
				return "", cursorError(err, "list the restore points of policy "+id)
			}
			for ti := skipTasks; ti < len(tasks); ti++ {
				var pts []RestorePoint
				for _, p := range restorePoints(tasks[ti]) {
					if f.match(p) {
						pts = append(pts, p)
					}
				}
				for ki := skipPoints; ki < len(pts); ki++ {
					if !fn(pts[ki]) {
						return store.EncodeCursor(pointCursor{Policy: id, Page: page, Tasks: ti, Points: ki}), nil
					}
				}
				skipPoints = 0
			}
			skipTasks = 0
			if next == "" {
				break
			}
			page = next
		}
	}
	return "", nil
}

func (s *Server) listRestorePoints(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "policy", "account", "region", "fileSystem", "from", "to", "cursor", "limit")
	f := readPointFilter(q)
	limit := q.int("limit", store.DefaultLimit, 1, 1000)
	var c pointCursor
	if cur := q.v.Get("cursor"); cur != "" {
		if err := store.DecodeCursor(cur, &c); err != nil || !policyIDPattern.MatchString(c.Policy) || c.Tasks < 0 || c.Points < 0 ||
			f.policy != "" && c.Policy != f.policy {
			q.bad("cursor", "not a cursor this API returned for this list")
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	out := RestorePointList{RestorePoints: []RestorePoint{}}
	next, err := s.walkPoints(r, f, c, func(p RestorePoint) bool {
		if len(out.RestorePoints) == limit {
			return false
		}
		out.RestorePoints = append(out.RestorePoints, p)
		return true
	})
	if err != nil {
		return err
	}
	out.NextCursor = next
	writeJSON(w, http.StatusOK, out)
	return nil
}

// pointByID reads the restore point {id} and the task that holds it.
func (s *Server) pointByID(r *http.Request) (RestorePoint, *engine.Task, error) {
	id := r.PathValue("id")
	taskID, region, ok := parsePointID(id)
	if !ok {
		return RestorePoint{}, nil, engine.Errorf(engine.EINVALID, "%q is not a restore point id; take one from GET /restore-points", id)
	}
	t, err := s.Engine.Store.GetTask(r.Context(), taskID)
	if err != nil {
		return RestorePoint{}, nil, fmt.Errorf("read restore point %s: %w", id, err)
	}
	for _, p := range restorePoints(t) {
		if p.Region == region {
			return p, t, nil
		}
	}
	return RestorePoint{}, nil, engine.Errorf(engine.ENOTFOUND, "restore point %s does not exist (any more): its backup or copy did not complete, or retention deleted it", id)
}

func (s *Server) getRestorePoint(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).err(); err != nil {
		return err
	}
	p, _, err := s.pointByID(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
