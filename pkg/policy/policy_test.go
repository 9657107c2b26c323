package policy

import (
	"slices"
	"testing"
)

func TestBackupVaultAndCopyMapping(t *testing.T) {
	p := examplePolicy(t, "account-prod.json")
	cases := []struct {
		region      string
		vault, copy string
		target      string
		ok          bool
	}{
		{"eu-west-1", "prod-vault", "dr-vault", "eu-central-1", true},
		{"us-east-1", "Default", "dr-vault", "us-west-2", true}, // both from "*"
		{"ap-south-1", "", "", "", false},                       // not a source Region
		{"*", "", "", "", false},
	}
	for _, c := range cases {
		v, ok := p.BackupVault(c.region)
		if ok != c.ok || v.Vault != c.vault || ok && v.Region != c.region {
			t.Errorf("BackupVault(%q) = %+v, %v; want vault %q in %q, %v", c.region, v, ok, c.vault, c.region, c.ok)
		}
		m, ok := p.CopyMapping(c.region)
		if ok != c.ok || m.Vault != c.copy || m.TargetRegion != c.target || ok && m.SourceRegion != c.region {
			t.Errorf("CopyMapping(%q) = %+v, %v; want %q in %q, %v", c.region, m, ok, c.copy, c.target, c.ok)
		}
	}
	if p.Backup.Vaults[1].Region != "*" || p.Copies.Mappings[1].SourceRegion != "*" {
		t.Error("resolving the wildcard changed the policy itself")
	}
	o := examplePolicy(t, "org-all.json")
	v, ok := o.BackupVault("ap-southeast-2")
	if !ok || v.VaultTag == nil || *v.VaultTag != (Tag{"efskeeper:role", "primary"}) {
		t.Errorf("organization BackupVault = %+v, %v", v, ok)
	}
	o.Backup.Vaults = o.Backup.Vaults[:0]
	if _, ok := o.BackupVault("eu-west-1"); ok {
		t.Error("BackupVault resolved a vault in a policy without vaults")
	}
	o.Copies.Enabled = false
	if _, ok := o.CopyMapping("eu-west-1"); ok {
		t.Error("CopyMapping resolved a mapping with copies disabled")
	}
}

func TestSourceSelects(t *testing.T) {
	s := Source{
		FileSystems: []string{"fs-11111111"},
		Tags:        []Tag{{"backup", "gold"}, {"backup", "silver"}},
		ExcludeTags: []Tag{{"backup-exclude", "true"}},
	}
	cases := []struct {
		id   string
		tags map[string]string
		want bool
	}{
		{"fs-11111111", nil, true},
		{"fs-11111111", map[string]string{"backup-exclude": "true"}, true}, // named beats excluded
		{"fs-22222222", map[string]string{"backup": "gold"}, true},
		{"fs-22222222", map[string]string{"backup": "silver"}, true},
		{"fs-22222222", map[string]string{"backup": "bronze"}, false},
		{"fs-22222222", map[string]string{"Backup": "gold"}, false}, // keys are case-sensitive
		{"fs-22222222", map[string]string{"backup": "gold", "backup-exclude": "true"}, false},
		{"fs-22222222", map[string]string{"backup": "gold", "backup-exclude": "false"}, true},
		{"fs-22222222", nil, false},
	}
	for _, c := range cases {
		if got := s.Selects(c.id, c.tags); got != c.want {
			t.Errorf("Selects(%s, %v) = %v, want %v", c.id, c.tags, got, c.want)
		}
	}
	empty := Source{Tags: []Tag{{"k", ""}}}
	if !empty.Selects("fs-1", map[string]string{"k": ""}) || empty.Selects("fs-1", map[string]string{"k": "v"}) {
		t.Error("an empty tag value must match only an empty value")
	}
}

func TestRegions(t *testing.T) {
	all := Regions()
	if !slices.IsSorted(all) {
		t.Error("Regions() is not sorted")
	}
	for _, r := range []string{"af-south-1", "ap-east-2", "ap-southeast-7", "ca-west-1", "il-central-1", "mx-central-1",
		"us-gov-east-1", "us-gov-west-1", "cn-north-1", "cn-northwest-1", "eu-south-2", "me-central-1"} {
		if !IsRegion(r) || !slices.Contains(all, r) {
			t.Errorf("%s is missing from the Region table", r)
		}
	}
	for _, r := range []string{"", "*", "eu-west-4", "EU-WEST-1", "us-east-1a", "global"} {
		if IsRegion(r) {
			t.Errorf("IsRegion(%q) = true", r)
		}
	}
	if len(all) != 38 {
		t.Errorf("%d Regions, want 38", len(all))
	}
	for r, want := range map[string]string{"eu-west-1": PartitionAWS, "us-gov-west-1": PartitionGovCloud, "cn-northwest-1": PartitionChina, "mars-1": ""} {
		if got := Partition(r); got != want {
			t.Errorf("Partition(%s) = %q, want %q", r, got, want)
		}
	}
}

func TestLocation(t *testing.T) {
	for tz, want := range map[string]string{"": "UTC", "UTC": "UTC", "Europe/Berlin": "Europe/Berlin", "No/Such": "UTC", "Local": "UTC"} {
		p := &Policy{Timezone: tz}
		if got := p.Location().String(); got != want {
			t.Errorf("Location(%q) = %s, want %s", tz, got, want)
		}
	}
	p := &Policy{Timezone: "Australia/Lord_Howe"}
	if p.Location() != p.Location() {
		t.Error("Location does not reuse the loaded zone")
	}
}

func TestScheduleTagValue(t *testing.T) {
	names := []string{"daily", "weekly.v2", "month_end"}
	v := JoinSchedules(names)
	if v != "daily+weekly.v2+month_end" || !slices.Equal(SplitSchedules(v), names) {
		t.Errorf("JoinSchedules/SplitSchedules: %q -> %v", v, SplitSchedules(v))
	}
	if SplitSchedules("") != nil {
		t.Error("SplitSchedules of an empty value is not empty")
	}
}
