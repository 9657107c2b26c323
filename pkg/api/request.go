package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Identifier rules of the path and query parameters. A policy id is what
// DESIGN.md allows for the document's id; a session id is the one
// engine.SessionID derives.
var (
	policyIDPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	sessionIDPattern = regexp.MustCompile(`^([a-z0-9][a-z0-9-]{0,62})#(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$`)
	accountPattern   = regexp.MustCompile(`^\d{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	fsPattern        = regexp.MustCompile(`^fs-[0-9a-f]{8,40}$`)
)

// readBody reads the whole body, answering 413 past the limit.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, engine.Errorf(ETOOLARGE, "the request body is larger than %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return nil, engine.Errorf(engine.EINVALID, "read the request body: %v", err)
	}
	return b, nil
}

// decodeBody reads a small JSON request body strictly into v: unknown
// fields, values of the wrong type and trailing data are errors. An empty
// body leaves v as it is (every such body is optional).
func decodeBody(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("the request body is not valid JSON for this request", policy.Problems{{Path: jsonErrorPath(err), Message: jsonErrorMessage(err)}})
	}
	if dec.More() {
		return engine.Errorf(engine.EINVALID, "the request body holds more than one JSON value")
	}
	return nil
}

func jsonErrorPath(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return strings.Trim(f, `"`)
	}
	return ""
}

func jsonErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("expected %s, found a JSON %s", te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("JSON syntax error at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field; remove it or check its spelling"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	return err.Error()
}

// pathPolicyID reads and checks the {id} of a policy route.
func pathPolicyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !policyIDPattern.MatchString(id) {
		return "", engine.Errorf(engine.EINVALID, "%q is not a policy id: 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit", id)
	}
	return id, nil
}

// policyRoute reads and checks the {id} of a policy route that takes no
// query parameters, and refuses any.
func policyRoute(r *http.Request) (string, error) {
	id, err := pathPolicyID(r)
	if err != nil {
		return "", err
	}
	return id, newQuery(r).err()
}

// pathSessionID reads and checks the {id} of a session route.
func pathSessionID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validSessionID(id) {
		return "", engine.Errorf(engine.EINVALID, "%q is not a session id: <policy>#<scheduled instant, RFC 3339 UTC>, such as prod-efs#2026-01-05T02:00:00Z (escape # as %%23 in a URL)", id)
	}
	return id, nil
}

func validSessionID(id string) bool {
	m := sessionIDPattern.FindStringSubmatch(id)
	if m == nil {
		return false
	}
	_, err := time.Parse(time.RFC3339, m[2])
	return err == nil
}

// query reads query parameters, collecting every problem so that a
// request with several bad parameters hears of all of them.
type query struct {
	v        url.Values
	problems policy.Problems
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{v: r.URL.Query()}
	for name := range q.v {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			q.bad(name, fmt.Sprintf("unknown query parameter; this route takes %s", strings.Join(allowed, ", ")))
		}
	}
	return q
}

func (q *query) bad(name, msg string) {
	q.problems = append(q.problems, policy.Problem{Path: name, Message: msg})
}

// str returns a parameter that must match re when set.
func (q *query) str(name string, re *regexp.Regexp, what string) string {
	s := q.v.Get(name)
	if s != "" && re != nil && !re.MatchString(s) {
		q.bad(name, fmt.Sprintf("%q is not %s", s, what))
		return ""
	}
	return s
}

func (q *query) required(name string) string {
	s := q.v.Get(name)
	if s == "" {
		q.bad(name, "required")
	}
	return s
}

// time returns an RFC 3339 parameter, zero when absent.
func (q *query) time(name string) time.Time {
	s := q.v.Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.bad(name, fmt.Sprintf("%q is not an RFC 3339 time such as 2026-01-05T02:00:00Z", s))
	}
	return t.UTC()
}

// int returns an integer parameter in [lo, hi], def when absent.
func (q *query) int(name string, def, lo, hi int) int {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		q.bad(name, fmt.Sprintf("%q is not a whole number from %d to %d", s, lo, hi))
		return def
	}
	return n
}

// bool returns a true/false parameter, def when absent.
func (q *query) bool(name string, def bool) bool {
	s := q.v.Get(name)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		q.bad(name, fmt.Sprintf("%q is not true or false", s))
		return def
	}
	return b
}

// window checks that from is before to when both are set.
func (q *query) window(from, to time.Time) {
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		q.bad("to", "must be later than from")
	}
}

func (q *query) err() error {
	if len(q.problems) == 0 {
		return nil
	}
	return invalid("the query parameters are not valid", q.problems)
}

// ifMatch reads an If-Match header as the version it names: AnyVersion
// without the header (or with *, which only asks for an existing record,
// handled by requireExisting). An ETag that is not one of ours cannot match
// any version: it is a stale or foreign ETag, so 412.
func ifMatch(r *http.Request, what string) (version int64, star bool, err error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	switch h {
	case "":
		return engine.AnyVersion, false, nil
	case "*":
		return engine.AnyVersion, true, nil
	}
	if v, ok := parseETag(h); ok {
		return v, false, nil
	}
	return 0, false, engine.Errorf(engine.EPRECONDITION, "If-Match %s matches no version of %s; send the ETag of your last GET", h, what)
}

// etag is the strong ETag of a record version.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func parseETag(h string) (int64, bool) {
	h = strings.TrimPrefix(h, "W/")
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	return v, err == nil && v > 0
}
