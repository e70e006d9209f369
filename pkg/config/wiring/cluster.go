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
		Media:                     nodeGroup(k.Media),
		Addons: cluster.Addons{
			VpcCni:       k.Addons.VpcCni,
			CoreDNS:      k.Addons.CoreDNS,
			KubeProxy:    k.Addons.KubeProxy,
			EbsCsiDriver: k.Addons.EbsCsiDriver,
		},
		Autoscaler: cluster.Autoscaler{ChartVersion: k.Autoscaler.ChartVersion, ImageTag: k.Autoscaler.ImageTag},
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
