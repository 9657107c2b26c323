package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// NetworkAPI implements engine.Network on the world: the mount targets of
// its file systems and the VPC model of network.go, read the way the EC2
// adapter reads AWS (DescribeSubnets, DescribeVpcs and DescribeVpcAttribute,
// DescribeRouteTables, DescribeInternetGateways, DescribeVpcEndpoints,
// DescribeSecurityGroups), with the same faults as every other call.
type NetworkAPI struct{ w *World }

var _ engine.Network = (*NetworkAPI)(nil)

// NetworkAPI returns the engine.Network port (Network returns the model itself).
func (w *World) NetworkAPI() *NetworkAPI { return &NetworkAPI{w: w} }

// MountTargets lists a file system's mount targets (DescribeMountTargets
// and DescribeMountTargetSecurityGroups); ENOTFOUND for a file system that
// does not exist or was deleted.
func (a *NetworkAPI) MountTargets(ctx context.Context, l engine.Loc, fileSystem string) ([]engine.MountTarget, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.call(ctx, "DescribeMountTargets", l)
	if err != nil {
		return nil, err
	}
	fs := r.fss[fileSystem]
	if fs == nil || fs.deleted {
		return nil, apiError(ErrResourceNotFound, "describe mount targets of "+fileSystem+" in "+l.String(), "File system '%s' does not exist.", fileSystem)
	}
	out := make([]engine.MountTarget, len(fs.mts))
	for i, mt := range fs.mts {
		w.calls["DescribeMountTargetSecurityGroups"]++
		mt.SecurityGroups = slices.Clone(mt.SecurityGroups)
		out[i] = mt
	}
	return out, nil
}

// DescribeNetwork describes what q names (see engine.Network).
func (a *NetworkAPI) DescribeNetwork(ctx context.Context, l engine.Loc, q engine.NetworkQuery) (engine.NetworkView, error) {
	w := a.w
	w.mu.Lock()
	defer w.mu.Unlock()
	var view engine.NetworkView
	if _, err := w.call(ctx, "DescribeSubnets", l); err != nil {
		return view, err
	}
	n := w.net(l)
	vpcs := slices.Clone(q.VpcIDs)
	for _, id := range q.SubnetIDs {
		if s, ok := n.subnets[id]; ok && !slices.Contains(vpcs, s.VpcID) {
			vpcs = append(vpcs, s.VpcID)
		}
	}
	for _, op := range []string{"DescribeVpcs", "DescribeVpcAttribute", "DescribeRouteTables", "DescribeInternetGateways", "DescribeVpcEndpoints", "DescribeSecurityGroups"} {
		if err := w.count(ctx, op, l); err != nil {
			return engine.NetworkView{}, err
		}
	}
	igws := map[string]bool{}
	for _, vpcID := range vpcs {
		v, ok := n.vpcs[vpcID]
		if !ok {
			continue
		}
		view.VPCs = append(view.VPCs, engine.VPC{ID: v.ID, CIDR: v.CIDR, DNSSupport: v.EnableDNSSupport, DNSHostnames: v.EnableDNSHostnames})
		for _, s := range sortedValues(n.subnets, nil) {
			if s.VpcID == vpcID {
				view.Subnets = append(view.Subnets, engine.Subnet{ID: s.ID, VpcID: s.VpcID, AvailabilityZone: s.AvailabilityZone,
					CIDR: s.CIDR, MapPublicIPOnLaunch: s.MapPublicIPOnLaunch})
			}
		}
		for _, t := range sortedValues(n.tables, cloneTable) {
			if t.VpcID != vpcID {
				continue
			}
			rt := engine.RouteTable{ID: t.ID, VpcID: t.VpcID, Main: t.Main, SubnetIDs: t.SubnetIDs}
			for _, r := range t.Routes {
				rt.Routes = append(rt.Routes, engine.Route{Destination: r.Destination, Target: r.Target})
				if strings.HasPrefix(r.Target, "igw-") {
					igws[r.Target] = true
				}
			}
			view.RouteTables = append(view.RouteTables, rt)
		}
		for _, e := range sortedValues(n.vpces, cloneEndpoint) {
			if e.VpcID == vpcID {
				view.Endpoints = append(view.Endpoints, engine.VPCEndpoint{ID: e.ID, VpcID: e.VpcID, ServiceName: e.ServiceName,
					Type: e.Type, State: "available", PrivateDNS: e.PrivateDNS, RouteTableIDs: e.RouteTableIDs, SubnetIDs: e.SubnetIDs})
			}
		}
	}
	// Gateways the routes point at, attached or not: a route to a detached
	// gateway is what the preflight must be able to name.
	for _, id := range sortedKeys(igws) {
		g := engine.InternetGateway{ID: id}
		if ig, ok := n.igws[id]; ok && ig.AttachedVpcID != "" {
			g.AttachedVpcIDs = []string{ig.AttachedVpcID}
		}
		view.InternetGateways = append(view.InternetGateways, g)
	}
	for _, id := range q.SecurityGroupIDs {
		g, ok := n.sgs[id]
		if !ok {
			continue
		}
		sg := engine.SecurityGroup{ID: g.ID, VpcID: g.VpcID}
		for _, r := range cloneRules(g.Egress) {
			sg.Egress = append(sg.Egress, engine.SecurityGroupRule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort,
				CIDRs: r.CIDRs, GroupIDs: r.GroupIDs})
		}
		view.SecurityGroups = append(view.SecurityGroups, sg)
	}
	return view, nil
}

// WorkerNetwork is a VPC that AddWorkerNetwork made.
type WorkerNetwork struct {
	VpcID           string
	Zones           []string
	SubnetIDs       []string // one per zone, in Zones' order
	RouteTableID    string
	InternetGateway string
	SecurityGroupID string
	n               int
}

// AddWorkerNetwork adds a VPC (10.n.0.0/16) in which an index worker
// reaches its file system and S3 the public way: DNS resolution and
// hostnames on, a public subnet in each zone, a main route table whose
// 0.0.0.0/0 goes to an attached internet gateway, and one security group
// allowing all outbound traffic, for mount targets and workers alike. n
// (0-255) keeps the ids and ranges of several networks apart. The demo and
// tests break a piece of it to see the preflight name it.
func (w *World) AddWorkerNetwork(l engine.Loc, n int, zones ...string) WorkerNetwork {
	id := func(prefix string, i int) string { return fmt.Sprintf("%s-%015x%02x", prefix, n, i) }
	net := WorkerNetwork{VpcID: id("vpc", 0), Zones: slices.Clone(zones), RouteTableID: id("rtb", 0),
		InternetGateway: id("igw", 0), SecurityGroupID: id("sg", 0), n: n}
	w.AddVPC(l, VPC{ID: net.VpcID, CIDR: fmt.Sprintf("10.%d.0.0/16", n), EnableDNSSupport: true, EnableDNSHostnames: true})
	for i, z := range zones {
		s := Subnet{ID: id("subnet", i+1), VpcID: net.VpcID, AvailabilityZone: z, CIDR: fmt.Sprintf("10.%d.%d.0/24", n, i+1), MapPublicIPOnLaunch: true}
		w.AddSubnet(l, s)
		net.SubnetIDs = append(net.SubnetIDs, s.ID)
	}
	w.AddInternetGateway(l, InternetGateway{ID: net.InternetGateway, AttachedVpcID: net.VpcID})
	w.AddRouteTable(l, RouteTable{ID: net.RouteTableID, VpcID: net.VpcID, Main: true, Routes: []Route{
		{Destination: fmt.Sprintf("10.%d.0.0/16", n), Target: "local"}, {Destination: "0.0.0.0/0", Target: net.InternetGateway}}})
	w.AddSecurityGroup(l, SecurityGroup{ID: net.SecurityGroupID, VpcID: net.VpcID,
		Ingress: []SecurityGroupRule{{Protocol: "tcp", FromPort: 2049, ToPort: 2049, GroupIDs: []string{net.SecurityGroupID}}},
		Egress:  []SecurityGroupRule{{Protocol: "-1", FromPort: -1, ToPort: -1, CIDRs: []string{"0.0.0.0/0"}}}})
	return net
}

// MountTargets returns a mount target of the file system in each subnet
// of the network (for FileSystemSpec.MountTargets).
func (n WorkerNetwork) MountTargets(fileSystem string) []engine.MountTarget {
	var out []engine.MountTarget
	for i, s := range n.SubnetIDs {
		out = append(out, engine.MountTarget{ID: fmt.Sprintf("fsmt-%s%02x", strings.TrimPrefix(fileSystem, "fs-"), i), SubnetID: s,
			VpcID: n.VpcID, AvailabilityZone: n.Zones[i], IPAddress: fmt.Sprintf("10.%d.%d.10", n.n, i+1),
			SecurityGroups: []string{n.SecurityGroupID}})
	}
	return out
}
