package config

import (
	"testing"
)

func TestClusterDefaultsAreAValidSmallCluster(t *testing.T) {
	c, err := Parse("dev", base())
	if err != nil {
		t.Fatal(err)
	}
	cl := c.Cluster
	if cl.Version != "1.36" || cl.EndpointPublicAccess || len(cl.PublicAccessCidrs) != 0 {
		t.Errorf("control plane defaults: %+v", cl)
	}
	if cl.DeployRoleName != "cinegit-runner-deploy" || cl.BreakGlassRoleName != "" {
		t.Errorf("admins: deploy %q, break-glass %q", cl.DeployRoleName, cl.BreakGlassRoleName)
	}
	if cl.General.MinSize != 2 || cl.General.Desired() != 2 || cl.General.MaxSize != 4 || cl.General.CapacityType != CapacityOnDemand {
		t.Errorf("general defaults: %+v", cl.General)
	}
	k := cl.Karpenter
	if k.ChartVersion != "1.14.1" || k.AmiAlias != "al2023@v20260724" || k.GPU != nil || k.General != nil {
		t.Errorf("karpenter defaults: %+v", k)
	}
	if m := k.Media; m.CPULimit != 64 || m.MemoryLimitGiB != 128 || m.DiskSizeGiB != 200 || m.ExpireAfterHours != 720 ||
		!m.Allows(KarpenterSpot) || !m.Allows(KarpenterOnDemand) || m.Arch() != "amd64" || m.LargestVCPUs() != 16 {
		t.Errorf("media pool defaults: %+v", m)
	}
	if cl.General.AmiType() != "AL2023_x86_64_STANDARD" {
		t.Errorf("AMI type %s", cl.General.AmiType())
	}
	if cl.Addons.KubeProxy != "v1.36.0-eksbuild.9" {
		t.Errorf("pins: %+v", cl.Addons)
	}
}

func TestClusterValidConfigurations(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		cluster string
		check   func(t *testing.T, c ClusterConfig)
	}{
		{"public endpoint restricted to a network", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.0/24","198.51.100.7/32"]}`, func(t *testing.T, c ClusterConfig) {
			if len(c.PublicAccessCidrs) != 2 {
				t.Fatal(c.PublicAccessCidrs)
			}
		}},
		{"media on demand only", "dev", `{"karpenter":{"media":{"instanceFamilies":["c7i"],"instanceSizes":["4xlarge"],"capacityTypes":["on-demand"]}}}`, func(t *testing.T, c ClusterConfig) {
			if m := c.Karpenter.Media; m.Allows(KarpenterSpot) || m.LargestVCPUs() != 16 {
				t.Fatalf("%+v", m)
			}
		}},
		{"a GPU pool with its defaults", "dev", `{"general":{"minSize":2,"maxSize":3},"karpenter":{"gpu":{}}}`, func(t *testing.T, c ClusterConfig) {
			if g := c.Karpenter.GPU; g == nil || g.GPULimit != 2 || g.Allows(KarpenterSpot) || g.Arch() != "amd64" {
				t.Fatalf("%+v", g)
			}
		}},
		{"a services pool follows the general group's architecture", "dev", `{"general":{"instanceTypes":["m7g.large"]},"karpenter":{"general":{}}}`, func(t *testing.T, c ClusterConfig) {
			if g := c.Karpenter.General; g == nil || g.Arch() != "arm64" || g.InstanceFamilies[0] != "m7g" {
				t.Fatalf("%+v", g)
			}
		}},
		{"graviton general group uses the ARM AMI", "dev", `{"general":{"instanceTypes":["m7g.large","m8g.large"],"minSize":1,"maxSize":3}}`, func(t *testing.T, c ClusterConfig) {
			if c.General.AmiType() != "AL2023_ARM_64_STANDARD" {
				t.Fatal(c.General.AmiType())
			}
		}},
		{"break-glass role", "prod", `{"breakGlassRoleName":"cinegit-break-glass"}`, func(t *testing.T, c ClusterConfig) {
			if c.BreakGlassRoleName != "cinegit-break-glass" {
				t.Fatal(c.BreakGlassRoleName)
			}
		}},
		{"an older supported version with its own pins", "dev", `{"version":"1.35","addons":{"kubeProxy":"v1.35.3-eksbuild.2"}}`, func(t *testing.T, c ClusterConfig) {
			if c.Version != "1.35" {
				t.Fatal(c.Version)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:cluster", tt.cluster)
			if tt.stack == "prod" {
				raw = with("cinegit:cluster", tt.cluster, "cinegit:protect", "true",
					"cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`)
			}
			c, err := Parse(tt.stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Cluster)
		})
	}
}

func TestClusterInvalidConfigurationsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		cluster string
		key     string
		allowed string
	}{
		{"unsupported version", "dev", `{"version":"1.29"}`, "cinegit:cluster.version", "standard support"},
		{"version with a patch", "dev", `{"version":"1.36.2"}`, "cinegit:cluster.version", "standard support"},
		{"public endpoint without CIDRs", "dev", `{"endpointPublicAccess":true}`, "cinegit:cluster.publicAccessCidrs", "at least one"},
		{"public endpoint open to all", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["0.0.0.0/0"]}`, "cinegit:cluster.publicAccessCidrs[0]", "narrower than 0.0.0.0/0"},
		{"malformed CIDR", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.0/33"]}`, "cinegit:cluster.publicAccessCidrs[0]", "CIDR notation"},
		{"CIDR with host bits", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.5/24"]}`, "cinegit:cluster.publicAccessCidrs[0]", "no host bits"},
		{"IPv6 CIDR", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["2001:db8::/32"]}`, "cinegit:cluster.publicAccessCidrs[0]", "IPv4"},
		{"private CIDR on the public endpoint", "dev", `{"endpointPublicAccess":true,"publicAccessCidrs":["10.0.0.0/8"]}`, "cinegit:cluster.publicAccessCidrs[0]", "public network"},
		{"CIDRs with the endpoint off", "dev", `{"publicAccessCidrs":["203.0.113.0/24"]}`, "cinegit:cluster.publicAccessCidrs", "endpointPublicAccess is false"},
		{"public endpoint in staging", "staging", `{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.0/24"]}`, "cinegit:cluster.endpointPublicAccess", "private"},
		{"public endpoint in prod", "prod", `{"endpointPublicAccess":true,"publicAccessCidrs":["203.0.113.0/24"]}`, "cinegit:cluster.endpointPublicAccess", "private"},
		{"deploy role with a path", "dev", `{"deployRoleName":"ci/deploy"}`, "cinegit:cluster.deployRoleName", "no path"},
		{"break-glass equals deploy", "dev", `{"breakGlassRoleName":"cinegit-runner-deploy"}`, "cinegit:cluster.breakGlassRoleName", "other than deployRoleName"},
		{"bad log retention", "dev", `{"logRetentionDays":45}`, "cinegit:cluster.logRetentionDays", "retention values"},
		{"min above max", "dev", `{"general":{"minSize":5,"maxSize":3}}`, "cinegit:cluster.general.minSize", "at most maxSize"},
		{"desired below min", "dev", `{"general":{"minSize":2,"desiredSize":1,"maxSize":3}}`, "cinegit:cluster.general.desiredSize", "between minSize"},
		{"desired above max", "dev", `{"general":{"minSize":1,"desiredSize":5,"maxSize":4}}`, "cinegit:cluster.general.desiredSize", "between minSize"},
		{"zero max", "dev", `{"general":{"minSize":1,"desiredSize":1,"maxSize":0}}`, "cinegit:cluster.general.maxSize", "1 to 1000"},
		{"negative min", "dev", `{"general":{"minSize":-1,"maxSize":2}}`, "cinegit:cluster.general.minSize", "0 or more"},
		{"general may not scale to zero", "dev", `{"general":{"minSize":0,"maxSize":3}}`, "cinegit:cluster.general.minSize", "at least 1"},
		{"single general node in prod", "prod", `{"general":{"minSize":1,"maxSize":3}}`, "cinegit:cluster.general.minSize", "at least 2"},
		{"malformed instance type", "dev", `{"general":{"instanceTypes":["large"]}}`, "cinegit:cluster.general.instanceTypes[0]", "instance type like"},
		{"instance type with an unknown size", "dev", `{"general":{"instanceTypes":["m7i.huge"]}}`, "cinegit:cluster.general.instanceTypes[0]", "instance type like"},
		{"duplicate instance type", "dev", `{"general":{"instanceTypes":["m7i.large","m7i.large"]}}`, "cinegit:cluster.general.instanceTypes[1]", "duplicate"},
		{"mixed architectures", "dev", `{"general":{"instanceTypes":["m7i.large","m7g.large"]}}`, "cinegit:cluster.general.instanceTypes[1]", "same CPU architecture"},
		{"unknown capacity type", "dev", `{"general":{"capacityType":"spot"}}`, "cinegit:cluster.general.capacityType", `"ON_DEMAND" or "SPOT"`},
		{"media on a general-purpose family", "dev", `{"karpenter":{"media":{"instanceFamilies":["m7i"]}}}`, "cinegit:cluster.karpenter.media.instanceFamilies[0]", "compute-optimized"},
		{"media families of two architectures", "dev", `{"karpenter":{"media":{"instanceFamilies":["c7i","c7g"]}}}`, "cinegit:cluster.karpenter.media.instanceFamilies[1]", "architecture of c7i"},
		{"a malformed family", "dev", `{"karpenter":{"media":{"instanceFamilies":["c7i.large"]}}}`, "cinegit:cluster.karpenter.media.instanceFamilies[0]", "instance family like"},
		{"a malformed size", "dev", `{"karpenter":{"media":{"instanceSizes":["huge"]}}}`, "cinegit:cluster.karpenter.media.instanceSizes[0]", "instance size like"},
		{"spot without its fallback", "dev", `{"karpenter":{"media":{"capacityTypes":["spot"]}}}`, "cinegit:cluster.karpenter.media.capacityTypes", "on-demand is the fallback"},
		{"spot with one instance type", "dev", `{"karpenter":{"media":{"instanceFamilies":["c7i"],"instanceSizes":["2xlarge"]}}}`, "cinegit:cluster.karpenter.media.capacityTypes", "at least two instance types"},
		{"an unknown capacity type", "dev", `{"karpenter":{"media":{"capacityTypes":["ON_DEMAND"]}}}`, "cinegit:cluster.karpenter.media.capacityTypes[0]", `"spot" or "on-demand"`},
		{"a CPU limit below the largest size", "dev", `{"karpenter":{"media":{"instanceSizes":["8xlarge"],"cpuLimit":16}}}`, "cinegit:cluster.karpenter.media.cpuLimit", "at least 32"},
		{"memory below the CPU limit", "dev", `{"karpenter":{"media":{"cpuLimit":64,"memoryLimitGiB":32}}}`, "cinegit:cluster.karpenter.media.memoryLimitGiB", "at least cpuLimit"},
		{"GPUs outside the GPU pool", "dev", `{"karpenter":{"media":{"gpuLimit":1}}}`, "cinegit:cluster.karpenter.media.gpuLimit", "only cluster.karpenter.gpu"},
		{"a GPU family without NVENC", "dev", `{"karpenter":{"gpu":{"instanceFamilies":["p5"]}}}`, "cinegit:cluster.karpenter.gpu.instanceFamilies[0]", "NVENC-capable"},
		{"a GPU pool without GPUs", "dev", `{"karpenter":{"gpu":{"gpuLimit":-1}}}`, "cinegit:cluster.karpenter.gpu.gpuLimit", "1 to 1000"},
		{"a services pool of another architecture", "dev", `{"general":{"instanceTypes":["m7g.large"]},"karpenter":{"general":{"instanceFamilies":["m7i"]}}}`, "cinegit:cluster.karpenter.general.instanceFamilies", "general group's architecture"},
		{"GPUs in the services pool", "dev", `{"karpenter":{"general":{"instanceFamilies":["g6"]}}}`, "cinegit:cluster.karpenter.general.instanceFamilies[0]", "without GPUs"},
		{"AMI at latest", "dev", `{"karpenter":{"amiAlias":"al2023@latest"}}`, "cinegit:cluster.karpenter.amiAlias", "never @latest"},
		{"expiry too long", "dev", `{"karpenter":{"media":{"expireAfterHours":9000}}}`, "cinegit:cluster.karpenter.media.expireAfterHours", "24 to 2160"},
		{"disk too small", "dev", `{"general":{"diskSizeGiB":8}}`, "cinegit:cluster.general.diskSizeGiB", "20 to 16384"},
		{"malformed add-on version", "dev", `{"addons":{"vpcCni":"1.22.3"}}`, "cinegit:cluster.addons.vpcCni", "eksbuild"},
		{"kube-proxy of another minor", "dev", `{"addons":{"kubeProxy":"v1.35.3-eksbuild.2"}}`, "cinegit:cluster.addons.kubeProxy", "Kubernetes 1.36"},
		{"chart version range", "dev", `{"karpenter":{"chartVersion":"^1.14"}}`, "cinegit:cluster.karpenter.chartVersion", "exact chart version"},
		{"a Karpenter minor the IAM policy does not follow", "dev", `{"karpenter":{"chartVersion":"1.15.0"}}`, "cinegit:cluster.karpenter.chartVersion", "IAM policy"},
		{"the retired autoscaler", "dev", `{"autoscaler":{"chartVersion":"9.59.0"}}`, "cinegit:cluster.autoscaler", "unknown field"},
		{"unknown field", "dev", `{"nodeGroups":{}}`, "cinegit:cluster.nodeGroups", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:cluster", tt.cluster)
			if tt.stack == "prod" {
				raw = with("cinegit:cluster", tt.cluster, "cinegit:protect", "true",
					"cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`)
			}
			_, err := Parse(tt.stack, raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}

func TestInstanceArch(t *testing.T) {
	for typ, want := range map[string]string{
		"m7i.large": ArchX86, "c7i.2xlarge": ArchX86, "c7a.4xlarge": ArchX86, "m7i-flex.large": ArchX86,
		"g5.xlarge": ArchX86, "g4dn.xlarge": ArchX86, "t3.large": ArchX86,
		"c7g.2xlarge": ArchARM64, "c7gn.4xlarge": ArchARM64, "m8gd.large": ArchARM64, "t4g.small": ArchARM64,
		"x2gd.xlarge": ArchARM64, "g5g.xlarge": ArchARM64, "a1.large": ArchARM64, "c8g.metal-48xl": ArchARM64,
	} {
		if got := InstanceArch(typ); got != want {
			t.Errorf("InstanceArch(%s) = %s, want %s", typ, got, want)
		}
	}
}
