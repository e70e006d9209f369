package netpolcheck

import "testing"

func policy(ns string, spec map[string]any) map[string]any {
	return map[string]any{"metadata": map[string]any{"namespace": ns}, "spec": spec}
}

func pods(labels map[string]any) map[string]any { return map[string]any{"matchLabels": labels} }

// The API's semantics, one case each: what isolates a pod, and what a rule's peers and ports
// admit.
func TestConnectionsFollowTheNetworkPolicyAPI(t *testing.T) {
	web := Endpoint{Namespace: "a", Labels: map[string]string{"app": "web"}, IP: "10.0.1.5"}
	db := Endpoint{Namespace: "a", Labels: map[string]string{"app": "db"}, IP: "10.0.1.6"}
	prom := Endpoint{Namespace: "mon", Labels: map[string]string{"app": "prometheus"}, IP: "10.0.2.7"}
	internet := Endpoint{IP: "52.1.2.3"}
	denyAll := policy("a", map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}})
	webToDB := policy("a", map[string]any{
		"podSelector": pods(map[string]any{"app": "web"}), "policyTypes": []any{"Egress"},
		"egress": []any{map[string]any{"to": []any{map[string]any{"podSelector": pods(map[string]any{"app": "db"})}}, "ports": []any{map[string]any{"protocol": "TCP", "port": 5432.0}}}},
	})
	dbFromWeb := policy("a", map[string]any{
		"podSelector": pods(map[string]any{"app": "db"}), "policyTypes": []any{"Ingress"},
		"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": pods(map[string]any{"app": "web"})}}, "ports": []any{map[string]any{"protocol": "TCP", "port": 5432.0}}}},
	})
	scrape := policy("a", map[string]any{
		"podSelector": map[string]any{},
		"ingress": []any{map[string]any{
			"from":  []any{map[string]any{"namespaceSelector": pods(map[string]any{"kubernetes.io/metadata.name": "mon"})}},
			"ports": []any{map[string]any{"protocol": "TCP", "port": 9090.0}},
		}},
	})
	out := policy("a", map[string]any{
		"podSelector": pods(map[string]any{"app": "web"}), "policyTypes": []any{"Egress"},
		"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0", "except": []any{"10.0.0.0/16"}}}}, "ports": []any{map[string]any{"protocol": "TCP", "port": 443.0}}}},
	})
	for _, tc := range []struct {
		name     string
		policies Policies
		from, to Endpoint
		port     int
		want     bool
	}{
		{"no policy: open", nil, web, db, 5432, true},
		{"default deny", Policies{denyAll}, web, db, 5432, false},
		{"egress without the receiver's ingress", Policies{denyAll, webToDB}, web, db, 5432, false},
		{"both sides", Policies{denyAll, webToDB, dbFromWeb}, web, db, 5432, true},
		{"another port", Policies{denyAll, webToDB, dbFromWeb}, web, db, 5433, false},
		{"the other way", Policies{denyAll, webToDB, dbFromWeb}, db, web, 5432, false},
		{"a namespace peer, no policy on the sender's side", Policies{denyAll, scrape}, prom, web, 9090, true},
		{"an ingress-only policy leaves egress open", Policies{scrape}, web, internet, 443, true},
		{"a range with an exception: outside", Policies{denyAll, out}, web, internet, 443, true},
		{"a range with an exception: inside", Policies{denyAll, out}, web, db, 443, false},
	} {
		if got := tc.policies.Allowed(tc.from, tc.to, "TCP", tc.port); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	if !(Policies{scrape}).Isolated(web, "Ingress") || (Policies{scrape}).Isolated(web, "Egress") {
		t.Error("a policy without policyTypes isolates ingress only")
	}
}
