package notify

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Report is the content of the daily report: what happened in the window
// [From, To) and what stands at To.
type Report struct {
	From, To time.Time
	Policies []PolicyReport
	// Unprotected are available file systems, in the accounts and Regions
	// the policies cover, that no enabled policy selects.
	Unprotected []UnprotectedFS
	// Restores are the restore sessions started in the window.
	Restores []*engine.Restore
	// ProtectedFileSystems and ProtectedBytes count each file system that
	// some enabled policy selects once, with its current size.
	ProtectedFileSystems int
	ProtectedBytes       int64
	// Problems are what the report could not find out (a Region whose file
	// systems could not be listed, an OU whose accounts could not be read).
	Problems []string
}

// PolicyReport is one policy's part of the report.
type PolicyReport struct {
	ID, Name string
	Enabled  bool
	Zone     *time.Location
	// Sessions of the window by status, and the ones that did not succeed
	// (worst first), with their reasons.
	Counts   map[engine.SessionStatus]int
	Troubled []*engine.Session
	// Restore points the policy holds now: at the source, and copies by
	// target Region.
	SourcePoints int
	CopyPoints   map[string]int
	// FileSystems and SizeBytes: the file systems the policy selects now
	// and their current size as EFS meters it.
	FileSystems int
	SizeBytes   int64
}

// Points is the policy's total number of restore points.
func (p PolicyReport) Points() int {
	n := p.SourcePoints
	for _, c := range p.CopyPoints {
		n += c
	}
	return n
}

// UnprotectedFS is a file system no policy protects.
type UnprotectedFS struct {
	Loc       engine.Loc
	ID, Name  string
	SizeBytes int64
}

// Status is the report's status attribute: Failed when a session of the
// window failed, Warning when one ended with warnings or a restore did not
// complete, Success otherwise.
func (r *Report) Status() engine.SessionStatus {
	st := engine.StatusSuccess
	for _, p := range r.Policies {
		if p.Counts[engine.StatusFailed] > 0 {
			return engine.StatusFailed
		}
		if p.Counts[engine.StatusWarning] > 0 {
			st = engine.StatusWarning
		}
	}
	for _, rs := range r.Restores {
		if rs.Status == engine.RestoreFailed || rs.Status == engine.RestorePartial {
			st = engine.StatusWarning
		}
	}
	return st
}

// Daily renders the daily report.
func Daily(r *Report) (subj, body string) {
	sessions := map[engine.SessionStatus]int{}
	for _, p := range r.Policies {
		for s, n := range p.Counts {
			sessions[s] += n
		}
	}
	head := fmt.Sprintf("efskeeper daily report %s:", r.To.UTC().Format("2006-01-02"))
	var facts []string
	if n := sessions[engine.StatusFailed]; n > 0 {
		facts = append(facts, plural(n, "failed session", "failed sessions"))
	}
	if n := sessions[engine.StatusWarning]; n > 0 {
		facts = append(facts, plural(n, "warning", "warnings"))
	}
	if n := len(r.Unprotected); n > 0 {
		facts = append(facts, plural(n, "unprotected file system", "unprotected file systems"))
	}
	if len(facts) == 0 {
		facts = append(facts, "all good")
	}
	subj = subject(head, strings.Join(facts, ", "), "")

	var w writer
	w.line("Daily report of efskeeper")
	w.line("Period:  %s to %s", stamp(r.From, nil), stamp(r.To, nil))
	w.line("Status:  %s", r.Status())
	w.line("Sessions in the period: %s", sessionCounts(sessions))
	total := 0
	for _, p := range r.Policies {
		total += p.Points()
	}
	w.line("Restore points held: %d", total)
	w.line("Protected: %s, %s (their current size as EFS meters it; the size of the restore points themselves is not tracked)",
		plural(r.ProtectedFileSystems, "file system", "file systems"), bytes(r.ProtectedBytes))

	if len(r.Problems) > 0 {
		w.blank()
		w.line("The report is incomplete:")
		for i, p := range r.Problems {
			if i == maxLines {
				w.more("", len(r.Problems)-i, "problems")
				break
			}
			w.line("- %s", oneLine(p, maxMessage))
		}
	}

	for _, p := range r.Policies {
		w.blank()
		state := ""
		if !p.Enabled {
			state = " (disabled)"
		}
		w.line("Policy %s (%s)%s", oneLine(p.Name, 200), oneLine(p.ID, 100), state)
		w.line("  Sessions:       %s", sessionCounts(p.Counts))
		var copies []string
		for _, region := range slices.Sorted(maps.Keys(p.CopyPoints)) {
			copies = append(copies, fmt.Sprintf("%d in %s", p.CopyPoints[region], oneLine(region, 40)))
		}
		line := fmt.Sprintf("%d: %d at the source", p.Points(), p.SourcePoints)
		if len(copies) > 0 {
			line += ", copies " + strings.Join(copies, ", ")
		}
		w.line("  Restore points: %s", line)
		w.line("  File systems:   %d selected, %s", p.FileSystems, bytes(p.SizeBytes))
		for i, s := range p.Troubled {
			if i == maxLines {
				w.more("  ", len(p.Troubled)-i, "sessions that did not succeed")
				break
			}
			w.line("  %s session of %s:", s.Status, stamp(s.ScheduledAt, p.Zone))
			rs := sortedCopy(s.Reasons)
			shown := 0
			for _, rr := range rs {
				if rr.Severity == engine.SeverityInfo {
					continue
				}
				if shown == 5 {
					w.more("    ", countAbove(rs)-shown, "reasons")
					break
				}
				shown++
				w.line("    - %s", reasonText(rr, true))
			}
		}
	}

	if len(r.Restores) > 0 {
		w.blank()
		counts := map[engine.RestoreStatus]int{}
		for _, rs := range r.Restores {
			counts[rs.Status]++
		}
		var parts []string
		for _, st := range []engine.RestoreStatus{engine.RestoreCompleted, engine.RestorePartial, engine.RestoreFailed, engine.RestoreRunning} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
			}
		}
		w.line("Restores started in the period: %d (%s)", len(r.Restores), strings.Join(parts, ", "))
		for i, rs := range r.Restores {
			if i == maxLines {
				w.more("  ", len(r.Restores)-i, "restores")
				break
			}
			w.line("  %-9s %s: %s from %s, started %s", rs.Status, oneLine(rs.ID, 100), plural(rs.PathCount(), "path", "paths"),
				plural(len(rs.Items), "restore point", "restore points"), stamp(rs.CreatedAt, nil))
		}
	}

	w.blank()
	switch {
	case len(r.Policies) == 0:
		w.line("There are no policies, so no account or Region is covered.")
	case len(r.Unprotected) == 0:
		w.line("Every file system in the accounts and Regions the policies cover is protected.")
	default:
		w.line("File systems no policy protects (%d), in the accounts and Regions the policies cover:", len(r.Unprotected))
		un := slices.Clone(r.Unprotected)
		slices.SortFunc(un, func(a, b UnprotectedFS) int {
			return cmp.Or(cmp.Compare(a.Loc.Account, b.Loc.Account), cmp.Compare(a.Loc.Region, b.Loc.Region), cmp.Compare(a.ID, b.ID))
		})
		for i, fs := range un {
			if i == maxLines {
				w.more("  ", len(un)-i, "file systems")
				break
			}
			name := ""
			if fs.Name != "" {
				name = " \"" + oneLine(fs.Name, 100) + "\""
			}
			w.line("  %s %s %s%s, %s", oneLine(fs.Loc.Account, 40), oneLine(fs.Loc.Region, 40), oneLine(fs.ID, 60), name, bytes(fs.SizeBytes))
		}
	}
	return subj, w.String()
}

func sessionCounts(m map[engine.SessionStatus]int) string {
	var parts []string
	total := 0
	for _, st := range []engine.SessionStatus{engine.StatusSuccess, engine.StatusWarning, engine.StatusFailed, engine.StatusRunning} {
		if m[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[st], st))
			total += m[st]
		}
	}
	if total == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func countAbove(rs []engine.Reason) int {
	n := 0
	for _, r := range rs {
		if r.Severity != engine.SeverityInfo {
			n++
		}
	}
	return n
}
