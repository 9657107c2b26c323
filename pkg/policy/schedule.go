package policy

import (
	"slices"
	"time"
)

// Run is one instant at which a policy backs up: every schedule that fires
// at that instant, in policy order, shares the one backup.
type Run struct {
	At        time.Time // the UTC instant
	Schedules []string  // names of the schedules firing at At, in policy order
}

// NextRun returns the first run strictly after `after`. It reports false when
// no schedule ever fires (no schedules, or none that can be read). It does
// not look at Enabled: whether a disabled policy runs is the caller's call.
//
// Times are wall-clock times in the policy's zone. A time that a DST change
// skips runs at the first instant after the gap (02:30 on a spring-forward
// night in Europe/Berlin runs at 03:00 local); a time that repeats when the
// clocks go back runs once, at its first occurrence. The cost is a handful
// of candidate dates per schedule, whatever the kind.
func (p *Policy) NextRun(after time.Time) (Run, bool) {
	loc := p.Location()
	var run Run
	found := false
	for _, s := range p.Schedules {
		t, ok := s.next(after, loc)
		if !ok {
			continue
		}
		switch {
		case !found || t.Before(run.At):
			run = Run{At: t, Schedules: []string{s.Name}}
			found = true
		case t.Equal(run.At):
			run.Schedules = append(run.Schedules, s.Name)
		}
	}
	return run, found
}

// Runs returns every run with from < At <= to, in time order.
func (p *Policy) Runs(from, to time.Time) []Run {
	var runs []Run
	for t := from; ; {
		r, ok := p.NextRun(t)
		if !ok || r.At.After(to) {
			return runs
		}
		runs = append(runs, r)
		t = r.At
	}
}

// next returns the first firing of one schedule strictly after `after`.
//
// resolve is monotone in the wall-clock time it is given, so walking the
// candidate wall-clock times in order and stopping at the first instant
// after `after` finds the earliest one. The walk starts two days before the
// wall-clock date of `after`, because a DST change (or a zone skipping a
// whole day, as Pacific/Apia did in 2011) can move a candidate across midnight.
func (s Schedule) next(after time.Time, loc *time.Location) (time.Time, bool) {
	times := s.clockTimes()
	if len(times) == 0 {
		return time.Time{}, false
	}
	local := after.In(loc)
	startY, startM, startD := local.Date()
	start := civil(startY, startM, startD-2)
	try := func(date time.Time) (time.Time, bool) {
		for _, hm := range times {
			t := resolve(date.Year(), date.Month(), date.Day(), hm/60, hm%60, loc)
			if t.After(after) {
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	switch s.Kind {
	case KindDaily, KindWeekly:
		days := s.weekdaySet()
		if days == 0 {
			return time.Time{}, false
		}
		// Ten days cover a week of candidates plus the two-day lead-in;
		// the bound also stops a pathological zone from looping.
		for i := 0; i < 10; i++ {
			date := start.AddDate(0, 0, i)
			if days&(1<<date.Weekday()) == 0 {
				continue
			}
			if t, ok := try(date); ok {
				return t, true
			}
		}
	case KindMonthly:
		if !validDay(s.DayOfMonth) {
			return time.Time{}, false
		}
		for i := 0; i < 3; i++ {
			first := civil(start.Year(), start.Month()+time.Month(i), 1)
			date := civil(first.Year(), first.Month(), dayIn(first.Year(), first.Month(), s.DayOfMonth))
			if date.Before(start) {
				continue
			}
			if t, ok := try(date); ok {
				return t, true
			}
		}
	case KindYearly:
		if !validDay(s.DayOfMonth) || s.Month < 1 || s.Month > 12 {
			return time.Time{}, false
		}
		for i := 0; i < 3; i++ {
			y, m := start.Year()+i, time.Month(s.Month)
			date := civil(y, m, dayIn(y, m, s.DayOfMonth))
			if date.Before(start) {
				continue
			}
			if t, ok := try(date); ok {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// civil is a calendar date (at midnight UTC, used only for date arithmetic).
func civil(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func validDay(dom int) bool { return dom == LastDay || dom >= 1 && dom <= 31 }

// dayIn returns the day of month a schedule means in a given month: -1 and
// days the month lacks (31 in April, 29 to 31 in a short February) mean its
// last day.
func dayIn(y int, m time.Month, dom int) int {
	last := civil(y, m+1, 0).Day()
	if dom == LastDay || dom > last {
		return last
	}
	return dom
}

// clockTimes returns the readable "HH:MM" times as minutes after midnight,
// sorted and without repeats.
func (s Schedule) clockTimes() []int {
	out := make([]int, 0, len(s.At))
	for _, at := range s.At {
		if m, ok := parseClock(at); ok {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseClock reads a strict 24-hour "HH:MM" into minutes after midnight.
// NextRun reads every time on every call, so this avoids a regexp.
func parseClock(at string) (int, bool) {
	if len(at) != 5 || at[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if at[i] < '0' || at[i] > '9' {
			return 0, false
		}
	}
	h := int(at[0]-'0')*10 + int(at[1]-'0')
	m := int(at[3]-'0')*10 + int(at[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// weekdaySet returns the schedule's days as a bit set indexed by
// time.Weekday; a daily schedule without days runs every day.
func (s Schedule) weekdaySet() uint8 {
	if s.Kind == KindDaily && len(s.Days) == 0 {
		return 0x7f
	}
	var set uint8
	for _, d := range s.Days {
		if i := slices.Index(weekdays, d); i >= 0 {
			set |= 1 << ((i + 1) % 7)
		}
	}
	return set
}

// resolve turns a wall-clock time in loc into an instant: the first instant
// whose wall clock reads that time or later. For a time that exists once
// that is the time itself; for a time that repeats (clocks going back) its
// first occurrence; for a time a gap skips (clocks going forward) the
// instant the gap ends. time.Date leaves the last two cases unspecified.
func resolve(y int, m time.Month, d, hh, mm int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, hh, mm, 0, 0, time.UTC).Unix()
	// No instant more than a day before the wall-clock reading, taken as
	// UTC, can show it: UTC offsets stay within ±14 hours.
	t := wall - 24*3600
	for range 16 {
		at := time.Unix(t, 0).In(loc)
		_, offset := at.Zone()
		_, end := at.ZoneBounds()
		// Within one zone period the wall clock is t+offset, increasing.
		cand := max(t, wall-int64(offset))
		if end.IsZero() || cand < end.Unix() {
			return time.Unix(cand, 0)
		}
		t = end.Unix()
	}
	// Unreachable for real zone data; fall back on the library's choice.
	return time.Date(y, m, d, hh, mm, 0, 0, loc)
}
