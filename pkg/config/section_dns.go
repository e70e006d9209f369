package config

import (
	"regexp"
	"strings"
)

// DNSConfig is the `dns` section: the stack's public Route 53 zone and the certificates issued
// through it.
type DNSConfig struct {
	// Domain is the stack's domain, e.g. dev.cinegit.io. The program creates a public hosted zone
	// for it, to be delegated from the parent domain with the dnsNameServers output, and issues
	// a certificate for it and *.<domain> in the stack's region (for load balancers).
	// Default: "" (no zone).
	Domain string `json:"domain"`
	// Delegated says the parent domain now delegates to the zone (its NS records list the
	// dnsNameServers output). Certificates are validated through public DNS, so the program
	// issues them, and serves the CDN's custom domain in the zone, only once this is true.
	// A new stack starts false. Default false.
	Delegated bool `json:"delegated"`
	// DNSSEC signs the zone; the parent then publishes the dnsDsRecord output. Default false.
	DNSSEC bool `json:"dnssec"`
	// CertificateArn brings an issued ACM certificate in the stack's region for the load
	// balancers instead of issuing one. Default: "" (issued through the zone).
	CertificateArn string `json:"certificateArn"`
	// DelegationSetID is the account's reusable delegation set (the bootstrap's
	// dnsDelegationSetId output, e.g. N0123456789ABCDEFGHIJ): the zone takes its four name
	// servers from it, so a stack destroyed and created again keeps the parent's NS records
	// valid. Required for a stack whose resources are not protected (it may be destroyed).
	// Default: "" (Route 53 picks new name servers for every new zone).
	DelegationSetID string `json:"delegationSetId"`
	// KeySigningKeyArn is the account's DNSSEC KMS key in us-east-1 (the bootstrap's
	// dnssecKeyArn output): the same key gives the same DS record, so the parent's DS stays
	// valid across a recreate. Required with dnssec for a stack whose resources are not
	// protected. Default: "" (a key is made with the zone).
	KeySigningKeyArn string `json:"keySigningKeyArn"`
}

var (
	delegationSetID = regexp.MustCompile(`^N[0-9A-Z]{1,31}$`)
	dnssecKeyArn    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:us-east-1:(\d{12}):key/[0-9a-f-]{36}$`)
)

var regionalCertificateArn = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$`)

func (c *DNSConfig) applyDefaults(Env) {}

func (c *DNSConfig) validate(p *problems, env Env) {
	if c.Domain == "" {
		if c.DNSSEC {
			p.add("dns.dnssec", c.DNSSEC, "false without dns.domain (there is no zone to sign)")
		}
		if c.CertificateArn != "" {
			p.add("dns.certificateArn", c.CertificateArn, "empty without dns.domain")
		}
		if c.Delegated {
			p.add("dns.delegated", c.Delegated, "false without dns.domain (there is no zone to delegate to)")
		}
		return
	}
	if !cdnHostName.MatchString(c.Domain) || len(c.Domain) > 253 {
		p.add("dns.domain", c.Domain, "a lowercase fully qualified domain name, e.g. dev.cinegit.io")
	}
	if c.DelegationSetID != "" && !delegationSetID.MatchString(c.DelegationSetID) {
		p.add("dns.delegationSetId", c.DelegationSetID, "a Route 53 reusable delegation set ID, e.g. N0123456789ABCDEFGHIJ (the bootstrap's dnsDelegationSetId output)")
	}
	if c.KeySigningKeyArn != "" && (!dnssecKeyArn.MatchString(c.KeySigningKeyArn) || !c.DNSSEC) {
		p.add("dns.keySigningKeyArn", c.KeySigningKeyArn, "a KMS key ARN in us-east-1 (the bootstrap's dnssecKeyArn output), with dns.dnssec true")
	}
	if c.CertificateArn != "" {
		if m := regionalCertificateArn.FindStringSubmatch(c.CertificateArn); m == nil {
			p.add("dns.certificateArn", c.CertificateArn, "an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>")
		} else if m[1] != env.Region && env.Region != "" {
			p.add("dns.certificateArn", c.CertificateArn, "a certificate in the stack's region %s, not %s: load balancers use certificates from their own region", env.Region, m[1])
		}
	}
}

// InZone reports whether host is the zone's domain or a name under it.
func (c DNSConfig) InZone(host string) bool {
	return c.Domain != "" && (host == c.Domain || strings.HasSuffix(host, "."+c.Domain))
}

// validateDomains checks what spans sections: a CDN custom domain without a certificate of its
// own needs the stack's zone to issue one, so it must lie in that zone; and a stack that may be
// destroyed (not cinegit:protect) keeps its delegation only through what outlives it, the
// account's delegation set and DNSSEC key (docs/dns-delegation.md).
func (c *Config) validateDomains(p *problems) {
	d := c.DNS
	if d.Domain != "" && !c.Protect {
		if d.DelegationSetID == "" {
			p.add("dns.delegationSetId", d.DelegationSetID, "the account's reusable delegation set (the bootstrap's dnsDelegationSetId output): a stack without cinegit:protect may be destroyed, and a new zone without it gets name servers the parent does not list")
		}
		if d.DNSSEC && d.KeySigningKeyArn == "" {
			p.add("dns.keySigningKeyArn", d.KeySigningKeyArn, "the account's DNSSEC key (the bootstrap's dnssecKeyArn output): a stack without cinegit:protect may be destroyed, and a new key would change the DS record the parent publishes")
		}
	}
	if m := dnssecKeyArn.FindStringSubmatch(d.KeySigningKeyArn); m != nil && c.AccountID != "" && m[1] != c.AccountID {
		p.add("dns.keySigningKeyArn", d.KeySigningKeyArn, "a key of the stack's account %s", c.AccountID)
	}
	cdn := c.CDN
	if cdn.CustomDomain == "" || cdn.CertificateArn != "" {
		return
	}
	if !c.DNS.InZone(cdn.CustomDomain) {
		p.add("cdn.certificateArn", cdn.CertificateArn, "an ACM certificate ARN in us-east-1 for %s, or a dns.domain that %s is in (the zone then issues the certificate)", cdn.CustomDomain, cdn.CustomDomain)
	}
}
