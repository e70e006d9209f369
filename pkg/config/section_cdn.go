package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// CDNConfig is the `cdn` section: the CloudFront distribution, signed URLs and the WAF.
type CDNConfig struct {
	// Edge makes the distribution and everything it needs in us-east-1 (its WAF, certificate,
	// logs and alarms). false keeps only the URL-signing secret: for a stack that must deploy
	// while us-east-1 is unavailable (prod's region-loss recovery, docs/region-loss.md), whose
	// media is then served without CloudFront until the edge is turned on again. Default true.
	Edge *bool `json:"edge"`
	// PriceClass limits the edge locations (and cost): PriceClass_100 (default),
	// PriceClass_200 or PriceClass_All.
	PriceClass string `json:"priceClass"`
	// WAFMode is "block" (default) or "count" (rules only count matches, for tuning; not in
	// staging or prod).
	WAFMode string `json:"wafMode"`
	// RateLimit is the most requests one IP may make per RateLimitWindowSeconds before the
	// WAF blocks it (10 to 2,000,000,000; default 2000).
	RateLimit int `json:"rateLimit"`
	// RateLimitWindowSeconds is the rate limit's window: 60, 120, 300 (default) or 600.
	RateLimitWindowSeconds int `json:"rateLimitWindowSeconds"`
	// PublicKeys are the public halves of the URL-signing keys (PEM, RSA-2048 or ECDSA P-256),
	// 1 to 5 of them (the CDN is not deployed without one); during a rotation both the old and
	// the new key are listed. The private half never goes in config: it goes in the signing-key
	// secret.
	PublicKeys []CDNPublicKey `json:"publicKeys"`
	// PublicThumbnailPaths are path patterns under thumbnails/ served without a signed URL,
	// e.g. "thumbnails/public/*". Default: none (everything is signed).
	PublicThumbnailPaths []string `json:"publicThumbnailPaths"`
	// CustomDomain serves the CDN under this host name, with CertificateArn or, without it, a
	// certificate the stack's zone (dns.domain) issues; in that zone it also gets its alias records.
	CustomDomain string `json:"customDomain"`
	// CertificateArn brings an issued ACM certificate in us-east-1 covering CustomDomain, for a
	// name outside the stack's zone. Default: "" (issued through dns.domain).
	CertificateArn string `json:"certificateArn"`
	// AllowedOrigins are https origins whose scripts may fetch media (CORS), e.g. the web player.
	AllowedOrigins []string `json:"allowedOrigins"`
	// LogRetentionDays keeps the CDN access logs and WAF logs (a CloudWatch value; default 30).
	LogRetentionDays int `json:"logRetentionDays"`
	// SigningKeyRecoveryWindowDays is the signing-key secret's deletion window: 0 (immediate,
	// so a destroyed stack can be recreated under the same name) or 7-30 (default 30; at least
	// 7 in prod).
	SigningKeyRecoveryWindowDays *int `json:"signingKeyRecoveryWindowDays"`
	// Playback tunes delivery for review playback (docs/stacks.md, "Review playback").
	Playback CDNPlaybackConfig `json:"playback"`
}

// CDNPlaybackConfig is `cdn.playback`: how review playback is cached. CineGit writes every
// proxy, rendition and segment once, under a versioned key, and never changes it; only a
// streaming manifest of a rendition still being transcoded is rewritten.
type CDNPlaybackConfig struct {
	// StreamPrefix is where the proxies bucket keeps adaptive streaming renditions (HLS and
	// DASH manifests and their segments). Default "streams/".
	StreamPrefix string `json:"streamPrefix"`
	// OriginShield adds CloudFront's Origin Shield in the buckets' region, one more cache
	// layer that collapses the edges' misses into one request to S3. Default false.
	OriginShield bool `json:"originShield"`
	// ManifestTTLSeconds is how long an edge keeps a manifest (.m3u8, .mpd): short, since one
	// being transcoded grows. Default 10.
	ManifestTTLSeconds int `json:"manifestTtlSeconds"`
	// SegmentTTLSeconds is how long a segment is kept: immutable, so a year. Default 31536000.
	SegmentTTLSeconds int `json:"segmentTtlSeconds"`
	// ProgressiveTTLSeconds is how long a progressive proxy or thumbnail is kept: immutable
	// too. Default 31536000.
	ProgressiveTTLSeconds int `json:"progressiveTtlSeconds"`
	// MinCacheHitRatePercent alarms when the distribution's cache hit rate (CloudFront's
	// additional metrics, which are always on) stays below it for three hours; 0 for no alarm.
	// Default 0.
	MinCacheHitRatePercent int `json:"minCacheHitRatePercent"`
	// AlarmEmail subscribes an address to the CDN's alarm topic (us-east-1). Default none.
	AlarmEmail string `json:"alarmEmail"`
}

// A year: the longest TTL CloudFront caches for (its maximum TTL is unbounded, but a
// versioned key is never asked for after its version is superseded for long).
const cdnYearSeconds = 31536000

// CDNPublicKey is one trusted URL-signing public key.
type CDNPublicKey struct {
	// Name identifies the key in the key group and in outputs (letters, digits, - and _).
	Name string `json:"name"`
	// PEM is the "-----BEGIN PUBLIC KEY-----" block.
	PEM string `json:"pem"`
}

// WAF modes.
const (
	WAFBlock = "block"
	WAFCount = "count"
)

// PriceClasses are CloudFront's price classes.
var PriceClasses = []string{"PriceClass_100", "PriceClass_200", "PriceClass_All"}

// maxKeysPerKeyGroup is CloudFront's quota of public keys in one key group.
const maxKeysPerKeyGroup = 5

var (
	cdnKeyName        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	cdnHostName       = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	cdnCertificateArn = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$`)
	cdnPathPattern    = regexp.MustCompile(`^/?[A-Za-z0-9_\-.*$/~"'@:+&]{1,255}$`)
)

func (c *CDNConfig) applyDefaults(env Env) {
	if c.PriceClass == "" {
		c.PriceClass = "PriceClass_100"
	}
	if c.WAFMode == "" {
		c.WAFMode = WAFBlock
	}
	if c.RateLimit == 0 {
		c.RateLimit = 2000
	}
	if c.RateLimitWindowSeconds == 0 {
		c.RateLimitWindowSeconds = 300
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = 30
	}
	if c.Edge == nil {
		on := true
		c.Edge = &on
	}
	if c.SigningKeyRecoveryWindowDays == nil {
		days := 30
		c.SigningKeyRecoveryWindowDays = &days
	}
	pb := &c.Playback
	if pb.StreamPrefix == "" {
		pb.StreamPrefix = "streams/"
	}
	if pb.ManifestTTLSeconds == 0 {
		pb.ManifestTTLSeconds = 10
	}
	if pb.SegmentTTLSeconds == 0 {
		pb.SegmentTTLSeconds = cdnYearSeconds
	}
	if pb.ProgressiveTTLSeconds == 0 {
		pb.ProgressiveTTLSeconds = cdnYearSeconds
	}
	for i := range c.PublicKeys {
		// CloudFront stores the key as given; a missing final newline would show as a change
		// on every refresh.
		c.PublicKeys[i].PEM = strings.TrimSpace(c.PublicKeys[i].PEM) + "\n"
	}
}

var cdnStreamPrefix = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}/$`)

func (c *CDNConfig) validate(p *problems, env Env) {
	pb := c.Playback
	if !cdnStreamPrefix.MatchString(pb.StreamPrefix) || pb.StreamPrefix == "thumbnails/" {
		p.add("cdn.playback.streamPrefix", pb.StreamPrefix, "one lowercase key prefix ending in /, e.g. streams/ (not thumbnails/, which the thumbnails origin serves)")
	}
	for _, t := range []struct {
		key       string
		v, lo, hi int
	}{
		{"manifestTtlSeconds", pb.ManifestTTLSeconds, 1, 300},
		{"segmentTtlSeconds", pb.SegmentTTLSeconds, 3600, cdnYearSeconds},
		{"progressiveTtlSeconds", pb.ProgressiveTTLSeconds, 3600, cdnYearSeconds},
	} {
		if t.v < t.lo || t.v > t.hi {
			p.add("cdn.playback."+t.key, t.v, "%d to %d seconds", t.lo, t.hi)
		}
	}
	if pb.MinCacheHitRatePercent < 0 || pb.MinCacheHitRatePercent > 99 {
		p.add("cdn.playback.minCacheHitRatePercent", pb.MinCacheHitRatePercent, "0 (no alarm) to 99")
	}
	if pb.AlarmEmail != "" && !strings.Contains(pb.AlarmEmail, "@") {
		p.add("cdn.playback.alarmEmail", pb.AlarmEmail, "an email address")
	}

	if !slices.Contains(PriceClasses, c.PriceClass) {
		p.add("cdn.priceClass", c.PriceClass, "one of %s", strings.Join(PriceClasses, ", "))
	}
	switch c.WAFMode {
	case WAFBlock:
	case WAFCount:
		if env.Rules.RequireProtection {
			p.add("cdn.wafMode", c.WAFMode, "%q for stack %q: count mode lets attacks through", WAFBlock, env.Stack)
		}
	default:
		p.add("cdn.wafMode", c.WAFMode, "%q or %q", WAFBlock, WAFCount)
	}
	if c.RateLimit < 10 || c.RateLimit > 2_000_000_000 {
		p.add("cdn.rateLimit", c.RateLimit, "10 to 2000000000 requests per window (AWS WAF's limits)")
	}
	switch c.RateLimitWindowSeconds {
	case 60, 120, 300, 600:
	default:
		p.add("cdn.rateLimitWindowSeconds", c.RateLimitWindowSeconds, "60, 120, 300 or 600")
	}
	c.validateKeys(p)
	for i, pat := range c.PublicThumbnailPaths {
		k := fmt.Sprintf("cdn.publicThumbnailPaths[%d]", i)
		trimmed := strings.TrimPrefix(pat, "/")
		switch {
		case !cdnPathPattern.MatchString(pat):
			p.add(k, pat, "a CloudFront path pattern (letters, digits and _-.*$/~\"'@:+&, at most 255 characters)")
		case !strings.HasPrefix(trimmed, "thumbnails/") || trimmed == "thumbnails/*":
			p.add(k, pat, "a pattern under thumbnails/ narrower than thumbnails/* (these paths are served from the thumbnails bucket, and all of thumbnails/* public would bypass signed URLs)")
		}
	}
	switch {
	case c.CustomDomain == "" && c.CertificateArn == "":
	case c.CustomDomain == "":
		p.add("cdn.customDomain", c.CustomDomain, "the host name cdn.certificateArn is for (a certificate is only used with a custom domain)")
	case !cdnHostName.MatchString(c.CustomDomain):
		p.add("cdn.customDomain", c.CustomDomain, "a lowercase fully qualified host name, e.g. media.cinegit.io")
	case c.CertificateArn == "":
		// The stack's zone issues the certificate: Config.validateDomains checks it can.
	default:
		if m := cdnCertificateArn.FindStringSubmatch(c.CertificateArn); m == nil {
			p.add("cdn.certificateArn", c.CertificateArn, "an ACM certificate ARN, arn:aws:acm:us-east-1:<account>:certificate/<id>")
		} else if m[1] != "us-east-1" {
			p.add("cdn.certificateArn", c.CertificateArn, "a certificate in us-east-1, not %s: CloudFront only uses certificates from us-east-1", m[1])
		}
	}
	validateHTTPSOrigins(p, "cdn.allowedOrigins", c.AllowedOrigins)
	if !validRetention(c.LogRetentionDays) {
		p.add("cdn.logRetentionDays", c.LogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}
	switch w := *c.SigningKeyRecoveryWindowDays; {
	case w != 0 && (w < 7 || w > 30):
		p.add("cdn.signingKeyRecoveryWindowDays", w, "0 or 7 to 30 days (Secrets Manager's recovery windows)")
	case w == 0 && env.Rules.RequireSecretRecovery:
		p.add("cdn.signingKeyRecoveryWindowDays", w, "7 to 30 days for stack %q: a deleted signing key must be recoverable", env.Stack)
	}
}

// validateKeys parses every public key: CloudFront accepts RSA-2048 and ECDSA P-256 keys only,
// and a pasted private key must never get as far as a deployment.
func (c *CDNConfig) validateKeys(p *problems) {
	// No keys is accepted here so that a configuration without a cdn section still parses
	// (tests, tools); the CDN component refuses to deploy without one.
	if n := len(c.PublicKeys); n > maxKeysPerKeyGroup {
		p.add("cdn.publicKeys", n, "at most %d public keys (CloudFront's limit per key group)", maxKeysPerKeyGroup)
	}
	names, pems := map[string]bool{}, map[string]bool{}
	for i, k := range c.PublicKeys {
		key := fmt.Sprintf("cdn.publicKeys[%d]", i)
		switch {
		case !cdnKeyName.MatchString(k.Name):
			p.add(key+".name", k.Name, "1-64 letters, digits, - and _")
		case names[k.Name]:
			p.add(key+".name", k.Name, "a name used once (duplicate)")
		}
		names[k.Name] = true
		if problem := checkPublicKeyPEM(k.PEM); problem != "" {
			p.add(key+".pem", abbreviatePEM(k.PEM), "%s", problem)
		} else if pems[k.PEM] {
			p.add(key+".pem", abbreviatePEM(k.PEM), "a key listed once (duplicate of another entry)")
		}
		pems[k.PEM] = true
	}
}

// checkPublicKeyPEM returns what is wrong with a public key PEM, or "".
func checkPublicKeyPEM(text string) string {
	block, rest := pem.Decode([]byte(text))
	switch {
	case block == nil:
		return "a PEM block \"-----BEGIN PUBLIC KEY-----\" (openssl pkey -pubout)"
	case strings.Contains(block.Type, "PRIVATE"):
		return "a PUBLIC key: this is a private key, which must never be in config; remove it, treat it as leaked and generate a new pair"
	case block.Type != "PUBLIC KEY":
		return fmt.Sprintf("a \"PUBLIC KEY\" (PKIX) PEM block, not %q", block.Type)
	case strings.TrimSpace(string(rest)) != "":
		return "exactly one PEM block"
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Sprintf("a parseable PKIX public key (%v)", err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() != 2048 {
			return fmt.Sprintf("an RSA-2048 or ECDSA P-256 key, not RSA-%d (CloudFront accepts no other size)", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return fmt.Sprintf("an RSA-2048 or ECDSA P-256 key, not ECDSA %s", k.Curve.Params().Name)
		}
	default:
		return fmt.Sprintf("an RSA-2048 or ECDSA P-256 key, not %T", pub)
	}
	return ""
}

// abbreviatePEM keeps PEMs readable in error messages, and private keys out of them.
func abbreviatePEM(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "PRIVATE KEY") {
		return "<private key, not shown>"
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
