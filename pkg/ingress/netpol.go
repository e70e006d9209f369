package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube"
)

// NetworkPolicyArgs close the application namespace: default deny both ways, then only what
// CineGit's services need.
type NetworkPolicyArgs struct {
	// Namespace is the application namespace (resolving once it exists).
	Namespace pulumi.StringInput
	// DataStoreCIDRs are the subnets of PostgreSQL (5432) and Redis (6379): outside the
	// cluster, so ipBlocks.
	DataStoreCIDRs []string
	// LoadBalancerCIDRs are the public subnets, where the ALBs' addresses are: the ALB targets
	// pods by IP, so this is where requests come from.
	LoadBalancerCIDRs []string
	// ServicePorts are the container ports the ALB may reach.
	ServicePorts []int
	// PrometheusNamespace is the namespace whose pods may scrape MetricsPorts.
	PrometheusNamespace string
	MetricsPorts        []int
}

// The pods of the two controllers, as their charts label them (the Deployments' pod templates
// and the Services' selectors: aws-load-balancer-controller 3.5.0, external-dns 1.21.1).
var (
	controllerPods  = map[string]string{"app.kubernetes.io/name": ControllerChart, "app.kubernetes.io/instance": ControllerChart}
	externalDNSPods = map[string]string{"app.kubernetes.io/name": ExternalDNSChart, "app.kubernetes.io/instance": ExternalDNSChart}
)

// ControllerWebhookPort is the controller's webhook server (the chart's webhookBindPort, 9443;
// its Service maps 443 to it): the API server calls it for Ingresses, TargetGroupBindings,
// IngressClassParams and pods.
const ControllerWebhookPort = 9443

// controllerPolicies close the controllers' own namespace. The load balancer controller
// watches the cluster, calls ELB, EC2, WAFv2, ACM and STS, and answers the API server's
// admission calls; ExternalDNS watches the cluster and calls Route 53 and STS. Neither is
// scraped (their charts' ServiceMonitors are off) nor called by anything else.
func controllerPolicies(args Args) []kube.NetworkPolicy {
	n := args.Network
	clientOfAWS := append([]kube.Rule{n.KubeAPI()}, n.AWS()...)
	out := []kube.NetworkPolicy{{
		Name: ControllerChart, Pods: controllerPods,
		Ingress: []kube.Rule{n.FromControlPlane(ControllerWebhookPort)},
		Egress:  clientOfAWS,
	}}
	if args.Domain != "" {
		out = append(out, kube.NetworkPolicy{Name: ExternalDNSChart, Pods: externalDNSPods, Egress: clientOfAWS})
	}
	return out
}

// appPolicies close the application namespace: besides DNS, the data stores, HTTPS out of the
// VPC (STS for IRSA, SQS, S3 through the gateway endpoint, CloudFront) and the interface
// endpoints where the VPC has them; the load balancer's subnets in on the service ports, the
// services to one another on them, and Prometheus's namespace on the metrics ports.
func appPolicies(n kube.ClusterNetwork, a NetworkPolicyArgs) ([]kube.NetworkPolicy, error) {
	if a.Namespace == nil || len(a.DataStoreCIDRs) == 0 || len(a.LoadBalancerCIDRs) == 0 || len(a.ServicePorts) == 0 ||
		a.PrometheusNamespace == "" || len(a.MetricsPorts) == 0 {
		return nil, fmt.Errorf("network policy: Namespace, DataStoreCIDRs, LoadBalancerCIDRs, ServicePorts, PrometheusNamespace and MetricsPorts are required")
	}
	every := kube.PodsPeer(map[string]string{}) // every pod of the namespace
	same := kube.Rule{Peers: []kube.Peer{every}, Ports: kube.TCP(a.ServicePorts...)}
	out := []kube.NetworkPolicy{
		{Name: "allow-data-stores", Egress: []kube.Rule{{Peers: kube.CIDRPeers(a.DataStoreCIDRs...), Ports: kube.TCP(5432, 6379)}}},
		{Name: "allow-https", Egress: []kube.Rule{n.HTTPSOut()}},
	}
	if eps := n.AWSEndpoints(); len(eps) > 0 {
		out = append(out, kube.NetworkPolicy{Name: "allow-aws-endpoints", Egress: eps})
	}
	return append(out,
		kube.NetworkPolicy{Name: "allow-load-balancer", Ingress: []kube.Rule{{Peers: kube.CIDRPeers(a.LoadBalancerCIDRs...), Ports: kube.TCP(a.ServicePorts...)}}},
		// CineGit's services call one another through their Services, on the service ports.
		kube.NetworkPolicy{Name: "allow-same-namespace", Ingress: []kube.Rule{same}, Egress: []kube.Rule{same}},
		kube.NetworkPolicy{Name: "allow-prometheus", Ingress: []kube.Rule{{
			Peers: []kube.Peer{kube.NamespacePeer(a.PrometheusNamespace, nil)}, Ports: kube.TCP(a.MetricsPorts...),
		}}},
	), nil
}
