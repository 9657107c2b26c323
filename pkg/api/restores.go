package api

import (
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// RestoreRequest is the body of POST /restores: what to restore (items,
// each a restore point with its vault and, for an item-level restore, the
// paths) and where (target). ClientToken makes the request idempotent.
type RestoreRequest struct {
	ClientToken string               `json:"clientToken,omitempty"`
	Full        bool                 `json:"full,omitempty"`
	Items       []RestoreRequestItem `json:"items"`
	Target      engine.RestoreTarget `json:"target"`
}

// RestoreRequestItem is one restore point to restore from.
type RestoreRequestItem struct {
	RecoveryPointArn string   `json:"recoveryPointArn"`
	Account          string   `json:"account,omitempty"`
	Region           string   `json:"region,omitempty"`
	Vault            string   `json:"vault"`
	Paths            []string `json:"paths,omitempty"`
}

// Restore is a restore session.
type Restore struct {
	ID          string               `json:"id"`
	ClientToken string               `json:"clientToken,omitempty"`
	Full        bool                 `json:"full"`
	Items       []RestoreItem        `json:"items"`
	Target      engine.RestoreTarget `json:"target"`
	RequestedBy string               `json:"requestedBy,omitempty"`
	Status      string               `json:"status"`
	Jobs        []RestoreJob         `json:"jobs"`
	CreatedAt   time.Time            `json:"createdAt"`
	UpdatedAt   time.Time            `json:"updatedAt"`
	EndedAt     time.Time            `json:"endedAt,omitzero"`
}

// RestoreItem is one item of a restore session, with what efskeeper found
// out about its restore point.
type RestoreItem struct {
	RecoveryPointArn string    `json:"recoveryPointArn"`
	Account          string    `json:"account"`
	Region           string    `json:"region"`
	Vault            string    `json:"vault"`
	Paths            []string  `json:"paths"`
	FileSystem       string    `json:"fileSystem,omitempty"`
	PointTime        time.Time `json:"pointTime,omitzero"`
	PolicyID         string    `json:"policyId,omitempty"`
}

// RestoreJob is one AWS Backup restore job of a session.
type RestoreJob struct {
	Item               int       `json:"item"`
	Account            string    `json:"account"`
	Region             string    `json:"region"`
	RecoveryPointArn   string    `json:"recoveryPointArn"`
	Paths              []string  `json:"paths"`
	JobID              string    `json:"jobId,omitempty"`
	State              string    `json:"state"`
	Message            string    `json:"message,omitempty"`
	CreatedResourceArn string    `json:"createdResourceArn,omitempty"`
	StartedAt          time.Time `json:"startedAt,omitzero"`
	CompletedAt        time.Time `json:"completedAt,omitzero"`
}

// RestoreList is a page of restore sessions, newest first.
type RestoreList struct {
	Restores   []Restore `json:"restores"`
	NextCursor string    `json:"nextCursor,omitempty"`
}

func restoreDoc(r *engine.Restore) Restore {
	doc := Restore{ID: r.ID, ClientToken: r.ClientToken, Full: r.Full, Target: r.Target, RequestedBy: r.RequestedBy,
		Status: string(r.Status), Items: []RestoreItem{}, Jobs: []RestoreJob{}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, EndedAt: r.EndedAt}
	for _, it := range r.Items {
		doc.Items = append(doc.Items, RestoreItem{RecoveryPointArn: it.RecoveryPointArn, Account: it.Account, Region: it.Region,
			Vault: it.Vault, Paths: nonNil(it.Paths), FileSystem: it.FileSystem, PointTime: it.PointTime, PolicyID: it.PolicyID})
	}
	for _, j := range r.Jobs {
		doc.Jobs = append(doc.Jobs, RestoreJob{Item: j.Item, Account: j.Loc.Account, Region: j.Loc.Region, RecoveryPointArn: j.RecoveryPointArn,
			Paths: nonNil(j.Paths), JobID: j.JobID, State: string(j.State), Message: j.Message, CreatedResourceArn: j.CreatedResourceArn,
			StartedAt: j.StartedAt, CompletedAt: j.CompletedAt})
	}
	return doc
}

var restoreIDPattern = regexp.MustCompile(`^rst-[0-9a-f]{24}(-[0-9]{1,4})?$`)

func (s *Server) restorer() (*engine.Restorer, error) {
	if s.Restores == nil {
		return nil, engine.Errorf(ENOTIMPLEMENTED, "this deployment does not run restores")
	}
	return s.Restores, nil
}

// startRestore records a restore session and starts its jobs. The answer
// is 202: the jobs run on; GET /restores/{id} follows them.
func (s *Server) startRestore(w http.ResponseWriter, r *http.Request) error {
	var req RestoreRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Items == nil {
		return invalid("the restore request is not valid", []problem{{Path: "items", Message: "name at least one restore point to restore from"}})
	}
	rs, err := s.restorer()
	if err != nil {
		return err
	}
	er := engine.RestoreRequest{ClientToken: req.ClientToken, Full: req.Full, Target: req.Target}
	if s.Caller != nil {
		er.RequestedBy = s.Caller(r)
	}
	for _, it := range req.Items {
		er.Items = append(er.Items, engine.RestoreItem{RecoveryPointArn: it.RecoveryPointArn, Account: it.Account, Region: it.Region, Vault: it.Vault, Paths: it.Paths})
	}
	rec, err := rs.Start(r.Context(), er)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/restores/"+rec.ID)
	writeJSON(w, http.StatusAccepted, restoreDoc(rec))
	return nil
}

func (s *Server) getRestore(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !restoreIDPattern.MatchString(id) {
		return engine.Errorf(engine.EINVALID, "%q is not a restore id (rst-...)", id)
	}
	if err := newQuery(r).err(); err != nil {
		return err
	}
	rs, err := s.restorer()
	if err != nil {
		return err
	}
	rec, err := rs.Get(r.Context(), id)
	if err != nil {
		return fmt.Errorf("read restore %s: %w", id, err)
	}
	writeJSON(w, http.StatusOK, restoreDoc(rec))
	return nil
}

func (s *Server) listRestores(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "running", "since", "cursor", "limit")
	rq := engine.RestoreQuery{RunningOnly: q.bool("running", false), Since: q.time("since"), Cursor: q.v.Get("cursor"),
		Limit: q.int("limit", store.DefaultLimit, 1, 1000)}
	if err := q.err(); err != nil {
		return err
	}
	rs, err := s.restorer()
	if err != nil {
		return err
	}
	page, next, err := rs.List(r.Context(), rq)
	if err != nil {
		return cursorError(err, "list restores")
	}
	out := RestoreList{Restores: make([]Restore, 0, len(page)), NextCursor: next}
	for _, rec := range page {
		out.Restores = append(out.Restores, restoreDoc(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
