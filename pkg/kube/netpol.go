package kube

import (
	"fmt"
	"net/netip"
	"regexp"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkPolicies: every namespace CineGit creates denies all traffic both ways and then allows
// exactly what its pods need. The VPC CNI's network policy agent enforces them ("Limit Pod
// traffic with Kubernetes network policies", EKS user guide). Kubelet probes come from the
// node's own address, which the agent always admits (aws/aws-network-policy-agent#56), so
// default deny does not break health checks; pods on the host network (node-exporter) are
// outside every policy.

// Names of the two policies every namespace gets.
const (
	DefaultDenyPolicy = "default-deny"
	AllowDNSPolicy    = "allow-dns"
)

// NamespaceNameLabel is the label every namespace carries with its own name (Kubernetes 1.22+):
// what a policy selects another namespace by.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// HTTPS is the port of the AWS APIs, the Kubernetes API and Git over HTTPS.
const HTTPS = 443

// ClusterNetwork is where the cluster's pods live, as their NetworkPolicies need it: the ranges
// an allow names that are not pods.
type ClusterNetwork struct {
	// VpcCIDR is the VPC's range. "HTTPS out" excludes it, so that a pod allowed to call AWS
	// reaches nothing inside the VPC on 443 but what another allow names (the API server, the
	// interface endpoints).
	VpcCIDR string
	// ServiceCIDR is the cluster's Service (ClusterIP) range as EKS assigned it. HTTPS out
	// excludes it too: the network policy agent judges a packet before kube-proxy translates a
	// ClusterIP (below), so 0.0.0.0/0 would otherwise admit every in-cluster Service on 443.
	ServiceCIDR pulumi.StringInput
	// ControlPlaneCIDRs are the cluster's subnets, where EKS creates the control plane's network
	// interfaces (2-4, recreated on upgrades, so no fixed addresses): the private API endpoint
	// resolves to them, and admission webhook calls come from them ("Network requirements",
	// EKS user guide: "Amazon EKS creates 2-4 elastic network interfaces in the subnets that
	// you specify").
	ControlPlaneCIDRs []string
	// NodeCIDRs are the nodes' subnets: kubelet, node-exporter and kube-proxy metrics.
	NodeCIDRs []string
	// EndpointCIDRs are the subnets of the VPC's interface endpoints (STS, Secrets Manager, ECR,
	// CloudWatch Logs). With private DNS the services' own names resolve to the endpoints'
	// addresses there ("Access an AWS service using an interface VPC endpoint", AWS PrivateLink
	// guide), inside the VPC that HTTPS out excludes. Empty without interface endpoints.
	EndpointCIDRs []string
}

// Check says what is missing or malformed.
func (n ClusterNetwork) Check() error {
	if _, err := netip.ParsePrefix(n.VpcCIDR); err != nil {
		return fmt.Errorf("cluster network: VpcCIDR %q: %w", n.VpcCIDR, err)
	}
	if n.ServiceCIDR == nil || len(n.ControlPlaneCIDRs) == 0 || len(n.NodeCIDRs) == 0 {
		return fmt.Errorf("cluster network: ServiceCIDR, ControlPlaneCIDRs and NodeCIDRs are required")
	}
	for _, set := range [][]string{n.ControlPlaneCIDRs, n.NodeCIDRs, n.EndpointCIDRs} {
		for _, c := range set {
			if _, err := netip.ParsePrefix(c); err != nil {
				return fmt.Errorf("cluster network: %q: %w", c, err)
			}
		}
	}
	return nil
}

// Port is a protocol and a port number.
type Port struct {
	Protocol string
	Number   int
}

// TCP are TCP ports.
func TCP(ports ...int) []Port { return protocolPorts("TCP", ports) }

// UDP are UDP ports.
func UDP(ports ...int) []Port { return protocolPorts("UDP", ports) }

func protocolPorts(protocol string, ports []int) []Port {
	out := make([]Port, len(ports))
	for i, p := range ports {
		out[i] = Port{protocol, p}
	}
	return out
}

// Peer is the other end of a rule: pods (of the policy's namespace, or of Namespace), or an
// address range.
type Peer struct {
	// Namespace selects another namespace by name; "" is the policy's own.
	Namespace string
	// Pods selects pods by their labels; nil is every pod of the namespace.
	Pods map[string]string
	// CIDR, when set, makes the peer an address range instead of pods, less Except.
	CIDR   pulumi.StringInput
	Except []pulumi.StringInput
}

// PodsPeer is the pods of the policy's namespace with these labels.
func PodsPeer(labels map[string]string) Peer { return Peer{Pods: labels} }

// NamespacePeer is the pods of another namespace with these labels (nil: all of them).
func NamespacePeer(namespace string, labels map[string]string) Peer {
	return Peer{Namespace: namespace, Pods: labels}
}

// CIDRPeers are address ranges.
func CIDRPeers(cidrs ...string) []Peer {
	out := make([]Peer, len(cidrs))
	for i, c := range cidrs {
		out[i] = Peer{CIDR: pulumi.String(c)}
	}
	return out
}

// Rule admits traffic between the selected pods and Peers on Ports (both are required: no rule
// here opens every port or every peer).
type Rule struct {
	Peers []Peer
	Ports []Port
}

// NetworkPolicy is one policy of a namespace: the pods it selects and what they may receive
// (Ingress) and send (Egress).
type NetworkPolicy struct {
	// Name is the policy's name in its namespace.
	Name string
	// Pods selects the pods by their labels; nil selects every pod of the namespace.
	Pods    map[string]string
	Ingress []Rule
	Egress  []Rule
}

// HTTPSOut is HTTPS to anywhere outside the VPC and the cluster's Services: the AWS APIs (their
// addresses change weekly, https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html),
// S3 through the gateway endpoint (a route to S3's public prefixes), Git hosts, OIDC issuers.
func (n ClusterNetwork) HTTPSOut() Rule { return n.Outside(HTTPS) }

// Outside is the given TCP ports anywhere outside the VPC and the cluster's Services.
func (n ClusterNetwork) Outside(ports ...int) Rule {
	except := []pulumi.StringInput{pulumi.String(n.VpcCIDR)}
	if n.ServiceCIDR != nil {
		except = append(except, n.ServiceCIDR)
	}
	return Rule{Peers: []Peer{{CIDR: pulumi.String("0.0.0.0/0"), Except: except}}, Ports: TCP(ports...)}
}

// AWSEndpoints is HTTPS to the interface endpoints' subnets; none without interface endpoints.
func (n ClusterNetwork) AWSEndpoints() []Rule {
	if len(n.EndpointCIDRs) == 0 {
		return nil
	}
	return []Rule{{Peers: CIDRPeers(n.EndpointCIDRs...), Ports: TCP(HTTPS)}}
}

// AWS is what a pod that calls AWS APIs (IRSA's STS first) needs: HTTPS out, and the interface
// endpoints where the VPC has them.
func (n ClusterNetwork) AWS() []Rule { return append([]Rule{n.HTTPSOut()}, n.AWSEndpoints()...) }

// KubeAPI is the Kubernetes API server: its `kubernetes` Service's ClusterIP, which in-cluster
// clients dial, and the control plane's network interfaces behind it and behind the private
// endpoint's name. The ClusterIP must be named: the agent's eBPF probes sit on the pod's veth
// and see the address before kube-proxy translates it (amazon-network-policy-controller-k8s,
// pkg/resolvers/endpoints.go, getMatchingServiceClusterIPs), and the controller adds ClusterIPs
// only for Services whose selector matches a policy's pod selector, which `kubernetes` (no
// selector, endpoints managed by the API server) never does. The interfaces have no fixed
// addresses, so their subnets are allowed, as the agent's maintainers advise for the control
// plane (aws/aws-network-policy-agent#281).
func (n ClusterNetwork) KubeAPI() Rule {
	peers := []Peer{{CIDR: APIServiceCIDR(n.ServiceCIDR)}}
	return Rule{Peers: append(peers, CIDRPeers(n.ControlPlaneCIDRs...)...), Ports: TCP(HTTPS)}
}

// FromControlPlane is the API server calling in (admission webhooks, on the pods' own ports:
// EKS's API server reaches a webhook Service's endpoints directly, from its network interfaces
// in the cluster's subnets; aws/aws-network-policy-agent#281).
func (n ClusterNetwork) FromControlPlane(ports ...int) Rule {
	return Rule{Peers: CIDRPeers(n.ControlPlaneCIDRs...), Ports: TCP(ports...)}
}

// ToNodes is the nodes' own addresses on these TCP ports (host-network agents and the kubelet).
func (n ClusterNetwork) ToNodes(ports ...int) Rule {
	return Rule{Peers: CIDRPeers(n.NodeCIDRs...), Ports: TCP(ports...)}
}

// APIServiceCIDR is the `kubernetes` Service's ClusterIP as a /32: the first address of the
// Service range (kube-apiserver's ServiceIPRange: "Select the first valid IP from
// ServiceClusterIPRange to use as the GenericAPIServer service IP", kubernetes/kubernetes
// pkg/controlplane/apiserver/options).
func APIServiceCIDR(serviceCIDR pulumi.StringInput) pulumi.StringOutput {
	return serviceCIDR.ToStringOutput().ApplyT(func(c string) (string, error) {
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is4() {
			return "", fmt.Errorf("service CIDR %q: an IPv4 range", c)
		}
		return p.Masked().Addr().Next().String() + "/32", nil
	}).(pulumi.StringOutput)
}

// DNS is what every pod resolves names with: kube-dns in kube-system, UDP and TCP 53. The
// controller adds kube-dns's ClusterIP, whose selector matches these pods.
func DNS() Rule {
	return Rule{
		Peers: []Peer{NamespacePeer("kube-system", map[string]string{"k8s-app": "kube-dns"})},
		Ports: append(UDP(53), TCP(53)...),
	}
}

var policyName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// NewNetworkPolicies closes a namespace: default-deny (every pod, both directions, no rule),
// allow-dns (every pod to kube-dns), then allows. The Pulumi names are name-<policy>. Pass the
// Kubernetes provider in opts.
func NewNetworkPolicies(ctx *pulumi.Context, name string, namespace pulumi.StringInput, allows []NetworkPolicy, opts ...pulumi.ResourceOption) error {
	if namespace == nil {
		return fmt.Errorf("network policies %s: Namespace is required", name)
	}
	if err := CheckNetworkPolicies(allows); err != nil {
		return fmt.Errorf("network policies %s: %w", name, err)
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+DefaultDenyPolicy, &networkingv1.NetworkPolicyArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(DefaultDenyPolicy), Namespace: namespace},
		Spec: networkingv1.NetworkPolicySpecArgs{
			PodSelector: metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		},
	}, opts...); err != nil {
		return err
	}
	for _, p := range append([]NetworkPolicy{{Name: AllowDNSPolicy, Egress: []Rule{DNS()}}}, allows...) {
		if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-"+p.Name, &networkingv1.NetworkPolicyArgs{
			Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(p.Name), Namespace: namespace},
			Spec:     p.spec(),
		}, opts...); err != nil {
			return err
		}
	}
	return nil
}

// CheckNetworkPolicies refuses allows that would open more than they name: a rule without
// ports or peers, a peer with neither pods, a namespace nor a range, a policy without rules,
// and names that are not unique or that take the two every namespace gets.
func CheckNetworkPolicies(allows []NetworkPolicy) error {
	seen := map[string]bool{DefaultDenyPolicy: true, AllowDNSPolicy: true}
	for _, p := range allows {
		if !policyName.MatchString(p.Name) || len(p.Name) > 253 || seen[p.Name] {
			return fmt.Errorf("policy %q: a DNS name, once, not %s or %s", p.Name, DefaultDenyPolicy, AllowDNSPolicy)
		}
		seen[p.Name] = true
		if len(p.Ingress)+len(p.Egress) == 0 {
			return fmt.Errorf("policy %s allows nothing", p.Name)
		}
		for _, r := range append(append([]Rule{}, p.Ingress...), p.Egress...) {
			if len(r.Peers) == 0 || len(r.Ports) == 0 {
				return fmt.Errorf("policy %s: every rule names its peers and ports", p.Name)
			}
			for _, port := range r.Ports {
				if port.Number < 1 || port.Number > 65535 || (port.Protocol != "TCP" && port.Protocol != "UDP") {
					return fmt.Errorf("policy %s: port %v", p.Name, port)
				}
			}
			for _, peer := range r.Peers {
				if peer.CIDR == nil && peer.Namespace == "" && peer.Pods == nil {
					return fmt.Errorf("policy %s: a peer without pods, namespace or range", p.Name)
				}
				if peer.CIDR != nil && (peer.Namespace != "" || peer.Pods != nil) {
					return fmt.Errorf("policy %s: a peer is pods or a range, not both", p.Name)
				}
			}
		}
	}
	return nil
}

// spec is the policy's Kubernetes spec; its types are the directions it has rules for.
func (p NetworkPolicy) spec() networkingv1.NetworkPolicySpecArgs {
	s := networkingv1.NetworkPolicySpecArgs{PodSelector: selector(p.Pods)}
	var types []string
	if len(p.Ingress) > 0 {
		types = append(types, "Ingress")
		rules := networkingv1.NetworkPolicyIngressRuleArray{}
		for _, r := range p.Ingress {
			rules = append(rules, networkingv1.NetworkPolicyIngressRuleArgs{From: peers(r.Peers), Ports: ports(r.Ports)})
		}
		s.Ingress = rules
	}
	if len(p.Egress) > 0 {
		types = append(types, "Egress")
		rules := networkingv1.NetworkPolicyEgressRuleArray{}
		for _, r := range p.Egress {
			rules = append(rules, networkingv1.NetworkPolicyEgressRuleArgs{To: peers(r.Peers), Ports: ports(r.Ports)})
		}
		s.Egress = rules
	}
	s.PolicyTypes = pulumi.ToStringArray(types)
	return s
}

// selector matches the labels; none (nil or empty) matches every pod.
func selector(labels map[string]string) metav1.LabelSelectorArgs {
	if len(labels) == 0 {
		return metav1.LabelSelectorArgs{}
	}
	return metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)}
}

func peers(in []Peer) networkingv1.NetworkPolicyPeerArray {
	out := networkingv1.NetworkPolicyPeerArray{}
	for _, p := range in {
		if p.CIDR != nil {
			block := networkingv1.IPBlockArgs{Cidr: p.CIDR}
			if len(p.Except) > 0 {
				block.Except = pulumi.StringArray(p.Except)
			}
			out = append(out, networkingv1.NetworkPolicyPeerArgs{IpBlock: block})
			continue
		}
		peer := networkingv1.NetworkPolicyPeerArgs{PodSelector: selector(p.Pods)}
		if p.Namespace != "" {
			peer.NamespaceSelector = selector(map[string]string{NamespaceNameLabel: p.Namespace})
			if p.Pods == nil {
				peer.PodSelector = nil
			}
		}
		out = append(out, peer)
	}
	return out
}

func ports(in []Port) networkingv1.NetworkPolicyPortArray {
	out := networkingv1.NetworkPolicyPortArray{}
	for _, p := range in {
		out = append(out, networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(p.Protocol), Port: pulumi.Int(p.Number)})
	}
	return out
}
