package cluster

import (
	"fmt"
	"sort"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Service accounts of the cluster's own components that call AWS (all in kube-system).
const (
	SystemNamespace          = "kube-system"
	VpcCniServiceAccount     = "aws-node"
	EbsCsiServiceAccount     = "ebs-csi-controller-sa"
	AutoscalerServiceAccount = "cluster-autoscaler"
	// AutoscalerChartRepo is where the cluster-autoscaler chart is published.
	AutoscalerChartRepo = "https://kubernetes.github.io/autoscaler"
	// DefaultStorageClass is the name of the cluster's default StorageClass.
	DefaultStorageClass = "gp3"
)

// platform builds everything that runs on or next to the control plane: node groups, add-ons,
// IRSA roles, the Kubernetes provider, storage classes and the autoscaler.
type platform struct {
	ctx    *pulumi.Context
	name   string
	args   Args
	env    stackenv.Env
	parent pulumi.ResourceOption

	key                  *kmskey.Key
	clusterName, version pulumi.StringOutput
	oidcArn, oidcIssuer  pulumi.StringOutput
	nodes                *nodeRole
	eksKubeconfig        pulumi.StringOutput

	kubeconfig pulumi.StringOutput
	k8s        *kubernetes.Provider

	general, media *awseks.NodeGroup
}

func (p *platform) build() error {
	// The CNI first: the node role has no CNI policy, so nodes only become ready once the
	// vpc-cni add-on runs aws-node with its own role. A DaemonSet add-on is ACTIVE with no
	// nodes, so it can (and must) precede them.
	cniRole, err := p.irsaRole("vpc-cni", VpcCniServiceAccount, nil, []string{p.awsPolicy("AmazonEKS_CNI_Policy")})
	if err != nil {
		return err
	}
	vpcCni, err := p.addon("vpc-cni", "vpc-cni", p.args.Addons.VpcCni, cniRole.Arn)
	if err != nil {
		return err
	}
	if _, err := p.addon("kube-proxy", "kube-proxy", p.args.Addons.KubeProxy, nil); err != nil {
		return err
	}

	nodeDeps := append([]pulumi.Resource{vpcCni}, p.nodes.attachments...)
	general, err := p.newNodeGroup(nodeGroupSpec{workload: GeneralWorkload, size: p.args.General}, nodeDeps)
	if err != nil {
		return err
	}
	media, err := p.newNodeGroup(nodeGroupSpec{
		workload: MediaWorkload,
		size:     p.args.Media,
		taints: awseks.NodeGroupTaintArray{awseks.NodeGroupTaintArgs{
			Key:    pulumi.String(MediaTaint.Key),
			Value:  pulumi.String(MediaTaint.Value),
			Effect: pulumi.String("NO_SCHEDULE"), // EKS's spelling of NoSchedule
		}},
	}, nodeDeps)
	if err != nil {
		return err
	}
	p.general, p.media = general, media
	if err := p.scaleFromZeroTags(media, MediaWorkload, true); err != nil {
		return err
	}

	// CoreDNS and the EBS CSI controller are Deployments: EKS reports them DEGRADED, and the
	// provider fails, until a node can run them. They wait for the general group (the media
	// group's taint keeps them off it anyway).
	afterNodes := pulumi.DependsOn([]pulumi.Resource{general})
	if _, err := p.addon("coredns", "coredns", p.args.Addons.CoreDNS, nil, afterNodes); err != nil {
		return err
	}
	ebsRole, err := p.irsaRole("ebs-csi", EbsCsiServiceAccount, p.ebsKeyPolicy(), []string{p.awsPolicy("service-role/AmazonEBSCSIDriverPolicy")})
	if err != nil {
		return err
	}
	if _, err := p.addon("ebs-csi", "aws-ebs-csi-driver", p.args.Addons.EbsCsiDriver, ebsRole.Arn, afterNodes); err != nil {
		return err
	}

	// Kubernetes: a provider built from this cluster's kubeconfig, never from $KUBECONFIG.
	if err := p.kubernetesProvider(); err != nil {
		return err
	}
	if err := p.storageClasses(); err != nil {
		return err
	}
	return p.autoscaler(general, media)
}

// awsPolicy is the ARN of an AWS managed policy.
func (p *platform) awsPolicy(path string) string {
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", p.env.Partition, path)
}

func (p *platform) irsaRole(suffix, serviceAccount string, policy pulumi.StringInput, managed []string) (*iam.Role, error) {
	return irsa.NewRole(p.ctx, p.name+"-"+suffix, irsa.Args{
		Env:               p.env,
		OidcProviderArn:   p.oidcArn,
		OidcIssuer:        p.oidcIssuer,
		Namespace:         SystemNamespace,
		ServiceAccount:    serviceAccount,
		Policy:            policy,
		ManagedPolicyArns: managed,
		Description:       fmt.Sprintf("%s/%s on %s", SystemNamespace, serviceAccount, p.args.Name),
	}, p.parent)
}

// addon installs an EKS add-on at a pinned version. OVERWRITE on create adopts the
// self-managed copy EKS installed with the cluster; on update it keeps the add-on as declared.
func (p *platform) addon(suffix, addonName, version string, roleArn pulumi.StringPtrInput, opts ...pulumi.ResourceOption) (*awseks.Addon, error) {
	return awseks.NewAddon(p.ctx, p.name+"-"+suffix, &awseks.AddonArgs{
		ClusterName:              p.clusterName,
		AddonName:                pulumi.String(addonName),
		AddonVersion:             pulumi.String(version),
		ServiceAccountRoleArn:    roleArn,
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
		Tags:                     p.env.Tags.Named(p.args.Name + "-" + addonName).Map(),
	}, append([]pulumi.ResourceOption{p.parent}, opts...)...)
}

// ebsKeyPolicy lets the EBS CSI controller create volumes encrypted with the cluster's key:
// the key material operations, and grants only for AWS resources (the volumes themselves).
func (p *platform) ebsKeyPolicy() pulumi.StringOutput {
	key := pulumi.StringArray{p.key.Arn()}
	return iampolicy.Document(
		iampolicy.Allow("UseClusterKeyForVolumes",
			[]string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"}, key),
		iampolicy.Statement{
			Sid:        "GrantClusterKeyToVolumes",
			Actions:    []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"},
			Resources:  key,
			Conditions: []iampolicy.Condition{{Test: "Bool", Variable: "kms:GrantIsForAWSResource", Values: iampolicy.Strings("true")}},
		},
	)
}

func (p *platform) kubernetesProvider() error {
	// The kubeconfig waits for the whole pulumi-eks component, access entries included, so the
	// deploy role is cluster-admin before anything talks to the API server.
	p.kubeconfig = pulumi.ToSecret(WithRegion(p.eksKubeconfig, p.env.Region)).(pulumi.StringOutput)
	k8s, err := kubernetes.NewProvider(p.ctx, p.name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig:            p.kubeconfig,
		EnableServerSideApply: pulumi.Bool(true),
	}, p.parent)
	p.k8s = k8s
	return err
}

// storageClasses make an encrypted gp3 class (on the cluster's key) the default, and take the
// default annotation off EKS's legacy gp2 class (which clusters before 1.30 carry). The patch
// is server-side apply of one annotation; patchForce takes it over from EKS's field manager.
func (p *platform) storageClasses() error {
	k8s := pulumi.Provider(p.k8s)
	if _, err := storagev1.NewStorageClass(p.ctx, p.name+"-"+DefaultStorageClass, &storagev1.StorageClassArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(DefaultStorageClass),
			Annotations: pulumi.StringMap{"storageclass.kubernetes.io/is-default-class": pulumi.String("true")},
		},
		Provisioner: pulumi.String("ebs.csi.aws.com"),
		Parameters: pulumi.StringMap{
			"type":                      pulumi.String("gp3"),
			"encrypted":                 pulumi.String("true"),
			"kmsKeyId":                  p.key.Arn(),
			"csi.storage.k8s.io/fstype": pulumi.String("ext4"),
		},
		ReclaimPolicy: pulumi.String("Delete"),
		// A volume is made in the zone its pod was scheduled to, not in a random one.
		VolumeBindingMode:    pulumi.String("WaitForFirstConsumer"),
		AllowVolumeExpansion: pulumi.Bool(true),
	}, p.parent, k8s); err != nil {
		return err
	}
	_, err := storagev1.NewStorageClassPatch(p.ctx, p.name+"-gp2-not-default", &storagev1.StorageClassPatchArgs{
		Metadata: &metav1.ObjectMetaPatchArgs{
			Name: pulumi.String("gp2"),
			Annotations: pulumi.StringMap{
				"storageclass.kubernetes.io/is-default-class": pulumi.String("false"),
				"pulumi.com/patchForce":                       pulumi.String("true"),
			},
		},
	}, p.parent, k8s)
	return err
}

// autoscaler installs cluster-autoscaler with an IRSA role that may resize exactly this
// cluster's node groups.
func (p *platform) autoscaler(groups ...*awseks.NodeGroup) error {
	role, err := p.irsaRole("autoscaler", AutoscalerServiceAccount, p.autoscalerPolicy(groups), nil)
	if err != nil {
		return err
	}
	a := p.args.Autoscaler
	_, err = helmv3.NewRelease(p.ctx, p.name+"-autoscaler", &helmv3.ReleaseArgs{
		Name:           pulumi.String("cluster-autoscaler"),
		Chart:          pulumi.String("cluster-autoscaler"),
		Version:        pulumi.String(a.ChartVersion),
		RepositoryOpts: helmv3.RepositoryOptsArgs{Repo: pulumi.String(AutoscalerChartRepo)},
		Namespace:      pulumi.String(SystemNamespace),
		CleanupOnFail:  pulumi.Bool(true),
		Values: pulumi.Map{
			"cloudProvider": pulumi.String("aws"),
			// Pods cannot read the region from instance metadata (hop limit 1).
			"awsRegion":     pulumi.String(p.env.Region),
			"autoDiscovery": pulumi.Map{"clusterName": p.clusterName},
			"image":         pulumi.Map{"tag": pulumi.String(a.ImageTag)},
			"rbac": pulumi.Map{"serviceAccount": pulumi.Map{
				"create":      pulumi.Bool(true),
				"name":        pulumi.String(AutoscalerServiceAccount),
				"annotations": pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn},
			}},
			"extraArgs": pulumi.Map{
				"balance-similar-node-groups":   pulumi.Bool(true),
				"skip-nodes-with-local-storage": pulumi.Bool(false),
				"expander":                      pulumi.String("least-waste"),
			},
			"nodeSelector": pulumi.StringMap{WorkloadLabel: pulumi.String(GeneralWorkload)},
		},
		// The chart's Deployment only becomes ready on a node; the release would time out
		// while the general group is still being created.
	}, p.parent, pulumi.Provider(p.k8s), pulumi.DependsOn([]pulumi.Resource{groups[0]}))
	return err
}

// autoscalerPolicy is the autoscaler's IAM policy. Describe calls take no resource but "*".
// Resizing is limited twice: to the Auto Scaling groups of this cluster's node groups (exact
// names; the * in their ARNs is the group's UUID) and to groups EKS tagged as owned by this
// cluster. eks:DescribeNodegroup lets it read labels and taints of empty groups.
func (p *platform) autoscalerPolicy(groups []*awseks.NodeGroup) pulumi.StringOutput {
	env := p.env
	asgArns, groupArns := pulumi.StringArray{}, pulumi.StringArray{}
	for _, g := range groups {
		asgArns = append(asgArns, pulumi.Sprintf("arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s",
			env.Partition, env.Region, env.AccountID, autoscalingGroupName(g)))
		groupArns = append(groupArns, g.Arn)
	}
	return iampolicy.Document(
		iampolicy.Allow("DiscoverNodeGroups", []string{
			"autoscaling:DescribeAutoScalingGroups",
			"autoscaling:DescribeAutoScalingInstances",
			"autoscaling:DescribeLaunchConfigurations",
			"autoscaling:DescribeScalingActivities",
			"autoscaling:DescribeTags",
			"ec2:DescribeImages",
			"ec2:DescribeInstanceTypes",
			"ec2:DescribeLaunchTemplateVersions",
			"ec2:GetInstanceTypesFromInstanceRequirements",
		}, iampolicy.Strings("*")),
		iampolicy.Statement{
			Sid:       "ResizeThisClustersNodeGroups",
			Actions:   []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"},
			Resources: asgArns,
			Conditions: []iampolicy.Condition{{
				Test:     "StringEquals",
				Variable: "aws:ResourceTag/k8s.io/cluster-autoscaler/" + p.args.Name,
				Values:   iampolicy.Strings("owned"),
			}},
		},
		iampolicy.Allow("ReadThisClustersNodeGroups", []string{"eks:DescribeNodegroup"}, groupArns),
	)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
