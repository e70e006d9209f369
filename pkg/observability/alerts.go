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

// AlertRules are CineGit's alerts. Severity critical pages, warning notifies; the
// AWS-side alarms (queue age, Lambda errors, database and cache health) are CloudWatch alarms
// of their own components, published to the same SNS topic as these.
func AlertRules(mediaNamespace string) RuleSpec {
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
	return RuleSpec{Groups: []RuleGroup{
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
}
