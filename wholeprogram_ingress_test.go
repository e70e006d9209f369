package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Ingress on every stack, both modes: the controller and ExternalDNS releases with their
// scoped IRSA roles, the regional web ACL, the logs bucket's ELB grant, the ConfigMap keys
// Ingresses need, the application namespace's network policies, and vpc-cni enforcing them.
func TestIngressPerStack(t *testing.T) {
	want := map[string]struct {
		replicas  float64
		dnsPolicy string
		domain    string
		block     bool
	}{
		"dev":     {1, "sync", "dev.cinegit.io", false},
		"staging": {2, "sync", "staging.cinegit.io", true},
		"prod":    {2, "upsert-only", "app.cinegit.io", true},
	}
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := want[r.Stack]
		ctl := r.Named(k8sRelease, "ingress-controller")
		dns := r.Named(k8sRelease, "ingress-external-dns")
		if ctl == nil || dns == nil {
			t.Fatal("controller and ExternalDNS releases expected")
		}
		if ctl.InputString("version") != "3.5.0" || dns.InputString("version") != "1.21.1" {
			t.Errorf("versions %q %q", ctl.InputString("version"), dns.InputString("version"))
		}
		if got := ctl.Input("values.replicaCount"); got != w.replicas {
			t.Errorf("controller replicas %v, want %v", got, w.replicas)
		}
		if got := ctl.Input("values.ingressClassParams.spec.group.name"); got != "cinegit-"+r.Stack {
			t.Errorf("group %v", got)
		}
		if got := dns.Input("values.policy"); got != w.dnsPolicy {
			t.Errorf("ExternalDNS policy %v, want %v", got, w.dnsPolicy)
		}
		if got := dns.Input("values.domainFilters"); !reflect.DeepEqual(got, []any{w.domain}) {
			t.Errorf("domain filters %v", got)
		}
		// The controller's ALBs log to the logs bucket, which waits for its grant to ELB.
		if !r.DependsOn(ctl, r.Named("aws:s3/bucketPolicy:BucketPolicy", "mediastore-logs")) {
			t.Error("the controller does not wait for the logs bucket's policy")
		}
		acl := r.Named("aws:wafv2/webAcl:WebAcl", "ingress")
		if acl == nil || acl.InputString("scope") != "REGIONAL" {
			t.Fatal("regional web ACL expected")
		}
		rules, _ := acl.Input("rules").([]any)
		if len(rules) == 0 {
			t.Fatal("web ACL without rules")
		}
		if _, blocks := rules[len(rules)-1].(map[string]any)["action"].(map[string]any)["block"]; blocks != w.block {
			t.Errorf("rate rule blocks %v, want %v", blocks, w.block)
		}
		// vpc-cni enforces NetworkPolicy.
		cni := r.Named("aws:eks/addon:Addon", "cluster-vpc-cni")
		var cfg map[string]string
		if err := json.Unmarshal([]byte(cni.InputString("configurationValues")), &cfg); err != nil || cfg["enableNetworkPolicy"] != "true" {
			t.Errorf("vpc-cni configuration %q", cni.InputString("configurationValues"))
		}
		// Default deny with explicit allows in the application namespace and in the controllers'
		// own (wholeprogram_netpol_test.go judges every namespace's flows).
		pols := map[string]string{}
		for _, p := range r.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
			pols[p.Name] = p.InputString("metadata.namespace")
		}
		want := map[string]string{
			"ingress-default-deny": "cinegit", "ingress-allow-dns": "cinegit", "ingress-allow-data-stores": "cinegit", "ingress-allow-https": "cinegit",
			"ingress-allow-load-balancer": "cinegit", "ingress-allow-same-namespace": "cinegit", "ingress-allow-prometheus": "cinegit",
			"ingress-controllers-default-deny": "ingress", "ingress-controllers-allow-dns": "ingress",
			"ingress-controllers-aws-load-balancer-controller": "ingress", "ingress-controllers-external-dns": "ingress",
		}
		if interfaceEndpoints(r) {
			want["ingress-allow-aws-endpoints"] = "cinegit"
		}
		for name, ns := range want {
			if got, ok := pols[name]; !ok || (!r.Preview && got != ns) {
				t.Errorf("NetworkPolicy %s in %q, want it in %q", name, got, ns)
			}
		}
		for name := range pols {
			if _, ok := want[name]; !ok && strings.HasPrefix(name, "ingress-") {
				t.Errorf("NetworkPolicy %s is not one of the ingress component's", name)
			}
		}
		if r.Preview {
			return
		}
		for role, sa := range map[string]string{"ingress-controller": "aws-load-balancer-controller", "ingress-external-dns": "external-dns"} {
			trust := r.Named("aws:iam/role:Role", role).InputString("assumeRolePolicy")
			if !strings.Contains(trust, `"system:serviceaccount:ingress:`+sa+`"`) {
				t.Errorf("%s trust %s", role, trust)
			}
		}
		ctlPolicy := r.Named("aws:iam/rolePolicy:RolePolicy", "ingress-controller").InputString("policy")
		if !strings.Contains(ctlPolicy, `"aws:ResourceTag/elbv2.k8s.aws/cluster":["cinegit-`+r.Stack+`-eks"]`) {
			t.Errorf("controller policy not limited to the cluster: %s", ctlPolicy)
		}
		dnsPolicy := r.Named("aws:iam/rolePolicy:RolePolicy", "ingress-external-dns").InputString("policy")
		var doc struct {
			Statement []struct {
				Sid      string
				Action   []string
				Resource []string
			}
		}
		if err := json.Unmarshal([]byte(dnsPolicy), &doc); err != nil {
			t.Fatal(err)
		}
		zoneID := r.Named("aws:route53/zone:Zone", "dns")
		for _, st := range doc.Statement {
			if st.Sid == "ChangeRecords" && (len(st.Resource) != 1 || !strings.HasPrefix(st.Resource[0], "arn:aws:route53:::hostedzone/") || st.Resource[0] == "arn:aws:route53:::hostedzone/*") {
				t.Errorf("ExternalDNS changes %v (zone %v)", st.Resource, zoneID != nil)
			}
		}
		logsPolicy := r.Named("aws:s3/bucketPolicy:BucketPolicy", "mediastore-logs").InputString("policy")
		if !strings.Contains(logsPolicy, "arn:aws:iam::127311923021:root") || !strings.Contains(logsPolicy, "/alb/AWSLogs/"+harness.AccountID+"/*") {
			t.Errorf("logs bucket policy lacks the ELB grant: %s", logsPolicy)
		}
		data, _ := r.Named(k8sConfigMap, "gitops-outputs").Input("data").(map[string]any)
		for k, v := range map[string]string{"ingressClass": "alb", "albGroupName": "cinegit-" + r.Stack} {
			if data[k] != v {
				t.Errorf("ConfigMap %s = %v, want %v", k, data[k], v)
			}
		}
		if s, _ := data["albWafAclArn"].(string); !strings.HasPrefix(s, "arn:aws:wafv2:us-east-1:") {
			t.Errorf("ConfigMap albWafAclArn = %q", s)
		}
		if _, ok := data["certificateArn"]; !ok {
			t.Error("ConfigMap lacks certificateArn")
		}
	})
}

// interfaceEndpoints says whether the stack has interface VPC endpoints.
func interfaceEndpoints(r *harness.Result) bool {
	for _, e := range r.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
		if e.InputString("vpcEndpointType") == "Interface" {
			return true
		}
	}
	return false
}
