package config

import (
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ClusterArgs is the Cluster component's input: EKS named name in the network's private subnets.
func (c *Config) ClusterArgs(env stackenv.Env, name string, net *network.Network) cluster.Args {
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
		ViewerRoleArn:        role(k.viewer()),
		// The deploy runner reaches the endpoint through the network's peering.
		APIClientCidrs:            append([]string{c.DeployRunner.CIDR}, k.APIClientCidrs...),
		APIClientsRoutable:        net.PeeringConnectionID,
		APIClientSecurityGroupIDs: k.APIClientSecurityGroupIDs,
		LogRetentionDays:          k.LogRetentionDays,
		General:                   k.General.nodeGroup(),
		Media:                     k.Media.nodeGroup(),
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

func (n NodeGroupConfig) nodeGroup() cluster.NodeGroup {
	return cluster.NodeGroup{
		InstanceTypes: n.InstanceTypes, AmiType: n.AmiType(), CapacityType: n.CapacityType,
		MinSize: n.MinSize, DesiredSize: n.Desired(), MaxSize: n.MaxSize, DiskSizeGiB: n.DiskSizeGiB,
	}
}

// viewer is the cluster's read-only role name, "" when the stack wants none.
func (k ClusterConfig) viewer() string {
	if k.ViewerRoleName == NoViewer {
		return ""
	}
	return k.ViewerRoleName
}
