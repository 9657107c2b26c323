package sim

import (
	"context"
	"sort"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// OrgAPI implements engine.Organization on the world.
type OrgAPI struct{ w *World }

var _ engine.Organization = (*OrgAPI)(nil)

// Organization returns the Organizations port.
func (w *World) Organization() *OrgAPI { return &OrgAPI{w: w} }

// orgLoc is where Organizations calls are counted: a global service called
// from the management account.
var orgLoc = engine.Loc{Account: "organization", Region: "us-east-1"}

// AccountsIn returns the ACTIVE accounts under the given OUs or the root,
// recursively, sorted and without repeats (ListChildren and
// ListAccountsForParent per OU visited). An unknown parent is ENOTFOUND.
func (a *OrgAPI) AccountsIn(ctx context.Context, parents []string) ([]string, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.count(ctx, "ListAccountsForParent", orgLoc); err != nil {
		return nil, err
	}
	// children of each OU, from the parent links, in sorted order
	kids := map[string][]string{}
	for id, o := range w.ous {
		kids[o.parent] = append(kids[o.parent], id)
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range parents {
		if p != RootID && w.ous[p] == nil {
			return nil, apiError(ErrParentNotFound, "list accounts under "+p, "Parent %s does not exist in the organization", p)
		}
		under := map[string]bool{}
		stack := []string{p}
		for len(stack) > 0 {
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			under[o] = true
			w.calls["ListChildren"]++
			stack = append(stack, kids[o]...)
		}
		for id, acc := range w.accounts {
			if under[acc.parent] && acc.status == "ACTIVE" && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
