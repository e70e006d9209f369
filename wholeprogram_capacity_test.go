package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Capacity at first install: the platform releases install atomically, each waiting for its
// pods to be ready, before the cluster autoscaler (itself one of them) can add a node. So every
// pod they create, at the replica counts the stack files give, plus kube-system, must fit on the
// general node group at its minimum size, with headroom. The requests are read from the Helm
// values the program registers (what the charts render: every container listed below has
// explicit requests and limits in the values), the node group's size and instance type from the
// node group the program registers; a stack-file change that breaks the fit fails here.

// instanceType is what EC2 documents for a type (https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html,
// "Network specifications": network interfaces and IPv4 addresses per interface).
type instanceType struct {
	vCPU, memoryGiB, enis, ipsPerENI int
}

// instanceTypes are the general node group's candidates: today's x86 types, the Graviton
// equivalents of the same size, and a larger one.
var instanceTypes = map[string]instanceType{
	"m7i.large":   {2, 8, 3, 10},
	"m7i.xlarge":  {4, 16, 4, 15},
	"m7i.2xlarge": {8, 32, 4, 15},
	"m7g.large":   {2, 8, 3, 10},
	"m7g.xlarge":  {4, 16, 4, 15},
	"m7g.2xlarge": {8, 32, 4, 15},
}

// vmMemoryOverhead is the share of an instance's memory the kernel and firmware keep from the
// kubelet's capacity: Karpenter's default estimate for EC2 (vmMemoryOverheadPercent 0.075,
// https://karpenter.sh/docs/reference/settings/; see aws/karpenter-provider-aws#5161 on why it
// is a heuristic), which is conservative for these types.
const vmMemoryOverhead = 0.075

// allocatable is what the scheduler may place on one node of an EKS AL2023 node group, by the
// rules of the EKS AMIs (amazon-eks-ami nodeadm, the same as its AL2 bootstrap.sh; see
// https://github.com/awslabs/amazon-eks-ami/pull/367 and eksctl's pkg/nodebootstrap/reserved.go):
//   - max pods without prefix delegation: ENIs * (IPv4 per ENI - 1) + 2, as generated into the
//     AMI's eni-max-pods.txt (https://github.com/awslabs/amazon-eks-ami/blob/main/nodeadm/internal/kubelet/eni-max-pods.txt:
//     m7i.large and m7g.large 29, the xlarge types 58);
//   - kube-reserved memory: 11 MiB per pod + 255 MiB;
//   - kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the third and fourth,
//     0.25% of the rest;
//   - hard eviction threshold: 100 MiB of memory.
func allocatable(it instanceType) (cpuMilli, memoryMi float64, maxPods int) {
	maxPods = it.enis*(it.ipsPerENI-1) + 2
	if maxPods > 110 && it.vCPU < 30 {
		maxPods = 110
	}
	reserved := 0.0
	for core := 1; core <= it.vCPU; core++ {
		switch {
		case core == 1:
			reserved += 60
		case core == 2:
			reserved += 10
		case core <= 4:
			reserved += 5
		default:
			reserved += 2.5
		}
	}
	capacityMi := float64(it.memoryGiB) * 1024 * (1 - vmMemoryOverhead)
	return float64(it.vCPU)*1000 - reserved, capacityMi - float64(11*maxPods+255) - 100, maxPods
}

// headroom is the share of allocatable CPU and memory that must stay free after kube-system
// and the platform: room for hook Jobs, rolling updates (a surge pod next to the old one) and
// the first applications while the autoscaler adds nodes.
const headroom = 0.10

// kubeSystemPod is a pod EKS runs in kube-system, with the requests of its add-on's defaults.
type kubeSystemPod struct {
	name            string
	perNode         bool
	replicas        int
	cpuMilli, memMi float64
}

// kubeSystem are the add-ons' pods (per node: DaemonSets). Sources: CoreDNS, the Kubernetes
// addon manifest EKS ships (cluster/addons/dns/coredns/coredns.yaml.base: requests 100m/70Mi,
// two replicas, https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html);
// kube-proxy, EKS's DaemonSet (requests cpu 100m, https://docs.aws.amazon.com/eks/latest/userguide/managing-kube-proxy.html);
// aws-node, the vpc-cni chart (aws-node requests cpu 25m; the network policy agent counted at
// 25m too, conservatively, https://github.com/aws/amazon-vpc-cni-k8s/blob/master/charts/aws-vpc-cni/values.yaml);
// EBS CSI, the aws-ebs-csi-driver chart (every container requests 10m/40Mi: six in each of two
// controller replicas, three in the node pod, https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/charts/aws-ebs-csi-driver/values.yaml);
// the GuardDuty security agent, the DaemonSet GuardDuty's runtime monitoring adds to every
// cluster of an account where it manages the agent, as bootstrap/ sets it up (requests 200m
// and 256Mi by default, and they cannot be set lower: "Configure GuardDuty security agent
// (add-on) parameters for Amazon EKS", GuardDuty user guide,
// https://docs.aws.amazon.com/guardduty/latest/ug/guardduty-configure-security-agent-eks-addon.html).
var kubeSystem = []kubeSystemPod{
	{name: "coredns", replicas: 2, cpuMilli: 100, memMi: 70},
	{name: "ebs-csi-controller", replicas: 2, cpuMilli: 60, memMi: 240},
	{name: "aws-node", perNode: true, cpuMilli: 50},
	{name: "kube-proxy", perNode: true, cpuMilli: 100},
	{name: "ebs-csi-node", perNode: true, cpuMilli: 30, memMi: 120},
	{name: "aws-guardduty-agent", perNode: true, cpuMilli: 200, memMi: 256},
}

// onEveryNode is the replicas value of a DaemonSet's pod.
const onEveryNode = "every node"

// platformPod is a pod a platform release creates: the release's logical name, where its
// replica count is in the values ("" for one, onEveryNode for a DaemonSet), the values switch
// that creates it ("" for always), and its containers' resources paths.
type platformPod struct {
	release, pod, replicas, enabled string
	// hook is a Helm hook Job: it runs during the install and is gone after it.
	hook       bool
	containers []container
}

type container struct {
	name, resources string
	// init containers run before the others: the pod requests the larger of their largest
	// and the sum of the others (https://kubernetes.io/docs/concepts/workloads/pods/init-containers/#resource-sharing-within-containers).
	init bool
}

// platformPods are every pod the platform releases create, by chart, with the values path of
// each container's resources as the chart at the pinned version reads it (checked against
// karpenter 1.14.1, external-secrets 2.9.0, kube-prometheus-stack 88.5.3 with grafana
// 12.11.1, kube-state-metrics and prometheus-node-exporter, grafana-community loki 18.11.0, alloy 1.11.1 and
// argo-cd 10.1.1 with redis-ha 4.38.0). mustBe pins the switches the table relies on.
// podless are releases that run no pod, with what they install instead.
var podless = map[string]string{
	"observability-crds":    "prometheus-operator-crds: the Prometheus Operator's CRDs, as templates",
	"cluster-karpenter-crd": "karpenter-crd: Karpenter's CRDs, as templates",
	// Its DaemonSet runs on GPU nodes only (affinity for nvidia.com/gpu.present), which
	// Karpenter adds when a GPU job is pending: nothing of it on the general group.
	"cluster-nvidia-device-plugin": "nvidia-device-plugin: a DaemonSet on the GPU nodes only",
}

var platformPods = []platformPod{
	{release: "cluster-karpenter", pod: "karpenter", replicas: "replicas", containers: []container{{name: "controller", resources: "controller/resources"}}},

	{release: "secrets-operator", pod: "external-secrets", replicas: "replicaCount", containers: []container{{name: "external-secrets", resources: "resources"}}},
	{release: "secrets-operator", pod: "webhook", replicas: "webhook/replicaCount", containers: []container{{name: "webhook", resources: "webhook/resources"}}},
	{release: "secrets-operator", pod: "cert-controller", replicas: "certController/replicaCount", containers: []container{{name: "cert-controller", resources: "certController/resources"}}},

	{release: "observability-stack", pod: "prometheus", replicas: "prometheus/prometheusSpec/replicas", containers: []container{
		{name: "prometheus", resources: "prometheus/prometheusSpec/resources"},
		{name: "config-reloader", resources: "prometheusOperator/prometheusConfigReloader/resources"},
		{name: "init-config-reloader", resources: "prometheusOperator/prometheusConfigReloader/resources", init: true},
	}},
	{release: "observability-stack", pod: "alertmanager", replicas: "alertmanager/alertmanagerSpec/replicas", enabled: "alertmanager/enabled", containers: []container{
		{name: "alertmanager", resources: "alertmanager/alertmanagerSpec/resources"},
		{name: "config-reloader", resources: "prometheusOperator/prometheusConfigReloader/resources"},
		{name: "init-config-reloader", resources: "prometheusOperator/prometheusConfigReloader/resources", init: true},
	}},
	{release: "observability-stack", pod: "prometheus-operator", containers: []container{{name: "kube-prometheus-stack", resources: "prometheusOperator/resources"}}},
	{release: "observability-stack", pod: "admission-create", hook: true, containers: []container{{name: "create", resources: "prometheusOperator/admissionWebhooks/patch/resources"}}},
	{release: "observability-stack", pod: "admission-patch", hook: true, containers: []container{{name: "patch", resources: "prometheusOperator/admissionWebhooks/patch/resources"}}},
	{release: "observability-stack", pod: "grafana", replicas: "grafana/replicas", enabled: "grafana/enabled", containers: []container{
		{name: "grafana", resources: "grafana/resources"},
		{name: "grafana-sc-dashboard", resources: "grafana/sidecar/resources"},
		{name: "grafana-sc-datasources", resources: "grafana/sidecar/resources"},
		{name: "init-chown-data", resources: "grafana/initChownData/resources", init: true},
	}},
	{release: "observability-stack", pod: "kube-state-metrics", containers: []container{{name: "kube-state-metrics", resources: "kube-state-metrics/resources"}}},
	{release: "observability-stack", pod: "node-exporter", replicas: onEveryNode, containers: []container{{name: "node-exporter", resources: "prometheus-node-exporter/resources"}}},

	{release: "observability-loki", pod: "single-binary", replicas: "singleBinary/replicas", containers: []container{{name: "loki", resources: "singleBinary/resources"}}},
	{release: "observability-loki", pod: "gateway", replicas: "gateway/replicas", enabled: "gateway/enabled", containers: []container{
		{name: "nginx", resources: "gateway/resources"},
		{name: "exporter", resources: "gateway/metrics/resources"},
	}},
	{release: "observability-loki", pod: "chunks-cache", replicas: "chunksCache/replicas", enabled: "chunksCache/enabled", containers: []container{
		{name: "memcached", resources: "chunksCache/resources"},
		{name: "exporter", resources: "memcachedExporter/resources"},
	}},
	{release: "observability-loki", pod: "results-cache", replicas: "resultsCache/replicas", enabled: "resultsCache/enabled", containers: []container{
		{name: "memcached", resources: "resultsCache/resources"},
		{name: "exporter", resources: "memcachedExporter/resources"},
	}},

	{release: "observability-alloy", pod: "alloy", replicas: onEveryNode, containers: []container{
		{name: "alloy", resources: "alloy/resources"},
		{name: "config-reloader", resources: "configReloader/resources"},
	}},

	// aws-load-balancer-controller 3.5.0 (one container, resources) and external-dns 1.21.1 (one
	// container, resources; its schema caps replicaCount at 1): no hooks, no sidecars.
	{release: "ingress-controller", pod: "aws-load-balancer-controller", replicas: "replicaCount", containers: []container{{name: "aws-load-balancer-controller", resources: "resources"}}},
	{release: "ingress-external-dns", pod: "external-dns", containers: []container{{name: "external-dns", resources: "resources"}}},

	{release: "gitops", pod: "application-controller", replicas: "controller/replicas", containers: []container{{name: "application-controller", resources: "controller/resources"}}},
	{release: "gitops", pod: "server", replicas: "server/replicas", containers: []container{{name: "server", resources: "server/resources"}}},
	{release: "gitops", pod: "repo-server", replicas: "repoServer/replicas", containers: []container{
		{name: "repo-server", resources: "repoServer/resources"},
		{name: "copyutil", resources: "repoServer/copyutil/resources", init: true},
	}},
	{release: "gitops", pod: "applicationset-controller", replicas: "applicationSet/replicas", containers: []container{{name: "applicationset-controller", resources: "applicationSet/resources"}}},
	{release: "gitops", pod: "notifications-controller", containers: []container{{name: "notifications-controller", resources: "notifications/resources"}}},
	{release: "gitops", pod: "redis", enabled: "redis/enabled", containers: []container{{name: "redis", resources: "redis/resources"}}},
	{release: "gitops", pod: "redis-secret-init", hook: true, containers: []container{{name: "secret-init", resources: "redisSecretInit/resources"}}},
	{release: "gitops", pod: "redis-ha-server", replicas: "redis-ha/replicas", enabled: "redis-ha/enabled", containers: []container{
		{name: "redis", resources: "redis-ha/redis/resources"},
		{name: "sentinel", resources: "redis-ha/sentinel/resources"},
		{name: "split-brain-fix", resources: "redis-ha/splitBrainDetection/resources"},
		{name: "config-init", resources: "redis-ha/init/resources", init: true},
	}},
	{release: "gitops", pod: "redis-ha-haproxy", replicas: "redis-ha/haproxy/replicas", enabled: "redis-ha/enabled", containers: []container{
		{name: "haproxy", resources: "redis-ha/haproxy/resources"},
		{name: "config-init", resources: "redis-ha/haproxy/init/resources", init: true},
	}},
}

// mustBe are the values the table relies on: parts it leaves out because they are off.
var mustBe = map[string]map[string]any{
	"observability-stack": {"grafana/testFramework/enabled": false},
	// Loki runs monolithic (the single-binary pods); the simple scalable targets default to three
	// replicas each in the chart (grafana-community loki 18.11.0 values.yaml) and must be zero.
	"observability-loki": {"sidecar/rules/enabled": false, "lokiCanary/enabled": false, "ruler/enabled": false, "minio/enabled": false,
		"deploymentMode": "Monolithic", "write/replicas": 0.0, "read/replicas": 0.0, "backend/replicas": 0.0},
	"gitops": {"dex/enabled": false},
}

// parseCPU and parseMemory read Kubernetes quantities into millicores and MiB.
func parseCPU(s string) (float64, bool) {
	if m, ok := strings.CutSuffix(s, "m"); ok {
		v, err := strconv.ParseFloat(m, 64)
		return v, err == nil
	}
	v, err := strconv.ParseFloat(s, 64)
	return v * 1000, err == nil
}

func parseMemory(s string) (float64, bool) {
	for suffix, mi := range map[string]float64{"Ki": 1.0 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return v * mi, err == nil
		}
	}
	return 0, false
}

// request is one container's requests, or an error naming what is missing.
func request(values map[string]any, path string) (cpu, mem float64, err error) {
	for _, q := range []string{"requests/cpu", "requests/memory", "limits/cpu", "limits/memory"} {
		s, _ := harness.At(values, path+"/"+q).(string)
		var ok bool
		if strings.HasSuffix(q, "cpu") {
			_, ok = parseCPU(s)
		} else {
			_, ok = parseMemory(s)
		}
		if !ok {
			return 0, 0, fmt.Errorf("%s/%s is %q, want an explicit quantity", path, q, s)
		}
	}
	cpu, _ = parseCPU(harness.At(values, path+"/requests/cpu").(string))
	mem, _ = parseMemory(harness.At(values, path+"/requests/memory").(string))
	return cpu, mem, nil
}

// capacityReport is one stack's sums.
type capacityReport struct {
	instanceType                string
	nodes, pods, maxPods        int
	allocCPU, allocMem          float64 // the whole group at its minimum
	systemCPU, systemMem        float64
	platformCPU, platformMem    float64
	largestPodCPU, largestPodMB float64
	nodeCPU, nodeMem            float64 // one node, less the DaemonSets
	// byRelease is each release's share of the platform's pods (hooks excluded), which the
	// chart renders check against the real charts (wholeprogram_charts_test.go).
	byRelease map[string]releaseLoad
}

// releaseLoad is what one release's pods ask in all: CPU in millicores, memory in MiB.
type releaseLoad struct{ cpu, mem, pods float64 }

func (c capacityReport) String() string {
	return fmt.Sprintf("%d x %s: allocatable %.2f vCPU / %.1f GiB; kube-system %.2f vCPU / %.1f GiB; platform %.2f vCPU / %.1f GiB; free %.0f%% CPU / %.0f%% memory; %d of %d pods",
		c.nodes, c.instanceType, c.allocCPU/1000, c.allocMem/1024, c.systemCPU/1000, c.systemMem/1024,
		c.platformCPU/1000, c.platformMem/1024,
		100*(1-(c.systemCPU+c.platformCPU)/c.allocCPU), 100*(1-(c.systemMem+c.platformMem)/c.allocMem), c.pods, c.maxPods)
}

// capacity sums what the stack's platform asks of its general node group at first install.
func capacity(t *testing.T, r *harness.Result) capacityReport {
	t.Helper()
	general := r.Named("aws:eks/nodeGroup:NodeGroup", "cluster-general")
	if general == nil {
		t.Fatal("no general node group")
	}
	types := asSlice(general.Input("instanceTypes"))
	min, _ := general.Input("scalingConfig.minSize").(float64)
	if len(types) == 0 || min < 1 {
		t.Fatalf("general node group %v, min %v", types, min)
	}
	// Mixed types: the smallest one decides.
	rep := capacityReport{nodes: int(min), byRelease: map[string]releaseLoad{}}
	for i, ty := range types {
		it, ok := instanceTypes[fmt.Sprint(ty)]
		if !ok {
			t.Fatalf("instance type %v is not in the capacity table: add its vCPUs, memory and ENI limits", ty)
		}
		cpu, mem, pods := allocatable(it)
		if i == 0 || cpu < rep.nodeCPU || mem < rep.nodeMem {
			rep.instanceType, rep.nodeCPU, rep.nodeMem, rep.maxPods = fmt.Sprint(ty), cpu, mem, pods
		}
	}
	rep.allocCPU, rep.allocMem = rep.nodeCPU*min, rep.nodeMem*min
	rep.maxPods *= rep.nodes

	for _, p := range kubeSystem {
		n := float64(p.replicas)
		if p.perNode {
			n = min
			rep.nodeCPU -= p.cpuMilli
			rep.nodeMem -= p.memMi
		}
		rep.systemCPU += n * p.cpuMilli
		rep.systemMem += n * p.memMi
		rep.pods += int(n)
	}

	values := map[string]map[string]any{}
	for _, rel := range r.ByType(k8sRelease) {
		values[rel.Name], _ = rel.Input("values").(map[string]any)
	}
	for release, want := range mustBe {
		for path, v := range want {
			if got := harness.At(values[release], path); got != v {
				t.Errorf("%s: %s is %v: the capacity table assumes %v", release, path, got, v)
			}
		}
	}
	// Every release of the stack is in the table: a release left out would be counted as free.
	inTable := map[string]bool{}
	for _, p := range platformPods {
		inTable[p.release] = true
	}
	for name := range values {
		if !inTable[name] && podless[name] == "" {
			t.Errorf("release %s is not in the capacity table (platformPods): add its pods and their resources paths", name)
		}
	}
	type podLoad struct{ cpu, mem, n float64 }
	var loads []podLoad
	for _, p := range platformPods {
		v, ok := values[p.release]
		if !ok {
			t.Errorf("release %s missing", p.release)
			continue
		}
		if p.enabled != "" && harness.At(v, p.enabled) != true {
			continue
		}
		n := 1.0
		switch p.replicas {
		case "":
		case onEveryNode:
			n = min
		default:
			f, ok := harness.At(v, p.replicas).(float64)
			if !ok {
				t.Errorf("%s %s: replicas %s is %v, want an explicit count", p.release, p.pod, p.replicas, harness.At(v, p.replicas))
			}
			n = f
		}
		var cpu, mem, initCPU, initMem float64
		for _, c := range p.containers {
			cc, cm, err := request(v, c.resources)
			if err != nil {
				t.Errorf("%s %s container %s: %v", p.release, p.pod, c.name, err)
			}
			if c.init {
				initCPU, initMem = math.Max(initCPU, cc), math.Max(initMem, cm)
			} else {
				cpu, mem = cpu+cc, mem+cm
			}
		}
		if p.hook || n == 0 {
			continue
		}
		cpu, mem = math.Max(cpu, initCPU), math.Max(mem, initMem)
		if p.replicas == onEveryNode {
			rep.nodeCPU -= cpu
			rep.nodeMem -= mem
		} else {
			loads = append(loads, podLoad{cpu, mem, n})
		}
		rep.platformCPU += n * cpu
		rep.platformMem += n * mem
		rep.pods += int(n)
		l := rep.byRelease[p.release]
		rep.byRelease[p.release] = releaseLoad{l.cpu + n*cpu, l.mem + n*mem, l.pods + n}
	}
	for _, l := range loads {
		rep.largestPodCPU = math.Max(rep.largestPodCPU, l.cpu)
		rep.largestPodMB = math.Max(rep.largestPodMB, l.mem)
	}
	return rep
}

// TestPlatformFitsTheMinimumGeneralNodeGroup: on every stack the platform's pods and
// kube-system fit the general node group at its minimum size with headroom to spare, so that
// the first `pulumi up` does not wait on the autoscaler.
func TestPlatformFitsTheMinimumGeneralNodeGroup(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		{
			c := capacity(t, r)
			t.Logf("%s: %s", r.Stack, c)
			if free := c.allocCPU - c.systemCPU - c.platformCPU; free < headroom*c.allocCPU {
				t.Errorf("CPU: %.0fm requested of %.0fm allocatable leaves %.0fm, want at least %.0f%%", c.systemCPU+c.platformCPU, c.allocCPU, free, 100*headroom)
			}
			if free := c.allocMem - c.systemMem - c.platformMem; free < headroom*c.allocMem {
				t.Errorf("memory: %.0fMi requested of %.0fMi allocatable leaves %.0fMi, want at least %.0f%%", c.systemMem+c.platformMem, c.allocMem, free, 100*headroom)
			}
			if c.pods > c.maxPods {
				t.Errorf("%d pods on %d nodes of at most %d pods together", c.pods, c.nodes, c.maxPods)
			}
			if c.largestPodCPU > c.nodeCPU || c.largestPodMB > c.nodeMem {
				t.Errorf("the largest pod (%.0fm, %.0fMi) does not fit one node (%.0fm, %.0fMi after its DaemonSets)", c.largestPodCPU, c.largestPodMB, c.nodeCPU, c.nodeMem)
			}
		}
	})
}

// TestAllocatableMatchesTheEKSFormula pins the allocatable model to figures worked out by hand
// from the EKS AMI's rules, so that a slip in the formula cannot make everything fit.
func TestAllocatableMatchesTheEKSFormula(t *testing.T) {
	for name, want := range map[string]struct {
		cpu, mem float64
		pods     int
	}{
		// 2 vCPU: 60+10 reserved; 29 pods: 11*29+255 = 574 MiB, 8192*0.925 = 7577.6 MiB.
		"m7i.large": {1930, 7577.6 - 574 - 100, 29},
		"m7g.large": {1930, 7577.6 - 574 - 100, 29},
		// 4 vCPU: 60+10+5+5; 58 pods: 11*58+255 = 893 MiB.
		"m7i.xlarge": {3920, 15155.2 - 893 - 100, 58},
		"m7g.xlarge": {3920, 15155.2 - 893 - 100, 58},
	} {
		cpu, mem, pods := allocatable(instanceTypes[name])
		if math.Abs(cpu-want.cpu) > 0.01 || math.Abs(mem-want.mem) > 0.01 || pods != want.pods {
			t.Errorf("%s: %v %v %v, want %v", name, cpu, mem, pods, want)
		}
	}
}

// TestCapacityCatchesAnOversizedStack: the fit is computed from the stack's configuration, so a
// stack file that asks for more than the nodes hold is caught (here dev's Prometheus at a whole
// vCPU, which leaves under 10% of its one node free).
func TestCapacityCatchesAnOversizedStack(t *testing.T) {
	project, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	var obs map[string]any
	if err := json.Unmarshal([]byte(raw["cinegit:observability"]), &obs); err != nil {
		t.Fatal(err)
	}
	obs["prometheus"].(map[string]any)["resources"] = map[string]any{
		"requests": map[string]any{"cpu": "3", "memory": "1Gi"},
		"limits":   map[string]any{"cpu": "4", "memory": "2Gi"},
	}
	b, _ := json.Marshal(obs)
	raw["cinegit:observability"] = string(b)
	r, err := harness.RunRaw(program, project.Name, "dev", raw, false)
	if err != nil {
		t.Fatal(err)
	}
	c := capacity(t, r)
	if free := c.allocCPU - c.systemCPU - c.platformCPU; free >= headroom*c.allocCPU {
		t.Errorf("dev with a 3-vCPU Prometheus still fits: %s", c)
	}
}
