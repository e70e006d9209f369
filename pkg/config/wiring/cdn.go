package wiring

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/dns"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// CDNArgs is the CDN component's input: CloudFront in front of the media store's proxies and
// thumbnails, with its WAF through edge (us-east-1). A custom domain in the stack's zone takes
// the zone's certificate and alias records; zone is nil without dns.domain.
func (c Config) CDNArgs(env stackenv.Env, edge *aws.Provider, media *mediastore.MediaStore, zone *dns.Zone) cdn.Args {
	d := c.CDN
	// A custom domain in the stack's zone without a certificate of its own is served once the
	// zone is delegated and has issued CloudFront's certificate; until then, the default name.
	domain, inZone := d.CustomDomain, zone != nil && c.DNS.InZone(d.CustomDomain)
	var certificate, zoneID pulumi.StringInput
	switch {
	case d.CertificateArn != "":
		certificate = pulumi.String(d.CertificateArn)
	case inZone && c.DNS.Delegated:
		certificate = zone.EdgeCertificateArn
	default:
		domain = ""
	}
	if inZone && domain != "" {
		zoneID = zone.ZoneID
	}
	keys := make([]cdn.PublicKey, len(d.PublicKeys))
	for i, k := range d.PublicKeys {
		keys[i] = cdn.PublicKey{Name: k.Name, PEM: k.PEM}
	}
	return cdn.Args{
		Env:          env,
		EdgeProvider: edge,
		Proxies: cdn.Origin{
			BucketName:         media.ProxiesBucketName,
			BucketArn:          media.ProxiesBucketArn,
			RegionalDomainName: media.ProxiesBucketRegionalDomainName,
		},
		Thumbnails: cdn.Origin{
			BucketName:         media.ThumbnailsBucketName,
			BucketArn:          media.ThumbnailsBucketArn,
			RegionalDomainName: media.ThumbnailsBucketRegionalDomainName,
		},
		PublicKeys:                   keys,
		PublicThumbnailPaths:         d.PublicThumbnailPaths,
		PriceClass:                   d.PriceClass,
		WAFBlock:                     d.WAFMode == config.WAFBlock,
		RateLimit:                    d.RateLimit,
		RateLimitWindowSeconds:       d.RateLimitWindowSeconds,
		CustomDomain:                 domain,
		CertificateArn:               certificate,
		ZoneID:                       zoneID,
		AllowedOrigins:               d.AllowedOrigins,
		LogRetentionDays:             d.LogRetentionDays,
		SigningKeyRecoveryWindowDays: *d.SigningKeyRecoveryWindowDays,
		Protect:                      c.Protect,
		NoEdge:                       !*d.Edge,
		Playback: cdn.Playback{
			StreamPrefix:           d.Playback.StreamPrefix,
			OriginShieldRegion:     originShieldRegion(d.Playback.OriginShield, env.Region),
			ManifestTTLSeconds:     d.Playback.ManifestTTLSeconds,
			SegmentTTLSeconds:      d.Playback.SegmentTTLSeconds,
			ProgressiveTTLSeconds:  d.Playback.ProgressiveTTLSeconds,
			MinCacheHitRatePercent: d.Playback.MinCacheHitRatePercent,
			AlarmEmail:             d.Playback.AlarmEmail,
		},
	}
}

// originShieldRegion is the buckets' region (the stack's) when the stack asks for Origin Shield.
func originShieldRegion(on bool, region string) string {
	if !on {
		return ""
	}
	return region
}
