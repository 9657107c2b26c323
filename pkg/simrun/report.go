package simrun

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Report is the demo's JSON report. Times are RFC 3339 UTC; two runs with
// the same options write the same report.
type Report struct {
	Seed           uint64           `json:"seed"`
	Days           int              `json:"days"`
	Faults         string           `json:"faults"`
	Sessions       []SessionReport  `json:"sessions"`
	RecoveryPoints []PointReport    `json:"recoveryPoints"`
	Invariants     []InvariantCheck `json:"invariants"`
	Summary        Summary          `json:"summary"`
}

// SessionReport is one session.
type SessionReport struct {
	ID          string          `json:"id"`
	Policy      string          `json:"policy"`
	ScheduledAt string          `json:"scheduledAt"`
	Schedules   []string        `json:"schedules"`
	Status      string          `json:"status"`
	Reasons     []engine.Reason `json:"reasons"`
	Tasks       []TaskReport    `json:"tasks"`
	Backups     int             `json:"backups"`   // completed backups
	Copies      int             `json:"copies"`    // completed copies
	Deletions   int             `json:"deletions"` // of this session's points, by retention
}

// TaskReport is one file system's backup in a session.
type TaskReport struct {
	Account          string       `json:"account"`
	Region           string       `json:"region"`
	FileSystem       string       `json:"fileSystem"`
	BackupJobID      string       `json:"backupJobId"`
	State            string       `json:"state"`
	Attempts         int          `json:"attempts"`
	RecoveryPointArn string       `json:"recoveryPointArn"`
	Copies           []CopyReport `json:"copies"`
}

// CopyReport is one copy of a task's point.
type CopyReport struct {
	TargetRegion     string `json:"targetRegion"`
	Vault            string `json:"vault"`
	State            string `json:"state"`
	RecoveryPointArn string `json:"recoveryPointArn"`
}

// PointReport is one recovery point in the simulated AWS (ours or not).
type PointReport struct {
	Arn        string   `json:"arn"`
	Account    string   `json:"account"`
	Region     string   `json:"region"`
	Vault      string   `json:"vault"`
	FileSystem string   `json:"fileSystem"`
	CreatedAt  string   `json:"createdAt"`
	Schedules  []string `json:"schedules"`
	CopyOf     string   `json:"copyOf,omitempty"`
	Status     string   `json:"status"`
	DeletedAt  string   `json:"deletedAt,omitempty"`
	DeletedBy  string   `json:"deletedBy,omitempty"`
}

// InvariantCheck is one checked property of the run.
type InvariantCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Summary totals the run.
type Summary struct {
	Sessions      map[string]int `json:"sessions"` // by status
	Backups       int            `json:"backups"`
	Copies        int            `json:"copies"`
	Deleted       int            `json:"deleted"`
	LeftExpired   int            `json:"leftExpired"`
	Events        int            `json:"events"`
	EventsDropped int            `json:"eventsLostByHandler"`
	RegionRuns    int            `json:"regionRuns"`
	Crashes       int            `json:"simulatedCrashes"`
	StoreOps      int            `json:"storeOps,omitempty"`
	Indexes       IndexStats     `json:"indexes"`
	SimulatedTo   string         `json:"simulatedTo"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// allSessions reads every session, oldest first.
func allSessions(ctx context.Context, st engine.Store) ([]*engine.Session, error) {
	var out []*engine.Session
	cursor := ""
	for {
		page, next, err := st.ListSessions(ctx, engine.SessionQuery{Cursor: cursor, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ScheduledAt.Equal(out[j].ScheduledAt) {
			return out[i].ScheduledAt.Before(out[j].ScheduledAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func allTasks(ctx context.Context, st engine.Store, q engine.TaskQuery) ([]*engine.Task, error) {
	var out []*engine.Task
	for {
		page, next, err := st.ListTasks(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

// Simulate builds a harness for o, runs it to its end and reports on it.
func Simulate(ctx context.Context, o Options) (*Harness, *Report, error) {
	h, err := New(o)
	if err != nil {
		return nil, nil, err
	}
	if err := h.Run(ctx); err != nil {
		return h, nil, err
	}
	rep, err := h.Report(ctx)
	return h, rep, err
}

// Report builds the report of a finished run, invariants included.
func (h *Harness) Report(ctx context.Context) (*Report, error) {
	r := &Report{Seed: h.Opts.Seed, Days: h.Opts.Days, Faults: h.Opts.Faults, Summary: Summary{Sessions: map[string]int{}}}
	sessions, err := allSessions(ctx, h.Store)
	if err != nil {
		return nil, fmt.Errorf("report: list sessions: %w", err)
	}
	tasksBySession := map[string][]*engine.Task{}
	for _, s := range sessions {
		tasks, err := allTasks(ctx, h.Store, engine.TaskQuery{SessionID: s.ID})
		if err != nil {
			return nil, fmt.Errorf("report: tasks of %s: %w", s.ID, err)
		}
		sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID() < tasks[j].ID() })
		tasksBySession[s.ID] = tasks
		sr := SessionReport{ID: s.ID, Policy: s.PolicyID, ScheduledAt: ts(s.ScheduledAt), Schedules: s.Schedules,
			Status: string(s.Status), Reasons: s.Reasons}
		if sr.Reasons == nil {
			sr.Reasons = []engine.Reason{}
		}
		sr.Tasks = []TaskReport{}
		for _, t := range tasks {
			tr := TaskReport{Account: t.Loc.Account, Region: t.Loc.Region, FileSystem: t.FileSystem, BackupJobID: t.Backup.ID,
				State: string(t.Backup.State), Attempts: t.Backup.Attempt, Copies: []CopyReport{}}
			if t.Backup.State == engine.JobCompleted {
				tr.RecoveryPointArn = t.RecoveryPointArn
				sr.Backups++
				if t.Deletion.Done() {
					sr.Deletions++
				}
			}
			for _, c := range t.Copies {
				cr := CopyReport{TargetRegion: c.TargetRegion, Vault: c.VaultName, State: string(c.Job.State)}
				if c.Job.State == engine.JobCompleted {
					cr.RecoveryPointArn = c.RecoveryPointArn
					sr.Copies++
					if c.Deletion.Done() {
						sr.Deletions++
					}
				}
				tr.Copies = append(tr.Copies, cr)
			}
			sr.Tasks = append(sr.Tasks, tr)
		}
		r.Sessions = append(r.Sessions, sr)
		r.Summary.Sessions[string(s.Status)]++
		r.Summary.Backups += sr.Backups
		r.Summary.Copies += sr.Copies
	}
	r.RecoveryPoints = h.pointReports()
	for _, p := range r.RecoveryPoints {
		if p.DeletedBy == "efskeeper" {
			r.Summary.Deleted++
		}
		if p.Status == string(engine.RPExpired) {
			r.Summary.LeftExpired++
		}
	}
	r.Summary.Events = h.Stats.Events
	r.Summary.EventsDropped = h.Stats.EventsLost
	r.Summary.RegionRuns = h.Stats.RegionRuns
	r.Summary.Crashes = h.Stats.Crashes
	r.Summary.Indexes = h.IndexStats
	r.Summary.SimulatedTo = ts(h.World.Now())
	r.Invariants = h.checkInvariants(ctx, sessions, tasksBySession)
	return r, nil
}

// Failed lists the invariants that do not hold.
func (r *Report) Failed() []InvariantCheck {
	var out []InvariantCheck
	for _, c := range r.Invariants {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// WriteTable prints the session table and the summary for people.
func (r *Report) WriteTable(w io.Writer, policies map[string]*policy.Policy) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tSCHEDULED (UTC)\tLOCAL\tSTATUS\tBACKUPS\tCOPIES\tDELETED\tREASONS")
	for _, s := range r.Sessions {
		local := ""
		if p := policies[s.Policy]; p != nil {
			if t, err := time.Parse(time.RFC3339, s.ScheduledAt); err == nil {
				local = t.In(p.Location()).Format("Mon 15:04 MST")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Policy, strings.TrimSuffix(strings.Replace(s.ScheduledAt, "T", " ", 1), ":00Z"),
			local, s.Status, s.Backups, s.Copies, s.Deletions, reasonSummary(s.Reasons))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	statuses := make([]string, 0, len(r.Summary.Sessions))
	for st, n := range r.Summary.Sessions {
		statuses = append(statuses, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "%d sessions (%s); %d backups, %d copies completed; %d restore points deleted by retention, %d left EXPIRED by AWS Backup\n",
		len(r.Sessions), strings.Join(statuses, ", "), r.Summary.Backups, r.Summary.Copies, r.Summary.Deleted, r.Summary.LeftExpired)
	fmt.Fprintf(w, "%d events delivered, %d region runs, %d simulated crashes\n", r.Summary.Events, r.Summary.RegionRuns, r.Summary.Crashes)
	if ix := r.Summary.Indexes; ix.Runs > 0 {
		fmt.Fprintf(w, "file indexes: %d index runs, %d indexes written, %d refused by the network preflight or failed (warnings on their sessions)\n",
			ix.Runs, ix.Written, ix.Runs-ix.Written)
	}
	fmt.Fprintln(w, "invariants:")
	for _, c := range r.Invariants {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", mark, c.Name, c.Detail)
	}
	return nil
}

// reasonSummary condenses reasons into one table cell: counts per code,
// worst first.
func reasonSummary(rs []engine.Reason) string {
	if len(rs) == 0 {
		return "-"
	}
	count := map[string]int{}
	sev := map[string]engine.Severity{}
	var codes []string
	for _, r := range rs {
		if count[r.Code] == 0 {
			codes = append(codes, r.Code)
		}
		count[r.Code]++
		sev[r.Code] = r.Severity
	}
	rank := map[engine.Severity]int{engine.SeverityFailure: 0, engine.SeverityWarning: 1, engine.SeverityInfo: 2}
	sort.SliceStable(codes, func(i, j int) bool { return rank[sev[codes[i]]] < rank[sev[codes[j]]] })
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = c
		if count[c] > 1 {
			parts[i] = fmt.Sprintf("%s×%d", c, count[c])
		}
	}
	return strings.Join(parts, ", ")
}
