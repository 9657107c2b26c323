package sim

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/efskeeper/efskeeper/pkg/engine"
	"github.com/efskeeper/efskeeper/pkg/index/walk"
	"github.com/efskeeper/efskeeper/pkg/worker"
)

// ixWorld is a world with one file system whose mount target sits in a
// public subnet of a VPC, and a detached internet gateway nobody uses.
func ixWorld(t *testing.T) *World {
	t.Helper()
	w := New(Config{Seed: 3, Start: t0})
	w.AddAccount(locA.Account, "")
	w.AddVPC(locA, VPC{ID: "vpc-1", CIDR: "10.0.0.0/16", EnableDNSSupport: true})
	w.AddVPC(locA, VPC{ID: "vpc-2", CIDR: "10.1.0.0/16"})
	w.AddSubnet(locA, Subnet{ID: "subnet-a", VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", CIDR: "10.0.1.0/24", MapPublicIPOnLaunch: true})
	w.AddSubnet(locA, Subnet{ID: "subnet-other", VpcID: "vpc-2", AvailabilityZone: "eu-west-1a", CIDR: "10.1.1.0/24"})
	w.AddRouteTable(locA, RouteTable{ID: "rtb-1", VpcID: "vpc-1", Main: true, Routes: []Route{{Destination: "0.0.0.0/0", Target: "igw-1"}}})
	w.AddRouteTable(locA, RouteTable{ID: "rtb-2", VpcID: "vpc-2", Main: true, Routes: []Route{{Destination: "0.0.0.0/0", Target: "igw-gone"}}})
	w.AddInternetGateway(locA, InternetGateway{ID: "igw-1", AttachedVpcID: "vpc-1"})
	w.AddInternetGateway(locA, InternetGateway{ID: "igw-gone"})
	w.AddVPCEndpoint(locA, VPCEndpoint{ID: "vpce-s3", VpcID: "vpc-1", ServiceName: "com.amazonaws.eu-west-1.s3", Type: "Gateway", RouteTableIDs: []string{"rtb-1"}})
	w.AddSecurityGroup(locA, SecurityGroup{ID: "sg-1", VpcID: "vpc-1", Egress: []SecurityGroupRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}})
	w.AddSecurityGroup(locA, SecurityGroup{ID: "sg-2", VpcID: "vpc-2"})
	w.AddFileSystem(locA, FileSystemSpec{ID: fsID, SizeBytes: gib, MountTargets: []engine.MountTarget{{ID: "fsmt-1", SubnetID: "subnet-a",
		VpcID: "vpc-1", AvailabilityZone: "eu-west-1a", IPAddress: "10.0.1.10", SecurityGroups: []string{"sg-1"}}}})
	return w
}

func TestNetworkAPIMountTargets(t *testing.T) {
	w := ixWorld(t)
	n := w.NetworkAPI()
	mts, err := n.MountTargets(ctx, locA, fsID)
	if err != nil || len(mts) != 1 || mts[0].IPAddress != "10.0.1.10" || !reflect.DeepEqual(mts[0].SecurityGroups, []string{"sg-1"}) {
		t.Fatalf("MountTargets = %+v, %v", mts, err)
	}
	mts[0].SecurityGroups[0] = "changed"
	again, _ := n.MountTargets(ctx, locA, fsID)
	if again[0].SecurityGroups[0] != "sg-1" {
		t.Error("the caller's copy shares the world's state")
	}
	if _, err := n.MountTargets(ctx, locA, "fs-00000000000000009"); !engine.IsNotFound(err) {
		t.Errorf("unknown file system: %v", err)
	}
	w.DeleteFileSystem(locA, fsID)
	if _, err := n.MountTargets(ctx, locA, fsID); !engine.IsNotFound(err) {
		t.Errorf("deleted file system: %v", err)
	}
}

func TestNetworkAPIDescribeNetwork(t *testing.T) {
	w := ixWorld(t)
	v, err := w.NetworkAPI().DescribeNetwork(ctx, locA, engine.NetworkQuery{SubnetIDs: []string{"subnet-other"}, SecurityGroupIDs: []string{"sg-1", "sg-none"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.VPCs) != 1 || v.VPCs[0].ID != "vpc-2" || v.VPCs[0].DNSSupport {
		t.Errorf("VPCs %+v: want vpc-2 (the subnet's), DNS off", v.VPCs)
	}
	if len(v.Subnets) != 1 || len(v.RouteTables) != 1 || len(v.Endpoints) != 0 {
		t.Errorf("vpc-2's subnets %v, tables %v, endpoints %v", v.Subnets, v.RouteTables, v.Endpoints)
	}
	if !reflect.DeepEqual(v.InternetGateways, []engine.InternetGateway{{ID: "igw-gone"}}) {
		t.Errorf("gateways %+v: want the route's detached gateway, without attachment", v.InternetGateways)
	}
	if len(v.SecurityGroups) != 1 || v.SecurityGroups[0].ID != "sg-1" || v.SecurityGroups[0].Egress[0].CIDRs[0] != "0.0.0.0/0" {
		t.Errorf("groups %+v: want sg-1 only (sg-none does not exist)", v.SecurityGroups)
	}

	// The world's own network passes the engine's preflight.
	mts, _ := w.NetworkAPI().MountTargets(ctx, locA, fsID)
	v, err = w.NetworkAPI().DescribeNetwork(ctx, locA, engine.PreflightQuery(mts, nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Preflight(engine.PreflightInput{Loc: locA, FileSystem: fsID, MountTargets: mts, Network: v, BucketRegion: locA.Region})
	if err != nil || p.SubnetID != "subnet-a" {
		t.Errorf("preflight on the world: %+v, %v", p, err)
	}
	if w.Calls()["DescribeSecurityGroups"] != 2 || w.Calls()["RunInstances"] != 0 {
		t.Errorf("calls %v", w.Calls())
	}
}

func ixLaunch(subnet string, groups ...string) engine.WorkerLaunch {
	run := engine.IndexRunID("task-1")
	return engine.WorkerLaunch{Loc: locA, RunID: run, FileSystem: fsID, SubnetID: subnet, SecurityGroupIDs: groups,
		Job: engine.WorkerJob{RunID: run, Account: locA.Account, Region: locA.Region, FileSystem: fsID, MountTargetIP: "10.0.1.10",
			Bucket: "index-bucket", BucketRegion: locA.Region, IndexKey: engine.IndexKey(locA, fsID, "arn:aws:backup:x:y:recovery-point:rp1"),
			ResultKey: engine.ResultKey(run), RecoveryPointArn: "arn:aws:backup:x:y:recovery-point:rp1", BackupCreatedAt: t0, MaxLifetimeSeconds: 3600}}
}

func TestInstancesLaunchAndRunWorkers(t *testing.T) {
	w := ixWorld(t)
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "docs", "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := worker.NewMemoryBucket()
	in := w.NewInstances(InstancesConfig{Mounter: worker.Trees{fsID: tree}, Objects: objs, Walk: walk.Options{Workers: 2}})

	l := ixLaunch("subnet-a", "sg-1")
	id, err := in.RunWorker(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	again, err := in.RunWorker(ctx, l)
	if err != nil || again != id {
		t.Errorf("repeat with the same client token: %q, %v; want %q", again, err, id)
	}
	changed := ixLaunch("subnet-a", "sg-1")
	changed.InstanceType = "c7g.large"
	if _, err := in.RunWorker(ctx, changed); !engine.IsConflict(err) {
		t.Errorf("same token, other parameters: %v, want ECONFLICT (IdempotentParameterMismatch)", err)
	}
	if _, err := in.RunWorker(ctx, ixLaunch("subnet-none", "sg-1")); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("unknown subnet: %v", err)
	}
	if _, err := in.RunWorker(ctx, ixLaunch("subnet-a", "sg-2")); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("group of another VPC: %v", err)
	}
	list := in.List()
	if len(list) != 1 || list[0].State != "pending" || list[0].ID != id || !list[0].LaunchedAt.Equal(t0) {
		t.Fatalf("instances %+v", list)
	}

	results := in.RunPending(ctx)
	if len(results) != 1 || results[0].Error != "" || results[0].Entries != 2 || results[0].InstanceID != id {
		t.Fatalf("results %+v", results)
	}
	if !results[0].StartedAt.Equal(t0) {
		t.Errorf("the worker's clock is the world's: started %s", results[0].StartedAt)
	}
	list = in.List()
	if list[0].State != "terminated" || !list[0].ShutDown || list[0].Result == nil {
		t.Errorf("after the run: %+v", list[0])
	}
	if _, ok := objs.Get(l.Job.ResultKey); !ok {
		t.Error("no result object")
	}
	if len(in.RunPending(ctx)) != 0 {
		t.Error("a terminated instance ran again")
	}
}

func TestAddWorkerNetworkPassesThePreflight(t *testing.T) {
	w := New(Config{Seed: 1, Start: t0})
	net := w.AddWorkerNetwork(locA, 7, "eu-west-1a", "eu-west-1b")
	w.AddFileSystem(locA, FileSystemSpec{ID: fsID, SizeBytes: gib, MountTargets: net.MountTargets(fsID)})
	mts, err := w.NetworkAPI().MountTargets(ctx, locA, fsID)
	if err != nil || len(mts) != 2 || mts[1].IPAddress != "10.7.2.10" || mts[1].AvailabilityZone != "eu-west-1b" {
		t.Fatalf("mount targets %+v, %v", mts, err)
	}
	v, err := w.NetworkAPI().DescribeNetwork(ctx, locA, engine.PreflightQuery(mts, nil))
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Preflight(engine.PreflightInput{Loc: locA, FileSystem: fsID, MountTargets: mts, Network: v, BucketRegion: locA.Region})
	if err != nil || p.SubnetID != net.SubnetIDs[0] || p.PrivateNetwork {
		t.Fatalf("preflight: %+v, %v", p, err)
	}
	cfg, err := engine.ParseWorkerConfig([]byte(`{"region":"eu-west-1","subnetId":"` + net.SubnetIDs[1] + `","securityGroupIds":["` + net.SecurityGroupID + `"]}`))
	if err != nil {
		t.Fatalf("the network's ids are not valid in a worker configuration: %v", err)
	}
	// Detaching the gateway breaks the public path, and the preflight says so.
	w.AddInternetGateway(locA, InternetGateway{ID: net.InternetGateway})
	v, _ = w.NetworkAPI().DescribeNetwork(ctx, locA, engine.PreflightQuery(mts, cfg))
	_, err = engine.Preflight(engine.PreflightInput{Loc: locA, FileSystem: fsID, MountTargets: mts, Network: v, Config: cfg, BucketRegion: locA.Region})
	if err == nil || !strings.Contains(err.Error(), "goes to "+net.InternetGateway+", which is not attached") {
		t.Errorf("preflight after detaching: %v", err)
	}
}
