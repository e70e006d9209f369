package main

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
)

// Network policy across the program (issue 21 item 5): every namespace the program creates
// denies all traffic by default; no rule admits the VPC wholesale (a range that holds the VPC
// excludes it and the cluster's Service range; a range inside the VPC is one of the program's
// own subnets); and the flows between namespaces are those the components mean.

const k8sNetworkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

// harnessServiceCIDR is the Service range the harness's EKS stand-in reports (EKS's own choice
// for a VPC in 10.0.0.0/8, which every stack's is).
const harnessServiceCIDR = "172.20.0.0/16"

func TestEveryNamespaceTheProgramCreatesDeniesByDefault(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			namespaces := map[string]bool{}
			for _, ns := range r.ByType(k8sNamespace) {
				namespaces[ns.InputString("metadata.name")] = true
			}
			// The applications', the media jobs', monitoring and its host agents', Argo CD's,
			// External Secrets' and the ingress controllers'.
			if want := []string{"argocd", "cinegit", "external-secrets", "ingress", "media", "monitoring", "monitoring-host"}; !reflect.DeepEqual(sortedKeys(namespaces), want) {
				t.Errorf("namespaces %v, want %v: a new namespace needs its default-deny and allows", sortedKeys(namespaces), want)
			}
			denies := map[string]bool{}
			for _, p := range r.ByType(k8sNetworkPolicy) {
				ns := p.InputString("metadata.namespace")
				if !namespaces[ns] {
					t.Errorf("%s is in %q, a namespace the program does not create", p.Name, ns)
				}
				if p.InputString("metadata.name") == "default-deny" &&
					reflect.DeepEqual(p.Input("spec.podSelector"), map[string]any{}) &&
					reflect.DeepEqual(p.Input("spec.policyTypes"), []any{"Ingress", "Egress"}) &&
					p.Input("spec.ingress") == nil && p.Input("spec.egress") == nil {
					denies[ns] = true
				}
			}
			for ns := range namespaces {
				if !denies[ns] {
					t.Errorf("namespace %s has no default-deny (every pod, both directions, no rule)", ns)
				}
			}
		})
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A pod allowed HTTPS "out" reaches nothing of the VPC and of the cluster's Services through
// it: every range that holds the VPC excludes the VPC's range and the Service range; a range
// inside the VPC is a whole subnet of the program's; the only ClusterIP named is the API
// server's. And no allow-https policy admits a single address of the VPC.
func TestNoRuleAdmitsTheVPCWholesale(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			vpc := netip.MustParsePrefix(r.Named("aws:ec2/vpc:Vpc", "network").InputString("cidrBlock"))
			service := netip.MustParsePrefix(harnessServiceCIDR)
			subnets := map[string]bool{}
			for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
				subnets[s.InputString("cidrBlock")] = true
			}
			https := 0
			for _, p := range r.ByType(k8sNetworkPolicy) {
				name := p.InputString("metadata.namespace") + "/" + p.InputString("metadata.name")
				for _, dir := range []string{"ingress", "egress"} {
					rules, _ := p.Input("spec." + dir).([]any)
					for _, rule := range rules {
						for _, peer := range asSlice(harness.Lookup(rule, map[string]string{"ingress": "from", "egress": "to"}[dir])) {
							block, ok := harness.Lookup(peer, "ipBlock").(map[string]any)
							if !ok {
								continue
							}
							cidr := netip.MustParsePrefix(block["cidr"].(string))
							var except []string
							for _, e := range asSlice(block["except"]) {
								except = append(except, e.(string))
							}
							switch {
							case cidr.Bits() <= vpc.Bits() && cidr.Contains(vpc.Addr()):
								if !slices.Contains(except, vpc.String()) || !slices.Contains(except, service.String()) {
									t.Errorf("%s: %s %s admits the VPC %s or the Service range %s (except %v)", name, dir, cidr, vpc, service, except)
								}
							case vpc.Overlaps(cidr):
								if !subnets[cidr.String()] {
									t.Errorf("%s: %s %s is inside the VPC but none of its subnets", name, dir, cidr)
								}
							case service.Overlaps(cidr):
								if cidr.String() != "172.20.0.1/32" {
									t.Errorf("%s: %s %s is a ClusterIP range other than the API server's", name, dir, cidr)
								}
							}
							if strings.HasSuffix(name, "/allow-https") {
								https++
								if vpc.Overlaps(cidr) && !slices.Contains(except, vpc.String()) {
									t.Errorf("%s admits %s, inside the VPC", name, cidr)
								}
							}
						}
					}
				}
			}
			if https < 2 {
				t.Errorf("%d allow-https ranges: the applications' and the media jobs' at least", https)
			}
		})
	}
}

// Flows between namespaces, judged against every policy the program registers: what one
// component allows out, the other allows in, and what neither means stays closed.
func TestFlowsBetweenNamespaces(t *testing.T) {
	pod := func(ns, ip string, labels ...string) netpolcheck.Endpoint {
		m := map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			m[labels[i]] = labels[i+1]
		}
		return netpolcheck.Endpoint{Namespace: ns, Labels: m, IP: ip}
	}
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			ps := netpolcheck.Registered(r)
			private := r.Named("aws:ec2/subnet:Subnet", "network-private-"+firstAZ(r)).InputString("cidrBlock")
			base := netip.MustParsePrefix(private).Addr()
			ip := func(n int) string {
				a := base
				for range n {
					a = a.Next()
				}
				return a.String()
			}
			app := pod("cinegit", ip(10), "app.kubernetes.io/name", "review")
			job := pod("media", ip(11), "app.kubernetes.io/name", "ffmpeg", "app.kubernetes.io/part-of", "cinegit-media-processing", "app.kubernetes.io/managed-by", "pulumi")
			prom := pod("monitoring", ip(12), "app.kubernetes.io/name", "prometheus", "operator.prometheus.io/name", "kube-prometheus-stack-prometheus")
			gateway := pod("monitoring", ip(13), "app.kubernetes.io/name", "loki", "app.kubernetes.io/instance", "loki", "app.kubernetes.io/component", "gateway")
			loki := pod("monitoring", ip(14), "app.kubernetes.io/name", "loki", "app.kubernetes.io/instance", "loki", "app.kubernetes.io/component", "single-binary")
			alloy := pod("monitoring-host", ip(15), "app.kubernetes.io/name", "alloy", "app.kubernetes.io/instance", "alloy")
			esoWebhook := pod("external-secrets", ip(16), "app.kubernetes.io/name", "external-secrets-webhook", "app.kubernetes.io/instance", "external-secrets")
			eso := pod("external-secrets", ip(17), "app.kubernetes.io/name", "external-secrets", "app.kubernetes.io/instance", "external-secrets")
			lbc := pod("ingress", ip(18), "app.kubernetes.io/name", "aws-load-balancer-controller", "app.kubernetes.io/instance", "aws-load-balancer-controller")
			repoServer := pod("argocd", ip(19), "app.kubernetes.io/name", "argocd-repo-server", "app.kubernetes.io/instance", "argo-cd")
			argoServer := pod("argocd", ip(20), "app.kubernetes.io/name", "argocd-server", "app.kubernetes.io/instance", "argo-cd")
			endpoint := netpolcheck.Endpoint{IP: ip(200)} // an interface endpoint's address in a private subnet
			controlPlane := netpolcheck.Endpoint{IP: ip(201)}
			internet := netpolcheck.Endpoint{IP: "52.94.133.131"}
			api := netpolcheck.Endpoint{IP: "172.20.0.1"}
			endpoints := interfaceEndpoints(r)
			for _, tc := range []struct {
				name     string
				from, to netpolcheck.Endpoint
				port     int
				want     bool
			}{
				{"Prometheus scrapes an application's metrics", prom, app, 9090, true},
				{"an application calls Prometheus", app, prom, 9090, false},
				{"Alloy pushes to Loki's gateway", alloy, gateway, 8080, true},
				{"an application pushes to Loki's gateway", app, gateway, 8080, false},
				{"an application calls Loki itself", app, loki, 3100, false},
				{"a media job calls Loki itself", job, loki, 3100, false},
				{"an application calls External Secrets' webhook", app, esoWebhook, 10250, false},
				{"the control plane calls External Secrets' webhook", controlPlane, esoWebhook, 10250, true},
				{"an application calls the load balancer controller's webhook", app, lbc, 9443, false},
				{"an application calls the Kubernetes API", app, api, 443, false},
				{"a media job calls the Kubernetes API", job, api, 443, false},
				{"an application reaches AWS", app, internet, 443, true},
				{"a media job reaches S3 and STS", job, internet, 443, true},
				{"an application reaches an interface endpoint", app, endpoint, 443, endpoints},
				{"a media job reaches an interface endpoint", job, endpoint, 443, endpoints},
				{"External Secrets reaches Secrets Manager", eso, internet, 443, true},
				{"Argo CD's repo server fetches the GitOps repository", repoServer, internet, 443, true},
				{"Argo CD's server reaches the internet", argoServer, internet, 443, false},
				{"an application calls Argo CD's server", app, argoServer, 8080, false},
				{"a media job calls an application", job, app, 8080, false},
				{"an application calls a media job", app, job, 8080, false},
			} {
				if got := ps.Allowed(tc.from, tc.to, "TCP", tc.port); got != tc.want {
					t.Errorf("%s: %v -> %v:%d allowed %v, want %v", tc.name, tc.from, tc.to, tc.port, got, tc.want)
				}
			}
		})
	}
}

// firstAZ is the availability zone of the stack's first private subnet (by name).
func firstAZ(r *harness.Result) string {
	var names []string
	for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
		if strings.HasPrefix(s.Name, "network-private-") {
			names = append(names, strings.TrimPrefix(s.Name, "network-private-"))
		}
	}
	slices.Sort(names)
	return names[0]
}
