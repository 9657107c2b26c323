package sim

import (
	"context"
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
