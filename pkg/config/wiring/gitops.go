package wiring

import (
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/gitops"
	"github.com/cinegit/infrastructure/pkg/observability"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// SecretsArgs is the Secrets component's input: External Secrets on the cluster, the
// application namespace, and the application secrets it syncs there.
func (c Config) SecretsArgs(env stackenv.Env, eks *cluster.Cluster, appSecrets []secrets.ApplicationSecret) secrets.Args {
	g, es := c.GitOps, c.GitOps.ExternalSecrets
	return secrets.Args{
		Env:                  env,
		KubernetesProvider:   eks.KubernetesProvider,
		OidcProviderArn:      eks.OidcProviderArn,
		OidcIssuer:           eks.OidcIssuer,
		ChartVersion:         es.ChartVersion,
		Namespace:            es.Namespace,
		Replicas:             es.Replicas,
		RefreshInterval:      es.RefreshInterval,
		ApplicationNamespace: g.ApplicationNamespace,
		ConsumerNamespaces:   c.secretConsumers(),
		ApplicationSecrets:   appSecrets,
		Network:              c.ClusterNetwork(eks),
		Protect:              c.Protect,
	}
}

// secretConsumers are the namespaces besides the application namespace whose ExternalSecrets
// the store serves: observability's and its host agents' (Alloy's Loki credential), Argo CD's,
// and every service's (their Secrets).
func (c Config) secretConsumers() []string {
	out := []string{c.Observability.Namespace, observability.HostNamespace(c.Observability.Namespace), c.GitOps.Namespace}
	for _, s := range c.Services {
		if s.Namespace != c.GitOps.ApplicationNamespace && !slices.Contains(out, s.Namespace) {
			out = append(out, s.Namespace)
		}
	}
	return out
}

// GitOpsArgs is the GitOps component's input: Argo CD on the cluster, syncing the GitOps
// repository into the application namespace, with the infrastructure's outputs as a ConfigMap.
func (c Config) GitOpsArgs(env stackenv.Env, eks *cluster.Cluster, store *secrets.Secrets, outputs map[string]pulumi.StringInput) gitops.Args {
	g := c.GitOps
	var sso *gitops.SSO
	if s := g.SSO; s != nil {
		sso = &gitops.SSO{URL: s.URL, Issuer: s.Issuer, ClientID: s.ClientID, AdminGroups: s.AdminGroups}
	}
	return gitops.Args{
		Env:                      env,
		KubernetesProvider:       eks.KubernetesProvider,
		ChartVersion:             g.ChartVersion,
		Namespace:                g.Namespace,
		HA:                       g.IsHA(),
		ControllerResources:      resources(g.ControllerResources),
		RepoServerResources:      resources(g.RepoServerResources),
		RepoURL:                  g.RepoURL,
		Revision:                 g.Revision,
		Path:                     g.Path,
		RepositoryCredentials:    g.RepositoryCredentials,
		ApplicationNamespace:     store.ApplicationNamespace,
		DestinationNamespaces:    g.DestinationNamespaces,
		SSO:                      sso,
		SecretStore:              store.StoreName,
		SecretsKmsKeyArn:         store.KmsKeyArn,
		SecretRefreshInterval:    g.ExternalSecrets.RefreshInterval,
		SecretRecoveryWindowDays: *g.SecretRecoveryWindowDays,
		Outputs:                  outputs,
		Network:                  c.ClusterNetwork(eks),
	}
}
