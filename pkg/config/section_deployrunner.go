package config

import (
	"fmt"
	"net/netip"
	"regexp"
)

// DeployRunnerConfig is the `deployRunner` section: the account's deploy runner VPC, which
// bootstrap/ creates once per account and where the CodeBuild projects run pulumi. The stack
// peers its VPC with it and admits it to the private EKS API endpoint, so the runner reaches
// the cluster from the stack's first deploy on.
type DeployRunnerConfig struct {
	// CIDR is the runner VPC's IPv4 block: the bootstrap's runnerCidr. The stack looks the VPC
	// up by it and routes it through the peering connection, so it must not overlap
	// network.cidr. Default "10.255.0.0/22".
	CIDR string `json:"cidr"`
	// VpcName is the runner VPC's Name tag (the bootstrap's runnerVpcName output), looked up
	// together with CIDR. Default "cinegit-deploy-runner".
	VpcName string `json:"vpcName"`
}

// DeployRunnerRouteTableTier is the tier tag of the runner VPC's route table that the stack adds
// its return route to (bootstrap's RunnerRouteTableTier).
const DeployRunnerRouteTableTier = "private"

var vpcNameTag = regexp.MustCompile(`^[A-Za-z0-9 _.:/=+@-]{1,255}$`)

func (d *DeployRunnerConfig) applyDefaults(Env) {
	if d.CIDR == "" {
		d.CIDR = "10.255.0.0/22"
	}
	if d.VpcName == "" {
		d.VpcName = "cinegit-deploy-runner"
	}
}

func (d *DeployRunnerConfig) validate(p *problems, _ Env) {
	pfx, err := netip.ParsePrefix(d.CIDR)
	if err != nil || !pfx.Addr().Is4() || !pfx.Addr().IsPrivate() || pfx.Masked() != pfx || pfx.Bits() < 16 || pfx.Bits() > 24 {
		p.add("deployRunner.cidr", d.CIDR, "the deploy runner VPC's block as the bootstrap made it: a private IPv4 network, /16 to /24, no host bits set")
	}
	if !vpcNameTag.MatchString(d.VpcName) {
		p.add("deployRunner.vpcName", d.VpcName, "the runner VPC's Name tag (1-255 letters, digits, spaces and _.:/=+@-)")
	}
}

// validateRunnerOverlap keeps the runner VPC and the stack's VPC apart: peered VPCs must not
// have overlapping CIDR blocks ("VPC peering limitations", Amazon VPC Peering guide).
func validateRunnerOverlap(p *problems, c *Config) {
	runner, err1 := netip.ParsePrefix(c.DeployRunner.CIDR)
	vpc, err2 := netip.ParsePrefix(c.Network.CIDR)
	if err1 == nil && err2 == nil && runner.Overlaps(vpc) {
		p.add("deployRunner.cidr", c.DeployRunner.CIDR, "a block that does not overlap network.cidr (%s): the stack's VPC is peered with it", c.Network.CIDR)
	}
	for i, cidr := range c.Cluster.APIClientCidrs {
		if cidr == c.DeployRunner.CIDR {
			p.add(fmt.Sprintf("cluster.apiClientCidrs[%d]", i), cidr, "a network other than deployRunner.cidr, which is always admitted")
		}
	}
}
