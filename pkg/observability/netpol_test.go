package observability

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
)

// The monitoring namespaces deny by default and admit exactly the monitoring flows: Prometheus
// scrapes its targets (in the namespace, CoreDNS, the nodes, the API server, the applications'
// metrics ports) and alerts Alertmanager; Grafana queries Prometheus, Alertmanager, Loki's
// gateway and CloudWatch; Alloy pushes to the gateway; only the gateway reaches Loki, only Loki
// its caches, replicas and bucket; the operator's webhook takes the API server's calls.
func TestMonitoringNamespacesAllowOnlyTheMonitoringFlows(t *testing.T) {
	pod := func(ns string, labels map[string]string, ip string) netpolcheck.Endpoint {
		return netpolcheck.Endpoint{Namespace: ns, Labels: labels, IP: ip}
	}
	mon := func(labels map[string]string, ip string) netpolcheck.Endpoint { return pod("monitoring", labels, ip) }
	prom, am, grafana := mon(prometheusPods, "10.0.33.1"), mon(alertmanagerPods, "10.0.33.2"), mon(grafanaPods, "10.0.33.3")
	ksm, operator, jobs := mon(stateMetricsPods, "10.0.33.4"), mon(operatorPods, "10.0.33.5"), mon(admissionJobPods, "10.0.33.6")
	loki, gateway := mon(lokiPods, "10.0.33.7"), mon(lokiGatewayPods, "10.0.33.8")
	chunks, results := mon(chunksCachePods, "10.0.33.9"), mon(resultsCachePods, "10.0.33.10")
	alloy := pod("monitoring-host", alloyPods, "10.0.34.1")
	app := pod("cinegit", map[string]string{"app.kubernetes.io/name": "review"}, "10.0.34.2")
	coreDNS := pod("kube-system", kubeDNSPods, "10.0.34.3")
	ip := func(a string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: a} }
	api, node, aws := ip("172.20.0.1"), ip("10.0.40.11"), ip("52.94.1.1")
	sns := func(a *Args) { a.Alertmanager.SNSTopicArn = pulumi.String(topicArn) }
	noChunks := func(a *Args) { a.Loki.ChunksCacheMemoryMB = 0 }
	for _, tc := range []struct {
		name     string
		mutate   func(*Args)
		from, to netpolcheck.Endpoint
		proto    string
		port     int
		want     bool
	}{
		{"Prometheus to the Kubernetes API", nil, prom, api, "TCP", 443, true},
		{"Prometheus scrapes the API server's interfaces", nil, prom, ip("10.0.49.3"), "TCP", 443, true},
		{"Prometheus scrapes kube-state-metrics", nil, prom, ksm, "TCP", StateMetricsPort, true},
		{"Prometheus scrapes the operator", nil, prom, operator, "TCP", OperatorPort, true},
		{"Prometheus scrapes Grafana", nil, prom, grafana, "TCP", GrafanaPort, true},
		{"Prometheus scrapes Alertmanager's reloader", nil, prom, am, "TCP", ReloaderPort, true},
		{"Prometheus scrapes itself", nil, prom, prom, "TCP", PrometheusPort, true},
		{"Prometheus scrapes CoreDNS", nil, prom, coreDNS, "TCP", CoreDNSMetricsPort, true},
		{"Prometheus scrapes the kubelet", nil, prom, node, "TCP", KubeletPort, true},
		{"Prometheus scrapes node-exporter", nil, prom, node, "TCP", NodeExporterPort, true},
		{"Prometheus scrapes an application", nil, prom, app, "TCP", 9090, true},
		{"Prometheus alerts Alertmanager", nil, prom, am, "TCP", AlertmanagerPort, true},
		{"Prometheus to Loki", nil, prom, loki, "TCP", LokiHTTPPort, false},
		{"Prometheus to AWS", nil, prom, aws, "TCP", 443, false},
		{"Grafana queries Prometheus", nil, grafana, prom, "TCP", PrometheusPort, true},
		{"Grafana queries Alertmanager", nil, grafana, am, "TCP", AlertmanagerPort, true},
		{"Grafana queries Loki's gateway", nil, grafana, gateway, "TCP", LokiGatewayPort, true},
		{"Grafana past the gateway", nil, grafana, loki, "TCP", LokiHTTPPort, false},
		{"Grafana queries CloudWatch", nil, grafana, aws, "TCP", 443, true},
		{"Grafana into the VPC", nil, grafana, ip("10.0.200.3"), "TCP", 443, false},
		{"Grafana's sidecars watch the API", nil, grafana, api, "TCP", 443, true},
		{"Alloy pushes to the gateway", nil, alloy, gateway, "TCP", LokiGatewayPort, true},
		{"Alloy past the gateway", nil, alloy, loki, "TCP", LokiHTTPPort, false},
		{"Alloy discovers pods", nil, alloy, api, "TCP", 443, true},
		{"Alloy to the internet", nil, alloy, aws, "TCP", 443, false},
		{"an application to the gateway", nil, app, gateway, "TCP", LokiGatewayPort, false},
		{"an application to Grafana", nil, app, grafana, "TCP", GrafanaPort, false},
		{"the gateway to Loki", nil, gateway, loki, "TCP", LokiHTTPPort, true},
		{"the gateway to AWS", nil, gateway, aws, "TCP", 443, false},
		{"Loki replicas gossip", nil, loki, loki, "TCP", LokiMemberlistPort, true},
		{"Loki to its results cache", nil, loki, results, "TCP", MemcachedPort, true},
		{"Loki to its chunks cache", nil, loki, chunks, "TCP", MemcachedPort, true},
		{"no chunks cache, no policy for it", noChunks, loki, chunks, "TCP", MemcachedPort, false},
		{"Loki to S3 and STS", nil, loki, aws, "TCP", 443, true},
		{"Grafana to a cache", nil, grafana, results, "TCP", MemcachedPort, false},
		{"Alertmanager gossips over UDP", nil, am, am, "UDP", AlertmanagerMesh, true},
		{"Alertmanager to SNS without a receiver", nil, am, aws, "TCP", 443, false},
		{"Alertmanager to SNS", sns, am, aws, "TCP", 443, true},
		{"the API server to the operator's webhook", nil, ip("10.0.48.2"), operator, "TCP", OperatorPort, true},
		{"the webhook jobs to the API", nil, jobs, api, "TCP", 443, true},
		{"the webhook jobs to AWS", nil, jobs, aws, "TCP", 443, false},
		{"kube-state-metrics to the API", nil, ksm, api, "TCP", 443, true},
		{"kube-state-metrics to AWS", nil, ksm, aws, "TCP", 443, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := netpolcheck.Registered(component.MustRun(t, false, tc.mutate))
			if got := ps.Allowed(tc.from, tc.to, tc.proto, tc.port); got != tc.want {
				t.Errorf("%v -> %v %s/%d allowed %v, want %v", tc.from, tc.to, tc.proto, tc.port, got, tc.want)
			}
			for _, e := range []netpolcheck.Endpoint{tc.from, tc.to} {
				if e.IsPod() && (e.Namespace == "monitoring" || e.Namespace == "monitoring-host") && (!ps.Isolated(e, "Ingress") || !ps.Isolated(e, "Egress")) {
					t.Errorf("%v is not isolated both ways", e)
				}
			}
		})
	}
}
