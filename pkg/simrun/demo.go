package simrun

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/policy"
	"github.com/efskeeper/efskeeper/pkg/sim"
)

// Demo accounts and Regions.
const (
	DemoMgmt   = "111111111111" // Account mode's account; also in the org root
	DemoMember = "222222222222" // in ou-ab12-cdef3456
	DemoOther  = "333333333333" // named explicitly by the org policy
	DemoOU     = "ou-ab12-cdef3456"
)

// DemoRegions are the Regions that hold file systems.
var DemoRegions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}

// LoadPolicies parses every *.json policy in dir of fsys, sorted by name.
func LoadPolicies(fsys fs.FS, dir string) ([]*policy.Policy, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*policy.Policy
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		p, probs := policy.Parse(b)
		if len(probs) > 0 {
			return nil, fmt.Errorf("%s: %w", n, probs)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policies in %s", dir)
	}
	return out, nil
}

const (
	roleTag = "efskeeper:role"
	// A vault access policy that denies something efskeeper never does:
	// checked, and accepted.
	harmlessDeny = `{"Version":"2012-10-17","Statement":[{"Sid":"NoPolicyChanges","Effect":"Deny","Principal":"*","Action":["backup:PutBackupVaultAccessPolicy","backup:DeleteBackupVault"],"Resource":"*"}]}`
)

// DemoWorld builds the demo organization: 3 accounts × 3 Regions with 20
// file systems, and vault layouts that exercise both policy modes: EFS not
// opted in in two Regions (efskeeper opts in), a tag that matches two vaults
// (fixed by the admin on day 10 of the script), a logically air-gapped
// vault (replaced on day 20), a vault whose access policy has a harmless
// Deny, a locked vault nobody should pick, a vault where deletions only
// expire points, and EFS automatic backups that collide with ours.
func DemoWorld(w *sim.World) {
	w.AddOU(DemoOU, sim.RootID)
	w.AddOU("ou-ab12-zzzz9999", sim.RootID)
	w.AddAccount(DemoMgmt, sim.RootID)
	w.AddAccount(DemoMember, DemoOU)
	w.AddAccount(DemoOther, "ou-ab12-zzzz9999")

	loc := func(a, r string) engine.Loc { return engine.Loc{Account: a, Region: r} }
	// Each (account, Region) has a VPC where an index worker can reach its
	// file systems and S3 (public subnets, an internet gateway, egress 2049
	// and 443); the file systems have mount targets in it.
	nets := map[engine.Loc]sim.WorkerNetwork{}
	netOf := func(l engine.Loc) sim.WorkerNetwork {
		if n, ok := nets[l]; ok {
			return n
		}
		n := w.AddWorkerNetwork(l, len(nets)+1, l.Region+"a", l.Region+"b")
		nets[l] = n
		return n
	}
	n := 0
	addFS := func(l engine.Loc, id string, tags map[string]string, gib int64, auto bool) {
		n++
		w.AddFileSystem(l, sim.FileSystemSpec{
			ID: id, Name: fmt.Sprintf("demo-%02d", n), Tags: tags, SizeBytes: gib << 30, AutomaticBackups: auto,
			MountTargets: netOf(l).MountTargets(id),
		})
	}
	defer func() {
		// 111111111111/us-east-1: the internet gateway is detached, so
		// index workers there fail their preflight until the script
		// attaches it again.
		l := loc(DemoMgmt, "us-east-1")
		w.AddInternetGateway(l, sim.InternetGateway{ID: nets[l].InternetGateway})
	}()
	gold := map[string]string{"backup": "gold"}
	org := map[string]string{"backup": "org"}

	// Account mode: 111111111111.
	addFS(loc(DemoMgmt, "eu-west-1"), "fs-0123456789abcdef0", map[string]string{"team": "web"}, 40, false) // named by id
	addFS(loc(DemoMgmt, "eu-west-1"), "fs-0a1b2c3d4e5f60001", gold, 120, false)
	addFS(loc(DemoMgmt, "eu-west-1"), "fs-0a1b2c3d4e5f60002", gold, 8, true) // automatic backups too
	addFS(loc(DemoMgmt, "us-east-1"), "fs-0a1b2c3d4e5f60003", gold, 60, false)
	addFS(loc(DemoMgmt, "us-east-1"), "fs-0a1b2c3d4e5f60004", gold, 2, false)
	addFS(loc(DemoMgmt, "us-east-1"), "fs-0a1b2c3d4e5f60005", map[string]string{"backup": "none"}, 5, false) // not selected
	w.AddVault(loc(DemoMgmt, "eu-west-1"), sim.VaultSpec{Name: "prod-vault", AccessPolicy: harmlessDeny})
	w.AddVault(loc(DemoMgmt, "us-east-1"), sim.VaultSpec{Name: "Default"})
	w.AddVault(loc(DemoMgmt, "eu-central-1"), sim.VaultSpec{Name: "dr-vault"})
	w.AddVault(loc(DemoMgmt, "us-west-2"), sim.VaultSpec{Name: "dr-vault"})
	min := int64(30)
	w.AddVault(loc(DemoMgmt, "us-west-2"), sim.VaultSpec{Name: "compliance-locked", Locked: true, MinRetentionDays: &min})
	w.SetEFSOptIn(loc(DemoMgmt, "us-east-1"), false)

	// Organization mode: 222222222222 (via the OU) and 333333333333.
	for _, a := range []string{DemoMember, DemoOther} {
		for i, r := range DemoRegions {
			addFS(loc(a, r), fmt.Sprintf("fs-0%s%02d%010d", a[:3], i, 1), org, int64(10+10*i), false)
			addFS(loc(a, r), fmt.Sprintf("fs-0%s%02d%010d", a[:3], i, 2), org, int64(1+i), a == DemoOther && r == "us-east-1")
		}
		w.AddVault(loc(a, "eu-central-1"), sim.VaultSpec{Name: "dr", Tags: map[string]string{roleTag: "dr"}})
		w.AddVault(loc(a, "us-west-2"), sim.VaultSpec{Name: "dr", Tags: map[string]string{roleTag: "dr"}})
	}
	addFS(loc(DemoOther, "eu-west-1"), "fs-0333990000000009", map[string]string{"backup": "skip"}, 1, false) // not selected
	// 222222222222: primary vaults; us-east-1 has a second vault with the
	// same tag (ambiguous until the script fixes it); EFS opt-in off in
	// ap-southeast-2.
	for _, r := range DemoRegions {
		w.AddVault(loc(DemoMember, r), sim.VaultSpec{Name: "primary", Tags: map[string]string{roleTag: "primary"}})
	}
	w.AddVault(loc(DemoMember, "us-east-1"), sim.VaultSpec{Name: "legacy", Tags: map[string]string{roleTag: "primary"}})
	w.SetEFSOptIn(loc(DemoMember, "ap-southeast-2"), false)
	// 333333333333: in us-east-1 the only vault tagged primary is logically
	// air-gapped (refused until the script tags a standard one); in
	// eu-west-1 AWS lacks permission to delete, so retention finds points
	// EXPIRED instead of deleted.
	w.AddVault(loc(DemoOther, "eu-west-1"), sim.VaultSpec{Name: "primary", Tags: map[string]string{roleTag: "primary"}, DeleteWithoutPermission: true})
	w.AddVault(loc(DemoOther, "us-east-1"), sim.VaultSpec{Name: "airgapped", Type: engine.VaultTypeAirGapped, Tags: map[string]string{roleTag: "primary"}})
	w.AddVault(loc(DemoOther, "ap-southeast-2"), sim.VaultSpec{Name: "primary", Tags: map[string]string{roleTag: "primary"}})
}

// DemoScript is what the demo's admin fixes along the way.
func DemoScript() []Action {
	day := func(d int) time.Duration { return time.Duration(d) * 24 * time.Hour }
	return []Action{
		{At: day(10), Note: "admin removes the efskeeper:role tag from vault legacy in 222222222222/us-east-1", Do: func(w *sim.World) {
			l := engine.Loc{Account: DemoMember, Region: "us-east-1"}
			w.RemoveVault(l, "legacy") // it never received a backup: it was ambiguous
			w.AddVault(l, sim.VaultSpec{Name: "legacy"})
		}},
		{At: day(15), Note: "admin attaches the internet gateway of the index workers' VPC in 111111111111/us-east-1", Do: func(w *sim.World) {
			l := engine.Loc{Account: DemoMgmt, Region: "us-east-1"}
			n := w.Network(l)
			for _, g := range n.InternetGateways {
				w.AddInternetGateway(l, sim.InternetGateway{ID: g.ID, AttachedVpcID: n.VPCs[0].ID})
			}
		}},
		{At: day(20), Note: "admin creates a standard vault tagged primary in 333333333333/us-east-1 and untags the air-gapped one", Do: func(w *sim.World) {
			l := engine.Loc{Account: DemoOther, Region: "us-east-1"}
			w.AddVault(l, sim.VaultSpec{Name: "primary", Tags: map[string]string{roleTag: "primary"}})
			w.RemoveVault(l, "airgapped")
			w.AddVault(l, sim.VaultSpec{Name: "airgapped", Type: engine.VaultTypeAirGapped})
		}},
	}
}
