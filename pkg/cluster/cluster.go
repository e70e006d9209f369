// Package cluster is CineGit's EKS cluster: a private control plane with envelope-encrypted
// secrets and full audit logging, API access entries for exactly the deploy role and an
// optional break-glass role, a managed general node group, the EKS add-ons, a default
// encrypted gp3 StorageClass, and Karpenter with a NodePool for media jobs (and optional
// pools for GPU jobs and the services' burst).
//
// The control plane comes from pulumi-eks v2 (eks.NewCluster, a remote component); the node
// groups, add-ons and everything in Kubernetes are made here, because pulumi-eks v2 can pass
// neither ignoreChanges to its node groups nor versions to add-ons.
package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// LogTypes are every control plane log type EKS offers; all of them are enabled.
var LogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// Args configure the cluster.
type Args struct {
	Env stackenv.Env
	// Name is the EKS cluster's name; the network tags its subnets for it.
	Name string
	// Version is the Kubernetes minor version of the control plane and the nodes ("1.36").
	Version string
	// VpcID and PrivateSubnetIDs place the control plane's network interfaces and the nodes.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	// EndpointPublicAccess opens the public API endpoint to PublicAccessCidrs only; the
	// private endpoint is always on.
	EndpointPublicAccess bool
	PublicAccessCidrs    []string
	// DeployRoleArn (required) and BreakGlassRoleArn (optional) are the only cluster admins.
	DeployRoleArn     string
	BreakGlassRoleArn string
	// ViewerRoleArn (optional) may read the cluster, never change it: previews and drift
	// checks run as this role.
	ViewerRoleArn string
	// PullRequestRoleArn (optional) may read the cluster except its Secrets: previews of pull
	// requests, whose code nobody has reviewed yet, run as this role.
	PullRequestRoleArn string
	// APIClientCidrs and APIClientSecurityGroupIDs are admitted to the private API endpoint
	// on 443 (a self-hosted CI runner, a VPN). EKS's cluster security group admits only its
	// own members otherwise.
	APIClientCidrs            []string
	APIClientSecurityGroupIDs []string
	// APIClientsRoutable resolves once the networks in APIClientCidrs can route to the
	// cluster (e.g. the network's peering connection ID, which waits for the routes on both
	// sides). The Kubernetes provider waits for it and for the API client rules: every
	// Kubernetes resource of the stack is created from those networks (the deploy runner), so
	// none may start before they can reach the endpoint. Optional.
	APIClientsRoutable pulumi.StringInput
	// LogRetentionDays is the control plane log group's retention.
	LogRetentionDays int
	// General sizes the managed node group the platform and the services run on.
	General NodeGroup
	// Addons pins the EKS add-on versions.
	Addons Addons
	// Karpenter provisions the nodes of media jobs and of the other pools.
	Karpenter Karpenter
	// Protect marks the control plane and its key with Pulumi's protect.
	Protect bool
	// ScheduledScaling says the node groups' minimum and maximum sizes are changed on a
	// schedule (off-hours): EKS reports sizes set on a group's Auto Scaling group as the node
	// group's scalingConfig, so `pulumi up` ignores them too and the schedule owns them.
	ScheduledScaling bool
}

// NodeGroup sizes one managed node group. DesiredSize is the size at creation only.
type NodeGroup struct {
	InstanceTypes []string
	// AmiType is an AL2023 EKS AMI type matching the instance types' architecture.
	AmiType string
	// CapacityType is ON_DEMAND or SPOT.
	CapacityType                  string
	MinSize, DesiredSize, MaxSize int
	DiskSizeGiB                   int
}

// Addons are EKS add-on versions ("v1.22.3-eksbuild.1").
type Addons struct {
	VpcCni, CoreDNS, KubeProxy, EbsCsiDriver string
}

// Cluster is the EKS component.
type Cluster struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	Endpoint    pulumi.StringOutput `pulumi:"endpoint"`
	// OidcProviderArn and OidcIssuer (host/path, no https://) are what pkg/irsa needs.
	OidcProviderArn pulumi.StringOutput `pulumi:"oidcProviderArn"`
	OidcIssuer      pulumi.StringOutput `pulumi:"oidcIssuer"`
	// NodeSecurityGroupID is EKS's cluster security group, which every managed node carries
	// (their launch templates name no security group): data stores admit it.
	NodeSecurityGroupID pulumi.StringOutput `pulumi:"nodeSecurityGroupId"`
	NodeRoleArn         pulumi.StringOutput `pulumi:"nodeRoleArn"`
	// KmsKeyArn encrypts Kubernetes secrets, the control plane logs and every node and
	// persistent volume.
	KmsKeyArn pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// ServiceCIDR is the Service (ClusterIP) range EKS assigned the cluster (10.100.0.0/16 or
	// 172.20.0.0/16 when none is asked for: KubernetesNetworkConfigResponse, EKS API reference).
	// NetworkPolicies name its first address, the API server's `kubernetes` Service.
	ServiceCIDR pulumi.StringOutput `pulumi:"serviceCidr"`
	// Kubeconfig is secret; it authenticates with `aws eks get-token` as the caller.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// KubernetesProvider talks to this cluster, built from its kubeconfig: the Kubernetes
	// resources of every other component use it. It waits for Ready.Nodes.
	KubernetesProvider *kubernetes.Provider
	// Ready is what workloads wait for: schedulable nodes and persistent volumes.
	Ready Readiness
	// GeneralAutoscalingGroupName is the Auto Scaling group EKS made for the general node group
	// (for scheduled scaling).
	GeneralAutoscalingGroupName pulumi.StringOutput `pulumi:"generalAutoscalingGroupName"`
	// KarpenterQueueName is Karpenter's interruption queue.
	KarpenterQueueName pulumi.StringOutput `pulumi:"karpenterQueueName"`
}

// New creates the cluster.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("cinegit:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	env := args.Env

	key, err := clusterKey(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	// EKS creates /aws/eks/<name>/cluster without expiry or key unless it already exists:
	// create it first, and make the cluster wait for it (below). On destroy the cluster goes
	// first; should EKS still deliver a last batch after the group is gone, its service-linked
	// role recreates the group (terraform-aws-eks issues 920, 2763), and scripts/post-destroy.sh
	// deletes it before the stack is created again (docs/destroy.md).
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-control-plane", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/eks/" + args.Name + "/cluster"),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		KmsKeyId:        key.Arn(),
		Tags:            env.Tags.Named(env.Naming.Name("eks-control-plane")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	nodes, err := newNodeRole(ctx, name, "node", "EKS managed nodes of "+env.Naming.Name("eks"), env, parent)
	if err != nil {
		return nil, err
	}

	controlPlane, err := newControlPlane(ctx, name, args, key, nodes.role, logGroup, c, parent)
	if err != nil {
		return nil, err
	}
	// EKS takes the name and version verbatim; resolving them through the cluster's own
	// output orders every consumer after the control plane and, pulumi-eks being a remote
	// component, after its access entries.
	clusterName := asRequested(controlPlane.EksCluster.Name(), args.Name)
	version := asRequested(controlPlane.EksCluster.Name(), args.Version)
	oidc := controlPlane.Core.OidcProvider()
	oidcArn := oidc.Arn()
	oidcIssuer := oidc.Url().ApplyT(func(u string) string { return strings.TrimPrefix(u, "https://") }).(pulumi.StringOutput)

	c.NodeSecurityGroupID = controlPlane.EksCluster.VpcConfig().ClusterSecurityGroupId().Elem()
	apiReady, err := apiClients(ctx, name, args, c.NodeSecurityGroupID, parent)
	if err != nil {
		return nil, err
	}
	if args.APIClientsRoutable != nil {
		apiReady = append(apiReady, args.APIClientsRoutable.ToStringOutput())
	}

	p := &platform{
		ctx: ctx, name: name, args: args, env: env, parent: parent,
		key: key, clusterName: clusterName, version: version,
		oidcArn: oidcArn, oidcIssuer: oidcIssuer, nodes: nodes,
		eksKubeconfig: controlPlane.KubeconfigJson, apiReady: apiReady,
		nodeSecurityGroup: c.NodeSecurityGroupID,
	}
	if err := p.build(); err != nil {
		return nil, err
	}

	c.ClusterName = clusterName
	c.Endpoint = controlPlane.EksCluster.Endpoint()
	c.OidcProviderArn = oidcArn
	c.OidcIssuer = oidcIssuer
	c.NodeRoleArn = nodes.role.Arn
	c.KmsKeyArn = key.Arn()
	c.ServiceCIDR = controlPlane.EksCluster.KubernetesNetworkConfig().ServiceIpv4Cidr().Elem()
	c.Kubeconfig = p.kubeconfig
	c.KubernetesProvider = p.k8s
	c.Ready = p.ready
	c.GeneralAutoscalingGroupName = autoscalingGroupName(p.general)
	c.KarpenterQueueName = p.karpenterQueue.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName":         c.ClusterName,
		"endpoint":            c.Endpoint,
		"oidcProviderArn":     c.OidcProviderArn,
		"oidcIssuer":          c.OidcIssuer,
		"nodeSecurityGroupId": c.NodeSecurityGroupID,
		"nodeRoleArn":         c.NodeRoleArn,
		"kmsKeyArn":           c.KmsKeyArn,
		"serviceCidr":         c.ServiceCIDR,
		"kubeconfig":          c.Kubeconfig,

		"generalAutoscalingGroupName": c.GeneralAutoscalingGroupName,
		"karpenterQueueName":          c.KarpenterQueueName,
	})
}

func (a Args) check() error {
	switch {
	case a.Name == "" || a.Version == "":
		return fmt.Errorf("a cluster name and Kubernetes version are required")
	case a.VpcID == nil || a.PrivateSubnetIDs == nil:
		return fmt.Errorf("VpcID and PrivateSubnetIDs are required")
	case a.DeployRoleArn == "":
		return fmt.Errorf("DeployRoleArn is required: without it nobody can administer the cluster")
	case a.DeployRoleArn == a.BreakGlassRoleArn:
		return fmt.Errorf("BreakGlassRoleArn must differ from DeployRoleArn")
	case a.EndpointPublicAccess && len(a.PublicAccessCidrs) == 0:
		return fmt.Errorf("a public endpoint needs PublicAccessCidrs")
	case a.LogRetentionDays <= 0:
		return fmt.Errorf("LogRetentionDays must be positive")
	}
	for _, cidr := range a.PublicAccessCidrs {
		if p, err := netip.ParsePrefix(cidr); err != nil || p.Bits() == 0 {
			return fmt.Errorf("public access CIDR %q must be a network narrower than 0.0.0.0/0", cidr)
		}
	}
	for group, ng := range map[string]NodeGroup{"general": a.General} {
		switch {
		case len(ng.InstanceTypes) == 0 || ng.AmiType == "" || ng.CapacityType == "":
			return fmt.Errorf("node group %s needs instance types, an AMI type and a capacity type", group)
		case !strings.HasPrefix(ng.AmiType, "AL2023_"):
			return fmt.Errorf("node group %s: AMI type %s is not AL2023", group, ng.AmiType)
		case ng.MinSize < 0 || ng.MinSize > ng.DesiredSize || ng.DesiredSize > ng.MaxSize || ng.MaxSize < 1:
			return fmt.Errorf("node group %s needs 0 <= min <= desired <= max, max >= 1", group)
		}
	}
	if a.General.MinSize < 1 {
		return fmt.Errorf("the general node group needs at least one node: CoreDNS and Karpenter run there")
	}
	if a.Karpenter.ChartVersion == "" || a.Karpenter.AmiAlias == "" {
		return fmt.Errorf("karpenter needs a chart version and an AMI alias")
	}
	for _, pool := range a.Karpenter.Pools {
		if pool.Name == "" || len(pool.Families) == 0 || len(pool.Sizes) == 0 || len(pool.CapacityTypes) == 0 || pool.CPULimit < 1 || pool.MemoryLimitGiB < 1 {
			return fmt.Errorf("node pool %q needs families, sizes, capacity types and CPU and memory limits", pool.Name)
		}
	}
	return nil
}

// clusterKey is the customer-managed key for secrets envelope encryption, the control plane
// log group and every EBS volume of the cluster.
func clusterKey(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*kmskey.Key, error) {
	env := args.Env
	// Managed node groups launch through Auto Scaling, whose service-linked role must be let
	// in by the key policy itself (IAM policies cannot be attached to it) or encrypted root
	// volumes fail to attach. The role is matched by aws:PrincipalArn rather than named as the
	// principal: a key policy naming a principal that does not exist yet (an account that
	// never had an Auto Scaling group) is rejected, and this one must not depend on history.
	asgRole := fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", env.Partition, env.AccountID)
	onlyAutoScaling := []iampolicy.Condition{
		{Test: "StringEquals", Variable: "aws:PrincipalArn", Values: iampolicy.Strings(asgRole)},
		{Test: "StringEquals", Variable: "kms:CallerAccount", Values: iampolicy.Strings(env.AccountID)},
	}
	anyone := []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings("*")}}
	return kmskey.New(ctx, name, kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " EKS: Kubernetes secrets, control plane logs, node and persistent volumes",
		Alias:               env.Naming.Name("eks"),
		AllowCloudWatchLogs: true,
		Statements: []iampolicy.Statement{
			{
				Sid:        "AutoScalingUsesKeyForNodeVolumes",
				Actions:    []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"},
				Resources:  iampolicy.Strings("*"),
				Principals: anyone,
				Conditions: onlyAutoScaling,
			},
			{
				Sid:        "AutoScalingGrantsKeyToNodeVolumes",
				Actions:    []string{"kms:CreateGrant"},
				Resources:  iampolicy.Strings("*"),
				Principals: anyone,
				Conditions: append(slices.Clone(onlyAutoScaling),
					iampolicy.Condition{Test: "Bool", Variable: "kms:GrantIsForAWSResource", Values: iampolicy.Strings("true")}),
			},
		},
	}, append(opts, pulumi.Protect(args.Protect))...)
}

// newControlPlane is pulumi-eks's cluster with no node group of its own.
func newControlPlane(ctx *pulumi.Context, name string, args Args, key *kmskey.Key, nodeRole *iam.Role,
	logGroup *cloudwatch.LogGroup, self *Cluster, opts ...pulumi.ResourceOption) (*eks.Cluster, error) {
	env := args.Env
	mode := eks.AuthenticationModeApi
	no, yes := false, true
	entries := map[string]eks.AccessEntryArgs{"deploy": clusterAdmin(env, args.DeployRoleArn)}
	if args.BreakGlassRoleArn != "" {
		entries["break-glass"] = clusterAdmin(env, args.BreakGlassRoleArn)
	}
	if args.ViewerRoleArn != "" {
		entries["viewer"] = accessEntry(env, args.ViewerRoleArn, "cluster-view", ViewPolicyArn(env.Partition))
	}
	if args.PullRequestRoleArn != "" {
		entries["pull-requests"] = accessEntry(env, args.PullRequestRoleArn, "cluster-view-no-secrets", ViewNoSecretsPolicyArn(env.Partition))
	}
	var publicCidrs pulumi.StringArrayInput
	if args.EndpointPublicAccess {
		publicCidrs = pulumi.ToStringArray(args.PublicAccessCidrs)
	}

	opts = append(opts,
		// The log group must exist before EKS starts logging; nothing in the inputs says so.
		pulumi.DependsOn([]pulumi.Resource{logGroup}),
		pulumi.Transforms([]pulumi.ResourceTransform{NoImplicitCreatorAdmin}),
		pulumi.Protect(args.Protect),
	)
	// A remote component's children only use the providers passed to it explicitly, not the
	// ones this component inherited: without this the cluster would land in the default
	// provider's region.
	if p := self.GetProvider("aws:index:Provider"); p != nil {
		opts = append(opts, pulumi.Providers(p))
	}
	return eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:             pulumi.String(args.Name),
		Version:          pulumi.String(args.Version),
		VpcId:            args.VpcID,
		PrivateSubnetIds: args.PrivateSubnetIDs,
		// Control plane.
		AuthenticationMode:     &mode,
		AccessEntries:          entries,
		EncryptionConfigKeyArn: key.Arn(),
		EnabledClusterLogTypes: pulumi.ToStringArray(LogTypes),
		EndpointPrivateAccess:  pulumi.Bool(true),
		EndpointPublicAccess:   pulumi.Bool(args.EndpointPublicAccess),
		PublicAccessCidrs:      publicCidrs,
		CreateOidcProvider:     pulumi.Bool(true),
		// Nodes are this component's managed node groups. Naming their role here keeps
		// pulumi-eks from creating an unused instance role (with the CNI policy the nodes must
		// not have); in API mode it adds no access entry for it either: EKS makes the node
		// groups' own entries.
		SkipDefaultNodeGroup:         &yes,
		InstanceRoles:                iam.RoleArray{nodeRole},
		NodeAssociatePublicIpAddress: &no,
		// The vpc-cni EKS add-on (with its own IRSA role) owns the CNI, not pulumi-eks's manifest.
		UseDefaultVpcCni: &yes,
		Tags:             env.Tags.Map(),
		ClusterTags:      env.Tags.Named(args.Name).Map(),
	}, opts...)
}

// clusterAdmin is an access entry with AmazonEKSClusterAdminPolicy on the whole cluster.
func clusterAdmin(env stackenv.Env, roleArn string) eks.AccessEntryArgs {
	return accessEntry(env, roleArn, "cluster-admin", AdminPolicyArn(env.Partition))
}

// ViewPolicyArn is EKS's read-only access policy (AmazonEKSAdminViewPolicy: every resource,
// secrets included, read only), for the role that previews and checks drift.
func ViewPolicyArn(partition string) string {
	return fmt.Sprintf("arn:%s:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy", partition)
}

// ViewNoSecretsPolicyArn is EKS's AmazonEKSViewPolicy: read most resources, but not Secrets
// ("Review access policy permissions", EKS User Guide), for pull requests' previews.
func ViewNoSecretsPolicyArn(partition string) string {
	return fmt.Sprintf("arn:%s:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", partition)
}

// accessEntry is an access entry with one access policy on the whole cluster.
func accessEntry(env stackenv.Env, roleArn, policyName, policyArn string) eks.AccessEntryArgs {
	return eks.AccessEntryArgs{
		PrincipalArn: pulumi.String(roleArn),
		Type:         eks.AccessEntryTypeStandard,
		AccessPolicies: map[string]eks.AccessPolicyAssociationInput{
			policyName: eks.AccessPolicyAssociationArgs{
				PolicyArn:   pulumi.String(policyArn),
				AccessScope: awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
			},
		},
		Tags: env.Tags.Map(),
	}
}

// AdminPolicyArn is EKS's cluster-admin access policy.
func AdminPolicyArn(partition string) string {
	return fmt.Sprintf("arn:%s:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", partition)
}

// NoImplicitCreatorAdmin turns off EKS's implicit cluster-admin for whoever creates the
// cluster. pulumi-eks v2.8.1 hard-codes accessConfig.bootstrapClusterCreatorAdminPermissions
// to true whenever an authentication mode is set (and ignores later changes to it); the
// creator (the deploy role) gets its admin rights from its explicit access entry instead, so
// that the access entries are the whole truth. The transform runs in the engine on the child
// aws:eks/cluster:Cluster that pulumi-eks registers. It only matters at creation: the field
// is create-only and pulumi-eks ignores changes to it, so existing clusters keep theirs.
func NoImplicitCreatorAdmin(_ context.Context, a *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
	if a.Type != "aws:eks/cluster:Cluster" {
		return nil
	}
	props := pulumi.Map{}
	for k, v := range a.Props {
		props[k] = v
	}
	props["accessConfig"] = pulumi.Map{
		"authenticationMode":                      pulumi.String(string(eks.AuthenticationModeApi)),
		"bootstrapClusterCreatorAdminPermissions": pulumi.Bool(false),
	}
	return &pulumi.ResourceTransformResult{Props: props, Opts: a.Opts}
}

// asRequested resolves to want once ready has resolved.
func asRequested(ready pulumi.StringOutput, want string) pulumi.StringOutput {
	return ready.ApplyT(func(string) string { return want }).(pulumi.StringOutput)
}

// WithRegion adds `--region <region>` to the `aws eks get-token` call of every user of a
// kubeconfig. pulumi-eks's kubeconfig leaves the region to the environment, so the same file
// would fail (or ask another region for a token) wherever AWS_REGION is unset or different.
func WithRegion(kubeconfig pulumi.StringOutput, region string) pulumi.StringOutput {
	return kubeconfig.ApplyT(func(kc string) (string, error) { return addRegion(kc, region) }).(pulumi.StringOutput)
}

func addRegion(kubeconfig, region string) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(kubeconfig), &doc); err != nil {
		return "", fmt.Errorf("cluster: kubeconfig is not JSON: %w", err)
	}
	users, _ := doc["users"].([]any)
	for _, u := range users {
		user, _ := u.(map[string]any)
		spec, _ := user["user"].(map[string]any)
		exec, _ := spec["exec"].(map[string]any)
		if exec == nil {
			continue
		}
		args, _ := exec["args"].([]any)
		if !slices.Contains(args, any("--region")) {
			exec["args"] = append(args, "--region", region)
		}
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// apiClients admits the configured networks and security groups to the private API endpoint,
// whose network interfaces carry EKS's cluster security group ("Cluster API server endpoint",
// EKS user guide: a connected network needs an ingress rule on 443 in the control plane's
// security group). It returns the rules' IDs, which the Kubernetes provider waits for.
func apiClients(ctx *pulumi.Context, name string, args Args, clusterSG pulumi.StringOutput, opts ...pulumi.ResourceOption) ([]pulumi.StringOutput, error) {
	var ready []pulumi.StringOutput
	rule := func(suffix, description string, cidr, sourceSG pulumi.StringPtrInput) error {
		ruleArgs := &ec2.SecurityGroupRuleArgs{
			Type:                  pulumi.String("ingress"),
			Protocol:              pulumi.String("tcp"),
			FromPort:              pulumi.Int(443),
			ToPort:                pulumi.Int(443),
			SecurityGroupId:       clusterSG,
			SourceSecurityGroupId: sourceSG,
			Description:           pulumi.String(description),
		}
		if cidr != nil {
			ruleArgs.CidrBlocks = pulumi.StringArray{cidr.ToStringPtrOutput().Elem()}
		}
		r, err := ec2.NewSecurityGroupRule(ctx, name+"-api-"+suffix, ruleArgs, opts...)
		if err == nil {
			ready = append(ready, r.ID().ToStringOutput())
		}
		return err
	}
	for _, cidr := range args.APIClientCidrs {
		if err := rule(strings.NewReplacer(".", "-", "/", "-").Replace(cidr), "Kubernetes API from "+cidr, pulumi.StringPtr(cidr), nil); err != nil {
			return nil, err
		}
	}
	for _, sg := range args.APIClientSecurityGroupIDs {
		if err := rule(sg, "Kubernetes API from "+sg, nil, pulumi.StringPtr(sg)); err != nil {
			return nil, err
		}
	}
	return ready, nil
}
