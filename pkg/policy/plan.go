package policy

import (
	"slices"
	"time"
)

// Plan is what a policy will do in a window: its runs and, for each, the
// restore points that retention lets go at that run. It models one file
// system that got a restore point at every run.
type Plan struct {
	From, To time.Time // runs with From < At <= To
	// HistoryFrom is where the simulated history starts: the points made
	// before From that the window's retention acts on. Zero without history.
	HistoryFrom time.Time
	Runs        []PlannedRun
	// Kept is what retention still holds at the last run of the window.
	Kept []Point
}

// PlannedRun is one run of a Plan and the points retention expires at it,
// oldest first.
type PlannedRun struct {
	Run
	Expires []Expiry
}

// Expiry is one restore point that retention lets go, and why.
type Expiry struct {
	Point
	Reason string
}

// maxPlanRuns bounds the simulated history, so that a policy with a long
// retention on a frequent schedule still plans in well under a second.
const maxPlanRuns = 20000

// Plan simulates the runs in (from, to]. With history, it first simulates the
// runs before `from` that a steady state needs (long enough for every days
// retention to run out and every count retention to fill up), so that the
// window shows the expiries a long-running policy has; without history the
// file system has no restore points at `from`.
func (p *Policy) Plan(from, to time.Time, history bool) Plan {
	plan := Plan{From: from, To: to}
	start := from
	if history {
		start = p.historyStart(from)
		if start.Before(from) {
			plan.HistoryFrom = start
		}
	}
	// Retention only ever lets go of points (a newer point never brings an
	// older one back), so one pass at `from` leaves the same history as a
	// pass at every run before it, at a fraction of the cost.
	var points []Point
	for _, r := range p.Runs(start, from) {
		points = append(points, runPoint(r))
	}
	points, _ = p.split(points, from)
	for _, r := range p.Runs(from, to) {
		points = append(points, runPoint(r))
		var expired []Expiry
		points, expired = p.split(points, r.At)
		plan.Runs = append(plan.Runs, PlannedRun{Run: r, Expires: expired})
	}
	plan.Kept = points
	return plan
}

// split applies retention at `now`, returning the kept points and the
// expired ones, oldest first.
func (p *Policy) split(points []Point, now time.Time) ([]Point, []Expiry) {
	decisions := p.Retain(points, now)
	kept := points[:0:0]
	var expired []Expiry
	for i, d := range decisions {
		if d.Keep {
			kept = append(kept, points[i])
			continue
		}
		expired = append(expired, Expiry{Point: points[i], Reason: d.Reason})
	}
	slices.SortStableFunc(expired, func(a, b Expiry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return kept, expired
}

// historyStart finds how far before `from` the simulation must start for a
// steady state: it tries a window as long as the longest days retention, and
// doubles it until every count schedule has its count of points at `from`.
func (p *Policy) historyStart(from time.Time) time.Time {
	window := 24 * time.Hour
	counts := map[string]int{}
	for _, s := range p.Schedules {
		switch {
		case s.Retention.Days > 0:
			window = max(window, time.Duration(min(s.Retention.Days, MaxRetentionDays)+1)*24*time.Hour)
		case s.Retention.Count > 0:
			counts[s.Name] = s.Retention.Count
		}
	}
	// The window never grows past this (time.Duration holds about 292 years).
	const longest = 200 * 366 * 24 * time.Hour
	for {
		start := from.Add(-window)
		runs := p.Runs(start, from)
		if len(runs) > maxPlanRuns {
			return runs[len(runs)-maxPlanRuns].At.Add(-time.Second)
		}
		if full(runs, counts) || window >= longest {
			return start
		}
		window = min(window*2, longest)
	}
}

func full(runs []Run, counts map[string]int) bool {
	seen := map[string]int{}
	for _, r := range runs {
		for _, n := range r.Schedules {
			seen[n]++
		}
	}
	for n, c := range counts {
		if seen[n] < c {
			return false
		}
	}
	return true
}

// runPoint is the restore point a run makes of the one modelled file system.
func runPoint(r Run) Point {
	return Point{ID: stamp(r.At), CreatedAt: r.At, Schedules: r.Schedules}
}
