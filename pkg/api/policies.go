package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/store"
)

// policyCursor is the position after the last policy of a page.
type policyCursor struct {
	After string `json:"after"`
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "cursor", "limit")
	limit := q.int("limit", store.DefaultLimit, 1, 1000)
	var c policyCursor
	if cur := q.v.Get("cursor"); cur != "" {
		if err := store.DecodeCursor(cur, &c); err != nil || !policyIDPattern.MatchString(c.After) {
			q.bad("cursor", "not a cursor this API returned")
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	recs, err := s.Engine.Store.ListPolicies(r.Context())
	if err != nil {
		return fmt.Errorf("list policies: %w", err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Policy.ID < recs[j].Policy.ID })
	out := PolicyList{Policies: []PolicyRecord{}}
	for _, rec := range recs {
		if rec.Policy.ID <= c.After {
			continue
		}
		if len(out.Policies) == limit {
			out.NextCursor = store.EncodeCursor(policyCursor{After: out.Policies[limit-1].Policy.ID})
			break
		}
		out.Policies = append(out.Policies, policyRecordDoc(rec))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyRoute(r)
	if err != nil {
		return err
	}
	rec, err := s.Engine.Store.GetPolicy(r.Context(), id)
	if err != nil {
		return fmt.Errorf("read policy %s: %w", id, err)
	}
	writePolicy(w, http.StatusOK, rec)
	return nil
}

func writePolicy(w http.ResponseWriter, status int, rec *engine.PolicyRecord) {
	w.Header().Set("ETag", etag(rec.Version))
	writeJSON(w, status, policyRecordDoc(rec))
}

// putPolicy creates or replaces a policy. The body is the policy document
// itself; every problem in it is reported at once. If-Match makes the
// write conditional on the version the admin read; If-None-Match: * makes
// it create-only.
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyRoute(r)
	if err != nil {
		return err
	}
	version, err := s.writeVersion(r, id)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	p, probs := policy.Parse(body)
	if len(probs) > 0 {
		return invalid(fmt.Sprintf("the policy document has %d problem(s); each is listed at its JSON path", len(probs)), probs)
	}
	if p.ID != id {
		return invalid("the policy's id must be the one in the URL", policy.Problems{{Path: "id",
			Message: fmt.Sprintf("The document's id %q differs from %q in the URL; PUT it to /policies/%s or change its id.", p.ID, id, p.ID)}})
	}
	rec, created, err := s.Engine.SavePolicy(r.Context(), p, version)
	if err != nil {
		return err
	}
	st := http.StatusOK
	if created {
		st = http.StatusCreated
		w.Header().Set("Location", "/policies/"+id)
	}
	writePolicy(w, st, rec)
	return nil
}

// writeVersion reads the conditions of a write: If-Match (a version, or *
// for "must exist") and If-None-Match: * ("must not exist").
func (s *Server) writeVersion(r *http.Request, id string) (int64, error) {
	version, star, err := ifMatch(r, "policy "+id)
	if err != nil {
		return 0, err
	}
	if inm := strings.TrimSpace(r.Header.Get("If-None-Match")); inm != "" {
		if inm != "*" || r.Header.Get("If-Match") != "" {
			return 0, engine.Errorf(engine.EINVALID, "a write takes If-None-Match: * (create only) or If-Match, not If-None-Match: %s", inm)
		}
		return 0, nil
	}
	if star {
		cur, err := s.Engine.Store.GetPolicy(r.Context(), id)
		if engine.IsNotFound(err) {
			return 0, engine.Errorf(engine.EPRECONDITION, "If-Match: * needs an existing policy, and %s does not exist", id)
		}
		if err != nil {
			return 0, fmt.Errorf("read policy %s: %w", id, err)
		}
		return cur.Version, nil
	}
	return version, nil
}

func (s *Server) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyRoute(r)
	if err != nil {
		return err
	}
	version, _, err := ifMatch(r, "policy "+id)
	if err != nil {
		return err
	}
	if err := s.Engine.RemovePolicy(r.Context(), id, version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) enablePolicy(w http.ResponseWriter, r *http.Request) error {
	return s.setEnabled(w, r, true)
}

func (s *Server) disablePolicy(w http.ResponseWriter, r *http.Request) error {
	return s.setEnabled(w, r, false)
}

func (s *Server) setEnabled(w http.ResponseWriter, r *http.Request, enabled bool) error {
	id, err := policyRoute(r)
	if err != nil {
		return err
	}
	version, _, err := ifMatch(r, "policy "+id)
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	rec, err := s.Engine.SetPolicyEnabled(r.Context(), id, enabled, version)
	if err != nil {
		return err
	}
	writePolicy(w, http.StatusOK, rec)
	return nil
}

// noBody refuses a body on a route that takes none, so that a client that
// believes it sends options learns that they are ignored.
func noBody(r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) > 0 && strings.TrimSpace(string(b)) != "{}" {
		return engine.Errorf(engine.EINVALID, "%s takes no request body", r.URL.Path)
	}
	return nil
}

func (s *Server) runPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyRoute(r)
	if err != nil {
		return err
	}
	var req RunRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	sid, err := s.Engine.RunNow(context.WithoutCancel(r.Context()), id, req.Schedules...)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/sessions/"+strings.ReplaceAll(sid, "#", "%23"))
	writeJSON(w, http.StatusAccepted, RunResponse{SessionID: sid})
	return nil
}

// Plan is what a policy will do in a window (GET /policies/{id}/plan): its
// runs, the restore points retention lets go at each, and the vaults each
// source Region resolves to. The model is one file system that got a
// restore point at every run (see policy.Plan).
type Plan struct {
	Policy      string       `json:"policy"`
	Enabled     bool         `json:"enabled"`
	Timezone    string       `json:"timezone"`
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	HistoryFrom time.Time    `json:"historyFrom,omitzero"`
	Regions     []PlanRegion `json:"regions"`
	Runs        []PlanRun    `json:"runs"`
	// Kept is how many restore points retention holds after the last run.
	Kept int `json:"kept"`
}

// PlanRegion is the backup vault and copy target of one source Region.
type PlanRegion struct {
	Region      string          `json:"region"`
	BackupVault policy.VaultRef `json:"backupVault"`
	Copy        *policy.Mapping `json:"copy,omitempty"`
}

// PlanRun is one run and the points that expire at it.
type PlanRun struct {
	At        time.Time    `json:"at"`
	Local     string       `json:"local"`
	Schedules []string     `json:"schedules"`
	Expires   []PlanExpiry `json:"expires"`
}

// PlanExpiry is one restore point retention lets go.
type PlanExpiry struct {
	CreatedAt time.Time `json:"createdAt"`
	Schedules []string  `json:"schedules"`
	Reason    string    `json:"reason"`
}

func (s *Server) planPolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := pathPolicyID(r)
	if err != nil {
		return err
	}
	q := newQuery(r, "from", "days", "history")
	from := q.time("from")
	days := q.int("days", 14, 1, 3660)
	history := q.bool("history", true)
	if err := q.err(); err != nil {
		return err
	}
	if from.IsZero() {
		from = s.Engine.Clock.Now().UTC().Truncate(time.Minute)
	}
	rec, err := s.Engine.Store.GetPolicy(r.Context(), id)
	if err != nil {
		return fmt.Errorf("read policy %s: %w", id, err)
	}
	p := rec.Policy
	plan := p.Plan(from, from.AddDate(0, 0, days), history)
	loc := p.Location()
	doc := Plan{Policy: p.ID, Enabled: p.Enabled, Timezone: p.Timezone, From: plan.From, To: plan.To,
		HistoryFrom: plan.HistoryFrom, Regions: []PlanRegion{}, Runs: []PlanRun{}, Kept: len(plan.Kept)}
	for _, region := range p.Source.Regions {
		pr := PlanRegion{Region: region}
		pr.BackupVault, _ = p.BackupVault(region)
		if m, ok := p.CopyMapping(region); ok {
			pr.Copy = &m
		}
		doc.Regions = append(doc.Regions, pr)
	}
	for _, run := range plan.Runs {
		pr := PlanRun{At: run.At, Local: run.At.In(loc).Format(time.RFC3339), Schedules: run.Schedules, Expires: []PlanExpiry{}}
		for _, e := range run.Expires {
			pr.Expires = append(pr.Expires, PlanExpiry{CreatedAt: e.CreatedAt, Schedules: e.Schedules, Reason: e.Reason})
		}
		doc.Runs = append(doc.Runs, pr)
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}
