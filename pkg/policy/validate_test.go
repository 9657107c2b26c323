package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidateRules changes one thing at a time in a valid example policy
// and checks the problem it must cause: each rule of DESIGN.md's "Policy
// document (v1)" has a row here that fails when the rule is missing.
func TestValidateRules(t *testing.T) {
	type row struct {
		name   string
		base   string // example policy file
		change func(p *Policy)
		path   string
		msg    string // substring of the message; empty for "no problem at all"
	}
	const acct, org = "account-prod.json", "org-all.json"
	long := strings.Repeat("x", 256)
	rows := []row{
		// identity
		{"id missing", acct, func(p *Policy) { p.ID = "" }, "id", "Give the policy an id"},
		{"id uppercase", acct, func(p *Policy) { p.ID = "Prod" }, "id", `"Prod" is not a valid id`},
		{"id leading hyphen", acct, func(p *Policy) { p.ID = "-prod" }, "id", "not a valid id"},
		{"id too long", acct, func(p *Policy) { p.ID = strings.Repeat("a", 64) }, "id", "not a valid id"},
		{"id of 63 characters", acct, func(p *Policy) { p.ID = strings.Repeat("a", 63) }, "", ""},
		{"name missing", acct, func(p *Policy) { p.Name = "" }, "name", "1 to 255 characters"},
		{"name too long", acct, func(p *Policy) { p.Name = long }, "name", "has 256 characters"},
		{"name of 255 multibyte characters", acct, func(p *Policy) { p.Name = strings.Repeat("ü", 255) }, "", ""},
		{"name with a line break", acct, func(p *Policy) { p.Name = "a\nb" }, "name", "control character"},
		{"unknown time zone", acct, func(p *Policy) { p.Timezone = "Mars/Olympus" }, "timezone", "not an IANA time zone"},
		{"machine time zone", acct, func(p *Policy) { p.Timezone = "Local" }, "timezone", `"Local" depends on the machine`},
		{"empty time zone means UTC", acct, func(p *Policy) { p.Timezone = "" }, "", ""},
		// source mode and accounts
		{"mode missing", acct, func(p *Policy) { p.Source.Mode = "" }, "source.mode", `Set mode to "account" or "organization"`},
		{"mode unknown", acct, func(p *Policy) { p.Source.Mode = "org" }, "source.mode", `"org" is not a mode`},
		{"account mode without account", acct, func(p *Policy) { p.Source.Accounts = nil }, "source.accounts", "exactly one account, and 0 are listed"},
		{"account mode with two accounts", acct, func(p *Policy) { p.Source.Accounts = []string{"111111111111", "222222222222"} }, "source.accounts", "exactly one account, and 2 are listed"},
		{"account mode with an OU", acct, func(p *Policy) { p.Source.OrganizationalUnits = []string{"ou-ab12-cdef3456"} }, "source.organizationalUnits", "Account mode takes no organizational units"},
		{"account id of 13 digits", acct, func(p *Policy) { p.Source.Accounts = []string{"1111111111111"} }, "source.accounts[0]", "is not an AWS account id"},
		{"account id with letters", org, func(p *Policy) { p.Source.Accounts = []string{"33333333333a"} }, "source.accounts[0]", "is not an AWS account id"},
		{"organization without accounts or OUs", org, func(p *Policy) { p.Source.Accounts, p.Source.OrganizationalUnits = nil, nil }, "source", "at least one account or organizational unit"},
		{"organization with OUs only", org, func(p *Policy) { p.Source.Accounts = nil }, "", ""},
		{"organization root", org, func(p *Policy) { p.Source.OrganizationalUnits = []string{"r-ab12"} }, "", ""},
		{"malformed OU", org, func(p *Policy) { p.Source.OrganizationalUnits = []string{"ou-ab12"} }, "source.organizationalUnits[0]", "is not an organizational unit id"},
		{"repeated account", org, func(p *Policy) { p.Source.Accounts = []string{"333333333333", "333333333333"} }, "source.accounts[1]", "listed twice (also at source.accounts[0])"},
		{"repeated OU", org, func(p *Policy) { p.Source.OrganizationalUnits = []string{"r-ab12", "r-ab12"} }, "source.organizationalUnits[1]", "listed twice"},
		// regions
		{"no regions", acct, func(p *Policy) { p.Source.Regions = nil }, "source.regions", "at least one Region"},
		{"fake region", acct, func(p *Policy) { p.Source.Regions[1] = "us-east-7" }, "source.regions[1]", `"us-east-7" is not an AWS Region code`},
		{"wildcard source region", acct, func(p *Policy) { p.Source.Regions[1] = "*" }, "source.regions[1]", `"*" is not allowed here`},
		{"repeated region", acct, func(p *Policy) { p.Source.Regions = []string{"eu-west-1", "us-east-1", "eu-west-1"} }, "source.regions[2]", "listed twice"},
		{"regions of two partitions", acct, func(p *Policy) { p.Source.Regions[1] = "cn-north-1" }, "source.regions[1]", "an account lives in one partition"},
		// selection
		{"bad file system id", acct, func(p *Policy) { p.Source.FileSystems = []string{"fs-0123"} }, "source.fileSystems[0]", "is not an EFS file system id"},
		{"uppercase file system id", acct, func(p *Policy) { p.Source.FileSystems = []string{"fs-0123456789ABCDEF0"} }, "source.fileSystems[0]", "is not an EFS file system id"},
		{"repeated file system", acct, func(p *Policy) { p.Source.FileSystems = []string{"fs-12345678", "fs-12345678"} }, "source.fileSystems[1]", "listed twice"},
		{"no selection", acct, func(p *Policy) { p.Source.FileSystems, p.Source.Tags = nil, nil }, "source", "an empty selection protects nothing"},
		{"file systems only", acct, func(p *Policy) { p.Source.Tags = nil }, "", ""},
		{"tags only", acct, func(p *Policy) { p.Source.FileSystems = nil }, "", ""},
		{"empty tag key", acct, func(p *Policy) { p.Source.Tags[0].Key = "" }, "source.tags[0].key", "key of 1 to 128 characters"},
		{"long tag key", acct, func(p *Policy) { p.Source.Tags[0].Key = strings.Repeat("k", 129) }, "source.tags[0].key", "has 129 characters"},
		{"reserved tag key", acct, func(p *Policy) { p.Source.Tags[0].Key = "AWS:backup" }, "source.tags[0].key", `the prefix "aws:"`},
		{"long tag value", acct, func(p *Policy) { p.Source.Tags[0].Value = strings.Repeat("v", 257) }, "source.tags[0].value", "has 257 characters"},
		{"tag value of 256", acct, func(p *Policy) { p.Source.Tags[0].Value = long }, "", ""},
		{"empty tag value", acct, func(p *Policy) { p.Source.Tags[0].Value = "" }, "", ""},
		{"repeated tag", acct, func(p *Policy) { p.Source.Tags = append(p.Source.Tags, p.Source.Tags[0]) }, "source.tags[1]", "listed twice"},
		{"bad exclude tag", acct, func(p *Policy) { p.Source.ExcludeTags = []Tag{{Key: "aws:x"}} }, "source.excludeTags[0].key", `the prefix "aws:"`},
		// backup vaults
		{"vault for a region not in the policy", acct, func(p *Policy) { p.Backup.Vaults[0].Region = "eu-west-2" }, "backup.vaults[0].region", "eu-west-2 is not one of source.regions"},
		{"vault for a fake region", acct, func(p *Policy) { p.Backup.Vaults[0].Region = "eu-west-7" }, "backup.vaults[0].region", "not an AWS Region code"},
		{"vault region missing", acct, func(p *Policy) { p.Backup.Vaults[0].Region = "" }, "backup.vaults[0].region", "Name a Region"},
		{"vault region twice", acct, func(p *Policy) { p.Backup.Vaults[1].Region = "eu-west-1" }, "backup.vaults[1].region", "Region eu-west-1 has an entry already at backup.vaults[0].region"},
		{"wildcard vault twice", acct, func(p *Policy) { p.Backup.Vaults[0].Region = "*" }, "backup.vaults[1].region", `"*" has an entry already`},
		{"region without a vault", acct, func(p *Policy) { p.Backup.Vaults = p.Backup.Vaults[:1] }, "backup.vaults", "Region us-east-1 has no backup vault"},
		{"every region its own vault", acct, func(p *Policy) { p.Backup.Vaults[1].Region = "us-east-1" }, "", ""},
		{"account mode vault by tag", acct, func(p *Policy) { p.Backup.Vaults[0] = VaultRef{Region: "eu-west-1", VaultTag: &Tag{"a", "b"}} }, "backup.vaults[0].vaultTag", "replace vaultTag with vault"},
		{"account mode vault by both", acct, func(p *Policy) { p.Backup.Vaults[0].VaultTag = &Tag{"a", "b"} }, "backup.vaults[0].vaultTag", "replace vaultTag with vault"},
		{"account mode vault unnamed", acct, func(p *Policy) { p.Backup.Vaults[0].Vault = "" }, "backup.vaults[0].vault", "Name the vault"},
		{"vault name with a slash", acct, func(p *Policy) { p.Backup.Vaults[0].Vault = "aws/efs/automatic-backup-vault" }, "backup.vaults[0].vault", "not a backup vault name"},
		{"vault name of one character", acct, func(p *Policy) { p.Backup.Vaults[0].Vault = "v" }, "backup.vaults[0].vault", "not a backup vault name"},
		{"organization vault by name", org, func(p *Policy) { p.Backup.Vaults[0].Vault = "Default" }, "backup.vaults[0].vault", "replace vault with vaultTag"},
		{"organization vault unnamed", org, func(p *Policy) { p.Backup.Vaults[0].VaultTag = nil }, "backup.vaults[0].vaultTag", "Name the vault by vaultTag"},
		{"organization vault tag without key", org, func(p *Policy) { p.Backup.Vaults[0].VaultTag.Key = "" }, "backup.vaults[0].vaultTag.key", "key of 1 to 128"},
		{"vault by both under an unknown mode", org, func(p *Policy) { p.Source.Mode = "x"; p.Backup.Vaults[0].Vault = "Default" }, "backup.vaults[0]", "not both"},
		// copies
		{"mapping from a region not in the policy", acct, func(p *Policy) { p.Copies.Mappings[0].SourceRegion = "ap-south-1" }, "copies.mappings[0].sourceRegion", "ap-south-1 is not one of source.regions"},
		{"mapping region twice", acct, func(p *Policy) { p.Copies.Mappings[1].SourceRegion = "eu-west-1" }, "copies.mappings[1].sourceRegion", "has an entry already"},
		{"mapping target missing", acct, func(p *Policy) { p.Copies.Mappings[0].TargetRegion = "" }, "copies.mappings[0].targetRegion", "Name a Region"},
		{"mapping target fake", acct, func(p *Policy) { p.Copies.Mappings[0].TargetRegion = "eu-central-9" }, "copies.mappings[0].targetRegion", "not an AWS Region code"},
		{"mapping target wildcard", acct, func(p *Policy) { p.Copies.Mappings[0].TargetRegion = "*" }, "copies.mappings[0].targetRegion", `replace "*" with a Region code`},
		{"mapping to its own region", acct, func(p *Policy) { p.Copies.Mappings[0].TargetRegion = "eu-west-1" }, "copies.mappings[0].targetRegion", "would copy eu-west-1 to itself"},
		{"wildcard mapping onto a source region", acct, func(p *Policy) { p.Copies.Mappings[1].TargetRegion = "us-east-1" }, "copies.mappings[1].targetRegion", `The "*" mapping applies to us-east-1, which would copy to itself`},
		{"wildcard onto a region with its own mapping", acct, func(p *Policy) { p.Copies.Mappings[1].TargetRegion = "eu-west-1" }, "", ""},
		{"mapping across partitions", acct, func(p *Policy) { p.Copies.Mappings[1].TargetRegion = "us-gov-west-1" }, "copies.mappings[1].targetRegion", "cannot copy across partitions"},
		{"region without a mapping", acct, func(p *Policy) { p.Copies.Mappings = p.Copies.Mappings[:1] }, "copies.mappings", "Region us-east-1 has no copy mapping"},
		{"copies enabled without mappings", acct, func(p *Policy) { p.Copies.Mappings = nil }, "copies.mappings", "no mapping is listed"},
		{"copies disabled without mappings", acct, func(p *Policy) { p.Copies = Copies{} }, "", ""},
		{"copies disabled with partial mappings", acct, func(p *Policy) { p.Copies.Enabled = false; p.Copies.Mappings = p.Copies.Mappings[:1] }, "", ""},
		{"disabled mappings are still checked", acct, func(p *Policy) { p.Copies.Enabled = false; p.Copies.Mappings[0].TargetRegion = "eu-west-1" }, "copies.mappings[0].targetRegion", "to itself"},
		{"account mode mapping by tag", acct, func(p *Policy) { p.Copies.Mappings[0].VaultTag = &Tag{"a", "b"} }, "copies.mappings[0].vaultTag", "replace vaultTag with vault"},
		{"account mode mapping bad vault", acct, func(p *Policy) { p.Copies.Mappings[0].Vault = "dr vault" }, "copies.mappings[0].vault", "not a backup vault name"},
		{"organization mapping by both", org, func(p *Policy) { p.Copies.Mappings[1].Vault = "dr" }, "copies.mappings[1].vault", "replace vault with vaultTag"},
		{"organization mapping unnamed", org, func(p *Policy) { p.Copies.Mappings[1].VaultTag = nil }, "copies.mappings[1].vaultTag", "Name the vault by vaultTag"},
		// schedules
		{"no schedules", acct, func(p *Policy) { p.Schedules = nil }, "schedules", "at least one schedule"},
		{"schedule unnamed", acct, func(p *Policy) { p.Schedules[0].Name = "" }, "schedules[0].name", "Give the schedule a name"},
		{"schedule name with a plus", acct, func(p *Policy) { p.Schedules[0].Name = "daily+weekly" }, "schedules[0].name", "not a valid schedule name"},
		{"schedule names repeat", acct, func(p *Policy) { p.Schedules[2].Name = "daily" }, "schedules[2].name", `"daily" is used by schedules[0] too`},
		{"schedule names too long together", acct, func(p *Policy) {
			for i := range p.Schedules {
				p.Schedules[i].Name = fmt.Sprintf("%d%s", i, strings.Repeat("n", 63))
			}
			p.Schedules = append(p.Schedules, p.Schedules[0])
			p.Schedules[3].Name = "3" + strings.Repeat("n", 63)
		}, "schedules", "at most 256"},
		{"kind missing", acct, func(p *Policy) { p.Schedules[0].Kind = "" }, "schedules[0].kind", `Set kind to "daily"`},
		{"kind unknown", acct, func(p *Policy) { p.Schedules[0].Kind = "hourly" }, "schedules[0].kind", `"hourly" is not a schedule kind`},
		{"no times", acct, func(p *Policy) { p.Schedules[0].At = nil }, "schedules[0].at", "at least one time of day"},
		{"25 times", acct, func(p *Policy) {
			p.Schedules[0].At = nil
			for h := 0; h < 24; h++ {
				p.Schedules[0].At = append(p.Schedules[0].At, fmt.Sprintf("%02d:00", h))
			}
			p.Schedules[0].At = append(p.Schedules[0].At, "12:30")
		}, "schedules[0].at", "25 times are listed"},
		{"24 times", acct, func(p *Policy) {
			p.Schedules[0].At = nil
			for h := 0; h < 24; h++ {
				p.Schedules[0].At = append(p.Schedules[0].At, fmt.Sprintf("%02d:15", h))
			}
		}, "", ""},
		{"time past midnight", acct, func(p *Policy) { p.Schedules[0].At = []string{"24:00"} }, "schedules[0].at[0]", `"24:00" is not a time of day`},
		{"time without leading zero", acct, func(p *Policy) { p.Schedules[0].At = []string{"02:00", "3:00"} }, "schedules[0].at[1]", `"3:00" is not a time of day`},
		{"minute 60", acct, func(p *Policy) { p.Schedules[0].At = []string{"12:60"} }, "schedules[0].at[0]", `"12:60" is not a time of day`},
		{"time with a dot", acct, func(p *Policy) { p.Schedules[0].At = []string{"12.30"} }, "schedules[0].at[0]", "not a time of day"},
		{"last minute of the day", acct, func(p *Policy) { p.Schedules[0].At = []string{"23:59", "00:00"} }, "", ""},
		{"time with seconds", acct, func(p *Policy) { p.Schedules[0].At = []string{"02:00:00"} }, "schedules[0].at[0]", "not a time of day"},
		{"time repeated", acct, func(p *Policy) { p.Schedules[0].At = []string{"02:00", "23:59", "02:00"} }, "schedules[0].at[2]", `The time "02:00" is listed twice`},
		{"weekly without days", acct, func(p *Policy) { p.Schedules[1].Days = nil }, "schedules[1].days", "A weekly schedule needs the days"},
		{"monthly with days", acct, func(p *Policy) { p.Schedules[2].Days = []string{"mon"} }, "schedules[2].days", "remove days"},
		{"capitalised day", acct, func(p *Policy) { p.Schedules[1].Days = []string{"Sun"} }, "schedules[1].days[0]", `"Sun" is not a weekday`},
		{"full day name", acct, func(p *Policy) { p.Schedules[0].Days = []string{"monday"} }, "schedules[0].days[0]", "not a weekday"},
		{"repeated day", acct, func(p *Policy) { p.Schedules[1].Days = []string{"sun", "sat", "sun"} }, "schedules[1].days[2]", `The day "sun" is listed twice`},
		{"monthly without day", acct, func(p *Policy) { p.Schedules[2].DayOfMonth = 0 }, "schedules[2].dayOfMonth", "Set dayOfMonth"},
		{"monthly day 32", acct, func(p *Policy) { p.Schedules[2].DayOfMonth = 32 }, "schedules[2].dayOfMonth", "Set dayOfMonth"},
		{"monthly day -2", acct, func(p *Policy) { p.Schedules[2].DayOfMonth = -2 }, "schedules[2].dayOfMonth", "Set dayOfMonth"},
		{"monthly last day", acct, func(p *Policy) { p.Schedules[2].DayOfMonth = -1 }, "", ""},
		{"monthly day 31", acct, func(p *Policy) { p.Schedules[2].DayOfMonth = 31 }, "", ""},
		{"weekly with a day of month", acct, func(p *Policy) { p.Schedules[1].DayOfMonth = 3 }, "schedules[1].dayOfMonth", "A weekly schedule has no dayOfMonth"},
		{"monthly with a month", acct, func(p *Policy) { p.Schedules[2].Month = 3 }, "schedules[2].month", "A monthly schedule has no month"},
		{"yearly without month", acct, func(p *Policy) { p.Schedules[2].Kind = KindYearly }, "schedules[2].month", "Set month"},
		{"yearly month 13", acct, func(p *Policy) { p.Schedules[2].Kind, p.Schedules[2].Month = KindYearly, 13 }, "schedules[2].month", "Set month"},
		{"yearly February 30", acct, func(p *Policy) {
			p.Schedules[2].Kind, p.Schedules[2].Month, p.Schedules[2].DayOfMonth = KindYearly, 2, 30
		}, "", ""},
		{"retention both", acct, func(p *Policy) { p.Schedules[0].Retention.Count = 3 }, "schedules[0].retention", "exactly one of days or count"},
		{"retention neither", acct, func(p *Policy) { p.Schedules[0].Retention = Retention{} }, "schedules[0].retention", "Say how long to keep"},
		{"retention days too long", acct, func(p *Policy) { p.Schedules[0].Retention.Days = 36501 }, "schedules[0].retention.days", "not 36501"},
		{"retention days negative", acct, func(p *Policy) { p.Schedules[0].Retention.Days = -1 }, "schedules[0].retention.days", "not -1"},
		{"retention days at the limit", acct, func(p *Policy) { p.Schedules[0].Retention.Days = 36500 }, "", ""},
		{"retention count too high", acct, func(p *Policy) { p.Schedules[1].Retention.Count = 1001 }, "schedules[1].retention.count", "not 1001"},
		{"retention count negative", acct, func(p *Policy) { p.Schedules[1].Retention.Count = -4 }, "schedules[1].retention.count", "not -4"},
		// retries
		{"too many retries", acct, func(p *Policy) { p.Retries.Count = 11 }, "retries.count", "0 to 10 times, not 11"},
		{"negative retries", acct, func(p *Policy) { p.Retries.Count = -1 }, "retries.count", "not -1"},
		{"retry interval zero", acct, func(p *Policy) { p.Retries.IntervalMinutes = 0 }, "retries.intervalMinutes", "1 to 1440 minutes before a retry, not 0"},
		{"retry interval too long", acct, func(p *Policy) { p.Retries.IntervalMinutes = 1441 }, "retries.intervalMinutes", "not 1441"},
		{"no retries and no interval", acct, func(p *Policy) { p.Retries = Retries{} }, "", ""},
		{"no retries with a bad interval", acct, func(p *Policy) { p.Retries = Retries{IntervalMinutes: 2000} }, "retries.intervalMinutes", "not 2000"},
		// lifecycle
		{"cold after zero days", acct, func(p *Policy) { p.Lifecycle = &Lifecycle{} }, "lifecycle.coldAfterDays", "not 0"},
		{"cold storage too early for days retention", acct, func(p *Policy) { p.Lifecycle = &Lifecycle{ColdAfterDays: 1} }, "schedules[0].retention.days", "keep them at least 91 days"},
		{"cold storage with long enough retention", acct, func(p *Policy) { p.Lifecycle = &Lifecycle{ColdAfterDays: 10}; p.Schedules[0].Retention.Days = 100 }, "", ""},
		{"cold storage one day short", acct, func(p *Policy) { p.Lifecycle = &Lifecycle{ColdAfterDays: 10}; p.Schedules[0].Retention.Days = 99 }, "schedules[0].retention.days", "at least 100 days"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p := examplePolicy(t, r.base)
			r.change(p)
			probs := p.Validate()
			if r.msg == "" {
				if probs != nil {
					t.Fatalf("want no problem, got:\n%v", probs)
				}
				return
			}
			for _, pr := range probs {
				if pr.Path == r.path && strings.Contains(pr.Message, r.msg) {
					return
				}
			}
			t.Errorf("want a problem at %q containing %q, got:\n%v", r.path, r.msg, probs)
		})
	}
}

// TestValidateMessagesAreSentences keeps messages readable for admins: each
// starts with a capital letter or a quote and ends with a full stop.
func TestValidateMessagesAreSentences(t *testing.T) {
	p := &Policy{Source: Source{Mode: ModeOrganization}, Backup: Backup{Vaults: []VaultRef{{Region: "x", Vault: "v"}}},
		Copies:    Copies{Enabled: true, Mappings: []Mapping{{SourceRegion: "*", TargetRegion: "*"}}},
		Schedules: []Schedule{{Kind: "x", At: []string{"1"}, Days: []string{"x"}}}, Retries: Retries{Count: 99},
		Lifecycle: &Lifecycle{}}
	probs := p.Validate()
	if len(probs) < 15 {
		t.Fatalf("expected many problems from an empty policy, got %d:\n%v", len(probs), probs)
	}
	for _, pr := range probs {
		first := pr.Message[0]
		if !(first >= 'A' && first <= 'Z' || first == '"') || !strings.HasSuffix(pr.Message, ".") && !strings.HasSuffix(pr.Message, "?") {
			t.Errorf("%s: message is not a sentence", pr)
		}
	}
}
