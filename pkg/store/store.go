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
	return checkSessionOf("unit", u.ID(), u.PolicyID, u.SessionID)
}

// CheckTask refuses a task whose session id does not start with its policy
// id, for the reason CheckUnit gives; ListTasks by policy relies on it too.
func CheckTask(t *engine.Task) error {
	return checkSessionOf("task", t.ID(), t.PolicyID, t.SessionID)
}

func checkSessionOf(kind, id, policyID, sessionID string) error {
	if policyID == "" || strings.Contains(policyID, "#") || !strings.HasPrefix(sessionID, policyID+"#") {
		return engine.Errorf(engine.EINVALID, "%s %q: session id %q must start with its policy id %q and '#'", kind, id, sessionID, policyID)
	}
	return nil
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
