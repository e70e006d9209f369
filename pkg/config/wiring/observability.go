package wiring

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cdn"
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/mediaprocessing"
	"github.com/cinegit/infrastructure/pkg/observability"
	"github.com/cinegit/infrastructure/pkg/secrets"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ObservabilityArgs is the Observability component's input: metrics, logs, dashboards and
// alerts on the cluster. Alerts go to the media pipeline's alarm topic when the receiver is SNS,
// where the AWS-side CloudWatch alarms go too; Grafana's credentials come through store.
func (c Config) ObservabilityArgs(env stackenv.Env, eks *cluster.Cluster, store *secrets.Secrets,
	pipeline *mediaprocessing.MediaProcessing, edge *cdn.CDN) observability.Args {
	o, g := c.Observability, c.GitOps
	alerts := observability.Alertmanager{Replicas: o.Alertmanager.Replicas, StorageGiB: o.Alertmanager.StorageGiB}
	if o.Alertmanager.Receiver == config.ReceiverSNS {
		alerts.SNSTopicArn, alerts.SNSTopicKmsKeyArn = pipeline.AlarmTopicArn, pipeline.KmsKeyArn
	}
	// Without the edge (cdn.edge false) there is no distribution: the dashboards' CloudFront
	// panels name none and stay empty.
	var distribution pulumi.StringInput = edge.DistributionID
	if !*c.CDN.Edge {
		distribution = pulumi.String(NoDistribution)
	}
	return observability.Args{
		Env:                env,
		KubernetesProvider: eks.KubernetesProvider,
		OidcProviderArn:    eks.OidcProviderArn,
		OidcIssuer:         eks.OidcIssuer,
		ClusterName:        eks.ClusterName,
		StorageClass:       cluster.DefaultStorageClass,
		StorageReady:       eks.Ready.Storage,
		Namespace:          o.Namespace,
		Prometheus: observability.Prometheus{
			ChartVersion: o.Prometheus.ChartVersion, Retention: o.Prometheus.Retention,
			StorageGiB: o.Prometheus.StorageGiB, Replicas: o.Prometheus.Replicas,
			Resources: resources(o.Prometheus.Resources),
		},
		Alertmanager: alerts,
		Grafana: observability.Grafana{
			StorageGiB: o.Grafana.StorageGiB, AdminSecretRecoveryWindowDays: *o.Grafana.AdminSecretRecoveryWindowDays,
		},
		Loki: observability.Loki{
			ChartVersion: o.Loki.ChartVersion, DeploymentMode: o.Loki.DeploymentMode,
			Replicas: o.Loki.Replicas, RetentionDays: o.Loki.RetentionDays(), StorageGiB: o.Loki.StorageGiB,
			ChunksCacheMemoryMB: *o.Loki.ChunksCacheMemoryMB, ForceDestroy: o.Loki.ForceDestroy,
			CredentialRecoveryWindowDays: *o.Loki.CredentialRecoveryWindowDays,
			Resources:                    resources(o.Loki.Resources),
		},
		AlloyChartVersion:     o.Alloy.ChartVersion,
		SecretStore:           store.StoreName,
		SecretsKmsKeyArn:      store.KmsKeyArn,
		SecretRefreshInterval: g.ExternalSecrets.RefreshInterval,
		Dashboards: observability.Dashboards{
			ApplicationNamespace: g.ApplicationNamespace,
			MediaJobsNamespace:   mediaprocessing.Namespace,
			CDNDistributionID:    distribution,
		},
		ApplicationMetricsPorts: c.Ingress.NetworkPolicy.MetricsPorts,
		Karpenter: &observability.MetricsTarget{
			Namespace: cluster.SystemNamespace, Labels: cluster.KarpenterMetrics.Labels,
			PortName: cluster.KarpenterMetrics.PortName, Port: cluster.KarpenterMetrics.Port,
		},
		Network: c.ClusterNetwork(eks),
		Protect: c.Protect,
	}
}

// NoDistribution is the dashboards' distribution without the CDN's edge.
const NoDistribution = "none"

func resources(r config.ResourcesConfig) kube.Resources {
	return kube.NewResources(r.Requests.CPU, r.Requests.Memory, r.Limits.CPU, r.Limits.Memory)
}
