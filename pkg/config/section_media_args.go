package config

import (
	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// MediaStoreArgs is the MediaStore component's input: the media, proxies, thumbnails and logs buckets.
func (c *Config) MediaStoreArgs(env stackenv.Env) mediastore.Args {
	m := c.Media
	transitions := make([]bucket.Transition, len(m.OriginalsTransitions))
	for i, t := range m.OriginalsTransitions {
		transitions[i] = bucket.Transition{Days: t.Days, StorageClass: t.StorageClass}
	}
	return mediastore.Args{
		Env:                                    env,
		ForceDestroy:                           m.ForceDestroy,
		Protect:                                c.Protect,
		CORSOrigins:                            m.CORSOrigins,
		AbortIncompleteUploadDays:              m.AbortIncompleteUploadDays,
		NoncurrentVersionExpirationDays:        m.NoncurrentVersionExpirationDays,
		OriginalsPrefix:                        m.OriginalsPrefix,
		OriginalsTransitions:                   transitions,
		DerivedNoncurrentVersionExpirationDays: m.DerivedNoncurrentVersionExpirationDays,
		ProxiesOneZoneIADays:                   *m.ProxiesOneZoneIADays,
		LogsExpirationDays:                     m.LogsExpirationDays,
	}
}
