package wiring

import (
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// MediaProcessingArgs is the MediaProcessing component's input: the pipeline from the media
// store's originals to its proxies and thumbnails, in the network's private subnets, with its
// Kubernetes Jobs on the cluster's media nodes.
func (c Config) MediaProcessingArgs(env stackenv.Env, net *network.Network, media *mediastore.MediaStore, eks *cluster.Cluster) mediaprocessing.Args {
	mp := c.MediaProcessing
	var gpuSelector map[string]string
	if c.Cluster.Karpenter.GPU != nil {
		gpuSelector = map[string]string{cluster.WorkloadLabel: cluster.GPUWorkload}
	}
	return mediaprocessing.Args{
		Env:                  env,
		VpcID:                net.VpcID,
		AvailabilityZones:    c.Network.AvailabilityZones,
		PrivateSubnetIDs:     net.PrivateSubnetIDs,
		MediaBucketName:      media.MediaBucketName,
		MediaBucketArn:       media.MediaBucketArn,
		ProxiesBucketName:    media.ProxiesBucketName,
		ProxiesBucketArn:     media.ProxiesBucketArn,
		ThumbnailsBucketName: media.ThumbnailsBucketName,
		ThumbnailsBucketArn:  media.ThumbnailsBucketArn,
		MediaKeyArn:          media.KmsKeyArn,
		Function: mediaprocessing.Function{
			ImageTag: mp.ImageTag, Architecture: mp.Architecture, MemoryMB: mp.MemoryMB,
			EphemeralStorageMB: mp.EphemeralStorageMB, TimeoutSeconds: mp.TimeoutSeconds,
			ReservedConcurrency: mp.ReservedConcurrency, LogRetentionDays: mp.LogRetentionDays,
		},
		Queue: mediaprocessing.Queue{
			MaximumConcurrency: mp.MaximumConcurrency, BatchSize: mp.BatchSize, MaxBatchingWindowSeconds: mp.MaxBatchingWindowSeconds, MaxReceiveCount: mp.MaxReceiveCount,
			MessageRetentionDays: mp.MessageRetentionDays, DeadLetterRetentionDays: mp.DeadLetterRetentionDays,
		},
		ImagesToKeep:          mp.ImagesToKeep,
		EcrForceDelete:        mp.EcrForceDelete,
		ScratchTransitionToIA: mp.ScratchTransitionToIA,
		Alarms: mediaprocessing.Alarms{
			Email: mp.Alarms.Email, OldestMessageAgeSeconds: mp.Alarms.OldestMessageAgeSeconds,
			ErrorThreshold: mp.Alarms.ErrorThreshold, ThrottleThreshold: mp.Alarms.ThrottleThreshold,
		},
		OidcProviderArn:    eks.OidcProviderArn,
		OidcIssuer:         eks.OidcIssuer,
		KubernetesProvider: eks.KubernetesProvider,
		MediaNodeSelector:  map[string]string{cluster.WorkloadLabel: cluster.MediaWorkload},
		MediaNodeTaint:     mediaprocessing.Taint(cluster.MediaTaint),
		JobAnnotations:     map[string]string{cluster.DoNotDisruptAnnotation: "true"},
		GPUNodeSelector:    gpuSelector,
		GPUNodeTaint:       mediaprocessing.Taint(cluster.GPUTaint),
		Jobs: mediaprocessing.Jobs{
			DefaultCPU: mp.Jobs.DefaultCPU, DefaultMemory: mp.Jobs.DefaultMemory,
			MaxCPU: mp.Jobs.MaxCPU, MaxMemory: mp.Jobs.MaxMemory, MaxEphemeralStorage: mp.Jobs.MaxEphemeralStorage,
			QuotaCPU: mp.Jobs.QuotaCPU, QuotaMemory: mp.Jobs.QuotaMemory, QuotaPods: mp.Jobs.QuotaPods,
		},
		Network: c.ClusterNetwork(eks),
		Protect: c.Protect,
	}
}
