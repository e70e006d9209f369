//go:build charts

package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/cinegit/infrastructure/pkg/chartcheck"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
)

// The network policies against what the real charts render (issue 21 item 5): the policies were
// derived from the rendered manifests, and this keeps them so through chart bumps. For every
// stack, with the charts at their pinned versions:
//   - no chart renders a NetworkPolicy of its own (the platform's are the whole truth);
//   - every pod a chart renders lands in a namespace that isolates it both ways;
//   - every admission webhook's pods admit the control plane's calls on the Service's target;
//   - every ServiceMonitor's targets admit Prometheus on their metrics port (and Prometheus may
//     reach them);
//   - every pod whose service account the chart binds to a role, with the token mounted, may
//     reach the Kubernetes API (but for the two whose role their pods never use).
//
// Run with `go test -tags charts -run TestNetworkPoliciesAdmitWhatTheChartsNeed .`
// (CINEGIT_CHARTS, CINEGIT_CHARTS_REQUIRED as for TestChartsRenderWithTheProgramsValues).

// unusedRoles are service accounts a chart binds to a role their pods never use, so their pods
// need no API access: HAProxy of Redis HA (role: get endpoints; HAProxy and its config-init
// find the Redis servers by their announce Services' DNS names, redis-ha _configs.tpl) and Loki
// (its ClusterRole is for the rules sidecar, which is off: Loki's alerts are Prometheus rules).
var unusedRoles = map[string]string{
	"argo-cd-redis-ha-haproxy": "HAProxy finds the servers by DNS",
	"loki":                     "for the rules sidecar, off",
}

// operatorPodPorts are the Prometheus Operator's pods' ports (Prometheus and Alertmanager
// StatefulSets are the operator's, not the chart's: their pods are synthesized here).
var operatorPodPorts = map[string][]corev1.ContainerPort{
	"prometheus":   {{Name: "http-web", ContainerPort: 9090}, {Name: "reloader-web", ContainerPort: 8080}},
	"alertmanager": {{Name: "http-web", ContainerPort: 9093}, {Name: "reloader-web", ContainerPort: 8080}},
}

// netpolPod is a rendered (or operator-made) pod as the policies see it.
type netpolPod struct {
	endpoint    netpolcheck.Endpoint
	name        string
	hostNetwork bool
	ports       []corev1.ContainerPort
	account     string
	automount   bool
}

type netpolService struct {
	namespace, name string
	selector        map[string]string
	ports           []corev1.ServicePort
}

func TestNetworkPoliciesAdmitWhatTheChartsNeed(t *testing.T) {
	dir := chartsDir()
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			rendered := mustRenderReleases(t, dir, r)
			ps := netpolcheck.Registered(r)
			levels := namespaceLevels(r)
			nodeIP := privateAddress(r, 7)
			controlPlane := netpolcheck.Endpoint{IP: privateAddress(r, 8)}
			api := netpolcheck.Endpoint{IP: "172.20.0.1"}

			var pods []netpolPod
			var services []netpolService
			var monitors, webhooks []map[string]any
			bound := map[string]string{}  // namespace/service account -> the role kind/name it is bound to
			ruleless := map[string]bool{} // kind/name of the rendered roles without a rule
			for _, rel := range chartReleases(r) {
				out := rendered[rel.resource]
				if out == nil {
					continue
				}
				for _, o := range out.Objects {
					ns, _ := harness.At(map[string]any(o), "metadata/namespace").(string)
					if ns == "" {
						ns = rel.namespace
					}
					switch o.Kind() {
					case "NetworkPolicy":
						t.Errorf("%s renders %s: the platform's policies are the whole truth", rel.resource, o)
					case "Service":
						services = append(services, service(t, ns, o))
					case "ServiceMonitor":
						monitors = append(monitors, map[string]any(o))
					case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
						webhooks = append(webhooks, map[string]any(o))
					case "Role", "ClusterRole":
						if len(asSlice(o["rules"])) == 0 && o["aggregationRule"] == nil {
							ruleless[o.Kind()+"/"+o.Name()] = true
						}
					case "RoleBinding", "ClusterRoleBinding":
						role := fmt.Sprintf("%v/%v", harness.Lookup(o["roleRef"], "kind"), harness.Lookup(o["roleRef"], "name"))
						for _, s := range asSlice(o["subjects"]) {
							if harness.Lookup(s, "kind") == "ServiceAccount" {
								sns, _ := harness.Lookup(s, "namespace").(string)
								if sns == "" {
									sns = ns
								}
								bound[sns+"/"+fmt.Sprint(harness.Lookup(s, "name"))] = role
							}
						}
					case "Prometheus", "Alertmanager":
						kind := strings.ToLower(o.Kind())
						labels := map[string]string{"app.kubernetes.io/name": kind, "app.kubernetes.io/instance": o.Name()}
						if kind == "prometheus" {
							labels["operator.prometheus.io/name"], labels["prometheus"] = o.Name(), o.Name()
						} else {
							labels["alertmanager"] = o.Name()
						}
						pods = append(pods, netpolPod{
							endpoint: netpolcheck.Endpoint{Namespace: ns, Labels: labels, IP: privateAddress(r, 100+len(pods))},
							name:     o.String(), ports: operatorPodPorts[kind],
						})
					}
				}
				chartPods, err := chartcheck.Pods(out.Objects)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range chartPods {
					ns := p.Meta.Namespace
					if o, _ := harness.At(map[string]any(p.Owner), "metadata/namespace").(string); o != "" {
						ns = o
					}
					if ns == "" {
						ns = rel.namespace
					}
					var ports []corev1.ContainerPort
					for _, c := range p.Spec.Containers {
						ports = append(ports, c.Ports...)
					}
					account := p.Spec.ServiceAccountName
					if account == "" {
						account = "default"
					}
					pods = append(pods, netpolPod{
						endpoint:    netpolcheck.Endpoint{Namespace: ns, Labels: p.Meta.Labels, IP: privateAddress(r, 100+len(pods))},
						name:        rel.resource + ": " + p.Owner.String(),
						hostNetwork: p.Spec.HostNetwork,
						ports:       ports,
						account:     account,
						automount:   p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken,
					})
				}
			}
			var prometheus netpolcheck.Endpoint
			for _, p := range pods {
				if p.endpoint.Labels["app.kubernetes.io/name"] == "prometheus" {
					prometheus = p.endpoint
				}
			}

			// Every pod is isolated both ways, in a namespace the program made.
			checked := map[string]int{}
			unused := map[string]bool{}
			for _, p := range pods {
				if p.hostNetwork {
					continue // outside every policy: node-exporter
				}
				if _, ok := levels[p.endpoint.Namespace]; !ok {
					continue // kube-system (the cluster autoscaler): not a namespace the program creates
				}
				checked["isolated pods"]++
				if !ps.Isolated(p.endpoint, "Ingress") || !ps.Isolated(p.endpoint, "Egress") {
					t.Errorf("%s in %s is not isolated both ways", p.name, p.endpoint.Namespace)
				}
				role, ok := bound[p.endpoint.Namespace+"/"+p.account]
				if ok && unusedRoles[p.account] != "" {
					unused[p.account] = true
				}
				if ok && !ruleless[role] && p.automount && unusedRoles[p.account] == "" {
					checked["API clients"]++
					if !ps.Allowed(p.endpoint, api, "TCP", 443) {
						t.Errorf("%s: its service account %s has a role, but the pod may not reach the Kubernetes API", p.name, p.account)
					}
				}
			}

			// Admission webhooks: the control plane reaches the Service's pods on its target.
			for _, wc := range webhooks {
				for _, w := range asSlice(wc["webhooks"]) {
					svc, ok := harness.Lookup(w, "clientConfig", "service").(map[string]any)
					if !ok {
						continue
					}
					port := 443
					if p, ok := svc["port"].(float64); ok {
						port = int(p)
					}
					targets := backends(pods, services, svc["namespace"].(string), svc["name"].(string), port)
					if len(targets) == 0 {
						t.Errorf("webhook %v: no rendered pod behind %v", harness.Lookup(w, "name"), svc)
					}
					for _, tg := range targets {
						checked["webhook targets"]++
						if !ps.Allowed(controlPlane, tg.pod.endpoint, "TCP", tg.port) {
							t.Errorf("webhook %v: the control plane may not reach %s on %d", harness.Lookup(w, "name"), tg.pod.name, tg.port)
						}
					}
				}
			}

			// ServiceMonitors: Prometheus reaches every target on its port.
			for _, m := range monitors {
				name := fmt.Sprint(harness.At(m, "metadata/name"))
				nsNames := asSlice(harness.At(m, "spec/namespaceSelector/matchNames"))
				if len(nsNames) == 0 {
					nsNames = []any{harness.At(m, "metadata/namespace")}
				}
				want, _ := harness.At(m, "spec/selector/matchLabels").(map[string]any)
				for _, ep := range asSlice(harness.At(m, "spec/endpoints")) {
					portName, _ := harness.Lookup(ep, "port").(string)
					for _, nsAny := range nsNames {
						ns := fmt.Sprint(nsAny)
						switch {
						case ns == "default" && want["component"] == "apiserver":
							// The API server's Service endpoints are the control plane's interfaces.
							checked["scrape targets"]++
							if !ps.Allowed(prometheus, controlPlane, "TCP", 443) {
								t.Errorf("%s: Prometheus may not scrape the API server", name)
							}
							continue
						case want["k8s-app"] == "kubelet":
							// The operator's kubelet Service: the nodes' own addresses.
							checked["scrape targets"]++
							if !ps.Allowed(prometheus, netpolcheck.Endpoint{IP: nodeIP}, "TCP", 10250) {
								t.Errorf("%s: Prometheus may not scrape the kubelet", name)
							}
							continue
						}
						found := false
						for _, s := range services {
							if s.namespace != ns || !labelsMatch(want, svcLabels(rendered, s)) {
								continue
							}
							found = true
							for _, sp := range s.ports {
								if sp.Name != portName {
									continue
								}
								targets := backends(pods, services, s.namespace, s.name, int(sp.Port))
								if len(targets) == 0 && ns == "kube-system" {
									// EKS's own pods, which no chart renders: CoreDNS (pod addresses),
									// kube-proxy (the host's network); kube-controller-manager,
									// kube-scheduler and etcd run in EKS's account, so their Services
									// have no endpoints.
									switch {
									case strings.HasSuffix(s.name, "-coredns"):
										targets = []backend{{pod: netpolPod{name: "CoreDNS", endpoint: netpolcheck.Endpoint{Namespace: ns, Labels: s.selector}}, port: sp.TargetPort.IntValue()}}
									case strings.HasSuffix(s.name, "-kube-proxy"):
										targets = []backend{{pod: netpolPod{name: "kube-proxy", hostNetwork: true}, port: sp.TargetPort.IntValue()}}
									default:
										t.Logf("%s: %s has no endpoints on EKS", name, s.name)
									}
								}
								for _, tg := range targets {
									checked["scrape targets"]++
									to := tg.pod.endpoint
									if tg.pod.hostNetwork {
										to = netpolcheck.Endpoint{IP: nodeIP}
									}
									if !ps.Allowed(prometheus, to, "TCP", tg.port) {
										t.Errorf("%s: Prometheus may not scrape %s on %d", name, tg.pod.name, tg.port)
									}
								}
							}
						}
						if !found {
							t.Errorf("%s: no rendered Service in %s matches %v", name, ns, want)
						}
					}
				}
			}
			for account := range unusedRoles {
				if !unused[account] && (account == "loki" || stack != "dev") { // dev has no Redis HA
					t.Errorf("unusedRoles lists %s, which no rendered pod runs as with a role: drop it", account)
				}
			}
			t.Logf("checked %v", checked)
			for _, k := range []string{"isolated pods", "API clients", "webhook targets", "scrape targets"} {
				if checked[k] == 0 {
					t.Errorf("no %s checked", k)
				}
			}
		})
	}
}

// backend is one pod behind a Service port and the container port it lands on.
type backend struct {
	pod  netpolPod
	port int
}

// backends are the pods a Service's port sends to, with the container port (a named
// targetPort resolved on each pod, as the endpoints controller does).
func backends(pods []netpolPod, services []netpolService, namespace, name string, port int) []backend {
	var out []backend
	for _, s := range services {
		if s.namespace != namespace || s.name != name {
			continue
		}
		for _, sp := range s.ports {
			if int(sp.Port) != port {
				continue
			}
			for _, p := range pods {
				if p.endpoint.Namespace != namespace || len(s.selector) == 0 || !selects(s.selector, p.endpoint.Labels) {
					continue
				}
				target := sp.TargetPort.IntValue()
				if sp.TargetPort.StrVal != "" {
					target = 0
					for _, cp := range p.ports {
						if cp.Name == sp.TargetPort.StrVal {
							target = int(cp.ContainerPort)
						}
					}
				} else if target == 0 {
					target = port
				}
				if target != 0 {
					out = append(out, backend{pod: p, port: target})
				}
			}
		}
	}
	return out
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func labelsMatch(want map[string]any, labels map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// svcLabels are a rendered Service's own labels (what a ServiceMonitor selects).
func svcLabels(rendered map[string]*chartcheck.Rendered, s netpolService) map[string]string {
	for _, out := range rendered {
		for _, o := range out.Objects {
			if o.Kind() != "Service" || o.Name() != s.name {
				continue
			}
			if ns, _ := harness.At(map[string]any(o), "metadata/namespace").(string); ns != "" && ns != s.namespace {
				continue
			}
			labels := map[string]string{}
			for k, v := range asMap(harness.At(map[string]any(o), "metadata/labels")) {
				labels[k] = fmt.Sprint(v)
			}
			return labels
		}
	}
	return nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// fromMap decodes a rendered object into a typed one.
func fromMap(m map[string]any, into any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

func service(t *testing.T, ns string, o chartcheck.Object) netpolService {
	t.Helper()
	var s corev1.Service
	if err := fromMap(map[string]any(o), &s); err != nil {
		t.Fatalf("%s: %v", o, err)
	}
	return netpolService{namespace: ns, name: o.Name(), selector: s.Spec.Selector, ports: s.Spec.Ports}
}

// privateAddress is the n-th address of the stack's first private subnet: where pods, nodes
// and the control plane's interfaces all live.
func privateAddress(r *harness.Result, n int) string {
	cidr := r.Named("aws:ec2/subnet:Subnet", "network-private-"+firstAZ(r)).InputString("cidrBlock")
	a := netip.MustParsePrefix(cidr).Addr()
	for range n {
		a = a.Next()
	}
	return a.String()
}
