package cluster

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Labels, taints and names of the node groups.
const (
	// WorkloadLabel is the node label that says which workloads a node is for.
	WorkloadLabel = "workload"
	// GeneralWorkload and MediaWorkload are its values.
	GeneralWorkload = "general"
	MediaWorkload   = "media"
)

// MediaTaint keeps everything but media jobs (which tolerate workload=media:NoSchedule) off
// the media nodes.
var MediaTaint = Taint{WorkloadLabel, MediaWorkload, "NoSchedule"}

// NodePolicies are the only managed policies of the node role. The CNI policy is not among
// them: the vpc-cni add-on has its own IRSA role. ECR access is pull-only (AWS's narrower
// successor of AmazonEC2ContainerRegistryReadOnly): nodes only pull images.
var NodePolicies = []string{"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"}

// nodeRole is the role of every node, with its policy attachments.
type nodeRole struct {
	role        *iam.Role
	name        string
	attachments []pulumi.Resource
}

// newNodeRole makes a node role, "eks-<kind>" (the managed nodes' "node", Karpenter's
// "karpenter-node"), with NodePolicies attached and nothing more.
func newNodeRole(ctx *pulumi.Context, name, kind, description string, env stackenv.Env, opts ...pulumi.ResourceOption) (*nodeRole, error) {
	roleName := env.Naming.NameMax(64, "eks-"+kind)
	role, err := iam.NewRole(ctx, name+"-"+kind, &iam.RoleArgs{
		Name:        pulumi.String(roleName),
		Description: pulumi.String(description),
		// No aws:SourceAccount guard: EC2 does not send it when instances assume their role.
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"ec2.amazonaws.com"}, ""),
		Tags:             env.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	n := &nodeRole{role: role, name: roleName}
	for _, policy := range NodePolicies {
		att, err := iam.NewRolePolicyAttachment(ctx, name+"-"+kind+"-"+policy, &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", env.Partition, policy)),
		}, opts...)
		if err != nil {
			return nil, err
		}
		n.attachments = append(n.attachments, att)
	}
	return n, nil
}

// nodeGroupSpec is one managed node group as the component shapes it.
type nodeGroupSpec struct {
	workload string
	size     NodeGroup
	taints   awseks.NodeGroupTaintArray
}

// newNodeGroup makes the group's launch template and the managed node group.
//
// The group is an aws.eks.NodeGroup rather than pulumi-eks's ManagedNodeGroup because only a
// resource of our own takes ignoreChanges: the off-hours schedule owns the sizes where a stack
// has one, and `pulumi up` must not reset them. dependsOn lists what the nodes need before they can join but no
// input refers to: the node role's policies and the vpc-cni add-on.
func (p *platform) newNodeGroup(spec nodeGroupSpec, dependsOn []pulumi.Resource) (*awseks.NodeGroup, error) {
	env, name := p.env, p.name+"-"+spec.workload
	lt, err := p.launchTemplate(spec)
	if err != nil {
		return nil, err
	}
	return awseks.NewNodeGroup(p.ctx, name, &awseks.NodeGroupArgs{
		ClusterName: p.clusterName,
		// A prefix, not a name: changing instance types replaces the group, and the new one
		// must come up (under another name) before the old one drains.
		NodeGroupNamePrefix: pulumi.String(env.Naming.NameMax(36, spec.workload) + "-"),
		NodeRoleArn:         p.nodes.role.Arn,
		SubnetIds:           p.args.PrivateSubnetIDs,
		Version:             p.version,
		AmiType:             pulumi.String(spec.size.AmiType),
		CapacityType:        pulumi.String(spec.size.CapacityType),
		InstanceTypes:       pulumi.ToStringArray(spec.size.InstanceTypes),
		ScalingConfig: awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(spec.size.MinSize),
			DesiredSize: pulumi.Int(spec.size.DesiredSize),
			MaxSize:     pulumi.Int(spec.size.MaxSize),
		},
		Labels: pulumi.StringMap{WorkloadLabel: pulumi.String(spec.workload)},
		Taints: spec.taints,
		LaunchTemplate: awseks.NodeGroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: lt.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput),
		},
		UpdateConfig: awseks.NodeGroupUpdateConfigArgs{MaxUnavailablePercentage: pulumi.Int(33)},
		Tags:         env.Tags.Named(env.Naming.Name("eks", spec.workload)).With(WorkloadLabel, spec.workload).Map(),
	}, p.parent,
		pulumi.IgnoreChanges(p.ignoredScaling()),
		pulumi.DependsOn(dependsOn))
}

// ignoredScaling are the scaling settings `pulumi up` leaves alone: with scheduled scaling
// the sizes, which the schedule owns (EKS reports what a scheduled action sets on the Auto
// Scaling group as the group's scalingConfig: terraform-aws-modules/terraform-aws-eks issue
// #1222). Otherwise nothing resizes the group (Karpenter adds its own nodes instead), so the
// stack file's sizes apply.
func (p *platform) ignoredScaling() []string {
	if p.args.ScheduledScaling {
		return []string{"scalingConfig.desiredSize", "scalingConfig.minSize", "scalingConfig.maxSize"}
	}
	return nil
}

// launchTemplate carries what a managed node group cannot say itself: IMDSv2 only, with a hop
// limit of 1 so that pods cannot reach the node's credentials; an encrypted gp3 root volume
// with the cluster's key; and tags on the instances, volumes and network interfaces. It names
// no AMI (EKS picks the group's AL2023 release), no key pair (no SSH), no security group (the
// nodes get EKS's cluster security group) and no network interface (private subnets hand out
// no public addresses).
func (p *platform) launchTemplate(spec nodeGroupSpec) (*ec2.LaunchTemplate, error) {
	env := p.env
	nodeName := env.Naming.Name("eks", spec.workload)
	instanceTags := env.Tags.Named(nodeName).With(WorkloadLabel, spec.workload, "eks-cluster", p.args.Name).Map()
	var tagSpecs ec2.LaunchTemplateTagSpecificationArray
	for _, rt := range []string{"instance", "volume", "network-interface"} {
		tagSpecs = append(tagSpecs, ec2.LaunchTemplateTagSpecificationArgs{
			ResourceType: pulumi.String(rt),
			Tags:         instanceTags,
		})
	}
	return ec2.NewLaunchTemplate(p.ctx, p.name+"-"+spec.workload, &ec2.LaunchTemplateArgs{
		Name:                 pulumi.String(nodeName),
		Description:          pulumi.String("EKS " + spec.workload + " nodes of " + p.args.Name),
		UpdateDefaultVersion: pulumi.Bool(true),
		MetadataOptions: ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
			InstanceMetadataTags:    pulumi.String("disabled"),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"), // the AL2023 AMIs' root device
			Ebs: ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeSize:          pulumi.Int(spec.size.DiskSizeGiB),
				VolumeType:          pulumi.String("gp3"),
				Encrypted:           pulumi.String("true"),
				KmsKeyId:            p.key.Arn(),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		TagSpecifications: tagSpecs,
		Tags:              env.Tags.Named(nodeName).Map(),
	}, p.parent)
}

// autoscalingGroupName is the name of the Auto Scaling group EKS made for a node group.
func autoscalingGroupName(ng *awseks.NodeGroup) pulumi.StringOutput {
	return ng.Resources.ApplyT(func(rs []awseks.NodeGroupResource) (string, error) {
		for _, r := range rs {
			for _, g := range r.AutoscalingGroups {
				if g.Name != nil && *g.Name != "" {
					return *g.Name, nil
				}
			}
		}
		return "", fmt.Errorf("cluster: node group has no Auto Scaling group")
	}).(pulumi.StringOutput)
}
