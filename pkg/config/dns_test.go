package config

import (
	"testing"
)

func TestInvalidDNSConfigurationsNameTheKey(t *testing.T) {
	const otherRegion = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	tests := []struct {
		name, dns, cdn, key, allowed string
	}{
		{"not a domain", `{"domain":"Dev_CineGit"}`, "", "cinegit:dns.domain", "fully qualified"},
		{"DNSSEC without a zone", `{"dnssec":true}`, "", "cinegit:dns.dnssec", "without dns.domain"},
		{"certificate without a zone", `{"certificateArn":"` + otherRegion + `"}`, "", "cinegit:dns.certificateArn", "without dns.domain"},
		{"certificate of another region", `{"domain":"dev.cinegit.io","certificateArn":"` + otherRegion + `"}`, "", "cinegit:dns.certificateArn", "stack's region us-east-1"},
		{"not a certificate", `{"domain":"dev.cinegit.io","certificateArn":"arn:aws:iam::123456789012:role/x"}`, "", "cinegit:dns.certificateArn", "ACM certificate ARN"},
		{"CDN name outside the zone without a certificate", `{"domain":"dev.cinegit.io"}`, `{"customDomain":"media.cinegit.io"}`, "cinegit:cdn.certificateArn", "a dns.domain that media.cinegit.io is in"},
		{"CDN name without zone or certificate", `{}`, `{"customDomain":"media.cinegit.io"}`, "cinegit:cdn.certificateArn", "ACM certificate ARN in us-east-1"},
		{"CDN name that is no host name", `{"domain":"dev.cinegit.io"}`, `{"customDomain":"Media.dev.cinegit.io"}`, "cinegit:cdn.customDomain", "fully qualified host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := with("cinegit:dns", tt.dns)
			if tt.cdn != "" {
				raw["cinegit:cdn"] = tt.cdn
			}
			_, err := Parse("dev", raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}
