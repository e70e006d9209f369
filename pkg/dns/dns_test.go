package dns

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	zoneType       = "aws:route53/zone:Zone"
	keyType        = "aws:kms/key:Key"
	kskType        = "aws:route53/keySigningKey:KeySigningKey"
	signingType    = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec"
	certType       = "aws:acm/certificate:Certificate"
	validationType = "aws:acm/certificateValidation:CertificateValidation"
	recordType     = "aws:route53/record:Record"
)

// run builds the zone in eu-west-1, so that what must be in us-east-1 shows by its provider.
func run(t *testing.T, args Args, preview bool) (*harness.Result, *aws.Provider) {
	t.Helper()
	var edgeProvider *aws.Provider
	r, err := harness.RunComponent("eu-west-1", preview, func(ctx *pulumi.Context, p harness.Providers) error {
		edge, err := aws.NewProvider(ctx, "aws-us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		edgeProvider = edge
		args.Env = harness.Env("dev", "eu-west-1")
		args.EdgeProvider = edge
		z, err := New(ctx, "dns", args, pulumi.Provider(p.AWS))
		if err != nil {
			return err
		}
		ctx.Export("nameServers", z.NameServers)
		ctx.Export("dsRecord", z.DSRecord)
		ctx.Export("certificateArn", z.CertificateArn)
		ctx.Export("edgeCertificateArn", z.EdgeCertificateArn)
		ctx.Export("status", z.Status)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, edgeProvider
}

func only(t *testing.T, r *harness.Result, typ string) *harness.Resource {
	t.Helper()
	rs := r.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

func onEdge(res *harness.Resource) bool {
	return strings.Contains(res.Provider, "aws-us-east-1")
}

func TestZoneIsPublicTaggedAndGivesItsNameServers(t *testing.T) {
	for _, protect := range []bool{false, true} {
		t.Run(fmt.Sprintf("protect=%v", protect), func(t *testing.T) {
			r, _ := run(t, Args{Domain: "dev.cinegit.io", Protect: protect}, false)
			z := only(t, r, zoneType)
			if z.InputString("name") != "dev.cinegit.io" || z.Input("vpcs") != nil {
				t.Errorf("zone %v: want the public zone dev.cinegit.io", z.Inputs)
			}
			if z.InputString("tags.environment") != "dev" || z.InputString("tags.project") != "cinegit" {
				t.Errorf("zone tags %v", z.Input("tags"))
			}
			if z.Protect != protect {
				t.Errorf("zone protect = %v, want %v: deleting it changes the name servers the parent delegates to", z.Protect, protect)
			}
			if ns := fmt.Sprint(r.Exports["nameServers"].Value); strings.Count(ns, "awsdns") != 4 {
				t.Errorf("nameServers = %v, want the zone's four", r.Exports["nameServers"].Value)
			}
			if n := len(r.ByType(keyType)) + len(r.ByType(kskType)) + len(r.ByType(certType)); n != 0 {
				t.Errorf("%d keys or certificates without DNSSEC or certificates asked for", n)
			}
			if ds := r.Exports["dsRecord"].Value; ds != "" {
				t.Errorf("dsRecord = %v without DNSSEC", ds)
			}
		})
	}
}

func TestDNSSECSignsWithAUsEast1SigningKeyOnlyRoute53MayUse(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, _ := run(t, Args{Domain: "prod.cinegit.io", DNSSEC: true}, preview)
			key, ksk, signing := only(t, r, keyType), only(t, r, kskType), only(t, r, signingType)
			if !onEdge(key) {
				t.Errorf("DNSSEC key provider %s: Route 53 requires the key in us-east-1", key.Provider)
			}
			if key.InputString("customerMasterKeySpec") != "ECC_NIST_P256" || key.InputString("keyUsage") != "SIGN_VERIFY" {
				t.Errorf("key spec %q usage %q: DNSSEC needs ECC_NIST_P256 SIGN_VERIFY", key.InputString("customerMasterKeySpec"), key.InputString("keyUsage"))
			}
			if key.Input("enableKeyRotation") != false {
				t.Errorf("enableKeyRotation = %v: asymmetric keys cannot rotate automatically", key.Input("enableKeyRotation"))
			}
			if !r.DependsOn(ksk, key) || !r.DependsOn(signing, ksk) || !r.DependsOn(ksk, only(t, r, zoneType)) {
				t.Error("want zone and key -> key-signing key -> signing")
			}
			if signing.InputString("signingStatus") != "SIGNING" || ksk.InputString("status") != "ACTIVE" {
				t.Errorf("signing %q, ksk %q", signing.InputString("signingStatus"), ksk.InputString("status"))
			}
			if preview {
				return
			}
			if r.Exports["dsRecord"].Value == "" {
				t.Error("no DS record to give the parent zone")
			}
			var doc struct {
				Statement []struct {
					Sid       string
					Principal map[string]any
					Action    any
					Condition map[string]map[string]any
				}
			}
			if err := json.Unmarshal([]byte(key.InputString("policy")), &doc); err != nil {
				t.Fatal(err)
			}
			var route53 []string
			for _, s := range doc.Statement {
				if !strings.Contains(fmt.Sprint(s.Principal["Service"]), "dnssec-route53.amazonaws.com") {
					continue
				}
				route53 = append(route53, s.Sid)
				if s.Condition == nil {
					t.Errorf("%s: Route 53's access is unconditioned", s.Sid)
				}
				if fmt.Sprint(s.Action) == "[kms:DescribeKey kms:GetPublicKey kms:Sign]" &&
					(fmt.Sprint(s.Condition["StringEquals"]["aws:SourceAccount"]) != "["+harness.AccountID+"]" ||
						fmt.Sprint(s.Condition["ArnLike"]["aws:SourceArn"]) != "[arn:aws:route53:::hostedzone/*]") {
					t.Errorf("%s: sign only for this account's hosted zones: %v", s.Sid, s.Condition)
				}
			}
			if len(route53) != 2 {
				t.Errorf("Route 53 DNSSEC statements %v, want sign and create-grant", route53)
			}
		})
	}
}

func TestCertificatesAreValidatedThroughTheZone(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, _ := run(t, Args{
				Domain: "dev.cinegit.io", Delegated: true, RegionalCertificate: true, EdgeCertificateNames: []string{"media.dev.cinegit.io"},
			}, preview)
			certs := r.ByType(certType)
			if len(certs) != 2 {
				t.Fatalf("want a regional and an edge certificate, got %d", len(certs))
			}
			zone := only(t, r, zoneType)
			for _, c := range certs {
				edge := onEdge(c)
				want := []any{"dev.cinegit.io", "*.dev.cinegit.io"}
				if edge {
					want = []any{"media.dev.cinegit.io"}
				}
				got := append([]any{c.Input("domainName")}, func() []any { s, _ := c.Input("subjectAlternativeNames").([]any); return s }()...)
				if fmt.Sprint(got) != fmt.Sprint(want) || c.InputString("validationMethod") != "DNS" {
					t.Errorf("certificate (edge=%v) names %v method %q, want %v by DNS", edge, got, c.InputString("validationMethod"), want)
				}
				// One record per name without its wildcard, in the zone, and the validation waits for it.
				var records []*harness.Resource
				for _, rec := range r.ByType(recordType) {
					if r.DependsOn(rec, c) {
						records = append(records, rec)
					}
				}
				if len(records) != 1 {
					t.Fatalf("certificate (edge=%v): %d validation records, want 1", edge, len(records))
				}
				rec := records[0]
				if !r.DependsOn(rec, zone) || rec.Input("allowOverwrite") != true {
					t.Errorf("validation record %s: in the zone, allowOverwrite: %v", rec.Name, rec.Inputs)
				}
				if !preview {
					base := strings.TrimPrefix(want[0].(string), "*.")
					if rec.InputString("name") != "_0123456789abcdef."+base+"." || rec.InputString("type") != "CNAME" {
						t.Errorf("validation record %s = %s %s, want ACM's CNAME for %s", rec.Name, rec.InputString("type"), rec.InputString("name"), base)
					}
				}
				var validation *harness.Resource
				for _, v := range r.ByType(validationType) {
					if r.DependsOn(v, c) {
						validation = v
					}
				}
				if validation == nil || !r.DependsOn(validation, rec) {
					t.Errorf("certificate (edge=%v): the validation does not wait for its record", edge)
				}
				if onEdge(validation) != edge {
					t.Errorf("validation provider %s, certificate provider %s", validation.Provider, c.Provider)
				}
			}
		})
	}
}

func TestNoCertificateBeforeTheZoneIsDelegated(t *testing.T) {
	r, _ := run(t, Args{Domain: "dev.cinegit.io", RegionalCertificate: true, EdgeCertificateNames: []string{"media.dev.cinegit.io"}}, false)
	if n := len(r.ByType(certType)) + len(r.ByType(validationType)) + len(r.ByType(recordType)); n != 0 {
		t.Errorf("%d certificate resources before delegation: ACM could not validate them, and the update would wait for it", n)
	}
	status := fmt.Sprint(r.Exports["status"].Value)
	for _, want := range []string{"pending", "ns-1.awsdns-01.org", "cinegit:dns.delegated"} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q does not say %q", status, want)
		}
	}
	if arn := r.Exports["certificateArn"].Value; arn != "" {
		t.Errorf("certificateArn = %v before delegation", arn)
	}
}

func TestValidationNames(t *testing.T) {
	tests := []struct {
		domain string
		sans   []string
		want   []string
	}{
		{"dev.cinegit.io", []string{"*.dev.cinegit.io"}, []string{"dev.cinegit.io"}},
		{"media.dev.cinegit.io", nil, []string{"media.dev.cinegit.io"}},
		{"*.a.io", []string{"a.io", "b.a.io"}, []string{"a.io", "b.a.io"}},
	}
	for _, tt := range tests {
		if got := ValidationNames(tt.domain, tt.sans); !slices.Equal(got, tt.want) {
			t.Errorf("ValidationNames(%q, %v) = %v, want %v", tt.domain, tt.sans, got, tt.want)
		}
	}
}

func TestInvalidArgsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		args Args
		want string
	}{
		{"not a domain", Args{Domain: "Dev_CineGit"}, "not a lowercase"},
		{"edge name outside the zone", Args{Domain: "dev.cinegit.io", EdgeCertificateNames: []string{"media.cinegit.io"}}, "not in the zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := harness.RunComponent("eu-west-1", false, func(ctx *pulumi.Context, p harness.Providers) error {
				tt.args.Env = harness.Env("dev", "eu-west-1")
				_, err := New(ctx, "dns", tt.args, pulumi.Provider(p.AWS))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
