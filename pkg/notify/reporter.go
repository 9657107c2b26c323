package notify

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
)

// Reporter is the daily report use-case (the report function): it reads
// the last 24 hours of sessions and restores, the restore points each
// policy holds, and the file systems of every account and Region the
// policies cover, and publishes the report.
type Reporter struct {
	Store       engine.Store
	FileSystems engine.FileSystems
	Org         engine.Organization
	// Restores lists restore sessions; nil leaves them out of the report.
	Restores  engine.RestoreStore
	Publisher Publisher
	Clock     engine.Clock
	Log       *slog.Logger
	// Window is the period covered (default 24 hours).
	Window time.Duration
}

// ReportResult says what one run reported.
type ReportResult struct {
	Policies    int
	Sessions    int
	Points      int
	Unprotected int
	Problems    int
	Status      engine.SessionStatus
}

// Run builds, renders and publishes the report. What the report could not
// find out (a Region that could not be listed) is in the report; only a
// failure to read the store or to publish is an error.
func (rp *Reporter) Run(ctx context.Context) (ReportResult, error) {
	r, err := rp.Build(ctx)
	if err != nil {
		return ReportResult{}, err
	}
	res := ReportResult{Policies: len(r.Policies), Unprotected: len(r.Unprotected), Problems: len(r.Problems), Status: r.Status()}
	for _, p := range r.Policies {
		res.Points += p.Points()
		for _, n := range p.Counts {
			res.Sessions += n
		}
	}
	subj, body := Daily(r)
	attrs := map[string]string{AttrKind: KindReport, AttrStatus: string(res.Status)}
	if err := rp.Publisher.Publish(ctx, subj, body, attrs); err != nil {
		return res, fmt.Errorf("daily report: publish: %w", err)
	}
	return res, nil
}

func (rp *Reporter) log() *slog.Logger {
	if rp.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rp.Log
}

// Build gathers the report.
func (rp *Reporter) Build(ctx context.Context) (*Report, error) {
	to := rp.Clock.Now().UTC()
	window := rp.Window
	if window <= 0 {
		window = 24 * time.Hour
	}
	r := &Report{From: to.Add(-window), To: to}
	recs, err := rp.Store.ListPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("daily report: list policies: %w", err)
	}
	covered := map[engine.Loc][]*policy.Policy{} // every policy covering a place
	for _, rec := range recs {
		p := rec.Policy
		if p == nil {
			continue
		}
		pr := PolicyReport{ID: p.ID, Name: p.Name, Enabled: p.Enabled, Zone: p.Location(), Counts: map[engine.SessionStatus]int{}, CopyPoints: map[string]int{}}
		if err := rp.sessions(ctx, &pr, r.From, to); err != nil {
			return nil, err
		}
		if err := rp.points(ctx, &pr); err != nil {
			return nil, err
		}
		locs, problem := rp.places(ctx, p)
		if problem != "" {
			r.Problems = append(r.Problems, problem)
		}
		for _, l := range locs {
			covered[l] = append(covered[l], p)
		}
		r.Policies = append(r.Policies, pr)
	}
	if err := rp.fileSystems(ctx, r, covered); err != nil {
		return nil, err
	}
	if rp.Restores != nil {
		cursor := ""
		for {
			page, next, err := rp.Restores.ListRestores(ctx, engine.RestoreQuery{Since: r.From, Cursor: cursor})
			if err != nil {
				return nil, fmt.Errorf("daily report: list restores: %w", err)
			}
			r.Restores = append(r.Restores, page...)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return r, nil
}

// sessions counts a policy's sessions scheduled in the window and keeps
// those that did not succeed, worst first.
func (rp *Reporter) sessions(ctx context.Context, pr *PolicyReport, from, to time.Time) error {
	cursor := ""
	for {
		page, next, err := rp.Store.ListSessions(ctx, engine.SessionQuery{PolicyID: pr.ID, From: from, To: to, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("daily report: list sessions of policy %s: %w", pr.ID, err)
		}
		for _, s := range page {
			pr.Counts[s.Status]++
			if s.Status == engine.StatusFailed || s.Status == engine.StatusWarning {
				pr.Troubled = append(pr.Troubled, s)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	worst := map[engine.SessionStatus]int{engine.StatusFailed: 0, engine.StatusWarning: 1}
	slices.SortStableFunc(pr.Troubled, func(a, b *engine.Session) int {
		return cmp.Or(cmp.Compare(worst[a.Status], worst[b.Status]), b.ScheduledAt.Compare(a.ScheduledAt))
	})
	return nil
}

// points counts the restore points a policy holds now: each live task's
// source point and copies that completed and were not deleted.
func (rp *Reporter) points(ctx context.Context, pr *PolicyReport) error {
	cursor := ""
	for {
		page, next, err := rp.Store.ListTasks(ctx, engine.TaskQuery{PolicyID: pr.ID, LiveOnly: true, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("daily report: list restore points of policy %s: %w", pr.ID, err)
		}
		for _, t := range page {
			if t.RecoveryPointArn != "" && t.Backup.State.Succeeded() && !t.Deletion.Done() {
				pr.SourcePoints++
			}
			for _, c := range t.Copies {
				if c.RecoveryPointArn != "" && c.Job.State.Succeeded() && !c.Deletion.Done() {
					pr.CopyPoints[c.TargetRegion]++
				}
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// places lists the accounts and Regions a policy covers, resolving its OUs
// in Organization mode. A failure to resolve them is reported, and the
// named accounts still count.
func (rp *Reporter) places(ctx context.Context, p *policy.Policy) ([]engine.Loc, string) {
	accounts := slices.Clone(p.Source.Accounts)
	problem := ""
	if p.Source.Mode == policy.ModeOrganization && len(p.Source.OrganizationalUnits) > 0 {
		found, err := rp.Org.AccountsIn(ctx, p.Source.OrganizationalUnits)
		if err != nil {
			problem = fmt.Sprintf("policy %s: could not list the accounts of %s (%v); its other accounts are in the report", p.ID, strings.Join(p.Source.OrganizationalUnits, ", "), err)
		}
		accounts = append(accounts, found...)
	}
	slices.Sort(accounts)
	accounts = slices.Compact(accounts)
	var locs []engine.Loc
	for _, a := range accounts {
		for _, region := range p.Source.Regions {
			locs = append(locs, engine.Loc{Account: a, Region: region})
		}
	}
	return locs, problem
}

// fileSystems lists the file systems of every covered place once: a file
// system that an enabled policy covering its place selects counts for that
// policy; one that none selects is unprotected.
func (rp *Reporter) fileSystems(ctx context.Context, r *Report, covered map[engine.Loc][]*policy.Policy) error {
	idx := map[string]int{}
	for i, p := range r.Policies {
		idx[p.ID] = i
	}
	locs := slices.SortedFunc(maps.Keys(covered), func(a, b engine.Loc) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	for _, l := range locs {
		fss, err := rp.FileSystems.ListFileSystems(ctx, l)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rp.log().Warn("daily report: list file systems failed", "account", l.Account, "region", l.Region, "error", err)
			r.Problems = append(r.Problems, fmt.Sprintf("could not list the file systems of account %s, %s: %v", l.Account, l.Region, err))
			continue
		}
		for _, fs := range fss {
			if fs.LifeCycle != "" && fs.LifeCycle != "available" {
				continue
			}
			protected := false
			for _, p := range covered[l] {
				if p.Enabled && p.Source.Selects(fs.ID, fs.Tags) {
					protected = true
					pr := &r.Policies[idx[p.ID]]
					pr.FileSystems++
					pr.SizeBytes += fs.SizeBytes
				}
			}
			if protected {
				r.ProtectedFileSystems++
				r.ProtectedBytes += fs.SizeBytes
			} else {
				r.Unprotected = append(r.Unprotected, UnprotectedFS{Loc: l, ID: fs.ID, Name: fs.Name, SizeBytes: fs.SizeBytes})
			}
		}
	}
	return nil
}
