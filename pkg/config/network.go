package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// NetworkConfig is the `network` section: the VPC and its subnets.
type NetworkConfig struct {
	// CIDR is the VPC's IPv4 block, /16 to /20, from a private range.
	CIDR string `json:"cidr"`
	// AvailabilityZones the VPC spans, in order; default: the region's a, b and c zones.
	AvailabilityZones []string `json:"availabilityZones"`
	// NatGateways is "single" (one NAT for all AZs: cheap, one AZ's outage cuts egress) or
	// "perAz" (each private route table uses its own AZ's NAT).
	NatGateways string `json:"natGateways"`
	// PrivateSubnetPrefix, PublicSubnetPrefix and DatabaseSubnetPrefix are the prefix lengths
	// of the automatically carved subnets; defaults: VPC+4, VPC+8, VPC+8.
	PrivateSubnetPrefix  int `json:"privateSubnetPrefix"`
	PublicSubnetPrefix   int `json:"publicSubnetPrefix"`
	DatabaseSubnetPrefix int `json:"databaseSubnetPrefix"`
	// PublicSubnetCIDRs, PrivateSubnetCIDRs and DatabaseSubnetCIDRs override the carving; one per AZ.
	PublicSubnetCIDRs   []string `json:"publicSubnetCidrs"`
	PrivateSubnetCIDRs  []string `json:"privateSubnetCidrs"`
	DatabaseSubnetCIDRs []string `json:"databaseSubnetCidrs"`
	// FlowLogRetentionDays is the VPC flow log group's retention (a CloudWatch Logs value).
	FlowLogRetentionDays int `json:"flowLogRetentionDays"`
	// InterfaceEndpoints lists the interface VPC endpoints to create (the S3 gateway endpoint is
	// always created): any of ecr.api, ecr.dkr, sts, secretsmanager, logs.
	InterfaceEndpoints []string `json:"interfaceEndpoints"`
}

// NAT gateway modes.
const (
	NatSingle = "single"
	NatPerAZ  = "perAz"
)

// InterfaceEndpointServices are the interface endpoints the network knows how to create.
var InterfaceEndpointServices = []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts"}

func (n *NetworkConfig) applyDefaults(env Env) {
	if n.CIDR == "" {
		n.CIDR = "10.0.0.0/16"
	}
	if len(n.AvailabilityZones) == 0 && env.Region != "" {
		n.AvailabilityZones = []string{env.Region + "a", env.Region + "b", env.Region + "c"}
	}
	if n.NatGateways == "" {
		n.NatGateways = NatPerAZ
	}
	if n.FlowLogRetentionDays == 0 {
		n.FlowLogRetentionDays = 30
	}
	if pfx, err := netip.ParsePrefix(n.CIDR); err == nil {
		if n.PrivateSubnetPrefix == 0 {
			n.PrivateSubnetPrefix = pfx.Bits() + 4
		}
		if n.PublicSubnetPrefix == 0 {
			n.PublicSubnetPrefix = pfx.Bits() + 8
		}
		if n.DatabaseSubnetPrefix == 0 {
			n.DatabaseSubnetPrefix = pfx.Bits() + 8
		}
	}
}

func (n *NetworkConfig) validate(p *problems, env Env) {
	vpc, err := netip.ParsePrefix(n.CIDR)
	switch {
	case err != nil || vpc.Addr().Is6() || vpc.Masked() != vpc:
		p.add("network.cidr", n.CIDR, "an IPv4 network in CIDR notation with no host bits set, e.g. 10.0.0.0/16")
		return
	case vpc.Bits() < 16 || vpc.Bits() > 20:
		p.add("network.cidr", n.CIDR, "a prefix length from /16 to /20 (AWS allows /16 at most; smaller than /20 leaves no room for EKS pods)")
		return
	case !isPrivate(vpc):
		p.add("network.cidr", n.CIDR, "a private range: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10")
	}

	azs := n.AvailabilityZones
	if len(azs) < env.Rules.MinAZs {
		p.add("network.availabilityZones", azs, "at least %d availability zones for stack %q", env.Rules.MinAZs, env.Stack)
	}
	seen := map[string]bool{}
	for i, az := range azs {
		key := fmt.Sprintf("network.availabilityZones[%d]", i)
		switch {
		case seen[az]:
			p.add(key, az, "each availability zone once (duplicate)")
		case env.Region != "" && !isZoneOf(az, env.Region):
			p.add(key, az, "a zone of region %s, e.g. %sa", env.Region, env.Region)
		}
		seen[az] = true
	}

	switch n.NatGateways {
	case NatSingle:
		if env.Rules.RequireHA {
			p.add("network.natGateways", n.NatGateways, "%q for stack %q (one NAT per AZ keeps egress up when an AZ fails)", NatPerAZ, env.Stack)
		}
	case NatPerAZ:
	default:
		p.add("network.natGateways", n.NatGateways, "%q or %q", NatSingle, NatPerAZ)
	}

	if !validRetention(n.FlowLogRetentionDays) {
		p.add("network.flowLogRetentionDays", n.FlowLogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}
	known := map[string]bool{}
	for _, s := range InterfaceEndpointServices {
		known[s] = true
	}
	for i, s := range n.InterfaceEndpoints {
		if !known[s] {
			p.add(fmt.Sprintf("network.interfaceEndpoints[%d]", i), s, "one of %s", strings.Join(InterfaceEndpointServices, ", "))
		}
	}

	for _, pf := range []struct {
		key  string
		bits int
	}{
		{"network.privateSubnetPrefix", n.PrivateSubnetPrefix},
		{"network.publicSubnetPrefix", n.PublicSubnetPrefix},
		{"network.databaseSubnetPrefix", n.DatabaseSubnetPrefix},
	} {
		if pf.bits <= vpc.Bits() || pf.bits > 28 {
			p.add(pf.key, pf.bits, "a prefix length longer than the VPC's /%d and at most /28 (AWS's smallest subnet)", vpc.Bits())
		}
	}
	if len(p.items) > 0 {
		return // the subnet layout is only meaningful once its inputs are valid
	}
	if _, err := n.Layout(); err != nil {
		var lerr *layoutError
		if asLayoutError(err, &lerr) {
			p.add(lerr.key, lerr.value, "%s", lerr.allowed)
		}
	}
}

// isZoneOf reports whether az names a zone of region (e.g. us-east-1a of us-east-1).
func isZoneOf(az, region string) bool {
	rest, ok := strings.CutPrefix(az, region)
	return ok && len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z'
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} {
		block := netip.MustParsePrefix(r)
		if block.Bits() <= p.Bits() && block.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
