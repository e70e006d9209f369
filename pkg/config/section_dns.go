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
}

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
// own needs the stack's zone to issue one, so it must lie in that zone.
func (c *Config) validateDomains(p *problems) {
	cdn := c.CDN
	if cdn.CustomDomain == "" || cdn.CertificateArn != "" {
		return
	}
	if !c.DNS.InZone(cdn.CustomDomain) {
		p.add("cdn.certificateArn", cdn.CertificateArn, "an ACM certificate ARN in us-east-1 for %s, or a dns.domain that %s is in (the zone then issues the certificate)", cdn.CustomDomain, cdn.CustomDomain)
	}
}
