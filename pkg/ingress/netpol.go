package ingress

import (
	"fmt"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkPolicyArgs close the application namespace: default deny both ways, then only what
// CineGit's services need. The VPC CNI's network policy agent enforces them
// ("Limit Pod traffic with Kubernetes policies", EKS user guide).
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

// The well-known label every namespace carries (Kubernetes 1.22+).
const namespaceNameLabel = "kubernetes.io/metadata.name"

func ports(protocol string, numbers ...int) networkingv1.NetworkPolicyPortArray {
	out := networkingv1.NetworkPolicyPortArray{}
	for _, n := range numbers {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(protocol), Port: pulumi.Int(n)})
	}
	return out
}

func ipBlocks(cidrs []string) networkingv1.NetworkPolicyPeerArray {
	out := networkingv1.NetworkPolicyPeerArray{}
	for _, c := range cidrs {
		out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	return out
}

func namespacePeer(ns string, pods map[string]string) networkingv1.NetworkPolicyPeerArgs {
	p := networkingv1.NetworkPolicyPeerArgs{
		NamespaceSelector: metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(ns)}},
	}
	if pods != nil {
		p.PodSelector = metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(pods)}
	}
	return p
}

// networkPolicies creates the application namespace's policies.
func networkPolicies(ctx *pulumi.Context, name string, a NetworkPolicyArgs, opts []pulumi.ResourceOption) error {
	if a.Namespace == nil || len(a.DataStoreCIDRs) == 0 || len(a.LoadBalancerCIDRs) == 0 || len(a.ServicePorts) == 0 ||
		a.PrometheusNamespace == "" || len(a.MetricsPorts) == 0 {
		return fmt.Errorf("ingress %s: network policy: Namespace, DataStoreCIDRs, LoadBalancerCIDRs, ServicePorts, PrometheusNamespace and MetricsPorts are required", name)
	}
	// Kubelet probes come from the node's own address, which the network policy agent always
	// admits (aws/aws-network-policy-agent#56), so default deny does not break health checks.
	all := metav1.LabelSelectorArgs{} // every pod of the namespace
	egress := func(rules ...networkingv1.NetworkPolicyEgressRuleArgs) networkingv1.NetworkPolicySpecArgs {
		return networkingv1.NetworkPolicySpecArgs{PodSelector: all, PolicyTypes: pulumi.ToStringArray([]string{"Egress"}), Egress: networkingv1.NetworkPolicyEgressRuleArray(toEgress(rules))}
	}
	ingress := func(rules ...networkingv1.NetworkPolicyIngressRuleArgs) networkingv1.NetworkPolicySpecArgs {
		return networkingv1.NetworkPolicySpecArgs{PodSelector: all, PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}), Ingress: networkingv1.NetworkPolicyIngressRuleArray(toIngress(rules))}
	}
	policies := []struct {
		name string
		spec networkingv1.NetworkPolicySpecArgs
	}{
		// Nothing in or out unless a policy below allows it.
		{"default-deny", networkingv1.NetworkPolicySpecArgs{PodSelector: all, PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"})}},
		{"allow-dns", egress(networkingv1.NetworkPolicyEgressRuleArgs{
			To:    networkingv1.NetworkPolicyPeerArray{namespacePeer("kube-system", map[string]string{"k8s-app": "kube-dns"})},
			Ports: append(ports("UDP", 53), ports("TCP", 53)...),
		})},
		{"allow-data-stores", egress(networkingv1.NetworkPolicyEgressRuleArgs{
			To: ipBlocks(a.DataStoreCIDRs), Ports: ports("TCP", 5432, 6379),
		})},
		// AWS APIs (STS for IRSA, SQS, Secrets Manager) and S3 have no fixed addresses: HTTPS to
		// anywhere, and nothing else (https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html
		// lists ranges that change weekly).
		{"allow-https", egress(networkingv1.NetworkPolicyEgressRuleArgs{
			To: ipBlocks([]string{"0.0.0.0/0"}), Ports: ports("TCP", 443),
		})},
		{"allow-load-balancer", ingress(networkingv1.NetworkPolicyIngressRuleArgs{
			From: ipBlocks(a.LoadBalancerCIDRs), Ports: ports("TCP", a.ServicePorts...),
		})},
		// CineGit's services call one another through their Services, on the service ports.
		{"allow-same-namespace", networkingv1.NetworkPolicySpecArgs{
			PodSelector: all, PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: all}}, Ports: ports("TCP", a.ServicePorts...),
			}},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{PodSelector: all}}, Ports: ports("TCP", a.ServicePorts...),
			}},
		}},
		{"allow-prometheus", ingress(networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{namespacePeer(a.PrometheusNamespace, nil)}, Ports: ports("TCP", a.MetricsPorts...),
		})},
	}
	for _, p := range policies {
		if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.name, &networkingv1.NetworkPolicyArgs{
			Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(p.name), Namespace: a.Namespace},
			Spec:     p.spec,
		}, opts...); err != nil {
			return err
		}
	}
	return nil
}

func toEgress(r []networkingv1.NetworkPolicyEgressRuleArgs) []networkingv1.NetworkPolicyEgressRuleInput {
	out := make([]networkingv1.NetworkPolicyEgressRuleInput, len(r))
	for i := range r {
		out[i] = r[i]
	}
	return out
}

func toIngress(r []networkingv1.NetworkPolicyIngressRuleArgs) []networkingv1.NetworkPolicyIngressRuleInput {
	out := make([]networkingv1.NetworkPolicyIngressRuleInput, len(r))
	for i := range r {
		out[i] = r[i]
	}
	return out
}
