package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// schemaOrder lists every field name of the v1 document in the order the
// example in DESIGN.md writes them. A name shared by several objects (enabled,
// days, count, region) appears once, where it first occurs; the order within
// each object still follows. Problems are sorted by it.
var schemaOrder = []string{
	"id", "name", "enabled", "timezone",
	"source", "mode", "accounts", "organizationalUnits", "regions", "fileSystems", "tags", "key", "value", "excludeTags",
	"backup", "vaults", "region", "sourceRegion", "targetRegion", "vault", "vaultTag",
	"copies", "mappings",
	"schedules", "kind", "at", "days", "dayOfMonth", "month", "retention", "count",
	"retries", "intervalMinutes",
	"indexing",
	"notifications", "onSuccess", "onWarning", "onFailure",
	"lifecycle", "coldAfterDays",
}

var fieldRank = func() map[string]int {
	m := make(map[string]int, len(schemaOrder))
	for i, f := range schemaOrder {
		m[f] = i
	}
	return m
}()

// Parse reads a policy document strictly, validates it and fills in the
// defaults (see the package documentation). It reports every problem at
// once; when there are any, the returned policy is nil.
func Parse(data []byte) (*Policy, Problems) {
	tree, err := parseTree(data)
	if err != nil {
		return nil, Problems{{Message: sentence(err.Error())}}
	}
	d := &decoder{}
	p := d.policy(tree)
	shape := d.list
	var all Problems
	all = append(all, shape...)
	related := relatedTo(shape)
	for _, v := range p.Validate() {
		if !related(v.Path) {
			all = append(all, v)
		}
	}
	if len(all) > 0 {
		sortProblems(all)
		return nil, all
	}
	p.normalize()
	return p, nil
}

// relatedTo returns a test of whether a path is, contains or lies inside
// the path of a shape problem: a value that could not be decoded reads as
// its zero value, and what Validate says about that zero value would only
// repeat the problem. It indexes the paths so that a document with
// thousands of problems is still checked in linear time.
func relatedTo(shape Problems) func(string) bool {
	exact := make(map[string]bool, len(shape))
	above := map[string]bool{} // every ancestor of a shape path
	for _, s := range shape {
		exact[s.Path] = true
		for _, a := range ancestors(s.Path) {
			above[a] = true
		}
	}
	return func(path string) bool {
		if exact[path] || above[path] || exact[""] {
			return true
		}
		for _, a := range ancestors(path) {
			if exact[a] {
				return true
			}
		}
		return false
	}
}

// ancestors lists the proper prefixes of a path that are paths themselves:
// "a.b[1].c" gives "a", "a.b", "a.b[1]".
func ancestors(path string) []string {
	var out []string
	inQuote := false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '[') && i > 0:
			out = append(out, path[:i])
		}
	}
	return out
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// normalize gives a valid policy its canonical form: defaults for zero values
// and nil for empty lists, so that a marshalled and re-parsed policy is equal.
func (p *Policy) normalize() {
	if p.Timezone == "" {
		p.Timezone = DefaultTimezone
	}
	s := &p.Source
	for _, l := range []*[]string{&s.Accounts, &s.OrganizationalUnits, &s.Regions, &s.FileSystems} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	for _, l := range []*[]Tag{&s.Tags, &s.ExcludeTags} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(p.Copies.Mappings) == 0 {
		p.Copies.Mappings = nil
	}
	for i := range p.Schedules {
		sc := &p.Schedules[i]
		if sc.Kind == KindDaily && len(sc.Days) == 0 {
			sc.Days = append([]string(nil), weekdays...)
		}
		if len(sc.Days) == 0 {
			sc.Days = nil
		}
	}
}

// decoder walks the tree into a Policy, recording a problem for each unknown
// field, repeated key and value of the wrong JSON type, and carrying on.
type decoder struct{ problemList }

// field is one known member of an object and how to decode it.
type field struct {
	name string
	set  func(n *node, path string)
}

func (d *decoder) object(n *node, path string, fields []field) {
	if !d.expect(n, path, kindObject) {
		return
	}
	seen := make(map[string]bool, len(n.members))
	for _, m := range n.members {
		p := join(path, m.key)
		if seen[m.key] {
			d.add(p, fmt.Sprintf("The field %q appears more than once in this object; keep one.", m.key))
			continue
		}
		seen[m.key] = true
		f := findField(fields, m.key)
		if f == nil {
			d.add(p, unknownMessage(m.key, fields))
			continue
		}
		f.set(m.val, p)
	}
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

func unknownMessage(key string, fields []field) string {
	names := make([]string, len(fields))
	best, bestDist := "", 3
	for i, f := range fields {
		names[i] = strconv.Quote(f.name)
		dist := editDistance(strings.ToLower(key), strings.ToLower(f.name))
		if dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("Unknown field %q; did you mean %q?", key, best)
	}
	return fmt.Sprintf("Unknown field %q; the fields here are %s.", key, strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance, for suggesting the field a typo meant.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func (d *decoder) expect(n *node, path string, want nodeKind) bool {
	if n.kind == want {
		return true
	}
	hint := ""
	if n.kind == kindNull {
		hint = "; leave the field out to use its default"
	}
	d.add(path, fmt.Sprintf("Must be %s, not %s%s.", want, describeNode(n), hint))
	return false
}

func describeNode(n *node) string {
	switch n.kind {
	case kindString:
		return "the string " + strconv.Quote(n.str)
	case kindNumber:
		return "the number " + n.str
	case kindBool:
		return strconv.FormatBool(n.boolean)
	default:
		return n.kind.String()
	}
}

func (d *decoder) str(dst *string) func(*node, string) {
	return func(n *node, path string) {
		if d.expect(n, path, kindString) {
			*dst = n.str
		}
	}
}

func (d *decoder) boolean(dst *bool) func(*node, string) {
	return func(n *node, path string) {
		if d.expect(n, path, kindBool) {
			*dst = n.boolean
		}
	}
}

func (d *decoder) integer(dst *int) func(*node, string) {
	return func(n *node, path string) {
		if !d.expect(n, path, kindNumber) {
			return
		}
		if v, err := strconv.ParseInt(n.str, 10, 32); err == nil {
			*dst = int(v)
			return
		}
		f, err := strconv.ParseFloat(n.str, 64)
		switch {
		case err == nil && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32:
			*dst = int(f) // 14.0 and 1e2 are whole numbers too
		case err == nil && f != math.Trunc(f):
			d.add(path, fmt.Sprintf("Must be a whole number, not %s.", n.str))
		default:
			d.add(path, fmt.Sprintf("The number %s is far too large for this setting; use a value in its range.", n.str))
		}
	}
}

func (d *decoder) strings(dst *[]string) func(*node, string) { return list(d, dst, d.str) }

func (d *decoder) tags(dst *[]Tag) func(*node, string) { return list(d, dst, d.tag) }

func (d *decoder) tag(dst *Tag) func(*node, string) {
	return func(n *node, path string) {
		d.object(n, path, []field{
			{"key", d.str(&dst.Key)},
			{"value", d.str(&dst.Value)},
		})
	}
}

func (d *decoder) tagPtr(dst **Tag) func(*node, string) {
	return func(n *node, path string) {
		*dst = &Tag{}
		d.tag(*dst)(n, path)
	}
}

// list decodes an array whose items each decode with item.
func list[T any](d *decoder, dst *[]T, item func(*T) func(*node, string)) func(*node, string) {
	return func(n *node, path string) {
		if !d.expect(n, path, kindArray) {
			return
		}
		out := make([]T, len(n.items))
		for i, it := range n.items {
			item(&out[i])(it, index(path, i))
		}
		*dst = out
	}
}

func (d *decoder) policy(n *node) *Policy {
	p := &Policy{
		Enabled:       true,
		Retries:       Retries{IntervalMinutes: DefaultIntervalMinutes},
		Notifications: Notifications{OnWarning: true, OnFailure: true},
	}
	d.object(n, "", []field{
		{"id", d.str(&p.ID)},
		{"name", d.str(&p.Name)},
		{"enabled", d.boolean(&p.Enabled)},
		{"timezone", func(n *node, path string) {
			if d.expect(n, path, kindString) {
				if n.str == "" {
					d.add(path, `The time zone is empty; name an IANA zone such as "Europe/Berlin", or leave timezone out for UTC.`)
				}
				p.Timezone = n.str
			}
		}},
		{"source", func(n *node, path string) { d.source(&p.Source, n, path) }},
		{"backup", func(n *node, path string) {
			d.object(n, path, []field{{"vaults", list(d, &p.Backup.Vaults, d.vaultRef)}})
		}},
		{"copies", func(n *node, path string) { d.copies(&p.Copies, n, path) }},
		{"schedules", list(d, &p.Schedules, d.schedule)},
		{"retries", func(n *node, path string) {
			d.object(n, path, []field{
				{"count", d.integer(&p.Retries.Count)},
				{"intervalMinutes", d.integer(&p.Retries.IntervalMinutes)},
			})
		}},
		{"indexing", func(n *node, path string) {
			d.object(n, path, []field{{"enabled", d.boolean(&p.Indexing.Enabled)}})
		}},
		{"notifications", func(n *node, path string) {
			d.object(n, path, []field{
				{"onSuccess", d.boolean(&p.Notifications.OnSuccess)},
				{"onWarning", d.boolean(&p.Notifications.OnWarning)},
				{"onFailure", d.boolean(&p.Notifications.OnFailure)},
			})
		}},
		{"lifecycle", func(n *node, path string) {
			p.Lifecycle = &Lifecycle{}
			d.object(n, path, []field{{"coldAfterDays", d.integer(&p.Lifecycle.ColdAfterDays)}})
		}},
	})
	return p
}

func (d *decoder) source(s *Source, n *node, path string) {
	d.object(n, path, []field{
		{"mode", d.str(&s.Mode)},
		{"accounts", d.strings(&s.Accounts)},
		{"organizationalUnits", d.strings(&s.OrganizationalUnits)},
		{"regions", d.strings(&s.Regions)},
		{"fileSystems", d.strings(&s.FileSystems)},
		{"tags", d.tags(&s.Tags)},
		{"excludeTags", d.tags(&s.ExcludeTags)},
	})
}

func (d *decoder) vaultRef(v *VaultRef) func(*node, string) {
	return func(n *node, path string) {
		d.object(n, path, []field{
			{"region", d.str(&v.Region)},
			{"vault", d.str(&v.Vault)},
			{"vaultTag", d.tagPtr(&v.VaultTag)},
		})
	}
}

func (d *decoder) mapping(m *Mapping) func(*node, string) {
	return func(n *node, path string) {
		d.object(n, path, []field{
			{"sourceRegion", d.str(&m.SourceRegion)},
			{"targetRegion", d.str(&m.TargetRegion)},
			{"vault", d.str(&m.Vault)},
			{"vaultTag", d.tagPtr(&m.VaultTag)},
		})
	}
}

func (d *decoder) copies(c *Copies, n *node, path string) {
	enabledSet := false
	d.object(n, path, []field{
		{"enabled", func(n *node, path string) {
			enabledSet = true
			d.boolean(&c.Enabled)(n, path)
		}},
		{"mappings", list(d, &c.Mappings, d.mapping)},
	})
	if !enabledSet {
		// Mappings without "enabled" mean the admin wants copies.
		c.Enabled = len(c.Mappings) > 0
	}
}

func (d *decoder) schedule(s *Schedule) func(*node, string) {
	return func(n *node, path string) {
		var emptyDays bool
		d.object(n, path, []field{
			{"name", d.str(&s.Name)},
			{"kind", d.str(&s.Kind)},
			{"at", d.strings(&s.At)},
			{"days", func(n *node, path string) {
				d.strings(&s.Days)(n, path)
				emptyDays = n.kind == kindArray && len(n.items) == 0
			}},
			{"dayOfMonth", d.integer(&s.DayOfMonth)},
			{"month", d.integer(&s.Month)},
			{"retention", func(n *node, path string) {
				d.object(n, path, []field{
					{"days", d.integer(&s.Retention.Days)},
					{"count", d.integer(&s.Retention.Count)},
				})
			}},
		})
		if emptyDays && s.Kind == KindDaily {
			// An empty list would otherwise read as "every day", the opposite of what it says.
			d.add(join(path, "days"), "The list of days is empty; list the weekdays to run on, or leave days out to run every day.")
		}
	}
}
