package awscloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// ec2Clients keeps the EC2 client of each (account, Region), with the
// account's credentials (an assumed member role outside the home account).
type ec2Clients struct {
	c       *Cloud
	clients sync.Map // engine.Loc -> *ec2.Client
}

func (e *ec2Clients) at(ctx context.Context, l engine.Loc) (*ec2.Client, error) {
	if v, ok := e.clients.Load(l); ok {
		return v.(*ec2.Client), nil
	}
	if l.Region == "" {
		return nil, engine.Errorf(engine.EINVALID, "no Region given for account %q", l.Account)
	}
	creds, err := e.c.credentials(ctx, l.Account)
	if err != nil {
		return nil, err
	}
	cfg := e.c.base.Copy()
	cfg.Region = l.Region
	cfg.Credentials = creds
	cl := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = e.c.endpoint() })
	v, _ := e.clients.LoadOrStore(l, cl)
	return v.(*ec2.Client), nil
}

// ec2Codes are EC2's error codes that mean something else to the index
// use-cases than errorCodes' general mapping says.
var ec2Codes = map[string]string{
	// The ClientToken was used with other parameters: the instance of the
	// first request exists (engine.Instances says ECONFLICT).
	"IdempotentParameterMismatch": engine.ECONFLICT,
	// No capacity for the instance type in the zone now: try later.
	"InsufficientInstanceCapacity": engine.EUNAVAIL,
	"Unsupported":                  engine.EINVALID,
}

// wrapEC2 is wrap with EC2's own codes: ".NotFound" codes
// (InvalidSubnetID.NotFound, InvalidGroup.NotFound, ...) and
// ".Malformed" ones name a configuration problem an admin must fix.
func wrapEC2(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if c, ok := ec2Codes[code]; ok {
			return &engine.Error{Code: c, Message: fmt.Sprintf(format, args...), Err: err}
		}
		if strings.HasPrefix(code, "Invalid") && (strings.Contains(code, "NotFound") || strings.HasSuffix(code, ".Malformed")) {
			return &engine.Error{Code: engine.EINVALID, Message: fmt.Sprintf(format, args...), Err: err}
		}
	}
	return wrap(err, format, args...)
}

// Network implements engine.Network with EC2 Describe* calls and EFS's
// mount targets.
type Network struct {
	c   *Cloud
	ec2 *ec2Clients
}

var _ engine.Network = (*Network)(nil)

// Network returns the network adapter of the launch preflight.
func (c *Cloud) Network() *Network { return &Network{c: c, ec2: &ec2Clients{c: c}} }

// MountTargets lists a file system's mount targets and their security
// groups (DescribeMountTargets, DescribeMountTargetSecurityGroups).
func (n *Network) MountTargets(ctx context.Context, l engine.Loc, fileSystem string) ([]engine.MountTarget, error) {
	lc, err := n.c.at(ctx, l)
	if err != nil {
		return nil, wrap(err, "list mount targets of %s in %s", fileSystem, l)
	}
	mts, err := mountTargets(ctx, lc.efs, fileSystem)
	return mts, wrap(err, "list mount targets of %s in %s", fileSystem, l)
}

// DescribeNetwork reads what the preflight checks. Lookups by id use
// filters, not id lists, so that an id that does not exist is simply
// absent (EC2 fails a whole id-list call for one unknown id); the
// preflight then names it.
func (n *Network) DescribeNetwork(ctx context.Context, l engine.Loc, q engine.NetworkQuery) (engine.NetworkView, error) {
	var view engine.NetworkView
	cl, err := n.ec2.at(ctx, l)
	if err != nil {
		return view, wrap(err, "describe the network of %s", l)
	}
	vpcs := slices.Clone(q.VpcIDs)
	if len(q.SubnetIDs) > 0 {
		subs, err := describeSubnets(ctx, cl, "subnet-id", q.SubnetIDs)
		if err != nil {
			return view, wrapEC2(err, "describe subnets %v in %s", q.SubnetIDs, l)
		}
		for _, s := range subs {
			if !slices.Contains(vpcs, s.VpcID) {
				vpcs = append(vpcs, s.VpcID)
			}
		}
	}
	if len(vpcs) > 0 {
		if view.VPCs, err = describeVPCs(ctx, cl, vpcs); err != nil {
			return view, wrapEC2(err, "describe VPCs %v in %s", vpcs, l)
		}
		if view.Subnets, err = describeSubnets(ctx, cl, "vpc-id", vpcs); err != nil {
			return view, wrapEC2(err, "describe the subnets of %v in %s", vpcs, l)
		}
		if view.RouteTables, err = describeRouteTables(ctx, cl, vpcs); err != nil {
			return view, wrapEC2(err, "describe the route tables of %v in %s", vpcs, l)
		}
		var igws []string
		for _, t := range view.RouteTables {
			for _, r := range t.Routes {
				if strings.HasPrefix(r.Target, "igw-") && !slices.Contains(igws, r.Target) {
					igws = append(igws, r.Target)
				}
			}
		}
		if len(igws) > 0 {
			if view.InternetGateways, err = describeInternetGateways(ctx, cl, igws); err != nil {
				return view, wrapEC2(err, "describe internet gateways %v in %s", igws, l)
			}
		}
		if view.Endpoints, err = describeEndpoints(ctx, cl, vpcs); err != nil {
			return view, wrapEC2(err, "describe the VPC endpoints of %v in %s", vpcs, l)
		}
	}
	if len(q.SecurityGroupIDs) > 0 {
		if view.SecurityGroups, err = describeGroups(ctx, cl, q.SecurityGroupIDs); err != nil {
			return view, wrapEC2(err, "describe security groups %v in %s", q.SecurityGroupIDs, l)
		}
	}
	return view, nil
}

func filter(name string, values []string) []types.Filter {
	return []types.Filter{{Name: aws.String(name), Values: values}}
}

func describeVPCs(ctx context.Context, cl *ec2.Client, ids []string) ([]engine.VPC, error) {
	var out []engine.VPC
	p := ec2.NewDescribeVpcsPaginator(cl, &ec2.DescribeVpcsInput{Filters: filter("vpc-id", ids)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Vpcs {
			out = append(out, engine.VPC{ID: aws.ToString(v.VpcId), CIDR: aws.ToString(v.CidrBlock)})
		}
	}
	// DescribeVpcs does not say whether DNS is on; DescribeVpcAttribute
	// answers one attribute per call.
	for i := range out {
		for _, attr := range []types.VpcAttributeName{types.VpcAttributeNameEnableDnsSupport, types.VpcAttributeNameEnableDnsHostnames} {
			a, err := cl.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(out[i].ID), Attribute: attr})
			if err != nil {
				return nil, err
			}
			if a.EnableDnsSupport != nil {
				out[i].DNSSupport = aws.ToBool(a.EnableDnsSupport.Value)
			}
			if a.EnableDnsHostnames != nil {
				out[i].DNSHostnames = aws.ToBool(a.EnableDnsHostnames.Value)
			}
		}
	}
	return out, nil
}

func describeSubnets(ctx context.Context, cl *ec2.Client, by string, ids []string) ([]engine.Subnet, error) {
	var out []engine.Subnet
	p := ec2.NewDescribeSubnetsPaginator(cl, &ec2.DescribeSubnetsInput{Filters: filter(by, ids)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Subnets {
			out = append(out, engine.Subnet{ID: aws.ToString(s.SubnetId), VpcID: aws.ToString(s.VpcId),
				AvailabilityZone: aws.ToString(s.AvailabilityZone), CIDR: aws.ToString(s.CidrBlock),
				MapPublicIPOnLaunch: aws.ToBool(s.MapPublicIpOnLaunch)})
		}
	}
	return out, nil
}

func describeRouteTables(ctx context.Context, cl *ec2.Client, vpcs []string) ([]engine.RouteTable, error) {
	var out []engine.RouteTable
	p := ec2.NewDescribeRouteTablesPaginator(cl, &ec2.DescribeRouteTablesInput{Filters: filter("vpc-id", vpcs)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.RouteTables {
			rt := engine.RouteTable{ID: aws.ToString(t.RouteTableId), VpcID: aws.ToString(t.VpcId)}
			for _, a := range t.Associations {
				if aws.ToBool(a.Main) {
					rt.Main = true
				}
				if a.SubnetId != nil {
					rt.SubnetIDs = append(rt.SubnetIDs, *a.SubnetId)
				}
			}
			for _, r := range t.Routes {
				dest := aws.ToString(r.DestinationCidrBlock)
				if dest == "" {
					dest = aws.ToString(r.DestinationPrefixListId)
				}
				if dest == "" {
					continue // IPv6 routes: the worker uses IPv4
				}
				target := ""
				for _, id := range []*string{r.GatewayId, r.NatGatewayId, r.TransitGatewayId, r.VpcPeeringConnectionId, r.NetworkInterfaceId, r.InstanceId} {
					if aws.ToString(id) != "" {
						target = *id
						break
					}
				}
				rt.Routes = append(rt.Routes, engine.Route{Destination: dest, Target: target, Blackhole: r.State == types.RouteStateBlackhole})
			}
			out = append(out, rt)
		}
	}
	return out, nil
}

func describeInternetGateways(ctx context.Context, cl *ec2.Client, ids []string) ([]engine.InternetGateway, error) {
	var out []engine.InternetGateway
	p := ec2.NewDescribeInternetGatewaysPaginator(cl, &ec2.DescribeInternetGatewaysInput{Filters: filter("internet-gateway-id", ids)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.InternetGateways {
			ig := engine.InternetGateway{ID: aws.ToString(g.InternetGatewayId)}
			for _, a := range g.Attachments {
				// An attached gateway's attachment is "available"
				// (sometimes "attached"); "detaching" and "detached" are not.
				if a.State == "available" || a.State == types.AttachmentStatusAttached {
					ig.AttachedVpcIDs = append(ig.AttachedVpcIDs, aws.ToString(a.VpcId))
				}
			}
			out = append(out, ig)
		}
	}
	return out, nil
}

func describeEndpoints(ctx context.Context, cl *ec2.Client, vpcs []string) ([]engine.VPCEndpoint, error) {
	var out []engine.VPCEndpoint
	p := ec2.NewDescribeVpcEndpointsPaginator(cl, &ec2.DescribeVpcEndpointsInput{Filters: filter("vpc-id", vpcs)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range page.VpcEndpoints {
			out = append(out, engine.VPCEndpoint{ID: aws.ToString(e.VpcEndpointId), VpcID: aws.ToString(e.VpcId),
				ServiceName: aws.ToString(e.ServiceName), Type: string(e.VpcEndpointType), State: string(e.State),
				PrivateDNS: aws.ToBool(e.PrivateDnsEnabled), RouteTableIDs: e.RouteTableIds, SubnetIDs: e.SubnetIds})
		}
	}
	return out, nil
}

func describeGroups(ctx context.Context, cl *ec2.Client, ids []string) ([]engine.SecurityGroup, error) {
	var out []engine.SecurityGroup
	p := ec2.NewDescribeSecurityGroupsPaginator(cl, &ec2.DescribeSecurityGroupsInput{Filters: filter("group-id", ids)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.SecurityGroups {
			sg := engine.SecurityGroup{ID: aws.ToString(g.GroupId), VpcID: aws.ToString(g.VpcId)}
			for _, perm := range g.IpPermissionsEgress {
				r := engine.SecurityGroupRule{Protocol: aws.ToString(perm.IpProtocol),
					FromPort: int(aws.ToInt32(perm.FromPort)), ToPort: int(aws.ToInt32(perm.ToPort))}
				for _, ip := range perm.IpRanges {
					r.CIDRs = append(r.CIDRs, aws.ToString(ip.CidrIp))
				}
				for _, pair := range perm.UserIdGroupPairs {
					r.GroupIDs = append(r.GroupIDs, aws.ToString(pair.GroupId))
				}
				for _, pl := range perm.PrefixListIds {
					r.PrefixListIDs = append(r.PrefixListIDs, aws.ToString(pl.PrefixListId))
				}
				sg.Egress = append(sg.Egress, r)
			}
			out = append(out, sg)
		}
	}
	return out, nil
}
