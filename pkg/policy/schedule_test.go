package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func daily(name string, at ...string) Schedule {
	return Schedule{Name: name, Kind: KindDaily, At: at, Retention: Retention{Days: 7}}
}

func TestNextRun(t *testing.T) {
	cases := []struct {
		name  string
		tz    string
		sched []Schedule
		after string
		want  string // RFC3339 in UTC, "" for none
		names []string
	}{
		{"same day", "UTC", []Schedule{daily("d", "02:00")}, "2025-01-10T01:59:59Z", "2025-01-10T02:00:00Z", []string{"d"}},
		{"strictly after", "UTC", []Schedule{daily("d", "02:00")}, "2025-01-10T02:00:00Z", "2025-01-11T02:00:00Z", []string{"d"}},
		{"next of several times", "UTC", []Schedule{daily("d", "23:00", "02:00", "12:00")}, "2025-01-10T02:00:00Z", "2025-01-10T12:00:00Z", []string{"d"}},
		{"local zone", "Europe/Berlin", []Schedule{daily("d", "02:00")}, "2025-01-10T00:00:00Z", "2025-01-10T01:00:00Z", []string{"d"}},
		{"zone east of UTC crosses the date", "Asia/Tokyo", []Schedule{daily("d", "08:00")}, "2025-01-10T00:00:00Z", "2025-01-10T23:00:00Z", []string{"d"}},
		{"daily on some days", "UTC", []Schedule{{Name: "d", Kind: KindDaily, At: []string{"02:00"}, Days: []string{"mon", "fri"}}}, "2025-01-07T00:00:00Z", "2025-01-10T02:00:00Z", []string{"d"}},
		{"weekly sunday", "UTC", []Schedule{{Name: "w", Kind: KindWeekly, At: []string{"03:00"}, Days: []string{"sun"}}}, "2025-01-12T03:00:00Z", "2025-01-19T03:00:00Z", []string{"w"}},
		{"schedules at one instant share a run", "UTC", []Schedule{
			daily("daily", "03:00"),
			{Name: "weekly", Kind: KindWeekly, At: []string{"03:00"}, Days: []string{"sun"}},
			{Name: "monthly", Kind: KindMonthly, At: []string{"03:00"}, DayOfMonth: 1},
			{Name: "other", Kind: KindDaily, At: []string{"04:00"}},
		}, "2025-06-01T00:00:00Z", "2025-06-01T03:00:00Z", []string{"daily", "weekly", "monthly"}},
		{"monthly day 31 in April is the 30th", "UTC", []Schedule{{Name: "m", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: 31}}, "2025-03-31T05:00:00Z", "2025-04-30T04:00:00Z", []string{"m"}},
		{"monthly last day of a leap February", "UTC", []Schedule{{Name: "m", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: -1}}, "2024-02-01T00:00:00Z", "2024-02-29T04:00:00Z", []string{"m"}},
		{"monthly 29 in a short February", "UTC", []Schedule{{Name: "m", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: 29}}, "2025-02-01T00:00:00Z", "2025-02-28T04:00:00Z", []string{"m"}},
		{"monthly 30 in a leap February", "UTC", []Schedule{{Name: "m", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: 30}}, "2024-02-01T00:00:00Z", "2024-02-29T04:00:00Z", []string{"m"}},
		{"monthly across the year end", "UTC", []Schedule{{Name: "m", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: 1}}, "2025-12-01T04:00:00Z", "2026-01-01T04:00:00Z", []string{"m"}},
		{"yearly February 29 in a common year", "UTC", []Schedule{{Name: "y", Kind: KindYearly, At: []string{"05:00"}, Month: 2, DayOfMonth: 29}}, "2024-03-01T00:00:00Z", "2025-02-28T05:00:00Z", []string{"y"}},
		{"yearly February 29 in a leap year", "UTC", []Schedule{{Name: "y", Kind: KindYearly, At: []string{"05:00"}, Month: 2, DayOfMonth: 29}}, "2027-03-01T00:00:00Z", "2028-02-29T05:00:00Z", []string{"y"}},
		{"yearly a year ahead", "Europe/Berlin", []Schedule{{Name: "y", Kind: KindYearly, At: []string{"05:00"}, Month: 1, DayOfMonth: 1}}, "2025-01-01T04:00:00Z", "2026-01-01T04:00:00Z", []string{"y"}},
		{"Berlin spring forward: 02:30 runs at 03:00", "Europe/Berlin", []Schedule{daily("d", "02:30")}, "2025-03-29T02:00:00Z", "2025-03-30T01:00:00Z", []string{"d"}},
		{"Berlin spring forward: gap times merge with 03:00", "Europe/Berlin", []Schedule{daily("a", "02:00"), daily("b", "02:59"), daily("c", "03:00")}, "2025-03-29T02:00:00Z", "2025-03-30T01:00:00Z", []string{"a", "b", "c"}},
		{"Berlin fall back: 02:30 runs at its first occurrence", "Europe/Berlin", []Schedule{daily("d", "02:30")}, "2025-10-25T12:00:00Z", "2025-10-26T00:30:00Z", []string{"d"}},
		{"Berlin fall back: and not again an hour later", "Europe/Berlin", []Schedule{daily("d", "02:30")}, "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z", []string{"d"}},
		{"New York spring forward", "America/New_York", []Schedule{daily("d", "02:15")}, "2025-03-08T12:00:00Z", "2025-03-09T07:00:00Z", []string{"d"}},
		{"New York fall back", "America/New_York", []Schedule{daily("d", "01:15")}, "2025-11-01T12:00:00Z", "2025-11-02T05:15:00Z", []string{"d"}},
		{"New York fall back, once", "America/New_York", []Schedule{daily("d", "01:15")}, "2025-11-02T05:15:00Z", "2025-11-03T06:15:00Z", []string{"d"}},
		{"Lord Howe spring forward by 30 minutes", "Australia/Lord_Howe", []Schedule{daily("d", "02:15")}, "2025-10-04T12:00:00Z", "2025-10-04T15:30:00Z", []string{"d"}},
		{"Lord Howe fall back by 30 minutes", "Australia/Lord_Howe", []Schedule{daily("d", "01:45")}, "2025-04-05T12:00:00Z", "2025-04-05T14:45:00Z", []string{"d"}},
		{"Lord Howe fall back, once", "Australia/Lord_Howe", []Schedule{daily("d", "01:45")}, "2025-04-05T14:45:00Z", "2025-04-06T15:15:00Z", []string{"d"}},
		{"Apia skipped 30 December 2011", "Pacific/Apia", []Schedule{daily("d", "12:00")}, "2011-12-29T23:00:00Z", "2011-12-30T10:00:00Z", []string{"d"}},
		{"no schedules", "UTC", nil, "2025-01-01T00:00:00Z", "", nil},
		{"unreadable schedule is skipped", "UTC", []Schedule{{Name: "x", Kind: KindWeekly, At: []string{"02:00"}}, daily("d", "bad", "03:00")}, "2025-01-01T00:00:00Z", "2025-01-01T03:00:00Z", []string{"d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Policy{Timezone: c.tz, Schedules: c.sched}
			r, ok := p.NextRun(utc(c.after))
			if c.want == "" {
				if ok {
					t.Fatalf("NextRun = %v, want none", r)
				}
				return
			}
			if !ok || !r.At.Equal(utc(c.want)) || !slices.Equal(r.Schedules, c.names) {
				t.Fatalf("NextRun(%s) = %s %v (%v), want %s %v", c.after, r.At.Format(time.RFC3339), r.Schedules, ok, c.want, c.names)
			}
			if r.At.Location() != time.UTC {
				t.Errorf("run instant is in %v, want UTC", r.At.Location())
			}
		})
	}
}

func TestRunsWindow(t *testing.T) {
	p := &Policy{Schedules: []Schedule{daily("d", "02:00")}}
	runs := p.Runs(utc("2025-01-01T02:00:00Z"), utc("2025-01-03T02:00:00Z"))
	var got []string
	for _, r := range runs {
		got = append(got, r.At.Format(time.RFC3339))
	}
	want := []string{"2025-01-02T02:00:00Z", "2025-01-03T02:00:00Z"} // from excluded, to included
	if !slices.Equal(got, want) {
		t.Errorf("Runs = %v, want %v", got, want)
	}
	if r := p.Runs(utc("2025-01-01T03:00:00Z"), utc("2025-01-02T01:00:00Z")); r != nil {
		t.Errorf("Runs of an empty window = %v", r)
	}
}

// TestRunsMatchBruteForce compares Runs with a slow, independent reading of
// the rules: scan minute by minute, keep the highest wall-clock reading seen
// so far, and fire each candidate wall-clock time the first time that
// reading reaches it. This covers gaps (the reading jumps past the time)
// and repeats (the running maximum does not go back).
func TestRunsMatchBruteForce(t *testing.T) {
	times := []string{"00:00", "00:30", "01:00", "01:45", "02:00", "02:15", "02:30", "02:59", "03:00", "03:30", "23:30"}
	scheds := []Schedule{
		{Name: "d", Kind: KindDaily, At: times},
		{Name: "w", Kind: KindWeekly, At: []string{"02:30"}, Days: []string{"sun", "wed"}},
		{Name: "m", Kind: KindMonthly, At: []string{"02:30", "00:00"}, DayOfMonth: -1},
		{Name: "m31", Kind: KindMonthly, At: []string{"02:00"}, DayOfMonth: 31},
		{Name: "y", Kind: KindYearly, At: []string{"02:30"}, Month: 3, DayOfMonth: 30},
	}
	windows := []struct{ tz, from, to string }{
		{"Europe/Berlin", "2025-03-27T00:00:00Z", "2025-04-02T00:00:00Z"},
		{"Europe/Berlin", "2025-10-24T00:00:00Z", "2025-11-01T00:00:00Z"},
		{"America/New_York", "2025-03-07T00:00:00Z", "2025-03-12T00:00:00Z"},
		{"America/New_York", "2025-10-30T00:00:00Z", "2025-11-04T00:00:00Z"},
		{"Australia/Lord_Howe", "2025-04-03T00:00:00Z", "2025-04-08T00:00:00Z"},
		{"Australia/Lord_Howe", "2025-10-02T00:00:00Z", "2025-10-07T00:00:00Z"},
		{"America/Sao_Paulo", "2018-11-02T00:00:00Z", "2018-11-06T00:00:00Z"}, // midnight was skipped
		{"Pacific/Apia", "2011-12-28T00:00:00Z", "2012-01-02T00:00:00Z"},      // a whole day was skipped
		{"Asia/Kathmandu", "2024-02-27T00:00:00Z", "2024-03-03T00:00:00Z"},    // +05:45, leap day
	}
	for _, w := range windows {
		loc, err := time.LoadLocation(w.tz)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range scheds {
			p := &Policy{Timezone: w.tz, Schedules: []Schedule{s}}
			var got []string
			for _, r := range p.Runs(utc(w.from), utc(w.to)) {
				got = append(got, r.At.Format(time.RFC3339))
			}
			want := bruteForce(s, loc, utc(w.from), utc(w.to))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s %s..%s:\n got %v\nwant %v", w.tz, s.Name, w.from, w.to, got, want)
			}
		}
	}
}

func bruteForce(s Schedule, loc *time.Location, from, to time.Time) []string {
	matches := func(y int, m time.Month, d int) bool {
		date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		target := s.DayOfMonth
		if target == -1 || target > last {
			target = last
		}
		switch s.Kind {
		case KindDaily, KindWeekly:
			return slices.Contains(s.Days, strings.ToLower(date.Weekday().String()[:3])) || s.Kind == KindDaily && len(s.Days) == 0
		case KindMonthly:
			return d == target
		default:
			return int(m) == s.Month && d == target
		}
	}
	var walls []int64
	start := from.Add(-72 * time.Hour)
	for day := start.Add(-48 * time.Hour); !day.After(to.Add(48 * time.Hour)); day = day.Add(24 * time.Hour) {
		y, m, d := day.Date()
		if !matches(y, m, d) {
			continue
		}
		for _, at := range s.At {
			var hh, mm int
			fmt.Sscanf(at, "%d:%d", &hh, &mm)
			walls = append(walls, time.Date(y, m, d, hh, mm, 0, 0, time.UTC).Unix())
		}
	}
	var out []string
	highest := int64(-1 << 62)
	for t := start; !t.After(to); t = t.Add(time.Minute) {
		_, off := t.In(loc).Zone()
		wall := t.Unix() + int64(off)
		fired := false
		for _, w := range walls {
			if highest < w && w <= wall {
				fired = true
			}
		}
		highest = max(highest, wall)
		if fired && t.After(from) {
			out = append(out, t.UTC().Format(time.RFC3339))
		}
	}
	return out
}

// TestScheduleGolden renders schedule expansions around DST changes, leap
// days and month ends, so that a change in behaviour shows up in review.
func TestScheduleGolden(t *testing.T) {
	cases := []struct {
		file, tz string
		sched    []Schedule
		windows  [][2]string
	}{
		{"schedule-europe-berlin.golden", "Europe/Berlin", []Schedule{
			daily("d0130", "01:30"), daily("d0200", "02:00"), daily("d0230", "02:30"), daily("d0300", "03:00"),
		}, [][2]string{{"2025-03-29T00:00:00Z", "2025-03-31T00:00:00Z"}, {"2025-10-25T00:00:00Z", "2025-10-27T00:00:00Z"}}},
		{"schedule-america-new_york.golden", "America/New_York", []Schedule{
			daily("d0030", "00:30"), daily("d0130", "01:30"), daily("d0230", "02:30"), daily("d0300", "03:00"),
		}, [][2]string{{"2025-03-08T05:00:00Z", "2025-03-10T05:00:00Z"}, {"2025-11-01T04:00:00Z", "2025-11-03T05:00:00Z"}}},
		{"schedule-australia-lord_howe.golden", "Australia/Lord_Howe", []Schedule{
			daily("d0130", "01:30"), daily("d0145", "01:45"), daily("d0200", "02:00"), daily("d0215", "02:15"), daily("d0230", "02:30"),
		}, [][2]string{{"2025-04-04T13:00:00Z", "2025-04-06T13:00:00Z"}, {"2025-10-03T13:00:00Z", "2025-10-05T13:00:00Z"}}},
		{"schedule-month-ends.golden", "UTC", []Schedule{
			{Name: "last", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: -1},
			{Name: "d29", Kind: KindMonthly, At: []string{"05:00"}, DayOfMonth: 29},
			{Name: "d31", Kind: KindMonthly, At: []string{"06:00"}, DayOfMonth: 31},
			{Name: "feb29", Kind: KindYearly, At: []string{"07:00"}, Month: 2, DayOfMonth: 29},
			{Name: "febLast", Kind: KindYearly, At: []string{"07:00"}, Month: 2, DayOfMonth: -1},
		}, [][2]string{{"2023-12-31T12:00:00Z", "2024-05-01T00:00:00Z"}, {"2025-01-31T12:00:00Z", "2025-03-01T00:00:00Z"}, {"2026-12-31T12:00:00Z", "2028-03-01T00:00:00Z"}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p := &Policy{Timezone: c.tz, Schedules: c.sched}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s\n", c.tz)
			for _, s := range c.sched {
				fmt.Fprintf(&b, "# %s: %s at %s", s.Name, s.Kind, strings.Join(s.At, ","))
				if s.DayOfMonth != 0 {
					fmt.Fprintf(&b, " dayOfMonth %d", s.DayOfMonth)
				}
				if s.Month != 0 {
					fmt.Fprintf(&b, " month %d", s.Month)
				}
				b.WriteString("\n")
			}
			for _, w := range c.windows {
				fmt.Fprintf(&b, "\nruns after %s up to %s\n", w[0], w[1])
				for _, r := range p.Runs(utc(w[0]), utc(w[1])) {
					fmt.Fprintf(&b, "%s  %s  %s\n", r.At.In(p.Location()).Format("Mon 2006-01-02 15:04 MST -07:00"), r.At.Format(time.RFC3339), strings.Join(r.Schedules, " "))
				}
			}
			golden(t, c.file, []byte(b.String()))
		})
	}
}

// FuzzNextRun checks NextRun on arbitrary schedules, zones and instants: a
// run is strictly after `after`, later `after`s never give earlier runs, and
// each run either shows one of the schedule's times on the wall clock or is
// the end of a DST gap.
func FuzzNextRun(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(2), uint8(30), int8(1), uint8(1), uint8(0x7f), int64(1743296400), int64(3600))
	f.Add(uint8(1), uint8(2), uint8(1), uint8(45), int8(-1), uint8(2), uint8(1), int64(1743811200), int64(60))
	f.Add(uint8(2), uint8(3), uint8(2), uint8(0), int8(29), uint8(2), uint8(0), int64(1709164800), int64(86400*365))
	f.Add(uint8(3), uint8(1), uint8(0), uint8(0), int8(31), uint8(4), uint8(0x41), int64(1325203200), int64(1))
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kathmandu", "America/Sao_Paulo", "Pacific/Chatham"}
	kinds := []string{KindDaily, KindWeekly, KindMonthly, KindYearly}
	f.Fuzz(func(t *testing.T, zone, kind, hour, minute uint8, dom int8, month uint8, days uint8, after int64, step int64) {
		s := Schedule{Name: "s", Kind: kinds[int(kind)%len(kinds)],
			At:         []string{fmt.Sprintf("%02d:%02d", hour%24, minute%60), fmt.Sprintf("%02d:%02d", (hour+7)%24, (minute+13)%60)},
			DayOfMonth: int(dom)%32 - 0, Month: int(month)%12 + 1}
		if s.DayOfMonth == 0 || s.DayOfMonth < -1 {
			s.DayOfMonth = -1
		}
		for i, d := range weekdays {
			if days&(1<<i) != 0 {
				s.Days = append(s.Days, d)
			}
		}
		if s.Kind == KindWeekly && len(s.Days) == 0 {
			s.Days = []string{"sun"}
		}
		p := &Policy{Timezone: zones[int(zone)%len(zones)], Schedules: []Schedule{s}}
		// Keep instants within years 1900..2200, where zone data means something.
		const lo, span = -2208988800, int64(300 * 365 * 86400)
		a := time.Unix(lo+((after%span)+span)%span, 0).UTC()
		r, ok := p.NextRun(a)
		if !ok {
			t.Fatalf("no run after %s for %+v", a, s)
		}
		if !r.At.After(a) {
			t.Fatalf("run %s is not after %s", r.At, a)
		}
		if r.At.Sub(a) > 2*366*24*time.Hour {
			t.Fatalf("run %s is more than two years after %s", r.At, a)
		}
		b := a.Add(time.Duration((step%(400*86400)+400*86400)%(400*86400)) * time.Second)
		if r2, _ := p.NextRun(b); b.Before(r.At) && !r2.At.Equal(r.At) || !b.Before(r.At) && r2.At.Before(r.At) {
			t.Fatalf("NextRun(%s) = %s but NextRun(%s) = %s", a, r.At, b, r2.At)
		}
		local := r.At.In(p.Location())
		hm := local.Format("15:04")
		start, _ := local.ZoneBounds()
		if !slices.Contains(s.At, hm) && !start.Equal(r.At) {
			t.Fatalf("run %s (local %s) is neither a schedule time %v nor the end of a DST gap", r.At, local, s.At)
		}
	})
}

func BenchmarkNextRun(b *testing.B) {
	p := &Policy{Timezone: "Europe/Berlin", Schedules: []Schedule{
		daily("daily", "02:00", "14:00"),
		{Name: "weekly", Kind: KindWeekly, At: []string{"03:00"}, Days: []string{"sun"}},
		{Name: "monthly", Kind: KindMonthly, At: []string{"04:00"}, DayOfMonth: -1},
		{Name: "yearly", Kind: KindYearly, At: []string{"05:00"}, Month: 1, DayOfMonth: 1},
	}}
	at := utc("2025-03-01T00:00:00Z")
	for b.Loop() {
		r, _ := p.NextRun(at)
		at = r.At
	}
}
