package sim

import (
	"slices"
	"sort"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// The VPC model below is the data the index worker's launch preflight
// reads: whether an instance in a subnet can reach S3, STS and the
// efskeeper queues (internet gateway or VPC endpoints), resolve the EFS
// mount target's DNS name (VPC DNS support and hostnames), and reach NFS
// (security group egress). The simulator only stores and returns it; the
// preflight logic lives in the engine.

// VPC is one VPC.
type VPC struct {
	ID                 string
	CIDR               string
	EnableDNSSupport   bool
	EnableDNSHostnames bool
}

// Subnet is one subnet.
type Subnet struct {
	ID                  string
	VpcID               string
	AvailabilityZone    string
	CIDR                string
	MapPublicIPOnLaunch bool
}

// Route is one route of a route table. Target is an internet gateway
// (igw-...), NAT gateway (nat-...), VPC endpoint (vpce-...) or "local".
type Route struct {
	Destination string // CIDR such as 0.0.0.0/0, or a prefix list (pl-...)
	Target      string
}

// RouteTable is a route table and the subnets explicitly associated with
// it; a Main table serves the VPC's subnets without an association.
type RouteTable struct {
	ID        string
	VpcID     string
	Main      bool
	SubnetIDs []string
	Routes    []Route
}

// InternetGateway is an internet gateway, attached to AttachedVpcID ("" if
// detached).
type InternetGateway struct {
	ID            string
	AttachedVpcID string
}

// VPCEndpoint is a gateway (s3, dynamodb) or interface endpoint.
type VPCEndpoint struct {
	ID               string
	VpcID            string
	ServiceName      string // com.amazonaws.<region>.s3, ...sts, ...sqs
	Type             string // Gateway or Interface
	PrivateDNS       bool   // interface endpoints
	RouteTableIDs    []string
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// SecurityGroupRule is one ingress or egress rule. Protocol "-1" is all
// traffic; ports are inclusive.
type SecurityGroupRule struct {
	Protocol         string
	FromPort, ToPort int
	CIDRs            []string
	GroupIDs         []string
}

// SecurityGroup is one security group.
type SecurityGroup struct {
	ID      string
	VpcID   string
	Ingress []SecurityGroupRule
	Egress  []SecurityGroupRule
}

// Network is everything of the VPC model in one (account, Region), each
// list sorted by id.
type Network struct {
	VPCs             []VPC
	Subnets          []Subnet
	RouteTables      []RouteTable
	InternetGateways []InternetGateway
	Endpoints        []VPCEndpoint
	SecurityGroups   []SecurityGroup
}

type network struct {
	vpcs    map[string]VPC
	subnets map[string]Subnet
	tables  map[string]RouteTable
	igws    map[string]InternetGateway
	vpces   map[string]VPCEndpoint
	sgs     map[string]SecurityGroup
}

func (w *World) net(l engine.Loc) *network {
	r := w.region(l)
	if r.net == nil {
		r.net = &network{
			vpcs: map[string]VPC{}, subnets: map[string]Subnet{}, tables: map[string]RouteTable{},
			igws: map[string]InternetGateway{}, vpces: map[string]VPCEndpoint{}, sgs: map[string]SecurityGroup{},
		}
	}
	return r.net
}

// AddVPC adds or replaces a VPC.
func (w *World) AddVPC(l engine.Loc, v VPC) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).vpcs[v.ID] = v
}

// AddSubnet adds or replaces a subnet.
func (w *World) AddSubnet(l engine.Loc, s Subnet) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).subnets[s.ID] = s
}

// AddRouteTable adds or replaces a route table.
func (w *World) AddRouteTable(l engine.Loc, t RouteTable) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).tables[t.ID] = cloneTable(t)
}

// AddInternetGateway adds or replaces an internet gateway.
func (w *World) AddInternetGateway(l engine.Loc, g InternetGateway) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).igws[g.ID] = g
}

// AddVPCEndpoint adds or replaces a VPC endpoint.
func (w *World) AddVPCEndpoint(l engine.Loc, e VPCEndpoint) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).vpces[e.ID] = cloneEndpoint(e)
}

// AddSecurityGroup adds or replaces a security group.
func (w *World) AddSecurityGroup(l engine.Loc, g SecurityGroup) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.net(l).sgs[g.ID] = cloneGroup(g)
}

// Network returns a copy of the VPC model of l.
func (w *World) Network(l engine.Loc) Network {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.net(l)
	return Network{
		VPCs:             sortedValues(n.vpcs, nil),
		Subnets:          sortedValues(n.subnets, nil),
		RouteTables:      sortedValues(n.tables, cloneTable),
		InternetGateways: sortedValues(n.igws, nil),
		Endpoints:        sortedValues(n.vpces, cloneEndpoint),
		SecurityGroups:   sortedValues(n.sgs, cloneGroup),
	}
}

func cloneTable(t RouteTable) RouteTable {
	t.SubnetIDs, t.Routes = slices.Clone(t.SubnetIDs), slices.Clone(t.Routes)
	return t
}

func cloneEndpoint(e VPCEndpoint) VPCEndpoint {
	e.RouteTableIDs, e.SubnetIDs, e.SecurityGroupIDs = slices.Clone(e.RouteTableIDs), slices.Clone(e.SubnetIDs), slices.Clone(e.SecurityGroupIDs)
	return e
}

func cloneGroup(g SecurityGroup) SecurityGroup {
	g.Ingress, g.Egress = cloneRules(g.Ingress), cloneRules(g.Egress)
	return g
}

// sortedValues lists a map's values by key, deep-copied with clone if set.
func sortedValues[V any](m map[string]V, clone func(V) V) []V {
	var out []V
	for _, k := range sortedKeys(m) {
		v := m[k]
		if clone != nil {
			v = clone(v)
		}
		out = append(out, v)
	}
	return out
}

func cloneRules(rs []SecurityGroupRule) []SecurityGroupRule {
	out := slices.Clone(rs)
	for i := range out {
		out[i].CIDRs = slices.Clone(out[i].CIDRs)
		out[i].GroupIDs = slices.Clone(out[i].GroupIDs)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
