package wiring

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// MediaStoreArgs is the MediaStore component's input: the media, proxies, thumbnails and logs
// buckets, and the originals' replica through secondary (the provider in
// backup.secondaryRegion; nil without one).
func (c Config) MediaStoreArgs(env stackenv.Env, secondary *aws.Provider) mediastore.Args {
	m := c.Media
	var replication *mediastore.Replication
	if r := c.Backup.MediaReplication; r != nil && secondary != nil {
		replication = &mediastore.Replication{
			Provider: secondary, Region: c.Backup.SecondaryRegion, StorageClass: r.StorageClass,
			ReplicationTimeControl: r.ReplicationTimeControl, DeleteMarkers: r.DeleteMarkers,
		}
	}
	transitions := make([]bucket.Transition, len(m.OriginalsTransitions))
	for i, t := range m.OriginalsTransitions {
		transitions[i] = bucket.Transition{Days: t.Days, StorageClass: t.StorageClass}
	}
	return mediastore.Args{
		Env:                                    env,
		ForceDestroy:                           m.ForceDestroy,
		Protect:                                c.Protect,
		CORSOrigins:                            m.CORSOrigins,
		TransferAcceleration:                   m.TransferAcceleration,
		AbortIncompleteUploadDays:              m.AbortIncompleteUploadDays,
		NoncurrentVersionExpirationDays:        m.NoncurrentVersionExpirationDays,
		OriginalsPrefix:                        m.OriginalsPrefix,
		OriginalsTransitions:                   transitions,
		DerivedNoncurrentVersionExpirationDays: m.DerivedNoncurrentVersionExpirationDays,
		ProxiesOneZoneIADays:                   *m.ProxiesOneZoneIADays,
		LogsExpirationDays:                     m.LogsExpirationDays,
		LoadBalancerLogsPrefix:                 c.Ingress.AccessLogsPrefix,
		Replication:                            replication,
	}
}
