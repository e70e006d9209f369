package cluster

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/kube"
)

// Karpenter's charts, service account and API versions. The controller chart, the CRD chart
// and the controller's IAM policy (karpenterPolicy, after the release's own CloudFormation
// template, website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml
// in aws/karpenter-provider-aws) change together: bump them in one pull request.
const (
	KarpenterChart          = "oci://public.ecr.aws/karpenter/karpenter"
	KarpenterCRDChart       = "oci://public.ecr.aws/karpenter/karpenter-crd"
	KarpenterServiceAccount = "karpenter"
	// NvidiaDevicePluginRepo is where NVIDIA publishes the device plugin's chart.
	NvidiaDevicePluginRepo = "https://nvidia.github.io/k8s-device-plugin"
	NodePoolAPIVersion     = "karpenter.sh/v1"
	NodeClassAPIVersion    = "karpenter.k8s.aws/v1"
	// DoNotDisruptAnnotation on a pod keeps Karpenter from voluntarily disrupting its node
	// (consolidation, drift, expiration) while it runs (Karpenter docs, concepts/disruption,
	// "Pod-Level Controls").
	DoNotDisruptAnnotation = "karpenter.sh/do-not-disrupt"
)

// KarpenterMetrics is where Prometheus finds Karpenter's metrics: its chart's Service (and
// pods) carry these labels, and the port (controller.metrics.port, 8080 by default) is named
// http-metrics (templates/service.yaml).
var KarpenterMetrics = struct {
	Labels   map[string]string
	PortName string
	Port     int
}{map[string]string{"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter"}, "http-metrics", 8080}

// The Karpenter controller's requests and limits. Requests equal limits for memory: Karpenter
// holds the cluster's state in memory, and an OOM kill stops provisioning.
const (
	KarpenterCPURequest = "250m"
	KarpenterMemory     = "1Gi"
	KarpenterCPULimit   = "1"
)

// BatchTerminationGracePeriod is how long a batch node being removed (expired, drifted past
// its do-not-disrupt jobs) waits for its running jobs: longer than any media job's deadline.
const BatchTerminationGracePeriod = "24h"

// GPUWorkload labels GPU nodes; GPUTaint keeps every pod without a GPU request off them (the
// NVIDIA device plugin's DaemonSet tolerates nvidia.com/gpu by default).
const GPUWorkload = "gpu"

// GPUTaint is the GPU pool's taint.
var GPUTaint = Taint{"nvidia.com/gpu", "true", "NoSchedule"}

// Karpenter configures the controller and its pools.
type Karpenter struct {
	// ChartVersion pins both charts (and so the controller image).
	ChartVersion string
	// AmiAlias is the EC2NodeClasses' AMI alias ("al2023@v20261118").
	AmiAlias string
	// Replicas of the controller (2 for a leader and a standby, on different nodes; 1 where
	// the general group has one node).
	Replicas int
	// Pools are the NodePools, each with its own EC2NodeClass of the same name.
	Pools []NodePool
	// DevicePluginVersion pins NVIDIA's device plugin chart, installed with a GPU pool.
	DevicePluginVersion string
}

// NodePool is one Karpenter NodePool.
type NodePool struct {
	// Name names the NodePool and the EC2NodeClass, and is the nodes' workload label.
	Name string
	// Taint, when set, is the only taint of the pool's nodes.
	Taint *Taint
	// Families, Sizes and CapacityTypes are the pool's instance choices; Arch is amd64 or arm64.
	Families, Sizes, CapacityTypes []string
	Arch                           string
	// CPULimit (vCPUs), MemoryLimitGiB and GPULimit cap the pool's nodes together.
	CPULimit, MemoryLimitGiB, GPULimit int
	// DiskSizeGiB is each node's root volume; ExpireAfterHours its longest life.
	DiskSizeGiB, ExpireAfterHours int
	// Batch pools run jobs: Karpenter only removes their empty nodes, never moves a running
	// job to consolidate (consolidationPolicy WhenEmpty).
	Batch bool
}

// Taint is a Kubernetes node taint.
type Taint struct{ Key, Value, Effect string }

// karpenter is what the Karpenter part of the platform makes.
type karpenter struct {
	queue    *sqs.Queue
	queueKey *kmskey.Key
	nodeRole *iam.Role
	profile  *iam.InstanceProfile
	entry    *awseks.AccessEntry
	crds     *kube.Release
	release  *kube.Release
}

// karpenterNames are the fixed names of the Karpenter resources; policies name their ARNs
// before the resources exist.
func (p *platform) karpenterQueueName() string { return p.env.Naming.NameMax(80, "karpenter") }
func (p *platform) karpenterDLQName() string   { return p.env.Naming.NameMax(80, "karpenter-dlq") }
func (p *platform) karpenterRuleName(rule string) string {
	return p.env.Naming.NameMax(64, "karpenter-"+rule)
}
func (p *platform) karpenterRuleArn(rule string) string {
	return p.env.Arn("events", "rule/"+p.karpenterRuleName(rule))
}

// interruptionRules are the EventBridge events Karpenter acts on before AWS takes a node away:
// Spot interruption warnings and rebalance recommendations, scheduled maintenance (AWS
// Health), instance state changes and capacity reservation interruptions (the release's
// CloudFormation template; Karpenter docs, concepts/disruption, "Interruption").
var interruptionRules = []struct{ name, source, detailType string }{
	{"health", "aws.health", "AWS Health Event"},
	{"spot", "aws.ec2", "EC2 Spot Instance Interruption Warning"},
	{"rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"},
	{"state", "aws.ec2", "EC2 Instance State-change Notification"},
	{"reservation", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"},
}

// karpenter installs Karpenter: its interruption queue and rules, its nodes' role and
// instance profile with their access entry, the controller (IRSA) on the general group, and
// one EC2NodeClass and NodePool per configured pool.
func (p *platform) karpenter() error {
	k := &karpenter{}
	if err := p.interruptionQueue(k); err != nil {
		return err
	}
	p.karpenterQueue = k.queue
	if err := p.karpenterNodes(k); err != nil {
		return err
	}
	if err := p.karpenterController(k); err != nil {
		return err
	}
	gpu := false
	for _, pool := range p.args.Karpenter.Pools {
		if err := p.nodePool(k, pool); err != nil {
			return err
		}
		gpu = gpu || pool.GPULimit > 0
	}
	if gpu {
		return p.nvidiaDevicePlugin()
	}
	return nil
}

// nvidiaDevicePlugin runs NVIDIA's device plugin on the GPU nodes: the AL2023 NVIDIA AMI brings
// the driver and the container toolkit but not the plugin that advertises nvidia.com/gpu (EKS
// user guide, "Install the NVIDIA Kubernetes device plugin"). It goes to kube-system: its pods
// mount host paths (the kubelet's device-plugins socket directory), which no Pod Security level
// but privileged admits. Its defaults place it: an affinity for nodes labelled
// nvidia.com/gpu.present=true (the GPU pool's label) and a toleration of nvidia.com/gpu.
func (p *platform) nvidiaDevicePlugin() error {
	_, err := kube.NewRelease(p.ctx, p.name+"-nvidia-device-plugin", kube.ReleaseArgs{
		Name: "nvidia-device-plugin", Chart: "nvidia-device-plugin", Version: p.args.Karpenter.DevicePluginVersion,
		Repo:      NvidiaDevicePluginRepo,
		Namespace: pulumi.String(SystemNamespace),
		Values: pulumi.Map{
			// Requests so that the scheduler counts it, and limits (the chart sets neither;
			// the same values size its MPS control daemon, which runs only where MPS sharing
			// is configured, never here).
			"resources": pulumi.Map{
				"requests": pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("64Mi")},
				"limits":   pulumi.StringMap{"cpu": pulumi.String("200m"), "memory": pulumi.String("128Mi")},
			},
		},
		// A DaemonSet with no GPU node yet is ready at once: nothing waits for a GPU.
	}, p.parent, pulumi.Provider(p.k8s))
	return err
}

// interruptionQueue is the encrypted queue EventBridge fills with interruption events, its
// dead-letter queue, and the rules.
func (p *platform) interruptionQueue(k *karpenter) error {
	env := p.env
	key, err := kmskey.New(p.ctx, p.name+"-karpenter", kmskey.Args{
		Env:         env,
		Description: "CineGit " + env.Naming.Stack + " Karpenter interruption queues",
		Alias:       env.Naming.Name("karpenter"),
		Statements: []iampolicy.Statement{
			iampolicy.EventBridgeQueueKeyStatement(env.Arn("sqs", p.karpenterQueueName()), env.Arn("sqs", p.karpenterDLQName())),
		},
	}, p.parent, pulumi.Protect(p.args.Protect))
	if err != nil {
		return err
	}
	k.queueKey = key
	// An interruption warning is worth acting on for two minutes (a Spot interruption), so the
	// queue keeps messages five minutes, as Karpenter's template does; the dead-letter queue
	// keeps what neither EventBridge nor Karpenter could handle for a day, for a look.
	redriveAllow, _ := json.Marshal(map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []string{env.Arn("sqs", p.karpenterQueueName())}})
	dlq, err := sqs.NewQueue(p.ctx, p.name+"-karpenter-dlq", &sqs.QueueArgs{
		Name:                    pulumi.String(p.karpenterDLQName()),
		KmsMasterKeyId:          key.Arn(),
		MessageRetentionSeconds: pulumi.Int(86400),
		RedriveAllowPolicy:      pulumi.String(string(redriveAllow)),
		Policy:                  p.interruptionQueuePolicy(p.karpenterDLQName()),
		Tags:                    env.Tags.Named(p.karpenterDLQName()).Map(),
	}, p.parent)
	if err != nil {
		return err
	}
	k.queue, err = sqs.NewQueue(p.ctx, p.name+"-karpenter", &sqs.QueueArgs{
		Name:                    pulumi.String(p.karpenterQueueName()),
		KmsMasterKeyId:          key.Arn(),
		MessageRetentionSeconds: pulumi.Int(300),
		RedrivePolicy: dlq.Arn.ApplyT(func(arn string) string {
			b, _ := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": 5})
			return string(b)
		}).(pulumi.StringOutput),
		Policy: p.interruptionQueuePolicy(p.karpenterQueueName()),
		Tags:   env.Tags.Named(p.karpenterQueueName()).Map(),
	}, p.parent)
	if err != nil {
		return err
	}
	for _, r := range interruptionRules {
		ruleName := p.karpenterRuleName(r.name)
		pattern, _ := json.Marshal(map[string]any{"source": []string{r.source}, "detail-type": []string{r.detailType}})
		rule, err := cloudwatch.NewEventRule(p.ctx, p.name+"-karpenter-"+r.name, &cloudwatch.EventRuleArgs{
			Name:         pulumi.String(ruleName),
			Description:  pulumi.String(r.detailType + " events for Karpenter on " + p.args.Name),
			EventPattern: pulumi.String(string(pattern)),
			Tags:         env.Tags.Named(ruleName).Map(),
		}, p.parent)
		if err != nil {
			return err
		}
		if _, err := cloudwatch.NewEventTarget(p.ctx, p.name+"-karpenter-"+r.name, &cloudwatch.EventTargetArgs{
			Rule:             rule.Name,
			TargetId:         pulumi.String("karpenter-interruption-queue"),
			Arn:              k.queue.Arn,
			DeadLetterConfig: &cloudwatch.EventTargetDeadLetterConfigArgs{Arn: dlq.Arn},
		}, p.parent); err != nil {
			return err
		}
	}
	return nil
}

// interruptionQueuePolicy lets exactly the interruption rules send to a queue, over TLS.
func (p *platform) interruptionQueuePolicy(queue string) pulumi.StringOutput {
	var rules []string
	for _, r := range interruptionRules {
		rules = append(rules, p.karpenterRuleArn(r.name))
	}
	return iampolicy.EventBridgeQueuePolicy("AllowInterruptionRules", p.env.Arn("sqs", queue), rules...)
}

// karpenterNodes is the role of Karpenter's nodes (the managed group's policies, no more), the
// instance profile the EC2NodeClasses name (so the controller needs no IAM write access), and
// the access entry that lets the nodes join: EKS makes entries for managed node groups' roles
// only (EKS user guide, "Create access entries": type EC2_LINUX for self-managed nodes).
func (p *platform) karpenterNodes(k *karpenter) error {
	env := p.env
	nodes, err := newNodeRole(p.ctx, p.name, "karpenter-node", "Karpenter nodes of "+p.args.Name, env, p.parent)
	if err != nil {
		return err
	}
	k.nodeRole = nodes.role
	roleName := nodes.name
	k.profile, err = iam.NewInstanceProfile(p.ctx, p.name+"-karpenter-node", &iam.InstanceProfileArgs{
		Name: pulumi.String(roleName),
		Role: k.nodeRole.Name,
		Tags: env.Tags.Named(roleName).Map(),
	}, p.parent, pulumi.DependsOn(nodes.attachments)) // a node launched before its policies cannot join
	if err != nil {
		return err
	}
	k.entry, err = awseks.NewAccessEntry(p.ctx, p.name+"-karpenter-node", &awseks.AccessEntryArgs{
		ClusterName:  p.clusterName,
		PrincipalArn: k.nodeRole.Arn,
		Type:         pulumi.String("EC2_LINUX"),
		Tags:         env.Tags.Named(roleName).Map(),
	}, p.parent)
	return err
}

// karpenterController installs the CRDs and the controller with its IRSA role.
func (p *platform) karpenterController(k *karpenter) error {
	a := p.args.Karpenter
	role, err := p.irsaRole("karpenter", KarpenterServiceAccount, p.karpenterPolicy(k), nil)
	if err != nil {
		return err
	}
	k.crds, err = kube.NewRelease(p.ctx, p.name+"-karpenter-crd", kube.ReleaseArgs{
		Name: "karpenter-crd", Chart: KarpenterCRDChart, Version: a.ChartVersion,
		Namespace: pulumi.String(SystemNamespace),
		Values:    pulumi.Map{},
	}, p.parent, pulumi.Provider(p.k8s))
	if err != nil {
		return err
	}
	k.release, err = kube.NewRelease(p.ctx, p.name+"-karpenter", kube.ReleaseArgs{
		Name: "karpenter", Chart: KarpenterChart, Version: a.ChartVersion,
		Namespace: pulumi.String(SystemNamespace),
		// The CRD chart owns the CRDs, upgrades included (Karpenter docs, upgrading/upgrade-guide:
		// "install the karpenter-crd chart ... to manage the CRDs").
		SkipCrds: true,
		Values: pulumi.Map{
			"settings": pulumi.Map{
				"clusterName":       p.clusterName,
				"interruptionQueue": k.queue.Name,
			},
			"serviceAccount": pulumi.Map{
				"name":        pulumi.String(KarpenterServiceAccount),
				"annotations": pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn},
			},
			// Karpenter runs on the managed general group only (the chart's affinity already
			// keeps it off nodes it launched itself), never on nodes it could remove.
			"nodeSelector": pulumi.StringMap{"kubernetes.io/os": pulumi.String("linux"), WorkloadLabel: pulumi.String(GeneralWorkload)},
			// The VPC's resolver rather than CoreDNS: Karpenter must work while CoreDNS has
			// nowhere to run (Karpenter docs, getting-started: dnsPolicy Default).
			"dnsPolicy": pulumi.String("Default"),
			"replicas":  pulumi.Int(a.Replicas),
			"controller": pulumi.Map{
				"resources": pulumi.Map{
					"requests": pulumi.StringMap{"cpu": pulumi.String(KarpenterCPURequest), "memory": pulumi.String(KarpenterMemory)},
					"limits":   pulumi.StringMap{"cpu": pulumi.String(KarpenterCPULimit), "memory": pulumi.String(KarpenterMemory)},
				},
				// Pods cannot read the region from instance metadata (hop limit 1), which is
				// where Karpenter looks when AWS_REGION is unset.
				"env": pulumi.Array{pulumi.StringMap{"name": pulumi.String("AWS_REGION"), "value": pulumi.String(p.env.Region)}},
			},
		},
	}, p.parent, pulumi.Provider(p.k8s), pulumi.DependsOn([]pulumi.Resource{k.crds}))
	return err
}

// nodePool makes a pool's EC2NodeClass and NodePool. Both wait for the controller: deleting
// them needs it (its finalizers terminate the pool's instances first), so a destroy must
// delete them before the controller goes. The controller's release waits for the CRD release,
// which is done only once its CRDs are Established: Helm's wait checks a
// CustomResourceDefinition's Established condition (helm pkg/kube/ready.go, crdReady), so the
// API server knows both kinds before these are created.
func (p *platform) nodePool(k *karpenter, pool NodePool) error {
	env := p.env
	nodeName := env.Naming.Name("eks", pool.Name)
	after := pulumi.DependsOn([]pulumi.Resource{k.release, k.entry})
	nodeClass, err := kube.NewCustomResource(p.ctx, p.name+"-nodeclass-"+pool.Name, kube.Object{
		APIVersion: NodeClassAPIVersion, Kind: "EC2NodeClass", Name: pool.Name,
	}, nodeClassSpec{
		AmiSelectorTerms:           []amiSelector{{Alias: p.args.Karpenter.AmiAlias}},
		InstanceProfile:            k.profile.Name,
		SubnetSelectorTerms:        p.subnetSelectors(),
		SecurityGroupSelectorTerms: []idSelector{{ID: p.nodeSecurityGroup}},
		// As the managed nodes: IMDSv2 only, one hop (pods cannot reach the node's role).
		MetadataOptions: metadataOptions{HTTPEndpoint: "enabled", HTTPProtocolIPv6: "disabled", HTTPPutResponseHopLimit: 1, HTTPTokens: "required"},
		BlockDeviceMappings: []blockDeviceMapping{{
			DeviceName: "/dev/xvda", // the AL2023 AMIs' root device
			RootVolume: true,
			EBS: ebs{
				VolumeSize: fmt.Sprintf("%dGi", pool.DiskSizeGiB), VolumeType: "gp3",
				Encrypted: true, KmsKeyID: p.key.Arn(), DeleteOnTermination: true,
			},
		}},
		Tags: env.Tags.Named(nodeName).With(WorkloadLabel, pool.Name),
	}, p.parent, pulumi.Provider(p.k8s), after)
	if err != nil {
		return err
	}
	_, err = kube.NewCustomResource(p.ctx, p.name+"-nodepool-"+pool.Name, kube.Object{
		APIVersion: NodePoolAPIVersion, Kind: "NodePool", Name: pool.Name,
	}, nodePoolSpec(pool, kube.ObjectName(nodeClass)), p.parent, pulumi.Provider(p.k8s), after)
	return err
}

// subnetSelectors select the private subnets by ID (no tag convention to keep in step).
func (p *platform) subnetSelectors() pulumi.ArrayOutput {
	return p.args.PrivateSubnetIDs.ToStringArrayOutput().ApplyT(func(ids []string) []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = map[string]any{"id": id}
		}
		return out
	}).(pulumi.ArrayOutput)
}

// The EC2NodeClass and NodePool specs, as the karpenter.k8s.aws/v1 and karpenter.sh/v1 CRDs
// name their fields.
type nodeClassSpec struct {
	AmiSelectorTerms           []amiSelector        `json:"amiSelectorTerms"`
	InstanceProfile            pulumi.StringOutput  `json:"instanceProfile"`
	SubnetSelectorTerms        pulumi.ArrayOutput   `json:"subnetSelectorTerms"`
	SecurityGroupSelectorTerms []idSelector         `json:"securityGroupSelectorTerms"`
	MetadataOptions            metadataOptions      `json:"metadataOptions"`
	BlockDeviceMappings        []blockDeviceMapping `json:"blockDeviceMappings"`
	Tags                       map[string]string    `json:"tags"`
}

type amiSelector struct {
	Alias string `json:"alias"`
}

type idSelector struct {
	ID pulumi.StringOutput `json:"id"`
}

type metadataOptions struct {
	HTTPEndpoint            string `json:"httpEndpoint"`
	HTTPProtocolIPv6        string `json:"httpProtocolIPv6"`
	HTTPPutResponseHopLimit int    `json:"httpPutResponseHopLimit"`
	HTTPTokens              string `json:"httpTokens"`
}

type blockDeviceMapping struct {
	DeviceName string `json:"deviceName"`
	RootVolume bool   `json:"rootVolume"`
	EBS        ebs    `json:"ebs"`
}

type ebs struct {
	VolumeSize          string              `json:"volumeSize"`
	VolumeType          string              `json:"volumeType"`
	Encrypted           bool                `json:"encrypted"`
	KmsKeyID            pulumi.StringOutput `json:"kmsKeyID"`
	DeleteOnTermination bool                `json:"deleteOnTermination"`
}

// nodePoolSpec is a pool's NodePool spec.
func nodePoolSpec(pool NodePool, nodeClass pulumi.StringOutput) map[string]any {
	requirements := []map[string]any{
		{"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": pool.Families},
		{"key": "karpenter.k8s.aws/instance-size", "operator": "In", "values": pool.Sizes},
		{"key": "karpenter.sh/capacity-type", "operator": "In", "values": pool.CapacityTypes},
		{"key": "kubernetes.io/arch", "operator": "In", "values": []string{pool.Arch}},
		{"key": "kubernetes.io/os", "operator": "In", "values": []string{"linux"}},
	}
	labels := map[string]string{WorkloadLabel: pool.Name}
	if pool.GPULimit > 0 {
		// The NVIDIA device plugin's default affinity selects nodes with this label (or Node
		// Feature Discovery's, which Karpenter's nodes lack); without the plugin Karpenter
		// never sees the node initialized (Karpenter docs, concepts/scheduling, "Accelerators").
		labels["nvidia.com/gpu.present"] = "true"
	}
	spec := map[string]any{
		"nodeClassRef": map[string]any{"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": nodeClass},
		"requirements": requirements,
		// Expiry is forceful and do-not-disrupt does not stop it; it drains the node and then
		// waits terminationGracePeriod for running jobs before the node goes (Karpenter docs,
		// concepts/disruption, "Expiration" and "TerminationGracePeriod").
		"expireAfter": fmt.Sprintf("%dh", pool.ExpireAfterHours),
	}
	if pool.Batch {
		spec["terminationGracePeriod"] = BatchTerminationGracePeriod
	}
	template := map[string]any{"metadata": map[string]any{"labels": labels}, "spec": spec}
	if pool.Taint != nil {
		spec["taints"] = []map[string]string{{"key": pool.Taint.Key, "value": pool.Taint.Value, "effect": pool.Taint.Effect}}
	}
	limits := map[string]string{"cpu": fmt.Sprint(pool.CPULimit), "memory": fmt.Sprintf("%dGi", pool.MemoryLimitGiB)}
	if pool.GPULimit > 0 {
		limits["nvidia.com/gpu"] = fmt.Sprint(pool.GPULimit)
	}
	disruption := map[string]any{
		// Services' nodes are packed tighter when load falls; batch nodes only go when empty,
		// so no running job is evicted to save a node (and jobs carry do-not-disrupt as well,
		// which also holds off drift and expiry until they end).
		"consolidationPolicy": "WhenEmptyOrUnderutilized",
		"consolidateAfter":    "5m",
		// At most one node in ten is disrupted at a time.
		"budgets": []map[string]string{{"nodes": "10%"}},
	}
	if pool.Batch {
		disruption["consolidationPolicy"] = "WhenEmpty"
		disruption["consolidateAfter"] = "2m"
	}
	return map[string]any{"template": template, "limits": limits, "disruption": disruption}
}

// karpenterPolicy is the controller's IAM policy: the release's own statements (see the
// package constants), scoped to this cluster and region, minus instance profile management
// (the EC2NodeClasses name the profile this component made), plus the use of the cluster's
// key for the nodes' volumes through EC2 only.
func (p *platform) karpenterPolicy(k *karpenter) pulumi.StringOutput {
	env := p.env
	region := func(resource string) string {
		return fmt.Sprintf("arn:%s:ec2:%s:*:%s", env.Partition, env.Region, resource)
	}
	owned := []iampolicy.Condition{
		{Test: "StringEquals", Variable: "aws:ResourceTag/kubernetes.io/cluster/" + p.args.Name, Values: iampolicy.Strings("owned")},
		{Test: "StringLike", Variable: "aws:ResourceTag/karpenter.sh/nodepool", Values: iampolicy.Strings("*")},
	}
	requestTags := []iampolicy.Condition{
		{Test: "StringEquals", Variable: "aws:RequestTag/kubernetes.io/cluster/" + p.args.Name, Values: iampolicy.Strings("owned")},
		{Test: "StringEquals", Variable: "aws:RequestTag/eks:eks-cluster-name", Values: iampolicy.Strings(p.args.Name)},
		{Test: "StringLike", Variable: "aws:RequestTag/karpenter.sh/nodepool", Values: iampolicy.Strings("*")},
	}
	created := iampolicy.Strings(region("fleet/*"), region("instance/*"), region("volume/*"),
		region("network-interface/*"), region("launch-template/*"), region("spot-instances-request/*"))
	key := pulumi.StringArray{p.key.Arn()}
	viaEC2 := iampolicy.Condition{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings("ec2." + env.Region + ".amazonaws.com")}
	return iampolicy.Document(
		iampolicy.Allow("AllowScopedEC2InstanceAccessActions", []string{"ec2:RunInstances", "ec2:CreateFleet"}, iampolicy.Strings(
			fmt.Sprintf("arn:%s:ec2:%s::image/*", env.Partition, env.Region),
			fmt.Sprintf("arn:%s:ec2:%s::snapshot/*", env.Partition, env.Region),
			region("security-group/*"), region("subnet/*"), region("capacity-reservation/*"), region("placement-group/*"))),
		iampolicy.Statement{Sid: "AllowScopedEC2LaunchTemplateAccessActions", Actions: []string{"ec2:RunInstances", "ec2:CreateFleet"},
			Resources: iampolicy.Strings(region("launch-template/*")), Conditions: owned},
		iampolicy.Statement{Sid: "AllowScopedEC2InstanceActionsWithTags", Actions: []string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"},
			Resources: created, Conditions: requestTags},
		iampolicy.Statement{Sid: "AllowScopedResourceCreationTagging", Actions: []string{"ec2:CreateTags"}, Resources: created,
			Conditions: append(slices.Clone(requestTags), iampolicy.Condition{Test: "StringEquals", Variable: "ec2:CreateAction",
				Values: iampolicy.Strings("RunInstances", "CreateFleet", "CreateLaunchTemplate")})},
		iampolicy.Statement{Sid: "AllowScopedResourceTagging", Actions: []string{"ec2:CreateTags"}, Resources: iampolicy.Strings(region("instance/*")),
			Conditions: append(slices.Clone(owned),
				iampolicy.Condition{Test: "StringEqualsIfExists", Variable: "aws:RequestTag/eks:eks-cluster-name", Values: iampolicy.Strings(p.args.Name)},
				iampolicy.Condition{Test: "ForAllValues:StringEquals", Variable: "aws:TagKeys", Values: iampolicy.Strings("eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name")})},
		iampolicy.Statement{Sid: "AllowScopedDeletion", Actions: []string{"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"},
			Resources: iampolicy.Strings(region("instance/*"), region("launch-template/*")), Conditions: owned},
		iampolicy.Statement{Sid: "AllowPassingInstanceRole", Actions: []string{"iam:PassRole"}, Resources: pulumi.StringArray{k.nodeRole.Arn},
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "iam:PassedToService", Values: iampolicy.Strings("ec2.amazonaws.com")}}},
		// Read-only, and still needed with a named profile: deleting an EC2NodeClass looks for
		// the profile Karpenter would have made itself (v1.14.1, pkg/controllers/nodeclass,
		// cleanupManagedInstanceProfiles), and its garbage collector lists profiles.
		iampolicy.Allow("AllowUnscopedInstanceProfileListAction", []string{"iam:ListInstanceProfiles"}, iampolicy.Strings("*")),
		iampolicy.Allow("AllowInstanceProfileReadActions", []string{"iam:GetInstanceProfile"}, iampolicy.Strings(env.GlobalArn("iam", "instance-profile/*"))),
		iampolicy.Allow("AllowAPIServerEndpointDiscovery", []string{"eks:DescribeCluster"}, iampolicy.Strings(env.Arn("eks", "cluster/"+p.args.Name))),
		iampolicy.Allow("AllowInterruptionQueueActions", []string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}, pulumi.StringArray{k.queue.Arn}),
		// The queue is encrypted with a customer key: receiving its messages decrypts them,
		// which SQS does with the consumer's permission on the key ("Key management", Amazon SQS
		// Developer Guide: consumers need kms:Decrypt). Karpenter's own template needs none
		// (its queue uses SQS-managed keys).
		iampolicy.Statement{Sid: "DecryptInterruptionMessages", Actions: []string{"kms:Decrypt"}, Resources: pulumi.StringArray{k.queueKey.Arn()},
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings("sqs." + env.Region + ".amazonaws.com")}}},
		iampolicy.Statement{Sid: "AllowRegionalReadActions", Actions: []string{
			"ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
			"ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
			"ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
		}, Resources: iampolicy.Strings("*"), Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "aws:RequestedRegion", Values: iampolicy.Strings(env.Region)}}},
		iampolicy.Allow("AllowSSMReadActions", []string{"ssm:GetParameter"}, iampolicy.Strings(fmt.Sprintf("arn:%s:ssm:%s::parameter/aws/service/*", env.Partition, env.Region))),
		iampolicy.Allow("AllowPricingReadActions", []string{"pricing:GetProducts"}, iampolicy.Strings("*")),
		// EC2 encrypts the nodes' root volumes with the cluster's key on the launching
		// principal's behalf (Karpenter docs, troubleshooting, "Node terminates before ready on
		// failed encrypted EBS volume").
		iampolicy.Statement{Sid: "UseClusterKeyForNodeVolumes", Actions: []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"},
			Resources: key, Conditions: []iampolicy.Condition{viaEC2}},
		iampolicy.Statement{Sid: "GrantClusterKeyToNodeVolumes", Actions: []string{"kms:CreateGrant"}, Resources: key,
			Conditions: []iampolicy.Condition{viaEC2, {Test: "Bool", Variable: "kms:GrantIsForAWSResource", Values: iampolicy.Strings("true")}}},
	)
}
