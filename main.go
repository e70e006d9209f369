// CineGit's infrastructure: one Pulumi program for the dev, staging and prod stacks.
//
// Read top to bottom it is the architecture: configuration, providers, network, data stores,
// cluster, media, CDN, platform add-ons, exports. Everything else lives in pkg/.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/backup"
	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/cache"
	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/gitops"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/observability"
	"github.com/cinegit/infrastructure/pkg/offhours"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit: CineGit's infrastructure as a Pulumi program.

Deploy (needs AWS credentials and the S3 state backend, see README.md):
  pulumi login s3://cinegit-pulumi-state?region=us-east-1
  pulumi preview --stack dev
  pulumi up --stack dev

Plan offline (no AWS account, no credentials):
  go run . plan --stack dev [--preview] [--format text|json] [--out plan.json] [--config-file FILE]
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plan" {
		os.Exit(runPlan(os.Args[2:]))
	}
	// Outside the engine there is no resource monitor to talk to: explain instead of failing
	// with a stack trace.
	if os.Getenv(pulumi.EnvMonitor) == "" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	pulumi.Run(program)
}

// program is the whole stack. `pulumi up`, `go run . plan` and the tests all run this function.
func program(ctx *pulumi.Context) error {
	cfg, err := config.FromContext(ctx)
	if err != nil {
		return err
	}

	// Providers: the stack's region, and us-east-1 for CloudFront's certificate and WAF.
	// Both tag everything they create.
	baseTags := tags.Set(tags.Base(cfg.Project, cfg.Stack, cfg.Tags))
	regional, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
	})
	if err != nil {
		return err
	}
	edge, err := aws.NewProvider(ctx, "aws-us-east-1", &aws.ProviderArgs{
		Region:      pulumi.String("us-east-1"),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
	})
	if err != nil {
		return err
	}
	identity, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return err
	}
	partition, err := aws.GetPartition(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return err
	}
	env := stackenv.Env{
		Naming:    naming.New(cfg.Project, cfg.Stack),
		Tags:      baseTags,
		AccountID: identity.AccountId,
		Partition: partition.Partition,
		Region:    cfg.Region,
	}
	inRegion := pulumi.Provider(regional)
	clusterName := env.Naming.Name("eks")

	// Network.
	layout, err := cfg.Network.Layout()
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", network.Args{
		Env:                  env,
		CIDR:                 cfg.Network.CIDR,
		AvailabilityZones:    cfg.Network.AvailabilityZones,
		PublicSubnetCIDRs:    layout.Public,
		PrivateSubnetCIDRs:   layout.Private,
		DatabaseSubnetCIDRs:  layout.Database,
		SingleNatGateway:     cfg.Network.NatGateways == config.NatSingle,
		FlowLogRetentionDays: cfg.Network.FlowLogRetentionDays,
		InterfaceEndpoints:   cfg.Network.InterfaceEndpoints,
		ClusterName:          clusterName,
		Protect:              cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// Cluster: EKS in the private subnets. Its Kubernetes provider is what the platform
	// add-ons deploy with; its node security group is what the data stores admit.
	role := func(name string) string {
		if name == "" {
			return ""
		}
		return env.GlobalArn("iam", "role/"+name)
	}
	nodeGroup := func(ng config.NodeGroupConfig) cluster.NodeGroup {
		return cluster.NodeGroup{
			InstanceTypes: ng.InstanceTypes, AmiType: ng.AmiType(), CapacityType: ng.CapacityType,
			MinSize: ng.MinSize, DesiredSize: ng.Desired(), MaxSize: ng.MaxSize, DiskSizeGiB: ng.DiskSizeGiB,
		}
	}
	eks, err := cluster.New(ctx, "cluster", cluster.Args{
		Env:                       env,
		Name:                      clusterName,
		Version:                   cfg.Cluster.Version,
		VpcID:                     net.VpcID,
		PrivateSubnetIDs:          net.PrivateSubnetIDs,
		EndpointPublicAccess:      cfg.Cluster.EndpointPublicAccess,
		PublicAccessCidrs:         cfg.Cluster.PublicAccessCidrs,
		DeployRoleArn:             role(cfg.Cluster.DeployRoleName),
		BreakGlassRoleArn:         role(cfg.Cluster.BreakGlassRoleName),
		ViewerRoleArn:             role(viewer(cfg.Cluster.ViewerRoleName)),
		APIClientCidrs:            cfg.Cluster.APIClientCidrs,
		APIClientSecurityGroupIDs: cfg.Cluster.APIClientSecurityGroupIDs,
		LogRetentionDays:          cfg.Cluster.LogRetentionDays,
		General:                   nodeGroup(cfg.Cluster.General),
		Media:                     nodeGroup(cfg.Cluster.Media),
		Addons: cluster.Addons{
			VpcCni:       cfg.Cluster.Addons.VpcCni,
			CoreDNS:      cfg.Cluster.Addons.CoreDNS,
			KubeProxy:    cfg.Cluster.Addons.KubeProxy,
			EbsCsiDriver: cfg.Cluster.Addons.EbsCsiDriver,
		},
		Autoscaler:       cluster.Autoscaler{ChartVersion: cfg.Cluster.Autoscaler.ChartVersion, ImageTag: cfg.Cluster.Autoscaler.ImageTag},
		ScheduledScaling: cfg.OffHours.Enabled,
		Protect:          cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// Data stores: PostgreSQL in the isolated database subnets, Redis in the private ones.
	// Only the security groups named here reach them.
	dataClients := pulumi.StringArray{eks.NodeSecurityGroupID}
	db, err := database.New(ctx, "database", database.Args{
		Env:                              env,
		VpcID:                            net.VpcID,
		SubnetIDs:                        net.DatabaseSubnetIDs,
		AllowedSecurityGroupIDs:          dataClients,
		Protect:                          cfg.Protect,
		EngineVersion:                    cfg.Database.EngineVersion,
		InstanceClass:                    cfg.Database.InstanceClass,
		AllocatedStorage:                 cfg.Database.AllocatedStorage,
		MaxAllocatedStorage:              cfg.Database.MaxAllocatedStorage,
		DBName:                           cfg.Database.DBName,
		MasterUsername:                   cfg.Database.MasterUsername,
		MultiAZ:                          *cfg.Database.MultiAZ,
		BackupRetentionDays:              cfg.Database.BackupRetentionDays,
		BackupWindow:                     cfg.Database.BackupWindow,
		MaintenanceWindow:                cfg.Database.MaintenanceWindow,
		DeletionProtection:               *cfg.Database.DeletionProtection,
		FinalSnapshot:                    *cfg.Database.FinalSnapshot,
		SlowStatementMs:                  cfg.Database.SlowStatementMs,
		LogRetentionDays:                 cfg.Database.LogRetentionDays,
		PerformanceInsightsRetentionDays: cfg.Database.PerformanceInsightsRetentionDays,
		MonitoringIntervalSeconds:        cfg.Database.MonitoringIntervalSeconds,
		Restore:                          databaseRestore(cfg.Database.Restore),
	}, inRegion)
	if err != nil {
		return err
	}
	redis, err := cache.New(ctx, "cache", cache.Args{
		Env:                          env,
		VpcID:                        net.VpcID,
		SubnetIDs:                    net.PrivateSubnetIDs,
		AllowedSecurityGroupIDs:      dataClients,
		Protect:                      cfg.Protect,
		EngineVersion:                cfg.Cache.EngineVersion,
		NodeType:                     cfg.Cache.NodeType,
		NodeCount:                    cfg.Cache.NodeCount,
		SnapshotRetentionDays:        cfg.Cache.SnapshotRetentionDays,
		SnapshotWindow:               cfg.Cache.SnapshotWindow,
		MaintenanceWindow:            cfg.Cache.MaintenanceWindow,
		LogRetentionDays:             cfg.Cache.LogRetentionDays,
		MaxmemoryPolicy:              cfg.Cache.MaxmemoryPolicy,
		AuthSecretRecoveryWindowDays: *cfg.Cache.AuthSecretRecoveryWindowDays,
	}, inRegion)
	if err != nil {
		return err
	}

	// Off the primary region: backup copies and the replica of the media bucket live in
	// backup.secondaryRegion, made with a provider there that tags like the others.
	var secondary *aws.Provider
	var replication *mediastore.Replication
	if b := cfg.Backup; b.SecondaryRegion != "" {
		secondary, err = aws.NewProvider(ctx, "aws-"+b.SecondaryRegion, &aws.ProviderArgs{
			Region:      pulumi.String(b.SecondaryRegion),
			DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
		})
		if err != nil {
			return err
		}
		if r := b.MediaReplication; r != nil {
			replication = &mediastore.Replication{
				Provider: secondary, Region: b.SecondaryRegion, StorageClass: r.StorageClass,
				ReplicationTimeControl: r.ReplicationTimeControl, DeleteMarkers: r.DeleteMarkers,
			}
		}
	}

	// Media: originals, proxies and thumbnails in S3, served by CloudFront.
	media, err := mediastore.New(ctx, "mediastore", mediastore.Args{
		Env:                                    env,
		ForceDestroy:                           cfg.Media.ForceDestroy,
		Protect:                                cfg.Protect,
		CORSOrigins:                            cfg.Media.CORSOrigins,
		AbortIncompleteUploadDays:              cfg.Media.AbortIncompleteUploadDays,
		NoncurrentVersionExpirationDays:        cfg.Media.NoncurrentVersionExpirationDays,
		OriginalsPrefix:                        cfg.Media.OriginalsPrefix,
		OriginalsTransitions:                   mediaTransitions(cfg.Media.OriginalsTransitions),
		DerivedNoncurrentVersionExpirationDays: cfg.Media.DerivedNoncurrentVersionExpirationDays,
		ProxiesOneZoneIADays:                   *cfg.Media.ProxiesOneZoneIADays,
		LogsExpirationDays:                     cfg.Media.LogsExpirationDays,
		Replication:                            replication,
	}, inRegion)
	if err != nil {
		return err
	}

	// Nothing is lost: AWS Backup of PostgreSQL and the originals, copied to the secondary
	// region; in dev, the stack sleeps outside working hours.
	ctx.Export("mediaReplicaBucketName", media.ReplicaBucketName)
	if cfg.Backup.IsEnabled() {
		backups, err := backup.New(ctx, "backup", backupArgs(cfg, env, db, media, secondary), inRegion)
		if err != nil {
			return err
		}
		ctx.Export("backupVaultArn", backups.VaultArn)
		ctx.Export("backupCopyVaultArn", backups.CopyVaultArn)
	}
	if cfg.OffHours.Enabled {
		if _, err := offhours.New(ctx, "offhours", offHoursArgs(cfg, env, eks, db), inRegion); err != nil {
			return err
		}
	}
	cdnKeys := make([]cdn.PublicKey, len(cfg.CDN.PublicKeys))
	for i, k := range cfg.CDN.PublicKeys {
		cdnKeys[i] = cdn.PublicKey{Name: k.Name, PEM: k.PEM}
	}
	edgeCDN, err := cdn.New(ctx, "cdn", cdn.Args{
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
		PublicKeys:                   cdnKeys,
		PublicThumbnailPaths:         cfg.CDN.PublicThumbnailPaths,
		PriceClass:                   cfg.CDN.PriceClass,
		WAFBlock:                     cfg.CDN.WAFMode == config.WAFBlock,
		RateLimit:                    cfg.CDN.RateLimit,
		RateLimitWindowSeconds:       cfg.CDN.RateLimitWindowSeconds,
		CustomDomain:                 cfg.CDN.CustomDomain,
		CertificateArn:               cfg.CDN.CertificateArn,
		AllowedOrigins:               cfg.CDN.AllowedOrigins,
		LogRetentionDays:             cfg.CDN.LogRetentionDays,
		SigningKeyRecoveryWindowDays: *cfg.CDN.SigningKeyRecoveryWindowDays,
		Protect:                      cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// Media processing: new media become proxies and thumbnails in the FFmpeg Lambda, or as
	// Kubernetes Jobs on the media nodes when they are too long or too large for it.
	mp := cfg.MediaProcessing
	pipeline, err := mediaprocessing.New(ctx, "mediaprocessing", mediaprocessing.Args{
		Env:                  env,
		VpcID:                net.VpcID,
		AvailabilityZones:    cfg.Network.AvailabilityZones,
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
			BatchSize: mp.BatchSize, MaxBatchingWindowSeconds: mp.MaxBatchingWindowSeconds, MaxReceiveCount: mp.MaxReceiveCount,
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
		Jobs: mediaprocessing.Jobs{
			DefaultCPU: mp.Jobs.DefaultCPU, DefaultMemory: mp.Jobs.DefaultMemory,
			MaxCPU: mp.Jobs.MaxCPU, MaxMemory: mp.Jobs.MaxMemory, MaxEphemeralStorage: mp.Jobs.MaxEphemeralStorage,
			QuotaCPU: mp.Jobs.QuotaCPU, QuotaMemory: mp.Jobs.QuotaMemory, QuotaPods: mp.Jobs.QuotaPods,
		},
		Protect: cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// Platform add-ons on the cluster. Secrets first: the application namespace and the
	// store that the other add-ons' ExternalSecrets read from.
	gitopsCfg, obsCfg := cfg.GitOps, cfg.Observability
	platformSecrets, err := secrets.New(ctx, "secrets", secrets.Args{
		Env:                  env,
		KubernetesProvider:   eks.KubernetesProvider,
		OidcProviderArn:      eks.OidcProviderArn,
		OidcIssuer:           eks.OidcIssuer,
		ChartVersion:         gitopsCfg.ExternalSecrets.ChartVersion,
		Namespace:            gitopsCfg.ExternalSecrets.Namespace,
		Replicas:             gitopsCfg.ExternalSecrets.Replicas,
		RefreshInterval:      gitopsCfg.ExternalSecrets.RefreshInterval,
		ApplicationNamespace: gitopsCfg.ApplicationNamespace,
		ConsumerNamespaces:   []string{obsCfg.Namespace, gitopsCfg.Namespace},
		ApplicationSecrets: []secrets.ApplicationSecret{
			{Name: "database", SecretArn: db.MasterSecretArn, KmsKeyArn: db.KmsKeyArn},
			{Name: "redis", SecretArn: redis.AuthSecretArn, KmsKeyArn: redis.KmsKeyArn},
			// The CDN does not expose its signing secret's key: the grant is pinned to the
			// secret by its encryption context instead.
			{Name: "cdn-signing-key", SecretArn: edgeCDN.SigningKeySecretArn},
		},
		Protect: cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// Observability: metrics, logs, dashboards and alerts. Alerts go to the media pipeline's
	// alarm topic, where the AWS-side CloudWatch alarms go too.
	alerts := observability.Alertmanager{Replicas: obsCfg.Alertmanager.Replicas, StorageGiB: obsCfg.Alertmanager.StorageGiB}
	if obsCfg.Alertmanager.Receiver == config.ReceiverSNS {
		alerts.SNSTopicArn, alerts.SNSTopicKmsKeyArn = pipeline.AlarmTopicArn, pipeline.KmsKeyArn
	}
	resources := func(r config.ResourcesConfig) kube.Resources {
		return kube.NewResources(r.Requests.CPU, r.Requests.Memory, r.Limits.CPU, r.Limits.Memory)
	}
	monitoring, err := observability.New(ctx, "observability", observability.Args{
		Env:                env,
		KubernetesProvider: eks.KubernetesProvider,
		OidcProviderArn:    eks.OidcProviderArn,
		OidcIssuer:         eks.OidcIssuer,
		ClusterName:        eks.ClusterName,
		StorageClass:       cluster.DefaultStorageClass,
		Namespace:          obsCfg.Namespace,
		Prometheus: observability.Prometheus{
			ChartVersion: obsCfg.Prometheus.ChartVersion, Retention: obsCfg.Prometheus.Retention,
			StorageGiB: obsCfg.Prometheus.StorageGiB, Replicas: obsCfg.Prometheus.Replicas,
			Resources: resources(obsCfg.Prometheus.Resources),
		},
		Alertmanager: alerts,
		Grafana: observability.Grafana{
			StorageGiB: obsCfg.Grafana.StorageGiB, AdminSecretRecoveryWindowDays: *obsCfg.Grafana.AdminSecretRecoveryWindowDays,
		},
		Loki: observability.Loki{
			ChartVersion: obsCfg.Loki.ChartVersion, SimpleScalable: obsCfg.Loki.DeploymentMode == config.LokiSimpleScalable,
			Replicas: obsCfg.Loki.Replicas, RetentionDays: obsCfg.Loki.RetentionDays(), StorageGiB: obsCfg.Loki.StorageGiB,
			ChunksCacheMemoryMB: *obsCfg.Loki.ChunksCacheMemoryMB, ForceDestroy: obsCfg.Loki.ForceDestroy,
			Resources: resources(obsCfg.Loki.Resources),
		},
		AlloyChartVersion:     obsCfg.Alloy.ChartVersion,
		SecretStore:           platformSecrets.StoreName,
		SecretsKmsKeyArn:      platformSecrets.KmsKeyArn,
		SecretRefreshInterval: gitopsCfg.ExternalSecrets.RefreshInterval,
		Dashboards: observability.Dashboards{
			ApplicationNamespace: gitopsCfg.ApplicationNamespace,
			MediaJobsNamespace:   mediaprocessing.Namespace,
			CDNDistributionID:    edgeCDN.DistributionID,
		},
		Protect: cfg.Protect,
	}, inRegion)
	if err != nil {
		return err
	}

	// GitOps: Argo CD syncs the applications from the GitOps repository; they read the
	// infrastructure's outputs from a ConfigMap and their credentials from the synced Secrets.
	var sso *gitops.SSO
	if s := gitopsCfg.SSO; s != nil {
		sso = &gitops.SSO{URL: s.URL, Issuer: s.Issuer, ClientID: s.ClientID, AdminGroups: s.AdminGroups}
	}
	deployments, err := gitops.New(ctx, "gitops", gitops.Args{
		Env:                      env,
		KubernetesProvider:       eks.KubernetesProvider,
		ChartVersion:             gitopsCfg.ChartVersion,
		Namespace:                gitopsCfg.Namespace,
		HA:                       gitopsCfg.IsHA(),
		RepoURL:                  gitopsCfg.RepoURL,
		Revision:                 gitopsCfg.Revision,
		Path:                     gitopsCfg.Path,
		RepositoryCredentials:    gitopsCfg.RepositoryCredentials,
		ApplicationNamespace:     platformSecrets.ApplicationNamespace,
		DestinationNamespaces:    gitopsCfg.DestinationNamespaces,
		SSO:                      sso,
		SecretStore:              platformSecrets.StoreName,
		SecretsKmsKeyArn:         platformSecrets.KmsKeyArn,
		SecretRefreshInterval:    gitopsCfg.ExternalSecrets.RefreshInterval,
		SecretRecoveryWindowDays: *gitopsCfg.SecretRecoveryWindowDays,
		Outputs: map[string]pulumi.StringInput{
			"awsRegion":            pulumi.String(cfg.Region),
			"mediaBucketName":      media.MediaBucketName,
			"proxiesBucketName":    media.ProxiesBucketName,
			"thumbnailsBucketName": media.ThumbnailsBucketName,
			"mediaKmsKeyArn":       media.KmsKeyArn,
			"cdnDomainName":        edgeCDN.DomainName,
			"cdnDistributionId":    edgeCDN.DistributionID,
			"cdnKeyGroupId":        edgeCDN.KeyGroupID,
			"databaseEndpoint":     db.Endpoint,
			"databasePort":         pulumi.Sprintf("%d", db.Port),
			"databaseName":         db.DBName,
			"databaseSecret":       pulumi.String("database"),
			"cachePrimaryEndpoint": redis.PrimaryEndpoint,
			"cacheReaderEndpoint":  redis.ReaderEndpoint,
			"cachePort":            pulumi.Sprintf("%d", redis.Port),
			"cacheSecret":          pulumi.String("redis"),
			"cdnSigningKeySecret":  pulumi.String("cdn-signing-key"),
			"mediaQueueUrl":        pipeline.QueueURL,
			"mediaJobsNamespace":   pipeline.JobsNamespace,
			"mediaJobsRoleArn":     pipeline.JobsRoleArn,
			"lokiUrl":              monitoring.LokiURL,
			"prometheusUrl":        monitoring.PrometheusURL,
		},
	}, inRegion)
	if err != nil {
		return err
	}

	// Exports, named for their consumers.
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("availabilityZones", net.AvailabilityZones)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", net.DatabaseSubnetIDs)
	ctx.Export("clusterName", eks.ClusterName)
	ctx.Export("clusterEndpoint", eks.Endpoint)
	ctx.Export("oidcProviderArn", eks.OidcProviderArn)
	ctx.Export("kubeconfig", pulumi.ToSecret(eks.Kubeconfig))
	ctx.Export("databaseEndpoint", db.Endpoint)
	ctx.Export("databasePort", db.Port)
	ctx.Export("databaseName", db.DBName)
	ctx.Export("databaseMasterSecretArn", db.MasterSecretArn)
	ctx.Export("databaseSecurityGroupId", db.SecurityGroupID)
	ctx.Export("cachePrimaryEndpoint", redis.PrimaryEndpoint)
	ctx.Export("cacheReaderEndpoint", redis.ReaderEndpoint)
	ctx.Export("cachePort", redis.Port)
	ctx.Export("cacheAuthSecretArn", redis.AuthSecretArn)
	ctx.Export("cacheSecurityGroupId", redis.SecurityGroupID)
	ctx.Export("mediaBucketName", media.MediaBucketName)
	ctx.Export("mediaBucketArn", media.MediaBucketArn)
	ctx.Export("proxiesBucketName", media.ProxiesBucketName)
	ctx.Export("proxiesBucketArn", media.ProxiesBucketArn)
	ctx.Export("thumbnailsBucketName", media.ThumbnailsBucketName)
	ctx.Export("thumbnailsBucketArn", media.ThumbnailsBucketArn)
	ctx.Export("logsBucketName", media.LogsBucketName)
	ctx.Export("mediaKmsKeyArn", media.KmsKeyArn)
	ctx.Export("cdnDistributionId", edgeCDN.DistributionID)
	ctx.Export("cdnDomainName", edgeCDN.DomainName)
	ctx.Export("cdnKeyGroupId", edgeCDN.KeyGroupID)
	ctx.Export("cdnPublicKeyIds", edgeCDN.PublicKeyIDs)
	ctx.Export("cdnWebAclArn", edgeCDN.WebAclArn)
	ctx.Export("cdnSigningKeySecretArn", edgeCDN.SigningKeySecretArn)
	ctx.Export("mediaQueueUrl", pipeline.QueueURL)
	ctx.Export("mediaFunctionName", pipeline.FunctionName)
	ctx.Export("mediaEcrRepositoryUrl", pipeline.EcrRepositoryURL)
	ctx.Export("mediaJobsRoleArn", pipeline.JobsRoleArn)
	ctx.Export("mediaAlarmTopicArn", pipeline.AlarmTopicArn)
	ctx.Export("externalSecretsRoleArn", platformSecrets.RoleArn)
	ctx.Export("platformSecretsKmsKeyArn", platformSecrets.KmsKeyArn)
	ctx.Export("lokiBucketName", monitoring.LokiBucketName)
	ctx.Export("grafanaAdminSecretArn", monitoring.GrafanaAdminSecretArn)
	ctx.Export("grafanaUrl", monitoring.GrafanaURL)
	ctx.Export("argocdNamespace", deployments.Namespace)
	ctx.Export("gitopsOidcSecretArn", deployments.OIDCSecretArn)
	ctx.Export("gitopsRepositorySecretArn", deployments.RepositorySecretArn)
	return nil
}

// viewer is the cluster's read-only role name, "" when the stack wants none.
func viewer(name string) string {
	if name == config.NoViewer {
		return ""
	}
	return name
}

// backupArgs are the backups of the database and the media bucket as the backup section
// asks; secondary is the provider in backup.secondaryRegion (nil without one).
func backupArgs(cfg *config.Config, env stackenv.Env, db *database.Database, media *mediastore.MediaStore, secondary *aws.Provider) backup.Args {
	b := cfg.Backup
	args := backup.Args{
		Env: env, Schedule: b.Schedule, RetentionDays: b.RetentionDays,
		DatabaseArn: db.Arn, MediaBucketArn: media.MediaBucketArn,
		ForceDestroy: cfg.Media.ForceDestroy, // an ephemeral stack's backups go with its buckets
		Protect:      cfg.Protect,
	}
	if b.Continuous() {
		args.ContinuousDatabaseRetentionDays = cfg.Database.BackupRetentionDays
	}
	if b.CopyRetentionDays > 0 {
		args.Copy = &backup.Copy{Provider: secondary, Region: b.SecondaryRegion, RetentionDays: b.CopyRetentionDays}
	}
	if l := b.VaultLock; l != nil {
		args.VaultLock = &backup.VaultLock{
			Compliance: l.Mode == config.LockCompliance, ChangeableForDays: l.ChangeableForDays,
			MinRetentionDays: l.MinRetentionDays, MaxRetentionDays: l.MaxRetentionDays,
		}
	}
	return args
}

// offHoursArgs schedule the cluster's node groups and the database as offHours asks; the
// morning brings the node groups back to their configured sizes.
func offHoursArgs(cfg *config.Config, env stackenv.Env, eks *cluster.Cluster, db *database.Database) offhours.Args {
	o := cfg.OffHours
	stopHour, stopMinute := config.Clock(o.StopAt)
	startHour, startMinute := config.Clock(o.StartAt)
	group := func(name string, asg pulumi.StringOutput, ng config.NodeGroupConfig) offhours.NodeGroup {
		return offhours.NodeGroup{Name: name, AutoscalingGroupName: asg, MinSize: ng.MinSize, DesiredSize: ng.Desired(), MaxSize: ng.MaxSize}
	}
	return offhours.Args{
		Env: env, TimeZone: o.TimeZone, WorkingDays: o.WorkingDays,
		StopHour: stopHour, StopMinute: stopMinute, StartHour: startHour, StartMinute: startMinute,
		NodeGroups: []offhours.NodeGroup{
			group("general", eks.GeneralAutoscalingGroupName, cfg.Cluster.General),
			group("media", eks.MediaAutoscalingGroupName, cfg.Cluster.Media),
		},
		DatabaseIdentifier: db.Identifier, DatabaseArn: db.Arn,
	}
}

// databaseRestore converts database.restore for the database component (nil: none).
func databaseRestore(r *config.DatabaseRestoreConfig) *database.Restore {
	if r == nil {
		return nil
	}
	out := &database.Restore{Label: r.Label, SnapshotIdentifier: r.SnapshotIdentifier}
	if t := r.PointInTime; t != nil {
		out.PointInTime = &database.PointInTime{
			SourceDBInstanceIdentifier: t.SourceDbInstanceIdentifier, SourceDbiResourceID: t.SourceDbiResourceID,
			RestoreTime: t.RestoreTime, UseLatestRestorableTime: t.UseLatestRestorableTime,
		}
	}
	return out
}

// mediaTransitions converts the configured storage class schedule for the media store.
func mediaTransitions(ts []config.StorageTransition) []bucket.Transition {
	out := make([]bucket.Transition, len(ts))
	for i, t := range ts {
		out[i] = bucket.Transition{Days: t.Days, StorageClass: t.StorageClass}
	}
	return out
}
