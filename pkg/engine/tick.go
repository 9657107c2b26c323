package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// TickResult says what one tick did.
type TickResult struct {
	Policies int      // due policies looked at
	Sessions []string // sessions created or resumed
}

// Tick starts the sessions of every policy that is due: for each scheduled
// instant since the policy's watermark it creates the session (by
// conditional put, under a derived id) and sends one region-run message per
// (account, Region). The watermark moves only after every message went out,
// so a crash in between makes the next tick resume, not skip, the run; a
// repeated or late tick creates nothing twice.
func (e *Engine) Tick(ctx context.Context) (TickResult, error) {
	now := e.now()
	var res TickResult
	due, err := e.Store.DuePolicies(ctx, now)
	if err != nil {
		return res, fmt.Errorf("tick: list due policies: %w", err)
	}
	var errs []error
	for _, rec := range due {
		res.Policies++
		ids, err := e.tickPolicy(ctx, rec, now)
		res.Sessions = append(res.Sessions, ids...)
		if err != nil {
			errs = append(errs, fmt.Errorf("tick policy %s: %w", rec.Policy.ID, err))
		}
	}
	return res, errors.Join(errs...)
}

func (e *Engine) tickPolicy(ctx context.Context, rec *PolicyRecord, now time.Time) ([]string, error) {
	p := rec.Policy
	runs := p.Runs(rec.Watermark, now)
	var missed []policy.Run
	if len(runs) > e.Config.MaxCatchUp {
		missed = runs[:len(runs)-e.Config.MaxCatchUp]
		runs = runs[len(runs)-e.Config.MaxCatchUp:]
	}
	var ids []string
	for i, run := range runs {
		var extra []Reason
		if i == 0 && len(missed) > 0 {
			extra = append(extra, Reason{Severity: SeverityWarning, Code: ReasonMissedRun,
				Message: fmt.Sprintf("%d scheduled runs between %s and %s were missed (efskeeper was not running) and were not started; only the latest %d were",
					len(missed), missed[0].At.Format(time.RFC3339), missed[len(missed)-1].At.Format(time.RFC3339), len(runs))})
		}
		id, err := e.startSession(ctx, rec, run, extra, now)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	// Advance the watermark past what was started.
	last := rec.Watermark
	if len(runs) > 0 {
		last = runs[len(runs)-1].At
	}
	_, err := update(ctx,
		func(ctx context.Context) (*PolicyRecord, error) { return e.Store.GetPolicy(ctx, p.ID) },
		func(r *PolicyRecord) (bool, error) {
			if last.After(r.Watermark) {
				r.Watermark = last
			}
			next := nextRunAt(r.Policy, r.Watermark)
			if next.Equal(r.NextRunAt) {
				return false, nil // another tick got here first
			}
			r.NextRunAt = next
			r.UpdatedAt = now
			return true, nil
		},
		e.Store.PutPolicy)
	if err != nil {
		return ids, fmt.Errorf("advance watermark: %w", err)
	}
	return ids, nil
}

// nextRunAt is the first run after the watermark, zero for a disabled policy
// or one without a future run.
func nextRunAt(p *policy.Policy, watermark time.Time) time.Time {
	if !p.Enabled {
		return time.Time{}
	}
	run, ok := p.NextRun(watermark)
	if !ok {
		return time.Time{}
	}
	return run.At
}

// startSession creates (or finds) the session of one run and sends its
// region-run messages.
func (e *Engine) startSession(ctx context.Context, rec *PolicyRecord, run policy.Run, extra []Reason, now time.Time) (string, error) {
	p := rec.Policy
	id := SessionID(p.ID, run.At)
	log := e.logFor(p.ID, id, Loc{}, "")
	s, err := e.Store.GetSession(ctx, id)
	switch {
	case err == nil:
		// A previous tick created it and may have crashed before sending
		// every message: send again for units without a finished record.
	case IsNotFound(err):
		units, reasons := e.units(ctx, p)
		s = &Session{
			ID: id, PolicyID: p.ID, ScheduledAt: run.At.UTC(), Schedules: run.Schedules,
			Status: StatusRunning, Units: units, Reasons: append(extra, reasons...),
			Counters:  SessionCounters{OpenUnits: len(units)},
			CreatedAt: now, UpdatedAt: now,
		}
		if len(units) == 0 {
			s.Status = StatusFailed
			s.EndedAt = now
			s.Reasons = append(s.Reasons, Reason{Severity: SeverityFailure, Code: ReasonAccountsFailed,
				Message: "the policy selects no account and Region to back up; check source.accounts, source.organizationalUnits and source.regions"})
		}
		if err := e.Store.CreateSession(ctx, s); err != nil {
			if !IsConflict(err) {
				return id, fmt.Errorf("create session %s: %w", id, err)
			}
			if s, err = e.Store.GetSession(ctx, id); err != nil {
				return id, fmt.Errorf("read session %s: %w", id, err)
			}
		} else {
			log.InfoContext(ctx, "session started", "units", len(units), "schedules", run.Schedules)
			if s.Status.Terminal() {
				e.notify(ctx, s, rec, nil, nil)
			}
		}
	default:
		return id, fmt.Errorf("read session %s: %w", id, err)
	}
	if s.Status.Terminal() {
		return id, nil
	}
	done := map[Loc]bool{}
	if s.CreatedAt.Before(now) {
		// Only a resumed session can have finished units.
		units, err := e.Store.SessionUnits(ctx, id)
		if err != nil {
			return id, fmt.Errorf("read units of %s: %w", id, err)
		}
		for _, u := range units {
			done[u.Loc] = u.State.Terminal()
		}
	}
	for _, l := range s.Units {
		if done[l] {
			continue
		}
		m := RegionRunMsg{SessionID: id, PolicyID: p.ID, Account: l.Account, Region: l.Region}
		if err := e.Queue.SendRegionRun(ctx, m); err != nil {
			return id, fmt.Errorf("send region run %s %s: %w", id, l, err)
		}
	}
	return id, nil
}

// units lists the (account, Region) pairs a policy covers now. In
// Organization mode the OUs are resolved; if that fails, the explicitly
// named accounts still run and the session says why the others did not.
func (e *Engine) units(ctx context.Context, p *policy.Policy) ([]Loc, []Reason) {
	var reasons []Reason
	accounts := append([]string(nil), p.Source.Accounts...)
	if p.Source.Mode == policy.ModeOrganization && len(p.Source.OrganizationalUnits) > 0 {
		found, err := e.Org.AccountsIn(ctx, p.Source.OrganizationalUnits)
		if err != nil {
			reasons = append(reasons, Reason{Severity: SeverityFailure, Code: ReasonAccountsFailed,
				Message: fmt.Sprintf("could not list the accounts of %v: %v; only the accounts named in source.accounts were backed up", p.Source.OrganizationalUnits, err)})
		}
		accounts = append(accounts, found...)
	}
	sort.Strings(accounts)
	var units []Loc
	for i, a := range accounts {
		if i > 0 && accounts[i-1] == a {
			continue
		}
		for _, r := range p.Source.Regions {
			units = append(units, Loc{Account: a, Region: r})
		}
	}
	return units, reasons
}
