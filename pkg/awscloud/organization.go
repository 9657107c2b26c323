package awscloud

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// Organization implements engine.Organization with AWS Organizations,
// called with the home account's credentials (the management account or a
// delegated administrator).
type Organization struct{ c *Cloud }

var _ engine.Organization = (*Organization)(nil)

// Organization returns the AWS Organizations adapter.
func (c *Cloud) Organization() *Organization { return &Organization{c} }

// AccountsIn returns the ACTIVE accounts under the given roots and OUs,
// at any depth, sorted and without repeats.
func (o *Organization) AccountsIn(ctx context.Context, parents []string) ([]string, error) {
	seen := map[string]bool{}
	var accounts []string
	queue := slices.Clone(parents)
	visited := map[string]bool{}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if visited[parent] {
			continue
		}
		visited[parent] = true

		ap := organizations.NewListAccountsForParentPaginator(o.c.org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "list the accounts of %s", parent)
			}
			for _, a := range page.Accounts {
				id := aws.ToString(a.Id)
				if active(a) && !seen[id] {
					seen[id] = true
					accounts = append(accounts, id)
				}
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(o.c.org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return nil, wrap(err, "list the organizational units of %s", parent)
			}
			for _, ou := range page.OrganizationalUnits {
				queue = append(queue, aws.ToString(ou.Id))
			}
		}
	}
	slices.Sort(accounts)
	return accounts, nil
}

// active reads the account's State, the field that replaces Status
// (retired on 2026-09-09); Status is the fallback for answers without
// State. SUSPENDED, PENDING_CLOSURE, CLOSED and PENDING_ACTIVATION accounts
// cannot run backups.
func active(a types.Account) bool {
	if a.State != "" {
		return a.State == types.AccountStateActive
	}
	return a.Status == types.AccountStatusActive
}
