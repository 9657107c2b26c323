package engine

import (
	"slices"
	"strings"
	"testing"
)

// The launch preflight, one case per rule: each case starts from a network
// in which a worker can run next to the mount target, breaks one thing,
// and checks the verdict and that the message names the missing piece.

var ixLoc = Loc{Account: "111122223333", Region: "eu-west-1"}

const (
	ixVPC    = "vpc-0000000000000000a"
	ixSubMT  = "subnet-0000000000000000a" // the mount target's subnet, eu-west-1a
	ixSubA2  = "subnet-0000000000000000c" // another subnet in eu-west-1a
	ixSubB   = "subnet-0000000000000000b" // eu-west-1b
	ixSGMT   = "sg-0000000000000000a"     // the mount target's group
	ixSGWork = "sg-0000000000000000b"     // a worker group of a configuration
	ixFS     = "fs-0123456789abcdef0"
)

func ixMountTarget() MountTarget {
	return MountTarget{ID: "fsmt-0000000000000000a", SubnetID: ixSubMT, VpcID: ixVPC, AvailabilityZone: "eu-west-1a",
		IPAddress: "10.0.1.10", SecurityGroups: []string{ixSGMT}}
}

// ixNetwork is a VPC whose main route table sends 0.0.0.0/0 to an attached
// internet gateway, with public subnets and a group that allows all
// outbound traffic.
func ixNetwork() NetworkView {
	return NetworkView{
		VPCs: []VPC{{ID: ixVPC, CIDR: "10.0.0.0/16", DNSSupport: true, DNSHostnames: true}},
		Subnets: []Subnet{
			{ID: ixSubMT, VpcID: ixVPC, AvailabilityZone: "eu-west-1a", CIDR: "10.0.1.0/24", MapPublicIPOnLaunch: true},
			{ID: ixSubA2, VpcID: ixVPC, AvailabilityZone: "eu-west-1a", CIDR: "10.0.3.0/24", MapPublicIPOnLaunch: true},
			{ID: ixSubB, VpcID: ixVPC, AvailabilityZone: "eu-west-1b", CIDR: "10.0.2.0/24", MapPublicIPOnLaunch: true},
		},
		RouteTables: []RouteTable{{ID: "rtb-main", VpcID: ixVPC, Main: true, Routes: []Route{
			{Destination: "10.0.0.0/16", Target: "local"}, {Destination: "0.0.0.0/0", Target: "igw-1"}}}},
		InternetGateways: []InternetGateway{{ID: "igw-1", AttachedVpcIDs: []string{ixVPC}}},
		SecurityGroups: []SecurityGroup{
			{ID: ixSGMT, VpcID: ixVPC, Egress: []SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []string{"0.0.0.0/0"}}}},
			{ID: ixSGWork, VpcID: ixVPC, Egress: []SecurityGroupRule{
				{Protocol: "tcp", FromPort: 2049, ToPort: 2049, GroupIDs: []string{ixSGMT}},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-6da54004"}}}},
		},
	}
}

// ixPrivate turns the mount target's subnet private: no public address, an
// explicit route table without a default route, and an S3 gateway endpoint
// on that table.
func ixPrivate(n *NetworkView) {
	ixSubnet(n, ixSubMT).MapPublicIPOnLaunch = false
	n.RouteTables = append(n.RouteTables, RouteTable{ID: "rtb-private", VpcID: ixVPC, SubnetIDs: []string{ixSubMT},
		Routes: []Route{{Destination: "10.0.0.0/16", Target: "local"}, {Destination: "pl-6da54004", Target: "vpce-s3"}}})
	n.Endpoints = append(n.Endpoints, VPCEndpoint{ID: "vpce-s3", VpcID: ixVPC, ServiceName: "com.amazonaws.eu-west-1.s3",
		Type: "Gateway", State: "available", RouteTableIDs: []string{"rtb-private"}})
}

func ixInterfaceEndpoints(n *NetworkView, services ...string) {
	for _, s := range services {
		n.Endpoints = append(n.Endpoints, VPCEndpoint{ID: "vpce-" + s, VpcID: ixVPC, ServiceName: "com.amazonaws.eu-west-1." + s,
			Type: "Interface", State: "Available", PrivateDNS: true, SubnetIDs: []string{ixSubMT}})
	}
}

// ixFind returns the element of list whose id is want; tests only ask
// for elements their fixture has.
func ixFind[T any](list []T, id func(*T) string, want string) *T {
	for i := range list {
		if id(&list[i]) == want {
			return &list[i]
		}
	}
	panic(want)
}

func ixSubnet(n *NetworkView, id string) *Subnet {
	return ixFind(n.Subnets, func(s *Subnet) string { return s.ID }, id)
}

func ixGroup(n *NetworkView, id string) *SecurityGroup {
	return ixFind(n.SecurityGroups, func(g *SecurityGroup) string { return g.ID }, id)
}

func ixTable(n *NetworkView, id string) *RouteTable {
	return ixFind(n.RouteTables, func(t *RouteTable) string { return t.ID }, id)
}

func ixEndpoint(n *NetworkView, id string) *VPCEndpoint {
	return ixFind(n.Endpoints, func(e *VPCEndpoint) string { return e.ID }, id)
}

func TestPreflight(t *testing.T) {
	privateCfg := &WorkerConfig{Region: "eu-west-1", PrivateNetwork: true}
	publicCfg := &WorkerConfig{Region: "eu-west-1"}
	tests := []struct {
		name      string
		change    func(in *PreflightInput)
		wantErr   []string // substrings of the error; nil: must pass
		wantPlace func(t *testing.T, p Placement)
	}{
		{name: "public path passes", wantPlace: func(t *testing.T, p Placement) {
			if p.SubnetID != ixSubMT || p.PrivateNetwork || !slices.Equal(p.SecurityGroupIDs, []string{ixSGMT}) || p.MountTarget.IPAddress != "10.0.1.10" {
				t.Errorf("placement %+v; want the mount target's subnet and groups, public", p)
			}
		}},
		{name: "security groups allow no outbound 2049", change: func(in *PreflightInput) {
			ixGroup(&in.Network, ixSGMT).Egress = []SecurityGroupRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
		}, wantErr: []string{"allow no outbound TCP 2049 (NFS) to the mount target fsmt-0000000000000000a (10.0.1.10)"}},
		{name: "outbound 2049 to a range without the mount target", change: func(in *PreflightInput) {
			ixGroup(&in.Network, ixSGMT).Egress = []SecurityGroupRule{
				{Protocol: "tcp", FromPort: 2049, ToPort: 2049, CIDRs: []string{"10.0.2.0/24"}},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
		}, wantErr: []string{"no outbound TCP 2049"}},
		{name: "outbound 2049 over a port range holding it", change: func(in *PreflightInput) {
			ixGroup(&in.Network, ixSGMT).Egress = []SecurityGroupRule{
				{Protocol: "6", FromPort: 2000, ToPort: 2100, CIDRs: []string{"10.0.1.0/24"}},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
		}},
		{name: "security groups allow no outbound 443", change: func(in *PreflightInput) {
			ixGroup(&in.Network, ixSGMT).Egress = []SecurityGroupRule{
				{Protocol: "tcp", FromPort: 2049, ToPort: 2049, CIDRs: []string{"10.0.0.0/16"}},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"10.0.0.0/16"}}, // only inside the VPC
				{Protocol: "udp", FromPort: 0, ToPort: 65535, CIDRs: []string{"0.0.0.0/0"}}}
		}, wantErr: []string{"allow no outbound TCP 443 (HTTPS to S3)"}},
		{name: "rules of several groups add up", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SecurityGroupIDs: []string{ixSGWork, ixSGMT}}
			ixGroup(&in.Network, ixSGMT).Egress = []SecurityGroupRule{{Protocol: "tcp", FromPort: 2049, ToPort: 2049, CIDRs: []string{"10.0.1.10/32"}}}
			ixGroup(&in.Network, ixSGWork).Egress = []SecurityGroupRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}}
		}},
		{name: "DNS resolution off", change: func(in *PreflightInput) {
			in.Network.VPCs[0].DNSSupport = false
		}, wantErr: []string{"DNS resolution (enableDnsSupport) is off in " + ixVPC}},
		{name: "public: subnet without public IPv4 addresses", change: func(in *PreflightInput) {
			in.Config = publicCfg
			for i := range in.Network.Subnets {
				in.Network.Subnets[i].MapPublicIPOnLaunch = false
			}
		}, wantErr: []string{"subnet " + ixSubMT + " does not assign public IPv4 addresses on launch"}},
		{name: "public: no default route", change: func(in *PreflightInput) {
			in.Config = publicCfg
			ixTable(&in.Network, "rtb-main").Routes = []Route{{Destination: "10.0.0.0/16", Target: "local"}}
		}, wantErr: []string{"route table rtb-main (the main route table of " + ixVPC + ", which " + ixSubMT + " uses without an association of its own) has no route 0.0.0.0/0 to an internet gateway"}},
		{name: "public: default route to a NAT gateway is not public", change: func(in *PreflightInput) {
			in.Config = publicCfg
			ixTable(&in.Network, "rtb-main").Routes[1].Target = "nat-0123"
		}, wantErr: []string{"has no route 0.0.0.0/0 to an internet gateway"}},
		{name: "public: route to a detached internet gateway", change: func(in *PreflightInput) {
			in.Config = publicCfg
			in.Network.InternetGateways[0].AttachedVpcIDs = nil
		}, wantErr: []string{"goes to igw-1, which is not attached to " + ixVPC}},
		{name: "public: route to an internet gateway of another VPC", change: func(in *PreflightInput) {
			in.Config = publicCfg
			in.Network.InternetGateways[0].AttachedVpcIDs = []string{"vpc-other"}
		}, wantErr: []string{"which is not attached to"}},
		{name: "public: blackhole route", change: func(in *PreflightInput) {
			in.Config = publicCfg
			ixTable(&in.Network, "rtb-main").Routes[1].Blackhole = true
		}, wantErr: []string{"goes to igw-1, which is not attached"}},
		{name: "public: explicit association wins over the main table", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: ixSubMT}
			in.Network.RouteTables = append(in.Network.RouteTables, RouteTable{ID: "rtb-own", VpcID: ixVPC, SubnetIDs: []string{ixSubMT},
				Routes: []Route{{Destination: "10.0.0.0/16", Target: "local"}}})
		}, wantErr: []string{"route table rtb-own (associated with " + ixSubMT + ") has no route 0.0.0.0/0"}},
		{name: "public: main table fallback passes when it routes out", change: func(in *PreflightInput) {
			in.Config = publicCfg
			in.Network.RouteTables = append(in.Network.RouteTables, RouteTable{ID: "rtb-other", VpcID: ixVPC, SubnetIDs: []string{ixSubB}})
		}},
		{name: "public: no route table at all", change: func(in *PreflightInput) {
			in.Config = publicCfg
			in.Network.RouteTables = nil
		}, wantErr: []string{"has no route table (no association and no main route table in " + ixVPC + ")"}},
		{name: "private path passes", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
		}, wantPlace: func(t *testing.T, p Placement) {
			if !p.PrivateNetwork || p.SubnetID != ixSubMT {
				t.Errorf("placement %+v; want private in the mount target's subnet", p)
			}
		}},
		{name: "private: another subnet of the zone uses the main table, which has the endpoint", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			ixEndpoint(&in.Network, "vpce-s3").RouteTableIDs = []string{"rtb-main"}
		}, wantPlace: func(t *testing.T, p Placement) {
			if p.SubnetID != ixSubA2 || !p.PrivateNetwork {
				t.Errorf("placement %+v; want %s through the main table's endpoint", p, ixSubA2)
			}
		}},
		{name: "private: S3 gateway endpoint missing", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.Network.Endpoints = nil
		}, wantErr: []string{"no S3 gateway endpoint (com.amazonaws.eu-west-1.s3) of " + ixVPC + " is associated with route table rtb-private"}},
		{name: "private: S3 gateway endpoint not on the subnet's route table", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: ixSubMT, PrivateNetwork: true}
			ixPrivate(&in.Network)
			ixEndpoint(&in.Network, "vpce-s3").RouteTableIDs = []string{"rtb-main"}
		}, wantErr: []string{"no S3 gateway endpoint", "route table rtb-private (associated with " + ixSubMT + ")"}},
		{name: "private: S3 endpoint of another Region does not count", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			ixEndpoint(&in.Network, "vpce-s3").ServiceName = "com.amazonaws.us-east-1.s3"
		}, wantErr: []string{"no S3 gateway endpoint"}},
		{name: "private: S3 endpoint still pending", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			ixEndpoint(&in.Network, "vpce-s3").State = "pending"
		}, wantErr: []string{"no S3 gateway endpoint"}},
		{name: "private: S3 through an interface endpoint is not the gateway the rule asks for", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			ixEndpoint(&in.Network, "vpce-s3").Type = "Interface"
		}, wantErr: []string{"no S3 gateway endpoint"}},
		{name: "private: needed interface endpoints present", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.InterfaceEndpoints = []string{"sts", "logs"}
			ixInterfaceEndpoints(&in.Network, "sts", "logs")
		}},
		{name: "private: each needed interface endpoint missing", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.InterfaceEndpoints = []string{"sts", "logs", "sqs"}
			ixInterfaceEndpoints(&in.Network, "logs")
		}, wantErr: []string{"no interface endpoint com.amazonaws.eu-west-1.sts in " + ixVPC, "no interface endpoint com.amazonaws.eu-west-1.sqs in " + ixVPC}},
		{name: "private: interface endpoint without private DNS", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.InterfaceEndpoints = []string{"sts"}
			ixInterfaceEndpoints(&in.Network, "sts")
			ixEndpoint(&in.Network, "vpce-sts").PrivateDNS = false
		}, wantErr: []string{"interface endpoint vpce-sts (com.amazonaws.eu-west-1.sts) has private DNS off"}},
		{name: "private: interface endpoints need DNS hostnames", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.InterfaceEndpoints = []string{"sts"}
			ixInterfaceEndpoints(&in.Network, "sts")
			in.Network.VPCs[0].DNSHostnames = false
		}, wantErr: []string{"DNS hostnames (enableDnsHostnames) are off in " + ixVPC}},
		{name: "private: bucket in another Region needs a NAT gateway", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.BucketRegion = "us-east-1"
		}, wantErr: []string{"the index bucket is in us-east-1", "route table rtb-private (associated with " + ixSubMT + ") needs a route 0.0.0.0/0 to a NAT gateway"}},
		{name: "private: bucket in another Region through a NAT gateway", change: func(in *PreflightInput) {
			in.Config = privateCfg
			ixPrivate(&in.Network)
			in.BucketRegion = "us-east-1"
			ixTable(&in.Network, "rtb-private").Routes = append(ixTable(&in.Network, "rtb-private").Routes, Route{Destination: "0.0.0.0/0", Target: "nat-0123"})
		}},
		{name: "automatic: private path when the public one is missing", change: func(in *PreflightInput) {
			ixPrivate(&in.Network)
		}, wantPlace: func(t *testing.T, p Placement) {
			if !p.PrivateNetwork || p.SubnetID != ixSubMT {
				t.Errorf("placement %+v; want the private path in the mount target's subnet", p)
			}
		}},
		{name: "automatic: another subnet of the mount target's zone", change: func(in *PreflightInput) {
			ixSubnet(&in.Network, ixSubMT).MapPublicIPOnLaunch = false
		}, wantPlace: func(t *testing.T, p Placement) {
			if p.SubnetID != ixSubA2 || p.PrivateNetwork || p.AvailabilityZone != "eu-west-1a" {
				t.Errorf("placement %+v; want %s, the other public subnet in eu-west-1a", p, ixSubA2)
			}
		}},
		{name: "automatic: neither path, both named", change: func(in *PreflightInput) {
			for i := range in.Network.Subnets {
				in.Network.Subnets[i].MapPublicIPOnLaunch = false
			}
		}, wantErr: []string{"no public path (subnet " + ixSubMT + " does not assign public IPv4 addresses", "and no private path (no S3 gateway endpoint"}},
		{name: "worker configuration overrides subnet, groups and instance type", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: ixSubB, SecurityGroupIDs: []string{ixSGWork}, InstanceType: "c7g.xlarge"}
		}, wantPlace: func(t *testing.T, p Placement) {
			if p.SubnetID != ixSubB || p.AvailabilityZone != "eu-west-1b" || !slices.Equal(p.SecurityGroupIDs, []string{ixSGWork}) ||
				p.InstanceType != "c7g.xlarge" || p.MountTarget.ID != "fsmt-0000000000000000a" {
				t.Errorf("placement %+v; want the configured subnet, groups and type", p)
			}
		}},
		{name: "worker configuration prefers a mount target in the subnet's zone", change: func(in *PreflightInput) {
			in.MountTargets = append(in.MountTargets, MountTarget{ID: "fsmt-0000000000000000b", SubnetID: ixSubB, VpcID: ixVPC,
				AvailabilityZone: "eu-west-1b", IPAddress: "10.0.2.10", SecurityGroups: []string{ixSGMT}})
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: ixSubB}
		}, wantPlace: func(t *testing.T, p Placement) {
			if p.MountTarget.ID != "fsmt-0000000000000000b" {
				t.Errorf("mount target %s; want the one in eu-west-1b", p.MountTarget.ID)
			}
		}},
		{name: "configured subnet's problems are reported, no fallback", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: ixSubB}
			ixSubnet(&in.Network, ixSubB).MapPublicIPOnLaunch = false
		}, wantErr: []string{ixSubB + " (mount target fsmt-0000000000000000a): subnet " + ixSubB + " does not assign public IPv4"}},
		{name: "configured subnet does not exist", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: "subnet-0000000000000ffff"}
		}, wantErr: []string{"subnet subnet-0000000000000ffff of the worker configuration for eu-west-1 does not exist in account 111122223333"}},
		{name: "configured subnet in a VPC without a mount target", change: func(in *PreflightInput) {
			in.Network.VPCs = append(in.Network.VPCs, VPC{ID: "vpc-other", DNSSupport: true})
			in.Network.Subnets = append(in.Network.Subnets, Subnet{ID: "subnet-0000000000000000d", VpcID: "vpc-other", AvailabilityZone: "eu-west-1a", MapPublicIPOnLaunch: true})
			in.Config = &WorkerConfig{Region: "eu-west-1", SubnetID: "subnet-0000000000000000d"}
		}, wantErr: []string{ixFS + " has no mount target in vpc-other, the VPC of the configured subnet"}},
		{name: "configured security group does not exist", change: func(in *PreflightInput) {
			in.Config = &WorkerConfig{Region: "eu-west-1", SecurityGroupIDs: []string{"sg-00000000000000fff"}}
		}, wantErr: []string{"security group sg-00000000000000fff does not exist"}},
		{name: "configured security group of another VPC", change: func(in *PreflightInput) {
			ixGroup(&in.Network, ixSGWork).VpcID = "vpc-other"
			in.Config = &WorkerConfig{Region: "eu-west-1", SecurityGroupIDs: []string{ixSGWork}}
		}, wantErr: []string{"security group " + ixSGWork + " belongs to vpc-other"}},
		{name: "file system without mount targets", change: func(in *PreflightInput) {
			in.MountTargets = nil
		}, wantErr: []string{ixFS + " has no mount target"}},
		{name: "no mount target in any usable subnet", change: func(in *PreflightInput) {
			in.MountTargets = append(in.MountTargets, MountTarget{ID: "fsmt-0000000000000000b", SubnetID: ixSubB, VpcID: ixVPC,
				AvailabilityZone: "eu-west-1b", IPAddress: "10.0.2.10", SecurityGroups: []string{ixSGMT}})
			for i := range in.Network.Subnets {
				in.Network.Subnets[i].MapPublicIPOnLaunch = false
			}
		}, wantErr: []string{ixSubMT + " (mount target fsmt-0000000000000000a)", ixSubA2 + " (mount target fsmt-0000000000000000a)",
			ixSubB + " (mount target fsmt-0000000000000000b)"}},
		{name: "mount target's subnet and VPC not found", change: func(in *PreflightInput) {
			in.Network = NetworkView{}
		}, wantErr: []string{"no subnet of " + ixVPC + " in eu-west-1a was found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := PreflightInput{Loc: ixLoc, FileSystem: ixFS, MountTargets: []MountTarget{ixMountTarget()}, Network: ixNetwork(), BucketRegion: "eu-west-1"}
			if tc.change != nil {
				tc.change(&in)
			}
			p, err := Preflight(in)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("preflight failed: %v", err)
				}
				if tc.wantPlace != nil {
					tc.wantPlace(t, p)
				}
				return
			}
			if err == nil {
				t.Fatalf("preflight passed with %+v; want it to fail", p)
			}
			var pe *PreflightError
			if !errorsAs(err, &pe) {
				t.Fatalf("error %T, want *PreflightError", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %q:\n%v", want, err)
				}
			}
		})
	}
}

func errorsAs(err error, pe **PreflightError) bool {
	e, ok := err.(*PreflightError)
	*pe = e
	return ok
}

func TestPreflightQuery(t *testing.T) {
	mt2 := MountTarget{ID: "fsmt-b", VpcID: ixVPC, SecurityGroups: []string{ixSGMT, "sg-x"}}
	q := PreflightQuery([]MountTarget{ixMountTarget(), mt2}, &WorkerConfig{SubnetID: ixSubB, SecurityGroupIDs: []string{ixSGWork, ixSGMT}})
	if !slices.Equal(q.VpcIDs, []string{ixVPC}) || !slices.Equal(q.SubnetIDs, []string{ixSubB}) ||
		!slices.Equal(q.SecurityGroupIDs, []string{ixSGMT, "sg-x", ixSGWork}) {
		t.Errorf("query %+v", q)
	}
}
