package cluster

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	tQueue       = "aws:sqs/queue:Queue"
	tRule        = "aws:cloudwatch/eventRule:EventRule"
	tTarget      = "aws:cloudwatch/eventTarget:EventTarget"
	tProfile     = "aws:iam/instanceProfile:InstanceProfile"
	tAccessEntry = "aws:eks/accessEntry:AccessEntry"
	tCR          = "kubernetes:karpenter.sh/v1:NodePool"
	tNodeClass   = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
)

// gpuPool adds a GPU pool to the test cluster.
func gpuPool(a *Args) {
	a.Karpenter.Pools = append(a.Karpenter.Pools, NodePool{
		Name: "gpu", Taint: &Taint{"nvidia.com/gpu", "true", "NoSchedule"}, Batch: true,
		Families: []string{"g6", "g5"}, Sizes: []string{"xlarge"}, CapacityTypes: []string{"on-demand"}, Arch: "amd64",
		CPULimit: 8, MemoryLimitGiB: 32, GPULimit: 2, DiskSizeGiB: 200, ExpireAfterHours: 720,
	})
}

func TestKarpenterControllerPolicyIsScopedToThisCluster(t *testing.T) {
	r, _ := run(t, false, nil)
	bySid, err := one(t, r, tInline, "cluster-karpenter").PolicyBySid("policy")
	if err != nil {
		t.Fatal(err)
	}
	owned := "aws:ResourceTag/kubernetes.io/cluster/cinegit-dev-eks"
	for _, tc := range []struct {
		sid       string
		actions   []string
		resources []string
		condition [3]string // operator, key, one value it must hold
	}{
		{"AllowScopedEC2LaunchTemplateAccessActions", []string{"ec2:RunInstances", "ec2:CreateFleet"},
			[]string{"arn:aws:ec2:eu-west-1:*:launch-template/*"}, [3]string{"StringEquals", owned, "owned"}},
		{"AllowScopedEC2InstanceActionsWithTags", []string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"}, nil,
			[3]string{"StringEquals", "aws:RequestTag/eks:eks-cluster-name", "cinegit-dev-eks"}},
		{"AllowScopedDeletion", []string{"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"},
			[]string{"arn:aws:ec2:eu-west-1:*:instance/*", "arn:aws:ec2:eu-west-1:*:launch-template/*"}, [3]string{"StringEquals", owned, "owned"}},
		{"AllowPassingInstanceRole", []string{"iam:PassRole"},
			[]string{"arn:aws:iam::123456789012:role/cinegit-dev-eks-karpenter-node"}, [3]string{"StringEquals", "iam:PassedToService", "ec2.amazonaws.com"}},
		{"AllowAPIServerEndpointDiscovery", []string{"eks:DescribeCluster"},
			[]string{"arn:aws:eks:eu-west-1:123456789012:cluster/cinegit-dev-eks"}, [3]string{}},
		{"AllowInterruptionQueueActions", []string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
			[]string{"arn:aws:sqs:eu-west-1:123456789012:cinegit-dev-karpenter"}, [3]string{}},
		{"AllowRegionalReadActions", nil, []string{"*"}, [3]string{"StringEquals", "aws:RequestedRegion", region}},
		{"UseClusterKeyForNodeVolumes", nil, []string{"arn:aws:kms:eu-west-1:123456789012:key/key-cluster"},
			[3]string{"StringEquals", "kms:ViaService", "ec2.eu-west-1.amazonaws.com"}},
		{"GrantClusterKeyToNodeVolumes", []string{"kms:CreateGrant"}, []string{"arn:aws:kms:eu-west-1:123456789012:key/key-cluster"},
			[3]string{"Bool", "kms:GrantIsForAWSResource", "true"}},
		{"DecryptInterruptionMessages", []string{"kms:Decrypt"}, []string{"arn:aws:kms:eu-west-1:123456789012:key/key-cluster-karpenter"},
			[3]string{"StringEquals", "kms:ViaService", "sqs.eu-west-1.amazonaws.com"}},
	} {
		st, ok := bySid[tc.sid]
		if !ok {
			t.Errorf("no %s statement", tc.sid)
			continue
		}
		if tc.actions != nil && !reflect.DeepEqual(st.Action, tc.actions) {
			t.Errorf("%s actions %v, want %v", tc.sid, st.Action, tc.actions)
		}
		if tc.resources != nil && !reflect.DeepEqual(st.Resource, tc.resources) {
			t.Errorf("%s resources %v, want %v", tc.sid, st.Resource, tc.resources)
		}
		if c := tc.condition; c[0] != "" && !slices.Contains(st.Condition[c[0]][c[1]], c[2]) {
			t.Errorf("%s condition %v lacks %s %s=%s", tc.sid, st.Condition, c[0], c[1], c[2])
		}
	}
	// The EC2NodeClasses name a profile made here: the controller never writes IAM, and no
	// action but the read-only discovery ones has a bare "*" resource.
	unscoped := []string{"AllowRegionalReadActions", "AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction"}
	for sid, st := range bySid {
		for _, a := range st.Action {
			if strings.HasPrefix(a, "iam:") && a != "iam:PassRole" && a != "iam:GetInstanceProfile" && a != "iam:ListInstanceProfiles" {
				t.Errorf("%s grants %s: the controller manages no IAM", sid, a)
			}
			if strings.Contains(a, "*") && !strings.HasPrefix(a, "kms:") {
				t.Errorf("%s grants a wildcard action %s", sid, a)
			}
		}
		if slices.Contains(st.Resource, "*") && !slices.Contains(unscoped, sid) {
			t.Errorf("%s is not scoped: %v", sid, st.Resource)
		}
	}
	if len(bySid) != 17 {
		t.Errorf("%d statements, want 17: the release's 18, minus the three that manage instance profiles and the zonal shift read (settings.enableZonalShift is off), plus two for the cluster key and one for the queue's", len(bySid))
	}
}

func TestInterruptionQueueGetsExactlyTheInterruptionEvents(t *testing.T) {
	r, _ := run(t, false, nil)
	queue := one(t, r, tQueue, "cluster-karpenter")
	dlq := one(t, r, tQueue, "cluster-karpenter-dlq")
	key := one(t, r, tKey, "cluster-karpenter")
	for _, q := range []*harness.Resource{queue, dlq} {
		if !contains(q.PropertyDependencies["kmsMasterKeyId"], key.URN) {
			t.Errorf("%s is not encrypted with the Karpenter key", q.Name)
		}
		policy, err := q.PolicyBySid("policy")
		if err != nil {
			t.Fatal(err)
		}
		if st := policy["DenyInsecureTransport"]; st.Effect != "Deny" || !reflect.DeepEqual(st.Condition["Bool"]["aws:SecureTransport"], []string{"false"}) {
			t.Errorf("%s does not refuse plain HTTP: %+v", q.Name, st)
		}
		send := policy["AllowInterruptionRules"]
		if !reflect.DeepEqual(send.Action, []string{"sqs:SendMessage"}) || len(send.Condition["ArnEquals"]["aws:SourceArn"]) != len(interruptionRules) {
			t.Errorf("%s send statement %+v", q.Name, send)
		}
	}
	if queue.Input("messageRetentionSeconds") != 300.0 {
		t.Errorf("retention %v, want 300 s (an interruption is worth two minutes)", queue.Input("messageRetentionSeconds"))
	}
	if !strings.Contains(queue.InputString("redrivePolicy"), "key-") && !contains(queue.PropertyDependencies["redrivePolicy"], dlq.URN) {
		t.Error("the queue has no dead-letter queue")
	}
	want := map[string]string{}
	for _, r := range interruptionRules {
		want[r.source+"/"+r.detailType] = r.name
	}
	rules := r.ByType(tRule)
	got := map[string]string{}
	for _, rule := range rules {
		var p struct {
			Source     []string `json:"source"`
			DetailType []string `json:"detail-type"`
		}
		if err := json.Unmarshal([]byte(rule.InputString("eventPattern")), &p); err != nil || len(p.Source) != 1 || len(p.DetailType) != 1 {
			t.Fatalf("%s pattern %q", rule.Name, rule.InputString("eventPattern"))
		}
		got[p.Source[0]+"/"+p.DetailType[0]] = strings.TrimPrefix(rule.Name, "cluster-karpenter-")
		arn := "arn:aws:events:eu-west-1:123456789012:rule/" + rule.InputString("name")
		policy, _ := queue.PolicyBySid("policy")
		if !slices.Contains(policy["AllowInterruptionRules"].Condition["ArnEquals"]["aws:SourceArn"], arn) {
			t.Errorf("the queue policy does not admit %s", arn)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules %v, want %v", got, want)
	}
	targets := r.ByType(tTarget)
	if len(targets) != len(interruptionRules) {
		t.Fatalf("%d targets for %d rules", len(targets), len(interruptionRules))
	}
	for _, tg := range targets {
		if !contains(tg.PropertyDependencies["arn"], queue.URN) || !contains(tg.PropertyDependencies["deadLetterConfig"], dlq.URN) {
			t.Errorf("%s does not deliver to the queue with the dead-letter queue", tg.Name)
		}
	}
}

func TestKarpenterNodesJoinWithTheirOwnRole(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		role := one(t, r, tRole, "cluster-karpenter-node")
		var policies []string
		var attachments []*harness.Resource
		for _, a := range r.ByType(tAttach) {
			if r.DependsOn(a, role) {
				policies = append(policies, a.InputString("policyArn"))
				attachments = append(attachments, a)
			}
		}
		sort.Strings(policies)
		if want := []string{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}; !reflect.DeepEqual(policies, want) {
			t.Errorf("Karpenter node policies %v, want %v (no CNI policy: the add-on has its own role)", policies, want)
		}
		profile := one(t, r, tProfile, "cluster-karpenter-node")
		if !r.DependsOn(profile, role) {
			t.Error("the instance profile does not hold the node role")
		}
		for _, a := range attachments {
			if !contains(profile.Dependencies, a.URN) {
				t.Errorf("the instance profile does not wait for %s", a.Name)
			}
		}
		entry := one(t, r, tAccessEntry, "cluster-karpenter-node")
		if entry.InputString("type") != "EC2_LINUX" || !contains(entry.PropertyDependencies["principalArn"], role.URN) {
			t.Errorf("access entry %v", entry.Input(""))
		}
	})
}

func TestKarpenterReleases(t *testing.T) {
	both(t, nil, func(t *testing.T, r *harness.Result) {
		crds := one(t, r, tRelease, "cluster-karpenter-crd")
		rel := one(t, r, tRelease, "cluster-karpenter")
		for _, x := range []*harness.Resource{crds, rel} {
			if x.InputString("version") != "1.14.1" || x.Input("repositoryOpts") != nil || x.InputString("namespace") != "kube-system" {
				t.Errorf("%s: %v", x.Name, x.Input(""))
			}
		}
		if crds.InputString("chart") != KarpenterCRDChart || rel.InputString("chart") != KarpenterChart {
			t.Errorf("charts %q %q", crds.InputString("chart"), rel.InputString("chart"))
		}
		if rel.Input("skipCrds") != true || !contains(rel.Dependencies, crds.URN) {
			t.Error("the controller's chart installs CRDs itself, or does not wait for the CRD chart")
		}
		v := func(path string) any { return rel.Input("values." + path) }
		if v("serviceAccount.name") != KarpenterServiceAccount || v("nodeSelector.workload") != "general" ||
			v("dnsPolicy") != "Default" || v("replicas") != 2.0 {
			t.Errorf("values %v", v(""))
		}
		if env := v("controller.env[0]"); harness.Lookup(env, "name") != "AWS_REGION" || harness.Lookup(env, "value") != region {
			t.Errorf("controller env %v: the pod cannot read its region from IMDS (hop limit 1)", v("controller.env"))
		}
		if v("controller.resources.requests.memory") != KarpenterMemory || v("controller.resources.limits.memory") != KarpenterMemory {
			t.Errorf("controller resources %v", v("controller.resources"))
		}
		if !contains(rel.PropertyDependencies["values"], one(t, r, tRole, "cluster-karpenter").URN) ||
			!contains(rel.PropertyDependencies["values"], one(t, r, tQueue, "cluster-karpenter").URN) {
			t.Error("values do not carry the IRSA role and the interruption queue")
		}
		if !r.Preview && (v("settings.clusterName") != "cinegit-dev-eks" || v("settings.interruptionQueue") != "cinegit-dev-karpenter") {
			t.Errorf("settings %v", v("settings"))
		}
		if r.Named(tRelease, "cluster-nvidia-device-plugin") != nil {
			t.Error("a device plugin without a GPU pool")
		}
	})
}

func TestNodePoolsAndNodeClasses(t *testing.T) {
	r, _ := run(t, false, gpuPool)
	release := one(t, r, tRelease, "cluster-karpenter")
	entry := one(t, r, tAccessEntry, "cluster-karpenter-node")
	key := one(t, r, tKey, "cluster")
	for _, tc := range []struct {
		pool, taint string
		limits      map[string]any
		gpuLabel    bool
	}{
		{"media", "workload=media:NoSchedule", map[string]any{"cpu": "32", "memory": "64Gi"}, false},
		{"gpu", "nvidia.com/gpu=true:NoSchedule", map[string]any{"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}, true},
	} {
		nc := one(t, r, tNodeClass, "cluster-nodeclass-"+tc.pool)
		np := one(t, r, tCR, "cluster-nodepool-"+tc.pool)
		for _, x := range []*harness.Resource{nc, np} {
			// Deleting them needs the controller (its finalizers terminate the instances), and
			// their nodes need the access entry to join.
			if !contains(x.Dependencies, release.URN) || !contains(x.Dependencies, entry.URN) {
				t.Errorf("%s does not wait for the controller and the access entry", x.Name)
			}
		}
		s := func(path string) any { return nc.Input("spec." + path) }
		if s("amiSelectorTerms[0].alias") != "al2023@v20260724" || s("instanceProfile") != "cinegit-dev-eks-karpenter-node" {
			t.Errorf("%s: AMI %v profile %v", tc.pool, s("amiSelectorTerms"), s("instanceProfile"))
		}
		if s("metadataOptions.httpTokens") != "required" || s("metadataOptions.httpPutResponseHopLimit") != 1.0 {
			t.Errorf("%s: metadata options %v", tc.pool, s("metadataOptions"))
		}
		if s("blockDeviceMappings[0].ebs.encrypted") != true || s("blockDeviceMappings[0].ebs.volumeType") != "gp3" ||
			!contains(nc.PropertyDependencies["spec"], key.URN) {
			t.Errorf("%s: root volume %v", tc.pool, s("blockDeviceMappings"))
		}
		if s("subnetSelectorTerms[1].id") != "subnet-b" || s("securityGroupSelectorTerms[0].id") != "sg-eks-cluster" {
			t.Errorf("%s: placement %v %v", tc.pool, s("subnetSelectorTerms"), s("securityGroupSelectorTerms"))
		}
		if s("tags.environment") != "dev" || s("tags.project") != "cinegit" {
			t.Errorf("%s: tags %v", tc.pool, s("tags"))
		}
		p := func(path string) any { return np.Input("spec." + path) }
		taint := p("template.spec.taints[0]")
		if got := harness.Lookup(taint, "key").(string) + "=" + harness.Lookup(taint, "value").(string) + ":" + harness.Lookup(taint, "effect").(string); got != tc.taint {
			t.Errorf("%s: taint %s, want %s", tc.pool, got, tc.taint)
		}
		if got, _ := p("limits").(map[string]any); !reflect.DeepEqual(got, tc.limits) {
			t.Errorf("%s: limits %v, want %v", tc.pool, got, tc.limits)
		}
		// No running job is moved to consolidate; an expired node waits a day for its jobs.
		if p("disruption.consolidationPolicy") != "WhenEmpty" || p("template.spec.terminationGracePeriod") != BatchTerminationGracePeriod {
			t.Errorf("%s: disruption %v grace %v", tc.pool, p("disruption"), p("template.spec.terminationGracePeriod"))
		}
		if p("template.metadata.labels.workload") != tc.pool || (harness.Lookup(p("template.metadata.labels"), "nvidia.com/gpu.present") == "true") != tc.gpuLabel {
			t.Errorf("%s: labels %v", tc.pool, p("template.metadata.labels"))
		}
		if p("template.spec.nodeClassRef.name") != tc.pool || !contains(np.PropertyDependencies["spec"], nc.URN) {
			t.Errorf("%s: node class %v", tc.pool, p("template.spec.nodeClassRef"))
		}
		reqs := map[string][]string{}
		for _, req := range p("template.spec.requirements").([]any) {
			reqs[harness.Lookup(req, "key").(string)] = strs(harness.Lookup(req, "values"))
		}
		if len(reqs["karpenter.k8s.aws/instance-family"]) != 2 || len(reqs["karpenter.sh/capacity-type"]) == 0 ||
			!reflect.DeepEqual(reqs["kubernetes.io/arch"], []string{"amd64"}) {
			t.Errorf("%s: requirements %v", tc.pool, reqs)
		}
	}
	plugin := one(t, r, tRelease, "cluster-nvidia-device-plugin")
	if plugin.InputString("repositoryOpts.repo") != NvidiaDevicePluginRepo || plugin.InputString("version") != "0.20.0" || plugin.InputString("namespace") != "kube-system" {
		t.Errorf("device plugin %v", plugin.Input(""))
	}
}

func TestServicesPoolConsolidates(t *testing.T) {
	spec := nodePoolSpec(NodePool{Name: "general", Families: []string{"m7g"}, Sizes: []string{"large"}, CapacityTypes: []string{"on-demand"},
		Arch: "arm64", CPULimit: 8, MemoryLimitGiB: 32, ExpireAfterHours: 720}, pulumi.String("general").ToStringOutput())
	d := spec["disruption"].(map[string]any)
	if d["consolidationPolicy"] != "WhenEmptyOrUnderutilized" {
		t.Errorf("services' nodes are not consolidated: %v", d)
	}
	tmpl := spec["template"].(map[string]any)["spec"].(map[string]any)
	if _, ok := tmpl["taints"]; ok {
		t.Error("the services' pool is tainted")
	}
	if _, ok := tmpl["terminationGracePeriod"]; ok {
		t.Error("the services' pool waits for jobs it never runs")
	}
}
