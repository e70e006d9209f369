package cluster

import (
	"encoding/json"
	"fmt"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// Service accounts of the cluster's own components that call AWS (all in kube-system).
const (
	SystemNamespace      = "kube-system"
	VpcCniServiceAccount = "aws-node"
	EbsCsiServiceAccount = "ebs-csi-controller-sa"
	// DefaultStorageClass is the name of the cluster's default StorageClass.
	DefaultStorageClass = "gp3"
)

// platform builds everything that runs on or next to the control plane: the general node
// group, add-ons, IRSA roles, the Kubernetes provider, storage classes and Karpenter.
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
	// apiReady resolve once the API clients (the deploy runner) can reach the endpoint.
	apiReady []pulumi.StringOutput

	kubeconfig pulumi.StringOutput
	k8s        *kubernetes.Provider
	ready      Readiness

	general        *awseks.NodeGroup
	karpenterQueue *sqs.Queue
	// nodeSecurityGroup is EKS's cluster security group, which Karpenter's nodes join too.
	nodeSecurityGroup pulumi.StringOutput
}

// Readiness is what Kubernetes workloads on the cluster wait for. Components do not import
// each other: main.go hands these resources to the platform components' Args.
type Readiness struct {
	// Nodes are the general node group and the add-ons that make its nodes usable: vpc-cni
	// (a node is NotReady until the CNI runs), kube-proxy (Service virtual IPs, the API
	// server's included) and CoreDNS (name resolution). Every Kubernetes object of the stack
	// waits for them through the Kubernetes provider.
	Nodes []pulumi.Resource
	// Storage is the EBS CSI add-on and the default StorageClass: a PersistentVolumeClaim
	// stays Pending without either, and a Helm release whose pods mount one times out.
	Storage []pulumi.Resource
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
	kubeProxy, err := p.addon("kube-proxy", "kube-proxy", p.args.Addons.KubeProxy, nil)
	if err != nil {
		return err
	}

	nodeDeps := append([]pulumi.Resource{vpcCni}, p.nodes.attachments...)
	general, err := p.newNodeGroup(nodeGroupSpec{workload: GeneralWorkload, size: p.args.General}, nodeDeps)
	if err != nil {
		return err
	}
	p.general = general

	// CoreDNS and the EBS CSI controller are Deployments: EKS reports them DEGRADED, and the
	// provider fails, until a node can run them. They wait for the general group (the media
	// group's taint keeps them off it anyway).
	afterNodes := pulumi.DependsOn([]pulumi.Resource{general})
	coreDNS, err := p.addon("coredns", "coredns", p.args.Addons.CoreDNS, nil, afterNodes)
	if err != nil {
		return err
	}
	ebsRole, err := p.irsaRole("ebs-csi", EbsCsiServiceAccount, p.ebsKeyPolicy(), []string{p.awsPolicy("service-role/AmazonEBSCSIDriverPolicy")})
	if err != nil {
		return err
	}
	ebsCsi, err := p.addon("ebs-csi", "aws-ebs-csi-driver", p.args.Addons.EbsCsiDriver, ebsRole.Arn, afterNodes)
	if err != nil {
		return err
	}

	// Kubernetes: a provider built from this cluster's kubeconfig, never from $KUBECONFIG,
	// that waits for schedulable nodes.
	p.ready.Nodes = []pulumi.Resource{general, vpcCni, kubeProxy, coreDNS}
	if err := p.kubernetesProvider(); err != nil {
		return err
	}
	gp3, err := p.storageClasses()
	if err != nil {
		return err
	}
	p.ready.Storage = []pulumi.Resource{ebsCsi, gp3}
	return p.karpenter()
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

// VpcCniConfiguration turns on the VPC CNI's network policy agent, so that NetworkPolicies are
// enforced (EKS user guide, "Restrict Pod network traffic with Kubernetes network policies":
// add-on v1.14.0 or later, configuration value enableNetworkPolicy "true").
const VpcCniConfiguration = `{"enableNetworkPolicy":"true"}`

// EbsCsiConfiguration gives every volume the driver provisions the stack's tags
// (controller.extraVolumeTags in the add-on's configuration schema), so that a persistent
// volume that outlives its claim, or the cluster, is found by the stack's tags after a destroy
// (scripts/post-destroy.sh); the driver's own tags (CSIVolumeName, kubernetes.io/created-for/*)
// stay ("Tagging", aws-ebs-csi-driver docs).
func EbsCsiConfiguration(t tags.Set) string {
	b, _ := json.Marshal(map[string]any{"controller": map[string]any{"extraVolumeTags": t}})
	return string(b)
}

// addon installs an EKS add-on at a pinned version. OVERWRITE on create adopts the
// self-managed copy EKS installed with the cluster; on update it keeps the add-on as declared.
func (p *platform) addon(suffix, addonName, version string, roleArn pulumi.StringPtrInput, opts ...pulumi.ResourceOption) (*awseks.Addon, error) {
	var configuration pulumi.StringPtrInput
	switch addonName {
	case "vpc-cni":
		configuration = pulumi.String(VpcCniConfiguration)
	case "aws-ebs-csi-driver":
		configuration = pulumi.String(EbsCsiConfiguration(p.env.Tags))
	}
	return awseks.NewAddon(p.ctx, p.name+"-"+suffix, &awseks.AddonArgs{
		ConfigurationValues:      configuration,
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
	// The provider's kubeconfig also waits for the API client rules and routes: pulumi runs in
	// the deploy runner VPC, and a Kubernetes call before they exist would time out. This is a
	// data dependency, so nothing else is serialized.
	providerKubeconfig := p.kubeconfig
	if len(p.apiReady) > 0 {
		inputs := []any{p.kubeconfig}
		for _, r := range p.apiReady {
			inputs = append(inputs, r)
		}
		providerKubeconfig = pulumi.ToSecret(pulumi.All(inputs...).ApplyT(func(v []any) string { return v[0].(string) })).(pulumi.StringOutput)
	}
	// Every Helm release of the stack waits for its workloads: the platform components' install
	// atomically (Helm waits until Deployments and StatefulSets have ready pods and rolls back
	// after the timeout: "--atomic ... the --wait flag will be set automatically",
	// https://helm.sh/docs/helm/helm_install/), and Pulumi's Release awaits its resources unless
	// skipAwait is set (https://www.pulumi.com/registry/packages/kubernetes/api-docs/helm/v3/release/).
	// A pod is only scheduled to a Ready node, and a node is Ready once its CNI runs
	// (https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html); an EKS node group
	// becomes ACTIVE when its nodes have joined. So the provider, which every Kubernetes object
	// of the stack uses, waits for the node group and the add-ons that make its nodes usable:
	// one edge where all of them meet. Objects that run no pod (namespaces, ConfigMaps, the
	// StorageClass) wait too, but they take seconds while the node group boots for minutes, so
	// the critical path (control plane, nodes, releases) is unchanged.
	k8s, err := kubernetes.NewProvider(p.ctx, p.name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig:            providerKubeconfig,
		EnableServerSideApply: pulumi.Bool(true),
	}, p.parent, pulumi.DependsOn(p.ready.Nodes))
	p.k8s = k8s
	return err
}

// storageClasses make an encrypted gp3 class (on the cluster's key) the default, and take the
// default annotation off EKS's legacy gp2 class (which clusters before 1.30 carry). The patch
// is server-side apply of one annotation; patchForce takes it over from EKS's field manager.
func (p *platform) storageClasses() (*storagev1.StorageClass, error) {
	k8s := pulumi.Provider(p.k8s)
	gp3, err := storagev1.NewStorageClass(p.ctx, p.name+"-"+DefaultStorageClass, &storagev1.StorageClassArgs{
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
	}, p.parent, k8s)
	if err != nil {
		return nil, err
	}
	_, err = storagev1.NewStorageClassPatch(p.ctx, p.name+"-gp2-not-default", &storagev1.StorageClassPatchArgs{
		Metadata: &metav1.ObjectMetaPatchArgs{
			Name: pulumi.String("gp2"),
			Annotations: pulumi.StringMap{
				"storageclass.kubernetes.io/is-default-class": pulumi.String("false"),
				"pulumi.com/patchForce":                       pulumi.String("true"),
			},
		},
	}, p.parent, k8s)
	return gp3, err
}
