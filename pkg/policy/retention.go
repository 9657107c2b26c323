package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Point is a restore point as retention sees it: when it was made and by
// which schedules (from its efskeeper:schedules tag).
type Point struct {
	ID        string
	CreatedAt time.Time
	Schedules []string
}

// Decision is what retention says about one point. Keep is true while any of
// its schedules holds it. ExpiresAt is, for a kept point, the earliest time it
// can expire when that is known now (every holder counts days), zero when it
// depends on points still to come; for an expired point, the time its last
// holder let it go. HeldBy lists the schedules still holding it. Reason is a
// sentence for logs, reports and dry runs.
type Decision struct {
	ID        string
	Keep      bool
	ExpiresAt time.Time
	HeldBy    []string
	Reason    string
}

// Retain decides, for each point, whether the policy's schedules still hold
// it at `now`. The result is in the order of points.
func (p *Policy) Retain(points []Point, now time.Time) []Decision {
	return retain(points, p.Rules(), now, true)
}

// Expiries is Retain without the explanations: each Decision has its ID,
// Keep and ExpiresAt, and no HeldBy or Reason. Retention's passes decide
// on tens of thousands of points a day and read nothing else; writing a
// sentence for each was most of the cost of deciding.
func (p *Policy) Expiries(points []Point, now time.Time) []Decision {
	return p.Rules().Expiries(points, now)
}

// Rules is the retention of each schedule by name.
type Rules map[string]Retention

// Rules returns the retention of each of the policy's schedules. A caller
// that decides on many groups of points takes it once (Rules.Expiries).
func (p *Policy) Rules() Rules {
	rules := make(Rules, len(p.Schedules))
	for _, s := range p.Schedules {
		rules[s.Name] = s.Retention
	}
	return rules
}

// Expiries is Policy.Expiries under these rules.
func (r Rules) Expiries(points []Point, now time.Time) []Decision {
	return retain(points, r, now, false)
}

// Retain is the retention rule as a pure function of the points, the
// retention of each schedule by name, and the time:
//
//   - days: a schedule holds a point while now < CreatedAt + days×24h;
//   - count: a schedule holds the newest Count points that carry it (newest
//     by CreatedAt, then by ID), and a point it let go was pushed out by the
//     Count-th newer point, at that point's CreatedAt;
//   - a point is kept while any of its schedules holds it;
//   - a point that names a schedule not in rules (deleted from the policy
//     since), or no schedule at all, is kept: retention never deletes on
//     doubt.
func Retain(points []Point, rules map[string]Retention, now time.Time) []Decision {
	return retain(points, rules, now, true)
}

// retain is Retain; explain says whether to fill HeldBy and Reason.
func retain(points []Point, rules map[string]Retention, now time.Time, explain bool) []Decision {
	// For each count schedule: the order of its points, newest first.
	ranks := countRanks(points, rules)
	out := make([]Decision, len(points))
	for i, pt := range points {
		out[i] = decide(i, pt, rules, ranks, now, explain)
	}
	return out
}

// rank is a point's place among the points of one count schedule (0 is the
// newest) and, when it was pushed out, the CreatedAt of the point that did.
type rank struct {
	pos      int
	pushedAt time.Time
}

// countRanks returns nil when no schedule counts: most policies keep by
// days, and a pass decides on every group of points of a fleet.
func countRanks(points []Point, rules map[string]Retention) map[string]map[int]rank {
	var ranks map[string]map[int]rank
	for name, r := range rules {
		if r.Count <= 0 || r.Days != 0 {
			continue
		}
		var idx []int
		for i, pt := range points {
			if slices.Contains(pt.Schedules, name) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool {
			pa, pb := points[idx[a]], points[idx[b]]
			if !pa.CreatedAt.Equal(pb.CreatedAt) {
				return pa.CreatedAt.After(pb.CreatedAt)
			}
			return pa.ID > pb.ID
		})
		m := make(map[int]rank, len(idx))
		for pos, i := range idx {
			rk := rank{pos: pos}
			if pos >= r.Count {
				rk.pushedAt = points[idx[pos-r.Count]].CreatedAt
			}
			m[i] = rk
		}
		if ranks == nil {
			ranks = map[string]map[int]rank{}
		}
		ranks[name] = m
	}
	return ranks
}

func decide(i int, pt Point, rules map[string]Retention, ranks map[string]map[int]rank, now time.Time, explain bool) Decision {
	d := Decision{ID: pt.ID}
	names := distinct(pt.Schedules)
	if len(names) == 0 {
		d.Keep = true
		if explain {
			d.Reason = "Kept: the restore point names no schedule, so no rule can release it."
		}
		return d
	}
	var unknown, unreadable, held, released []string
	holders := 0
	hold := func(name string) {
		holders++
		if explain {
			held = append(held, name)
		}
	}
	knownUntil := time.Time{} // latest days-based expiry among holders
	openEnded := false        // a count schedule or unknown schedule holds it
	releasedAt := time.Time{} // latest release among schedules that let go
	for _, name := range names {
		r, ok := rules[name]
		switch {
		case !ok:
			unknown = append(unknown, name)
			hold(name)
			openEnded = true
		case r.Days > 0:
			until := pt.CreatedAt.Add(time.Duration(r.Days) * 24 * time.Hour)
			if now.Before(until) {
				hold(name)
				knownUntil = later(knownUntil, until)
				continue
			}
			if explain {
				released = append(released, fmt.Sprintf("%s kept it %d days (until %s)", name, r.Days, stamp(until)))
			}
			releasedAt = later(releasedAt, until)
		case r.Count > 0:
			rk := ranks[name][i]
			if rk.pos < r.Count {
				hold(name)
				openEnded = true
				continue
			}
			if explain {
				released = append(released, fmt.Sprintf("%s keeps the newest %d and %d newer exist (since %s)", name, r.Count, rk.pos, stamp(rk.pushedAt)))
			}
			releasedAt = later(releasedAt, rk.pushedAt)
		default:
			// A rule without days or count cannot be read; hold the point.
			unreadable = append(unreadable, name)
			hold(name)
			openEnded = true
		}
	}
	d.HeldBy = held
	if holders == 0 {
		d.ExpiresAt = releasedAt
		if explain {
			d.Reason = "Expired: " + strings.Join(released, "; ") + "."
		}
		return d
	}
	d.Keep = true
	if !openEnded {
		d.ExpiresAt = knownUntil
	}
	if !explain {
		return d
	}
	switch {
	case len(unknown) > 0:
		d.Reason = fmt.Sprintf("Kept: schedule %s is not in the policy any more, and a point is never deleted on doubt.", strings.Join(unknown, ", "))
	case len(unreadable) > 0:
		d.Reason = fmt.Sprintf("Kept: schedule %s has no retention (neither days nor count), and a point is never deleted on doubt.", strings.Join(unreadable, ", "))
	case openEnded:
		d.Reason = fmt.Sprintf("Kept: held by %s.", strings.Join(held, ", "))
	default:
		d.Reason = fmt.Sprintf("Kept: held by %s until %s.", strings.Join(held, ", "), stamp(knownUntil))
	}
	return d
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// distinct returns the names without repeats, in first-seen order.
// It returns names itself when nothing repeats (most points carry one
// schedule): callers only read it.
func distinct(names []string) []string {
	repeats := false
	for i, n := range names {
		if slices.Contains(names[:i], n) {
			repeats = true
			break
		}
	}
	if !repeats {
		return names
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// EarliestExpiry is when retention should first look at a point made at
// createdAt for these schedules: the instant its last holder can let it
// go, that is the latest, over its schedules, of createdAt + days for a
// days rule and of the Count-th run of the schedule after createdAt for a
// count rule (a count schedule lets a point go only once Count newer points
// of it exist, and scheduled runs make them). It reports false when no
// rule can ever release the point: no schedule, a schedule the policy does
// not have, an unreadable rule, or a count schedule that fires fewer than
// Count more times.
//
// It is an estimate for scheduling retention's work, never a decision:
// Retain decides. A late backup makes the Count-th newer point later than
// its run (retention looks again), and an on-demand run carrying a count
// schedule can push a point out before this instant (retention then
// deletes it here, not sooner).
func (p *Policy) EarliestExpiry(schedules []string, createdAt time.Time) (time.Time, bool) {
	names := distinct(schedules)
	if len(names) == 0 {
		return time.Time{}, false
	}
	loc := p.Location()
	var at time.Time
	for _, name := range names {
		i := slices.IndexFunc(p.Schedules, func(s Schedule) bool { return s.Name == name })
		if i < 0 {
			return time.Time{}, false
		}
		s := p.Schedules[i]
		var until time.Time
		switch r := s.Retention; {
		case r.Days > 0:
			until = createdAt.Add(time.Duration(r.Days) * 24 * time.Hour)
		case r.Count > 0:
			until = createdAt
			for n := 0; n < r.Count; n++ {
				next, ok := s.next(until, loc)
				if !ok {
					return time.Time{}, false
				}
				until = next
			}
		default:
			return time.Time{}, false
		}
		at = later(at, until)
	}
	return at, true
}

// RulesDigest identifies what EarliestExpiry and Retain depend on: the
// time zone and the schedules with their retention. Two policies with the
// same digest release every point at the same instants, so estimates made
// under one hold under the other.
func (p *Policy) RulesDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q\n", p.Timezone)
	for _, s := range p.Schedules {
		fmt.Fprintf(h, "%q %q %q %q %d %d %d %d\n", s.Name, s.Kind, s.At, s.Days, s.DayOfMonth, s.Month, s.Retention.Days, s.Retention.Count)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
