package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/efskeeper/efskeeper/pkg/policy"
)

// WorkerConfig overrides the automatic choice of where an index worker
// runs in one Region (DESIGN.md: {"region", "subnetId", "securityGroupIds",
// "privateNetwork", "instanceType"}). Account, optional, narrows it to one
// account: subnet and security group ids exist in one account only, so in
// Organization mode a configuration that names them should name the account
// too. Every other field is optional: an empty SubnetID keeps the automatic
// subnet choice, empty SecurityGroupIDs the mount target's groups, an empty
// InstanceType the launch template's.
type WorkerConfig struct {
	Account          string   `json:"account,omitempty"`
	Region           string   `json:"region"`
	SubnetID         string   `json:"subnetId,omitempty"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// PrivateNetwork: the worker gets no public address and reaches S3
	// through an S3 gateway endpoint (and the interface endpoints
	// IndexerConfig.InterfaceEndpoints lists).
	PrivateNetwork bool   `json:"privateNetwork,omitempty"`
	InstanceType   string `json:"instanceType,omitempty"`
	// MaxLifetimeHours, when set, bounds the workers here instead of
	// IndexerConfig.MaxLifetime: a file system of many millions of files
	// may need longer than the default 8 hours to walk.
	MaxLifetimeHours int       `json:"maxLifetimeHours,omitempty"`
	UpdatedAt        time.Time `json:"updatedAt,omitempty"`
	Version          int64     `json:"version,omitempty"`
}

var (
	ixSubnetRE       = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	ixGroupRE        = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	ixInstanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	ixAccountRE      = regexp.MustCompile(`^[0-9]{12}$`)
)

// Validate reports every problem of a configuration at its JSON field,
// all at once.
func (c *WorkerConfig) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Account != "" && !ixAccountRE.MatchString(c.Account) {
		add("account: %q is not a 12-digit AWS account id", c.Account)
	}
	if !policy.IsRegion(c.Region) {
		add("region: %q is not an AWS Region", c.Region)
	}
	if c.SubnetID != "" && !ixSubnetRE.MatchString(c.SubnetID) {
		add("subnetId: %q is not a subnet id (subnet-0123456789abcdef0)", c.SubnetID)
	}
	if len(c.SecurityGroupIDs) > 5 {
		add("securityGroupIds: %d groups; an instance takes at most 5", len(c.SecurityGroupIDs))
	}
	seen := map[string]bool{}
	for i, g := range c.SecurityGroupIDs {
		switch {
		case !ixGroupRE.MatchString(g):
			add("securityGroupIds[%d]: %q is not a security group id (sg-0123456789abcdef0)", i, g)
		case seen[g]:
			add("securityGroupIds[%d]: %s is listed twice", i, g)
		}
		seen[g] = true
	}
	if c.InstanceType != "" && (!ixInstanceTypeRE.MatchString(c.InstanceType) || len(c.InstanceType) > 64) {
		add("instanceType: %q is not an EC2 instance type (m7g.large)", c.InstanceType)
	}
	if c.MaxLifetimeHours < 0 || c.MaxLifetimeHours > maxWorkerLifetimeHours {
		add("maxLifetimeHours: %d is not between 1 and %d (leave it out for the deployment's default)", c.MaxLifetimeHours, maxWorkerLifetimeHours)
	}
	if len(problems) > 0 {
		return &Error{Code: EINVALID, Message: "worker configuration: " + strings.Join(problems, "; ")}
	}
	return nil
}

// ParseWorkerConfig reads a worker configuration document strictly: an
// unknown field (a typo, also in letter case, which encoding/json would
// forgive) or a value of the wrong type is an error, as in policy
// documents.
func ParseWorkerConfig(data []byte) (*WorkerConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return nil, Errorf(EINVALID, "worker configuration: %v", err)
	}
	if dec.More() {
		return nil, Errorf(EINVALID, "worker configuration: more than one JSON value")
	}
	known := []string{"account", "region", "subnetId", "securityGroupIds", "privateNetwork", "instanceType", "maxLifetimeHours"}
	var unknown []string
	for k := range fields {
		if !slices.Contains(known, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, Errorf(EINVALID, "worker configuration: unknown field %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	var c WorkerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, Errorf(EINVALID, "worker configuration: %v", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// maxWorkerLifetimeHours is the longest a worker may run: a week, what
// WorkerJob.Validate accepts.
const maxWorkerLifetimeHours = 7 * 24

// lifetime is how long the workers under c may run.
func (ix *Indexer) lifetime(c *WorkerConfig) time.Duration {
	if c != nil && c.MaxLifetimeHours > 0 {
		return time.Duration(c.MaxLifetimeHours) * time.Hour
	}
	return ix.Config.MaxLifetime
}

// workerConfig finds the configuration that applies to l: the account's
// own, else the Region's for every account; nil if there is none.
func (ix *Indexer) workerConfig(ctx context.Context, l Loc) (*WorkerConfig, error) {
	if ix.Configs == nil {
		return nil, nil
	}
	for _, account := range []string{l.Account, ""} {
		c, err := ix.Configs.GetWorkerConfig(ctx, account, l.Region)
		if err == nil {
			return c, nil
		}
		if !IsNotFound(err) {
			return nil, fmt.Errorf("read the worker configuration of %s: %w", l, err)
		}
	}
	return nil, nil
}
