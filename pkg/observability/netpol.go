package observability

import "github.com/cinegit/infrastructure/pkg/kube"

// The monitoring pods, as the charts (and the Prometheus Operator, for the Prometheus and
// Alertmanager pods) label them: each set is what the workload's Service selects in
// kube-prometheus-stack 88.5.3, loki 18.11.0 and alloy 1.11.1 as rendered, so that the network
// policy controller also admits the Service's ClusterIP (it adds the ClusterIPs of Services
// whose selector a policy's pod selector matches).
var (
	prometheusPods   = map[string]string{"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": StackRelease + "-prometheus"}
	alertmanagerPods = map[string]string{"app.kubernetes.io/name": "alertmanager", "alertmanager": StackRelease + "-alertmanager"}
	grafanaPods      = map[string]string{"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": StackRelease}
	stateMetricsPods = map[string]string{"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": StackRelease}
	operatorPods     = map[string]string{"app": StackRelease + "-operator", "release": StackRelease}
	// The operator's webhook certificate Jobs (Helm hooks).
	admissionJobPods = map[string]string{"app.kubernetes.io/component": "prometheus-operator-webhook", "app.kubernetes.io/instance": StackRelease}
	lokiPods         = lokiComponent("single-binary")
	lokiGatewayPods  = lokiComponent("gateway")
	chunksCachePods  = lokiComponent("memcached-chunks-cache")
	resultsCachePods = lokiComponent("memcached-results-cache")
	alloyPods        = map[string]string{"app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": AlloyRelease}
	// kubeDNSPods are CoreDNS's, which Prometheus scrapes in kube-system.
	kubeDNSPods = map[string]string{"k8s-app": "kube-dns"}
)

func lokiComponent(c string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": LokiRelease, "app.kubernetes.io/component": c}
}

// The monitoring ports: the containers' (as rendered), which a policy names.
const (
	PrometheusPort     = 9090
	ReloaderPort       = 8080 // the config-reloader sidecar of Prometheus and Alertmanager
	AlertmanagerPort   = 9093
	AlertmanagerMesh   = 9094 // cluster gossip, TCP and UDP
	GrafanaPort        = 3000
	StateMetricsPort   = 8080
	OperatorPort       = 10250 // the operator's HTTPS: its admission webhook and its metrics
	LokiHTTPPort       = 3100
	LokiGRPCPort       = 9095
	LokiMemberlistPort = 7946
	LokiGatewayPort    = 8080 // nginx; the gateway Service maps 80 to it
	MemcachedPort      = 11211
	CoreDNSMetricsPort = 9153
	// What Prometheus scrapes on the nodes' own addresses: the kubelet (and its cAdvisor),
	// node-exporter on the host network, kube-proxy.
	KubeletPort      = 10250
	NodeExporterPort = 9100
	KubeProxyPort    = 10249
)

// monitoringPolicies close the monitoring namespace. Derived from what the charts render and
// what the operator makes of it: the scrape targets are the ServiceMonitors kube-prometheus-stack
// renders (the API server, CoreDNS, kube-state-metrics, the kubelet, node-exporter, kube-proxy,
// the operator, Prometheus, Alertmanager, Grafana; the control plane's own components have no
// endpoints on EKS), plus the application namespace's metrics ports; Grafana's data sources are
// Prometheus, Alertmanager, Loki's gateway and CloudWatch. Loki is reached only through its
// gateway (which authenticates), and its replicas, caches and bucket only by Loki.
func (b *builder) monitoringPolicies() []kube.NetworkPolicy {
	n, a := b.args.Network, b.args
	to := func(pods map[string]string, ports ...int) kube.Rule {
		return kube.Rule{Peers: []kube.Peer{kube.PodsPeer(pods)}, Ports: kube.TCP(ports...)}
	}
	from := to
	mesh := kube.Rule{Peers: []kube.Peer{kube.PodsPeer(alertmanagerPods)}, Ports: append(kube.TCP(AlertmanagerMesh), kube.UDP(AlertmanagerMesh)...)}
	scrape := []kube.Rule{
		n.KubeAPI(), // service discovery, and the API server's own metrics on its interfaces
		to(prometheusPods, PrometheusPort, ReloaderPort),
		to(alertmanagerPods, AlertmanagerPort, ReloaderPort),
		to(grafanaPods, GrafanaPort),
		to(stateMetricsPods, StateMetricsPort),
		to(operatorPods, OperatorPort),
		{Peers: []kube.Peer{kube.NamespacePeer("kube-system", kubeDNSPods)}, Ports: kube.TCP(CoreDNSMetricsPort)},
		n.ToNodes(KubeletPort, NodeExporterPort, KubeProxyPort),
	}
	if k := a.Karpenter; k != nil {
		scrape = append(scrape, kube.Rule{Peers: []kube.Peer{kube.NamespacePeer(k.Namespace, k.Labels)}, Ports: kube.TCP(k.Port)})
	}
	if len(a.ApplicationMetricsPorts) > 0 {
		scrape = append(scrape, kube.Rule{
			Peers: []kube.Peer{kube.NamespacePeer(a.Dashboards.ApplicationNamespace, nil)}, Ports: kube.TCP(a.ApplicationMetricsPorts...),
		})
	}
	alertmanagerOut := []kube.Rule{mesh}
	if a.Alertmanager.SNSTopicArn != nil {
		alertmanagerOut = append(alertmanagerOut, n.AWS()...) // SNS and STS
	}
	lokiPeers := to(lokiPods, LokiHTTPPort, LokiGRPCPort, LokiMemberlistPort)
	caches := []kube.Peer{kube.PodsPeer(resultsCachePods)}
	if a.Loki.ChunksCacheMemoryMB > 0 {
		caches = append(caches, kube.PodsPeer(chunksCachePods))
	}
	out := []kube.NetworkPolicy{
		{Name: "prometheus", Pods: prometheusPods,
			Ingress: []kube.Rule{from(grafanaPods, PrometheusPort), from(prometheusPods, PrometheusPort, ReloaderPort)},
			Egress:  scrape},
		{Name: "alertmanager", Pods: alertmanagerPods,
			Ingress: []kube.Rule{from(prometheusPods, AlertmanagerPort, ReloaderPort), from(grafanaPods, AlertmanagerPort), mesh},
			Egress:  alertmanagerOut},
		{Name: "grafana", Pods: grafanaPods,
			Ingress: []kube.Rule{from(prometheusPods, GrafanaPort)},
			Egress: append([]kube.Rule{
				n.KubeAPI(), // the dashboard and data source sidecars watch ConfigMaps
				to(prometheusPods, PrometheusPort), to(alertmanagerPods, AlertmanagerPort), to(lokiGatewayPods, LokiGatewayPort),
			}, n.AWS()...)}, // CloudWatch and STS
		{Name: "kube-state-metrics", Pods: stateMetricsPods, Ingress: []kube.Rule{from(prometheusPods, StateMetricsPort)}, Egress: []kube.Rule{n.KubeAPI()}},
		{Name: "prometheus-operator", Pods: operatorPods,
			Ingress: []kube.Rule{n.FromControlPlane(OperatorPort), from(prometheusPods, OperatorPort)},
			Egress:  []kube.Rule{n.KubeAPI()}},
		{Name: "prometheus-operator-webhook-jobs", Pods: admissionJobPods, Egress: []kube.Rule{n.KubeAPI()}},
		{Name: "loki", Pods: lokiPods,
			Ingress: []kube.Rule{from(lokiGatewayPods, LokiHTTPPort), lokiPeers},
			Egress:  append([]kube.Rule{lokiPeers, {Peers: caches, Ports: kube.TCP(MemcachedPort)}}, n.AWS()...)}, // S3, STS
		{Name: "loki-gateway", Pods: lokiGatewayPods,
			Ingress: []kube.Rule{
				from(grafanaPods, LokiGatewayPort),
				{Peers: []kube.Peer{kube.NamespacePeer(HostNamespace(a.Namespace), alloyPods)}, Ports: kube.TCP(LokiGatewayPort)},
			},
			Egress: []kube.Rule{to(lokiPods, LokiHTTPPort)}},
		{Name: "loki-results-cache", Pods: resultsCachePods, Ingress: []kube.Rule{from(lokiPods, MemcachedPort)}},
	}
	if a.Loki.ChunksCacheMemoryMB > 0 {
		out = append(out, kube.NetworkPolicy{Name: "loki-chunks-cache", Pods: chunksCachePods, Ingress: []kube.Rule{from(lokiPods, MemcachedPort)}})
	}
	return out
}

// hostPolicies close the host agents' namespace. node-exporter runs on the host's network,
// where no policy applies (Prometheus reaches it on the node's address); Alloy discovers the
// node's pods through the Kubernetes API and pushes their logs to Loki's gateway, and nothing
// calls it (nothing scrapes it).
func (b *builder) hostPolicies() []kube.NetworkPolicy {
	n := b.args.Network
	return []kube.NetworkPolicy{{
		Name: "alloy", Pods: alloyPods,
		Egress: []kube.Rule{n.KubeAPI(), {
			Peers: []kube.Peer{kube.NamespacePeer(b.args.Namespace, lokiGatewayPods)}, Ports: kube.TCP(LokiGatewayPort),
		}},
	}}
}
