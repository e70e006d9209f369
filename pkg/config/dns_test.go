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
		{"no delegation set for a stack that may be destroyed", `{"domain":"dev.cinegit.io"}`, "", "cinegit:dns.delegationSetId", "may be destroyed"},
		{"not a delegation set", `{"domain":"dev.cinegit.io","delegationSetId":"Z123"}`, "", "cinegit:dns.delegationSetId", "reusable delegation set ID"},
		{"signed without the account's key", `{"domain":"dev.cinegit.io","delegationSetId":"N1","dnssec":true}`, "", "cinegit:dns.keySigningKeyArn", "change the DS record"},
		{"DNSSEC key outside us-east-1", `{"domain":"dev.cinegit.io","delegationSetId":"N1","dnssec":true,"keySigningKeyArn":"arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000"}`, "", "cinegit:dns.keySigningKeyArn", "in us-east-1"},
		{"DNSSEC key of another account", `{"domain":"dev.cinegit.io","delegationSetId":"N1","dnssec":true,"keySigningKeyArn":"arn:aws:kms:us-east-1:999999999999:key/00000000-0000-0000-0000-000000000000"}`, "", "cinegit:dns.keySigningKeyArn", "stack's account"},
		{"DNSSEC key of an unsigned zone", `{"domain":"dev.cinegit.io","delegationSetId":"N1","keySigningKeyArn":"arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"}`, "", "cinegit:dns.keySigningKeyArn", "dns.dnssec true"},
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
