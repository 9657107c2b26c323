// Package policy is the efskeeper policy document (v1): its types, strict
// parsing with a problem per JSON path, validation, schedule expansion in the
// policy's time zone, and retention arithmetic. It is pure code: no clock, no
// AWS, no I/O, so that the engine, the API, the simulator and the CLI agree on
// what a policy means.
//
// Defaults, applied by Parse to fields that the document leaves out:
//
//   - enabled: true (a policy someone wrote is meant to run).
//   - timezone: "UTC".
//   - source.organizationalUnits, fileSystems, tags, excludeTags: empty.
//   - copies: absent means no copies; copies.enabled absent means true when
//     copies.mappings lists any mapping and false otherwise.
//   - schedules[].days for a daily schedule: all seven days.
//   - retries: count 0, intervalMinutes 10.
//   - indexing.enabled: false (indexing launches EC2 instances, so it is opted in).
//   - notifications: onSuccess false, onWarning true, onFailure true.
//   - lifecycle: absent means restore points stay in warm storage.
//
// Validate, which also serves policies built in Go, treats an empty Timezone
// as UTC and an empty Days of a daily schedule as every day, so that those
// zero values mean the same as the defaults.
package policy

import (
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // Lambda images lack /usr/share/zoneinfo; every binary must resolve the same zones.
)

// Source modes.
const (
	// ModeAccount protects file systems in one account (the one efskeeper runs in or a named one).
	ModeAccount = "account"
	// ModeOrganization protects file systems in member accounts of an AWS Organization.
	ModeOrganization = "organization"
)

// Schedule kinds.
const (
	KindDaily   = "daily"
	KindWeekly  = "weekly"
	KindMonthly = "monthly"
	KindYearly  = "yearly"
)

// AllRegions is the Region wildcard of backup.vaults and copies.mappings:
// the entry applies to every source Region that has no entry of its own.
const AllRegions = "*"

// LastDay is the dayOfMonth value that means the last day of the month.
const LastDay = -1

// Policy is one v1 policy document. json.Marshal of a Policy gives a document
// that Parse accepts and that decodes to an equal Policy.
type Policy struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Enabled       bool          `json:"enabled"`
	Timezone      string        `json:"timezone"`
	Source        Source        `json:"source"`
	Backup        Backup        `json:"backup"`
	Copies        Copies        `json:"copies"`
	Schedules     []Schedule    `json:"schedules"`
	Retries       Retries       `json:"retries"`
	Indexing      Indexing      `json:"indexing"`
	Notifications Notifications `json:"notifications"`
	Lifecycle     *Lifecycle    `json:"lifecycle,omitempty"`
}

// Source says which file systems a policy protects: in which accounts and
// Regions, and selected by id and/or tags.
type Source struct {
	Mode                string   `json:"mode"`
	Accounts            []string `json:"accounts,omitempty"`
	OrganizationalUnits []string `json:"organizationalUnits,omitempty"`
	Regions             []string `json:"regions"`
	FileSystems         []string `json:"fileSystems,omitempty"`
	Tags                []Tag    `json:"tags,omitempty"`
	ExcludeTags         []Tag    `json:"excludeTags,omitempty"`
}

// Tag is an AWS resource tag. An empty Value matches only an empty value.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Backup says where backups go in their source Region.
type Backup struct {
	Vaults []VaultRef `json:"vaults"`
}

// VaultRef names the backup vault of one source Region (or of every Region
// without an entry, when Region is "*"): by name in Account mode, by a tag
// that exactly one vault carries in Organization mode.
type VaultRef struct {
	Region   string `json:"region"`
	Vault    string `json:"vault,omitempty"`
	VaultTag *Tag   `json:"vaultTag,omitempty"`
}

// Copies says whether and where restore points are copied after a backup.
type Copies struct {
	Enabled  bool      `json:"enabled"`
	Mappings []Mapping `json:"mappings,omitempty"`
}

// Mapping sends copies of restore points made in SourceRegion (or in every
// Region without a mapping, when "*") to a vault in TargetRegion, named like
// a VaultRef.
type Mapping struct {
	SourceRegion string `json:"sourceRegion"`
	TargetRegion string `json:"targetRegion"`
	Vault        string `json:"vault,omitempty"`
	VaultTag     *Tag   `json:"vaultTag,omitempty"`
}

// Schedule is one named rule of when to back up and how long to keep what it
// made. At holds local "HH:MM" times in the policy time zone; Days holds
// "mon".."sun" (daily, weekly); DayOfMonth is 1..31 or -1 for the last day
// (monthly, yearly); Month is 1..12 (yearly).
type Schedule struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	At         []string  `json:"at"`
	Days       []string  `json:"days,omitempty"`
	DayOfMonth int       `json:"dayOfMonth,omitempty"`
	Month      int       `json:"month,omitempty"`
	Retention  Retention `json:"retention"`
}

// Retention keeps a restore point for Days days after it was made, or while
// it is among the Count newest points of its schedule. Exactly one is set.
type Retention struct {
	Days  int `json:"days,omitempty"`
	Count int `json:"count,omitempty"`
}

// Retries says how often a failed backup or copy is started again, and how
// long after the failure.
type Retries struct {
	Count           int `json:"count"`
	IntervalMinutes int `json:"intervalMinutes"`
}

// Indexing turns on file indexes of each backed-up file system.
type Indexing struct {
	Enabled bool `json:"enabled"`
}

// Notifications says which session results are mailed.
type Notifications struct {
	OnSuccess bool `json:"onSuccess"`
	OnWarning bool `json:"onWarning"`
	OnFailure bool `json:"onFailure"`
}

// Lifecycle moves restore points to cold storage ColdAfterDays days after
// they were made.
type Lifecycle struct {
	ColdAfterDays int `json:"coldAfterDays"`
}

// Default values that Parse fills in for absent fields.
const (
	DefaultTimezone        = "UTC"
	DefaultIntervalMinutes = 10
)

// weekdays lists the day names in the order the defaults and error messages
// use; index i is time.Weekday (i+1)%7.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Location returns the policy's time zone; an empty or unknown Timezone
// gives UTC (Validate reports the unknown one).
func (p *Policy) Location() *time.Location {
	loc, err := loadLocation(p.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// zoneCache keeps loaded zones: time.LoadLocation parses the zone data on
// every call, and NextRun runs for every policy on every tick.
var zoneCache sync.Map // string -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "Local" {
		// "Local" would mean the zone of whichever machine runs the code.
		return nil, errLocalZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

type zoneError string

func (e zoneError) Error() string { return string(e) }

const errLocalZone = zoneError("the zone \"Local\" depends on the machine")

// BackupVault returns the backup vault of a source Region, resolving the "*"
// entry; the returned VaultRef carries the concrete Region. It reports false
// when the Region is not one of source.regions or has no vault.
func (p *Policy) BackupVault(region string) (VaultRef, bool) {
	return entryFor(p, region, p.Backup.Vaults, func(v *VaultRef) *string { return &v.Region })
}

// CopyMapping returns the copy mapping of a source Region, resolving the "*"
// entry; the returned Mapping carries the concrete SourceRegion. It reports
// false when copies are disabled, the Region is not one of source.regions,
// or no mapping applies.
func (p *Policy) CopyMapping(region string) (Mapping, bool) {
	if !p.Copies.Enabled {
		return Mapping{}, false
	}
	return entryFor(p, region, p.Copies.Mappings, func(m *Mapping) *string { return &m.SourceRegion })
}

// entryFor picks the entry of a source Region from a list where "*" stands
// for every Region without an entry of its own, and writes the concrete
// Region into the copy it returns.
func entryFor[T any](p *Policy, region string, entries []T, regionOf func(*T) *string) (T, bool) {
	var zero T
	if region == AllRegions || !slices.Contains(p.Source.Regions, region) {
		return zero, false
	}
	var wildcard *T
	for i := range entries {
		switch *regionOf(&entries[i]) {
		case region:
			return entries[i], true
		case AllRegions:
			if wildcard == nil {
				wildcard = &entries[i]
			}
		}
	}
	if wildcard == nil {
		return zero, false
	}
	e := *wildcard
	*regionOf(&e) = region
	return e, true
}

// Schedule returns the schedule with the given name.
func (p *Policy) Schedule(name string) (Schedule, bool) {
	for _, s := range p.Schedules {
		if s.Name == name {
			return s, true
		}
	}
	return Schedule{}, false
}

// Selects reports whether the policy protects a file system with the given id
// and tags (in an account and Region the policy covers): a file system named
// in source.fileSystems always is; otherwise it must carry one of
// source.tags (key and value equal) and none of source.excludeTags. Naming a
// file system is the stronger statement, so exclusion does not override it.
func (s Source) Selects(fileSystemID string, tags map[string]string) bool {
	if slices.Contains(s.FileSystems, fileSystemID) {
		return true
	}
	carries := func(t Tag) bool {
		v, ok := tags[t.Key]
		return ok && v == t.Value
	}
	selected := false
	for _, t := range s.Tags {
		if carries(t) {
			selected = true
			break
		}
	}
	if !selected {
		return false
	}
	for _, t := range s.ExcludeTags {
		if carries(t) {
			return false
		}
	}
	return true
}
