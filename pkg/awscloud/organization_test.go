package awscloud

import (
	"reflect"
	"testing"
)

// The tree: r-abcd holds four accounts over two pages (two inactive) and,
// over two pages, ou-abcd-11111111 and ou-abcd-22222222; OU 1 repeats an
// account, adds one, and holds ou-abcd-33333333, whose account reports
// only the older Status field.
func TestAccountsInWalksTheTree(t *testing.T) {
	f := newFake(t)
	f.on("organizations.ListAccountsForParent", func(c call, n int) reply {
		b := c.JSON(t)
		switch b["ParentId"] {
		case "r-abcd":
			if b["NextToken"] == "accounts-page-2" {
				return reply{Status: 200, Body: td("org-list-accounts-for-parent-page2.json")}
			}
			return reply{Status: 200, Body: td("org-list-accounts-for-parent-page1.json")}
		case "ou-abcd-11111111":
			return reply{Status: 200, Body: `{"Accounts":[{"Id":"444455556666","State":"ACTIVE","Status":"ACTIVE"},{"Id":"555566667777","State":"ACTIVE","Status":"ACTIVE"},{"Id":"121212121212","State":"PENDING_ACTIVATION"}]}`}
		case "ou-abcd-33333333":
			return reply{Status: 200, Body: `{"Accounts":[{"Id":"333344445555","Status":"ACTIVE"},{"Id":"343434343434","Status":"SUSPENDED"}]}`}
		}
		return reply{Status: 200, Body: `{"Accounts":[]}`}
	})
	f.on("organizations.ListOrganizationalUnitsForParent", func(c call, n int) reply {
		b := c.JSON(t)
		switch b["ParentId"] {
		case "r-abcd":
			if b["NextToken"] == "ous-2" {
				return reply{Status: 200, Body: `{"OrganizationalUnits":[{"Id":"ou-abcd-22222222","Arn":"arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-abcd-22222222","Name":"dev"}]}`}
			}
			return reply{Status: 200, Body: `{"OrganizationalUnits":[{"Id":"ou-abcd-11111111","Arn":"arn:aws:organizations::111122223333:ou/o-exampleorgid/ou-abcd-11111111","Name":"prod"}],"NextToken":"ous-2"}`}
		case "ou-abcd-11111111":
			return reply{Status: 200, Body: `{"OrganizationalUnits":[{"Id":"ou-abcd-33333333","Name":"prod-eu"}]}`}
		}
		return reply{Status: 200, Body: `{"OrganizationalUnits":[]}`}
	})

	// ou-abcd-11111111 is named twice (directly and under the root): it is
	// listed once.
	got, err := testCloud(t, f, nil).Organization().AccountsIn(bg(), []string{"r-abcd", "ou-abcd-11111111"})
	if err != nil {
		t.Fatal(err)
	}
	wantAccounts := []string{"222233334444", "333344445555", "444455556666", "555566667777"}
	if !reflect.DeepEqual(got, wantAccounts) {
		t.Errorf("AccountsIn = %v, want %v", got, wantAccounts)
	}
	parents := map[string]int{}
	for _, c := range f.callsOf("organizations.ListAccountsForParent") {
		if c.JSON(t)["NextToken"] == nil {
			parents[c.JSON(t)["ParentId"].(string)]++
		}
		if c.Region != "eu-west-1" || c.AccessKey != homeKey {
			t.Errorf("Organizations must be called with the home account's credentials: %s %s", c.Region, c.AccessKey)
		}
	}
	wantParents := map[string]int{"r-abcd": 1, "ou-abcd-11111111": 1, "ou-abcd-22222222": 1, "ou-abcd-33333333": 1}
	if !reflect.DeepEqual(parents, wantParents) {
		t.Errorf("parents listed %v, want each once: %v", parents, wantParents)
	}
	if n := len(f.callsOf("organizations.ListAccountsForParent")); n != 5 {
		t.Errorf("%d ListAccountsForParent calls, want 5 (two pages for the root)", n)
	}
}

func TestAccountsInNoParents(t *testing.T) {
	f := newFake(t)
	got, err := testCloud(t, f, nil).Organization().AccountsIn(bg(), nil)
	if err != nil || len(got) != 0 || len(f.ops()) != 0 {
		t.Errorf("AccountsIn(nil) = %v, %v with calls %v", got, err, f.ops())
	}
}
