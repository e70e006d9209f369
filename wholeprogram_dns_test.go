package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	r53Zone     = "aws:route53/zone:Zone"
	r53Record   = "aws:route53/record:Record"
	acmCert     = "aws:acm/certificate:Certificate"
	acmValidate = "aws:acm/certificateValidation:CertificateValidation"
)

// stackDomains is each stack file's dns.domain.
var stackDomains = map[string]string{"dev": "dev.cinegit.io", "staging": "staging.cinegit.io", "prod": "app.cinegit.io"}

// TestDomainsCertificatesAndTheCDNName checks, per stack, the zone for the stack's domain, the
// certificates validated through it (regional for load balancers, us-east-1 for CloudFront),
// the CDN serving media.<domain> on the issued certificate with TLSv1.2_2021, its alias records,
// and the outputs a delegation and the services' Ingresses need.
func TestDomainsCertificatesAndTheCDNName(t *testing.T) {
	forEachDelegatedRun(t, func(t *testing.T, r *harness.Result) {
		domain := stackDomains[r.Stack]
		zones := r.ByType(r53Zone)
		if len(zones) != 1 || zones[0].InputString("name") != domain {
			t.Fatalf("want one zone %s, got %d", domain, len(zones))
		}
		zone := zones[0]
		if zone.Protect != (r.Stack == "prod") {
			t.Errorf("zone protect = %v in %s", zone.Protect, r.Stack)
		}
		certs := map[string]*harness.Resource{}
		for _, c := range r.ByType(acmCert) {
			certs[c.InputString("domainName")] = c
		}
		regional, edge := certs[domain], certs["media."+domain]
		if regional == nil || edge == nil {
			t.Fatalf("certificates %v: want %s (regional) and media.%s (us-east-1)", certs, domain, domain)
		}
		if fmt.Sprint(regional.Input("subjectAlternativeNames")) != "[*."+domain+"]" {
			t.Errorf("regional certificate names %v, want *.%s too", regional.Input("subjectAlternativeNames"), domain)
		}
		if !strings.Contains(edge.Provider, "aws-us-east-1") || strings.Contains(regional.Provider, "aws-us-east-1") {
			t.Errorf("providers: edge %s, regional %s (CloudFront's certificate must be in us-east-1)", edge.Provider, regional.Provider)
		}
		dist := one(t, r, cfDistribution)
		if fmt.Sprint(dist.Input("aliases")) != "[media."+domain+"]" ||
			dist.InputString("viewerCertificate.minimumProtocolVersion") != "TLSv1.2_2021" {
			t.Errorf("distribution aliases %v, viewer certificate %v", dist.Input("aliases"), dist.Input("viewerCertificate"))
		}
		// The distribution takes the certificate from its validation, so it waits for issuance.
		var validated bool
		for _, v := range r.ByType(acmValidate) {
			if r.DependsOn(v, edge) && contains(dist.PropertyDependencies["viewerCertificate"], v.URN) {
				validated = true
			}
		}
		if !validated {
			t.Error("the distribution does not take its certificate from the us-east-1 certificate's validation")
		}
		aliases := 0
		for _, rec := range r.ByType(r53Record) {
			if rec.Input("aliases") != nil {
				aliases++
				if rec.InputString("name") != "media."+domain || !r.DependsOn(rec, zone) || !r.DependsOn(rec, dist) {
					t.Errorf("alias record %s: %v", rec.Name, rec.Inputs)
				}
			}
		}
		if aliases != 2 {
			t.Errorf("%d alias records, want A and AAAA for media.%s", aliases, domain)
		}
		if dnssec := len(r.ByType("aws:route53/hostedZoneDnsSec:HostedZoneDnsSec")) == 1; dnssec != (r.Stack != "dev") {
			t.Errorf("DNSSEC signing = %v in %s", dnssec, r.Stack)
		}
		for _, k := range []string{"dnsZoneId", "dnsNameServers", "dnsDsRecord", "certificateArn"} {
			if _, ok := r.Exports[k]; !ok {
				t.Errorf("no %s output", k)
			}
		}
		if r.Preview {
			return
		}
		cm := r.Named(k8sConfigMap, "gitops-outputs")
		if cm == nil || cm.InputString("data.domain") != domain || !strings.HasPrefix(cm.InputString("data.certificateArn"), "arn:aws:acm:") {
			t.Errorf("the infrastructure-outputs ConfigMap lacks the domain or the certificate: %v", cm)
		}
	})
}

// runDelegated runs a stack as it is once its parent delegates to its zone: the stack file with
// dns.delegated set to true (committed false, so that a new stack's first deploy works).
func runDelegated(t *testing.T, stack string, preview bool) *harness.Result {
	t.Helper()
	return runSetting(t, stack, preview, "dns", "delegated", false, true)
}

func forEachDelegatedRun(t *testing.T, f func(t *testing.T, r *harness.Result)) {
	for _, stack := range stacks {
		for _, preview := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/preview=%v", stack, preview), func(t *testing.T) {
				f(t, runDelegated(t, stack, preview))
			})
		}
	}
}

// TestANewStackDeploysBeforeItsZoneIsDelegated checks the stack files as committed: the zone is
// created, nothing waits for a validation that cannot happen yet, the CDN keeps its default
// name, and dnsStatus says what the parent domain must do.
func TestANewStackDeploysBeforeItsZoneIsDelegated(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		if len(r.ByType(r53Zone)) != 1 {
			t.Fatal("no zone")
		}
		if n := len(r.ByType(acmCert)) + len(r.ByType(acmValidate)); n != 0 {
			t.Errorf("%d certificate resources before delegation: the update would wait for a validation that cannot happen", n)
		}
		if a := one(t, r, cfDistribution).Input("aliases"); a != nil {
			t.Errorf("distribution aliases %v before its certificate exists", a)
		}
		if r.Preview {
			return
		}
		if s := fmt.Sprint(r.Exports["dnsStatus"].Value); !strings.HasPrefix(s, "pending: delegate "+stackDomains[r.Stack]) {
			t.Errorf("dnsStatus = %q", s)
		}
	})
}
