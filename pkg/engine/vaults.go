package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// vaultTarget names a vault the way a policy does: by name (Account mode)
// or by a tag exactly one vault must carry (Organization mode).
type vaultTarget struct {
	Name string
	Tag  *policy.Tag
}

func (t vaultTarget) String() string {
	if t.Tag != nil {
		return fmt.Sprintf("the vault tagged %s=%s", t.Tag.Key, t.Tag.Value)
	}
	return fmt.Sprintf("vault %q", t.Name)
}

// vaultProblem is why a vault cannot be used: a Reason code and a sentence.
type vaultProblem struct {
	Code    string
	Message string
	// Retry is set when the check failed for a passing reason (throttling,
	// an outage) rather than because of the vault.
	Retry error
}

// resolveVault finds the vault a policy names in one account and Region
// and applies DESIGN.md's vault rules: it must exist (a tag must match
// exactly one vault), must not be logically air-gapped, must not have Vault
// Lock, must not be the EFS automatic-backup vault, and its access policy
// must not deny the actions efskeeper needs to its roles. The second result
// lists warnings about a usable vault.
func (e *Engine) resolveVault(ctx context.Context, l Loc, t vaultTarget, actions []string) (Vault, []Reason, *vaultProblem) {
	var v Vault
	if t.Tag != nil {
		vaults, err := e.Backup.ListVaults(ctx, l)
		if err != nil {
			return v, nil, lookupProblem(err, "list the backup vaults", l)
		}
		var match []Vault
		for _, c := range vaults {
			if val, ok := c.Tags[t.Tag.Key]; ok && val == t.Tag.Value {
				match = append(match, c)
			}
		}
		switch len(match) {
		case 0:
			return v, nil, &vaultProblem{Code: ReasonVaultTagNone, Message: fmt.Sprintf(
				"no backup vault in account %s, %s carries the tag %s=%s; tag exactly one vault there",
				l.Account, l.Region, t.Tag.Key, t.Tag.Value)}
		case 1:
			v = match[0]
		default:
			names := make([]string, len(match))
			for i, m := range match {
				names[i] = m.Name
			}
			sort.Strings(names)
			return v, nil, &vaultProblem{Code: ReasonVaultTagMany, Message: fmt.Sprintf(
				"%d backup vaults in account %s, %s carry the tag %s=%s (%s); remove the tag from all but one",
				len(match), l.Account, l.Region, t.Tag.Key, t.Tag.Value, strings.Join(names, ", "))}
		}
	} else {
		var err error
		v, err = e.Backup.DescribeVault(ctx, l, t.Name)
		if IsNotFound(err) {
			return v, nil, &vaultProblem{Code: ReasonVaultMissing, Message: fmt.Sprintf(
				"backup vault %q does not exist in account %s, %s; create it or change the policy", t.Name, l.Account, l.Region)}
		}
		if err != nil {
			return v, nil, lookupProblem(err, fmt.Sprintf("describe backup vault %q", t.Name), l)
		}
	}
	if strings.HasPrefix(v.Name, "aws/") {
		return v, nil, &vaultProblem{Code: ReasonVaultReserved, Message: fmt.Sprintf(
			"vault %q in account %s, %s is reserved for EFS automatic backups and denies copies, restores and deletions; use a vault of your own", v.Name, l.Account, l.Region)}
	}
	if v.Type == VaultTypeAirGapped {
		return v, nil, &vaultProblem{Code: ReasonVaultAirGapped, Message: fmt.Sprintf(
			"vault %q in account %s, %s is a logically air-gapped vault; efskeeper only uses standard vaults, so choose another", v.Name, l.Account, l.Region)}
	}
	if v.Type != "" && v.Type != VaultTypeStandard {
		return v, nil, &vaultProblem{Code: ReasonVaultAirGapped, Message: fmt.Sprintf(
			"vault %q in account %s, %s has type %s; efskeeper only uses standard backup vaults", v.Name, l.Account, l.Region, v.Type)}
	}
	if v.Locked || v.MinRetentionDays != nil || v.MaxRetentionDays != nil {
		return v, nil, &vaultProblem{Code: ReasonVaultLocked, Message: fmt.Sprintf(
			"vault %q in account %s, %s has Vault Lock (locked or a minimum/maximum retention), which would keep efskeeper from applying the policy's retention; choose a vault without Vault Lock", v.Name, l.Account, l.Region)}
	}
	doc, err := e.Backup.VaultAccessPolicy(ctx, l, v.Name)
	if err != nil {
		return v, nil, lookupProblem(err, fmt.Sprintf("read the access policy of vault %q", v.Name), l)
	}
	principals := []string{roleArn(l, e.Config.BackupRoleName), roleArn(l, e.Config.MemberRoleName)}
	for _, fn := range []string{"regionrun", "jobevents", "reconcile", "retention", "api"} {
		principals = append(principals, roleArn(l, e.Config.FunctionRolePrefix+fn))
	}
	verdict, err := EvaluateVaultPolicy(doc, actions, principals)
	if err != nil {
		return v, nil, &vaultProblem{Code: ReasonVaultPolicyDenies, Message: fmt.Sprintf(
			"the access policy of vault %q in account %s, %s cannot be read: %v", v.Name, l.Account, l.Region, err)}
	}
	if len(verdict.Denied) > 0 {
		return v, nil, &vaultProblem{Code: ReasonVaultPolicyDenies, Message: fmt.Sprintf(
			"the access policy of vault %q in account %s, %s denies %s to efskeeper's roles; remove the Deny or choose another vault",
			v.Name, l.Account, l.Region, strings.Join(verdict.Denied, ", "))}
	}
	var warnings []Reason
	if len(verdict.MaybeDenied) > 0 {
		warnings = append(warnings, Reason{Severity: SeverityWarning, Code: ReasonVaultPolicyMay, Account: l.Account, Region: l.Region,
			Message: fmt.Sprintf("the access policy of vault %q has conditional Deny statements for %s that may apply to efskeeper's roles",
				v.Name, strings.Join(verdict.MaybeDenied, ", "))})
	}
	return v, warnings, nil
}

func lookupProblem(err error, step string, l Loc) *vaultProblem {
	p := &vaultProblem{Code: ReasonRegionError, Message: fmt.Sprintf("could not %s in account %s, %s: %v", step, l.Account, l.Region, err)}
	if retriable(err) {
		p.Retry = err
	}
	return p
}

func backupTarget(p *policy.Policy, region string) (vaultTarget, bool) {
	ref, ok := p.BackupVault(region)
	if !ok {
		return vaultTarget{}, false
	}
	return vaultTarget{Name: ref.Vault, Tag: ref.VaultTag}, true
}

func copyTarget(p *policy.Policy, region string) (policy.Mapping, vaultTarget, bool) {
	m, ok := p.CopyMapping(region)
	if !ok {
		return m, vaultTarget{}, false
	}
	return m, vaultTarget{Name: m.Vault, Tag: m.VaultTag}, true
}
