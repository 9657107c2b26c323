package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRetain(t *testing.T) {
	day := 24 * time.Hour
	t0 := utc("2025-01-01T00:00:00Z")
	rules := map[string]Retention{"daily": {Days: 14}, "weekly": {Count: 2}, "long": {Days: 30}}
	pt := func(id string, ageDays float64, scheds ...string) Point {
		return Point{ID: id, CreatedAt: t0.Add(-time.Duration(ageDays * float64(day))), Schedules: scheds}
	}
	type want struct {
		keep    bool
		expires time.Time
		heldBy  []string
		reason  string
	}
	cases := []struct {
		name   string
		points []Point
		now    time.Time
		want   []want
	}{
		{"days: kept until created+days, exclusive",
			[]Point{pt("young", 13.9, "daily"), pt("edge", 14, "daily"), pt("old", 20, "daily")}, t0,
			[]want{
				{true, t0.Add(time.Duration(0.1 * float64(day))), []string{"daily"}, "held by daily until"},
				{false, t0, nil, "daily kept it 14 days"},
				{false, t0.Add(-6 * day), nil, "daily kept it 14 days"},
			}},
		{"count: newest N kept; the N-th newer one pushed the rest out",
			[]Point{pt("w1", 21, "weekly"), pt("w2", 14, "weekly"), pt("w3", 7, "weekly"), pt("w4", 0, "weekly")}, t0,
			[]want{
				{false, t0.Add(-7 * day), nil, "weekly keeps the newest 2 and 3 newer exist"},
				{false, t0, nil, "weekly keeps the newest 2 and 2 newer exist"},
				{true, time.Time{}, []string{"weekly"}, "held by weekly."},
				{true, time.Time{}, []string{"weekly"}, "held by weekly."},
			}},
		{"count ties are broken by ID",
			[]Point{pt("b", 1, "weekly"), pt("a", 1, "weekly"), pt("c", 1, "weekly")}, t0,
			[]want{{true, time.Time{}, []string{"weekly"}, ""}, {false, t0.Add(-day), nil, "weekly keeps"}, {true, time.Time{}, []string{"weekly"}, ""}}},
		{"count only looks at points of its own schedule",
			[]Point{pt("w", 30, "weekly"), pt("d1", 1, "daily"), pt("d2", 2, "daily"), pt("d3", 3, "daily")}, t0,
			[]want{{true, time.Time{}, []string{"weekly"}, ""}, {true, t0.Add(13 * day), []string{"daily"}, ""}, {true, t0.Add(12 * day), []string{"daily"}, ""}, {true, t0.Add(11 * day), []string{"daily"}, ""}}},
		{"a point is kept while any schedule holds it",
			[]Point{pt("both", 20, "daily", "weekly"), pt("w", 7, "weekly")}, t0,
			[]want{{true, time.Time{}, []string{"weekly"}, "held by weekly."}, {true, time.Time{}, []string{"weekly"}, ""}}},
		{"expired by every schedule: the last release counts",
			[]Point{pt("both", 20, "daily", "weekly"), pt("w2", 10, "weekly"), pt("w3", 5, "weekly")}, t0,
			[]want{{false, t0.Add(-5 * day), nil, "daily kept it 14 days (until 2024-12-26T00:00:00Z); weekly keeps the newest 2 and 2 newer exist (since 2024-12-27T00:00:00Z)"}, {true, time.Time{}, []string{"weekly"}, ""}, {true, time.Time{}, []string{"weekly"}, ""}}},
		{"several days schedules: the latest expiry",
			[]Point{pt("p", 1, "daily", "long")}, t0,
			[]want{{true, t0.Add(29 * day), []string{"daily", "long"}, "until 2025-01-30T00:00:00Z"}}},
		{"a count holder makes the expiry unknown",
			[]Point{pt("p", 1, "daily", "weekly")}, t0,
			[]want{{true, time.Time{}, []string{"daily", "weekly"}, ""}}},
		{"unknown schedule: kept on doubt",
			[]Point{pt("gone", 400, "hourly"), pt("mixed", 400, "daily", "hourly")}, t0,
			[]want{
				{true, time.Time{}, []string{"hourly"}, "schedule hourly is not in the policy any more"},
				{true, time.Time{}, []string{"hourly"}, "never deleted on doubt"},
			}},
		{"no schedule at all: kept",
			[]Point{pt("untagged", 400)}, t0,
			[]want{{true, time.Time{}, nil, "names no schedule"}}},
		{"a schedule named twice counts once",
			[]Point{pt("p", 20, "daily", "daily")}, t0,
			[]want{{false, t0.Add(-6 * day), nil, "Expired: daily kept it 14 days (until 2024-12-26T00:00:00Z)."}}},
		{"a rule without days or count holds its points",
			[]Point{pt("p", 400, "broken")}, t0,
			[]want{{true, time.Time{}, []string{"broken"}, "has no retention"}}},
	}
	rules["broken"] = Retention{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Retain(c.points, rules, c.now)
			if len(got) != len(c.want) {
				t.Fatalf("%d decisions for %d points", len(got), len(c.points))
			}
			for i, w := range c.want {
				g := got[i]
				if g.ID != c.points[i].ID || g.Keep != w.keep || !g.ExpiresAt.Equal(w.expires) || !slices.Equal(g.HeldBy, w.heldBy) || !strings.Contains(g.Reason, w.reason) {
					t.Errorf("decision %d = %+v\nwant keep=%v expires=%s heldBy=%v reason containing %q", i, g, w.keep, w.expires, w.heldBy, w.reason)
				}
			}
			checkExpiries(t, got, retain(c.points, rules, c.now, false))
		})
	}
}

// checkExpiries compares the unexplained decisions with Retain's: the same
// points, Keep and ExpiresAt, and neither HeldBy nor Reason.
func checkExpiries(t *testing.T, explained, quiet []Decision) {
	t.Helper()
	if len(quiet) != len(explained) {
		t.Fatalf("%d unexplained decisions, %d explained", len(quiet), len(explained))
	}
	for i, q := range quiet {
		e := explained[i]
		if q.ID != e.ID || q.Keep != e.Keep || !q.ExpiresAt.Equal(e.ExpiresAt) || q.HeldBy != nil || q.Reason != "" {
			t.Errorf("unexplained decision %d = %+v, explained %+v", i, q, e)
		}
	}
}

// TestRetainOrderIndependent shuffles the input: the decision for each point
// must not depend on where it stands in the list.
func TestRetainOrderIndependent(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	runs := p.Runs(utc("2025-01-01T00:00:00Z"), utc("2025-06-01T00:00:00Z"))
	points := make([]Point, len(runs))
	for i, r := range runs {
		points[i] = Point{ID: fmt.Sprintf("rp-%03d", i), CreatedAt: r.At, Schedules: r.Schedules}
	}
	now := utc("2025-06-01T00:00:00Z")
	base := map[string]Decision{}
	for _, d := range p.Retain(points, now) {
		base[d.ID] = d
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		rng.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
		got := p.Retain(points, now)
		checkExpiries(t, got, p.Expiries(points, now))
		for i, d := range got {
			if d.ID != points[i].ID {
				t.Fatalf("decision %d is for %s, point is %s", i, d.ID, points[i].ID)
			}
			b := base[d.ID]
			if d.Keep != b.Keep || !d.ExpiresAt.Equal(b.ExpiresAt) || d.Reason != b.Reason {
				t.Fatalf("%s: %+v after shuffling, %+v before", d.ID, d, b)
			}
		}
	}
	kept := 0
	for _, d := range base {
		if d.Keep {
			kept++
		}
	}
	// The daily points of the last 14 days (the one made exactly 14 days
	// before now has expired, the one made at now is kept), the 4 newest
	// weekly and the 3 newest monthly points: those run at other times of
	// day, so they are points of their own.
	if kept != 14+4+3 {
		t.Errorf("kept %d points, want %d", kept, 14+4+3)
	}
}

// TestRetainGolden renders the decisions for three months of account-prod's
// restore points, for review of the reasons and expiry times.
func TestRetainGolden(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	runs := p.Runs(utc("2025-02-20T00:00:00Z"), utc("2025-05-15T00:00:00Z"))
	var points []Point
	for _, r := range runs {
		points = append(points, Point{ID: r.At.In(p.Location()).Format("2006-01-02T15:04 MST"), CreatedAt: r.At, Schedules: r.Schedules})
	}
	points = append(points, Point{ID: "legacy", CreatedAt: utc("2024-06-01T00:00:00Z"), Schedules: []string{"hourly"}})
	now := utc("2025-05-15T00:00:00Z")
	var b strings.Builder
	fmt.Fprintf(&b, "# account-prod at %s\n", now.Format(time.RFC3339))
	for i, d := range p.Retain(points, now) {
		keep := "expire"
		if d.Keep {
			keep = "keep"
		}
		expires := "-"
		if !d.ExpiresAt.IsZero() {
			expires = d.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%-20s %-15s %-6s %-20s %s\n", d.ID, JoinSchedules(points[i].Schedules), keep, expires, d.Reason)
	}
	golden(t, "retention-account-prod.golden", []byte(b.String()))
}

func BenchmarkRetain(b *testing.B) {
	p := &Policy{Schedules: []Schedule{daily("d", "02:00", "14:00"), {Name: "w", Kind: KindWeekly, At: []string{"03:00"}, Days: []string{"sun"}, Retention: Retention{Count: 52}}}}
	p.Schedules[0].Retention = Retention{Days: 35}
	runs := p.Runs(utc("2024-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z"))
	points := make([]Point, len(runs))
	for i, r := range runs {
		points[i] = Point{ID: fmt.Sprint(i), CreatedAt: r.At, Schedules: r.Schedules}
	}
	now := utc("2025-01-01T00:00:00Z")
	b.Run("explained", func(b *testing.B) {
		for b.Loop() {
			p.Retain(points, now)
		}
	})
	b.Run("unexplained", func(b *testing.B) {
		for b.Loop() {
			p.Expiries(points, now)
		}
	})
}

// EarliestExpiry against Retain: for points made at their runs, Retain
// keeps each point until its estimate and lets it go at it; for points made
// late (each backup some minutes after its run), never before it.
func TestEarliestExpiryMatchesRetain(t *testing.T) {
	for _, name := range []string{"account-prod.json", "org-all.json"} {
		p := examplePolicy(t, name)
		runs := p.Runs(utc("2025-01-01T00:00:00Z"), utc("2025-09-01T00:00:00Z"))
		for _, late := range []bool{false, true} {
			points := make([]Point, len(runs))
			for i, r := range runs {
				at := r.At
				if late {
					at = at.Add(time.Duration(i*37%90) * time.Minute)
				}
				points[i] = Point{ID: fmt.Sprintf("%04d", i), CreatedAt: at, Schedules: r.Schedules}
			}
			// existing returns the points made by `now` and the index of
			// point i among them.
			decisionAt := func(i int, now time.Time) Decision {
				var made []Point
				for _, pt := range points {
					if !pt.CreatedAt.After(now) {
						made = append(made, pt)
					}
				}
				return p.Retain(made, now)[i]
			}
			checked := 0
			for i, pt := range points {
				at, ok := p.EarliestExpiry(pt.Schedules, pt.CreatedAt)
				if !ok {
					t.Fatalf("%s: point %s (%v) has no estimate", name, pt.ID, pt.Schedules)
				}
				if at.After(utc("2025-08-01T00:00:00Z")) {
					continue // its pushers are beyond the window
				}
				checked++
				if d := decisionAt(i, at.Add(-time.Nanosecond)); !d.Keep {
					t.Errorf("%s late=%v: point %s %v released before its estimate %s: %s", name, late, pt.ID, pt.Schedules, at, d.Reason)
				}
				if !late {
					if d := decisionAt(i, at); d.Keep {
						t.Errorf("%s: point %s %v still kept at its estimate %s: %s", name, pt.ID, pt.Schedules, at, d.Reason)
					}
				}
			}
			if checked < 100 {
				t.Fatalf("%s: only %d points checked", name, checked)
			}
		}
	}
}

func TestEarliestExpiryNever(t *testing.T) {
	p := &Policy{Timezone: "UTC", Schedules: []Schedule{
		daily("d"), // no times: never fires
		{Name: "y", Kind: KindYearly, At: []string{"01:00"}, DayOfMonth: 1, Month: 1, Retention: Retention{Count: 2}},
		{Name: "odd", Kind: KindDaily, At: []string{"01:00"}},
	}}
	p.Schedules[0].Retention = Retention{Count: 1}
	at := utc("2025-03-01T00:00:00Z")
	for _, c := range []struct {
		schedules []string
		ok        bool
		want      time.Time
	}{
		{nil, false, time.Time{}},
		{[]string{"gone"}, false, time.Time{}},
		{[]string{"d"}, false, time.Time{}},
		{[]string{"odd"}, false, time.Time{}},
		{[]string{"y"}, true, utc("2027-01-01T01:00:00Z")},
		{[]string{"y", "gone"}, false, time.Time{}},
	} {
		got, ok := p.EarliestExpiry(c.schedules, at)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("EarliestExpiry(%v) = %s, %v; want %s, %v", c.schedules, got, ok, c.want, c.ok)
		}
	}
}

func TestRulesDigest(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	base := p.RulesDigest()
	q := examplePolicy(t, "account-prod.json")
	q.Name, q.Retries.Count, q.Source.Regions = "other", 9, []string{"eu-west-1"}
	if q.RulesDigest() != base {
		t.Error("the digest changed with fields retention does not read")
	}
	for name, change := range map[string]func(*Policy){
		"timezone":  func(p *Policy) { p.Timezone = "America/New_York" },
		"days":      func(p *Policy) { p.Schedules[0].Retention.Days++ },
		"count":     func(p *Policy) { p.Schedules[1].Retention.Count++ },
		"time":      func(p *Policy) { p.Schedules[1].At = []string{"04:00"} },
		"weekday":   func(p *Policy) { p.Schedules[1].Days = []string{"mon"} },
		"month day": func(p *Policy) { p.Schedules[2].DayOfMonth = 2 },
		"name":      func(p *Policy) { p.Schedules[0].Name = "nightly" },
		"removed":   func(p *Policy) { p.Schedules = p.Schedules[:2] },
	} {
		q := examplePolicy(t, "account-prod.json")
		change(q)
		if q.RulesDigest() == base {
			t.Errorf("changing the %s leaves the digest as it was", name)
		}
	}
}
