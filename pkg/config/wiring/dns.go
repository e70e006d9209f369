package wiring

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/dns"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// DNSArgs is the DNS component's input: the stack's zone, a regional certificate unless the
// stack brings one, and CloudFront's certificate (through edge, us-east-1) when the CDN's custom
// domain brings none.
func (c Config) DNSArgs(env stackenv.Env, edge *aws.Provider) dns.Args {
	d := c.DNS
	a := dns.Args{
		Env:                 env,
		Domain:              d.Domain,
		DNSSEC:              d.DNSSEC,
		Delegated:           d.Delegated,
		RegionalCertificate: d.Domain != "" && d.CertificateArn == "",
		EdgeProvider:        edge,
		Protect:             c.Protect,
		DelegationSetID:     d.DelegationSetID,
		KeySigningKeyArn:    d.KeySigningKeyArn,
	}
	// CloudFront's certificate only for a CDN at the edge (it is made in us-east-1).
	if c.CDN.CustomDomain != "" && c.CDN.CertificateArn == "" && *c.CDN.Edge {
		a.EdgeCertificateNames = []string{c.CDN.CustomDomain}
	}
	return a
}

// CertificateArn is the certificate the load balancers of CineGit's services present: the one
// the stack brings, or the zone's. Empty without a domain (zone nil).
func (c Config) CertificateArn(zone *dns.Zone) pulumi.StringInput {
	switch {
	case c.DNS.CertificateArn != "":
		return pulumi.String(c.DNS.CertificateArn)
	case zone != nil:
		return zone.CertificateArn
	}
	return pulumi.String("")
}
