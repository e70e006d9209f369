package observability

import "fmt"

// RuleSpec is a PrometheusRule's spec.
type RuleSpec struct {
	Groups []RuleGroup `json:"groups"`
}

// RuleGroup is a group of rules evaluated together.
type RuleGroup struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is one alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// AlertNames are the alerts CineGit defines on top of the chart's default rules.
var AlertNames = []string{"NodeNotReady", "PodCrashLooping", "PersistentVolumeAlmostFull", "HighHTTP5xxRate", "MediaJobFailed"}

// KarpenterAlertNames are the alerts on Karpenter, where the cluster runs it. Its metrics:
// Karpenter docs, reference/metrics (v1.14): karpenter_nodepools_usage and _limit by nodepool
// and resource_type, karpenter_cloudprovider_errors_total.
var KarpenterAlertNames = []string{"KarpenterDown", "KarpenterNodePoolNearLimit", "KarpenterCloudProviderErrors"}

// AlertRules are CineGit's alerts. Severity critical pages, warning notifies; the
// AWS-side alarms (queue age, Lambda errors, database and cache health) are CloudWatch alarms
// of their own components, published to the same SNS topic as these.
func AlertRules(mediaNamespace string, karpenter bool) RuleSpec {
	rule := func(name, expr, forDuration, severity, summary, description string) Rule {
		return Rule{
			Alert:  name,
			Expr:   expr,
			For:    forDuration,
			Labels: map[string]string{"severity": severity, "team": "platform"},
			Annotations: map[string]string{
				"summary":     summary,
				"description": description,
			},
		}
	}
	spec := RuleSpec{Groups: []RuleGroup{
		{Name: "cinegit.nodes", Rules: []Rule{
			rule("NodeNotReady",
				`kube_node_status_condition{condition="Ready",status="true"} == 0`,
				"5m", "critical",
				"Node {{ $labels.node }} is not ready",
				"Node {{ $labels.node }} has not been Ready for 5 minutes; its pods are being evicted or are unreachable."),
		}},
		{Name: "cinegit.workloads", Rules: []Rule{
			rule("PodCrashLooping",
				`max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1`,
				"15m", "warning",
				"{{ $labels.namespace }}/{{ $labels.pod }} is crash looping",
				"Container {{ $labels.container }} of {{ $labels.namespace }}/{{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes."),
			rule("PersistentVolumeAlmostFull",
				`kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.10 and kubelet_volume_stats_used_bytes > 0`,
				"10m", "warning",
				"Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full",
				"Less than 10% of {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is free; grow the volume or reduce retention."),
			// Services export http_requests_total with a `code` label (the Prometheus client
			// libraries' convention); the ratio is per service over five minutes.
			rule("HighHTTP5xxRate",
				`sum by (namespace, service) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (namespace, service) (rate(http_requests_total[5m])) > 0.05`,
				"10m", "critical",
				"{{ $labels.namespace }}/{{ $labels.service }} answers more than 5% of requests with 5xx",
				"{{ $value | humanizePercentage }} of {{ $labels.namespace }}/{{ $labels.service }}'s requests failed with a 5xx status over the last 10 minutes."),
		}},
		{Name: "cinegit.media", Rules: []Rule{
			rule("MediaJobFailed",
				fmt.Sprintf(`kube_job_failed{namespace=%q,condition="true"} > 0`, mediaNamespace),
				"0m", "warning",
				"Media job {{ $labels.job_name }} failed",
				"The EKS media job {{ $labels.job_name }} failed; its source file was not transcoded. Check its logs in Loki ({namespace=\""+mediaNamespace+"\"})."),
		}},
	}}
	if !karpenter {
		return spec
	}
	spec.Groups = append(spec.Groups, RuleGroup{Name: "cinegit.karpenter", Rules: []Rule{
		// Without Karpenter no media or GPU job gets a node, and no empty node goes away.
		rule("KarpenterDown",
			`absent(up{namespace="kube-system",service="karpenter"} == 1)`,
			"10m", "critical",
			"Karpenter is not running",
			"No Karpenter controller has answered a scrape for 10 minutes: pending media and GPU jobs get no nodes, and empty nodes are not removed."),
		// A pool at its limit launches nothing more: jobs queue until nodes free up. The limit is
		// the stack file's (cluster.karpenter.<pool>.cpuLimit, memoryLimitGiB, gpuLimit).
		rule("KarpenterNodePoolNearLimit",
			`max by (nodepool, resource_type) (karpenter_nodepools_usage) / max by (nodepool, resource_type) (karpenter_nodepools_limit) > 0.9`,
			"15m", "warning",
			"NodePool {{ $labels.nodepool }} uses more than 90% of its {{ $labels.resource_type }} limit",
			"{{ $value | humanizePercentage }} of NodePool {{ $labels.nodepool }}'s {{ $labels.resource_type }} limit is in use: new jobs will wait for capacity. Raise the limit in the stack file if this is the expected load."),
		// Launches failing (capacity, quota, permissions) show as cloud provider errors.
		rule("KarpenterCloudProviderErrors",
			`sum(increase(karpenter_cloudprovider_errors_total[15m])) > 5`,
			"0m", "warning",
			"Karpenter's calls to EC2 are failing",
			"{{ $value }} EC2 calls of Karpenter failed in 15 minutes (capacity, quota or permissions): see the controller's logs in Loki ({namespace=\"kube-system\"})."),
	}})
	return spec
}
