package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// The network as the launch preflight sees it: plain data that the EC2
// adapter (Describe* calls) and the simulator fill in.

// NetworkQuery names what DescribeNetwork must describe.
type NetworkQuery struct {
	VpcIDs           []string
	SubnetIDs        []string // their VPCs are described too
	SecurityGroupIDs []string
}

// NetworkView is the part of one account and Region's network the
// preflight reads.
type NetworkView struct {
	VPCs             []VPC
	Subnets          []Subnet
	RouteTables      []RouteTable
	InternetGateways []InternetGateway
	Endpoints        []VPCEndpoint
	SecurityGroups   []SecurityGroup
}

// VPC is a VPC with its DNS attributes (DescribeVpcAttribute).
type VPC struct {
	ID           string
	CIDR         string
	DNSSupport   bool // enableDnsSupport: the Amazon DNS server answers
	DNSHostnames bool // enableDnsHostnames: needed for private DNS of interface endpoints
}

// Subnet is a subnet.
type Subnet struct {
	ID                  string
	VpcID               string
	AvailabilityZone    string
	CIDR                string
	MapPublicIPOnLaunch bool
}

// RouteTable is a route table with its explicit subnet associations; a
// Main table serves its VPC's subnets that have none.
type RouteTable struct {
	ID        string
	VpcID     string
	Main      bool
	SubnetIDs []string
	Routes    []Route
}

// Route is one route. Target is a gateway id (igw-, nat-, vpce-, ...) or
// "local".
type Route struct {
	Destination string // an IPv4 CIDR, or a prefix list id (pl-...)
	Target      string
	// Blackhole: the target is gone (EC2 route state "blackhole").
	Blackhole bool
}

// InternetGateway is an internet gateway and the VPCs it is attached to.
type InternetGateway struct {
	ID             string
	AttachedVpcIDs []string
}

// VPCEndpoint is a gateway or interface endpoint.
type VPCEndpoint struct {
	ID          string
	VpcID       string
	ServiceName string // com.amazonaws.<region>.<service>
	Type        string // "Gateway" or "Interface"
	State       string // "available" (EC2 spells it in several cases); "" counts as available
	PrivateDNS  bool
	// RouteTableIDs (gateway endpoints) and SubnetIDs (interface endpoints).
	RouteTableIDs []string
	SubnetIDs     []string
}

// SecurityGroup is a security group's outbound side.
type SecurityGroup struct {
	ID     string
	VpcID  string
	Egress []SecurityGroupRule
}

// SecurityGroupRule is one egress rule. Protocol "-1" is all traffic (its
// ports do not matter), "tcp" or "6" is TCP from FromPort to ToPort.
type SecurityGroupRule struct {
	Protocol         string
	FromPort, ToPort int
	CIDRs            []string // IPv4
	GroupIDs         []string
	PrefixListIDs    []string
}

// Placement is where the preflight decided a worker runs.
type Placement struct {
	MountTarget      MountTarget
	SubnetID         string
	VpcID            string
	AvailabilityZone string
	SecurityGroupIDs []string
	PrivateNetwork   bool
	InstanceType     string
}

// PreflightInput is everything the preflight decides on.
type PreflightInput struct {
	Loc          Loc
	FileSystem   string
	MountTargets []MountTarget
	// Config overrides the automatic choice; nil for none.
	Config  *WorkerConfig
	Network NetworkView
	// BucketRegion is the index bucket's Region.
	BucketRegion string
	// InterfaceEndpoints are the services a private worker needs an
	// interface endpoint for (IndexerConfig.InterfaceEndpoints).
	InterfaceEndpoints []string
}

// PreflightError says why no subnet can run the worker: for each subnet
// tried, what is missing.
type PreflightError struct {
	FileSystem string
	Loc        Loc
	// Problems is set when nothing could be tried (no mount target, a
	// configured subnet that does not exist).
	Problems []string
	// Candidates are the subnets tried, in order, with their problems.
	Candidates []CandidateProblems
}

// CandidateProblems are the problems of one (mount target, subnet) pair.
type CandidateProblems struct {
	MountTarget string
	SubnetID    string
	Problems    []string
}

// maxCandidatesShown bounds the candidates a PreflightError spells out.
const maxCandidatesShown = 4

func (e *PreflightError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no subnet in account %s, %s can run the index worker of %s", e.Loc.Account, e.Loc.Region, e.FileSystem)
	if len(e.Problems) > 0 {
		b.WriteString(": " + strings.Join(e.Problems, "; "))
	}
	for i, c := range e.Candidates {
		if i == maxCandidatesShown {
			fmt.Fprintf(&b, "; and %d more subnets", len(e.Candidates)-i)
			break
		}
		fmt.Fprintf(&b, "; %s (mount target %s): %s", c.SubnetID, c.MountTarget, strings.Join(c.Problems, ", "))
	}
	return b.String()
}

// PreflightQuery is what DescribeNetwork must describe for a preflight of
// these mount targets under cfg.
func PreflightQuery(mts []MountTarget, cfg *WorkerConfig) NetworkQuery {
	var q NetworkQuery
	for _, mt := range mts {
		q.VpcIDs = appendUniqueID(q.VpcIDs, mt.VpcID)
		for _, g := range mt.SecurityGroups {
			q.SecurityGroupIDs = appendUniqueID(q.SecurityGroupIDs, g)
		}
	}
	if cfg != nil {
		if cfg.SubnetID != "" {
			q.SubnetIDs = append(q.SubnetIDs, cfg.SubnetID)
		}
		for _, g := range cfg.SecurityGroupIDs {
			q.SecurityGroupIDs = appendUniqueID(q.SecurityGroupIDs, g)
		}
	}
	return q
}

func appendUniqueID(s []string, v string) []string {
	if v == "" || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// Preflight picks where the worker of a file system runs and checks that
// it can work there. The rules:
//
//   - Candidates: without a configured subnet, every mount target (by
//     Availability Zone, then id) with the subnets of its VPC in its
//     Availability Zone, its own subnet first. A configured subnet is the
//     only candidate, with the file system's mount target in that
//     subnet's VPC (one in the same Availability Zone if there is one).
//   - The VPC has DNS resolution (enableDnsSupport) on.
//   - The security groups (configured, else the mount target's) exist, are
//     in the subnet's VPC, and together allow outbound TCP 2049 to the
//     mount target (a CIDR holding its address, or one of its groups) and
//     outbound TCP 443 to 0.0.0.0/0 or a prefix list.
//   - Public network: the subnet maps public IPv4 addresses on launch, and
//     its route table (its explicit association, else the VPC's main
//     table) routes 0.0.0.0/0 to an internet gateway attached to the VPC.
//   - Private network: the subnet's route table is associated with an
//     available S3 gateway endpoint com.amazonaws.<region>.s3 of the VPC —
//     or, when the index bucket is in another Region (gateway endpoints
//     reach buckets of their own Region only), it routes 0.0.0.0/0 to a NAT
//     gateway; each service in InterfaceEndpoints has an available
//     interface endpoint in the VPC with private DNS on, and the VPC then
//     has DNS hostnames on (private DNS needs them).
//   - A configuration with privateNetwork set demands the private rules,
//     one without it (or no configuration) the public ones; without a
//     configuration a candidate may pass either, public first.
//
// The first candidate that passes wins. When none does, the error lists
// each candidate's problems.
func Preflight(in PreflightInput) (Placement, error) {
	fail := &PreflightError{FileSystem: in.FileSystem, Loc: in.Loc}
	cfg := in.Config
	if len(in.MountTargets) == 0 {
		fail.Problems = append(fail.Problems, fmt.Sprintf("%s has no mount target; create one in a subnet the worker can use", in.FileSystem))
		return Placement{}, fail
	}
	type candidate struct {
		mt     MountTarget
		subnet Subnet
	}
	var cands []candidate
	mts := slices.Clone(in.MountTargets)
	sort.Slice(mts, func(i, j int) bool {
		if mts[i].AvailabilityZone != mts[j].AvailabilityZone {
			return mts[i].AvailabilityZone < mts[j].AvailabilityZone
		}
		return mts[i].ID < mts[j].ID
	})
	if cfg != nil && cfg.SubnetID != "" {
		sub, ok := findSubnet(in.Network, cfg.SubnetID)
		if !ok {
			fail.Problems = append(fail.Problems, fmt.Sprintf("subnet %s of the worker configuration for %s does not exist in account %s", cfg.SubnetID, cfg.Region, in.Loc.Account))
			return Placement{}, fail
		}
		var pick *MountTarget
		for i := range mts {
			mt := &mts[i]
			if mt.VpcID != sub.VpcID {
				continue
			}
			if pick == nil || mt.AvailabilityZone == sub.AvailabilityZone && pick.AvailabilityZone != sub.AvailabilityZone {
				pick = mt
			}
		}
		if pick == nil {
			fail.Problems = append(fail.Problems, fmt.Sprintf("%s has no mount target in %s, the VPC of the configured subnet %s; the worker mounts over NFS within one VPC", in.FileSystem, sub.VpcID, sub.ID))
			return Placement{}, fail
		}
		cands = append(cands, candidate{*pick, sub})
	} else {
		for _, mt := range mts {
			own, ok := findSubnet(in.Network, mt.SubnetID)
			if ok {
				cands = append(cands, candidate{mt, own})
			}
			var others []Subnet
			for _, s := range in.Network.Subnets {
				if s.VpcID == mt.VpcID && s.AvailabilityZone == mt.AvailabilityZone && s.ID != mt.SubnetID {
					others = append(others, s)
				}
			}
			sort.Slice(others, func(i, j int) bool { return others[i].ID < others[j].ID })
			for _, s := range others {
				cands = append(cands, candidate{mt, s})
			}
			if !ok && len(others) == 0 {
				fail.Candidates = append(fail.Candidates, CandidateProblems{MountTarget: mt.ID, SubnetID: mt.SubnetID,
					Problems: []string{fmt.Sprintf("no subnet of %s in %s was found", mt.VpcID, mt.AvailabilityZone)}})
			}
		}
	}
	for _, c := range cands {
		groups := c.mt.SecurityGroups
		if cfg != nil && len(cfg.SecurityGroupIDs) > 0 {
			groups = cfg.SecurityGroupIDs
		}
		p := Placement{MountTarget: c.mt, SubnetID: c.subnet.ID, VpcID: c.subnet.VpcID, AvailabilityZone: c.subnet.AvailabilityZone,
			SecurityGroupIDs: slices.Clone(groups)}
		if cfg != nil {
			p.InstanceType = cfg.InstanceType
		}
		problems := checkCommon(in, c.mt, c.subnet, groups)
		var pathProblems []string
		switch {
		case cfg != nil && cfg.PrivateNetwork:
			p.PrivateNetwork = true
			pathProblems = checkPrivate(in, c.subnet)
		case cfg != nil:
			pathProblems = checkPublic(in, c.subnet)
		default:
			pub := checkPublic(in, c.subnet)
			if len(pub) == 0 {
				break
			}
			priv := checkPrivate(in, c.subnet)
			if len(priv) == 0 {
				p.PrivateNetwork = true
				break
			}
			pathProblems = []string{fmt.Sprintf("no public path (%s) and no private path (%s)", strings.Join(pub, ", "), strings.Join(priv, ", "))}
		}
		problems = append(problems, pathProblems...)
		if len(problems) == 0 {
			return p, nil
		}
		fail.Candidates = append(fail.Candidates, CandidateProblems{MountTarget: c.mt.ID, SubnetID: c.subnet.ID, Problems: problems})
	}
	return Placement{}, fail
}

// checkCommon checks what both paths need: DNS resolution and the
// security groups' egress.
func checkCommon(in PreflightInput, mt MountTarget, sub Subnet, groupIDs []string) []string {
	var problems []string
	vpc, ok := findVPC(in.Network, sub.VpcID)
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("VPC %s was not found", sub.VpcID))
	case !vpc.DNSSupport:
		problems = append(problems, fmt.Sprintf("DNS resolution (enableDnsSupport) is off in %s", vpc.ID))
	}
	if len(groupIDs) == 0 {
		return append(problems, "no security group to launch the worker with (the mount target has none listed; set securityGroupIds in the worker configuration)")
	}
	var groups []SecurityGroup
	for _, id := range groupIDs {
		g, ok := findGroup(in.Network, id)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("security group %s does not exist", id))
		case g.VpcID != sub.VpcID:
			problems = append(problems, fmt.Sprintf("security group %s belongs to %s, not to %s of subnet %s", id, g.VpcID, sub.VpcID, sub.ID))
		default:
			groups = append(groups, g)
		}
	}
	names := strings.Join(groupIDs, ", ")
	mtAddr, _ := netip.ParseAddr(mt.IPAddress)
	toMountTarget := func(r SecurityGroupRule) bool {
		for _, c := range r.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && mtAddr.IsValid() && p.Contains(mtAddr) {
				return true
			}
		}
		for _, g := range r.GroupIDs {
			if slices.Contains(mt.SecurityGroups, g) {
				return true
			}
		}
		return false
	}
	toAnywhere := func(r SecurityGroupRule) bool {
		for _, c := range r.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() && p.Bits() == 0 {
				return true
			}
		}
		return len(r.PrefixListIDs) > 0
	}
	if !egressAllows(groups, 2049, toMountTarget) {
		problems = append(problems, fmt.Sprintf("security groups %s allow no outbound TCP 2049 (NFS) to the mount target %s (%s)", names, mt.ID, mt.IPAddress))
	}
	if !egressAllows(groups, 443, toAnywhere) {
		problems = append(problems, fmt.Sprintf("security groups %s allow no outbound TCP 443 (HTTPS to S3) to 0.0.0.0/0 or a prefix list", names))
	}
	return problems
}

func egressAllows(groups []SecurityGroup, port int, dest func(SecurityGroupRule) bool) bool {
	for _, g := range groups {
		for _, r := range g.Egress {
			switch strings.ToLower(r.Protocol) {
			case "-1", "all":
			case "tcp", "6":
				if port < r.FromPort || port > r.ToPort {
					continue
				}
			default:
				continue
			}
			if dest(r) {
				return true
			}
		}
	}
	return false
}

// checkPublic checks the public path: a public address and a default route
// to an attached internet gateway.
func checkPublic(in PreflightInput, sub Subnet) []string {
	var problems []string
	if !sub.MapPublicIPOnLaunch {
		problems = append(problems, fmt.Sprintf("subnet %s does not assign public IPv4 addresses on launch (MapPublicIpOnLaunch)", sub.ID))
	}
	rt, how, ok := routeTableOf(in.Network, sub)
	if !ok {
		return append(problems, fmt.Sprintf("subnet %s has no route table (no association and no main route table in %s)", sub.ID, sub.VpcID))
	}
	r, ok := defaultRoute(rt)
	switch {
	case !ok || !strings.HasPrefix(r.Target, "igw-"):
		problems = append(problems, fmt.Sprintf("route table %s (%s) has no route 0.0.0.0/0 to an internet gateway", rt.ID, how))
	case r.Blackhole || !igwAttached(in.Network, r.Target, sub.VpcID):
		problems = append(problems, fmt.Sprintf("route 0.0.0.0/0 of route table %s (%s) goes to %s, which is not attached to %s", rt.ID, how, r.Target, sub.VpcID))
	}
	return problems
}

// checkPrivate checks the private path: S3 through a gateway endpoint (or
// a NAT gateway for a bucket in another Region) and the interface
// endpoints the worker needs.
func checkPrivate(in PreflightInput, sub Subnet) []string {
	var problems []string
	rt, how, ok := routeTableOf(in.Network, sub)
	if !ok {
		problems = append(problems, fmt.Sprintf("subnet %s has no route table (no association and no main route table in %s)", sub.ID, sub.VpcID))
	}
	s3 := "com.amazonaws." + in.Loc.Region + ".s3"
	switch {
	case !ok:
	case in.BucketRegion != "" && in.BucketRegion != in.Loc.Region:
		if r, found := defaultRoute(rt); !found || r.Blackhole || !strings.HasPrefix(r.Target, "nat-") {
			problems = append(problems, fmt.Sprintf("the index bucket is in %s and S3 gateway endpoints reach buckets of their own Region only, so route table %s (%s) needs a route 0.0.0.0/0 to a NAT gateway", in.BucketRegion, rt.ID, how))
		}
	default:
		found := false
		for _, e := range in.Network.Endpoints {
			if e.VpcID == sub.VpcID && e.ServiceName == s3 && strings.EqualFold(e.Type, "Gateway") && endpointAvailable(e) && slices.Contains(e.RouteTableIDs, rt.ID) {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("no S3 gateway endpoint (%s) of %s is associated with route table %s (%s)", s3, sub.VpcID, rt.ID, how))
		}
	}
	if len(in.InterfaceEndpoints) > 0 {
		if vpc, ok := findVPC(in.Network, sub.VpcID); ok && !vpc.DNSHostnames {
			problems = append(problems, fmt.Sprintf("DNS hostnames (enableDnsHostnames) are off in %s; private DNS of interface endpoints needs them", vpc.ID))
		}
	}
	for _, svc := range in.InterfaceEndpoints {
		name := "com.amazonaws." + in.Loc.Region + "." + svc
		var problem string = fmt.Sprintf("no interface endpoint %s in %s", name, sub.VpcID)
		for _, e := range in.Network.Endpoints {
			if e.VpcID != sub.VpcID || e.ServiceName != name || !strings.EqualFold(e.Type, "Interface") || !endpointAvailable(e) {
				continue
			}
			if e.PrivateDNS {
				problem = ""
				break
			}
			problem = fmt.Sprintf("interface endpoint %s (%s) has private DNS off", e.ID, name)
		}
		if problem != "" {
			problems = append(problems, problem)
		}
	}
	return problems
}

func endpointAvailable(e VPCEndpoint) bool {
	return e.State == "" || strings.EqualFold(e.State, "available")
}

// routeTableOf returns the route table a subnet uses: its explicit
// association, else its VPC's main table; how says which, for messages.
func routeTableOf(n NetworkView, sub Subnet) (RouteTable, string, bool) {
	for _, t := range n.RouteTables {
		if slices.Contains(t.SubnetIDs, sub.ID) {
			return t, "associated with " + sub.ID, true
		}
	}
	for _, t := range n.RouteTables {
		if t.Main && t.VpcID == sub.VpcID {
			return t, "the main route table of " + sub.VpcID + ", which " + sub.ID + " uses without an association of its own", true
		}
	}
	return RouteTable{}, "", false
}

func defaultRoute(t RouteTable) (Route, bool) {
	for _, r := range t.Routes {
		if r.Destination == "0.0.0.0/0" {
			return r, true
		}
	}
	return Route{}, false
}

func igwAttached(n NetworkView, id, vpcID string) bool {
	for _, g := range n.InternetGateways {
		if g.ID == id {
			return slices.Contains(g.AttachedVpcIDs, vpcID)
		}
	}
	return false
}

// netByID returns the element of list whose id is want.
func netByID[T any](list []T, id func(T) string, want string) (T, bool) {
	for _, v := range list {
		if id(v) == want {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func findSubnet(n NetworkView, id string) (Subnet, bool) {
	return netByID(n.Subnets, func(s Subnet) string { return s.ID }, id)
}

func findVPC(n NetworkView, id string) (VPC, bool) {
	return netByID(n.VPCs, func(v VPC) string { return v.ID }, id)
}

func findGroup(n NetworkView, id string) (SecurityGroup, bool) {
	return netByID(n.SecurityGroups, func(g SecurityGroup) string { return g.ID }, id)
}
