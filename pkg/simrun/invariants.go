package simrun

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
)

// pointReports lists every recovery point of the world, ordered by creation.
func (h *Harness) pointReports() []PointReport {
	pts := h.World.RecoveryPoints()
	out := make([]PointReport, 0, len(pts))
	for _, p := range pts {
		out = append(out, PointReport{
			Arn: p.Arn, Account: p.Account, Region: p.Region, Vault: p.Vault, FileSystem: fsID(p.ResourceArn),
			CreatedAt: ts(p.CreatedAt), Schedules: policy.SplitSchedules(p.Tags[engine.TagSchedules]), CopyOf: p.CopyOf,
			Status: string(p.Status), DeletedAt: ts(p.DeletedAt), DeletedBy: p.DeletedBy,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt < out[j].CreatedAt
		}
		return out[i].Arn < out[j].Arn
	})
	return out
}

func fsID(resourceArn string) string {
	if i := strings.LastIndex(resourceArn, "/"); i >= 0 {
		return resourceArn[i+1:]
	}
	return resourceArn
}

// checkInvariants verifies what the chaos soak promises.
func (h *Harness) checkInvariants(ctx context.Context, sessions []*engine.Session, tasks map[string][]*engine.Task) []InvariantCheck {
	var out []InvariantCheck
	add := func(name string, problems []string, okDetail string) {
		c := InvariantCheck{Name: name, OK: len(problems) == 0, Detail: okDetail}
		if len(problems) > 0 {
			sort.Strings(problems)
			more := ""
			if len(problems) > 5 {
				more = fmt.Sprintf(" (and %d more)", len(problems)-5)
				problems = problems[:5]
			}
			c.Detail = strings.Join(problems, "; ") + more
		}
		out = append(out, c)
	}

	// 1. Exactly one session per scheduled instant.
	var problems []string
	byPolicy := map[string]map[time.Time]int{}
	for _, s := range sessions {
		if byPolicy[s.PolicyID] == nil {
			byPolicy[s.PolicyID] = map[time.Time]int{}
		}
		byPolicy[s.PolicyID][s.ScheduledAt.UTC()]++
	}
	expected := 0
	for _, p := range h.Opts.Policies {
		if !p.Enabled {
			continue
		}
		runs := p.Runs(h.start, h.ticksUntil.Add(-Step))
		expected += len(runs)
		want := map[time.Time]bool{}
		for _, r := range runs {
			want[r.At.UTC()] = true
			if n := byPolicy[p.ID][r.At.UTC()]; n != 1 {
				problems = append(problems, fmt.Sprintf("%s at %s has %d sessions", p.ID, ts(r.At), n))
			}
		}
		for at := range byPolicy[p.ID] {
			if !want[at] {
				problems = append(problems, fmt.Sprintf("%s has a session at %s, which is not a scheduled instant", p.ID, ts(at)))
			}
		}
	}
	add("one-session-per-instant", problems, fmt.Sprintf("%d scheduled instants, %d sessions", expected, len(sessions)))

	// 2. No backup or copy job started twice for the same (session, file
	// system, target, attempt), and no more attempts than the policy allows.
	problems = nil
	type slot struct{ task, target string }
	tokens := map[string]slot{}
	attempts := 0
	for _, ts := range tasks {
		for _, t := range ts {
			for n := 1; n <= t.Backup.Attempt; n++ {
				tokens[engine.BackupToken(t.ID(), n)] = slot{t.ID(), "backup"}
			}
			attempts += t.Backup.Attempt
			if t.Backup.Attempt > t.MaxAttempts {
				problems = append(problems, fmt.Sprintf("%s: %d backup attempts, policy allows %d", t.ID(), t.Backup.Attempt, t.MaxAttempts))
			}
			for _, c := range t.Copies {
				for n := 1; n <= c.Job.Attempt; n++ {
					tokens[engine.CopyToken(t.ID(), c.TargetRegion, n)] = slot{t.ID(), c.TargetRegion}
				}
				attempts += c.Job.Attempt
				if c.Job.Attempt > t.MaxAttempts {
					problems = append(problems, fmt.Sprintf("%s: %d copy attempts to %s, policy allows %d", t.ID(), c.Job.Attempt, c.TargetRegion, t.MaxAttempts))
				}
			}
		}
	}
	jobsPerToken := map[string]map[string]bool{}
	ours := 0
	for _, j := range h.World.Jobs() {
		if !strings.HasPrefix(j.Token, "efsk-") {
			continue
		}
		ours++
		if _, ok := tokens[j.Token]; !ok {
			problems = append(problems, fmt.Sprintf("%s job %s (token %s) belongs to no recorded attempt", j.Kind, j.ID, j.Token))
		}
		if jobsPerToken[j.Token] == nil {
			jobsPerToken[j.Token] = map[string]bool{}
		}
		jobsPerToken[j.Token][j.ID] = true
	}
	for tok, ids := range jobsPerToken {
		if len(ids) > 1 {
			problems = append(problems, fmt.Sprintf("%d jobs for one attempt (%s of %s)", len(ids), tokens[tok].target, tokens[tok].task))
		}
	}
	add("one-job-per-attempt", problems, fmt.Sprintf("%d jobs started by efskeeper for %d recorded attempts", ours, attempts))

	// 3. Every completed backup in a mapped Region gets its copy or a Failed
	// reason on its session.
	problems = nil
	copies := 0
	status := map[string]*engine.Session{}
	for _, s := range sessions {
		status[s.ID] = s
	}
	for sid, ts := range tasks {
		s := status[sid]
		for _, t := range ts {
			if t.Backup.State != engine.JobCompleted {
				continue
			}
			p := h.policy(t.PolicyID)
			if p == nil {
				continue
			}
			m, mapped := p.CopyMapping(t.Loc.Region)
			if !mapped {
				continue
			}
			var c *engine.Copy
			for i := range t.Copies {
				if t.Copies[i].TargetRegion == m.TargetRegion {
					c = &t.Copies[i]
				}
			}
			switch {
			case c != nil && c.Job.State == engine.JobCompleted && c.RecoveryPointArn != "":
				copies++
			case s != nil && s.Status == engine.StatusFailed && explains(s.Reasons, t):
			default:
				state := "no copy recorded"
				if c != nil {
					state = "copy " + string(c.Job.State)
				}
				st := "unknown"
				if s != nil {
					st = string(s.Status)
				}
				problems = append(problems, fmt.Sprintf("%s: %s, session %s without a reason", t.ID(), state, st))
			}
		}
	}
	add("copy-or-failed-reason", problems, fmt.Sprintf("%d copies completed; every missing copy has a Failed session with its reason", copies))

	// 4. Retention deletes only expired points of ours that are not the
	// newest of their file system and have no running copy.
	problems = h.checkDeletions()
	add("safe-deletions", problems, fmt.Sprintf("%d deletions by efskeeper checked", h.countDeletions()))

	// 4b. ...and does delete them: no point of ours that has been expired
	// for more than a day is still there untried.
	problems, overdue := h.checkOverdue(tasks)
	add("timely-deletions", problems, fmt.Sprintf("%d deletable points checked, none deleted or left untried more than %s after it could be", overdue, overdueGrace))

	// 5. Every session ends terminal and notified.
	problems = nil
	for _, s := range sessions {
		if !s.Status.Terminal() {
			problems = append(problems, fmt.Sprintf("%s is still %s", s.ID, s.Status))
		}
	}
	add("sessions-terminal", problems, fmt.Sprintf("%d sessions, all terminal", len(sessions)))

	// 6. Every event the world sent parsed.
	problems = nil
	if h.Stats.EventErrors > 0 {
		problems = append(problems, fmt.Sprintf("%d events did not parse", h.Stats.EventErrors))
	}
	add("events-parse", problems, fmt.Sprintf("%d events parsed (%d not for efskeeper)", h.Stats.Events, h.Stats.EventsIrrelevant))
	return out
}

// explains reports whether a failure reason on the session covers the
// task's missing copy.
func explains(rs []engine.Reason, t *engine.Task) bool {
	for _, r := range rs {
		if r.Severity != engine.SeverityFailure {
			continue
		}
		if r.FileSystem == t.FileSystem && r.Account == t.Loc.Account {
			return true
		}
		if r.FileSystem == "" && r.Account == t.Loc.Account && r.Region == t.Loc.Region {
			return true
		}
	}
	return false
}

func (h *Harness) policy(id string) *policy.Policy {
	for _, p := range h.Opts.Policies {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (h *Harness) countDeletions() int {
	n := 0
	for _, p := range h.World.RecoveryPoints() {
		if p.DeletedBy == "efskeeper" {
			n++
		}
	}
	return n
}

// checkDeletions re-derives every deletion efskeeper made from the world's
// own records.
func (h *Harness) checkDeletions() []string {
	var problems []string
	pts := h.World.RecoveryPoints()
	byArn := map[string]sim.RecoveryPointInfo{}
	for _, p := range pts {
		byArn[p.Arn] = p
	}
	// Points grouped by policy and file system (the source's), so that each
	// deletion is checked against its own group only.
	type fsKey struct{ owner, resource string }
	groups := map[fsKey][]sim.RecoveryPointInfo{}
	for _, q := range pts {
		k := fsKey{q.Tags[engine.TagPolicy], sourceResource(q, byArn)}
		groups[k] = append(groups[k], q)
	}
	// Copy jobs by source point, for the running-copy rule.
	copiesOf := map[string][]sim.JobInfo{}
	for _, j := range h.World.Jobs() {
		if j.Kind == engine.KindCopy {
			copiesOf[j.SourcePointArn] = append(copiesOf[j.SourcePointArn], j)
		}
	}
	for _, p := range pts {
		if p.DeletedBy != "efskeeper" {
			continue
		}
		at := p.DeletedAt
		owner := p.Tags[engine.TagPolicy]
		pol := h.policy(owner)
		if owner == "" || pol == nil {
			problems = append(problems, fmt.Sprintf("%s deleted but not ours (tag %q)", p.Arn, owner))
			continue
		}
		// The logical point: a copy shares its source's creation time and
		// schedules.
		src := p
		if p.CopyOf != "" {
			if s, ok := byArn[p.CopyOf]; ok {
				src = s
			}
		}
		// Expired: recompute retention over the file system's source points
		// that existed at deletion time.
		members := groups[fsKey{owner, src.ResourceArn}]
		d, ok := decisionAt(pol, members, src, at)
		expired := ok && !d.Keep
		if !expired {
			problems = append(problems, fmt.Sprintf("%s deleted at %s before its retention passed", p.Arn, ts(at)))
		}
		// Not the newest of its file system in its Region.
		newest := true
		for _, q := range members {
			if q.Arn == p.Arn || q.Account != p.Account || q.Region != p.Region || q.CreatedAt.After(at) {
				continue
			}
			if q.CompletedAt.IsZero() || !q.DeletedAt.IsZero() && !q.DeletedAt.After(at) {
				continue
			}
			if q.CreatedAt.After(p.CreatedAt) {
				newest = false
			}
		}
		if newest {
			problems = append(problems, fmt.Sprintf("%s deleted at %s although it was the newest point of %s in %s", p.Arn, ts(at), fsID(src.ResourceArn), p.Region))
		}
		// No copy from it running.
		for _, j := range copiesOf[p.Arn] {
			if !j.CreatedAt.After(at) && (j.CompletedAt.IsZero() || j.CompletedAt.After(at)) {
				problems = append(problems, fmt.Sprintf("%s deleted at %s while copy job %s was running", p.Arn, ts(at), j.ID))
			}
		}
	}
	return problems
}

// overdueGrace is how long after a point became deletable it may still be
// there: retention runs hourly, looks again at points a count rule still
// holds, or that were the newest of their file system, at intervals that
// grow to a day, and a capped pass leaves the rest for the next.
const overdueGrace = 26 * time.Hour

// checkOverdue finds the points of ours, sources and copies, that
// retention was slow to delete. A point becomes deletable once the policy
// releases it (over the file system's completed points), the point that
// released it has completed, a newer point in its Region has completed
// (until then it is the newest there) and its copy jobs have ended. A
// point still there more than overdueGrace after that, without a deletion
// tried on its task, is a problem; so is one deleted at the first attempt
// more than overdueGrace after it (a retried deletion may take longer). It
// returns the problems and how many deletable points it looked at.
func (h *Harness) checkOverdue(tasks map[string][]*engine.Task) ([]string, int) {
	end := h.World.Now()
	deletion := map[string]engine.Deletion{}
	for _, ts := range tasks {
		for _, t := range ts {
			deletion[t.RecoveryPointArn] = t.Deletion
			for _, c := range t.Copies {
				deletion[c.RecoveryPointArn] = c.Deletion
			}
		}
	}
	type fsKey struct{ owner, resource string }
	groups := map[fsKey][]sim.RecoveryPointInfo{}
	copies := map[string][]sim.RecoveryPointInfo{}
	for _, p := range h.World.RecoveryPoints() {
		if p.CompletedAt.IsZero() || h.policy(p.Tags[engine.TagPolicy]) == nil {
			continue
		}
		if p.CopyOf != "" {
			copies[p.CopyOf] = append(copies[p.CopyOf], p)
		} else {
			k := fsKey{p.Tags[engine.TagPolicy], p.ResourceArn}
			groups[k] = append(groups[k], p)
		}
	}
	copiesEnd := map[string]time.Time{} // source point -> last copy job end (far future while one runs)
	for _, j := range h.World.Jobs() {
		if j.Kind != engine.KindCopy {
			continue
		}
		done := j.CompletedAt
		if done.IsZero() {
			done = end.Add(100 * 365 * 24 * time.Hour)
		}
		if done.After(copiesEnd[j.SourcePointArn]) {
			copiesEnd[j.SourcePointArn] = done
		}
	}
	var problems []string
	checked := 0
	for k, members := range groups {
		pol := h.policy(k.owner)
		// deletable is when src's point p became deletable judged at t, or
		// false if the policy still holds it then.
		deletable := func(src, p sim.RecoveryPointInfo, t time.Time) (time.Time, bool) {
			d, ok := decisionAt(pol, members, src, t)
			if !ok || d.Keep {
				return time.Time{}, false
			}
			from := d.ExpiresAt
			newer := time.Time{} // the first newer point to complete in p's Region
			for _, q := range members {
				if q.CreatedAt.Equal(d.ExpiresAt) && q.CompletedAt.After(from) {
					from = q.CompletedAt // the point that pushed src out
				}
				if !q.CreatedAt.After(src.CreatedAt) {
					continue
				}
				for _, c := range append([]sim.RecoveryPointInfo{q}, copies[q.Arn]...) {
					if c.Region == p.Region && (newer.IsZero() || c.CompletedAt.Before(newer)) {
						newer = c.CompletedAt
					}
				}
			}
			if newer.IsZero() || newer.After(t) {
				return time.Time{}, false // still the newest in its Region
			}
			from = later(from, newer)
			if p.Arn == src.Arn {
				from = later(from, copiesEnd[src.Arn])
			}
			return from, !from.After(t)
		}
		for _, src := range members {
			for _, p := range append([]sim.RecoveryPointInfo{src}, copies[src.Arn]...) {
				dl := deletion[p.Arn]
				switch {
				case p.DeletedBy == "efskeeper" && dl.Attempts == 1:
					from, ok := deletable(src, p, p.DeletedAt)
					if !ok {
						continue // safe-deletions judges it
					}
					checked++
					if p.DeletedAt.Sub(from) > overdueGrace {
						problems = append(problems, fmt.Sprintf("%s (%s in %s) deletable from %s, deleted only at %s",
							p.Arn, fsID(src.ResourceArn), p.Region, ts(from), ts(p.DeletedAt)))
					}
				case p.DeletedAt.IsZero() && !p.Gone:
					from, ok := deletable(src, p, end)
					if !ok {
						continue
					}
					checked++
					if end.Sub(from) > overdueGrace && dl.State == engine.DeletionNone && p.Status != engine.RPExpired {
						problems = append(problems, fmt.Sprintf("%s (%s in %s) deletable from %s and still there at %s, never tried",
							p.Arn, fsID(src.ResourceArn), p.Region, ts(from), ts(end)))
					}
				}
			}
		}
	}
	return problems, checked
}

// decisionAt is the policy's decision on source point src at t, over the
// source points of its file system (members; copies are skipped) that had
// completed by t and were not deleted before it, as retention saw them
// then; false when src had not completed by t.
func decisionAt(pol *policy.Policy, members []sim.RecoveryPointInfo, src sim.RecoveryPointInfo, t time.Time) (policy.Decision, bool) {
	var group []policy.Point
	at := -1
	for _, q := range members {
		if q.CopyOf != "" || q.CompletedAt.IsZero() || q.CompletedAt.After(t) {
			continue
		}
		if q.Arn != src.Arn && !q.DeletedAt.IsZero() && q.DeletedAt.Before(t) {
			continue
		}
		if q.Arn == src.Arn {
			at = len(group)
		}
		group = append(group, policy.Point{ID: q.Arn, CreatedAt: q.CreatedAt, Schedules: policy.SplitSchedules(q.Tags[engine.TagSchedules])})
	}
	if at < 0 {
		return policy.Decision{}, false
	}
	return pol.Retain(group, t)[at], true
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sourceResource is the file system a point (or the source of a copy) was
// made of.
func sourceResource(p sim.RecoveryPointInfo, byArn map[string]sim.RecoveryPointInfo) string {
	if p.CopyOf != "" {
		if s, ok := byArn[p.CopyOf]; ok {
			return s.ResourceArn
		}
	}
	return p.ResourceArn
}
