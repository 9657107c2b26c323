package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Session renders the mail of a finished backup session: the subject names
// the status, the policy and the scheduled time; the body gives the times
// in UTC and in the policy's time zone, the problems of whole accounts and
// Regions, and each file system's result with its reasons, grouped by
// account and Region. pkg/awscloud's Notifier takes it as its Render.
func Session(n engine.SessionNotice) (subj, body string) {
	s := n.Session
	if s == nil {
		return "efskeeper: session result", "(no session)\n"
	}
	name, loc := s.PolicyID, time.UTC
	if n.Policy != nil && n.Policy.Policy != nil {
		if n.Policy.Policy.Name != "" {
			name = n.Policy.Policy.Name
		}
		loc = n.Policy.Policy.Location()
	}
	subj = subject("efskeeper "+string(s.Status)+":", name, s.ScheduledAt.UTC().Format("2006-01-02 15:04 UTC"))

	var w writer
	w.line("Policy:      %s (%s)", oneLine(name, 200), oneLine(s.PolicyID, 100))
	w.line("Status:      %s", s.Status)
	w.line("Scheduled:   %s", stamp(s.ScheduledAt, loc))
	if !s.EndedAt.IsZero() {
		w.line("Ended:       %s, after %s", stamp(s.EndedAt, loc), duration(s.EndedAt.Sub(s.ScheduledAt)))
	}
	if len(s.Schedules) > 0 {
		w.line("Schedules:   %s", oneLine(strings.Join(s.Schedules, ", "), 200))
	}
	w.line("Session:     %s", oneLine(s.ID, 200))

	tasks := slices.Clone(n.Tasks)
	counts := map[string]int{}
	for _, t := range tasks {
		word, _ := taskResult(t)
		counts[word]++
	}
	w.blank()
	w.line("File systems: %s", summary(len(tasks), counts))
	var skipped []string
	for _, u := range n.Units {
		if u.State == engine.UnitSkipped || u.State == engine.UnitFailed {
			skipped = append(skipped, oneLine(u.Loc.Account, 40)+" "+oneLine(u.Loc.Region, 40))
		}
	}
	slices.Sort(skipped)
	if len(s.Units) > 0 {
		line := plural(len(s.Units), "account/Region", "accounts/Regions")
		if len(skipped) > 0 {
			line += "; not backed up (see the problems): "
			if len(skipped) > 10 {
				skipped = append(skipped[:10], fmt.Sprintf("and %d more", len(skipped)-10))
			}
			line += strings.Join(skipped, ", ")
		}
		w.line("Covered:      %s", line)
	}

	// Problems of whole accounts and Regions; a file system's own reasons
	// go with its result below.
	var general []engine.Reason
	for _, r := range s.Reasons {
		if r.FileSystem == "" || !hasTask(tasks, r) {
			general = append(general, r)
		}
	}
	sortReasons(general)
	if len(general) > 0 {
		w.blank()
		w.line("Problems and notes:")
		for i, r := range general {
			if i == maxLines {
				w.more("", len(general)-i, "reasons (every reason is in the efskeeper API)")
				break
			}
			w.line("- %s", reasonText(r, true))
		}
	}

	if len(tasks) > 0 {
		w.blank()
		w.line("Results by account and Region:")
		shown, hidden := pick(tasks, maxLines)
		slices.SortFunc(shown, func(a, b *engine.Task) int {
			return cmp.Or(cmp.Compare(a.Loc.Account, b.Loc.Account), cmp.Compare(a.Loc.Region, b.Loc.Region),
				cmp.Compare(rank(a), rank(b)), cmp.Compare(a.FileSystem, b.FileSystem))
		})
		var cur engine.Loc
		for i, t := range shown {
			if i == 0 || t.Loc != cur {
				cur = t.Loc
				w.blank()
				w.line("Account %s, %s", oneLine(cur.Account, 40), oneLine(cur.Region, 40))
			}
			word, _ := taskResult(t)
			w.line("  %-11s %s: %s", word, oneLine(t.FileSystem, 60), jobsText(t))
			for j, r := range sortedCopy(t.Reasons) {
				if j == 5 {
					w.more("              ", len(t.Reasons)-j, "reasons")
					break
				}
				w.line("              - %s", reasonText(r, false))
			}
		}
		if hidden > 0 {
			w.blank()
			w.more("", hidden, "file systems, all with results no worse than those above (every result is in the efskeeper API)")
		}
	}
	return subj, w.String()
}

// taskResult is a file system's result in one word, and its rank: lower
// is worse.
func taskResult(t *engine.Task) (string, int) {
	switch {
	case t.Phase == engine.PhaseFailed:
		return "FAILED", 0
	case t.Phase != engine.PhaseDone:
		return "UNFINISHED", 1
	}
	for _, c := range t.Copies {
		if !c.Job.State.Succeeded() && c.Job.State != engine.JobSkipped {
			return "COPY FAILED", 2
		}
	}
	for _, r := range t.Reasons {
		if r.Severity != engine.SeverityInfo {
			return "WARNING", 3
		}
	}
	return "OK", 4
}

func rank(t *engine.Task) int {
	_, r := taskResult(t)
	return r
}

// pick keeps the n worst tasks when there are more.
func pick(tasks []*engine.Task, n int) ([]*engine.Task, int) {
	if len(tasks) <= n {
		return tasks, 0
	}
	slices.SortStableFunc(tasks, func(a, b *engine.Task) int { return cmp.Compare(rank(a), rank(b)) })
	return tasks[:n], len(tasks) - n
}

// summary writes "5: 3 OK, 1 WARNING, 1 FAILED" in a fixed order.
func summary(total int, counts map[string]int) string {
	if total == 0 {
		return "none"
	}
	var parts []string
	for _, w := range []string{"OK", "WARNING", "COPY FAILED", "FAILED", "UNFINISHED"} {
		if counts[w] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[w], w))
		}
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}

func hasTask(tasks []*engine.Task, r engine.Reason) bool {
	for _, t := range tasks {
		if t.FileSystem == r.FileSystem && t.Loc.Account == r.Account && t.Loc.Region == r.Region {
			return true
		}
	}
	return false
}

// jobsText describes a task's backup and copies.
func jobsText(t *engine.Task) string {
	parts := []string{"backup " + jobText(t.Backup, t.MaxAttempts)}
	for _, c := range t.Copies {
		parts = append(parts, fmt.Sprintf("copy to %s (%s) %s", oneLine(c.TargetRegion, 40), oneLine(c.VaultName, 60), jobText(c.Job, t.MaxAttempts)))
	}
	return strings.Join(parts, "; ")
}

func jobText(j engine.Job, maxAttempts int) string {
	s := string(j.State)
	switch j.State {
	case engine.JobNotStarted:
		s = "not started"
	case engine.JobGaveUp:
		s = "FAILED for good"
	case engine.JobRetryWait:
		s = "waiting to retry"
	}
	if j.Attempt > 1 {
		s += fmt.Sprintf(" (attempt %d of %d)", j.Attempt, max(maxAttempts, j.Attempt))
	}
	if j.Message != "" && !j.State.Succeeded() {
		s += ": " + oneLine(j.Message, maxMessage)
	}
	return s
}

var severityOrder = map[engine.Severity]int{engine.SeverityFailure: 0, engine.SeverityWarning: 1, engine.SeverityInfo: 2}

func sortReasons(rs []engine.Reason) {
	slices.SortStableFunc(rs, func(a, b engine.Reason) int { return cmp.Compare(severityOrder[a.Severity], severityOrder[b.Severity]) })
}

func sortedCopy(rs []engine.Reason) []engine.Reason {
	out := slices.Clone(rs)
	sortReasons(out)
	return out
}

// reasonText writes one reason; where adds its account, Region and file
// system.
func reasonText(r engine.Reason, where bool) string {
	sev := strings.ToUpper(string(r.Severity))
	at := ""
	if where {
		var parts []string
		for _, p := range []string{r.Account, r.Region, r.FileSystem} {
			if p != "" {
				parts = append(parts, oneLine(p, 60))
			}
		}
		if len(parts) > 0 {
			at = " [" + strings.Join(parts, " ") + "]"
		}
	}
	return fmt.Sprintf("%s %s%s: %s", sev, oneLine(r.Code, 60), at, oneLine(r.Message, maxMessage))
}
