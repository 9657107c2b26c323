package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the v1 document.
const (
	MaxRetentionDays     = 36500
	MaxRetentionCount    = 1000
	MaxRetries           = 10
	MaxIntervalMinutes   = 1440
	MaxTimesPerSchedule  = 24
	MaxNameLength        = 255
	MaxTagKeyLength      = 128
	MaxTagValueLength    = 256
	ColdStorageMinDays   = 90 // AWS Backup keeps a point in cold storage at least this long
	maxScheduleNamesJoin = MaxTagValueLength
)

var (
	idPattern           = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	accountPattern      = regexp.MustCompile(`^[0-9]{12}$`)
	ouPattern           = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$`)
	rootPattern         = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	fileSystemPattern   = regexp.MustCompile(`^fs-[0-9a-f]{8,40}$`)
	vaultPattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{2,50}$`)
	scheduleNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// Validate checks every rule of the v1 document and returns all problems, in
// document order, or nil. It does not fill in defaults; zero values that
// have a default (Timezone, the Days of a daily schedule) are accepted.
func (p *Policy) Validate() Problems {
	v := &validator{p: p, sourceRegions: make(map[string]bool, len(p.Source.Regions))}
	for _, r := range p.Source.Regions {
		v.sourceRegions[r] = true
	}
	v.identity()
	v.source()
	v.vaults()
	v.copies()
	v.schedules()
	v.retries()
	v.lifecycle()
	if len(v.list) == 0 {
		return nil
	}
	sortProblems(v.list)
	return v.list
}

type validator struct {
	problemList
	p             *Policy
	sourceRegions map[string]bool // set of source.regions, for entries that must name one
}

func (v *validator) identity() {
	p := v.p
	switch {
	case p.ID == "":
		v.add("id", `Give the policy an id: 1 to 63 lowercase letters, digits and hyphens, for example "prod-efs".`)
	case !idPattern.MatchString(p.ID):
		v.add("id", fmt.Sprintf(`%q is not a valid id; use 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit, for example "prod-efs".`, p.ID))
	}
	switch n := utf8.RuneCountInString(p.Name); {
	case n == 0:
		v.add("name", "Give the policy a name of 1 to 255 characters.")
	case n > MaxNameLength:
		v.add("name", fmt.Sprintf("The name has %d characters; shorten it to at most %d.", n, MaxNameLength))
	case strings.IndexFunc(p.Name, unicode.IsControl) >= 0:
		v.add("name", "The name contains a control character (such as a line break); remove it.")
	}
	if _, err := loadLocation(p.Timezone); err != nil {
		msg := fmt.Sprintf(`%q is not an IANA time zone; use a name such as "Europe/Berlin", "America/New_York" or "UTC".`, p.Timezone)
		if err == errLocalZone {
			msg = `"Local" depends on the machine that runs the policy; name the zone, such as "Europe/Berlin" or "UTC".`
		}
		v.add("timezone", msg)
	}
}

// unique reports a problem for each repeated value of a list.
func (v *validator) unique(path string, list []string, what string) {
	first := map[string]int{}
	for i, s := range list {
		if j, ok := first[s]; ok {
			v.add(index(path, i), fmt.Sprintf("%s %q is listed twice (also at %s); remove one.", what, s, index(path, j)))
			continue
		}
		first[s] = i
	}
}

func (v *validator) source() {
	s := &v.p.Source
	const path = "source"
	switch s.Mode {
	case ModeAccount:
		if len(s.Accounts) != 1 {
			v.add(join(path, "accounts"), fmt.Sprintf(`Account mode protects exactly one account, and %d are listed; list its 12-digit id once, or use mode "organization".`, len(s.Accounts)))
		}
		if len(s.OrganizationalUnits) > 0 {
			v.add(join(path, "organizationalUnits"), `Account mode takes no organizational units; remove them, or use mode "organization".`)
		}
	case ModeOrganization:
		if len(s.Accounts) == 0 && len(s.OrganizationalUnits) == 0 {
			v.add(path, "Organization mode needs at least one account or organizational unit; list them in accounts or organizationalUnits.")
		}
	case "":
		v.add(join(path, "mode"), `Set mode to "account" or "organization".`)
	default:
		v.add(join(path, "mode"), fmt.Sprintf(`%q is not a mode; use "account" or "organization".`, s.Mode))
	}
	for i, a := range s.Accounts {
		if !accountPattern.MatchString(a) {
			v.add(index(join(path, "accounts"), i), fmt.Sprintf("%q is not an AWS account id; use its 12 digits, for example \"111122223333\".", a))
		}
	}
	v.unique(join(path, "accounts"), s.Accounts, "Account")
	for i, ou := range s.OrganizationalUnits {
		if !ouPattern.MatchString(ou) && !rootPattern.MatchString(ou) {
			v.add(index(join(path, "organizationalUnits"), i), fmt.Sprintf(`%q is not an organizational unit id; use "ou-xxxx-yyyyyyyy", or "r-xxxx" for the root.`, ou))
		}
	}
	v.unique(join(path, "organizationalUnits"), s.OrganizationalUnits, "Organizational unit")

	regionsPath := join(path, "regions")
	if len(s.Regions) == 0 {
		v.add(regionsPath, `List at least one Region to protect, for example ["eu-west-1"].`)
	}
	partition := ""
	for i, r := range s.Regions {
		p := index(regionsPath, i)
		switch {
		case r == AllRegions:
			v.add(p, `"*" is not allowed here; list each Region to protect.`)
		case !IsRegion(r):
			v.add(p, notRegion(r))
		case partition == "":
			partition = Partition(r)
		case Partition(r) != partition:
			v.add(p, fmt.Sprintf("%s is in partition %s but %s is in %s; an account lives in one partition, so protect them in separate policies.", r, Partition(r), s.Regions[0], partition))
		}
	}
	v.unique(regionsPath, s.Regions, "Region")

	for i, fs := range s.FileSystems {
		if !fileSystemPattern.MatchString(fs) {
			v.add(index(join(path, "fileSystems"), i), fmt.Sprintf(`%q is not an EFS file system id; use the form "fs-0123456789abcdef0".`, fs))
		}
	}
	v.unique(join(path, "fileSystems"), s.FileSystems, "File system")
	if len(s.FileSystems) == 0 && len(s.Tags) == 0 {
		v.add(path, "Select file systems with fileSystems, tags or both; an empty selection protects nothing.")
	}
	v.tagList(join(path, "tags"), s.Tags)
	v.tagList(join(path, "excludeTags"), s.ExcludeTags)
}

func notRegion(r string) string {
	if r == "" {
		return `Name a Region, for example "eu-west-1".`
	}
	return fmt.Sprintf(`%q is not an AWS Region code; use one such as "eu-west-1" or "us-east-1".`, r)
}

func (v *validator) tagList(path string, tags []Tag) {
	first := map[Tag]int{}
	for i, t := range tags {
		p := index(path, i)
		v.tag(p, t)
		if j, ok := first[t]; ok {
			v.add(p, fmt.Sprintf("The tag %s=%s is listed twice (also at %s); remove one.", t.Key, t.Value, index(path, j)))
			continue
		}
		first[t] = i
	}
}

func (v *validator) tag(path string, t Tag) {
	switch n := utf8.RuneCountInString(t.Key); {
	case n == 0:
		v.add(join(path, "key"), "Give the tag a key of 1 to 128 characters.")
	case n > MaxTagKeyLength:
		v.add(join(path, "key"), fmt.Sprintf("The tag key has %d characters; AWS allows at most %d.", n, MaxTagKeyLength))
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		v.add(join(path, "key"), fmt.Sprintf("The tag key %q uses the prefix \"aws:\", which AWS reserves for its own tags; choose another key.", t.Key))
	}
	if n := utf8.RuneCountInString(t.Value); n > MaxTagValueLength {
		v.add(join(path, "value"), fmt.Sprintf("The tag value has %d characters; AWS allows at most %d.", n, MaxTagValueLength))
	}
}

// vaultName checks how an entry names its vault: by name in Account mode,
// by tag in Organization mode (each member account has its own vaults, so
// only a tag can point at one in every account).
func (v *validator) vaultName(path, vault string, vaultTag *Tag) {
	switch v.p.Source.Mode {
	case ModeAccount:
		if vaultTag != nil {
			v.add(join(path, "vaultTag"), "Account mode names vaults by name; replace vaultTag with vault.")
		}
		switch {
		case vault == "" && vaultTag == nil:
			v.add(join(path, "vault"), `Name the vault, for example "Default".`)
		case vault != "" && !vaultPattern.MatchString(vault):
			v.add(join(path, "vault"), fmt.Sprintf("%q is not a backup vault name AWS Backup accepts; use 2 to 50 letters, digits, hyphens and underscores.", vault))
		}
	case ModeOrganization:
		if vault != "" {
			v.add(join(path, "vault"), `Organization mode finds the vault in each member account by tag; replace vault with vaultTag {"key": ..., "value": ...}.`)
		}
		if vaultTag == nil {
			if vault == "" {
				v.add(join(path, "vaultTag"), `Name the vault by vaultTag {"key": ..., "value": ...}; in each member account and Region exactly one vault must carry it.`)
			}
			return
		}
		v.tag(join(path, "vaultTag"), *vaultTag)
	default:
		if vault != "" && vaultTag != nil {
			v.add(path, "Name the vault by vault or by vaultTag, not both.")
		}
	}
}

// regionEntry checks the Region an entry of backup.vaults or copies.mappings
// applies to, and reports whether it is usable for coverage.
func (v *validator) regionEntry(path, region string, first map[string]string) bool {
	switch {
	case region == AllRegions:
	case !IsRegion(region):
		v.add(path, notRegion(region))
		return false
	case !v.sourceRegions[region]:
		v.add(path, fmt.Sprintf(`%s is not one of source.regions; add it there, or use "*" for every Region.`, region))
		return false
	}
	if prev, ok := first[region]; ok {
		v.add(path, fmt.Sprintf("%s has an entry already at %s; keep one.", regionLabel(region), prev))
		return false
	}
	first[region] = path
	return true
}

func regionLabel(r string) string {
	if r == AllRegions {
		return `"*"`
	}
	return "Region " + r
}

// uncovered lists the valid source Regions that have neither an entry of
// their own nor a "*" entry.
func (v *validator) uncovered(covered map[string]string) []string {
	if _, ok := covered[AllRegions]; ok {
		return nil
	}
	var out []string
	for _, r := range v.p.Source.Regions {
		if _, ok := covered[r]; !ok && IsRegion(r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func (v *validator) vaults() {
	const path = "backup.vaults"
	covered := map[string]string{}
	for i, e := range v.p.Backup.Vaults {
		p := index(path, i)
		v.regionEntry(join(p, "region"), e.Region, covered)
		v.vaultName(p, e.Vault, e.VaultTag)
	}
	for _, r := range v.uncovered(covered) {
		v.add(path, fmt.Sprintf(`Region %s has no backup vault; add an entry for it, or a "*" entry for every Region.`, r))
	}
}

func (v *validator) copies() {
	c := &v.p.Copies
	const path = "copies.mappings"
	covered := map[string]string{}
	homePartition := ""
	if len(v.p.Source.Regions) > 0 {
		homePartition = Partition(v.p.Source.Regions[0])
	}
	own := map[string]bool{} // Regions with a mapping of their own
	for _, m := range c.Mappings {
		own[m.SourceRegion] = true
	}
	wildcardSeen := false
	for i, m := range c.Mappings {
		p := index(path, i)
		v.regionEntry(join(p, "sourceRegion"), m.SourceRegion, covered)
		tp := join(p, "targetRegion")
		srcPartition := homePartition
		if IsRegion(m.SourceRegion) {
			srcPartition = Partition(m.SourceRegion)
		}
		switch {
		case m.TargetRegion == AllRegions:
			v.add(tp, `A copy goes to one Region; replace "*" with a Region code.`)
		case !IsRegion(m.TargetRegion):
			v.add(tp, notRegion(m.TargetRegion))
		case m.TargetRegion == m.SourceRegion:
			v.add(tp, fmt.Sprintf("This mapping would copy %s to itself; choose another target Region.", m.SourceRegion))
		case srcPartition != "" && Partition(m.TargetRegion) != srcPartition:
			v.add(tp, fmt.Sprintf("%s is in partition %s, and AWS Backup cannot copy across partitions; choose a target in %s.", m.TargetRegion, Partition(m.TargetRegion), srcPartition))
		case m.SourceRegion == AllRegions && !wildcardSeen:
			wildcardSeen = true // a second "*" is reported as a repeat
			if v.sourceRegions[m.TargetRegion] && !own[m.TargetRegion] {
				v.add(tp, fmt.Sprintf(`The "*" mapping applies to %s, which would copy to itself; add a mapping of its own for %s.`, m.TargetRegion, m.TargetRegion))
			}
		}
		v.vaultName(p, m.Vault, m.VaultTag)
	}
	if !c.Enabled {
		return
	}
	if len(c.Mappings) == 0 {
		v.add(path, "Copies are enabled but no mapping is listed; add mappings, or set copies.enabled to false.")
		return
	}
	for _, r := range v.uncovered(covered) {
		v.add(path, fmt.Sprintf(`Region %s has no copy mapping; add one for it, or a "*" mapping for every Region.`, r))
	}
}

func (v *validator) schedules() {
	const path = "schedules"
	ss := v.p.Schedules
	if len(ss) == 0 {
		v.add(path, "Add at least one schedule; without one the policy never runs.")
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.Name
		v.schedule(index(path, i), s)
	}
	first := map[string]int{}
	for i, n := range names {
		if n == "" {
			continue
		}
		if j, ok := first[n]; ok {
			v.add(join(index(path, i), "name"), fmt.Sprintf("The name %q is used by %s too; schedule names must be unique.", n, index(path, j)))
			continue
		}
		first[n] = i
	}
	if n := len(JoinSchedules(names)); n > maxScheduleNamesJoin {
		v.add(path, fmt.Sprintf("The schedule names take %d characters together, and a restore point's %s tag holds at most %d; use shorter names.", n, ScheduleTagKey, maxScheduleNamesJoin))
	}
}

func (v *validator) schedule(path string, s Schedule) {
	switch {
	case s.Name == "":
		v.add(join(path, "name"), `Give the schedule a name, for example "daily".`)
	case !scheduleNamePattern.MatchString(s.Name):
		v.add(join(path, "name"), fmt.Sprintf("%q is not a valid schedule name; use 1 to 64 letters, digits, dots, hyphens and underscores, starting with a letter or digit (it becomes part of a tag value).", s.Name))
	}
	kind := s.Kind
	switch kind {
	case KindDaily, KindWeekly, KindMonthly, KindYearly:
	case "":
		v.add(join(path, "kind"), `Set kind to "daily", "weekly", "monthly" or "yearly".`)
	default:
		v.add(join(path, "kind"), fmt.Sprintf(`%q is not a schedule kind; use "daily", "weekly", "monthly" or "yearly".`, kind))
	}

	atPath := join(path, "at")
	switch {
	case len(s.At) == 0:
		v.add(atPath, `List at least one time of day, for example ["02:00"].`)
	case len(s.At) > MaxTimesPerSchedule:
		v.add(atPath, fmt.Sprintf("%d times are listed; a schedule runs at most %d times a day.", len(s.At), MaxTimesPerSchedule))
	}
	for i, at := range s.At {
		if _, ok := parseClock(at); !ok {
			v.add(index(atPath, i), fmt.Sprintf(`%q is not a time of day; write it as HH:MM on a 24-hour clock, for example "02:00" or "23:30".`, at))
		}
	}
	v.unique(atPath, s.At, "The time")

	daysPath := join(path, "days")
	switch kind {
	case KindWeekly:
		if len(s.Days) == 0 {
			v.add(daysPath, `A weekly schedule needs the days to run on, for example ["sun"].`)
		}
	case KindMonthly, KindYearly:
		if len(s.Days) > 0 {
			v.add(daysPath, fmt.Sprintf("A %s schedule runs on dayOfMonth, not on weekdays; remove days.", kind))
		}
	}
	for i, d := range s.Days {
		if !slices.Contains(weekdays, d) {
			v.add(index(daysPath, i), fmt.Sprintf(`%q is not a weekday; use one of "mon", "tue", "wed", "thu", "fri", "sat", "sun".`, d))
		}
	}
	v.unique(daysPath, s.Days, "The day")

	domPath := join(path, "dayOfMonth")
	switch kind {
	case KindMonthly, KindYearly:
		if s.DayOfMonth < LastDay || s.DayOfMonth == 0 || s.DayOfMonth > 31 {
			v.add(domPath, "Set dayOfMonth to a day from 1 to 31, or -1 for the last day of the month (a day the month lacks means its last day).")
		}
	case KindDaily, KindWeekly:
		if s.DayOfMonth != 0 {
			v.add(domPath, fmt.Sprintf("A %s schedule has no dayOfMonth; remove it, or make the schedule monthly.", kind))
		}
	}
	monthPath := join(path, "month")
	switch kind {
	case KindYearly:
		if s.Month < 1 || s.Month > 12 {
			v.add(monthPath, "Set month to a month from 1 (January) to 12 (December).")
		}
	case KindDaily, KindWeekly, KindMonthly:
		if s.Month != 0 {
			v.add(monthPath, fmt.Sprintf("A %s schedule has no month; remove it, or make the schedule yearly.", kind))
		}
	}

	r := s.Retention
	rPath := join(path, "retention")
	switch {
	case r.Days != 0 && r.Count != 0:
		v.add(rPath, "Set exactly one of days or count, not both.")
	case r.Days == 0 && r.Count == 0:
		v.add(rPath, fmt.Sprintf("Say how long to keep restore points: days (1 to %d) or count (1 to %d).", MaxRetentionDays, MaxRetentionCount))
	case r.Days < 0 || r.Days > MaxRetentionDays:
		v.add(join(rPath, "days"), fmt.Sprintf("Keep restore points from 1 to %d days, not %d.", MaxRetentionDays, r.Days))
	case r.Count < 0 || r.Count > MaxRetentionCount:
		v.add(join(rPath, "count"), fmt.Sprintf("Keep from 1 to %d restore points, not %d.", MaxRetentionCount, r.Count))
	}
}

func (v *validator) retries() {
	r := v.p.Retries
	if r.Count < 0 || r.Count > MaxRetries {
		v.add("retries.count", fmt.Sprintf("Retry from 0 to %d times, not %d.", MaxRetries, r.Count))
	}
	// Without retries the interval is never used, so a Policy built in Go
	// may leave it zero.
	if (r.Count != 0 || r.IntervalMinutes != 0) && (r.IntervalMinutes < 1 || r.IntervalMinutes > MaxIntervalMinutes) {
		v.add("retries.intervalMinutes", fmt.Sprintf("Wait from 1 to %d minutes before a retry, not %d.", MaxIntervalMinutes, r.IntervalMinutes))
	}
}

func (v *validator) lifecycle() {
	l := v.p.Lifecycle
	if l == nil {
		return
	}
	if l.ColdAfterDays < 1 || l.ColdAfterDays > MaxRetentionDays {
		v.add("lifecycle.coldAfterDays", fmt.Sprintf("Move restore points to cold storage after 1 to %d days, not %d; remove lifecycle to keep them in warm storage.", MaxRetentionDays, l.ColdAfterDays))
		return
	}
	need := l.ColdAfterDays + ColdStorageMinDays
	for i, s := range v.p.Schedules {
		if d := s.Retention.Days; d > 0 && d < need && s.Retention.Count == 0 {
			v.add(fmt.Sprintf("schedules[%d].retention.days", i), fmt.Sprintf("Restore points move to cold storage after %d days and must stay there %d days; keep them at least %d days, or move them to cold storage later.", l.ColdAfterDays, ColdStorageMinDays, need))
		}
	}
}
