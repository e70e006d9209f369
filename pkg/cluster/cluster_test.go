package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	region     = "eu-west-1"
	deployRole = "arn:aws:iam::123456789012:role/cinegit-runner-deploy"
	breakGlass = "arn:aws:iam::123456789012:role/cinegit-break-glass"
	issuerHost = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	oidcArn    = "arn:aws:iam::123456789012:oidc-provider/" + issuerHost
)

// Resource types this component registers.
const (
	tEKS       = "eks:index:Cluster"
	tKey       = "aws:kms/key:Key"
	tLogGroup  = "aws:cloudwatch/logGroup:LogGroup"
	tRole      = "aws:iam/role:Role"
	tAttach    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tInline    = "aws:iam/rolePolicy:RolePolicy"
	tLT        = "aws:ec2/launchTemplate:LaunchTemplate"
	tNodeGroup = "aws:eks/nodeGroup:NodeGroup"
	tAddon     = "aws:eks/addon:Addon"
	tK8s       = "pulumi:providers:kubernetes"
	tSC        = "kubernetes:storage.k8s.io/v1:StorageClass"
	tSCPatch   = "kubernetes:storage.k8s.io/v1:StorageClassPatch"
	tRelease   = "kubernetes:helm.sh/v3:Release"
)

func testArgs() Args {
	return Args{
		Env:              harness.Env("dev", region),
		Name:             "cinegit-dev-eks",
		Version:          "1.36",
		VpcID:            pulumi.String("vpc-0123"),
		PrivateSubnetIDs: pulumi.ToStringArray([]string{"subnet-a", "subnet-b"}),
		DeployRoleArn:    deployRole,
		LogRetentionDays: 90,
		General: NodeGroup{
			InstanceTypes: []string{"m7i.large"}, AmiType: "AL2023_x86_64_STANDARD", CapacityType: "ON_DEMAND",
			MinSize: 2, DesiredSize: 2, MaxSize: 4, DiskSizeGiB: 50,
		},
		Addons: Addons{VpcCni: "v1.22.3-eksbuild.1", CoreDNS: "v1.14.3-eksbuild.3", KubeProxy: "v1.36.0-eksbuild.9", EbsCsiDriver: "v1.66.0-eksbuild.1"},
		Karpenter: Karpenter{
			ChartVersion: "1.14.1", AmiAlias: "al2023@v20260724", Replicas: 2, DevicePluginVersion: "0.20.0",
			Pools: []NodePool{{
				Name: "media", Taint: &Taint{"workload", "media", "NoSchedule"}, Batch: true,
				Families: []string{"c7i", "c7a"}, Sizes: []string{"2xlarge"}, CapacityTypes: []string{"spot", "on-demand"}, Arch: "amd64",
				CPULimit: 32, MemoryLimitGiB: 64, DiskSizeGiB: 200, ExpireAfterHours: 720,
			}},
		},
	}
}

// run builds the component in a small program with an explicit regional provider, the way
// main.go does.
func run(t *testing.T, preview bool, mutate func(*Args)) (*harness.Result, *Cluster) {
	t.Helper()
	args := testArgs()
	if mutate != nil {
		mutate(&args)
	}
	var c *Cluster
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String(region)})
		if err != nil {
			return err
		}
		c, err = New(ctx, "cluster", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		ctx.Export("clusterName", c.ClusterName)
		ctx.Export("endpoint", c.Endpoint)
		ctx.Export("oidcProviderArn", c.OidcProviderArn)
		ctx.Export("oidcIssuer", c.OidcIssuer)
		ctx.Export("nodeSecurityGroupId", c.NodeSecurityGroupID)
		ctx.Export("kubeconfig", c.Kubeconfig)
		return nil
	}, "cinegit", "dev", map[string]string{"aws:region": region}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

// both runs f in update and preview mode.
func both(t *testing.T, mutate func(*Args), f func(t *testing.T, r *harness.Result)) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, _ := run(t, preview, mutate)
			f(t, r)
		})
	}
}

func one(t *testing.T, r *harness.Result, typ, name string) *harness.Resource {
	t.Helper()
	res := r.Named(typ, name)
	if res == nil {
		t.Fatalf("no %s %s", typ, name)
	}
	return res
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func strs(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestControlPlane(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		cp := one(t, r, tEKS, "cluster")
		if !cp.Remote {
			t.Error("pulumi-eks Cluster should be a remote component")
		}
		want := map[string]any{
			"name":                         "cinegit-dev-eks",
			"version":                      "1.36",
			"vpcId":                        "vpc-0123",
			"authenticationMode":           "API",
			"skipDefaultNodeGroup":         true,
			"endpointPrivateAccess":        true,
			"endpointPublicAccess":         false,
			"createOidcProvider":           true,
			"useDefaultVpcCni":             true,
			"nodeAssociatePublicIpAddress": false,
		}
		for k, v := range want {
			if got := cp.Input(k); got != v {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		if cp.Input("publicAccessCidrs") != nil {
			t.Errorf("public access CIDRs set with the public endpoint off: %v", cp.Input("publicAccessCidrs"))
		}
		if got := strs(cp.Input("enabledClusterLogTypes")); !reflect.DeepEqual(got, LogTypes) || len(got) != 5 {
			t.Errorf("log types %v", got)
		}
		if got := strs(cp.Input("privateSubnetIds")); !reflect.DeepEqual(got, []string{"subnet-a", "subnet-b"}) {
			t.Errorf("private subnets %v", got)
		}
		// Secrets are encrypted with the component's own key.
		key := one(t, r, tKey, "cluster")
		if !contains(cp.PropertyDependencies["encryptionConfigKeyArn"], key.URN) {
			t.Error("encryptionConfigKeyArn does not come from the cluster key")
		}
		if !r.Preview && cp.InputString("encryptionConfigKeyArn") != "arn:aws:kms:eu-west-1:123456789012:key/key-cluster" {
			t.Errorf("encryption key %q", cp.InputString("encryptionConfigKeyArn"))
		}
		// The log group exists first: the one needed DependsOn.
		lg := one(t, r, tLogGroup, "cluster-control-plane")
		if !contains(cp.Dependencies, lg.URN) {
			t.Error("the cluster does not wait for its log group")
		}
		// The node role is the cluster's only instance role (no pulumi-eks default role).
		node := one(t, r, tRole, "cluster-node")
		if refs := cp.ResourceReferences; !contains(refs, node.URN) {
			t.Errorf("instanceRoles does not name the node role: %v", refs)
		}
		if cp.Input("nodeGroupOptions") != nil || cp.Input("instanceType") != nil || cp.Input("desiredCapacity") != nil {
			t.Error("no default node group options expected")
		}
	})
}

func TestAccessEntriesAreTheOnlyAdmins(t *testing.T) {
	admin := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	check := func(t *testing.T, r *harness.Result, want map[string]string) {
		entries, _ := one(t, r, tEKS, "cluster").Input("accessEntries").(map[string]any)
		if len(entries) != len(want) {
			t.Fatalf("access entries %v, want %v", entries, want)
		}
		for key, principal := range want {
			e, _ := entries[key].(map[string]any)
			if e["principalArn"] != principal || e["type"] != "STANDARD" {
				t.Errorf("entry %s = %v", key, e)
			}
			pol, _ := e["accessPolicies"].(map[string]any)
			ca, _ := pol["cluster-admin"].(map[string]any)
			if len(pol) != 1 || ca["policyArn"] != admin || harness.Lookup(ca, "accessScope", "type") != "cluster" {
				t.Errorf("entry %s policies %v", key, pol)
			}
			if e["kubernetesGroups"] != nil {
				t.Errorf("entry %s maps Kubernetes groups", key)
			}
		}
	}
	both(t, nil, func(t *testing.T, r *harness.Result) {
		check(t, r, map[string]string{"deploy": deployRole})
	})
	both(t, func(a *Args) { a.BreakGlassRoleArn = breakGlass }, func(t *testing.T, r *harness.Result) {
		check(t, r, map[string]string{"deploy": deployRole, "break-glass": breakGlass})
	})
}

func TestCreatorAdminIsNotImplicit(t *testing.T) {
	r, _ := run(t, false, nil)
	cp := one(t, r, tEKS, "cluster")
	if len(cp.Transforms) != 1 {
		t.Fatalf("want the creator-admin transform on the pulumi-eks cluster, got %d transforms", len(cp.Transforms))
	}
	// What pulumi-eks v2.8.1 registers for its aws:eks/cluster:Cluster child.
	child := &pulumi.ResourceTransformArgs{
		Custom: true,
		Type:   "aws:eks/cluster:Cluster",
		Name:   "cluster-eksCluster",
		Props: pulumi.Map{
			"name": pulumi.String("cinegit-dev-eks"),
			"accessConfig": pulumi.Map{
				"authenticationMode":                      pulumi.String("API"),
				"bootstrapClusterCreatorAdminPermissions": pulumi.Bool(true),
			},
		},
	}
	res := cp.Transforms[0](context.Background(), child)
	if res == nil {
		t.Fatal("the transform left the EKS cluster alone")
	}
	ac, _ := res.Props["accessConfig"].(pulumi.Map)
	if ac["bootstrapClusterCreatorAdminPermissions"] != pulumi.Bool(false) || ac["authenticationMode"] != pulumi.String("API") {
		t.Errorf("accessConfig %v", ac)
	}
	if res.Props["name"] != pulumi.String("cinegit-dev-eks") {
		t.Error("the transform dropped other properties")
	}
	other := &pulumi.ResourceTransformArgs{Type: "aws:ec2/securityGroup:SecurityGroup", Props: pulumi.Map{}}
	if cp.Transforms[0](context.Background(), other) != nil {
		t.Error("the transform touched another resource type")
	}
}

func TestRemoteClusterUsesTheRegionalProvider(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		prov := one(t, r, "pulumi:providers:aws", "aws")
		cp := one(t, r, tEKS, "cluster")
		if got := harness.ProviderURN(cp.Providers["aws"]); got != prov.URN {
			t.Errorf("pulumi-eks children would use aws provider %q, want %q", got, prov.URN)
		}
		for _, res := range r.Resources {
			if strings.HasPrefix(res.Type, "aws:") && harness.ProviderURN(res.Provider) != prov.URN {
				t.Errorf("%s %s does not use the regional provider", res.Type, res.Name)
			}
		}
	})
}

func TestPublicEndpointIsRestricted(t *testing.T) {
	both(t, func(a *Args) {
		a.EndpointPublicAccess = true
		a.PublicAccessCidrs = []string{"203.0.113.0/24"}
	}, func(t *testing.T, r *harness.Result) {
		cp := one(t, r, tEKS, "cluster")
		if cp.Input("endpointPublicAccess") != true || cp.Input("endpointPrivateAccess") != true {
			t.Error("want both endpoints")
		}
		if got := strs(cp.Input("publicAccessCidrs")); !reflect.DeepEqual(got, []string{"203.0.113.0/24"}) {
			t.Errorf("public access CIDRs %v", got)
		}
	})
}

func TestInvalidArgsAreRejected(t *testing.T) {
	tests := map[string]func(*Args){
		"no deploy role":               func(a *Args) { a.DeployRoleArn = "" },
		"public endpoint without CIDR": func(a *Args) { a.EndpointPublicAccess = true },
		"public endpoint open to all": func(a *Args) {
			a.EndpointPublicAccess, a.PublicAccessCidrs = true, []string{"0.0.0.0/0"}
		},
		"AL2 AMI":                    func(a *Args) { a.General.AmiType = "AL2_x86_64" },
		"general scaled to zero":     func(a *Args) { a.General.MinSize, a.General.DesiredSize = 0, 0 },
		"desired above max":          func(a *Args) { a.General.DesiredSize = 9 },
		"pool without limits":        func(a *Args) { a.Karpenter.Pools[0].CPULimit = 0 },
		"no AMI alias":               func(a *Args) { a.Karpenter.AmiAlias = "" },
		"break-glass same as deploy": func(a *Args) { a.BreakGlassRoleArn = deployRole },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			args := testArgs()
			mutate(&args)
			_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
				_, err := New(ctx, "cluster", args)
				return err
			}, "cinegit", "dev", map[string]string{"aws:region": region}, false)
			if err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestKeyAndLogGroup(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		key := one(t, r, tKey, "cluster")
		if key.Input("enableKeyRotation") != true {
			t.Error("key rotation off")
		}
		lg := one(t, r, tLogGroup, "cluster-control-plane")
		if lg.InputString("name") != "/aws/eks/cinegit-dev-eks/cluster" || lg.Input("retentionInDays") != 90.0 {
			t.Errorf("log group %v / %v", lg.Input("name"), lg.Input("retentionInDays"))
		}
		if !contains(lg.PropertyDependencies["kmsKeyId"], key.URN) {
			t.Error("log group not encrypted with the cluster key")
		}
		if r.Preview {
			return
		}
		policy := jsonOf(t, key.InputString("policy"))
		sids := map[string]map[string]any{}
		for _, s := range policy["Statement"].([]any) {
			st := s.(map[string]any)
			sids[fmt.Sprint(st["Sid"])] = st
		}
		for _, sid := range []string{"AccountAdministersKeyThroughIAM", "CloudWatchLogsEncryptsThisAccountsLogGroups", "AutoScalingUsesKeyForNodeVolumes", "AutoScalingGrantsKeyToNodeVolumes"} {
			if sids[sid] == nil {
				t.Errorf("key policy lacks %s", sid)
			}
		}
		asg := sids["AutoScalingGrantsKeyToNodeVolumes"]
		slr := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
		if harness.Lookup(asg, "Condition", "StringEquals", "aws:PrincipalArn") == nil || strs(harness.Lookup(asg, "Condition", "StringEquals", "aws:PrincipalArn"))[0] != slr {
			t.Errorf("Auto Scaling statement not limited to its service-linked role: %v", asg["Condition"])
		}
		if strs(harness.Lookup(asg, "Condition", "Bool", "kms:GrantIsForAWSResource"))[0] != "true" {
			t.Errorf("grants not limited to AWS resources: %v", asg["Condition"])
		}
	})
}

func TestNodeGroups(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		groups := r.ByType(tNodeGroup)
		if len(groups) != 1 {
			t.Fatalf("want 1 managed node group (Karpenter makes the others' nodes), got %d", len(groups))
		}
		key := one(t, r, tKey, "cluster")
		node := one(t, r, tRole, "cluster-node")
		cni := one(t, r, tAddon, "cluster-vpc-cni")
		cp := one(t, r, tEKS, "cluster")
		for _, tc := range []struct {
			workload, capacity string
			types              []string
			min, desired, max  float64
			disk               float64
			taints             bool
		}{
			{"general", "ON_DEMAND", []string{"m7i.large"}, 2, 2, 4, 50, false},
		} {
			ng := one(t, r, tNodeGroup, "cluster-"+tc.workload)
			lt := one(t, r, tLT, "cluster-"+tc.workload)
			if ng.InputString("amiType") != "AL2023_x86_64_STANDARD" || ng.InputString("capacityType") != tc.capacity {
				t.Errorf("%s: AMI %q capacity %q", tc.workload, ng.InputString("amiType"), ng.InputString("capacityType"))
			}
			if got := strs(ng.Input("instanceTypes")); !reflect.DeepEqual(got, tc.types) {
				t.Errorf("%s: instance types %v", tc.workload, got)
			}
			if got := strs(ng.Input("subnetIds")); !reflect.DeepEqual(got, []string{"subnet-a", "subnet-b"}) {
				t.Errorf("%s: subnets %v", tc.workload, got)
			}
			sc := []any{ng.Input("scalingConfig.minSize"), ng.Input("scalingConfig.desiredSize"), ng.Input("scalingConfig.maxSize")}
			if !reflect.DeepEqual(sc, []any{tc.min, tc.desired, tc.max}) {
				t.Errorf("%s: scaling %v", tc.workload, sc)
			}
			if len(ng.IgnoreChanges) != 0 {
				t.Errorf("%s: ignoreChanges %v (nothing but the stack file sizes the group)", tc.workload, ng.IgnoreChanges)
			}
			if ng.InputString("labels.workload") != tc.workload {
				t.Errorf("%s: labels %v", tc.workload, ng.Input("labels"))
			}
			taints, _ := ng.Input("taints").([]any)
			if tc.taints {
				want := []any{map[string]any{"key": "workload", "value": "media", "effect": "NO_SCHEDULE"}}
				if !reflect.DeepEqual(taints, want) {
					t.Errorf("media taints %v", taints)
				}
			} else if len(taints) != 0 {
				t.Errorf("general group is tainted: %v", taints)
			}
			if ng.Input("remoteAccess") != nil {
				t.Errorf("%s: SSH remote access configured", tc.workload)
			}
			if !r.DependsOn(ng, lt) || !r.DependsOn(ng, node) {
				t.Errorf("%s: launch template or node role not used", tc.workload)
			}
			if !contains(ng.Dependencies, cni.URN) {
				t.Errorf("%s: nodes do not wait for the vpc-cni add-on", tc.workload)
			}
			if !r.DependsOn(ng, cp) {
				t.Errorf("%s: node group does not wait for the control plane", tc.workload)
			}
			if !r.Preview {
				if ng.InputString("clusterName") != "cinegit-dev-eks" || ng.InputString("version") != "1.36" {
					t.Errorf("%s: cluster %q version %q", tc.workload, ng.InputString("clusterName"), ng.InputString("version"))
				}
				if ng.InputString("launchTemplate.version") != "1" {
					t.Errorf("%s: launch template version %q", tc.workload, ng.InputString("launchTemplate.version"))
				}
			}

			// Launch template: IMDSv2 hop 1, encrypted gp3 with the key, tagged, no SSH.
			if lt.InputString("metadataOptions.httpTokens") != "required" || lt.Input("metadataOptions.httpPutResponseHopLimit") != 1.0 ||
				lt.InputString("metadataOptions.httpEndpoint") != "enabled" {
				t.Errorf("%s: metadata options %v", tc.workload, lt.Input("metadataOptions"))
			}
			ebs := lt.Input("blockDeviceMappings[0].ebs")
			if harness.Lookup(ebs, "volumeType") != "gp3" || harness.Lookup(ebs, "encrypted") != "true" || harness.Lookup(ebs, "volumeSize") != tc.disk {
				t.Errorf("%s: root volume %v", tc.workload, ebs)
			}
			if !contains(lt.PropertyDependencies["blockDeviceMappings"], key.URN) {
				t.Errorf("%s: root volume not encrypted with the cluster key", tc.workload)
			}
			if lt.Input("keyName") != nil || lt.Input("networkInterfaces") != nil || lt.Input("imageId") != nil ||
				lt.Input("iamInstanceProfile") != nil || lt.Input("vpcSecurityGroupIds") != nil {
				t.Errorf("%s: launch template sets what the node group owns", tc.workload)
			}
			specs := map[string]bool{}
			for _, s := range lt.Input("tagSpecifications").([]any) {
				spec := s.(map[string]any)
				if harness.Lookup(spec, "tags", "environment") == "dev" && harness.Lookup(spec, "tags", "project") == "cinegit" {
					specs[fmt.Sprint(spec["resourceType"])] = true
				}
			}
			if !specs["instance"] || !specs["volume"] || !specs["network-interface"] {
				t.Errorf("%s: tag specifications %v", tc.workload, specs)
			}
		}
	})
}

func TestNodeRoleHasOnlyNodePolicies(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		node := one(t, r, tRole, "cluster-node")
		var got []string
		for _, a := range r.ByType(tAttach) {
			if r.DependsOn(a, node) {
				got = append(got, a.InputString("policyArn"))
			}
		}
		sort.Strings(got)
		want := []string{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("node role policies %v, want %v", got, want)
		}
		for _, p := range r.ByType(tInline) {
			if r.DependsOn(p, node) {
				t.Errorf("node role has an inline policy %s", p.Name)
			}
		}
		if !r.Preview {
			trust := jsonOf(t, node.InputString("assumeRolePolicy"))
			if strs(harness.Lookup(trust, "Statement").([]any)[0].(map[string]any)["Principal"].(map[string]any)["Service"])[0] != "ec2.amazonaws.com" {
				t.Errorf("node trust %v", trust)
			}
		}
		// Nodes may only join once their policies are attached.
		for _, ng := range r.ByType(tNodeGroup) {
			for _, a := range r.ByType(tAttach) {
				if r.DependsOn(a, node) && !contains(ng.Dependencies, a.URN) {
					t.Errorf("%s does not wait for %s", ng.Name, a.Name)
				}
			}
		}
	})
}

func TestIRSARolesAreExact(t *testing.T) {
	r, _ := run(t, false, nil)
	for _, tc := range []struct {
		role, sa string
		managed  []string
		inline   bool
	}{
		{"cluster-vpc-cni", "aws-node", []string{"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}, false},
		{"cluster-ebs-csi", "ebs-csi-controller-sa", []string{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"}, true},
		{"cluster-karpenter", "karpenter", nil, true},
	} {
		role := one(t, r, tRole, tc.role)
		want := map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": "ServiceAccount", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
				"Principal": map[string]any{"Federated": oidcArn},
				"Condition": map[string]any{"StringEquals": map[string]any{
					issuerHost + ":sub": "system:serviceaccount:kube-system:" + tc.sa,
					issuerHost + ":aud": "sts.amazonaws.com",
				}},
			}},
		}
		if got := jsonOf(t, role.InputString("assumeRolePolicy")); !reflect.DeepEqual(got, want) {
			t.Errorf("%s trust:\n got %v\nwant %v", tc.role, got, want)
		}
		var managed []string
		for _, a := range r.ByType(tAttach) {
			if r.DependsOn(a, role) {
				managed = append(managed, a.InputString("policyArn"))
			}
		}
		if !reflect.DeepEqual(managed, tc.managed) && !(len(managed) == 0 && len(tc.managed) == 0) {
			t.Errorf("%s managed policies %v, want %v", tc.role, managed, tc.managed)
		}
		if (r.Named(tInline, tc.role) != nil) != tc.inline {
			t.Errorf("%s inline policy present=%v, want %v", tc.role, !tc.inline, tc.inline)
		}
	}

	// The EBS CSI driver may use exactly the cluster key.
	ebs := jsonOf(t, one(t, r, tInline, "cluster-ebs-csi").InputString("policy"))
	keyArn := "arn:aws:kms:eu-west-1:123456789012:key/key-cluster"
	for _, s := range ebs["Statement"].([]any) {
		if res := strs(s.(map[string]any)["Resource"]); !reflect.DeepEqual(res, []string{keyArn}) {
			t.Errorf("EBS CSI key statement on %v", res)
		}
	}
}

func TestAddons(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		general := one(t, r, tNodeGroup, "cluster-general")
		for _, tc := range []struct {
			name, addon, version, role string
			afterNodes                 bool
		}{
			{"cluster-vpc-cni", "vpc-cni", "v1.22.3-eksbuild.1", "cluster-vpc-cni", false},
			{"cluster-kube-proxy", "kube-proxy", "v1.36.0-eksbuild.9", "", false},
			{"cluster-coredns", "coredns", "v1.14.3-eksbuild.3", "", true},
			{"cluster-ebs-csi", "aws-ebs-csi-driver", "v1.66.0-eksbuild.1", "cluster-ebs-csi", true},
		} {
			a := one(t, r, tAddon, tc.name)
			if a.InputString("addonName") != tc.addon || a.InputString("addonVersion") != tc.version {
				t.Errorf("%s: %q %q", tc.name, a.InputString("addonName"), a.InputString("addonVersion"))
			}
			if a.InputString("resolveConflictsOnCreate") != "OVERWRITE" {
				t.Errorf("%s: resolveConflictsOnCreate %q", tc.name, a.InputString("resolveConflictsOnCreate"))
			}
			if tc.role != "" {
				if !contains(a.PropertyDependencies["serviceAccountRoleArn"], one(t, r, tRole, tc.role).URN) {
					t.Errorf("%s: not on its IRSA role", tc.name)
				}
			} else if len(a.PropertyDependencies["serviceAccountRoleArn"]) != 0 || a.Input("serviceAccountRoleArn") != nil {
				t.Errorf("%s: unexpected service account role", tc.name)
			}
			if got := contains(a.Dependencies, general.URN); got != tc.afterNodes {
				t.Errorf("%s: waits for the general nodes = %v, want %v", tc.name, got, tc.afterNodes)
			}
			if !r.DependsOn(a, one(t, r, tEKS, "cluster")) {
				t.Errorf("%s: not ordered after the control plane", tc.name)
			}
			if !r.Preview && a.InputString("clusterName") != "cinegit-dev-eks" {
				t.Errorf("%s: cluster %q", tc.name, a.InputString("clusterName"))
			}
		}
	})
}

func TestKubernetesResources(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		k8s := one(t, r, tK8s, "cluster-k8s")
		cp := one(t, r, tEKS, "cluster")
		if !contains(k8s.PropertyDependencies["kubeconfig"], cp.URN) {
			t.Errorf("provider kubeconfig does not come from the cluster: %v", k8s.PropertyDependencies["kubeconfig"])
		}
		if k8s.InputString("enableServerSideApply") != "true" && k8s.Input("enableServerSideApply") != true {
			t.Errorf("server-side apply %v", k8s.Input("enableServerSideApply"))
		}
		if !r.Preview {
			kc := jsonOf(t, k8s.InputString("kubeconfig"))
			args := strs(harness.Lookup(kc, "users").([]any)[0].(map[string]any)["user"].(map[string]any)["exec"].(map[string]any)["args"])
			if !slices.Contains(args, "--region") || !slices.Contains(args, "cinegit-dev-eks") {
				t.Errorf("kubeconfig token args %v", args)
			}
		}
		sc := one(t, r, tSC, "cluster-gp3")
		if sc.InputString("metadata.name") != "gp3" {
			t.Errorf("default class name %q", sc.InputString("metadata.name"))
		}
		ann, _ := sc.Input("metadata.annotations").(map[string]any)
		if ann["storageclass.kubernetes.io/is-default-class"] != "true" {
			t.Errorf("gp3 not default: %v", ann)
		}
		if sc.InputString("provisioner") != "ebs.csi.aws.com" || sc.InputString("parameters.type") != "gp3" ||
			sc.InputString("parameters.encrypted") != "true" || sc.InputString("volumeBindingMode") != "WaitForFirstConsumer" {
			t.Errorf("gp3 class %v", sc.Input(""))
		}
		if !contains(sc.PropertyDependencies["parameters"], one(t, r, tKey, "cluster").URN) {
			t.Error("gp3 volumes not encrypted with the cluster key")
		}
		patch := one(t, r, tSCPatch, "cluster-gp2-not-default")
		pann, _ := patch.Input("metadata.annotations").(map[string]any)
		if patch.InputString("metadata.name") != "gp2" || pann["storageclass.kubernetes.io/is-default-class"] != "false" {
			t.Errorf("gp2 patch %v", patch.Input("metadata"))
		}
		for _, res := range []*harness.Resource{sc, patch, one(t, r, tRelease, "cluster-karpenter")} {
			if harness.ProviderURN(res.Provider) != k8s.URN {
				t.Errorf("%s does not use the cluster's provider", res.Name)
			}
		}
	})
}

func TestOutputs(t *testing.T) {
	r, _ := run(t, false, nil)
	want := map[string]string{
		"clusterName":         "cinegit-dev-eks",
		"endpoint":            "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
		"oidcProviderArn":     oidcArn,
		"oidcIssuer":          issuerHost,
		"nodeSecurityGroupId": "sg-eks-cluster",
	}
	for k, v := range want {
		if got := r.Exports[k]; !got.Known || got.Value != v {
			t.Errorf("%s = %+v, want %q", k, got, v)
		}
	}
	kc := r.Exports["kubeconfig"]
	if !kc.Secret || !kc.Known {
		t.Errorf("kubeconfig export %+v must be a known secret", kc)
	}
	comp := r.Component("cinegit:cluster:Cluster")
	if comp == nil {
		t.Fatal("no component")
	}
	for _, res := range r.Resources {
		if res == comp || strings.HasPrefix(res.Type, "pulumi:providers:aws") {
			continue
		}
		if res.Parent != comp.URN {
			t.Errorf("%s %s is not a child of the component", res.Type, res.Name)
		}
		if !strings.HasPrefix(res.Name, "cluster") {
			t.Errorf("%s %s is not prefixed with the component name", res.Type, res.Name)
		}
	}
}

func TestEveryAWSResourceIsTagged(t *testing.T) {
	r, _ := run(t, false, nil)
	for _, res := range r.Resources {
		if !strings.HasPrefix(res.Type, "aws:") || res.Type == tAttach || res.Type == tInline || res.Type == "aws:cloudwatch/eventTarget:EventTarget" || res.Type == "aws:kms/alias:Alias" {
			continue
		}
		if res.InputString("tags.environment") != "dev" || res.InputString("tags.project") != "cinegit" || res.InputString("tags.managed-by") != "pulumi" {
			t.Errorf("%s %s tags %v", res.Type, res.Name, res.Input("tags"))
		}
	}
}

func TestKubeconfigNamesItsRegion(t *testing.T) {
	kc := `{"users":[{"name":"aws","user":{"exec":{"command":"aws","args":["eks","get-token","--cluster-name","x"]}}}]}`
	once, err := addRegion(kc, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	twice, err := addRegion(once, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"once": once, "twice": twice} {
		if strings.Count(got, "--region") != 1 || !strings.Contains(got, `"--region","eu-west-1"`) {
			t.Errorf("%s: %s", name, got)
		}
	}
	if _, err := addRegion("not json", "eu-west-1"); err == nil {
		t.Error("want an error for a malformed kubeconfig")
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

func TestViewerReadsAndAPIClientsReachThePrivateEndpoint(t *testing.T) {
	viewer := "arn:aws:iam::123456789012:role/cinegit-runner-preview"
	both(t, func(a *Args) {
		a.ViewerRoleArn = viewer
		a.APIClientCidrs = []string{"10.99.0.0/24"}
		a.APIClientSecurityGroupIDs = []string{"sg-0123456789abcdef0"}
	}, func(t *testing.T, r *harness.Result) {
		entries, _ := one(t, r, tEKS, "cluster").Input("accessEntries").(map[string]any)
		v, _ := entries["viewer"].(map[string]any)
		pol, _ := v["accessPolicies"].(map[string]any)
		view, _ := pol["cluster-view"].(map[string]any)
		if v["principalArn"] != viewer || len(pol) != 1 || view["policyArn"] != "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy" {
			t.Fatalf("viewer entry %v", v)
		}
		rules := r.ByType("aws:ec2/securityGroupRule:SecurityGroupRule")
		var api []*harness.Resource
		for _, rule := range rules {
			if strings.HasPrefix(rule.Name, "cluster-api-") {
				api = append(api, rule)
			}
		}
		if len(api) != 2 {
			t.Fatalf("want 2 API client rules, got %d", len(api))
		}
		for _, rule := range api {
			if rule.InputString("type") != "ingress" || rule.Input("fromPort") != 443.0 || rule.Input("toPort") != 443.0 || rule.InputString("protocol") != "tcp" {
				t.Errorf("%s is not HTTPS ingress: %v", rule.Name, rule.Inputs)
			}
			if !r.Preview && rule.InputString("securityGroupId") != "sg-eks-cluster" {
				t.Errorf("%s is not on EKS's cluster security group: %q", rule.Name, rule.InputString("securityGroupId"))
			}
		}
		if cidr := r.Named("aws:ec2/securityGroupRule:SecurityGroupRule", "cluster-api-10-99-0-0-24"); cidr == nil || cidr.Input("cidrBlocks.[0]") == "0.0.0.0/0" {
			t.Error("CIDR client rule missing")
		}
		if sg := r.Named("aws:ec2/securityGroupRule:SecurityGroupRule", "cluster-api-sg-0123456789abcdef0"); sg == nil || sg.InputString("sourceSecurityGroupId") != "sg-0123456789abcdef0" {
			t.Error("security group client rule missing")
		}
	})
}

// TestReadiness: the Kubernetes provider (and so every Kubernetes object of the stack) waits for
// the general nodes and the add-ons that make them usable, never for Karpenter's pools, which
// start from zero; Ready.Storage is the EBS CSI add-on and the default StorageClass.
func TestReadiness(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, c := run(t, preview, nil)
			want := []string{
				one(t, r, tNodeGroup, "cluster-general").URN,
				one(t, r, tAddon, "cluster-vpc-cni").URN,
				one(t, r, tAddon, "cluster-kube-proxy").URN,
				one(t, r, tAddon, "cluster-coredns").URN,
			}
			deps := one(t, r, tK8s, "cluster-k8s").Dependencies
			for _, w := range want {
				if !slices.Contains(deps, w) {
					t.Errorf("provider does not wait for %s", w)
				}
			}
			for _, d := range deps {
				if strings.Contains(d, "karpenter") || strings.Contains(d, "nodepool") {
					t.Errorf("provider waits for %s, whose nodes come from zero", d)
				}
			}
			if len(c.Ready.Nodes) != 4 || len(c.Ready.Storage) != 2 {
				t.Fatalf("readiness %d nodes, %d storage", len(c.Ready.Nodes), len(c.Ready.Storage))
			}
			if _, ok := c.Ready.Storage[0].(*awseks.Addon); !ok {
				t.Errorf("Ready.Storage[0] is %T, want the EBS CSI add-on", c.Ready.Storage[0])
			}
			if _, ok := c.Ready.Storage[1].(*storagev1.StorageClass); !ok {
				t.Errorf("Ready.Storage[1] is %T, want the default StorageClass", c.Ready.Storage[1])
			}
		})
	}
}

func TestScheduledScalingLeavesMinAndMaxToTheSchedule(t *testing.T) {
	for _, tt := range []struct {
		scheduled bool
		want      []string
	}{
		{false, nil},
		{true, []string{"scalingConfig.desiredSize", "scalingConfig.minSize", "scalingConfig.maxSize"}},
	} {
		t.Run(fmt.Sprintf("scheduled=%v", tt.scheduled), func(t *testing.T) {
			r, c := run(t, false, func(a *Args) { a.ScheduledScaling = tt.scheduled })
			if c.GeneralAutoscalingGroupName == (pulumi.StringOutput{}) {
				t.Error("the Auto Scaling group name the schedule acts on is not an output")
			}
			for _, ng := range r.ByType(tNodeGroup) {
				if !reflect.DeepEqual(ng.IgnoreChanges, tt.want) && !(len(ng.IgnoreChanges) == 0 && len(tt.want) == 0) {
					t.Errorf("%s ignoreChanges %v, want %v", ng.Name, ng.IgnoreChanges, tt.want)
				}
			}
		})
	}
}
