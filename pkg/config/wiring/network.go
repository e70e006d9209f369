package wiring

import (
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/kube"
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

// ClusterNetwork is where the cluster's pods live, for the NetworkPolicies of every namespace
// the platform creates: the VPC's range (which HTTPS out excludes), the Service range EKS gave
// the cluster, the cluster's subnets (the private ones: the control plane's network interfaces
// and the nodes are there, see ClusterArgs) and, where the stack has interface endpoints, their
// subnets (the private ones too: network.Args.InterfaceEndpoints).
func (c Config) ClusterNetwork(eks *cluster.Cluster) kube.ClusterNetwork {
	// The layout was validated with the configuration; an error here is impossible.
	layout, _ := c.Network.Layout()
	n := kube.ClusterNetwork{
		VpcCIDR:           c.Network.CIDR,
		ServiceCIDR:       eks.ServiceCIDR,
		ControlPlaneCIDRs: layout.Private,
		NodeCIDRs:         layout.Private,
	}
	if len(c.Network.InterfaceEndpoints) > 0 {
		n.EndpointCIDRs = layout.Private
	}
	return n
}
