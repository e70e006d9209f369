// Package netpolcheck judges connections against NetworkPolicies as the program registers them
// (plain maps: metadata and spec), with the semantics of the NetworkPolicy API
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/): a pod selected
// by no policy of a direction is open in it; a selected pod admits only what one of its
// policies' rules admits; a connection needs the sender's egress and the receiver's ingress.
// Address ranges match pod addresses literally, as the VPC CNI's agent does. Tests use it to
// prove flows, not to enforce anything.
package netpolcheck

import (
	"fmt"
	"net/netip"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Endpoint is one end of a connection: a pod (Namespace and Labels, and its IP when a range
// should match it) or an address outside the cluster (IP only).
type Endpoint struct {
	Namespace string
	Labels    map[string]string
	IP        string
}

// IsPod says whether the endpoint is a pod, which policies select.
func (e Endpoint) IsPod() bool { return e.Namespace != "" }

func (e Endpoint) String() string {
	if !e.IsPod() {
		return e.IP
	}
	return fmt.Sprintf("%s/%v", e.Namespace, e.Labels)
}

// Policies are registered NetworkPolicies.
type Policies []map[string]any

// Allowed says whether from may open a connection to to on port (protocol "TCP" or "UDP").
func (ps Policies) Allowed(from, to Endpoint, protocol string, port int) bool {
	if from.IsPod() && !ps.admits(from, to, "Egress", protocol, port) {
		return false
	}
	if to.IsPod() && !ps.admits(to, from, "Ingress", protocol, port) {
		return false
	}
	return true
}

// Isolated says whether any policy selects the pod in the direction ("Ingress", "Egress").
func (ps Policies) Isolated(pod Endpoint, direction string) bool {
	return len(ps.selecting(pod, direction)) > 0
}

// admits says whether pod's policies of direction admit the connection with peer.
func (ps Policies) admits(pod, peer Endpoint, direction, protocol string, port int) bool {
	selecting := ps.selecting(pod, direction)
	if len(selecting) == 0 {
		return true
	}
	rulesKey, peersKey := "ingress", "from"
	if direction == "Egress" {
		rulesKey, peersKey = "egress", "to"
	}
	for _, p := range selecting {
		spec, _ := p["spec"].(map[string]any)
		rules, _ := spec[rulesKey].([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			if portsMatch(rule["ports"], protocol, port) && peersMatch(rule[peersKey], namespaceOf(p), peer) {
				return true
			}
		}
	}
	return false
}

// selecting are the policies of the pod's namespace that select it in direction.
func (ps Policies) selecting(pod Endpoint, direction string) []map[string]any {
	var out []map[string]any
	for _, p := range ps {
		if namespaceOf(p) != pod.Namespace {
			continue
		}
		spec, _ := p["spec"].(map[string]any)
		if !matches(spec["podSelector"], pod.Labels) || !hasType(spec, direction) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func namespaceOf(p map[string]any) string {
	m, _ := p["metadata"].(map[string]any)
	s, _ := m["namespace"].(string)
	return s
}

// hasType follows the API's default: Ingress always, Egress when the policy has egress rules.
func hasType(spec map[string]any, direction string) bool {
	types, ok := spec["policyTypes"].([]any)
	if !ok || len(types) == 0 {
		if direction == "Ingress" {
			return true
		}
		_, ok := spec["egress"]
		return ok
	}
	for _, t := range types {
		if t == direction {
			return true
		}
	}
	return false
}

func portsMatch(v any, protocol string, port int) bool {
	list, _ := v.([]any)
	if len(list) == 0 {
		return true
	}
	for _, p := range list {
		m, _ := p.(map[string]any)
		proto, _ := m["protocol"].(string)
		if proto == "" {
			proto = "TCP"
		}
		if proto != protocol {
			continue
		}
		switch n := m["port"].(type) {
		case nil:
			return true
		case float64:
			if int(n) == port {
				return true
			}
		case int:
			if n == port {
				return true
			}
		}
	}
	return false
}

func peersMatch(v any, policyNamespace string, peer Endpoint) bool {
	list, _ := v.([]any)
	if v == nil {
		return true
	}
	for _, x := range list {
		m, _ := x.(map[string]any)
		if block, ok := m["ipBlock"].(map[string]any); ok {
			if inBlock(block, peer.IP) {
				return true
			}
			continue
		}
		if !peer.IsPod() {
			continue
		}
		nsSel, hasNS := m["namespaceSelector"]
		if hasNS {
			if !matches(nsSel, map[string]string{"kubernetes.io/metadata.name": peer.Namespace}) {
				continue
			}
		} else if peer.Namespace != policyNamespace {
			continue
		}
		if podSel, ok := m["podSelector"]; ok && !matches(podSel, peer.Labels) {
			continue
		}
		return true
	}
	return false
}

func inBlock(block map[string]any, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	cidr, _ := block["cidr"].(string)
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Contains(addr) {
		return false
	}
	except, _ := block["except"].([]any)
	for _, e := range except {
		s, _ := e.(string)
		if q, err := netip.ParsePrefix(s); err == nil && q.Contains(addr) {
			return false
		}
	}
	return true
}

// matches says whether labels satisfy a label selector's matchLabels (an empty or absent
// selector matches everything; matchExpressions are not used by the program and match nothing).
func matches(selector any, labels map[string]string) bool {
	sel, _ := selector.(map[string]any)
	if _, ok := sel["matchExpressions"]; ok {
		return false
	}
	want, _ := sel["matchLabels"].(map[string]any)
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Registered are the NetworkPolicies of a program run, as Allowed reads them.
func Registered(r *harness.Result) Policies {
	var out Policies
	for _, p := range r.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		out = append(out, map[string]any{"metadata": p.Input("metadata"), "spec": p.Input("spec")})
	}
	return out
}

// Named is the policy of namespace with name, nil without.
func (ps Policies) Named(namespace, name string) map[string]any {
	for _, p := range ps {
		m, _ := p["metadata"].(map[string]any)
		if m["namespace"] == namespace && m["name"] == name {
			return p
		}
	}
	return nil
}
