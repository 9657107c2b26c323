// Package store holds the rules that every implementation of engine.Store
// shares, so that the in-memory store used by tests and the simulator
// accepts and refuses exactly what the DynamoDB store does: which session
// ids are valid, and how a page cursor is written.
package store

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// DefaultLimit is the page size of ListSessions and ListTasks when the
// query leaves Limit at 0.
const DefaultLimit = 100

// CheckSession refuses a session whose id is not the one engine.SessionID
// derives from its policy and scheduled instant. Both stores rely on it:
// the DynamoDB store finds a session's partition from the policy id at the
// front of the session id, and orders a policy's sessions by id, which is
// their scheduled order only for derived ids.
func CheckSession(s *engine.Session) error {
	if s.PolicyID == "" || strings.Contains(s.PolicyID, "#") {
		return engine.Errorf(engine.EINVALID, "session %q: policy id %q must be non-empty and must not contain '#'", s.ID, s.PolicyID)
	}
	if want := engine.SessionID(s.PolicyID, s.ScheduledAt); s.ID != want {
		return engine.Errorf(engine.EINVALID, "session %q: id must be %q, derived from its policy and scheduled instant", s.ID, want)
	}
	return nil
}

// CheckUnit refuses a unit whose session id does not start with its
// policy id: the DynamoDB store keeps a unit in its policy's partition and
// finds that partition from the front of the unit id.
func CheckUnit(u *engine.Unit) error {
	if sessionOf(u.PolicyID, u.SessionID) {
		return nil
	}
	return sessionError("unit", u.ID(), u.PolicyID, u.SessionID)
}

// CheckTask refuses a task whose session id does not start with its policy
// id, for the reason CheckUnit gives; ListTasks by policy relies on it too.
func CheckTask(t *engine.Task) error {
	if sessionOf(t.PolicyID, t.SessionID) {
		return nil
	}
	return sessionError("task", t.ID(), t.PolicyID, t.SessionID)
}

// sessionOf reports whether sessionID starts with policyID and '#'. It
// builds nothing: every task write checks it, and the id for the error
// is made only when it fails.
func sessionOf(policyID, sessionID string) bool {
	return policyID != "" && !strings.Contains(policyID, "#") &&
		len(sessionID) > len(policyID) && sessionID[len(policyID)] == '#' && strings.HasPrefix(sessionID, policyID)
}

func sessionError(kind, id, policyID, sessionID string) error {
	return engine.Errorf(engine.EINVALID, "%s %q: session id %q must start with its policy id %q and '#'", kind, id, sessionID, policyID)
}

// TaskListing is what a valid TaskQuery asks ListTasks for.
type TaskListing int

// The listings of ListTasks.
const (
	ListSession   TaskListing = iota // a session's tasks (LiveOnly may filter)
	ListPolicy                       // a policy's tasks (LiveOnly may filter)
	ListGroup                        // a policy's live tasks of one file system
	ListRetention                    // a policy's retention work list up to RetainBy
)

// CheckTaskQuery refuses a query that mixes listings, naming what is wrong,
// and says which listing a valid one asks for.
func CheckTaskQuery(q engine.TaskQuery) (TaskListing, error) {
	bad := func(msg string) (TaskListing, error) {
		return 0, engine.Errorf(engine.EINVALID, "list tasks: %s", msg)
	}
	group := q.FileSystem != "" || q.Loc != (engine.Loc{})
	switch {
	case (q.SessionID == "") == (q.PolicyID == ""):
		return bad("set exactly one of session id and policy id")
	case q.SessionID != "" && (group || !q.RetainBy.IsZero()):
		return bad("a file system or RetainBy needs a policy id, not a session id")
	case group && !q.RetainBy.IsZero():
		return bad("set a file system or RetainBy, not both")
	case group && (q.FileSystem == "" || q.Loc.Account == "" || q.Loc.Region == "" || !q.LiveOnly):
		return bad("a file system's tasks need its account, Region and id, and LiveOnly")
	case !q.RetainBy.IsZero() && q.LiveOnly:
		return bad("RetainBy lists live tasks only; leave LiveOnly unset")
	case group:
		return ListGroup, nil
	case !q.RetainBy.IsZero():
		return ListRetention, nil
	case q.SessionID != "":
		return ListSession, nil
	}
	return ListPolicy, nil
}

// PolicyOf returns the policy id at the front of a session, unit or task
// id (the whole id when it has no '#').
func PolicyOf(id string) string {
	p, _, _ := strings.Cut(id, "#")
	return p
}

// Limit returns the page size a query asks for.
func Limit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return n
}

// EncodeCursor writes a page position as an opaque string: URL-safe
// base64 of its JSON, so that it passes through query strings unchanged.
func EncodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Cursor positions are plain structs and maps of strings.
		panic("store: encode cursor: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor written by EncodeCursor into v; a cursor that
// was not is an EINVALID error.
func DecodeCursor(cursor string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return engine.Errorf(engine.EINVALID, "page cursor %q is not one this store returned", cursor)
	}
	return nil
}
