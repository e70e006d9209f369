package wiring

import (
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/config/configtest"
)

func TestValidDNSConfigurations(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]string
		// what the program then issues
		regional bool
		edge     []string
	}{
		{"no domain: no zone", configtest.Base(), false, nil},
		{"zone with its regional certificate", configtest.With("cinegit:dns", `{"domain":"dev.cinegit.io","delegationSetId":"N1"}`), true, nil},
		{"brought regional certificate", configtest.With("cinegit:dns", `{"domain":"dev.cinegit.io","delegationSetId":"N1","certificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}`), false, nil},
		{"CDN name in the zone", configtest.With("cinegit:dns", `{"domain":"dev.cinegit.io","delegationSetId":"N1","dnssec":true,"keySigningKeyArn":"arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"}`, "cinegit:cdn", `{"customDomain":"media.dev.cinegit.io"}`), true, []string{"media.dev.cinegit.io"}},
		{"CDN name elsewhere with its certificate", configtest.With("cinegit:dns", `{"domain":"dev.cinegit.io","delegationSetId":"N1"}`, "cinegit:cdn", `{"customDomain":"media.cinegit.io","certificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}`), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("dev", tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			w := Config{Config: c}
			a := w.DNSArgs(envForArgs(w), nil)
			if a.RegionalCertificate != tt.regional || strings.Join(a.EdgeCertificateNames, ",") != strings.Join(tt.edge, ",") {
				t.Errorf("regional %v edge %v, want %v %v", a.RegionalCertificate, a.EdgeCertificateNames, tt.regional, tt.edge)
			}
		})
	}
}

// The ingress section's defaults reach the ingress and the media store (whose logs bucket
// admits the load balancers' access logs under the same prefix).
func TestIngressArgsFollowTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack string
		raw   map[string]string
	}{
		{"dev", configtest.Base()},
		{"prod", configtest.ProdWith()},
	} {
		c, err := config.Parse(tc.stack, tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		w, s := Config{Config: c}, newStandIns()
		a := w.IngressArgs(envForArgs(w), s.eks, s.net, nil, s.media, s.store)
		if a.Domain != "" || a.LogsPrefix != "alb" || a.NetworkPolicy == nil || len(a.NetworkPolicy.LoadBalancerCIDRs) == 0 ||
			len(a.NetworkPolicy.DataStoreCIDRs) != 2*len(a.NetworkPolicy.LoadBalancerCIDRs) {
			t.Errorf("%s: args %+v", tc.stack, a)
		}
		if m := w.MediaStoreArgs(envForArgs(w), nil); m.LoadBalancerLogsPrefix != "alb" {
			t.Errorf("%s: the logs bucket does not admit the ALB logs prefix (%q)", tc.stack, m.LoadBalancerLogsPrefix)
		}
	}
}

// TestServiceNamespacesMayUseTheStore: a service outside the application namespace gets its
// Secrets from the same ClusterSecretStore, which serves only the namespaces it lists.
func TestServiceNamespacesMayUseTheStore(t *testing.T) {
	c, err := config.Parse("dev", configtest.With("cinegit:services", `[{"name":"media","namespace":"uploads","permissions":[{"action":"presignUpload"},{"action":"readSecret","secret":"redis"}]}]`,
		"cinegit:gitops", `{"destinationNamespaces":["uploads"]}`))
	if err != nil {
		t.Fatal(err)
	}
	w := Config{Config: c}
	got := w.SecretsArgs(envForArgs(w), newStandIns().eks, nil).ConsumerNamespaces
	if !slices.Contains(got, "uploads") {
		t.Errorf("store consumers %v lack the service's namespace", got)
	}
}
