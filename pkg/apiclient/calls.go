package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/efskeeper/efskeeper/pkg/api"
)

// Page asks for one page of a list.
type Page struct {
	Cursor string
	Limit  int // 0: the API's default
}

func (p Page) add(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	setIf(q, "cursor", p.Cursor)
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return q
}

func setIf(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}

func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339))
	}
}

// Health calls GET /healthz.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var out api.Health
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"healthz"}}, &out)
	return out, err
}

// ListPolicies reads one page of policies.
func (c *Client) ListPolicies(ctx context.Context, p Page) (api.PolicyList, error) {
	var out api.PolicyList
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"policies"}, query: p.add(nil)}, &out)
	return out, err
}

// GetPolicy reads a policy and its ETag.
func (c *Client) GetPolicy(ctx context.Context, id string) (api.PolicyRecord, string, error) {
	var out api.PolicyRecord
	h, _, err := c.do(ctx, request{method: "GET", path: []string{"policies", id}}, &out)
	return out, etagOf(h), err
}

func etagOf(h http.Header) string {
	if h == nil {
		return ""
	}
	return h.Get("ETag")
}

// Condition makes a write conditional: IfMatch is an ETag (or "*"),
// CreateOnly sends If-None-Match: *.
type Condition struct {
	IfMatch    string
	CreateOnly bool
}

func (w Condition) header() http.Header {
	h := http.Header{}
	if w.IfMatch != "" {
		h.Set("If-Match", w.IfMatch)
	}
	if w.CreateOnly {
		h.Set("If-None-Match", "*")
	}
	return h
}

// PutPolicy creates or replaces a policy with the document doc. created
// reports a new policy.
func (c *Client) PutPolicy(ctx context.Context, id string, doc []byte, cond Condition) (rec api.PolicyRecord, etag string, created bool, err error) {
	h, st, err := c.do(ctx, request{method: "PUT", path: []string{"policies", id}, body: doc, header: cond.header()}, &rec)
	return rec, etagOf(h), st == http.StatusCreated, err
}

// DeletePolicy deletes a policy.
func (c *Client) DeletePolicy(ctx context.Context, id string, cond Condition) error {
	_, _, err := c.do(ctx, request{method: "DELETE", path: []string{"policies", id}, header: cond.header()}, nil)
	return err
}

// SetPolicyEnabled enables or disables a policy.
func (c *Client) SetPolicyEnabled(ctx context.Context, id string, enabled bool, cond Condition) (api.PolicyRecord, error) {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	var out api.PolicyRecord
	_, _, err := c.do(ctx, request{method: "POST", path: []string{"policies", id, verb}, header: cond.header()}, &out)
	return out, err
}

// RunPolicy starts an on-demand session and returns its id.
func (c *Client) RunPolicy(ctx context.Context, id string, schedules []string) (string, error) {
	var body []byte
	if len(schedules) > 0 {
		body, _ = json.Marshal(api.RunRequest{Schedules: schedules})
	}
	var out api.RunResponse
	_, _, err := c.do(ctx, request{method: "POST", path: []string{"policies", id, "run"}, body: body}, &out)
	return out.SessionID, err
}

// PlanPolicy reads the plan of a stored policy.
func (c *Client) PlanPolicy(ctx context.Context, id string, from time.Time, days int, history bool) (api.Plan, error) {
	q := url.Values{"days": {strconv.Itoa(days)}, "history": {strconv.FormatBool(history)}}
	setTime(q, "from", from)
	var out api.Plan
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"policies", id, "plan"}, query: q}, &out)
	return out, err
}

// SessionFilter selects sessions.
type SessionFilter struct {
	Policy   string
	From, To time.Time
}

// ListSessions reads one page of sessions, newest first.
func (c *Client) ListSessions(ctx context.Context, f SessionFilter, p Page) (api.SessionList, error) {
	q := url.Values{}
	setIf(q, "policy", f.Policy)
	setTime(q, "from", f.From)
	setTime(q, "to", f.To)
	var out api.SessionList
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"sessions"}, query: p.add(q)}, &out)
	return out, err
}

// GetSession reads a session with its region runs and every task (it
// follows the task pages).
func (c *Client) GetSession(ctx context.Context, id string) (api.SessionDetail, error) {
	var out api.SessionDetail
	if _, _, err := c.do(ctx, request{method: "GET", path: []string{"sessions", id}}, &out); err != nil {
		return out, err
	}
	for cursor := out.NextTasksCursor; cursor != ""; {
		var page api.TaskList
		if _, _, err := c.do(ctx, request{method: "GET", path: []string{"sessions", id, "tasks"}, query: Page{Cursor: cursor}.add(nil)}, &page); err != nil {
			return out, err
		}
		out.Tasks = append(out.Tasks, page.Tasks...)
		cursor = page.NextCursor
	}
	out.NextTasksCursor = ""
	return out, nil
}

// PointFilter selects restore points.
type PointFilter struct {
	Policy, Account, Region, FileSystem string
	From, To                            time.Time
}

// ListRestorePoints reads one page of restore points.
func (c *Client) ListRestorePoints(ctx context.Context, f PointFilter, p Page) (api.RestorePointList, error) {
	q := url.Values{}
	setIf(q, "policy", f.Policy)
	setIf(q, "account", f.Account)
	setIf(q, "region", f.Region)
	setIf(q, "fileSystem", f.FileSystem)
	setTime(q, "from", f.From)
	setTime(q, "to", f.To)
	var out api.RestorePointList
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"restore-points"}, query: p.add(q)}, &out)
	return out, err
}

// GetRestorePoint reads one restore point.
func (c *Client) GetRestorePoint(ctx context.Context, id string) (api.RestorePoint, error) {
	var out api.RestorePoint
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"restore-points", id}}, &out)
	return out, err
}

// ListFiles reads one page of a directory of a restore point.
func (c *Client) ListFiles(ctx context.Context, pointID, dir string, p Page) (api.FileList, error) {
	q := url.Values{}
	setIf(q, "path", dir)
	var out api.FileList
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"restore-points", pointID, "files"}, query: p.add(q)}, &out)
	return out, err
}

// FileQuery names a file system (account and Region are optional) and a
// window of restore points.
type FileQuery struct {
	FileSystem, Account, Region string
	From, To                    time.Time
}

func (f FileQuery) values() url.Values {
	q := url.Values{"fileSystem": {f.FileSystem}}
	setIf(q, "account", f.Account)
	setIf(q, "region", f.Region)
	setTime(q, "from", f.From)
	setTime(q, "to", f.To)
	return q
}

// SearchFiles reads one page of the entries whose name matches pattern
// (find -name) and whose path contains pathContains, newest restore point
// first.
func (c *Client) SearchFiles(ctx context.Context, f FileQuery, pattern, pathContains string, p Page) (api.FileSearch, error) {
	q := f.values()
	setIf(q, "pattern", pattern)
	setIf(q, "path", pathContains)
	var out api.FileSearch
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"files", "search"}, query: p.add(q)}, &out)
	return out, err
}

// FileHistory reads one path across the indexed restore points.
func (c *Client) FileHistory(ctx context.Context, f FileQuery, path string) (api.FileHistory, error) {
	q := f.values()
	q.Set("path", path)
	var out api.FileHistory
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"files", "history"}, query: q}, &out)
	return out, err
}

// StartRestore starts a restore session.
func (c *Client) StartRestore(ctx context.Context, req api.RestoreRequest) (api.Restore, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return api.Restore{}, err
	}
	var out api.Restore
	_, _, err = c.do(ctx, request{method: "POST", path: []string{"restores"}, body: body}, &out)
	return out, err
}

// GetRestore reads a restore session.
func (c *Client) GetRestore(ctx context.Context, id string) (api.Restore, error) {
	var out api.Restore
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"restores", id}}, &out)
	return out, err
}

// ListRestores reads one page of restore sessions, newest first.
func (c *Client) ListRestores(ctx context.Context, runningOnly bool, p Page) (api.RestoreList, error) {
	q := url.Values{}
	if runningOnly {
		q.Set("running", "true")
	}
	var out api.RestoreList
	_, _, err := c.do(ctx, request{method: "GET", path: []string{"restores"}, query: p.add(q)}, &out)
	return out, err
}
