package wiring

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/services"
	"github.com/cinegit/infrastructure/pkg/services/grant"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ServicesArgs is the Services component's input: each configured service's identity, and the
// buckets, database, queue and secrets its permissions name. appSecrets are the Secrets
// Manager secrets a readSecret may name, by name (ServiceSecrets).
func (c Config) ServicesArgs(env stackenv.Env, eks *cluster.Cluster, store *secrets.Secrets, db *database.Database,
	media *mediastore.MediaStore, pipeline *mediaprocessing.MediaProcessing, appSecrets map[string]pulumi.StringInput) services.Args {
	list := make([]services.Service, 0, len(c.Services))
	for _, s := range c.Services {
		perms := make([]services.Permission, 0, len(s.Permissions))
		for _, p := range s.Permissions {
			perms = append(perms, services.Permission{Action: p.Action, Bucket: p.Bucket, DBUser: p.DBUser, Secret: p.Secret})
		}
		list = append(list, services.Service{Name: s.Name, Namespace: s.Namespace, ServiceAccount: s.ServiceAccount, Permissions: perms})
	}
	return services.Args{
		Env:                      env,
		KubernetesProvider:       eks.KubernetesProvider,
		OidcProviderArn:          eks.OidcProviderArn,
		OidcIssuer:               eks.OidcIssuer,
		Services:                 list,
		ApplicationNamespace:     store.ApplicationNamespace,
		ApplicationNamespaceName: c.GitOps.ApplicationNamespace,
		Store:                    store.StoreName,
		RefreshInterval:          c.GitOps.ExternalSecrets.RefreshInterval,
		Secrets:                  appSecrets,
		Buckets: map[string]services.Bucket{
			grant.MediaBucket:      {Arn: media.MediaBucketArn, KmsKeyArn: media.KmsKeyArn},
			grant.ProxiesBucket:    {Arn: media.ProxiesBucketArn, KmsKeyArn: media.KmsKeyArn},
			grant.ThumbnailsBucket: {Arn: media.ThumbnailsBucketArn, KmsKeyArn: media.KmsKeyArn},
		},
		UploadsPrefix:      c.Media.OriginalsPrefix,
		DatabaseResourceID: db.ResourceID,
		QueueArn:           pipeline.QueueArn,
		QueueKmsKeyArn:     pipeline.KmsKeyArn,
	}
}
