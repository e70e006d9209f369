package kube

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
)

const tNetPol = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

// testNetwork is a VPC of 10.0.0.0/16 whose private subnets hold the nodes and the control
// plane's interfaces, with (or without) interface endpoints, and EKS's default Service range
// for a VPC in 10.0.0.0/8.
func testNetwork(endpoints bool) ClusterNetwork {
	n := ClusterNetwork{
		VpcCIDR:           "10.0.0.0/16",
		ServiceCIDR:       pulumi.String("172.20.0.0/16"),
		ControlPlaneCIDRs: []string{"10.0.32.0/20", "10.0.48.0/20"},
		NodeCIDRs:         []string{"10.0.32.0/20", "10.0.48.0/20"},
	}
	if endpoints {
		// The program puts them in the private subnets too; a range of their own here shows
		// which rule admits them.
		n.EndpointCIDRs = []string{"10.0.64.0/24"}
	}
	return n
}

var appPods = map[string]string{"app": "api"}

// runPolicies registers the policies of one namespace and returns them as registered.
func runPolicies(t *testing.T, allows func(ClusterNetwork) []NetworkPolicy, endpoints bool) netpolcheck.Policies {
	t.Helper()
	r, err := harness.RunComponent("us-east-1", false, func(ctx *pulumi.Context, p harness.Providers) error {
		return NewNetworkPolicies(ctx, "apps", pulumi.String("apps"), allows(testNetwork(endpoints)), pulumi.Provider(p.Kubernetes))
	})
	if err != nil {
		t.Fatal(err)
	}
	return netpolcheck.Registered(r)
}

func TestEveryNamespaceDeniesByDefaultAndResolvesNames(t *testing.T) {
	r, err := harness.RunComponent("us-east-1", false, func(ctx *pulumi.Context, p harness.Providers) error {
		return NewNetworkPolicies(ctx, "apps", pulumi.String("apps"), nil, pulumi.Provider(p.Kubernetes))
	})
	if err != nil {
		t.Fatal(err)
	}
	deny := r.Named(tNetPol, "apps-default-deny")
	if deny == nil || deny.InputString("metadata.name") != DefaultDenyPolicy ||
		!reflect.DeepEqual(deny.Input("spec.policyTypes"), []any{"Ingress", "Egress"}) ||
		!reflect.DeepEqual(deny.Input("spec.podSelector"), map[string]any{}) ||
		deny.Input("spec.ingress") != nil || deny.Input("spec.egress") != nil {
		t.Fatalf("default-deny %v", deny)
	}
	dns := r.Named(tNetPol, "apps-allow-dns")
	want := []any{map[string]any{
		"to": []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{NamespaceNameLabel: "kube-system"}},
			"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
		}},
		"ports": []any{map[string]any{"protocol": "UDP", "port": float64(53)}, map[string]any{"protocol": "TCP", "port": float64(53)}},
	}}
	if dns == nil || !reflect.DeepEqual(dns.Input("spec.egress"), want) || !reflect.DeepEqual(dns.Input("spec.policyTypes"), []any{"Egress"}) {
		t.Fatalf("allow-dns %v", dns)
	}
	if n := len(r.ByType(tNetPol)); n != 2 {
		t.Errorf("%d policies, want default-deny and allow-dns", n)
	}
}

// The shared rules admit what they name and nothing else of the VPC: HTTPS out reaches AWS's
// public addresses but no address of the VPC or of the cluster's Services; the Kubernetes API
// is its Service's ClusterIP and the control plane's subnets; the endpoints rule exists only
// where the VPC has interface endpoints.
func TestSharedRulesAdmitOnlyWhatTheyName(t *testing.T) {
	pod := netpolcheck.Endpoint{Namespace: "apps", Labels: appPods, IP: "10.0.33.7"}
	other := netpolcheck.Endpoint{Namespace: "apps", Labels: map[string]string{"app": "other"}, IP: "10.0.33.8"}
	to := func(ip string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: ip} }
	for _, tc := range []struct {
		name      string
		endpoints bool
		from      netpolcheck.Endpoint
		to        netpolcheck.Endpoint
		proto     string
		port      int
		allowed   bool
	}{
		{"AWS API on the internet", false, pod, to("52.94.133.131"), "TCP", 443, true},
		{"anything in the VPC on 443", false, pod, to("10.0.200.10"), "TCP", 443, false},
		{"an endpoint's address where the VPC has no endpoints", false, pod, to("10.0.64.10"), "TCP", 443, false},
		{"the API server's ClusterIP", false, pod, to("172.20.0.1"), "TCP", 443, true},
		{"another ClusterIP on 443", false, pod, to("172.20.14.2"), "TCP", 443, false},
		{"the control plane's interfaces", false, pod, to("10.0.49.250"), "TCP", 443, true},
		{"the control plane on another port", false, pod, to("10.0.49.250"), "TCP", 10250, false},
		{"a public subnet on 443", true, pod, to("10.0.0.20"), "TCP", 443, false},
		{"interface endpoints", true, pod, to("10.0.64.10"), "TCP", 443, true},
		{"the internet on another port", false, pod, to("52.94.133.131"), "TCP", 80, false},
		{"kube-dns", false, pod, netpolcheck.Endpoint{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}, "UDP", 53, true},
		{"a pod the policy does not select", false, other, to("52.94.133.131"), "TCP", 443, false},
		{"a webhook call from the control plane", false, to("10.0.48.9"), pod, "TCP", 9443, true},
		{"the webhook port from a public subnet", false, to("10.0.0.9"), pod, "TCP", 9443, false},
		{"anything else in", false, to("10.0.48.9"), pod, "TCP", 8080, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := runPolicies(t, func(n ClusterNetwork) []NetworkPolicy {
				egress := append([]Rule{n.HTTPSOut(), n.KubeAPI()}, n.AWSEndpoints()...)
				return []NetworkPolicy{{Name: "api", Pods: appPods, Egress: egress, Ingress: []Rule{n.FromControlPlane(9443)}}}
			}, tc.endpoints)
			if got := ps.Allowed(tc.from, tc.to, tc.proto, tc.port); got != tc.allowed {
				t.Errorf("%v -> %v %s/%d allowed %v, want %v", tc.from, tc.to, tc.proto, tc.port, got, tc.allowed)
			}
		})
	}
}

func TestHTTPSOutExcludesTheVPCAndTheServiceRange(t *testing.T) {
	ps := runPolicies(t, func(n ClusterNetwork) []NetworkPolicy {
		return []NetworkPolicy{{Name: "allow-https", Egress: n.AWS()}}
	}, true)
	rules, _ := harness.Lookup(ps.Named("apps", "allow-https"), "spec", "egress").([]any)
	if len(rules) != 2 {
		t.Fatalf("allow-https rules %v, want HTTPS out and the endpoints", rules)
	}
	want := map[string]any{"cidr": "0.0.0.0/0", "except": []any{"10.0.0.0/16", "172.20.0.0/16"}}
	if got := harness.Lookup(rules[0], "to"); !reflect.DeepEqual(got, []any{map[string]any{"ipBlock": want}}) {
		t.Errorf("HTTPS out %v, want %v", got, want)
	}
}

func TestAPIServiceCIDRIsTheFirstAddressOfTheServiceRange(t *testing.T) {
	for in, want := range map[string]string{"172.20.0.0/16": "172.20.0.1/32", "10.100.0.0/16": "10.100.0.1/32", "10.96.0.0/12": "10.96.0.1/32"} {
		ch := make(chan string, 1)
		APIServiceCIDR(pulumi.String(in)).ApplyT(func(s string) string { ch <- s; return s })
		if got := <-ch; got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestNetworkPoliciesAreChecked(t *testing.T) {
	n := testNetwork(false)
	ok := Rule{Peers: CIDRPeers("10.0.0.0/24"), Ports: TCP(443)}
	for name, p := range map[string]NetworkPolicy{
		"no rules":            {Name: "x"},
		"no ports":            {Name: "x", Egress: []Rule{{Peers: CIDRPeers("10.0.0.0/24")}}},
		"no peers":            {Name: "x", Egress: []Rule{{Ports: TCP(443)}}},
		"empty peer":          {Name: "x", Egress: []Rule{{Peers: []Peer{{}}, Ports: TCP(443)}}},
		"pods and range":      {Name: "x", Egress: []Rule{{Peers: []Peer{{Pods: appPods, CIDR: pulumi.String("10.0.0.0/8")}}, Ports: TCP(443)}}},
		"port zero":           {Name: "x", Egress: []Rule{{Peers: CIDRPeers("10.0.0.0/24"), Ports: TCP(0)}}},
		"SCTP":                {Name: "x", Egress: []Rule{{Peers: CIDRPeers("10.0.0.0/24"), Ports: []Port{{"SCTP", 9}}}}},
		"default-deny's name": {Name: DefaultDenyPolicy, Egress: []Rule{ok}},
		"allow-dns's name":    {Name: AllowDNSPolicy, Egress: []Rule{ok}},
		"bad name":            {Name: "Allow_HTTPS", Egress: []Rule{n.HTTPSOut()}},
	} {
		if err := CheckNetworkPolicies([]NetworkPolicy{p}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := CheckNetworkPolicies([]NetworkPolicy{{Name: "a", Egress: []Rule{ok}}, {Name: "a", Ingress: []Rule{ok}}}); err == nil {
		t.Error("two policies named a: accepted")
	}
	if err := CheckNetworkPolicies([]NetworkPolicy{{Name: "a", Egress: []Rule{ok, n.HTTPSOut(), n.KubeAPI()}, Ingress: []Rule{n.FromControlPlane(9443)}}}); err != nil {
		t.Errorf("valid policy refused: %v", err)
	}
}

func TestClusterNetworkIsChecked(t *testing.T) {
	for name, mutate := range map[string]func(*ClusterNetwork){
		"no VPC":           func(n *ClusterNetwork) { n.VpcCIDR = "" },
		"bad VPC":          func(n *ClusterNetwork) { n.VpcCIDR = "10.0.0.0" },
		"no service range": func(n *ClusterNetwork) { n.ServiceCIDR = nil },
		"no control plane": func(n *ClusterNetwork) { n.ControlPlaneCIDRs = nil },
		"no nodes":         func(n *ClusterNetwork) { n.NodeCIDRs = nil },
		"bad endpoints":    func(n *ClusterNetwork) { n.EndpointCIDRs = []string{"private"} },
	} {
		n := testNetwork(true)
		mutate(&n)
		if err := n.Check(); err == nil || !strings.Contains(err.Error(), "cluster network") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := testNetwork(true).Check(); err != nil {
		t.Error(err)
	}
}
