package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/api"
	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// edit returns the policy document with change applied to its JSON object.
func edit(t testing.TB, doc []byte, change func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPolicyCreateReadReplaceDelete(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	doc := readPolicy(t, "account-prod.json")

	r := f.do("PUT", "/policies/account-prod", doc)
	mustStatus(t, r, http.StatusCreated)
	if r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/policies/account-prod" {
		t.Fatalf("create: ETag %q Location %q", r.header.Get("ETag"), r.header.Get("Location"))
	}
	var created api.PolicyRecord
	r.decode(t, &created)
	if created.Version != 1 || !created.Watermark.Equal(t0) || created.Policy.Name != "Production EFS" {
		t.Fatalf("created record %+v", created)
	}

	r = f.do("GET", "/policies/account-prod", nil)
	mustStatus(t, r, http.StatusOK)
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("GET ETag %q", r.header.Get("ETag"))
	}
	var got api.PolicyRecord
	r.decode(t, &got)

	// What GET returns is a document PUT takes back unchanged.
	back, err := json.Marshal(got.Policy)
	if err != nil {
		t.Fatal(err)
	}
	r = f.do("PUT", "/policies/account-prod", back, "If-Match", `"1"`)
	mustStatus(t, r, http.StatusOK)
	if r.header.Get("ETag") != `"2"` {
		t.Fatalf("replace ETag %q, want \"2\"", r.header.Get("ETag"))
	}

	renamed := edit(t, doc, func(m map[string]any) { m["name"] = "Renamed" })
	for _, stale := range []string{`"1"`, `"7"`, `W/"1"`, `"abc"`, `bogus`} {
		r = f.do("PUT", "/policies/account-prod", renamed, "If-Match", stale)
		mustStatus(t, r, http.StatusPreconditionFailed)
		if e := r.errorBody(t); e.Code != engine.EPRECONDITION {
			t.Fatalf("stale If-Match %s: code %q", stale, e.Code)
		}
		r = f.do("DELETE", "/policies/account-prod", nil, "If-Match", stale)
		mustStatus(t, r, http.StatusPreconditionFailed)
	}
	rec, err := f.store.GetPolicy(t.Context(), "account-prod")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 2 || rec.Policy.Name != "Production EFS" {
		t.Fatalf("a refused write changed the policy: version %d name %q", rec.Version, rec.Policy.Name)
	}

	// If-None-Match: * only creates.
	r = f.do("PUT", "/policies/account-prod", renamed, "If-None-Match", "*")
	mustStatus(t, r, http.StatusPreconditionFailed)
	// If-Match: * only replaces.
	other := edit(t, doc, func(m map[string]any) { m["id"] = "other" })
	r = f.do("PUT", "/policies/other", other, "If-Match", "*")
	mustStatus(t, r, http.StatusPreconditionFailed)
	r = f.do("PUT", "/policies/account-prod", renamed, "If-Match", "*")
	mustStatus(t, r, http.StatusOK)
	// Without If-Match a PUT replaces whatever is there.
	r = f.do("PUT", "/policies/account-prod", renamed)
	mustStatus(t, r, http.StatusOK)
	if r.header.Get("ETag") != `"4"` {
		t.Fatalf("ETag %q after four writes", r.header.Get("ETag"))
	}

	r = f.do("DELETE", "/policies/account-prod", nil, "If-Match", `"4"`)
	mustStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %s", r.body)
	}
	mustStatus(t, f.do("GET", "/policies/account-prod", nil), http.StatusNotFound)
	mustStatus(t, f.do("DELETE", "/policies/account-prod", nil), http.StatusNotFound)
	mustStatus(t, f.do("POST", "/policies/account-prod/enable", nil), http.StatusNotFound)
	mustStatus(t, f.do("POST", "/policies/account-prod/run", nil), http.StatusNotFound)
	mustStatus(t, f.do("GET", "/policies/account-prod/plan", nil), http.StatusNotFound)
}

func TestInvalidPolicyListsEveryProblem(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	bad := edit(t, readPolicy(t, "account-prod.json"), func(m map[string]any) {
		m["timezone"] = "Mars/Olympus"
		m["retries"] = map[string]any{"count": "two", "intervalMinutes": 10}
		m["nmae"] = "typo"
		m["copies"].(map[string]any)["mappings"].([]any)[1].(map[string]any)["targetRegion"] = "us-east-1"
	})
	r := f.do("PUT", "/policies/account-prod", bad)
	mustStatus(t, r, http.StatusBadRequest)
	e := r.errorBody(t)
	_, want := policy.Parse(bad)
	if len(want) < 4 {
		t.Fatalf("the test document should have at least 4 problems, Parse found %v", want)
	}
	if e.Code != engine.EINVALID || !slices.Equal(e.Errors, want) {
		t.Fatalf("errors %+v\nwant every problem Parse reports: %+v", e.Errors, want)
	}
	for _, path := range []string{"timezone", "retries.count", "nmae", "copies.mappings[1].targetRegion"} {
		if !slices.ContainsFunc(e.Errors, func(p policy.Problem) bool { return p.Path == path }) {
			t.Errorf("no problem at %s in %+v", path, e.Errors)
		}
	}
	if _, err := f.store.GetPolicy(t.Context(), "account-prod"); !engine.IsNotFound(err) {
		t.Fatalf("an invalid policy was stored: %v", err)
	}
}

func TestPutSchedulesTheNextRun(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	doc := readPolicy(t, "account-prod.json") // daily 02:00 Europe/Berlin = 01:00 UTC in March
	var rec api.PolicyRecord
	r := f.do("PUT", "/policies/account-prod", doc)
	mustStatus(t, r, http.StatusCreated)
	r.decode(t, &rec)
	if want := t0.Add(time.Hour); !rec.NextRunAt.Equal(want) {
		t.Fatalf("nextRunAt %v, want %v", rec.NextRunAt, want)
	}
	stored, err := f.store.DuePolicies(t.Context(), t0.Add(time.Hour))
	if err != nil || len(stored) != 1 {
		t.Fatalf("the tick does not find the new policy due at its first run: %v %v", stored, err)
	}

	// Ten days later the admin moves the daily run to 06:00. The watermark
	// is still at the creation time (no tick ran here), but the new
	// schedule starts at the write: nothing between is caught up.
	f.clock.Advance(10*24*time.Hour + 3*time.Hour)
	later := edit(t, doc, func(m map[string]any) {
		m["schedules"].([]any)[0].(map[string]any)["at"] = []string{"06:00"}
	})
	r = f.do("PUT", "/policies/account-prod", later)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &rec)
	now := f.clock.Now()
	if !rec.Watermark.Equal(now) || !rec.NextRunAt.Equal(time.Date(2026, 3, 12, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("after the change at %v: watermark %v nextRunAt %v", now, rec.Watermark, rec.NextRunAt)
	}
	f.clock.Advance(3 * time.Hour)
	res, err := f.engine.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 1 || res.Sessions[0] != "account-prod#2026-03-12T05:00:00Z" {
		t.Fatalf("tick started %v, want only the 06:00 Berlin run", res.Sessions)
	}
}

func TestEnableDisable(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	mustStatus(t, f.do("PUT", "/policies/account-prod", readPolicy(t, "account-prod.json")), http.StatusCreated)

	var rec api.PolicyRecord
	r := f.do("POST", "/policies/account-prod/disable", nil, "If-Match", `"1"`)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &rec)
	if rec.Policy.Enabled || !rec.NextRunAt.IsZero() || r.header.Get("ETag") != `"2"` {
		t.Fatalf("disabled: enabled %v nextRunAt %v ETag %s", rec.Policy.Enabled, rec.NextRunAt, r.header.Get("ETag"))
	}
	mustStatus(t, f.do("POST", "/policies/account-prod/enable", nil, "If-Match", `"1"`), http.StatusPreconditionFailed)

	// A week later it is enabled again: the runs it missed are not caught
	// up, the next one is the first after now.
	f.clock.Advance(7 * 24 * time.Hour)
	r = f.do("POST", "/policies/account-prod/enable", nil)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &rec)
	now := f.clock.Now()
	if !rec.Policy.Enabled || !rec.Watermark.Equal(now) || !rec.NextRunAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("enabled at %v: %+v", now, rec)
	}
	f.clock.Advance(2 * time.Hour)
	res, err := f.engine.Tick(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sessions) != 1 {
		t.Fatalf("tick after enabling started %v, want only today's run", res.Sessions)
	}
	mustStatus(t, f.do("POST", "/policies/account-prod/enable", []byte(`{"force":true}`)), http.StatusBadRequest)
}

func TestRunNow(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	mustStatus(t, f.do("PUT", "/policies/account-prod", readPolicy(t, "account-prod.json")), http.StatusCreated)
	f.clock.Advance(90*time.Minute + 1500*time.Millisecond)

	r := f.do("POST", "/policies/account-prod/run", nil)
	mustStatus(t, r, http.StatusAccepted)
	var run api.RunResponse
	r.decode(t, &run)
	if run.SessionID != "account-prod#2026-03-02T01:30:01Z" {
		t.Fatalf("session id %q", run.SessionID)
	}
	if loc := r.header.Get("Location"); loc != "/sessions/account-prod%232026-03-02T01:30:01Z" {
		t.Fatalf("Location %q", loc)
	}
	sent := f.queue.sent()
	if len(sent) != 2 || sent[0].SessionID != run.SessionID || sent[0].Region != "eu-west-1" || sent[1].Region != "us-east-1" {
		t.Fatalf("region runs sent: %+v", sent)
	}

	r = f.do("GET", "/sessions/"+strings.ReplaceAll(run.SessionID, "#", "%23"), nil)
	mustStatus(t, r, http.StatusOK)
	var d api.SessionDetail
	r.decode(t, &d)
	// The next scheduled run (02:00 Berlin, Tuesday) is the daily one.
	if d.Session.Status != "Running" || !slices.Equal(d.Session.Schedules, []string{"daily"}) ||
		len(d.Session.Reasons) != 1 || d.Session.Reasons[0].Code != engine.ReasonOnDemand {
		t.Fatalf("session %+v", d.Session)
	}

	// The same second gives the same session; schedules can be chosen.
	r = f.do("POST", "/policies/account-prod/run", []byte(`{"schedules":["monthly","weekly"]}`))
	mustStatus(t, r, http.StatusAccepted)
	var again api.RunResponse
	r.decode(t, &again)
	if again != run {
		t.Fatalf("second run in the same second: %v, want %v", again, run)
	}
	f.clock.Advance(time.Second)
	r = f.do("POST", "/policies/account-prod/run", []byte(`{"schedules":["monthly","weekly"]}`))
	mustStatus(t, r, http.StatusAccepted)
	r.decode(t, &again)
	ss, err := f.store.GetSession(t.Context(), again.SessionID)
	if err != nil || !slices.Equal(ss.Schedules, []string{"weekly", "monthly"}) {
		t.Fatalf("chosen schedules: %+v %v", ss, err)
	}

	for _, body := range []string{`{"schedules":["hourly"]}`, `{"schedules":"daily"}`, `{"schedule":["daily"]}`, `{`, `[]`, `{} {}`} {
		r = f.do("POST", "/policies/account-prod/run", []byte(body))
		mustStatus(t, r, http.StatusBadRequest)
		r.errorBody(t)
	}
	// The watermark did not move: the scheduled run of 01:00 UTC, which
	// no tick has started yet, still happens.
	res, err := f.engine.Tick(t.Context())
	if err != nil || len(res.Sessions) != 1 || res.Sessions[0] != "account-prod#2026-03-02T01:00:00Z" {
		t.Fatalf("tick after an on-demand run: %v %v", res.Sessions, err)
	}
}

func TestPlan(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	mustStatus(t, f.do("PUT", "/policies/account-prod", readPolicy(t, "account-prod.json")), http.StatusCreated)
	r := f.do("GET", "/policies/account-prod/plan?days=7&history=false", nil)
	mustStatus(t, r, http.StatusOK)
	var plan api.Plan
	r.decode(t, &plan)
	if !plan.From.Equal(t0) || !plan.To.Equal(t0.AddDate(0, 0, 7)) || len(plan.Runs) != 8 || len(plan.Regions) != 2 {
		t.Fatalf("plan: from %v to %v, %d runs, %d regions", plan.From, plan.To, len(plan.Runs), len(plan.Regions))
	}
	if plan.Runs[0].Local != "2026-03-02T02:00:00+01:00" || plan.Regions[0].Copy == nil || plan.Regions[0].Copy.TargetRegion != "eu-central-1" {
		t.Fatalf("first run %+v, first region %+v", plan.Runs[0], plan.Regions[0])
	}
	r = f.do("GET", "/policies/account-prod/plan?from=2026-06-01T00:00:00Z&days=30", nil)
	mustStatus(t, r, http.StatusOK)
	r.decode(t, &plan)
	expired := 0
	for _, run := range plan.Runs {
		expired += len(run.Expires)
	}
	if plan.HistoryFrom.IsZero() || expired == 0 {
		t.Fatalf("a plan with history should expire points: historyFrom %v, %d expiries", plan.HistoryFrom, expired)
	}
	r = f.do("GET", "/policies/account-prod/plan?days=0&from=yesterday&history=maybe&x=1", nil)
	mustStatus(t, r, http.StatusBadRequest)
	if e := r.errorBody(t); len(e.Errors) != 4 {
		t.Fatalf("want a problem for each of days, from, history and x: %+v", e.Errors)
	}
}

func TestListPoliciesPages(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	doc := readPolicy(t, "account-prod.json")
	var ids []string
	for _, id := range []string{"p-07", "p-03", "p-11", "p-01", "p-05"} {
		mustStatus(t, f.do("PUT", "/policies/"+id, edit(t, doc, func(m map[string]any) { m["id"] = id })), http.StatusCreated)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := f.do("GET", "/policies?limit=2&cursor="+cursor, nil)
		mustStatus(t, r, http.StatusOK)
		var page api.PolicyList
		r.decode(t, &page)
		for _, p := range page.Policies {
			got = append(got, p.Policy.ID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("paged ids %v, want %v", got, ids)
	}
}
