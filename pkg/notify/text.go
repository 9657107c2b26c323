// Package notify renders what efskeeper mails: the result of a backup
// session (Session), of a restore session (Restore) and the daily report
// (Daily), as plain text for an SNS email subscription, and runs the daily
// report (Reporter). Every text is safe for SNS whatever its inputs: the
// subject is one line of at most 99 characters, names and messages from
// AWS or admins are flattened to one line and clipped, and long lists end
// with "and N more" instead of growing without bound.
package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the texts.
const (
	// MaxSubject is SNS's limit: a subject has fewer than 100 characters.
	MaxSubject = 99
	// maxMessage bounds one reason or AWS message in a body.
	maxMessage = 600
	// maxLines bounds each list of a body (file systems, reasons, paths).
	maxLines = 100
)

// Message attribute names and values, so that an SNS subscription filter
// policy can select mails: policy and status as pkg/awscloud's session
// notices carry them, plus kind for restore results and daily reports.
const (
	AttrPolicy  = "policy"
	AttrStatus  = "status"
	AttrKind    = "kind"
	KindRestore = "restore"
	KindReport  = "report"
)

// oneLine makes outside text safe for one line of a mail: invalid UTF-8
// and control characters (line breaks included, which could forge lines
// of the mail) become spaces, runs of spaces shrink to one, and the result
// is cut to n runes with "…" marking the cut.
func oneLine(s string, n int) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// subject builds a mail subject from a fixed head and tail around a name
// that may be shortened: the head (status) and tail (time) always survive,
// the name gives way. The result is at most MaxSubject runes.
func subject(head, name, tail string) string {
	head, tail = oneLine(head, MaxSubject), oneLine(tail, MaxSubject)
	room := MaxSubject - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail) - 2
	name = oneLine(name, max(room, 1))
	s := strings.TrimSpace(head + " " + name + " " + tail)
	return oneLine(s, MaxSubject)
}

// stamp writes an instant in UTC and, when loc is another zone, in loc:
// "2024-05-14 02:00 UTC (04:00 CEST, Europe/Berlin)".
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	s := t.UTC().Format("2006-01-02 15:04 UTC")
	if loc == nil || loc == time.UTC || loc.String() == "UTC" {
		return s
	}
	l := t.In(loc)
	day := ""
	if l.Format("2006-01-02") != t.UTC().Format("2006-01-02") {
		day = l.Format("2006-01-02 ")
	}
	return fmt.Sprintf("%s (%s%s %s, %s)", s, day, l.Format("15:04"), l.Format("MST"), loc.String())
}

// duration writes a duration for people: "1 h 12 min", "45 s".
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// bytes writes a size in binary units.
func bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// plural writes "1 file system", "3 file systems".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// writer builds a body; lines are written through it so that each list
// can stop at its cap with "and N more".
type writer struct{ b strings.Builder }

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *writer) blank() { w.b.WriteByte('\n') }

// more writes the "and N more" line of a list cut at its cap.
func (w *writer) more(indent string, n int, what string) {
	if n > 0 {
		w.line("%s… and %d more %s", indent, n, what)
	}
}

func (w *writer) String() string { return w.b.String() }
