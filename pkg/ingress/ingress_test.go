package ingress

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region   = "eu-west-1"
	issuer   = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	oidcArn  = "arn:aws:iam::123456789012:oidc-provider/" + issuer
	cluster  = "cinegit-dev-eks"
	zoneID   = "Z0123456789ABCDEFGHIJ"
	certArn  = "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"
	tRole    = "aws:iam/role:Role"
	tPolicy  = "aws:iam/rolePolicy:RolePolicy"
	tRelease = "kubernetes:helm.sh/v3:Release"
	tACL     = "aws:wafv2/webAcl:WebAcl"
	tACLLog  = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	tLogs    = "aws:cloudwatch/logGroup:LogGroup"
	tNetPol  = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
)

func testArgs() Args {
	return Args{
		Env: stackenv.Env{
			Naming: naming.New("cinegit", "dev"), Tags: tags.Set(tags.Base("cinegit", "dev", nil)),
			AccountID: harness.AccountID, Partition: harness.Partition, Region: region,
		},
		OidcProviderArn:         pulumi.String(oidcArn),
		OidcIssuer:              pulumi.String(issuer),
		ClusterName:             pulumi.String(cluster),
		VpcID:                   pulumi.String("vpc-0123456789abcdef0"),
		Namespace:               "ingress",
		IngressClass:            "alb",
		GroupName:               "cinegit-dev",
		ControllerChartVersion:  "3.5.0",
		ControllerReplicas:      2,
		ControllerResources:     kube.NewResources("50m", "128Mi", "500m", "512Mi"),
		CertificateArn:          pulumi.String(certArn),
		LogsBucket:              pulumi.String("cinegit-dev-logs"),
		LogsPrefix:              "alb",
		WAF:                     WAFArgs{Block: true, RateLimit: 2000, RateLimitWindowSeconds: 300, LogRetentionDays: 30},
		Domain:                  "dev.cinegit.io",
		ZoneID:                  pulumi.String(zoneID),
		ExternalDNSChartVersion: "1.21.1",
		ExternalDNSResources:    kube.NewResources("10m", "64Mi", "200m", "128Mi"),
		ExternalDNSPolicy:       "sync",
		NetworkPolicy: &NetworkPolicyArgs{
			Namespace:           pulumi.String("cinegit"),
			DataStoreCIDRs:      []string{"10.0.96.0/24", "10.0.32.0/20"},
			LoadBalancerCIDRs:   []string{"10.0.0.0/24", "10.0.1.0/24"},
			ServicePorts:        []int{8080},
			PrometheusNamespace: "monitoring",
			MetricsPorts:        []int{9090},
		},
		Network: kube.ClusterNetwork{
			VpcCIDR:           "10.0.0.0/16",
			ServiceCIDR:       pulumi.String("172.20.0.0/16"),
			ControlPlaneCIDRs: []string{"10.0.32.0/20", "10.0.48.0/20"},
			NodeCIDRs:         []string{"10.0.32.0/20", "10.0.48.0/20"},
		},
	}
}

// component runs New under mocks with testArgs wired to the test's providers.
var component = harness.ComponentTest[Args]{
	Region: region,
	Args: func(p harness.Providers) Args {
		args := testArgs()
		args.KubernetesProvider = p.Kubernetes
		return args
	},
	New: func(ctx *pulumi.Context, p harness.Providers, args Args) error {
		_, err := New(ctx, "ingress", args, pulumi.Provider(p.AWS))
		return err
	},
}

func policyOf(t *testing.T, res *harness.Resource) map[string]harness.Statement {
	t.Helper()
	out, err := res.PolicyBySid("policy")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func values(t *testing.T, r *harness.Result, name string) map[string]any {
	t.Helper()
	rel := r.Named(tRelease, name)
	if rel == nil {
		t.Fatalf("release %s missing", name)
	}
	v, _ := rel.Input("values").(map[string]any)
	return v
}

// The controller is pinned, given what IMDS cannot tell it, runs with its IRSA role, and its
// IngressClassParams force TLS 1.2+, the HTTPS redirect, access logs and the stack's group on
// every Ingress of the class.
func TestControllerValues(t *testing.T) {
	r := component.MustRun(t, false, nil)
	rel := r.Named(tRelease, "ingress-controller")
	if rel.InputString("chart") != ControllerChart || rel.InputString("version") != "3.5.0" || rel.InputString("repositoryOpts.repo") != ControllerChartRepo {
		t.Errorf("chart %q %q %q", rel.InputString("chart"), rel.InputString("version"), rel.InputString("repositoryOpts.repo"))
	}
	v := values(t, r, "ingress-controller")
	role := r.Named(tRole, "ingress-controller")
	spec := harness.Lookup(v, "ingressClassParams", "spec")
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"clusterName", v["clusterName"], cluster},
		{"region", v["region"], region},
		{"vpcId", v["vpcId"], "vpc-0123456789abcdef0"},
		{"replicaCount", v["replicaCount"], 2.0},
		{"role", harness.Lookup(v, "serviceAccount", "annotations", "eks.amazonaws.com/role-arn"), "arn:aws:iam::123456789012:role/" + role.InputString("name")},
		{"service account", harness.Lookup(v, "serviceAccount", "name"), ControllerSA},
		{"class", v["ingressClass"], "alb"},
		{"class resource", v["createIngressClassResource"], true},
		{"params name", harness.Lookup(v, "ingressClassParams", "name"), "alb"},
		{"sslPolicy", harness.Lookup(spec, "sslPolicy"), "ELBSecurityPolicy-TLS13-1-2-2021-06"},
		{"redirect", harness.Lookup(spec, "sslRedirectPort"), "443"},
		{"group", harness.Lookup(spec, "group", "name"), "cinegit-dev"},
		{"scheme", harness.Lookup(spec, "scheme"), "internet-facing"},
		// The platform attaches the web ACL to every load balancer of the class.
		{"web ACL", harness.Lookup(spec, "wafv2AclArn"), "arn:aws:wafv2:" + region + ":123456789012:webAcl/cinegit-dev-alb"},
		{"certificate", harness.Lookup(spec, "certificateArn"), []any{certArn}},
		{"WAF classic off", v["enableWaf"], false},
		{"shield off", v["enableShield"], false},
		{"wafv2 on", v["enableWafv2"], true},
		{"service webhook off", v["enableServiceMutatorWebhook"], false},
		{"cpu request", harness.Lookup(v, "resources", "requests", "cpu"), "50m"},
		{"memory limit", harness.Lookup(v, "resources", "limits", "memory"), "512Mi"},
		{"PDB", harness.Lookup(v, "podDisruptionBudget", "maxUnavailable"), 1.0},
		{"seccomp", harness.Lookup(v, "podSecurityContext", "seccompProfile", "type"), "RuntimeDefault"},
		{"capabilities", harness.Lookup(v, "securityContext", "capabilities", "drop"), []any{"ALL"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	attrs := map[string]any{}
	list, _ := harness.Lookup(spec, "loadBalancerAttributes").([]any)
	for _, a := range list {
		attrs[harness.Lookup(a, "key").(string)] = harness.Lookup(a, "value")
	}
	want := map[string]any{"access_logs.s3.enabled": "true", "access_logs.s3.bucket": "cinegit-dev-logs", "access_logs.s3.prefix": "alb",
		"routing.http.drop_invalid_header_fields.enabled": "true"}
	if !reflect.DeepEqual(attrs, want) {
		t.Errorf("load balancer attributes %v, want %v", attrs, want)
	}
}

// Before the certificate is issued the class names none (the controller then discovers it from
// the Ingresses' TLS hosts); a single replica gets no disruption budget (the chart's rule).
func TestControllerWithoutCertificate(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) { a.CertificateArn = pulumi.String(""); a.ControllerReplicas = 1 })
	v := values(t, r, "ingress-controller")
	if got := harness.Lookup(v, "ingressClassParams", "spec", "certificateArn"); got != nil {
		t.Errorf("certificateArn %v, want none", got)
	}
	if got := v["podDisruptionBudget"]; got != nil {
		t.Errorf("podDisruptionBudget %v with one replica", got)
	}
}

// Each role trusts exactly its service account.
func TestRolesTrustOnlyTheirServiceAccounts(t *testing.T) {
	r := component.MustRun(t, false, nil)
	for role, sa := range map[string]string{"ingress-controller": ControllerSA, "ingress-external-dns": ExternalDNSSA} {
		var trust struct {
			Statement []struct {
				Condition map[string]map[string]string
			}
		}
		res := r.Named(tRole, role)
		if res == nil {
			t.Fatalf("role %s missing", role)
		}
		if err := json.Unmarshal([]byte(res.InputString("assumeRolePolicy")), &trust); err != nil {
			t.Fatal(err)
		}
		eq := trust.Statement[0].Condition["StringEquals"]
		if eq[issuer+":sub"] != "system:serviceaccount:ingress:"+sa || eq[issuer+":aud"] != "sts.amazonaws.com" {
			t.Errorf("%s trusts %v", role, eq)
		}
	}
}

// The controller's policy: every tag-conditioned statement names this cluster (not "any
// cluster"), WAF association is limited to the stack's web ACL, and WAF Classic and Shield are
// not granted.
func TestControllerPolicyIsScopedToTheCluster(t *testing.T) {
	r := component.MustRun(t, false, nil)
	p := policyOf(t, r.Named(tPolicy, "ingress-controller"))
	for _, sid := range []string{"TagNewSecurityGroup", "TagOwnSecurityGroups", "DeleteOwnSecurityGroups", "CreateLoadBalancers", "TagOwnLoadBalancers", "TagOnCreate", "ModifyOwnLoadBalancers", "Targets"} {
		st, ok := p[sid]
		if !ok {
			t.Errorf("statement %s missing", sid)
			continue
		}
		found := false
		for _, vals := range st.Condition["StringEquals"] {
			if reflect.DeepEqual(vals, []string{cluster}) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is not limited to cluster %s: %v", sid, cluster, st.Condition)
		}
	}
	if got := p["SecurityGroupRules"].Condition["ArnEquals"]["ec2:Vpc"]; len(got) != 1 || !strings.HasSuffix(got[0], ":vpc/vpc-0123456789abcdef0") {
		t.Errorf("security group rules are not limited to the cluster's VPC: %v", p["SecurityGroupRules"].Condition)
	}
	acl := r.Named(tACL, "ingress")
	if got := p["WebACL"].Resource; len(got) != 2 || got[0] != acl.InputString("arn") && !strings.HasPrefix(got[0], "arn:aws:wafv2:") {
		t.Errorf("WebACL statement resources %v", got)
	}
	for sid, st := range p {
		for _, a := range st.Action {
			if strings.HasPrefix(a, "waf-regional:") || strings.HasPrefix(a, "shield:") || a == "*" {
				t.Errorf("%s grants %s", sid, a)
			}
		}
	}
}

// ExternalDNS changes records in the stack's zone only, owns them by TXT records under the
// cluster's name, and watches only the domain.
func TestExternalDNSIsLimitedToTheZone(t *testing.T) {
	r := component.MustRun(t, false, nil)
	p := policyOf(t, r.Named(tPolicy, "ingress-external-dns"))
	zone := "arn:aws:route53:::hostedzone/" + zoneID
	if got := p["ChangeRecords"]; !reflect.DeepEqual(got.Action, []string{"route53:ChangeResourceRecordSets"}) || !reflect.DeepEqual(got.Resource, []string{zone}) {
		t.Errorf("ChangeRecords %+v", got)
	}
	if got := p["ReadZone"].Resource; !reflect.DeepEqual(got, []string{zone}) {
		t.Errorf("ReadZone %v", got)
	}
	for sid, st := range p {
		for _, res := range st.Resource {
			if res == "*" && sid != "ListZones" {
				t.Errorf("%s on *", sid)
			}
		}
	}
	v := values(t, r, "ingress-external-dns")
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"provider", harness.Lookup(v, "provider", "name"), "aws"},
		{"registry", v["registry"], "txt"},
		{"owner", v["txtOwnerId"], cluster},
		{"policy", v["policy"], "sync"},
		{"domains", v["domainFilters"], []any{"dev.cinegit.io"}},
		{"sources", v["sources"], []any{"service", "ingress"}},
		{"zone", v["extraArgs"], []any{"--aws-zone-type=public", "--zone-id-filter=" + zoneID}},
		{"role", harness.Lookup(v, "serviceAccount", "annotations", "eks.amazonaws.com/role-arn"), "arn:aws:iam::123456789012:role/" + r.Named(tRole, "ingress-external-dns").InputString("name")},
		{"requests", harness.Lookup(v, "resources", "requests", "memory"), "64Mi"},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// Without a zone there is nothing for ExternalDNS to manage: neither it nor its role exist.
func TestNoExternalDNSWithoutAZone(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) { a.Domain, a.ZoneID = "", nil })
	if r.Named(tRelease, "ingress-external-dns") != nil || r.Named(tRole, "ingress-external-dns") != nil {
		t.Error("ExternalDNS without a zone")
	}
	if r.Named(tRelease, "ingress-controller") == nil {
		t.Error("the controller is always installed")
	}
}

// The regional web ACL runs the managed groups and a rate limit, blocking (or counting), and
// logs to an aws-waf-logs- group after the delivery grant exists.
func TestRegionalWebACL(t *testing.T) {
	for _, block := range []bool{true, false} {
		r := component.MustRun(t, false, func(a *Args) { a.WAF.Block = block })
		acl := r.Named(tACL, "ingress")
		if acl.InputString("scope") != "REGIONAL" {
			t.Errorf("scope %q", acl.InputString("scope"))
		}
		rules, _ := acl.Input("rules").([]any)
		if len(rules) != 4 {
			t.Fatalf("%d rules", len(rules))
		}
		_, blocks := harness.Lookup(rules[3], "action", "block").(map[string]any)
		_, counts := harness.Lookup(rules[0], "overrideAction", "count").(map[string]any)
		if blocks != block || counts == block {
			t.Errorf("block=%v: rate rule blocks %v, managed groups count %v", block, blocks, counts)
		}
		logCfg := r.Named(tACLLog, "ingress")
		group := r.Named(tLogs, "ingress-waf-logs")
		if !strings.HasPrefix(group.InputString("name"), "aws-waf-logs-") || group.InputString("kmsKeyId") == "" {
			t.Errorf("log group %q key %q", group.InputString("name"), group.InputString("kmsKeyId"))
		}
		if !r.DependsOn(logCfg, r.Named("aws:cloudwatch/logResourcePolicy:LogResourcePolicy", "ingress-waf-log-delivery")) {
			t.Error("logging configuration does not wait for the delivery grant")
		}
	}
}

// The application namespace denies everything, then allows DNS, the data stores, HTTPS out of
// the VPC, the load balancer's subnets in on the service ports, the services to one another on
// the service ports, and Prometheus's namespace on the metrics ports.
func TestNetworkPolicies(t *testing.T) {
	r := component.MustRun(t, false, nil)
	pols := map[string]*harness.Resource{}
	for _, p := range r.ByType(tNetPol) {
		if !strings.HasPrefix(p.Name, "ingress-") || strings.HasPrefix(p.Name, "ingress-controllers-") {
			continue
		}
		pols[p.InputString("metadata.name")] = p
		if p.InputString("metadata.namespace") != "cinegit" {
			t.Errorf("%s in %q", p.Name, p.InputString("metadata.namespace"))
		}
		if sel := p.Input("spec.podSelector"); !reflect.DeepEqual(sel, map[string]any{}) {
			t.Errorf("%s selects %v, want every pod", p.Name, sel)
		}
	}
	deny := pols["default-deny"]
	if deny == nil || !reflect.DeepEqual(deny.Input("spec.policyTypes"), []any{"Ingress", "Egress"}) || deny.Input("spec.ingress") != nil || deny.Input("spec.egress") != nil {
		t.Fatalf("default-deny %v", deny)
	}
	port := func(proto string, n float64) map[string]any { return map[string]any{"protocol": proto, "port": n} }
	block := func(c string) map[string]any { return map[string]any{"ipBlock": map[string]any{"cidr": c}} }
	for _, tc := range []struct {
		name, direction string
		peers, ports    []any
	}{
		{"allow-dns", "egress", []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
			"podSelector":       map[string]any{"matchLabels": map[string]any{"k8s-app": "kube-dns"}},
		}}, []any{port("UDP", 53), port("TCP", 53)}},
		{"allow-data-stores", "egress", []any{block("10.0.96.0/24"), block("10.0.32.0/20")}, []any{port("TCP", 5432), port("TCP", 6379)}},
		{"allow-https", "egress", []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0", "except": []any{"10.0.0.0/16", "172.20.0.0/16"}}}}, []any{port("TCP", 443)}},
		{"allow-load-balancer", "ingress", []any{block("10.0.0.0/24"), block("10.0.1.0/24")}, []any{port("TCP", 8080)}},
		{"allow-prometheus", "ingress", []any{map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}},
		}}, []any{port("TCP", 9090)}},
	} {
		p := pols[tc.name]
		if p == nil {
			t.Errorf("%s missing", tc.name)
			continue
		}
		peerKey := map[string]string{"egress": "to", "ingress": "from"}[tc.direction]
		rules, _ := p.Input("spec." + tc.direction).([]any)
		if len(rules) != 1 {
			t.Errorf("%s: %d %s rules", tc.name, len(rules), tc.direction)
			continue
		}
		if got := harness.Lookup(rules[0], peerKey); !reflect.DeepEqual(got, tc.peers) {
			t.Errorf("%s peers %v, want %v", tc.name, got, tc.peers)
		}
		if got := harness.Lookup(rules[0], "ports"); !reflect.DeepEqual(got, tc.ports) {
			t.Errorf("%s ports %v, want %v", tc.name, got, tc.ports)
		}
	}
	same := pols["allow-same-namespace"]
	if same == nil {
		t.Fatal("allow-same-namespace missing")
	}
	for _, dir := range []string{"ingress", "egress"} {
		rules, _ := same.Input("spec." + dir).([]any)
		peers := harness.Lookup(rules[0], map[string]string{"ingress": "from", "egress": "to"}[dir])
		if len(rules) != 1 || !reflect.DeepEqual(peers, []any{map[string]any{"podSelector": map[string]any{}}}) || !reflect.DeepEqual(harness.Lookup(rules[0], "ports"), []any{port("TCP", 8080)}) {
			t.Errorf("allow-same-namespace %s: %v", dir, rules)
		}
	}
	if len(pols) != 7 {
		t.Errorf("%d policies", len(pols))
	}
}

// The controllers' namespace: the load balancer controller answers the API server's webhook
// calls and calls the Kubernetes API and AWS; ExternalDNS calls the Kubernetes API and AWS;
// nothing else goes in or out. The application namespace reaches the interface endpoints only
// where the VPC has them.
func TestNetworkPoliciesOfTheControllersNamespace(t *testing.T) {
	controller := netpolcheck.Endpoint{Namespace: "ingress", Labels: controllerPods, IP: "10.0.33.4"}
	dns := netpolcheck.Endpoint{Namespace: "ingress", Labels: externalDNSPods, IP: "10.0.33.5"}
	app := netpolcheck.Endpoint{Namespace: "cinegit", Labels: map[string]string{"app.kubernetes.io/name": "review"}, IP: "10.0.34.9"}
	ip := func(a string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: a} }
	for _, tc := range []struct {
		name     string
		mutate   func(*Args)
		from, to netpolcheck.Endpoint
		port     int
		want     bool
	}{
		{"controller to the Kubernetes API", nil, controller, ip("172.20.0.1"), 443, true},
		{"controller to the private API endpoint", nil, controller, ip("10.0.48.17"), 443, true},
		{"controller to ELB and WAF", nil, controller, ip("52.119.160.5"), 443, true},
		{"controller into the VPC", nil, controller, ip("10.0.200.1"), 443, false},
		{"controller to another Service", nil, controller, ip("172.20.33.3"), 443, false},
		{"controller to an application", nil, controller, app, 8080, false},
		{"API server to the webhook", nil, ip("10.0.40.5"), controller, ControllerWebhookPort, true},
		{"API server to the metrics port", nil, ip("10.0.40.5"), controller, 8080, false},
		{"an application to the webhook", nil, app, controller, ControllerWebhookPort, false},
		{"ExternalDNS to Route 53", nil, dns, ip("54.239.1.1"), 443, true},
		{"anything to ExternalDNS", nil, ip("10.0.40.5"), dns, 7979, false},
		{"no ExternalDNS without a zone", func(a *Args) { a.Domain = "" }, dns, ip("54.239.1.1"), 443, false},
		{"applications to the endpoints where there are none", nil, app, ip("10.0.40.8"), 443, false},
		{"applications to the endpoints", func(a *Args) { a.Network.EndpointCIDRs = a.Network.NodeCIDRs }, app, ip("10.0.40.8"), 443, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := netpolcheck.Registered(component.MustRun(t, false, tc.mutate))
			if got := ps.Allowed(tc.from, tc.to, "TCP", tc.port); got != tc.want {
				t.Errorf("%v -> %v:%d allowed %v, want %v", tc.from, tc.to, tc.port, got, tc.want)
			}
			for _, e := range []netpolcheck.Endpoint{tc.from, tc.to} {
				if e.IsPod() && (!ps.Isolated(e, "Ingress") || !ps.Isolated(e, "Egress")) {
					t.Errorf("%v is not isolated both ways", e)
				}
			}
		})
	}
}

func TestArgsAreChecked(t *testing.T) {
	for name, mutate := range map[string]func(*Args){
		"range chart version":  func(a *Args) { a.ControllerChartVersion = "3.x" },
		"no replicas":          func(a *Args) { a.ControllerReplicas = 0 },
		"no logs bucket":       func(a *Args) { a.LogsBucket = nil },
		"no logs prefix":       func(a *Args) { a.LogsPrefix = "" },
		"zone without id":      func(a *Args) { a.ZoneID = nil },
		"bad ExternalDNS mode": func(a *Args) { a.ExternalDNSPolicy = "create-and-delete" },
		"bad group":            func(a *Args) { a.GroupName = "Group_1" },
		"bad rate limit":       func(a *Args) { a.WAF.RateLimit = 5 },
		"bad window":           func(a *Args) { a.WAF.RateLimitWindowSeconds = 30 },
		"no vpc":               func(a *Args) { a.VpcID = nil },
		"policy without ports": func(a *Args) { a.NetworkPolicy.ServicePorts = nil },
		"no VPC range":         func(a *Args) { a.Network.VpcCIDR = "" },
	} {
		if _, err := component.Run(false, mutate); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEverythingIsParented(t *testing.T) {
	r := component.MustRun(t, true, nil)
	comp := r.Component("cinegit:ingress:Ingress")
	if comp == nil {
		t.Fatal("component missing")
	}
	all := 0
	for _, res := range r.Resources {
		if !strings.HasPrefix(res.Type, "pulumi:providers:") && res.URN != comp.URN {
			all++
		}
	}
	if got := len(r.Descendants(comp.URN)); got != all {
		t.Errorf("%d of %d resources under the component", got, all)
	}
}

// Protect reaches the WAF logs key (prod's policy requires protected keys).
func TestProtectReachesTheKey(t *testing.T) {
	for _, protect := range []bool{false, true} {
		r := component.MustRun(t, false, func(a *Args) { a.Protect = protect })
		key := r.Named("aws:kms/key:Key", "ingress-waf-logs")
		if key == nil {
			t.Fatal("key missing")
		}
		if got := key.Protect; got != protect {
			t.Errorf("protect %v: key protect %v", protect, got)
		}
	}
}
