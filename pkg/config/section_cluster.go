package config

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// ClusterConfig is the `cluster` section: the EKS control plane, its managed general node
// group, its EKS add-ons and Karpenter with its NodePools.
type ClusterConfig struct {
	// Version is the Kubernetes minor version of the control plane and the nodes, one of
	// EKSVersions (those in EKS standard support). Default "1.36".
	Version string `json:"version"`
	// EndpointPublicAccess opens the API server's public endpoint, reachable only from
	// PublicAccessCidrs. The private endpoint is always on. Default false.
	EndpointPublicAccess bool `json:"endpointPublicAccess"`
	// PublicAccessCidrs are the IPv4 networks allowed to reach the public endpoint; required
	// (and only allowed) with EndpointPublicAccess; 0.0.0.0/0 is rejected.
	PublicAccessCidrs []string `json:"publicAccessCidrs"`
	// DeployRoleName is the IAM role (in the stack's account, no path) that runs `pulumi up`;
	// it gets cluster-admin through an access entry. Default "cinegit-runner-deploy", the role
	// the bootstrap project's deploy runner (CodeBuild) runs as.
	DeployRoleName string `json:"deployRoleName"`
	// BreakGlassRoleName is an optional second IAM role that gets cluster-admin, for humans in
	// an emergency. Nobody else is cluster-admin. Default none.
	BreakGlassRoleName string `json:"breakGlassRoleName"`
	// ViewerRoleName is an IAM role that may read (not change) the cluster, Secrets included,
	// so that `pulumi preview` of the default branch and the drift check see Kubernetes
	// resources. Default
	// "cinegit-runner-preview", the role the bootstrap project's preview runner runs as;
	// "none" for no viewer.
	ViewerRoleName string `json:"viewerRoleName"`
	// PullRequestRoleName is an IAM role that may read the cluster except its Secrets
	// (AmazonEKSViewPolicy), so that `pulumi preview` of a pull request's unreviewed code sees
	// Kubernetes resources but no secret. Default "cinegit-runner-pr", the role the bootstrap
	// project's pull-request runner runs as; "none" for none.
	PullRequestRoleName string `json:"pullRequestRoleName"`
	// APIClientCidrs are further networks inside the VPC or joined to it (a VPN) admitted to
	// the private API endpoint on 443; the deploy runner's block (deployRunner.cidr) always is.
	// Default none.
	APIClientCidrs []string `json:"apiClientCidrs"`
	// APIClientSecurityGroupIDs are security groups (e.g. the CI runner's) admitted to the
	// private API endpoint on 443. Default none.
	APIClientSecurityGroupIDs []string `json:"apiClientSecurityGroupIds"`
	// LogRetentionDays is the retention of the control plane log group (a CloudWatch Logs
	// value). Default 90.
	LogRetentionDays int `json:"logRetentionDays"`
	// General is the managed node group the platform (Karpenter included) and the services
	// run on. Nothing autoscales it: its size is the stack file's (and off-hours' schedule);
	// pods beyond it go to cluster.karpenter.general where the stack has that pool.
	General NodeGroupConfig `json:"general"`
	// Addons pins the EKS add-on versions.
	Addons AddonVersions `json:"addons"`
	// Karpenter provisions the nodes of media jobs (and of GPU jobs and the services' burst
	// where configured).
	Karpenter KarpenterConfig `json:"karpenter"`
}

// NodeGroupConfig sizes the managed general node group. The desired size is only the size at
// creation: afterwards the off-hours schedule, where the stack has one, owns it.
type NodeGroupConfig struct {
	// InstanceTypes are EC2 instance types of one CPU architecture (the AMI follows it:
	// AL2023 x86_64 or, for Graviton types, AL2023 ARM64). Default ["m7i.large"].
	InstanceTypes []string `json:"instanceTypes"`
	// CapacityType is ON_DEMAND or SPOT (SPOT needs at least two instance types, so that one
	// exhausted spot pool does not stop the group). Default ON_DEMAND.
	CapacityType string `json:"capacityType"`
	// MinSize, DesiredSize and MaxSize bound the group: 0 <= min <= desired <= max, max >= 1.
	// The general group keeps at least one node (two where the stack requires HA). Default
	// 2/2/4.
	MinSize     int  `json:"minSize"`
	DesiredSize *int `json:"desiredSize"`
	MaxSize     int  `json:"maxSize"`
	// DiskSizeGiB is the gp3 root volume, encrypted with the cluster's key (20-16384).
	// Default 50.
	DiskSizeGiB int `json:"diskSizeGiB"`
}

// AddonVersions pins each EKS add-on ("v1.22.3-eksbuild.1"); see `aws eks
// describe-addon-versions --kubernetes-version <version>`. Defaults are the versions for 1.36.
type AddonVersions struct {
	VpcCni       string `json:"vpcCni"`
	CoreDNS      string `json:"coreDns"`
	KubeProxy    string `json:"kubeProxy"`
	EbsCsiDriver string `json:"ebsCsiDriver"`
}

// Capacity types of managed node groups.
const (
	CapacityOnDemand = "ON_DEMAND"
	CapacitySpot     = "SPOT"
)

// EKSVersions are the Kubernetes versions in EKS standard support, with the day it ends: data
// (kubernetes-versions.json) that one pull request changes when EKS releases or retires a
// version. A version past its day costs extended-support fees and must not be pinned.
var EKSVersions = func() []EKSVersion {
	var doc struct{ Versions []EKSVersion }
	if err := json.Unmarshal(kubernetesVersions, &doc); err != nil || len(doc.Versions) == 0 {
		panic(fmt.Sprintf("kubernetes-versions.json: %v", err))
	}
	return doc.Versions
}()

// EKSVersion is one entry of kubernetes-versions.json.
type EKSVersion struct {
	Version             string `json:"version"`
	StandardSupportEnds string `json:"standardSupportEnds"`
}

//go:embed kubernetes-versions.json
var kubernetesVersions []byte

// PlannedKubernetesVersion is a version `plan --kubernetes-version` may plan before it is in
// kubernetes-versions.json (an upgrade prepared before EKS releases it). Only the offline plan
// sets it; a deployment never does, so it cannot deploy a version EKS does not support.
var PlannedKubernetesVersion string

var (
	eksAddonVersion = regexp.MustCompile(`^v([0-9]+)\.([0-9]+)\.([0-9]+)-eksbuild\.[0-9]+$`)
	chartVersion    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	iamRoleName     = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	// instanceType is family.size, e.g. c7i.2xlarge, m7i-flex.large, c7gn.metal-48xl.
	instanceType = regexp.MustCompile(`^([a-z][a-z0-9-]*[0-9][a-z0-9-]*)\.(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)$`)
	// family splits an instance family into series, generation and attributes (c, 7, gn).
	family = regexp.MustCompile(`^([a-z]+)([0-9]+)([a-z0-9-]*)$`)
)

// Architectures of instance types, named as EKS AMI types name them.
const (
	ArchX86   = "x86_64"
	ArchARM64 = "ARM_64"
)

// InstanceArch returns the CPU architecture of an instance type: ARM_64 for Graviton types
// (an attribute letter g after the generation, as in c7g, c7gn, m8gd, t4g, x2gd, and a1),
// x86_64 otherwise.
func InstanceArch(instanceType string) string {
	fam, _, _ := strings.Cut(instanceType, ".")
	if fam == "a1" {
		return ArchARM64
	}
	m := family.FindStringSubmatch(fam)
	if m != nil && strings.Contains(m[3], "g") {
		return ArchARM64
	}
	return ArchX86
}

// AmiType is the EKS AMI type of the group: AL2023 for the group's architecture.
func (n NodeGroupConfig) AmiType() string {
	if len(n.InstanceTypes) > 0 && InstanceArch(n.InstanceTypes[0]) == ArchARM64 {
		return "AL2023_ARM_64_STANDARD"
	}
	return "AL2023_x86_64_STANDARD"
}

// Desired is DesiredSize after defaults.
func (n NodeGroupConfig) Desired() int {
	if n.DesiredSize == nil {
		return n.MinSize
	}
	return *n.DesiredSize
}

func (c *ClusterConfig) applyDefaults(env Env) {
	if c.Version == "" {
		c.Version = "1.36"
	}
	if c.DeployRoleName == "" {
		c.DeployRoleName = "cinegit-runner-deploy"
	}
	if c.ViewerRoleName == "" {
		c.ViewerRoleName = "cinegit-runner-preview"
	}
	if c.PullRequestRoleName == "" {
		c.PullRequestRoleName = "cinegit-runner-pr"
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = 90
	}
	c.General.defaults([]string{"m7i.large"}, 2, 4, 50)
	c.Karpenter.applyDefaults(c.General)
	a := &c.Addons
	for _, d := range []struct {
		field *string
		value string
	}{
		{&a.VpcCni, "v1.22.3-eksbuild.1"},
		{&a.CoreDNS, "v1.14.3-eksbuild.3"},
		{&a.KubeProxy, "v1.36.0-eksbuild.9"},
		{&a.EbsCsiDriver, "v1.66.0-eksbuild.1"},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
}

// defaults fills an unset group; sizes are only defaulted when the group names no size at all,
// so that a stack's explicit zero minimum stays zero.
func (n *NodeGroupConfig) defaults(types []string, minSize, maxSize, disk int) {
	if len(n.InstanceTypes) == 0 {
		n.InstanceTypes = types
	}
	if n.CapacityType == "" {
		n.CapacityType = CapacityOnDemand
	}
	if n.MinSize == 0 && n.MaxSize == 0 && n.DesiredSize == nil {
		n.MinSize, n.MaxSize = minSize, maxSize
	}
	if n.DesiredSize == nil {
		d := n.MinSize
		n.DesiredSize = &d
	}
	if n.DiskSizeGiB == 0 {
		n.DiskSizeGiB = disk
	}
}

func (c *ClusterConfig) validate(p *problems, env Env) {
	minor, versionOK := c.validateVersion(p)

	if c.EndpointPublicAccess && env.Rules.RequirePrivateEndpoint {
		p.add("cluster.endpointPublicAccess", c.EndpointPublicAccess, "false for stack %q: its API endpoint is private (CI runs in the deploy runner VPC)", env.Stack)
	}
	if c.EndpointPublicAccess && len(c.PublicAccessCidrs) == 0 {
		p.add("cluster.publicAccessCidrs", c.PublicAccessCidrs, "at least one IPv4 CIDR when endpointPublicAccess is true (the public endpoint is never open to all)")
	}
	if !c.EndpointPublicAccess && len(c.PublicAccessCidrs) > 0 {
		p.add("cluster.publicAccessCidrs", c.PublicAccessCidrs, "empty while endpointPublicAccess is false (the private endpoint needs no allow list)")
	}
	for i, cidr := range c.PublicAccessCidrs {
		key := fmt.Sprintf("cluster.publicAccessCidrs[%d]", i)
		pfx, err := netip.ParsePrefix(cidr)
		switch {
		case err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx:
			p.add(key, cidr, "an IPv4 network in CIDR notation with no host bits set, e.g. 203.0.113.0/24")
		case pfx.Bits() == 0:
			p.add(key, cidr, "a network narrower than 0.0.0.0/0 (the API server is not open to the internet)")
		case pfx.Addr().IsPrivate() || pfx.Addr().IsLoopback():
			p.add(key, cidr, "a public network: the public endpoint only ever sees public source addresses (use the private endpoint from inside the VPC)")
		}
	}

	for _, r := range []struct{ key, name string }{
		{"cluster.deployRoleName", c.DeployRoleName},
		{"cluster.breakGlassRoleName", c.BreakGlassRoleName},
		{"cluster.viewerRoleName", c.ViewerRoleName},
		{"cluster.pullRequestRoleName", c.PullRequestRoleName},
	} {
		if r.name != "" && r.name != NoViewer && !iamRoleName.MatchString(r.name) {
			p.add(r.key, r.name, "an IAM role name (1-64 of letters, digits and +=,.@_-, no path)")
		}
	}
	if c.DeployRoleName == "" {
		p.add("cluster.deployRoleName", c.DeployRoleName, "the IAM role that deploys the stack")
	}
	if c.ViewerRoleName == c.DeployRoleName || (c.ViewerRoleName != "" && c.ViewerRoleName == c.BreakGlassRoleName) {
		p.add("cluster.viewerRoleName", c.ViewerRoleName, "a role other than deployRoleName and breakGlassRoleName (or %q)", NoViewer)
	}
	if c.PullRequestRoleName != NoViewer && (c.PullRequestRoleName == c.DeployRoleName || c.PullRequestRoleName == c.ViewerRoleName || c.PullRequestRoleName == c.BreakGlassRoleName) {
		p.add("cluster.pullRequestRoleName", c.PullRequestRoleName, "a role of its own: pull requests' previews run unreviewed code (or %q)", NoViewer)
	}
	for i, cidr := range c.APIClientCidrs {
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx || !pfx.Addr().IsPrivate() {
			p.add(fmt.Sprintf("cluster.apiClientCidrs[%d]", i), cidr, "a private IPv4 network in CIDR notation (the private endpoint is reached from inside the VPC or a joined network)")
		}
	}
	for i, id := range c.APIClientSecurityGroupIDs {
		if !securityGroupID.MatchString(id) {
			p.add(fmt.Sprintf("cluster.apiClientSecurityGroupIds[%d]", i), id, "a security group id, sg- followed by 8 or 17 hex digits")
		}
	}
	if c.BreakGlassRoleName != "" && c.BreakGlassRoleName == c.DeployRoleName {
		p.add("cluster.breakGlassRoleName", c.BreakGlassRoleName, "a role other than deployRoleName (or empty)")
	}
	if !validRetention(c.LogRetentionDays) {
		p.add("cluster.logRetentionDays", c.LogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}

	c.General.validate(p, "cluster.general")
	c.Karpenter.validate(p, c.General)
	if c.General.MinSize < 1 {
		p.add("cluster.general.minSize", c.General.MinSize, "at least 1: CoreDNS, Karpenter and every service run on the general group")
	}
	if env.Rules.RequireHA && c.General.MinSize < 2 {
		p.add("cluster.general.minSize", c.General.MinSize, "at least 2 for stack %q (one node's loss must not stop the cluster's services)", env.Stack)
	}

	a := c.Addons
	for _, ad := range []struct{ key, value string }{
		{"cluster.addons.vpcCni", a.VpcCni},
		{"cluster.addons.coreDns", a.CoreDNS},
		{"cluster.addons.kubeProxy", a.KubeProxy},
		{"cluster.addons.ebsCsiDriver", a.EbsCsiDriver},
	} {
		if !eksAddonVersion.MatchString(ad.value) {
			p.add(ad.key, ad.value, "an EKS add-on version like v1.22.3-eksbuild.1 (see aws eks describe-addon-versions)")
		}
	}
	// kube-proxy is built per Kubernetes minor: EKS only offers the cluster's own.
	if m := eksAddonVersion.FindStringSubmatch(a.KubeProxy); m != nil && versionOK && m[2] != minor {
		p.add("cluster.addons.kubeProxy", a.KubeProxy, "a kube-proxy build for Kubernetes %s (v1.%s.x-eksbuild.N)", c.Version, minor)
	}
}

// validateVersion checks the Kubernetes version and returns its minor number.
func (c *ClusterConfig) validateVersion(p *problems) (string, bool) {
	supported := make([]string, len(EKSVersions))
	for i, v := range EKSVersions {
		supported[i] = v.Version
	}
	if !slices.Contains(supported, c.Version) && (PlannedKubernetesVersion == "" || c.Version != PlannedKubernetesVersion) {
		p.add("cluster.version", c.Version, "a Kubernetes version in EKS standard support: %s", strings.Join(supported, ", "))
		return "", false
	}
	_, minor, _ := strings.Cut(c.Version, ".")
	return minor, true
}

func (n NodeGroupConfig) validate(p *problems, key string) {
	if len(n.InstanceTypes) == 0 {
		p.add(key+".instanceTypes", n.InstanceTypes, "at least one EC2 instance type")
	}
	seen := map[string]bool{}
	arch := ""
	for i, t := range n.InstanceTypes {
		k := fmt.Sprintf("%s.instanceTypes[%d]", key, i)
		m := instanceType.FindStringSubmatch(t)
		switch {
		case m == nil:
			p.add(k, t, "an EC2 instance type like m7i.large or c7i.2xlarge")
			continue
		case seen[t]:
			p.add(k, t, "each instance type once (duplicate)")
		case arch != "" && InstanceArch(t) != arch:
			p.add(k, t, "the same CPU architecture as %s (%s): a node group has one AMI", n.InstanceTypes[0], arch)
		}
		seen[t] = true
		if arch == "" {
			arch = InstanceArch(t)
		}
	}
	switch n.CapacityType {
	case CapacityOnDemand:
	case CapacitySpot:
		if len(n.InstanceTypes) < 2 {
			p.add(key+".capacityType", n.CapacityType, "SPOT only with at least two instance types (one exhausted spot pool must not stop the group), or ON_DEMAND")
		}
	default:
		p.add(key+".capacityType", n.CapacityType, "%q or %q", CapacityOnDemand, CapacitySpot)
	}
	desired := n.Desired()
	switch {
	case n.MinSize < 0:
		p.add(key+".minSize", n.MinSize, "0 or more")
	case n.MaxSize < 1 || n.MaxSize > 1000:
		p.add(key+".maxSize", n.MaxSize, "1 to 1000 (EKS's managed node group limit)")
	case n.MinSize > n.MaxSize:
		p.add(key+".minSize", n.MinSize, "at most maxSize (%d)", n.MaxSize)
	case desired < n.MinSize || desired > n.MaxSize:
		p.add(key+".desiredSize", desired, "between minSize (%d) and maxSize (%d)", n.MinSize, n.MaxSize)
	}
	if n.DiskSizeGiB < 20 || n.DiskSizeGiB > 16384 {
		p.add(key+".diskSizeGiB", n.DiskSizeGiB, "20 to 16384 GiB (gp3's range; the AL2023 AMI needs 20)")
	}
}

// NoViewer as cluster.viewerRoleName gives nobody read access to the cluster.
const NoViewer = "none"

var securityGroupID = regexp.MustCompile(`^sg-([0-9a-f]{8}|[0-9a-f]{17})$`)
