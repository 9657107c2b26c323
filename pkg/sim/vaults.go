package sim

import (
	"fmt"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// AutomaticVaultName is the vault EFS automatic backups write to. Its name
// breaks the documented vault-name pattern (it contains slashes).
const AutomaticVaultName = "aws/efs/automatic-backup-vault"

// AutomaticVaultPolicy is the access policy AWS puts on the automatic
// vault: it denies everyone copying, restoring and deleting its points
// (notes.md §7).
const AutomaticVaultPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["backup:DeleteBackupVault","backup:DeleteBackupVaultAccessPolicy","backup:DeleteRecoveryPoint","backup:StartCopyJob","backup:StartRestoreJob","backup:UpdateRecoveryPointLifecycle"],"Resource":"*"}]}`

// VaultSpec describes a backup vault to add to the world.
type VaultSpec struct {
	Name string
	// Type is engine.VaultTypeStandard (default), VaultTypeAirGapped or
	// VaultTypeRestoreAccess.
	Type string
	// Locked is Vault Lock in compliance mode after its grace time:
	// recovery points cannot be deleted (InvalidRequestException).
	Locked bool
	// MinRetentionDays and MaxRetentionDays are Vault Lock's bounds: a job
	// whose retention falls outside fails, and points younger than the
	// minimum cannot be deleted.
	MinRetentionDays, MaxRetentionDays *int64
	Tags                               map[string]string
	// AccessPolicy is the vault access policy JSON ("" for none). It must
	// parse: AWS refuses malformed policies at PutBackupVaultAccessPolicy.
	AccessPolicy string
	// DeleteWithoutPermission: AWS Backup cannot delete in this vault, so
	// DeleteRecoveryPoint answers success and the point becomes EXPIRED.
	DeleteWithoutPermission bool
}

type vault struct {
	loc       engine.Loc
	name, arn string
	typ       string
	locked    bool
	min, max  *int64
	tags      map[string]string
	policyRaw string
	policy    *vaultPolicy
	noDelete  bool
	automatic bool // the EFS automatic backup vault
	created   time.Time
	removed   bool
	points    int // recovery points stored (not gone)
}

func vaultArn(l engine.Loc, name string) string {
	return "arn:aws:backup:" + l.Region + ":" + l.Account + ":backup-vault:" + name
}

// parseVaultArn splits arn:aws:backup:<region>:<acct>:backup-vault:<name>.
func parseVaultArn(arn string) (engine.Loc, string, bool) {
	f, ok := splitArn(arn)
	const p = "backup-vault:"
	if !ok || f[2] != "backup" || len(f[5]) <= len(p) || f[5][:len(p)] != p {
		return engine.Loc{}, "", false
	}
	return engine.Loc{Account: f[4], Region: f[3]}, f[5][len(p):], true
}

// AddVault adds (or replaces the settings of) a backup vault in l. The
// vault named AutomaticVaultName is the EFS automatic backup vault: it gets
// AutomaticVaultPolicy unless the spec sets another policy.
func (w *World) AddVault(l engine.Loc, spec VaultSpec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addVault(l, spec)
}

func (w *World) addVault(l engine.Loc, spec VaultSpec) *vault {
	r := w.region(l)
	v := r.vaults[spec.Name]
	if v == nil || v.removed {
		v = &vault{loc: l, name: spec.Name, arn: vaultArn(l, spec.Name), created: w.now}
		r.vaults[spec.Name] = v
	}
	v.typ = spec.Type
	if v.typ == "" {
		v.typ = engine.VaultTypeStandard
	}
	v.locked = spec.Locked
	v.min, v.max = cloneInt(spec.MinRetentionDays), cloneInt(spec.MaxRetentionDays)
	v.tags = copyTags(spec.Tags)
	v.noDelete = spec.DeleteWithoutPermission
	v.automatic = spec.Name == AutomaticVaultName
	policy := spec.AccessPolicy
	if policy == "" && v.automatic {
		policy = AutomaticVaultPolicy
	}
	w.setPolicy(v, policy)
	if v.automatic {
		w.ensurePlan(r)
	}
	return v
}

func (w *World) setPolicy(v *vault, policy string) {
	v.policyRaw, v.policy = policy, nil
	if policy == "" {
		return
	}
	p, err := parseVaultPolicy(policy)
	if err != nil {
		panic(fmt.Sprintf("sim: vault %s in %s: %v", v.name, v.loc, err))
	}
	v.policy = p
}

// SetVaultPolicy replaces a vault's access policy ("" removes it).
func (w *World) SetVaultPolicy(l engine.Loc, name, policy string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setPolicy(w.mustVault(l, name), policy)
}

// RemoveVault deletes a vault (as if DeleteBackupVault succeeded): it is no
// longer listed, and jobs that target it and have not run yet fail.
func (w *World) RemoveVault(l engine.Loc, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mustVault(l, name).removed = true
}

func (w *World) mustVault(l engine.Loc, name string) *vault {
	v := w.vault(l, name)
	if v == nil {
		panic(fmt.Sprintf("sim: vault %s in %s does not exist", name, l))
	}
	return v
}

// vault returns the live vault of that name in l, or nil.
func (w *World) vault(l engine.Loc, name string) *vault {
	r := w.known(l)
	if r == nil {
		return nil
	}
	return r.vault(name)
}

// vault is World.vault for a Region in hand (the hot API calls have it
// from call), sparing a lookup by Loc.
func (r *region) vault(name string) *vault {
	if v := r.vaults[name]; v != nil && !v.removed {
		return v
	}
	return nil
}

func (w *World) vaultByArn(arn string) *vault {
	l, name, ok := parseVaultArn(arn)
	if !ok {
		return nil
	}
	return w.vault(l, name)
}

func (v *vault) info() engine.Vault {
	return engine.Vault{
		Name:             v.name,
		Arn:              v.arn,
		Type:             v.typ,
		Locked:           v.locked,
		MinRetentionDays: cloneInt(v.min),
		MaxRetentionDays: cloneInt(v.max),
		Tags:             copyTags(v.tags),
	}
}

// denies reports whether the vault's access policy denies action to the
// principal.
func (v *vault) denies(action, principal string) bool {
	return v.policy != nil && v.policy.denies(action, principal)
}

// retentionOutside reports whether a point kept deleteAfterDays days (<= 0:
// forever) breaks the vault lock's retention bounds.
func (v *vault) retentionOutside(deleteAfterDays int64) bool {
	if v.min != nil && (deleteAfterDays > 0 && deleteAfterDays < *v.min) {
		return true
	}
	if v.max != nil && (deleteAfterDays <= 0 || deleteAfterDays > *v.max) {
		return true
	}
	return false
}

func cloneInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
