package engine

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Actions efskeeper needs on the vault that receives its backups, and on a
// vault that receives its copies. A vault access policy that denies one of
// them to efskeeper's roles makes the vault unusable.
var (
	BackupVaultActions = []string{"backup:StartBackupJob", "backup:StartCopyJob", "backup:StartRestoreJob", "backup:DeleteRecoveryPoint"}
	CopyVaultActions   = []string{"backup:CopyIntoBackupVault", "backup:StartRestoreJob", "backup:DeleteRecoveryPoint"}
)

// PolicyVerdict is the outcome of checking a vault access policy.
type PolicyVerdict struct {
	// Denied lists actions an unconditional Deny refuses to our principals.
	Denied []string
	// MaybeDenied lists actions denied by statements with conditions that
	// cannot be evaluated offline (they may or may not apply at run time).
	MaybeDenied []string
}

// policyDoc is the subset of an IAM resource policy that matters here.
type policyDoc struct {
	Statement statements `json:"Statement"`
}

type statement struct {
	Effect       string          `json:"Effect"`
	Principal    json.RawMessage `json:"Principal"`
	NotPrincipal json.RawMessage `json:"NotPrincipal"`
	Action       stringList      `json:"Action"`
	NotAction    stringList      `json:"NotAction"`
	Condition    json.RawMessage `json:"Condition"`
}

// statements accepts a single statement object as well as a list.
type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	var list []statement
	if err := json.Unmarshal(b, &list); err == nil {
		*s = list
		return nil
	}
	var one statement
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*s = statements{one}
	return nil
}

// stringList accepts "x" as well as ["x", "y"].
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*l = list
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*l = stringList{one}
	return nil
}

// EvaluateVaultPolicy checks which of actions a vault access policy denies
// to any of principals (role ARNs of efskeeper in the vault's account). An
// empty document denies nothing. A document that does not parse is an
// error: a policy we cannot read is not a policy we can trust.
//
// Only Deny statements matter: AWS Backup needs no Allow in the vault policy
// for same-account access. Resource is not checked: vault policies apply to
// the vault and its recovery points, which is every resource we touch.
func EvaluateVaultPolicy(doc string, actions, principals []string) (PolicyVerdict, error) {
	var v PolicyVerdict
	if strings.TrimSpace(doc) == "" {
		return v, nil
	}
	var pd policyDoc
	if err := json.Unmarshal([]byte(doc), &pd); err != nil {
		return v, fmt.Errorf("vault access policy is not valid JSON: %w", err)
	}
	denied := map[string]bool{}
	maybe := map[string]bool{}
	for _, st := range pd.Statement {
		if !strings.EqualFold(st.Effect, "Deny") {
			continue
		}
		hits, err := principalMatches(st, principals)
		if err != nil {
			return v, err
		}
		if !hits {
			continue
		}
		conditional := len(st.Condition) > 0 && string(st.Condition) != "null" && string(st.Condition) != "{}"
		for _, a := range actions {
			if !actionMatches(st, a) {
				continue
			}
			if conditional {
				maybe[a] = true
			} else {
				denied[a] = true
			}
		}
	}
	for a := range denied {
		v.Denied = append(v.Denied, a)
		delete(maybe, a)
	}
	for a := range maybe {
		v.MaybeDenied = append(v.MaybeDenied, a)
	}
	sort.Strings(v.Denied)
	sort.Strings(v.MaybeDenied)
	return v, nil
}

func actionMatches(st statement, action string) bool {
	if len(st.NotAction) > 0 {
		for _, p := range st.NotAction {
			if globMatch(p, action) {
				return false
			}
		}
		return true
	}
	for _, p := range st.Action {
		if globMatch(p, action) {
			return true
		}
	}
	return false
}

// globMatch matches IAM action and ARN patterns: * and ?, case-insensitive
// for actions as IAM is.
func globMatch(pattern, s string) bool {
	ok, err := path.Match(strings.ToLower(escapeBrackets(pattern)), strings.ToLower(s))
	return err == nil && ok
}

// escapeBrackets keeps path.Match from reading IAM's literal [ and ] as
// character classes; IAM patterns only have * and ?.
func escapeBrackets(p string) string {
	p = strings.ReplaceAll(p, `\`, `\\`)
	p = strings.ReplaceAll(p, "[", `\[`)
	return strings.ReplaceAll(p, "]", `\]`)
}

// principalMatches reports whether the statement's Principal (or the
// complement of its NotPrincipal) covers one of our principals.
func principalMatches(st statement, principals []string) (bool, error) {
	if len(st.NotPrincipal) > 0 && string(st.NotPrincipal) != "null" {
		excluded, err := principalList(st.NotPrincipal)
		if err != nil {
			return false, err
		}
		for _, p := range principals {
			if !anyPrincipal(excluded, p) {
				return true, nil
			}
		}
		return false, nil
	}
	if len(st.Principal) == 0 || string(st.Principal) == "null" {
		return false, nil
	}
	list, err := principalList(st.Principal)
	if err != nil {
		return false, err
	}
	for _, p := range principals {
		if anyPrincipal(list, p) {
			return true, nil
		}
	}
	return false, nil
}

// principalList flattens "*", {"AWS": "..."} and {"AWS": [...]}; other
// principal types (Service, Federated) never name our roles.
func principalList(raw json.RawMessage) ([]string, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		return []string{star}, nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("vault access policy has a Principal that is neither \"*\" nor an object: %s", raw)
	}
	return m["AWS"], nil
}

// anyPrincipal reports whether one of the policy principals names role: "*",
// the role's account (id or root ARN), or the role ARN, possibly with
// wildcards.
func anyPrincipal(list []string, role string) bool {
	account := arnAccount(role)
	for _, p := range list {
		switch {
		case p == "*":
			return true
		case p == account:
			return true
		case account != "" && strings.HasSuffix(p, ":"+account+":root"):
			return true
		case globMatch(p, role):
			return true
		}
	}
	return false
}

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
