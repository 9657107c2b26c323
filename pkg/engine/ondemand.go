package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// RunNow starts an on-demand session of a policy at the current second, as
// if one of its runs were due now: the session id is <policy>#<now UTC>,
// and the same region-run messages go out as for a scheduled run. A second
// call within the same second returns the same session (and resends the
// messages of its unfinished units), like a repeated tick. It runs whether
// or not the policy is enabled: an admin asked for it.
//
// The restore points are tagged with schedules, which decide how long
// retention keeps them: by default the schedules of the policy's next
// scheduled run (the on-demand run stands in for it early); schedules names
// others, which must be the policy's. The tick's watermark does not move, so
// the scheduled runs still happen.
func (e *Engine) RunNow(ctx context.Context, policyID string, schedules ...string) (string, error) {
	rec, err := e.Store.GetPolicy(ctx, policyID)
	if err != nil {
		return "", fmt.Errorf("run policy %s now: %w", policyID, err)
	}
	now := e.now()
	run, err := onDemandRun(rec.Policy, now.Truncate(time.Second), schedules)
	if err != nil {
		return "", err
	}
	id, err := e.startSession(ctx, rec, run, []Reason{{Severity: SeverityInfo, Code: ReasonOnDemand,
		Message: fmt.Sprintf("started on demand by an admin, kept as %v", run.Schedules)}}, now)
	if err != nil {
		return id, fmt.Errorf("run policy %s now: %w", policyID, err)
	}
	return id, nil
}

// ReasonOnDemand marks a session an admin started with RunNow.
const ReasonOnDemand = "on-demand"

func onDemandRun(p *policy.Policy, at time.Time, schedules []string) (policy.Run, error) {
	if len(schedules) == 0 {
		if next, ok := p.NextRun(at); ok {
			return policy.Run{At: at, Schedules: next.Schedules}, nil
		}
		if len(p.Schedules) == 0 {
			return policy.Run{}, Errorf(EINVALID, "policy %s has no schedule whose retention could keep an on-demand backup", p.ID)
		}
		return policy.Run{At: at, Schedules: []string{p.Schedules[0].Name}}, nil
	}
	var names []string
	for _, s := range p.Schedules {
		names = append(names, s.Name)
	}
	// Keep the policy's order, which is how the tick lists a run's schedules.
	var picked []string
	for _, n := range names {
		if slices.Contains(schedules, n) {
			picked = append(picked, n)
		}
	}
	for _, s := range schedules {
		if !slices.Contains(names, s) {
			return policy.Run{}, Errorf(EINVALID, "policy %s has no schedule %q; use one of %v", p.ID, s, names)
		}
	}
	return policy.Run{At: at, Schedules: picked}, nil
}
