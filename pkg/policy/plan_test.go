package policy

import (
	"testing"
	"time"
)

func TestPlanSteadyState(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	from := utc("2025-03-25T00:00:00Z")
	to := from.Add(14 * 24 * time.Hour)
	plan := p.Plan(from, to, true)
	if plan.HistoryFrom.IsZero() || !plan.HistoryFrom.Before(from.Add(-90*24*time.Hour)) {
		t.Errorf("history starts %s; three monthly points need about three months", plan.HistoryFrom)
	}
	// 15 daily runs (25 March to 8 April 02:00 CEST, which is the end of
	// the window), the weekly one of 6 April (30 March shares the DST run
	// with daily), and the monthly one of 1 April.
	if len(plan.Runs) != 15+1+1 {
		t.Errorf("%d runs, want 17", len(plan.Runs))
	}
	// At the end: 15 daily points (25 March to 8 April; the one of 30 March
	// is also weekly), the 3 other newest weekly and the 3 monthly ones.
	if len(plan.Kept) != 15+3+3 {
		t.Errorf("%d points kept at the end, want 21", len(plan.Kept))
	}
	byTime := map[string]PlannedRun{}
	for _, r := range plan.Runs {
		if !r.At.After(from) || r.At.After(to) {
			t.Errorf("run %s outside (%s, %s]", r.At, from, to)
		}
		byTime[r.At.Format(time.RFC3339)] = r
	}
	// Every daily run in steady state expires the daily point of 14 days before.
	r := byTime["2025-03-26T01:00:00Z"]
	if len(r.Expires) != 1 || !r.Expires[0].CreatedAt.Equal(utc("2025-03-12T01:00:00Z")) {
		t.Errorf("daily run of 26 March expires %+v, want the point of 12 March", r.Expires)
	}
	// The DST night: daily and weekly share one run at 03:00 CEST; it
	// pushes the 5th newest weekly point out. The daily point of 16 March
	// (02:00 CET = 01:00Z) reaches 14 days at the same instant.
	r = byTime["2025-03-30T01:00:00Z"]
	if len(r.Schedules) != 2 || len(r.Expires) != 2 ||
		!r.Expires[0].CreatedAt.Equal(utc("2025-03-02T02:00:00Z")) || !r.Expires[1].CreatedAt.Equal(utc("2025-03-16T01:00:00Z")) {
		t.Errorf("DST run = %+v", r)
	}
	// The monthly run of 1 April expires the monthly point of 1 January,
	// and the daily point of 18 March: since DST began, daily runs are an
	// hour earlier in UTC, so that point turned 14 days old after the
	// daily run of 1 April, and before the monthly one.
	r = byTime["2025-04-01T02:00:00Z"]
	if len(r.Expires) != 2 || !r.Expires[0].CreatedAt.Equal(utc("2025-01-01T03:00:00Z")) || !r.Expires[1].CreatedAt.Equal(utc("2025-03-18T01:00:00Z")) {
		t.Errorf("monthly run expires %+v", r.Expires)
	}
}

func TestPlanWithoutHistory(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	from := utc("2025-03-25T00:00:00Z")
	plan := p.Plan(from, from.Add(14*24*time.Hour), false)
	if !plan.HistoryFrom.IsZero() {
		t.Errorf("HistoryFrom = %s without history", plan.HistoryFrom)
	}
	for _, r := range plan.Runs {
		if len(r.Expires) != 0 && r.At.Before(from.Add(14*24*time.Hour)) {
			t.Errorf("run %s expires %v although no point is 14 days old yet", r.At, r.Expires)
		}
	}
	if n := len(plan.Runs); n < 15 {
		t.Errorf("%d runs in 14 days", n)
	}
}

// TestPlanHistoryIsBounded plans a policy whose steady state would take
// centuries to reach: the history stops at the cap instead of running on.
func TestPlanHistoryIsBounded(t *testing.T) {
	p := &Policy{Schedules: []Schedule{
		{Name: "often", Kind: KindDaily, At: []string{"00:00", "01:00", "02:00", "03:00", "04:00", "05:00", "06:00", "07:00", "08:00", "09:00", "10:00", "11:00",
			"12:00", "13:00", "14:00", "15:00", "16:00", "17:00", "18:00", "19:00", "20:00", "21:00", "22:00", "23:00"}, Retention: Retention{Days: 7}},
		{Name: "yearly", Kind: KindYearly, At: []string{"05:30"}, Month: 1, DayOfMonth: 1, Retention: Retention{Count: 1000}},
	}}
	from := utc("2025-01-01T00:00:00Z")
	plan := p.Plan(from, from.Add(24*time.Hour), true)
	if got := len(p.Runs(plan.HistoryFrom, from)); got > maxPlanRuns {
		t.Errorf("history holds %d runs, cap is %d", got, maxPlanRuns)
	}
	if len(plan.Runs) != 25 { // 01:00 to 24:00, and the yearly 05:30
		t.Errorf("%d runs in a day, want 25", len(plan.Runs))
	}
}
