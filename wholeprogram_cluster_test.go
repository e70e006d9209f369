package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
)

func TestClusterPerStack(t *testing.T) {
	want := map[string]struct {
		publicEndpoint bool
		publicCidrs    []string
		mediaCapacity  string
		generalMin     float64
		logRetention   float64
		protect        bool
		mediaSize      string
		pools          []string
	}{
		"dev":     {false, nil, "spot,on-demand", 1, 30, false, "2xlarge,4xlarge", []string{"media"}},
		"staging": {false, nil, "spot,on-demand", 4, 90, false, "2xlarge,4xlarge", []string{"general", "gpu", "media"}},
		"prod":    {false, nil, "on-demand", 3, 365, true, "4xlarge,8xlarge", []string{"general", "gpu", "media"}},
	}
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := want[r.Stack]
		cp := r.Named("eks:index:Cluster", "cluster")
		if cp == nil {
			t.Fatal("no EKS cluster")
		}
		if cp.InputString("name") != "cinegit-"+r.Stack+"-eks" || cp.InputString("version") != "1.36" {
			t.Errorf("cluster %q version %q", cp.InputString("name"), cp.InputString("version"))
		}
		if cp.Input("endpointPrivateAccess") != true || cp.Input("endpointPublicAccess") != w.publicEndpoint {
			t.Errorf("endpoints private=%v public=%v", cp.Input("endpointPrivateAccess"), cp.Input("endpointPublicAccess"))
		}
		var cidrs []string
		for _, c := range asSlice(cp.Input("publicAccessCidrs")) {
			cidrs = append(cidrs, fmt.Sprint(c))
		}
		if !reflect.DeepEqual(cidrs, w.publicCidrs) {
			t.Errorf("public access CIDRs %v, want %v", cidrs, w.publicCidrs)
		}
		if cp.Protect != w.protect {
			t.Errorf("cluster protect=%v, want %v", cp.Protect, w.protect)
		}
		entries, _ := cp.Input("accessEntries").(map[string]any)
		deploy, _ := entries["deploy"].(map[string]any)
		viewer, _ := entries["viewer"].(map[string]any)
		prs, _ := entries["pull-requests"].(map[string]any)
		if len(entries) != 3 || deploy["principalArn"] != "arn:aws:iam::"+harness.AccountID+":role/cinegit-runner-deploy" ||
			viewer["principalArn"] != "arn:aws:iam::"+harness.AccountID+":role/cinegit-runner-preview" ||
			prs["principalArn"] != "arn:aws:iam::"+harness.AccountID+":role/cinegit-runner-pr" {
			t.Errorf("access entries %v", entries)
		}
		// The preview role reads, never administers; the pull-request role, which runs
		// unreviewed code, reads everything but Secrets.
		if fmt.Sprint(viewer["accessPolicies"]) != "map[cluster-view:map[accessScope:map[type:cluster] policyArn:arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy]]" {
			t.Errorf("viewer access %v", viewer["accessPolicies"])
		}
		if fmt.Sprint(prs["accessPolicies"]) != "map[cluster-view-no-secrets:map[accessScope:map[type:cluster] policyArn:arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy]]" {
			t.Errorf("pull-request access %v", prs["accessPolicies"])
		}

		// Volumes the EBS CSI driver provisions carry the stack's tags, so a volume that
		// outlives its claim is found by the post-destroy scan (scripts/post-destroy.sh).
		var ebs struct {
			Controller struct {
				ExtraVolumeTags map[string]string `json:"extraVolumeTags"`
			} `json:"controller"`
		}
		addon := r.Named("aws:eks/addon:Addon", "cluster-ebs-csi")
		if err := json.Unmarshal([]byte(addon.InputString("configurationValues")), &ebs); err != nil ||
			ebs.Controller.ExtraVolumeTags["environment"] != r.Stack || ebs.Controller.ExtraVolumeTags["project"] != "cinegit" {
			t.Errorf("EBS CSI configuration %q", addon.InputString("configurationValues"))
		}

		// The cluster sits in the network's private subnets, in the network's VPC.
		for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
			private := s.InputString("tags.tier") == "private"
			if private != contains(cp.PropertyDependencies["privateSubnetIds"], s.URN) {
				t.Errorf("subnet %s (tier %s) in the cluster's privateSubnetIds = %v", s.Name, s.InputString("tags.tier"), !private)
			}
		}
		vpc := r.ByType("aws:ec2/vpc:Vpc")[0]
		if !contains(cp.PropertyDependencies["vpcId"], vpc.URN) {
			t.Error("cluster not in the network's VPC")
		}

		// The general group in the private subnets, sized per stack.
		general := r.Named("aws:eks/nodeGroup:NodeGroup", "cluster-general")
		if general == nil || len(r.ByType("aws:eks/nodeGroup:NodeGroup")) != 1 {
			t.Fatal("want the general node group alone")
		}
		for _, ng := range []*harness.Resource{general} {
			for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
				if s.InputString("tags.tier") == "private" && !contains(ng.PropertyDependencies["subnetIds"], s.URN) {
					t.Errorf("%s not in private subnet %s", ng.Name, s.Name)
				}
			}
			// The AMI follows the instance types' architecture (Graviton general nodes in dev).
			wantAmi := "AL2023_x86_64_STANDARD"
			if config.InstanceArch(fmt.Sprint(asSlice(ng.Input("instanceTypes"))[0])) == config.ArchARM64 {
				wantAmi = "AL2023_ARM_64_STANDARD"
			}
			if ng.InputString("amiType") != wantAmi {
				t.Errorf("%s AMI %q, want %q", ng.Name, ng.InputString("amiType"), wantAmi)
			}
		}
		if general.Input("scalingConfig.minSize") != w.generalMin || general.InputString("capacityType") != "ON_DEMAND" {
			t.Errorf("general %v %v", general.Input("scalingConfig"), general.InputString("capacityType"))
		}
		// Karpenter's pools per stack; media nodes run the x86 FFmpeg image, Spot first where
		// the stack allows it.
		var pools []string
		for _, np := range r.ByType("kubernetes:karpenter.sh/v1:NodePool") {
			pools = append(pools, strings.TrimPrefix(np.Name, "cluster-nodepool-"))
		}
		sort.Strings(pools)
		if !reflect.DeepEqual(pools, w.pools) {
			t.Errorf("NodePools %v, want %v", pools, w.pools)
		}
		media := r.Named("kubernetes:karpenter.sh/v1:NodePool", "cluster-nodepool-media")
		reqs := map[string]string{}
		for _, key := range []string{"karpenter.sh/capacity-type", "kubernetes.io/arch", "karpenter.k8s.aws/instance-size"} {
			reqs[key] = strings.Join(plan.PoolRequirement(media, key), ",")
		}
		if reqs["karpenter.sh/capacity-type"] != w.mediaCapacity || reqs["kubernetes.io/arch"] != "amd64" || reqs["karpenter.k8s.aws/instance-size"] != w.mediaSize {
			t.Errorf("media pool requirements %v", reqs)
		}

		lg := r.Named("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane")
		if lg == nil || lg.Input("retentionInDays") != w.logRetention {
			t.Errorf("control plane log retention %v, want %v", lg.Input("retentionInDays"), w.logRetention)
		}
		key := r.Named("aws:kms/key:Key", "cluster")
		if key == nil || key.Protect != w.protect {
			t.Errorf("cluster key protect %v", key)
		}

		// The data stores admit the nodes: the cluster security group reaches their rules.
		comp := r.Component("cinegit:cluster:Cluster")
		admitted := false
		for _, res := range r.Resources {
			if strings.Contains(res.Type, "securityGroup") && res.Parent != comp.URN && r.DependsOn(res, cp) {
				admitted = true
			}
		}
		if !admitted {
			t.Error("no data store security group admits the cluster's nodes")
		}
	})
}

func TestClusterExports(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, name := range []string{"clusterName", "clusterEndpoint", "oidcProviderArn", "kubeconfig"} {
			if _, ok := r.Exports[name]; !ok {
				t.Errorf("export %s missing", name)
			}
		}
		if r.Preview {
			return
		}
		if got := r.Exports["clusterName"]; got.Value != "cinegit-"+r.Stack+"-eks" {
			t.Errorf("clusterName %v", got.Value)
		}
		if got := fmt.Sprint(r.Exports["oidcProviderArn"].Value); !strings.HasPrefix(got, "arn:aws:iam::"+harness.AccountID+":oidc-provider/oidc.eks.") {
			t.Errorf("oidcProviderArn %s", got)
		}
		kc := r.Exports["kubeconfig"]
		if !kc.Secret {
			t.Error("kubeconfig is exported in plain text")
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(fmt.Sprint(kc.Value)), &doc); err != nil || !strings.Contains(fmt.Sprint(kc.Value), `"--region","us-east-1"`) {
			t.Errorf("kubeconfig %v (%v)", kc.Value, err)
		}
	})
}

func TestClusterIRSARolesTrustOnlyTheirServiceAccounts(t *testing.T) {
	r := run(t, "prod", false)
	found := 0
	for _, role := range r.ByType("aws:iam/role:Role") {
		trust := role.InputString("assumeRolePolicy")
		if !strings.Contains(trust, "AssumeRoleWithWebIdentity") {
			continue
		}
		found++
		var doc struct {
			Statement []struct {
				Condition map[string]map[string]any
			}
		}
		if err := json.Unmarshal([]byte(trust), &doc); err != nil {
			t.Fatal(err)
		}
		for _, st := range doc.Statement {
			eq := st.Condition["StringEquals"]
			if len(st.Condition) != 1 || len(eq) != 2 {
				t.Errorf("%s: conditions %v", role.Name, st.Condition)
			}
			for k, v := range eq {
				if strings.ContainsAny(fmt.Sprint(v), "*?") || !(strings.HasSuffix(k, ":sub") || strings.HasSuffix(k, ":aud")) {
					t.Errorf("%s: condition %s=%v", role.Name, k, v)
				}
			}
		}
	}
	if found < 3 {
		t.Errorf("want at least the vpc-cni, EBS CSI and autoscaler IRSA roles, found %d", found)
	}
}

// TestClusterPassesThePolicyPack runs the whole pack over every stack and requires no finding,
// mandatory or advisory, on the cluster component's resources.
func TestClusterPassesThePolicyPack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		rep := policyReport(t, r)
		comp := r.Component("cinegit:cluster:Cluster")
		mine := map[string]bool{comp.URN: true}
		for _, d := range r.Descendants(comp.URN) {
			mine[d.URN] = true
		}
		for _, f := range append(rep.Violations(), rep.Warnings()...) {
			if mine[f.URN] {
				t.Errorf("%s %s: %s: %s", f.Type, f.Name, f.Rule, f.Message)
			}
		}
	})
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
