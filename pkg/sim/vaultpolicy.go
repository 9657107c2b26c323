package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// vaultPolicy is a parsed backup vault access policy, evaluated for the
// few questions the simulator asks: does it deny this action to this
// principal, does it allow it (cross-account copies need an Allow).
//
// Supported: Effect, Principal / NotPrincipal ("*", {"AWS": "*" | account
// id | arn:aws:iam::<acct>:root | role or user ARN}), Action / NotAction
// with * and ? wildcards (case-insensitive), and Condition operators
// String(Not)Equals(IgnoreCase), String(Not)Like, Arn(Not)Equals,
// Arn(Not)Like (with IfExists) on aws:PrincipalArn and
// aws:PrincipalAccount. Anything else in a Condition cannot be decided
// here: a Deny statement with such a condition is taken to apply (the
// cautious reading), an Allow statement not to.
type vaultPolicy struct {
	statements []statement
}

type statement struct {
	deny         bool
	notPrincipal bool
	principals   []string // "*" matches anyone
	notAction    bool
	actions      []string
	conditions   []condition
}

type condition struct {
	op       string // normalized: StringEquals, StringLike, ArnEquals, ... (without IfExists)
	negate   bool
	fold     bool // IgnoreCase
	key      string
	values   []string
	decided  bool // false: unsupported operator or key
	ifExists bool
}

// oneOrMany decodes a JSON string or array of strings.
type oneOrMany []string

func (o *oneOrMany) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var s []string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*o = s
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*o = []string{s}
	return nil
}

type rawStatement struct {
	Effect       string                     `json:"Effect"`
	Principal    json.RawMessage            `json:"Principal"`
	NotPrincipal json.RawMessage            `json:"NotPrincipal"`
	Action       oneOrMany                  `json:"Action"`
	NotAction    oneOrMany                  `json:"NotAction"`
	Condition    map[string]json.RawMessage `json:"Condition"`
}

// parseVaultPolicy parses an access policy document.
func parseVaultPolicy(doc string) (*vaultPolicy, error) {
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("access policy: %w", err)
	}
	var stmts []rawStatement
	s := bytes.TrimSpace(raw.Statement)
	switch {
	case len(s) == 0 || string(s) == "null":
		return nil, errors.New("access policy: no Statement")
	case s[0] == '[':
		if err := json.Unmarshal(s, &stmts); err != nil {
			return nil, fmt.Errorf("access policy Statement: %w", err)
		}
	default:
		var one rawStatement
		if err := json.Unmarshal(s, &one); err != nil {
			return nil, fmt.Errorf("access policy Statement: %w", err)
		}
		stmts = []rawStatement{one}
	}
	p := &vaultPolicy{}
	for i, rs := range stmts {
		st, err := parseStatement(rs)
		if err != nil {
			return nil, fmt.Errorf("access policy Statement[%d]: %w", i, err)
		}
		p.statements = append(p.statements, st)
	}
	return p, nil
}

func parseStatement(rs rawStatement) (statement, error) {
	var st statement
	switch rs.Effect {
	case "Deny":
		st.deny = true
	case "Allow":
	default:
		return st, fmt.Errorf("Effect %q: want Allow or Deny", rs.Effect)
	}
	pr := rs.Principal
	if len(rs.NotPrincipal) > 0 {
		if len(pr) > 0 {
			return st, errors.New("both Principal and NotPrincipal")
		}
		pr, st.notPrincipal = rs.NotPrincipal, true
	}
	if len(pr) == 0 {
		return st, errors.New("no Principal")
	}
	principals, err := parsePrincipal(pr)
	if err != nil {
		return st, err
	}
	st.principals = principals
	switch {
	case len(rs.Action) > 0 && len(rs.NotAction) > 0:
		return st, errors.New("both Action and NotAction")
	case len(rs.Action) > 0:
		st.actions = rs.Action
	case len(rs.NotAction) > 0:
		st.actions, st.notAction = rs.NotAction, true
	default:
		return st, errors.New("no Action")
	}
	// Sorted operator names keep evaluation order (and so results)
	// independent of map iteration.
	ops := make([]string, 0, len(rs.Condition))
	for op := range rs.Condition {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		var byKey map[string]json.RawMessage
		if err := json.Unmarshal(rs.Condition[op], &byKey); err != nil {
			return st, fmt.Errorf("Condition %s: %w", op, err)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c := newCondition(op, k)
			var vals oneOrMany
			if err := json.Unmarshal(byKey[k], &vals); err != nil {
				c.decided = false // booleans, numbers: not something we evaluate
			}
			c.values = vals
			st.conditions = append(st.conditions, c)
		}
	}
	return st, nil
}

func parsePrincipal(raw json.RawMessage) ([]string, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("Principal %q: a string principal must be \"*\"", star)
		}
		return []string{"*"}, nil
	}
	var m map[string]oneOrMany
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("Principal: %w", err)
	}
	// Only AWS principals can be efskeeper's roles; Service and Federated
	// entries never match them.
	return append([]string(nil), m["AWS"]...), nil
}

func newCondition(op, key string) condition {
	c := condition{key: strings.ToLower(key), decided: true}
	name := op
	if i := strings.Index(name, ":"); i >= 0 { // ForAnyValue:, ForAllValues: on a single-valued key
		name = name[i+1:]
	}
	if strings.HasSuffix(name, "IfExists") {
		c.ifExists = true
		name = strings.TrimSuffix(name, "IfExists")
	}
	switch name {
	case "StringEquals", "StringLike", "ArnEquals", "ArnLike":
	case "StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike":
		c.negate = true
		name = strings.Replace(name, "Not", "", 1)
	case "StringEqualsIgnoreCase":
		c.fold = true
		name = "StringEquals"
	case "StringNotEqualsIgnoreCase":
		c.fold, c.negate = true, true
		name = "StringEquals"
	default:
		c.decided = false
	}
	if c.key != "aws:principalarn" && c.key != "aws:principalaccount" {
		c.decided = false
	}
	c.op = name
	return c
}

// holds evaluates the condition for principal; ok is false when the
// simulator cannot decide it.
func (c condition) holds(principal string) (holds, ok bool) {
	if !c.decided {
		return false, false
	}
	v := principal
	if c.key == "aws:principalaccount" {
		v = arnAccount(principal)
	}
	match := false
	for _, want := range c.values {
		switch c.op {
		case "StringEquals", "ArnEquals":
			if c.op == "ArnEquals" && strings.ContainsAny(want, "*?") {
				match = glob(want, v, false)
			} else if c.fold {
				match = strings.EqualFold(want, v)
			} else {
				match = want == v
			}
		case "StringLike", "ArnLike":
			match = glob(want, v, false)
		}
		if match {
			break
		}
	}
	return match != c.negate, true
}

func (s statement) principalMatches(principal string) bool {
	in := false
	for _, p := range s.principals {
		if p == "*" || p == principal || p == arnAccount(principal) ||
			p == "arn:aws:iam::"+arnAccount(principal)+":root" {
			in = true
			break
		}
	}
	return in != s.notPrincipal
}

func (s statement) actionMatches(action string) bool {
	in := false
	for _, a := range s.actions {
		if glob(a, action, true) {
			in = true
			break
		}
	}
	return in != s.notAction
}

// applies reports whether the statement applies to (action, principal);
// undecidable conditions count as holding when cautious is true.
func (s statement) applies(action, principal string, cautious bool) bool {
	if !s.principalMatches(principal) || !s.actionMatches(action) {
		return false
	}
	for _, c := range s.conditions {
		h, ok := c.holds(principal)
		if !ok {
			h = cautious
		}
		if !h {
			return false
		}
	}
	return true
}

func (p *vaultPolicy) denies(action, principal string) bool {
	for _, s := range p.statements {
		if s.deny && s.applies(action, principal, true) {
			return true
		}
	}
	return false
}

func (p *vaultPolicy) allows(action, principal string) bool {
	if p == nil {
		return false
	}
	for _, s := range p.statements {
		if !s.deny && s.applies(action, principal, false) {
			return true
		}
	}
	return false
}

// arnAccount returns the account field of an ARN ("" if it is not one).
func arnAccount(arn string) string {
	f, ok := splitArn(arn)
	if !ok {
		return ""
	}
	return f[4]
}

// glob matches s against a pattern with * (any run) and ? (one byte).
func glob(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
