package api

import (
	"fmt"
	"net/http"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// sessionTaskPage is how many tasks GET /sessions/{id} returns with the
// session; /sessions/{id}/tasks pages through the rest.
const sessionTaskPage = 500

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "policy", "from", "to", "cursor", "limit")
	sq := engine.SessionQuery{
		PolicyID: q.str("policy", policyIDPattern, "a policy id"),
		From:     q.time("from"),
		To:       q.time("to"),
		Cursor:   q.v.Get("cursor"),
		Limit:    q.int("limit", store.DefaultLimit, 1, 1000),
	}
	q.window(sq.From, sq.To)
	if err := q.err(); err != nil {
		return err
	}
	page, next, err := s.Engine.Store.ListSessions(r.Context(), sq)
	if err != nil {
		return cursorError(err, "list sessions")
	}
	out := SessionList{Sessions: make([]Session, 0, len(page)), NextCursor: next}
	for _, ss := range page {
		out.Sessions = append(out.Sessions, sessionDoc(ss))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cursorError gives a store's EINVALID (a cursor it did not write) a
// message that names the parameter.
func cursorError(err error, step string) error {
	if engine.ErrorCode(err) == engine.EINVALID {
		return invalid("the query parameters are not valid", []problem{{Path: "cursor", Message: "not a cursor this API returned for this list"}})
	}
	return fmt.Errorf("%s: %w", step, err)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	if err := newQuery(r).err(); err != nil {
		return err
	}
	ctx := r.Context()
	ss, err := s.Engine.Store.GetSession(ctx, id)
	if err != nil {
		return fmt.Errorf("read session %s: %w", id, err)
	}
	units, err := s.Engine.Store.SessionUnits(ctx, id)
	if err != nil {
		return fmt.Errorf("read the region runs of session %s: %w", id, err)
	}
	tasks, next, err := s.Engine.Store.ListTasks(ctx, engine.TaskQuery{SessionID: id, Limit: sessionTaskPage})
	if err != nil {
		return fmt.Errorf("read the tasks of session %s: %w", id, err)
	}
	out := SessionDetail{Session: sessionDoc(ss), RegionRuns: make([]Unit, 0, len(units)), Tasks: make([]Task, 0, len(tasks)), NextTasksCursor: next}
	for _, u := range units {
		out.RegionRuns = append(out.RegionRuns, unitDoc(u))
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, taskDoc(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listSessionTasks(w http.ResponseWriter, r *http.Request) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "cursor", "limit")
	tq := engine.TaskQuery{SessionID: id, Cursor: q.v.Get("cursor"), Limit: q.int("limit", sessionTaskPage, 1, 1000)}
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := s.Engine.Store.GetSession(ctx, id); err != nil {
		return fmt.Errorf("read session %s: %w", id, err)
	}
	tasks, next, err := s.Engine.Store.ListTasks(ctx, tq)
	if err != nil {
		return cursorError(err, "list the tasks of session "+id)
	}
	out := TaskList{Tasks: make([]Task, 0, len(tasks)), NextCursor: next}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, taskDoc(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
