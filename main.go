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
	"github.com/cinegit/infrastructure/pkg/cache"
	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/config/wiring"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/dns"
	"github.com/cinegit/infrastructure/pkg/gitops"
	"github.com/cinegit/infrastructure/pkg/ingress"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/observability"
	"github.com/cinegit/infrastructure/pkg/offhours"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/services"
	"github.com/cinegit/infrastructure/pkg/services/grant"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit: CineGit's infrastructure as a Pulumi program.

Deploy (needs the stack's account's credentials and its S3 state backend, see docs/deploy.md):
  pulumi login 's3://cinegit-pulumi-state-<account>?region=us-east-1'
  pulumi preview --stack dev
  pulumi up --stack dev

Plan offline (no AWS account, no credentials):
  go run . plan --stack dev [--preview] [--format text|json] [--out plan.json] [--config-file FILE]
  go run . plan --stack dev [--cost] [--critical-path] [--diff OLD.json [--allow-replace]]

Write a recovery stack's settings (docs/region-loss.md):
  go run . recovery-config [--snapshot ID] recovery/prod-us-west-2.yaml
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plan" {
		os.Exit(runPlan(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "recovery-config" {
		os.Exit(runRecoveryConfig(os.Args[2:]))
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
	parsed, err := config.FromContext(ctx)
	if err != nil {
		return err
	}
	cfg := wiring.Config{Config: parsed}

	// Providers: the stack's region, us-east-1 for CloudFront, WAF and DNSSEC, and the
	// secondary region for backup copies and the media replica (none in dev).
	regional, edge, secondary, env, err := providers(ctx, parsed)
	if err != nil {
		return err
	}
	inRegion := pulumi.Provider(regional)
	clusterName := env.Naming.Name("eks")

	// Network, peered with the account's deploy runner VPC (bootstrap/) so that CI reaches the
	// private EKS endpoint.
	runner, err := deployRunnerPeer(ctx, cfg.DeployRunner, inRegion)
	if err != nil {
		return err
	}
	netArgs, err := cfg.NetworkArgs(env, clusterName, runner)
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", netArgs, inRegion)
	if err != nil {
		return err
	}

	// Cluster: EKS in the private subnets. Its Kubernetes provider is what the platform
	// add-ons deploy with; its node security group is what the data stores admit.
	eks, err := cluster.New(ctx, "cluster", cfg.ClusterArgs(env, clusterName, net), inRegion)
	if err != nil {
		return err
	}

	// Data stores: PostgreSQL in the isolated database subnets, Redis in the private ones.
	// Only the security groups named here reach them, each through an ingress rule created
	// after the cluster; the stores themselves start with the network.
	dataClients := pulumi.StringArray{eks.NodeSecurityGroupID}
	db, err := database.New(ctx, "database", cfg.DatabaseArgs(env, net, dataClients), inRegion)
	if err != nil {
		return err
	}
	redis, err := cache.New(ctx, "cache", cfg.CacheArgs(env, net, dataClients), inRegion)
	if err != nil {
		return err
	}

	// DNS: the stack's public zone, delegated from its parent domain, and the certificates
	// issued through it for the load balancers and CloudFront.
	var zone *dns.Zone
	if cfg.DNS.Domain != "" {
		if zone, err = dns.New(ctx, "dns", cfg.DNSArgs(env, edge), inRegion); err != nil {
			return err
		}
	}

	// Media: originals, proxies and thumbnails in S3, served by CloudFront under the stack's domain.
	media, err := mediastore.New(ctx, "mediastore", cfg.MediaStoreArgs(env, secondary), inRegion)
	if err != nil {
		return err
	}

	// Nothing is lost: AWS Backup of PostgreSQL and the originals, copied to the secondary
	// region; in dev, the stack sleeps outside working hours.
	var backups *backup.Backup
	if cfg.Backup.IsEnabled() {
		if backups, err = backup.New(ctx, "backup", cfg.BackupArgs(env, db, media, secondary), inRegion); err != nil {
			return err
		}
	}
	if cfg.OffHours.Enabled {
		if _, err := offhours.New(ctx, "offhours", cfg.OffHoursArgs(env, eks, db), inRegion); err != nil {
			return err
		}
	}
	edgeCDN, err := cdn.New(ctx, "cdn", cfg.CDNArgs(env, edge, media, zone), inRegion)
	if err != nil {
		return err
	}

	// Media processing: new media become proxies and thumbnails in the FFmpeg Lambda, or as
	// Kubernetes Jobs on the media nodes when they are too long or too large for it.
	pipeline, err := mediaprocessing.New(ctx, "mediaprocessing", cfg.MediaProcessingArgs(env, net, media, eks), inRegion)
	if err != nil {
		return err
	}

	// Platform add-ons on the cluster. Secrets first: the application namespace and the
	// store that the other add-ons' ExternalSecrets read from.
	// The database's master secret is not among them: services log in to PostgreSQL as their
	// own users with IAM database authentication, and the master secret stays in Secrets
	// Manager for administrators (docs/security.md, "Database users").
	platformSecrets, err := secrets.New(ctx, "secrets", cfg.SecretsArgs(env, eks, []secrets.ApplicationSecret{
		{Name: "redis", SecretArn: redis.AuthSecretArn, KmsKeyArn: redis.KmsKeyArn, PerService: true},
		// The CDN does not expose its signing secret's key: the grant is pinned to the
		// secret by its encryption context instead.
		{Name: "cdn-signing-key", SecretArn: edgeCDN.SigningKeySecretArn, PerService: true},
	}), inRegion)
	if err != nil {
		return err
	}

	// CineGit's services: one IRSA role each, with exactly its configured permissions, its
	// service account, and the secrets it reads in its namespace.
	apps, err := services.New(ctx, "services", cfg.ServicesArgs(env, eks, platformSecrets, db, media, pipeline, map[string]pulumi.StringInput{
		"redis":           redis.AuthSecretArn,
		"cdn-signing-key": edgeCDN.SigningKeySecretArn,
	}), inRegion)
	if err != nil {
		return err
	}

	// Ingress: ALBs for the GitOps repository's Ingresses behind the regional WAF, their names
	// in the stack's zone, and the application namespace closed by network policy.
	routes, err := ingress.New(ctx, "ingress", cfg.IngressArgs(env, eks, net, zone, media, platformSecrets), inRegion)
	if err != nil {
		return err
	}

	// Observability: metrics, logs, dashboards and alerts, to the pipeline's alarm topic.
	monitoring, err := observability.New(ctx, "observability", cfg.ObservabilityArgs(env, eks, platformSecrets, pipeline, edgeCDN), inRegion)
	if err != nil {
		return err
	}

	// GitOps: Argo CD syncs the applications from the GitOps repository; they read the
	// infrastructure's outputs from a ConfigMap and their credentials from the synced Secrets.
	deployments, err := gitops.New(ctx, "gitops", cfg.GitOpsArgs(env, eks, platformSecrets, appOutputs(cfg, zone, routes, media, edgeCDN, db, redis, pipeline, monitoring, apps)), inRegion)
	if err != nil {
		return err
	}

	// Exports, named for their consumers.
	components{
		net: net, eks: eks, db: db, redis: redis, zone: zone, media: media, backups: backups, routes: routes,
		cdn: edgeCDN, pipeline: pipeline, apps: apps, secrets: platformSecrets, monitoring: monitoring, gitops: deployments,
	}.export(ctx, cfg)
	return nil
}

// appOutputs is what CineGit's services read from the infrastructure-outputs ConfigMap: where
// the data stores, buckets, CDN and queue are, and the names of the Secrets that hold their
// credentials.
func appOutputs(cfg wiring.Config, zone *dns.Zone, routes *ingress.Ingress, media *mediastore.MediaStore, edgeCDN *cdn.CDN, db *database.Database,
	redis *cache.Cache, pipeline *mediaprocessing.MediaProcessing, monitoring *observability.Observability, apps *services.Services) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{
		"awsRegion":            pulumi.String(cfg.Region),
		"domain":               pulumi.String(cfg.DNS.Domain),
		"certificateArn":       cfg.CertificateArn(zone),
		"ingressClass":         routes.IngressClass,
		"albGroupName":         routes.GroupName,
		"albWafAclArn":         routes.WebAclArn,
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
		"databaseIamAuth":      pulumi.String("true"),
		"cachePrimaryEndpoint": redis.PrimaryEndpoint,
		"cacheReaderEndpoint":  redis.ReaderEndpoint,
		"cachePort":            pulumi.Sprintf("%d", redis.Port),
		"mediaQueueUrl":        pipeline.QueueURL,
		"mediaJobsNamespace":   pipeline.JobsNamespace,
		"mediaJobsRoleArn":     pipeline.JobsRoleArn,
		"lokiUrl":              monitoring.LokiURL,
		"prometheusUrl":        monitoring.PrometheusURL,
	}
	// Per service: its role, its service account, its database user and the Secrets it reads
	// (serviceSecret.<service>.<secret>: the Kubernetes Secret's name).
	for _, s := range cfg.Services {
		out["serviceRoleArn."+s.Name] = apps.RoleArns.MapIndex(pulumi.String(s.Name))
		out["serviceAccount."+s.Name] = pulumi.String(s.ServiceAccount)
		for _, p := range s.Permissions {
			switch p.Action {
			case grant.ConnectDatabase:
				out["databaseUser."+s.Name] = pulumi.String(p.DBUser)
			case grant.ReadSecret:
				out["serviceSecret."+s.Name+"."+p.Secret] = pulumi.String(services.SecretName(s.Name, p.Secret))
			}
		}
	}
	return out
}

// providers makes the AWS providers, which all tag what they create, and the stack's
// environment (names, tags, account, partition, region) that every component takes.
func providers(ctx *pulumi.Context, cfg *config.Config) (regional, edge, secondary *aws.Provider, env stackenv.Env, err error) {
	// The environment tag is the stack's environment (its name unless cinegit:environment says
	// it is another instance of one, like prod's region-loss recovery); names are the stack's.
	baseTags := tags.Set(tags.Base(cfg.Project, cfg.Environment, cfg.Tags))
	provider := func(name, region string) (*aws.Provider, error) {
		return aws.NewProvider(ctx, name, &aws.ProviderArgs{
			Region: pulumi.String(region),
			// Credentials for any other account fail here, before the first change.
			AllowedAccountIds: pulumi.StringArray{pulumi.String(cfg.AccountID)},
			DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
		})
	}
	if regional, err = provider("aws", cfg.Region); err != nil {
		return
	}
	if edge, err = provider("aws-us-east-1", "us-east-1"); err != nil {
		return
	}
	if region := cfg.Backup.SecondaryRegion; region != "" {
		if secondary, err = provider("aws-"+region, region); err != nil {
			return
		}
	}
	identity, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return
	}
	partition, err := aws.GetPartition(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return
	}
	env = stackenv.Env{
		Naming:    naming.New(cfg.Project, cfg.Stack),
		Tags:      baseTags,
		AccountID: identity.AccountId,
		Partition: partition.Partition,
		Region:    cfg.Region,
	}
	return
}

// components are the stack's components, for its exports.
type components struct {
	net        *network.Network
	eks        *cluster.Cluster
	db         *database.Database
	redis      *cache.Cache
	zone       *dns.Zone // nil without dns.domain
	media      *mediastore.MediaStore
	backups    *backup.Backup // nil with backups off
	routes     *ingress.Ingress
	cdn        *cdn.CDN
	pipeline   *mediaprocessing.MediaProcessing
	apps       *services.Services
	secrets    *secrets.Secrets
	monitoring *observability.Observability
	gitops     *gitops.GitOps
}

// export publishes the stack outputs, named for their consumers (the GitOps repository,
// operators, the delegation of the zone, CI).
func (c components) export(ctx *pulumi.Context, cfg wiring.Config) {
	ctx.Export("vpcId", c.net.VpcID)
	ctx.Export("availabilityZones", c.net.AvailabilityZones)
	ctx.Export("publicSubnetIds", c.net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", c.net.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", c.net.DatabaseSubnetIDs)
	ctx.Export("clusterName", c.eks.ClusterName)
	ctx.Export("clusterEndpoint", c.eks.Endpoint)
	ctx.Export("oidcProviderArn", c.eks.OidcProviderArn)
	ctx.Export("kubeconfig", pulumi.ToSecret(c.eks.Kubeconfig))
	ctx.Export("databaseEndpoint", c.db.Endpoint)
	ctx.Export("databasePort", c.db.Port)
	ctx.Export("databaseName", c.db.DBName)
	ctx.Export("databaseMasterSecretArn", c.db.MasterSecretArn)
	ctx.Export("databaseSecurityGroupId", c.db.SecurityGroupID)
	ctx.Export("cachePrimaryEndpoint", c.redis.PrimaryEndpoint)
	ctx.Export("cacheReaderEndpoint", c.redis.ReaderEndpoint)
	ctx.Export("cachePort", c.redis.Port)
	ctx.Export("cacheAuthSecretArn", c.redis.AuthSecretArn)
	ctx.Export("cacheSecurityGroupId", c.redis.SecurityGroupID)
	ctx.Export("mediaBucketName", c.media.MediaBucketName)
	ctx.Export("mediaUploadEndpoint", c.media.UploadEndpoint)
	ctx.Export("mediaBucketArn", c.media.MediaBucketArn)
	ctx.Export("proxiesBucketName", c.media.ProxiesBucketName)
	ctx.Export("proxiesBucketArn", c.media.ProxiesBucketArn)
	ctx.Export("thumbnailsBucketName", c.media.ThumbnailsBucketName)
	ctx.Export("thumbnailsBucketArn", c.media.ThumbnailsBucketArn)
	ctx.Export("logsBucketName", c.media.LogsBucketName)
	ctx.Export("mediaKmsKeyArn", c.media.KmsKeyArn)
	ctx.Export("mediaReplicaBucketName", c.media.ReplicaBucketName)
	// scripts/copy-back-media.sh: the role its S3 Batch Operations job runs as, and where in
	// logsBucketName the job's completion report goes ("" without replication).
	ctx.Export("mediaCopyBackRoleArn", c.media.CopyBackRoleArn)
	ctx.Export("mediaCopyBackReportPrefix", c.media.CopyBackReportPrefix)
	if c.backups != nil {
		ctx.Export("backupVaultArn", c.backups.VaultArn)
		ctx.Export("backupCopyVaultArn", c.backups.CopyVaultArn)
		// The role AWS Backup restores with (scripts/restore-media-backup.sh).
		ctx.Export("backupRoleArn", c.backups.RoleArn)
	}
	if c.zone != nil {
		ctx.Export("dnsZoneId", c.zone.ZoneID)
		ctx.Export("dnsNameServers", c.zone.NameServers)
		ctx.Export("dnsDsRecord", c.zone.DSRecord)
		ctx.Export("dnsStatus", c.zone.Status)
	}
	ctx.Export("certificateArn", cfg.CertificateArn(c.zone))
	ctx.Export("albWafAclArn", c.routes.WebAclArn)
	ctx.Export("ingressClass", c.routes.IngressClass)
	ctx.Export("cdnDistributionId", c.cdn.DistributionID)
	ctx.Export("cdnDomainName", c.cdn.DomainName)
	ctx.Export("cdnKeyGroupId", c.cdn.KeyGroupID)
	ctx.Export("cdnPublicKeyIds", c.cdn.PublicKeyIDs)
	ctx.Export("cdnWebAclArn", c.cdn.WebAclArn)
	ctx.Export("cdnSigningKeySecretArn", c.cdn.SigningKeySecretArn)
	ctx.Export("mediaQueueUrl", c.pipeline.QueueURL)
	ctx.Export("mediaFunctionName", c.pipeline.FunctionName)
	ctx.Export("mediaFunctionStatus", c.pipeline.FunctionStatus)
	ctx.Export("mediaEcrRepositoryUrl", c.pipeline.EcrRepositoryURL)
	ctx.Export("mediaJobsRoleArn", c.pipeline.JobsRoleArn)
	ctx.Export("mediaAlarmTopicArn", c.pipeline.AlarmTopicArn)
	ctx.Export("serviceRoleArns", c.apps.RoleArns)
	ctx.Export("externalSecretsRoleArn", c.secrets.RoleArn)
	ctx.Export("platformSecretsKmsKeyArn", c.secrets.KmsKeyArn)
	ctx.Export("lokiBucketName", c.monitoring.LokiBucketName)
	ctx.Export("grafanaAdminSecretArn", c.monitoring.GrafanaAdminSecretArn)
	ctx.Export("grafanaUrl", c.monitoring.GrafanaURL)
	ctx.Export("argocdNamespace", c.gitops.Namespace)
	ctx.Export("gitopsOidcSecretArn", c.gitops.OIDCSecretArn)
	ctx.Export("gitopsRepositorySecretArn", c.gitops.RepositorySecretArn)
}
