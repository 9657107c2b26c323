package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

func TestOrganization(t *testing.T) {
	w := New(Config{})
	w.AddOU("ou-prod", "")
	w.AddOU("ou-prod-eu", "ou-prod")
	w.AddOU("ou-dev", RootID)
	w.AddAccount("100000000001", "")
	w.AddAccount("100000000002", "ou-prod")
	w.AddAccount("100000000003", "ou-prod-eu")
	w.AddAccount("100000000004", "ou-dev")
	w.AddAccount("100000000005", "ou-prod-eu")
	w.SetAccountStatus("100000000005", "SUSPENDED")
	org := w.Organization()
	tests := []struct {
		parents []string
		want    string
	}{
		{[]string{RootID}, "100000000001,100000000002,100000000003,100000000004"},
		{[]string{"ou-prod"}, "100000000002,100000000003"},
		{[]string{"ou-prod-eu", "ou-prod"}, "100000000002,100000000003"},
		{[]string{"ou-dev"}, "100000000004"},
		{nil, ""},
	}
	for _, tc := range tests {
		got, err := org.AccountsIn(ctx, tc.parents)
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("AccountsIn(%v) = %v, %v; want %s", tc.parents, got, err, tc.want)
		}
	}
	if _, err := org.AccountsIn(ctx, []string{"ou-nope"}); !engine.IsNotFound(err) || awsCode(err) != ErrParentNotFound {
		t.Errorf("unknown OU: %v", err)
	}
	// Suspended accounts cannot be worked in.
	if _, err := w.Backup().ListVaults(ctx, engine.Loc{Account: "100000000005", Region: "eu-west-1"}); engine.ErrorCode(err) != engine.EDENIED {
		t.Errorf("suspended account: %v", err)
	}
}

func TestBuilderPanicsOnUnknownParent(t *testing.T) {
	w := New(Config{})
	for name, f := range map[string]func(){
		"OU":      func() { w.AddOU("ou-x", "ou-missing") },
		"account": func() { w.AddAccount("1", "ou-missing") },
		"vault":   func() { w.RemoveVault(locA, "missing") },
		"policy":  func() { w.AddVault(locA, VaultSpec{Name: "v", AccessPolicy: "{not json"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestListFileSystemsAndVaults(t *testing.T) {
	w := testWorld(t, Faults{}, gib)
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-00000000000000001", Tags: map[string]string{"backup": "gold"}})
	w.AddFileSystem(locA, FileSystemSpec{ID: "fs-00000000000000009", LifeCycle: "creating"})
	w.DeleteFileSystem(locA, "fs-00000000000000009")
	fss, err := w.FileSystems().ListFileSystems(ctx, locA)
	if err != nil {
		t.Fatal(err)
	}
	if len(fss) != 2 || fss[0].ID != "fs-00000000000000001" || fss[1].ID != fsID {
		t.Fatalf("file systems %+v", fss)
	}
	fs := fss[1]
	if fs.Name != "app-data" || fs.Arn != fsArnA || fs.LifeCycle != "available" || len(fs.MountTargets) != 1 ||
		fs.MountTargets[0].AvailabilityZone != "eu-west-1a" || fs.SizeBytes != gib {
		t.Fatalf("file system %+v", fs)
	}
	fs.Tags["Name"] = "changed by the caller"
	fs.MountTargets[0].SecurityGroups[0] = "sg-changed"
	again, _ := w.FileSystems().ListFileSystems(ctx, locA)
	if again[1].Tags["Name"] != "app-data" || again[1].MountTargets[0].SecurityGroups[0] != "sg-1" {
		t.Fatal("callers can change the world through listed values")
	}
	seven := int64(7)
	w.AddVault(locA, VaultSpec{Name: "locked", Locked: true, MinRetentionDays: &seven, Type: engine.VaultTypeAirGapped, Tags: map[string]string{"k": "v"}})
	v, err := w.Backup().DescribeVault(ctx, locA, "locked")
	if err != nil || !v.Locked || *v.MinRetentionDays != 7 || v.Type != engine.VaultTypeAirGapped || v.Tags["k"] != "v" ||
		v.Arn != "arn:aws:backup:eu-west-1:111122223333:backup-vault:locked" {
		t.Fatalf("DescribeVault %+v %v", v, err)
	}
	if _, err := w.Backup().DescribeVault(ctx, locA, "nope"); !engine.IsNotFound(err) {
		t.Fatalf("missing vault: %v", err)
	}
	if p, err := w.Backup().VaultAccessPolicy(ctx, locA, "primary"); p != "" || err != nil {
		t.Fatalf("no policy: %q %v", p, err)
	}
	w.RemoveVault(locA, "locked")
	vs, _ := w.Backup().ListVaults(ctx, locA)
	if len(vs) != 1 || vs[0].Name != "primary" {
		t.Fatalf("vaults %+v", vs)
	}
	c := w.Calls()
	if c["DescribeFileSystems"] != 2 || c["DescribeMountTargets"] != 4 || c["ListBackupVaults"] != 1 {
		t.Fatalf("calls %v", c)
	}
}

func TestRestore(t *testing.T) {
	w := testWorld(t, Faults{}, 10*gib)
	sj := mustStart(t, w, backupReq("tok"))
	w.Advance(4 * time.Hour)
	w.DeliverEvents()
	b := w.Backup()
	newFS, err := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: sj.RecoveryPointArn, Token: "r1",
		Metadata: map[string]string{"newFileSystem": "true", "file-system-id": fsID, "CreationToken": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	items, err := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: sj.RecoveryPointArn, Token: "r2",
		Metadata: map[string]string{"newFileSystem": "false", "file-system-id": fsID, "ItemsToRestore": `["/home/alice","/projects/q2/report.pdf"]`}})
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: sj.RecoveryPointArn, Token: "r2",
		Metadata: map[string]string{"newFileSystem": "false", "file-system-id": fsID, "ItemsToRestore": `["/home/alice","/projects/q2/report.pdf"]`}}); again != items {
		t.Fatalf("a retried restore made job %s, first %s", again, items)
	}
	if err := b.DeleteRecoveryPoint(ctx, locA, "primary", sj.RecoveryPointArn); awsCode(err) != ErrInvalidResourceState {
		t.Fatalf("deleting a point being restored: %v", err)
	}
	var states []string
	for _, raw := range run(w, 2*time.Hour) {
		if e := decode(t, raw); e.jobID() == items {
			states = append(states, e.state())
		}
	}
	if got := strings.Join(states, ","); got != "CREATED,PENDING,RUNNING,COMPLETED" {
		t.Fatalf("restore states %s", got)
	}
	rj, err := b.DescribeRestoreJob(ctx, locA, items)
	if err != nil || rj.State != engine.JobCompleted || rj.CreatedResourceArn != fsArnA || !slices.Equal(rj.Items, []string{"/home/alice", "/projects/q2/report.pdf"}) {
		t.Fatalf("item restore %+v %v", rj, err)
	}
	rj, err = b.DescribeRestoreJob(ctx, locA, newFS)
	if err != nil || rj.State != engine.JobCompleted || !strings.HasPrefix(rj.CreatedResourceArn, "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-") || rj.CreatedResourceArn == fsArnA {
		t.Fatalf("new-fs restore %+v %v", rj, err)
	}
	if fss, _ := w.FileSystems().ListFileSystems(ctx, locA); len(fss) != 2 {
		t.Fatalf("the restored file system is not listed: %+v", fss)
	}
	for _, md := range []map[string]string{
		{"newFileSystem": "maybe"},
		{"newFileSystem": "false"},
		{"newFileSystem": "true", "ItemsToRestore": "/not/json"},
		{"newFileSystem": "true", "ItemsToRestore": `["relative"]`},
		{"newFileSystem": "true", "ItemsToRestore": `["/wild/*"]`},
		{"newFileSystem": "true", "ItemsToRestore": strings.Repeat("x", 201<<10)},
	} {
		if _, err := b.StartRestore(ctx, RestoreRequest{Loc: locA, RecoveryPointArn: sj.RecoveryPointArn, Metadata: md}); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("metadata %.60v accepted: %v", md, err)
		}
	}
}

func TestNetworkModel(t *testing.T) {
	w := New(Config{})
	w.AddVPC(locA, VPC{ID: "vpc-1", CIDR: "10.0.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true})
	w.AddSubnet(locA, Subnet{ID: "subnet-b", VpcID: "vpc-1", AvailabilityZone: "eu-west-1b"})
	w.AddSubnet(locA, Subnet{ID: "subnet-a", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", MapPublicIPOnLaunch: true})
	w.AddRouteTable(locA, RouteTable{ID: "rtb-1", VpcID: "vpc-1", Main: true, Routes: []Route{{"10.0.0.0/16", "local"}, {"0.0.0.0/0", "igw-1"}}})
	w.AddInternetGateway(locA, InternetGateway{ID: "igw-1", AttachedVpcID: "vpc-1"})
	w.AddVPCEndpoint(locA, VPCEndpoint{ID: "vpce-1", VpcID: "vpc-1", ServiceName: "com.amazonaws.eu-west-1.s3", Type: "Gateway", RouteTableIDs: []string{"rtb-1"}})
	w.AddSecurityGroup(locA, SecurityGroup{ID: "sg-1", VpcID: "vpc-1", Egress: []SecurityGroupRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}})
	n := w.Network(locA)
	if len(n.VPCs) != 1 || len(n.Subnets) != 2 || n.Subnets[0].ID != "subnet-a" || len(n.RouteTables) != 1 ||
		n.RouteTables[0].Routes[1].Target != "igw-1" || n.InternetGateways[0].AttachedVpcID != "vpc-1" ||
		n.Endpoints[0].Type != "Gateway" || n.SecurityGroups[0].Egress[0].CIDRs[0] != "0.0.0.0/0" {
		t.Fatalf("network %+v", n)
	}
	n.SecurityGroups[0].Egress[0].CIDRs[0] = "changed"
	if w.Network(locA).SecurityGroups[0].Egress[0].CIDRs[0] != "0.0.0.0/0" {
		t.Fatal("Network returns shared slices")
	}
	if empty := w.Network(locDR); len(empty.VPCs) != 0 {
		t.Fatal("another Region has VPCs")
	}
}

func TestClock(t *testing.T) {
	w := New(Config{Start: t0})
	var c engine.Clock = w
	if !c.Now().Equal(t0) {
		t.Fatalf("Now %v", c.Now())
	}
	w.Advance(90 * time.Second)
	w.AdvanceTo(t0) // never backwards
	if got := w.Now().Sub(t0); got != 90*time.Second {
		t.Fatalf("clock moved %v", got)
	}
	if New(Config{}).Now().IsZero() {
		t.Fatal("default start is zero")
	}
}

// TestConcurrentCallers drives four Regions from four goroutines while the
// clock advances; run with -race it checks the locking, and it checks that
// job ids do not depend on how the goroutines interleave.
func TestConcurrentCallers(t *testing.T) {
	regions := []string{"eu-west-1", "eu-west-2", "us-east-1", "us-east-2"}
	runOnce := func() []string {
		w := New(Config{Seed: 5, Start: t0, Faults: Faults{Throttle: 0.2, EventBatch: 5 * time.Minute}})
		for _, r := range regions {
			l := engine.Loc{Account: locA.Account, Region: r}
			w.AddVault(l, VaultSpec{Name: "primary"})
			w.AddFileSystem(l, FileSystemSpec{ID: fsID, SizeBytes: gib})
		}
		done := make(chan []string)
		for _, r := range regions {
			go func() {
				l := engine.Loc{Account: locA.Account, Region: r}
				var ids []string
				for i := range 20 {
					req := backupReq(fmt.Sprintf("tok-%d", i))
					req.Loc, req.ResourceArn = l, fileSystemArn(l, fsID)
					var sj engine.StartedJob
					retry(func() (err error) { sj, err = w.Backup().StartBackup(ctx, req); return err })
					ids = append(ids, sj.JobID)
					retry(func() error { _, err := w.Backup().DescribeBackupJob(ctx, l, sj.JobID); return err })
				}
				done <- ids
			}()
		}
		var all []string
		for range regions {
			w.Advance(time.Minute)
			w.DeliverEvents()
			all = append(all, <-done...)
		}
		slices.Sort(all)
		return all
	}
	a, b := runOnce(), runOnce()
	if len(a) != 80 || !slices.Equal(a, b) {
		t.Fatalf("job ids differ between runs: %d vs %d", len(a), len(b))
	}
}
