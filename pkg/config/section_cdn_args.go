package config

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"

	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// CDNArgs is the CDN component's input: CloudFront in front of the media store's proxies and
// thumbnails, with its certificate and WAF through edge (us-east-1).
func (c *Config) CDNArgs(env stackenv.Env, edge *aws.Provider, media *mediastore.MediaStore) cdn.Args {
	d := c.CDN
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
		WAFBlock:                     d.WAFMode == WAFBlock,
		RateLimit:                    d.RateLimit,
		RateLimitWindowSeconds:       d.RateLimitWindowSeconds,
		CustomDomain:                 d.CustomDomain,
		CertificateArn:               d.CertificateArn,
		AllowedOrigins:               d.AllowedOrigins,
		LogRetentionDays:             d.LogRetentionDays,
		SigningKeyRecoveryWindowDays: *d.SigningKeyRecoveryWindowDays,
		Protect:                      c.Protect,
	}
}
