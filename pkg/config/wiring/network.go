package wiring

import (
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// NetworkArgs is the Network component's input for this stack. clusterName is the EKS cluster
// the subnets are tagged for, so its load balancers find them; runner is the deploy runner VPC
// to peer with.
func (c Config) NetworkArgs(env stackenv.Env, clusterName string, runner *network.Peer) (network.Args, error) {
	n := c.Network
	layout, err := n.Layout()
	if err != nil {
		return network.Args{}, err
	}
	return network.Args{
		Env:                  env,
		CIDR:                 n.CIDR,
		AvailabilityZones:    n.AvailabilityZones,
		PublicSubnetCIDRs:    layout.Public,
		PrivateSubnetCIDRs:   layout.Private,
		DatabaseSubnetCIDRs:  layout.Database,
		SingleNatGateway:     n.NatGateways == config.NatSingle,
		FlowLogRetentionDays: n.FlowLogRetentionDays,
		InterfaceEndpoints:   n.InterfaceEndpoints,
		ClusterName:          clusterName,
		Protect:              c.Protect,
		Peer:                 runner,
	}, nil
}
