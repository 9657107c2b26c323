package policy

import "strings"

// ScheduleTagKey is the tag that records on a restore point which schedules
// made it; retention reads it back to know which rules hold the point.
const ScheduleTagKey = "efskeeper:schedules"

// scheduleSeparator joins schedule names in the tag value. AWS tag values
// allow letters, digits, spaces and _ . : / = + - @, and schedule names
// cannot contain "+", so the value splits back unambiguously.
const scheduleSeparator = "+"

// JoinSchedules renders schedule names as the value of ScheduleTagKey.
func JoinSchedules(names []string) string { return strings.Join(names, scheduleSeparator) }

// SplitSchedules reads the value of ScheduleTagKey back into names.
func SplitSchedules(value string) []string {
	if value == "" {
		return nil
	}
	return strings.Split(value, scheduleSeparator)
}
