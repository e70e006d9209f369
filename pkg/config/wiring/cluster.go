package wiring

import (
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ClusterArgs is the Cluster component's input: EKS named name in the network's private subnets.
func (c Config) ClusterArgs(env stackenv.Env, name string, net *network.Network) cluster.Args {
	k := c.Cluster
	role := func(roleName string) string {
		if roleName == "" {
			return ""
		}
		return env.GlobalArn("iam", "role/"+roleName)
	}
	return cluster.Args{
		Env:                  env,
		Name:                 name,
		Version:              k.Version,
		VpcID:                net.VpcID,
		PrivateSubnetIDs:     net.PrivateSubnetIDs,
		EndpointPublicAccess: k.EndpointPublicAccess,
		PublicAccessCidrs:    k.PublicAccessCidrs,
		DeployRoleArn:        role(k.DeployRoleName),
		BreakGlassRoleArn:    role(k.BreakGlassRoleName),
		ViewerRoleArn:        role(viewer(k.ViewerRoleName)),
		PullRequestRoleArn:   role(viewer(k.PullRequestRoleName)),
		// The deploy runner reaches the endpoint through the network's peering.
		APIClientCidrs:            append([]string{c.DeployRunner.CIDR}, k.APIClientCidrs...),
		APIClientsRoutable:        net.PeeringConnectionID,
		APIClientSecurityGroupIDs: k.APIClientSecurityGroupIDs,
		LogRetentionDays:          k.LogRetentionDays,
		General:                   nodeGroup(k.General),
		Addons: cluster.Addons{
			VpcCni:       k.Addons.VpcCni,
			CoreDNS:      k.Addons.CoreDNS,
			KubeProxy:    k.Addons.KubeProxy,
			EbsCsiDriver: k.Addons.EbsCsiDriver,
		},
		Karpenter: karpenter(k.Karpenter, k.General),
		// Off-hours schedules size the node groups; Pulumi then leaves their sizes alone.
		ScheduledScaling: c.OffHours.Enabled,
		Protect:          c.Protect,
	}
}

func nodeGroup(n config.NodeGroupConfig) cluster.NodeGroup {
	return cluster.NodeGroup{
		InstanceTypes: n.InstanceTypes, AmiType: n.AmiType(), CapacityType: n.CapacityType,
		MinSize: n.MinSize, DesiredSize: n.Desired(), MaxSize: n.MaxSize, DiskSizeGiB: n.DiskSizeGiB,
	}
}

// viewer is a read-only role's name, "" when the stack wants none.
func viewer(name string) string {
	if name == config.NoViewer {
		return ""
	}
	return name
}

// karpenter is the cluster's Karpenter: its media pool always, its GPU and general pools where
// the stack has them.
func karpenter(k config.KarpenterConfig, general config.NodeGroupConfig) cluster.Karpenter {
	media, gpu := cluster.MediaTaint, cluster.GPUTaint
	out := cluster.Karpenter{
		ChartVersion: k.ChartVersion, AmiAlias: k.AmiAlias, DevicePluginVersion: k.DevicePluginVersion,
		// A leader and a standby on two nodes; one where the general group keeps one node (the
		// chart's anti-affinity would leave a second replica Pending).
		Replicas: min(2, general.MinSize),
		Pools:    []cluster.NodePool{nodePool(cluster.MediaWorkload, k.Media, &media, true)},
	}
	if k.GPU != nil {
		out.Pools = append(out.Pools, nodePool(cluster.GPUWorkload, *k.GPU, &gpu, true))
	}
	if k.General != nil {
		out.Pools = append(out.Pools, nodePool(cluster.GeneralWorkload, *k.General, nil, false))
	}
	return out
}

func nodePool(name string, n config.NodePoolConfig, taint *cluster.Taint, batch bool) cluster.NodePool {
	return cluster.NodePool{
		Name: name, Taint: taint, Batch: batch,
		Families: n.InstanceFamilies, Sizes: n.InstanceSizes, CapacityTypes: n.CapacityTypes, Arch: n.Arch(),
		CPULimit: n.CPULimit, MemoryLimitGiB: n.MemoryLimitGiB, GPULimit: n.GPULimit,
		DiskSizeGiB: n.DiskSizeGiB, ExpireAfterHours: n.ExpireAfterHours,
	}
}
