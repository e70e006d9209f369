package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// KarpenterConfig is `cluster.karpenter`: the Karpenter controller (on the managed general
// group), the AL2023 release its nodes boot, and its NodePools. Media jobs always run on
// Karpenter nodes; GPU jobs and the services' burst beyond the general group only where the
// stack configures those pools.
type KarpenterConfig struct {
	// ChartVersion of Karpenter's charts (oci://public.ecr.aws/karpenter/karpenter and
	// karpenter-crd, released together with the controller's IAM policy). Default "1.14.1",
	// the first minor that supports Kubernetes 1.36 is 1.13 (Karpenter's compatibility matrix).
	ChartVersion string `json:"chartVersion"`
	// AmiAlias pins the EKS-optimized AL2023 release every Karpenter node boots
	// ("al2023@vYYYYMMDD", a release of awslabs/amazon-eks-ami); Karpenter picks the x86_64,
	// ARM64 or NVIDIA variant per instance type. Never "latest": a new AMI replaces every node
	// (drift), so it is a reviewed change like a chart bump. Default "al2023@v20260724".
	AmiAlias string `json:"amiAlias"`
	// Media is the NodePool of FFmpeg jobs, tainted workload=media:NoSchedule.
	Media NodePoolConfig `json:"media"`
	// GPU is an optional NodePool of NVENC-capable GPU instances for hardware encoding,
	// tainted nvidia.com/gpu=true:NoSchedule; it scales from zero. Unset (default): none.
	GPU *NodePoolConfig `json:"gpu"`
	// DevicePluginVersion pins NVIDIA's device plugin chart
	// (https://nvidia.github.io/k8s-device-plugin), installed only with a GPU pool. Default
	// "0.20.0".
	DevicePluginVersion string `json:"devicePluginVersion"`
	// General is an optional NodePool for the services' pods beyond what the managed general
	// group holds (same label, no taint, the general group's CPU architecture). Unset
	// (default): the services fit the general group.
	General *NodePoolConfig `json:"general"`
}

// NodePoolConfig is one Karpenter NodePool and its EC2NodeClass.
type NodePoolConfig struct {
	// InstanceFamilies Karpenter may choose from, of one CPU architecture (e.g. [c7i, c7a,
	// c6i]). Media: compute-optimized (c); GPU: NVENC-capable families (GPUFamilies).
	InstanceFamilies []string `json:"instanceFamilies"`
	// InstanceSizes within those families (e.g. [2xlarge, 4xlarge]).
	InstanceSizes []string `json:"instanceSizes"`
	// CapacityTypes are "spot" and/or "on-demand". With both, Karpenter launches Spot and falls
	// back to on-demand when no Spot pool has capacity; "spot" alone is refused (a job must
	// not wait for Spot that never comes).
	CapacityTypes []string `json:"capacityTypes"`
	// CPULimit caps the vCPUs of all the pool's nodes together (Karpenter launches nothing
	// beyond it): the pool's spend per hour at most.
	CPULimit int `json:"cpuLimit"`
	// MemoryLimitGiB caps their memory together.
	MemoryLimitGiB int `json:"memoryLimitGiB"`
	// GPULimit caps their GPUs together (nvidia.com/gpu); the GPU pool only, at least 1.
	GPULimit int `json:"gpuLimit"`
	// DiskSizeGiB is each node's gp3 root volume, encrypted with the cluster's key (20-16384).
	DiskSizeGiB int `json:"diskSizeGiB"`
	// ExpireAfterHours replaces a node this long after it started (fresh AMI and kernel); a
	// node running a media job is not replaced before the job ends. Default 720 (30 days).
	ExpireAfterHours int `json:"expireAfterHours"`
}

// KarpenterPolicyMinor is the Karpenter minor whose controller IAM policy pkg/cluster grants:
// the chart, its CRDs and the policy move together.
const KarpenterPolicyMinor = "1.14"

// Karpenter capacity types (the karpenter.sh/capacity-type label's values).
const (
	KarpenterSpot     = "spot"
	KarpenterOnDemand = "on-demand"
)

// GPUFamilies are the x86 GPU instance families with NVIDIA's hardware video encoder (NVENC)
// that Karpenter counts nvidia.com/gpu on: T4 (g4dn), A10G (g5), L4 (g6, gr6), L40S (g6e) and
// RTX PRO 6000 (g7e), all served by the AL2023 NVIDIA AMI (EKS user guide, "EKS-optimized
// accelerated AMIs"). Not: the p families' A100 and H100 (no NVENC: NVIDIA Video Codec SDK,
// NVENC application note), g4ad (AMD), g6f (a GPU fraction: Karpenter reports no
// nvidia.com/gpu for it), g5g (Graviton; FFmpeg NVENC builds for arm64 are rare).
var GPUFamilies = []string{"g4dn", "g5", "g6", "gr6", "g6e", "g7e"}

var (
	amiAlias     = regexp.MustCompile(`^al2023@v[0-9]{8}$`)
	instanceSize = regexp.MustCompile(`^(large|xlarge|([0-9]+)xlarge)$`)
	// instanceFamily is a family alone (c7i, m7g, g4dn, m7i-flex).
	instanceFamily = regexp.MustCompile(`^[a-z]+[0-9]+[a-z0-9-]*$`)
)

// SizeVCPUs is the vCPU count of an instance size in the families CineGit uses (2 per large,
// 4 per xlarge, 4N per Nxlarge).
func SizeVCPUs(size string) int {
	m := instanceSize.FindStringSubmatch(size)
	switch {
	case m == nil:
		return 0
	case m[1] == "large":
		return 2
	case m[1] == "xlarge":
		return 4
	}
	n, _ := strconv.Atoi(m[2])
	return 4 * n
}

// FamilyArch is the CPU architecture of an instance family (InstanceArch's rule).
func FamilyArch(family string) string { return InstanceArch(family + ".large") }

// Arch is the pool's CPU architecture as Kubernetes names it (amd64 or arm64).
func (n NodePoolConfig) Arch() string {
	if len(n.InstanceFamilies) > 0 && FamilyArch(n.InstanceFamilies[0]) == ArchARM64 {
		return "arm64"
	}
	return "amd64"
}

// LargestVCPUs is the vCPU count of the pool's largest size.
func (n NodePoolConfig) LargestVCPUs() int {
	largest := 0
	for _, s := range n.InstanceSizes {
		largest = max(largest, SizeVCPUs(s))
	}
	return largest
}

// Allows says whether the pool may launch a capacity type.
func (n NodePoolConfig) Allows(capacityType string) bool {
	return slices.Contains(n.CapacityTypes, capacityType)
}

func (k *KarpenterConfig) applyDefaults(general NodeGroupConfig) {
	if k.ChartVersion == "" {
		k.ChartVersion = "1.14.1"
	}
	if k.DevicePluginVersion == "" {
		k.DevicePluginVersion = "0.20.0"
	}
	if k.AmiAlias == "" {
		k.AmiAlias = "al2023@v20260724"
	}
	k.Media.defaults(NodePoolConfig{
		InstanceFamilies: []string{"c7i", "c7a", "c6i"}, InstanceSizes: []string{"2xlarge", "4xlarge"},
		CapacityTypes: []string{KarpenterSpot, KarpenterOnDemand}, CPULimit: 64, MemoryLimitGiB: 128, DiskSizeGiB: 200,
	})
	if k.GPU != nil {
		k.GPU.defaults(NodePoolConfig{
			InstanceFamilies: []string{"g6", "g5"}, InstanceSizes: []string{"xlarge", "2xlarge"},
			CapacityTypes: []string{KarpenterOnDemand}, CPULimit: 16, MemoryLimitGiB: 64, GPULimit: 2, DiskSizeGiB: 200,
		})
	}
	if k.General != nil {
		families := []string{"m7i", "m6i"}
		if len(general.InstanceTypes) > 0 && InstanceArch(general.InstanceTypes[0]) == ArchARM64 {
			families = []string{"m7g", "m6g"}
		}
		k.General.defaults(NodePoolConfig{
			InstanceFamilies: families, InstanceSizes: []string{"large", "xlarge"},
			CapacityTypes: []string{KarpenterOnDemand}, CPULimit: 16, MemoryLimitGiB: 64, DiskSizeGiB: general.DiskSizeGiB,
		})
	}
}

func (n *NodePoolConfig) defaults(d NodePoolConfig) {
	if len(n.InstanceFamilies) == 0 {
		n.InstanceFamilies = d.InstanceFamilies
	}
	if len(n.InstanceSizes) == 0 {
		n.InstanceSizes = d.InstanceSizes
	}
	if len(n.CapacityTypes) == 0 {
		n.CapacityTypes = d.CapacityTypes
	}
	if n.CPULimit == 0 {
		n.CPULimit = d.CPULimit
	}
	if n.MemoryLimitGiB == 0 {
		n.MemoryLimitGiB = d.MemoryLimitGiB
	}
	if n.GPULimit == 0 {
		n.GPULimit = d.GPULimit
	}
	if n.DiskSizeGiB == 0 {
		n.DiskSizeGiB = d.DiskSizeGiB
	}
	if n.ExpireAfterHours == 0 {
		n.ExpireAfterHours = 720
	}
}

// poolKind says what a pool runs, for the rules that differ.
type poolKind int

const (
	mediaPool poolKind = iota
	gpuPool
	generalPool
)

func (k KarpenterConfig) validate(p *problems, general NodeGroupConfig) {
	switch {
	case !chartVersion.MatchString(k.ChartVersion):
		p.add("cluster.karpenter.chartVersion", k.ChartVersion, "an exact chart version like 1.14.1 (never a range: upgrades are reviewed)")
	case !strings.HasPrefix(k.ChartVersion, KarpenterPolicyMinor+"."):
		p.add("cluster.karpenter.chartVersion", k.ChartVersion, "a %s.x release: the controller's IAM policy (pkg/cluster, karpenterPolicy) follows %s's CloudFormation template; a new minor updates it in the same pull request, then this constant", KarpenterPolicyMinor, KarpenterPolicyMinor)
	}
	if !amiAlias.MatchString(k.AmiAlias) {
		p.add("cluster.karpenter.amiAlias", k.AmiAlias, "an AL2023 release alias like al2023@v20260724 (never @latest: a new AMI replaces every node)")
	}
	if !chartVersion.MatchString(k.DevicePluginVersion) {
		p.add("cluster.karpenter.devicePluginVersion", k.DevicePluginVersion, "an exact chart version like 0.20.0")
	}
	k.Media.validate(p, "cluster.karpenter.media", mediaPool)
	if k.GPU != nil {
		k.GPU.validate(p, "cluster.karpenter.gpu", gpuPool)
	}
	if k.General != nil {
		k.General.validate(p, "cluster.karpenter.general", generalPool)
		if len(general.InstanceTypes) > 0 && len(k.General.InstanceFamilies) > 0 && FamilyArch(k.General.InstanceFamilies[0]) != InstanceArch(general.InstanceTypes[0]) {
			p.add("cluster.karpenter.general.instanceFamilies", k.General.InstanceFamilies, "families of the general group's architecture (%s): the services' images run on both", InstanceArch(general.InstanceTypes[0]))
		}
	}
}

func (n NodePoolConfig) validate(p *problems, key string, kind poolKind) {
	if len(n.InstanceFamilies) == 0 {
		p.add(key+".instanceFamilies", n.InstanceFamilies, "at least one EC2 instance family")
	}
	seen := map[string]bool{}
	for i, f := range n.InstanceFamilies {
		k := fmt.Sprintf("%s.instanceFamilies[%d]", key, i)
		switch {
		case !instanceFamily.MatchString(f):
			p.add(k, f, "an EC2 instance family like c7i or m7g")
		case seen[f]:
			p.add(k, f, "each family once (duplicate)")
		case FamilyArch(f) != FamilyArch(n.InstanceFamilies[0]):
			p.add(k, f, "the architecture of %s (%s): a pool's nodes run the same images", n.InstanceFamilies[0], FamilyArch(n.InstanceFamilies[0]))
		case kind == mediaPool && !strings.HasPrefix(f, "c"):
			p.add(k, f, "a compute-optimized (c) family: FFmpeg is CPU-bound")
		case kind == gpuPool && !slices.Contains(GPUFamilies, f):
			p.add(k, f, "an NVENC-capable family: %s", strings.Join(GPUFamilies, ", "))
		case kind == generalPool && (strings.HasPrefix(f, "g") || strings.HasPrefix(f, "p")):
			p.add(k, f, "a family without GPUs (GPU instances belong in cluster.karpenter.gpu)")
		}
		seen[f] = true
	}
	if len(n.InstanceSizes) == 0 {
		p.add(key+".instanceSizes", n.InstanceSizes, "at least one instance size")
	}
	sizes := map[string]bool{}
	for i, s := range n.InstanceSizes {
		k := fmt.Sprintf("%s.instanceSizes[%d]", key, i)
		switch {
		case SizeVCPUs(s) == 0:
			p.add(k, s, "an instance size like large, xlarge or 4xlarge")
		case sizes[s]:
			p.add(k, s, "each size once (duplicate)")
		}
		sizes[s] = true
	}
	allowed := []string{KarpenterSpot, KarpenterOnDemand}
	kinds := map[string]bool{}
	for i, c := range n.CapacityTypes {
		k := fmt.Sprintf("%s.capacityTypes[%d]", key, i)
		switch {
		case !slices.Contains(allowed, c):
			p.add(k, c, "%q or %q", KarpenterSpot, KarpenterOnDemand)
		case kinds[c]:
			p.add(k, c, "each capacity type once (duplicate)")
		}
		kinds[c] = true
	}
	switch {
	case len(n.CapacityTypes) == 0:
		p.add(key+".capacityTypes", n.CapacityTypes, "at least one of %q and %q", KarpenterSpot, KarpenterOnDemand)
	case kinds[KarpenterSpot] && !kinds[KarpenterOnDemand]:
		p.add(key+".capacityTypes", n.CapacityTypes, "%q together with %q: on-demand is the fallback when no Spot pool has capacity", KarpenterSpot, KarpenterOnDemand)
	case kinds[KarpenterSpot] && len(n.InstanceFamilies)*len(n.InstanceSizes) < 2:
		p.add(key+".capacityTypes", n.CapacityTypes, "Spot with at least two instance types (families x sizes), so that one exhausted Spot pool does not send every node to on-demand")
	}
	largest := n.LargestVCPUs()
	switch {
	case n.CPULimit < 1 || n.CPULimit > 10000:
		p.add(key+".cpuLimit", n.CPULimit, "1 to 10000 vCPUs")
	case n.CPULimit < largest:
		p.add(key+".cpuLimit", n.CPULimit, "at least %d, the vCPUs of the largest size: a lower limit never lets Karpenter launch it", largest)
	}
	if n.MemoryLimitGiB < 1 || n.MemoryLimitGiB < n.CPULimit {
		p.add(key+".memoryLimitGiB", n.MemoryLimitGiB, "at least cpuLimit (%d): every family allowed has at least 1 GiB per vCPU, so a lower limit caps the pool below its CPU limit", n.CPULimit)
	}
	switch {
	case kind == gpuPool && (n.GPULimit < 1 || n.GPULimit > 1000):
		p.add(key+".gpuLimit", n.GPULimit, "1 to 1000 GPUs")
	case kind != gpuPool && n.GPULimit != 0:
		p.add(key+".gpuLimit", n.GPULimit, "unset: only cluster.karpenter.gpu has GPUs")
	}
	if n.DiskSizeGiB < 20 || n.DiskSizeGiB > 16384 {
		p.add(key+".diskSizeGiB", n.DiskSizeGiB, "20 to 16384 GiB (gp3's range; the AL2023 AMI needs 20)")
	}
	if n.ExpireAfterHours < 24 || n.ExpireAfterHours > 2160 {
		p.add(key+".expireAfterHours", n.ExpireAfterHours, "24 to 2160 hours (a day to 90 days: nodes get fresh AMIs and kernels)")
	}
}
