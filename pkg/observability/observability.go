// Package observability is CineGit's monitoring on the cluster: Prometheus, Alertmanager and
// Grafana (the kube-prometheus-stack chart), Loki storing logs in an S3 bucket of its own,
// Grafana Alloy collecting every node's pod logs, Grafana's data sources (Prometheus, Loki,
// CloudWatch), dashboards as code and alert rules.
//
// Nothing here holds a credential in Helm values: Grafana's admin password is generated at
// deploy time into Secrets Manager and reaches Grafana through an ExternalSecret; Loki, Grafana
// (CloudWatch) and Alertmanager (SNS) call AWS with IRSA roles scoped to what they touch.
package observability

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Chart repositories.
const (
	PrometheusCommunityRepo = "https://prometheus-community.github.io/helm-charts"
	GrafanaRepo             = "https://grafana.github.io/helm-charts"
	// GrafanaCommunityRepo holds the open-source Loki chart: grafana/helm-charts' loki chart is
	// maintained for Grafana Enterprise Logs only since March 2026 (grafana/loki#20705; the
	// chart's README, "From 7.x to 8.0.0", in grafana-community/helm-charts).
	GrafanaCommunityRepo = "https://grafana-community.github.io/helm-charts"
	// LokiMonolithic runs every Loki target in one process (the chart's deploymentMode), replicated
	// for high availability (https://grafana.com/docs/loki/latest/get-started/deployment-modes/).
	LokiMonolithic = "Monolithic"
)

// Release names; in-cluster service names derive from them.
const (
	StackRelease = "kube-prometheus-stack"
	// OperatorCRDsRelease installs the Prometheus Operator's CRDs (see operatorCRDsChart).
	OperatorCRDsRelease = "prometheus-operator-crds"
	LokiRelease         = "loki"
	AlloyRelease        = "alloy"
)

// Service accounts that assume IRSA roles.
const (
	LokiServiceAccount         = "loki"
	GrafanaServiceAccount      = "grafana"
	AlertmanagerServiceAccount = "alertmanager"
)

// Args configure the component.
type Args struct {
	Env stackenv.Env
	// KubernetesProvider talks to the cluster.
	KubernetesProvider *kubernetes.Provider
	// OidcProviderArn and OidcIssuer are the cluster's, for the IRSA roles.
	OidcProviderArn pulumi.StringInput
	OidcIssuer      pulumi.StringInput
	// ClusterName labels every metric and log line (external label `cluster`).
	ClusterName pulumi.StringInput
	// StorageClass is the encrypted gp3 StorageClass of the persistent volumes.
	StorageClass string
	// StorageReady are what a PersistentVolumeClaim needs to bind: the EBS CSI driver and the
	// StorageClass (the cluster's Ready.Storage). The releases whose pods mount volumes
	// (kube-prometheus-stack, Loki) wait for them.
	StorageReady []pulumi.Resource
	// Namespace holds every observability workload.
	Namespace string

	Prometheus   Prometheus
	Alertmanager Alertmanager
	Grafana      Grafana
	Loki         Loki
	// AlloyChartVersion pins the log collector's chart.
	AlloyChartVersion string

	// SecretStore is the ClusterSecretStore's name (an output of the secrets component, so
	// that the ExternalSecret here waits for it); SecretsKmsKeyArn is the key the store's
	// role may decrypt with; SecretRefreshInterval is how often the store re-reads secrets.
	SecretStore           pulumi.StringInput
	SecretsKmsKeyArn      pulumi.StringInput
	SecretRefreshInterval string

	// Dashboards show these namespaces and AWS resources.
	Dashboards Dashboards
	// ApplicationMetricsPorts are the ports Prometheus scrapes in Dashboards.ApplicationNamespace
	// (which admits the monitoring namespace on them).
	ApplicationMetricsPorts []int
	// Karpenter, when set, is scraped (a ServiceMonitor beside its Service) and alerted on.
	Karpenter *MetricsTarget
	// Network is where the cluster's pods live: the monitoring namespaces deny by default and
	// allow only what their pods need.
	Network kube.ClusterNetwork
	// Protect marks the Loki bucket and its key with Pulumi's protect option.
	Protect bool
}

// MetricsTarget is a component outside the monitoring namespaces that Prometheus scrapes
// through its Service: the Service's namespace and labels (also its pods' labels), and the
// metrics port's name and number.
type MetricsTarget struct {
	Namespace string
	Labels    map[string]string
	PortName  string
	Port      int
}

// Prometheus sizes Prometheus; ChartVersion pins kube-prometheus-stack.
type Prometheus struct {
	ChartVersion string
	// Retention is a Prometheus duration ("15d").
	Retention  string
	StorageGiB int
	Replicas   int
	Resources  kube.Resources
}

// Alertmanager sizes Alertmanager and says where alerts go.
type Alertmanager struct {
	Replicas   int
	StorageGiB int
	// SNSTopicArn is the notification channel: the SNS topic the AWS-side CloudWatch alarms of
	// the other components publish to. Nil: no receiver (alerts stay in Alertmanager/Grafana).
	SNSTopicArn pulumi.StringInput
	// SNSTopicKmsKeyArn is the topic's encryption key, if it has a customer-managed one.
	SNSTopicKmsKeyArn pulumi.StringInput
}

// Grafana sizes Grafana.
type Grafana struct {
	StorageGiB int
	// AdminSecretRecoveryWindowDays is the admin secret's deletion window (0 or 7-30).
	AdminSecretRecoveryWindowDays int
}

// Loki sizes Loki and its bucket.
type Loki struct {
	ChartVersion string
	// DeploymentMode is the chart's deploymentMode; only LokiMonolithic is supported.
	DeploymentMode string
	// Replicas of the monolithic Loki: 1, or 3 and more (each write replicated three times).
	Replicas int
	// CredentialRecoveryWindowDays is the deletion window of the clients' credential secret
	// (0 or 7-30).
	CredentialRecoveryWindowDays int
	// RetentionDays keeps logs; the bucket expires objects a day later.
	RetentionDays       int
	StorageGiB          int
	ChunksCacheMemoryMB int
	ForceDestroy        bool
	Resources           kube.Resources
}

// Dashboards are what the preconfigured dashboards look at.
type Dashboards struct {
	// ApplicationNamespace is where CineGit's workloads run.
	ApplicationNamespace string
	// MediaJobsNamespace is where the EKS media jobs run.
	MediaJobsNamespace string
	// CDNDistributionID is the CloudFront distribution.
	CDNDistributionID pulumi.StringInput
}

// Observability is the component.
type Observability struct {
	pulumi.ResourceState

	// Namespace resolves once the namespace exists.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
	// LokiBucketName and LokiBucketArn hold the logs.
	LokiBucketName pulumi.StringOutput `pulumi:"lokiBucketName"`
	LokiBucketArn  pulumi.StringOutput `pulumi:"lokiBucketArn"`
	// LokiRoleArn, GrafanaRoleArn and (with a receiver) AlertmanagerRoleArn are the IRSA roles.
	LokiRoleArn         pulumi.StringOutput `pulumi:"lokiRoleArn"`
	GrafanaRoleArn      pulumi.StringOutput `pulumi:"grafanaRoleArn"`
	AlertmanagerRoleArn pulumi.StringOutput `pulumi:"alertmanagerRoleArn"`
	// GrafanaAdminSecretArn holds Grafana's admin credential.
	GrafanaAdminSecretArn pulumi.StringOutput `pulumi:"grafanaAdminSecretArn"`
	// LokiURL, PrometheusURL and GrafanaURL are in-cluster endpoints.
	LokiURL       pulumi.StringOutput `pulumi:"lokiUrl"`
	PrometheusURL pulumi.StringOutput `pulumi:"prometheusUrl"`
	GrafanaURL    pulumi.StringOutput `pulumi:"grafanaUrl"`
}

func (a Args) check() error {
	switch {
	case a.KubernetesProvider == nil:
		return fmt.Errorf("KubernetesProvider is required")
	case a.OidcProviderArn == nil || a.OidcIssuer == nil || a.ClusterName == nil:
		return fmt.Errorf("OidcProviderArn, OidcIssuer and ClusterName are required")
	case a.Namespace == "" || a.StorageClass == "":
		return fmt.Errorf("the Namespace and StorageClass are required")
	case a.SecretStore == nil || a.SecretsKmsKeyArn == nil || a.SecretRefreshInterval == "":
		return fmt.Errorf("SecretStore, SecretsKmsKeyArn and SecretRefreshInterval are required (Grafana's admin credential comes through them)")
	case a.Prometheus.Retention == "" || a.Prometheus.StorageGiB < 1 || a.Prometheus.Replicas < 1:
		return fmt.Errorf("Prometheus needs Retention, StorageGiB and Replicas")
	case a.Alertmanager.Replicas < 1 || a.Alertmanager.StorageGiB < 1:
		return fmt.Errorf("Alertmanager needs Replicas and StorageGiB")
	case a.Grafana.StorageGiB < 1:
		return fmt.Errorf("Grafana needs StorageGiB")
	case a.Loki.RetentionDays < 1 || a.Loki.Replicas < 1 || a.Loki.StorageGiB < 1:
		return fmt.Errorf("Loki needs RetentionDays, Replicas and StorageGiB")
	case a.Loki.DeploymentMode != LokiMonolithic:
		return fmt.Errorf("Loki deployment mode %q is not supported (only %s)", a.Loki.DeploymentMode, LokiMonolithic)
	case a.Loki.Replicas == 2:
		return fmt.Errorf("two Loki replicas cannot hold a write quorum: 1, or 3 and more")
	case a.Dashboards.ApplicationNamespace == "" || a.Dashboards.MediaJobsNamespace == "" || a.Dashboards.CDNDistributionID == nil:
		return fmt.Errorf("Dashboards need ApplicationNamespace, MediaJobsNamespace and CDNDistributionID")
	case a.Alertmanager.SNSTopicKmsKeyArn != nil && a.Alertmanager.SNSTopicArn == nil:
		return fmt.Errorf("SNSTopicKmsKeyArn without SNSTopicArn")
	}
	for chart, v := range map[string]string{"kube-prometheus-stack": a.Prometheus.ChartVersion, "loki": a.Loki.ChartVersion, "alloy": a.AlloyChartVersion} {
		if !kube.ExactVersion.MatchString(v) {
			return fmt.Errorf("%s chart version %q is not exact", chart, v)
		}
	}
	return a.Network.Check()
}

// HostNamespace is the namespace of the host agents (node-exporter, Alloy) beside the
// monitoring namespace ns.
func HostNamespace(ns string) string { return ns + "-host" }

// New creates the component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Observability, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("observability %s: %w", name, err)
	}
	o := &Observability{}
	if err := ctx.RegisterComponentResource("cinegit:observability:Observability", name, o, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, env: args.Env, parent: pulumi.Parent(o)}
	b.k8s = []pulumi.ResourceOption{b.parent, pulumi.Provider(args.KubernetesProvider)}

	// Monitoring runs restricted. Only the two agents that need the host run privileged, in a
	// namespace of their own: node-exporter (the host's network and PID namespaces) and Alloy,
	// the log collector (the host's /var/log).
	ns, err := kube.NewNamespace(ctx, name, kube.NamespaceArgs{
		Name: args.Namespace, Environment: b.env.Naming.Stack, Purpose: "monitoring", PodSecurity: kube.Restricted,
	}, b.k8s...)
	if err != nil {
		return nil, err
	}
	b.ns = kube.NamespaceName(ns)
	hostNs, err := kube.NewNamespace(ctx, name+"-host", kube.NamespaceArgs{
		Name: HostNamespace(args.Namespace), Environment: b.env.Naming.Stack, Purpose: "monitoring-host-agents", PodSecurity: kube.Privileged,
	}, b.k8s...)
	if err != nil {
		return nil, err
	}
	b.hostNs = kube.NamespaceName(hostNs)
	if err := kube.NewNetworkPolicies(ctx, name, b.ns, b.monitoringPolicies(), b.k8s...); err != nil {
		return nil, err
	}
	if err := kube.NewNetworkPolicies(ctx, name+"-host", b.hostNs, b.hostPolicies(), b.k8s...); err != nil {
		return nil, err
	}

	if err := b.logs(); err != nil {
		return nil, err
	}
	if err := b.metrics(); err != nil {
		return nil, err
	}
	if err := b.dashboards(); err != nil {
		return nil, err
	}

	svc := func(service string, port int) pulumi.StringOutput {
		return pulumi.Sprintf("http://%s.%s.svc.cluster.local:%d", service, b.ns, port)
	}
	o.Namespace = b.ns
	o.LokiBucketName = b.lokiBucketName
	o.LokiBucketArn = b.lokiBucketArn
	o.LokiRoleArn = b.lokiRoleArn
	o.GrafanaRoleArn = b.grafanaRoleArn
	o.AlertmanagerRoleArn = b.alertmanagerRoleArn
	o.GrafanaAdminSecretArn = b.grafanaAdminSecretArn
	o.LokiURL = svc(LokiRelease+"-gateway", 80)
	o.PrometheusURL = svc(StackRelease+"-prometheus", 9090)
	o.GrafanaURL = svc(StackRelease+"-grafana", 80)
	return o, ctx.RegisterResourceOutputs(o, pulumi.Map{
		"namespace":             o.Namespace,
		"lokiBucketName":        o.LokiBucketName,
		"lokiBucketArn":         o.LokiBucketArn,
		"lokiRoleArn":           o.LokiRoleArn,
		"grafanaRoleArn":        o.GrafanaRoleArn,
		"alertmanagerRoleArn":   o.AlertmanagerRoleArn,
		"grafanaAdminSecretArn": o.GrafanaAdminSecretArn,
		"lokiUrl":               o.LokiURL,
		"prometheusUrl":         o.PrometheusURL,
		"grafanaUrl":            o.GrafanaURL,
	})
}

// builder carries what the parts of the component share while they are created.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   Args
	env    stackenv.Env
	parent pulumi.ResourceOption
	k8s    []pulumi.ResourceOption
	ns     pulumi.StringOutput
	// hostNs is the privileged namespace of the agents that need the host.
	hostNs pulumi.StringOutput

	lokiBucketName, lokiBucketArn, lokiRoleArn pulumi.StringOutput
	grafanaRoleArn, alertmanagerRoleArn        pulumi.StringOutput
	grafanaAdminSecretArn                      pulumi.StringOutput
	// Loki's client credential: its secret and the ExternalSecrets that write its parts (the
	// releases that read them wait for them).
	lokiCredentialArn                                     pulumi.StringOutput
	lokiGatewaySecret, lokiGrafanaSecret, lokiAlloySecret pulumi.Resource
}
