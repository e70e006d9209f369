package observability

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kube"
)

// GrafanaAdminSecret is the Kubernetes Secret holding Grafana's admin credential, written by the
// External Secrets Operator from Secrets Manager.
const GrafanaAdminSecret = "grafana-admin"

// Grafana data source ids, which the dashboards refer to.
const (
	PrometheusUID = "prometheus"
	LokiUID       = "loki"
	CloudWatchUID = "cloudwatch"
)

// secretName is a Secrets Manager secret of the component, cinegit/<stack>/<parts>: under the
// stack's prefix, which the secrets operator reads.
func (b *builder) secretName(parts ...string) string {
	return strings.TrimPrefix(b.env.Naming.Path(parts...), "/")
}

// storeSecret writes value into a secret of that name under the platform secrets key, and
// returns the secret's ARN and the same ARN once the value exists, which ExternalSecrets read
// so that they wait for it.
func (b *builder) storeSecret(resource, name, description string, recoveryDays int, value pulumi.StringOutput) (arn, ready pulumi.StringOutput, err error) {
	secret, err := secretsmanager.NewSecret(b.ctx, resource, &secretsmanager.SecretArgs{
		Name:                 pulumi.String(name),
		Description:          pulumi.String(description),
		KmsKeyId:             b.args.SecretsKmsKeyArn,
		RecoveryWindowInDays: pulumi.Int(recoveryDays),
		Tags:                 b.env.Tags.Named(name).Map(),
	}, b.parent)
	if err != nil {
		return arn, ready, err
	}
	version, err := secretsmanager.NewSecretVersion(b.ctx, resource, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(value).(pulumi.StringOutput),
	}, b.parent)
	if err != nil {
		return arn, ready, err
	}
	ready = pulumi.All(secret.Arn, version.VersionId).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	return secret.Arn, ready, nil
}

// metrics creates Grafana's admin credential and IRSA role, Alertmanager's role (with a
// receiver), the kube-prometheus-stack release and the alert rules.
func (b *builder) metrics() error {
	adminSecret, err := b.grafanaAdmin()
	if err != nil {
		return err
	}
	grafanaRole, err := irsa.NewRole(b.ctx, b.name+"-grafana", irsa.Args{
		Env:             b.env,
		OidcProviderArn: b.args.OidcProviderArn,
		OidcIssuer:      b.args.OidcIssuer,
		Namespace:       b.args.Namespace,
		ServiceAccount:  GrafanaServiceAccount,
		Policy:          CloudWatchReadPolicy(),
		Description:     "Grafana: reads CloudWatch metrics for the CloudFront, RDS, ElastiCache, SQS and Lambda dashboards",
	}, b.parent)
	if err != nil {
		return err
	}
	b.grafanaRoleArn = grafanaRole.Arn

	var amRole *iam.Role
	b.alertmanagerRoleArn = pulumi.String("").ToStringOutput()
	if am := b.args.Alertmanager; am.SNSTopicArn != nil {
		amRole, err = irsa.NewRole(b.ctx, b.name+"-alertmanager", irsa.Args{
			Env:             b.env,
			OidcProviderArn: b.args.OidcProviderArn,
			OidcIssuer:      b.args.OidcIssuer,
			Namespace:       b.args.Namespace,
			ServiceAccount:  AlertmanagerServiceAccount,
			Policy:          PublishPolicy(am.SNSTopicArn, am.SNSTopicKmsKeyArn, b.env.Region),
			Description:     "Alertmanager: publishes alerts to the stack's alarm topic",
		}, b.parent)
		if err != nil {
			return err
		}
		b.alertmanagerRoleArn = amRole.Arn
	}

	var amRoleArn pulumi.StringInput
	if amRole != nil {
		amRoleArn = amRole.Arn
	}
	crdsVersion, err := OperatorCRDsChartVersion(b.args.Prometheus.ChartVersion)
	if err != nil {
		return err
	}
	// The operator's CRDs are a release of their own, so that Helm upgrades them (see
	// operatorCRDsChart); kube-prometheus-stack's own copy (crds.enabled) is off.
	crds, err := kube.NewRelease(b.ctx, b.name+"-crds", kube.ReleaseArgs{
		Name:      OperatorCRDsRelease,
		Chart:     "prometheus-operator-crds",
		Version:   crdsVersion,
		Repo:      PrometheusCommunityRepo,
		Namespace: b.ns,
		Values:    operatorCRDsValues{CRDs: operatorCRDsSettings{Annotations: map[string]string{helmResourcePolicy: "keep"}}},
	}, b.k8s...)
	if err != nil {
		return err
	}
	// Grafana cannot start without its admin Secret and Loki's client Secret: the release waits
	// for their ExternalSecrets.
	// Prometheus, Alertmanager and Grafana mount volumes: it waits for the storage too, and for
	// the CRDs of the Prometheus and Alertmanager objects it creates.
	stack, err := kube.NewRelease(b.ctx, b.name+"-stack", kube.ReleaseArgs{
		Name:      StackRelease,
		Chart:     "kube-prometheus-stack",
		Version:   b.args.Prometheus.ChartVersion,
		Repo:      PrometheusCommunityRepo,
		Namespace: b.ns,
		Values:    b.stackValues(grafanaRole.Arn, amRoleArn),
	}, append(b.k8s, pulumi.DependsOn(append([]pulumi.Resource{adminSecret, b.lokiGrafanaSecret, crds}, b.args.StorageReady...)))...)
	if err != nil {
		return err
	}
	// The PrometheusRule CRD comes with the CRDs release; the operator (in the stack release)
	// validates rules through its admission webhook, so the rule waits for both.
	_, err = kube.NewCustomResource(b.ctx, b.name+"-alerts", kube.Object{
		APIVersion: "monitoring.coreos.com/v1",
		Kind:       "PrometheusRule",
		Name:       "cinegit-alerts",
		Namespace:  b.ns,
		Labels:     map[string]string{"app.kubernetes.io/part-of": "cinegit"},
	}, AlertRules(b.args.Dashboards.MediaJobsNamespace, b.args.Karpenter != nil), append(b.k8s, pulumi.DependsOn([]pulumi.Resource{crds, stack}))...)
	if err != nil || b.args.Karpenter == nil {
		return err
	}
	// Karpenter's chart could render this itself (serviceMonitor.enabled), but it is installed
	// with the cluster, before the monitoring CRDs exist: the ServiceMonitor belongs here.
	// Prometheus selects ServiceMonitors in every namespace (serviceMonitorSelectorNilUsesHelmValues
	// false, an empty namespace selector).
	k := b.args.Karpenter
	_, err = kube.NewCustomResource(b.ctx, b.name+"-karpenter", kube.Object{
		APIVersion: "monitoring.coreos.com/v1",
		Kind:       "ServiceMonitor",
		Name:       "karpenter",
		Namespace:  pulumi.String(k.Namespace),
		Labels:     map[string]string{"app.kubernetes.io/part-of": "cinegit"},
	}, serviceMonitorSpec{
		Selector:          labelSelector{MatchLabels: k.Labels},
		NamespaceSelector: namespaceSelector{MatchNames: []string{k.Namespace}},
		Endpoints:         []endpoint{{Port: k.PortName, Interval: "30s"}},
	}, append(b.k8s, pulumi.DependsOn([]pulumi.Resource{crds}))...)
	return err
}

// serviceMonitorSpec is a monitoring.coreos.com/v1 ServiceMonitor's spec.
type serviceMonitorSpec struct {
	Selector          labelSelector     `json:"selector"`
	NamespaceSelector namespaceSelector `json:"namespaceSelector"`
	Endpoints         []endpoint        `json:"endpoints"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type namespaceSelector struct {
	MatchNames []string `json:"matchNames"`
}

type endpoint struct {
	Port     string `json:"port"`
	Interval string `json:"interval"`
}

// grafanaAdmin generates Grafana's admin password into Secrets Manager (a Pulumi secret in
// state, never in configuration or Helm values) and has the secrets operator write it into the
// namespace as the Secret Grafana's chart reads.
func (b *builder) grafanaAdmin() (pulumi.Resource, error) {
	password, err := random.NewRandomPassword(b.ctx, b.name+"-grafana-admin", &random.RandomPasswordArgs{
		Length:          pulumi.Int(32),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String("-_!"),
		MinUpper:        pulumi.Int(1),
		MinLower:        pulumi.Int(1),
		MinNumeric:      pulumi.Int(1),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	value := pulumi.JSONMarshal(pulumi.Map{"admin-user": pulumi.String("admin"), "admin-password": password.Result})
	arn, secretArn, err := b.storeSecret(b.name+"-grafana-admin", b.secretName("grafana", "admin"),
		"Grafana admin credential (JSON: admin-user, admin-password), synced into the cluster by the External Secrets Operator",
		b.args.Grafana.AdminSecretRecoveryWindowDays, value)
	if err != nil {
		return nil, err
	}
	b.grafanaAdminSecretArn = arn
	return kube.NewExternalSecret(b.ctx, b.name+"-grafana-admin", kube.ExternalSecretArgs{
		Name:            GrafanaAdminSecret,
		Namespace:       b.ns,
		Store:           b.args.SecretStore,
		SecretArn:       secretArn,
		RefreshInterval: b.args.SecretRefreshInterval,
	}, b.k8s...)
}

// CloudWatchReadPolicy lets Grafana query CloudWatch metrics. AWS authorises these three
// actions on Resource "*" only (they have no resource types); none reads data beyond metrics.
func CloudWatchReadPolicy() pulumi.StringOutput {
	return iampolicy.Document(iampolicy.Allow("ReadCloudWatchMetrics",
		[]string{"cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"},
		iampolicy.Strings("*")))
}

// PublishPolicy lets Alertmanager publish to the alarm topic, and use its key (if any) only
// through SNS.
func PublishPolicy(topicArn, topicKeyArn pulumi.StringInput, region string) pulumi.StringOutput {
	stmts := []iampolicy.Statement{iampolicy.Allow("PublishAlerts", []string{"sns:Publish"}, pulumi.StringArray{topicArn})}
	if topicKeyArn != nil {
		stmts = append(stmts, iampolicy.Statement{
			Sid:       "EncryptAlertsForTheTopic",
			Actions:   []string{"kms:GenerateDataKey*", "kms:Decrypt"},
			Resources: pulumi.StringArray{topicKeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService",
				Values: iampolicy.Strings(fmt.Sprintf("sns.%s.amazonaws.com", region)),
			}},
		})
	}
	return iampolicy.Document(stmts...)
}

func (b *builder) stackValues(grafanaRoleArn, alertmanagerRoleArn pulumi.StringInput) stackValues {
	a := b.args
	rwo := []string{"ReadWriteOnce"}
	claim := func(gib int) pvcTemplate {
		return pvcTemplate{VolumeClaimTemplate: pvc{Spec: pvcSpec{
			StorageClassName: a.StorageClass,
			AccessModes:      rwo,
			Resources:        pvcResources{Requests: map[string]string{"storage": fmt.Sprintf("%dGi", gib)}},
		}}}
	}
	am := alertmanagerValues{
		Enabled:             true,
		ServiceAccount:      kube.ServiceAccount{Create: true, Name: AlertmanagerServiceAccount},
		Service:             kube.ClusterIP,
		PodDisruptionBudget: pdb{Enabled: a.Alertmanager.Replicas > 1, MinAvailable: 1},
		Config:              b.alertmanagerConfig(),
		AlertmanagerSpec: alertmanagerSpec{
			Replicas:  a.Alertmanager.Replicas,
			Retention: "120h",
			Resources: AlertmanagerResources,
			Storage:   claim(a.Alertmanager.StorageGiB),
		},
	}
	if alertmanagerRoleArn != nil {
		am.ServiceAccount = kube.IRSAServiceAccount(AlertmanagerServiceAccount, alertmanagerRoleArn)
	}
	return stackValues{
		CRDs:         kube.Enabled{Enabled: false}, // the prometheus-operator-crds release has them
		Alertmanager: am,
		Grafana:      b.grafanaValues(grafanaRoleArn),
		Prometheus: prometheusValues{
			Service:             kube.ClusterIP,
			PodDisruptionBudget: pdb{Enabled: a.Prometheus.Replicas > 1, MinAvailable: 1},
			PrometheusSpec: prometheusSpec{
				Replicas:  a.Prometheus.Replicas,
				Retention: a.Prometheus.Retention,
				// Size-based retention as well, so that a busy week cannot fill the volume
				// before the time-based retention deletes anything.
				RetentionSize: fmt.Sprintf("%dGB", a.Prometheus.StorageGiB*85/100),
				Resources:     a.Prometheus.Resources,
				StorageSpec:   claim(a.Prometheus.StorageGiB),
				ExternalLabels: map[string]pulumi.StringInput{
					"cluster":     a.ClusterName,
					"environment": pulumi.String(b.env.Naming.Stack),
				},
			},
		},
		PrometheusOperator: operatorValues{
			Resources: OperatorResources,
			Service:   kube.ClusterIP,
			// The config-reloader sidecar (and init container) the operator adds to every
			// Prometheus and Alertmanager pod.
			PrometheusConfigReloader: resourcesOnly{Resources: ConfigReloaderResources},
			// The pre-install and post-install Jobs that create and patch the admission
			// webhook's certificate.
			AdmissionWebhooks: admissionWebhooks{Patch: resourcesOnly{Resources: HookJobResources}},
		},
		KubeStateMetrics: resourcesOnly{Resources: KubeStateMetricsResources},
		// node-exporter runs on every node, media nodes included.
		NodeExporter: nodeExporterValues{
			NamespaceOverride: b.hostNs,
			Resources:         NodeExporterResources,
			Tolerations:       []toleration{{Operator: "Exists"}},
		},
	}
}

// alertmanagerConfig routes every alert (but the always-firing Watchdog) to the receiver:
// the SNS topic that the AWS-side alarms of the other components publish to, so that cluster
// and AWS alerts reach the same channel. Without a topic alerts stay in Alertmanager.
func (b *builder) alertmanagerConfig() alertmanagerConfig {
	receivers := []amReceiver{{Name: "null"}}
	receiver := "null"
	if topic := b.args.Alertmanager.SNSTopicArn; topic != nil {
		receiver = "sns"
		receivers = append(receivers, amReceiver{Name: receiver, SNSConfigs: []amSNSConfig{{
			TopicArn: topic, Sigv4: amSigv4{Region: b.env.Region}, SendResolved: true,
		}}})
	}
	return alertmanagerConfig{
		Global: amGlobal{ResolveTimeout: "5m"},
		Route: amRoute{
			Receiver:       receiver,
			GroupBy:        []string{"alertname", "namespace"},
			GroupWait:      "30s",
			GroupInterval:  "5m",
			RepeatInterval: "4h",
			Routes: []amRoute{
				{Receiver: "null", Matchers: []string{`alertname = "Watchdog"`}},
				{Receiver: "null", Matchers: []string{`alertname = "InfoInhibitor"`}},
			},
		},
		Receivers: receivers,
	}
}

func (b *builder) grafanaValues(roleArn pulumi.StringInput) grafanaValues {
	a := b.args
	g := grafanaValues{
		Enabled:                  true,
		DefaultDashboardsEnabled: true,
		// One replica: Grafana keeps users and preferences in SQLite on its volume. Dashboards
		// and data sources are provisioned, so a lost volume loses nothing configured here.
		Replicas:       1,
		Admin:          grafanaAdmin{ExistingSecret: GrafanaAdminSecret, UserKey: "admin-user", PasswordKey: "admin-password"},
		ServiceAccount: kube.IRSAServiceAccount(GrafanaServiceAccount, roleArn),
		Service:        kube.ClusterIP,
		Persistence: grafanaPersistence{
			Enabled: true, Type: "pvc", StorageClassName: a.StorageClass,
			AccessModes: []string{"ReadWriteOnce"}, Size: fmt.Sprintf("%dGi", a.Grafana.StorageGiB),
		},
		// A ReadWriteOnce volume cannot be attached to a new pod while the old one runs.
		DeploymentStrategy: deploymentStrategy{Type: "Recreate"},
		Resources:          GrafanaResources,
		// The init container that chowns the volume, and the dashboard and data source
		// sidecars (both take sidecar.resources).
		// Off: it chowns the volume as root with CHOWN and DAC_OVERRIDE, which the restricted
		// namespace refuses; the pod's fsGroup (472, the chart's) already owns the volume.
		InitChownData: grafanaInitChownData{Enabled: false, Resources: InitResources},
		// The test pod runs only on `helm test`; nobody runs it.
		TestFramework: kube.Enabled{Enabled: false},
		// Loki's password reaches Grafana's environment from the synced Secret; the provisioned
		// data source names the variable, which Grafana expands in every provisioning file ("Use
		// environment variables", Provision Grafana).
		EnvValueFrom: map[string]kube.EnvVarSource{LokiPasswordEnv: kube.SecretEnv(LokiPasswordEnv, LokiClientSecret, "password").ValueFrom},
		AdditionalDataSources: []grafanaDataSource{
			{
				Name: "Loki", Type: "loki", UID: LokiUID, Access: "proxy", URL: b.lokiGateway(), JSONData: map[string]any{"maxLines": 1000},
				BasicAuth: true, BasicAuthUser: LokiClientUser,
				SecureJSONData: map[string]string{"basicAuthPassword": "${" + LokiPasswordEnv + "}"},
			},
			{Name: "CloudWatch", Type: "cloudwatch", UID: CloudWatchUID, Access: "proxy", JSONData: map[string]any{
				// The AWS SDK's default chain: the service account's IRSA role.
				"authType": "default", "defaultRegion": b.env.Region,
			}},
		},
		GrafanaIni: grafanaIni{
			AuthAnonymous: kube.Enabled{Enabled: false},
			Users:         grafanaUsers{AllowSignUp: false},
			Analytics:     grafanaAnalytics{ReportingEnabled: false, CheckForUpdates: false},
		},
	}
	// Dashboards come from ConfigMaps in this namespace and the application namespace only.
	g.Sidecar.Dashboards = grafanaSidecarDashboards{
		Enabled: true, Label: DashboardLabel, LabelValue: "1",
		SearchNamespace:  []string{a.Namespace, a.Dashboards.ApplicationNamespace},
		FolderAnnotation: DashboardFolderAnnotation,
	}
	g.Sidecar.Dashboards.Provider.FoldersFromFilesStructure = true
	g.Sidecar.Resources = SidecarResources
	return g
}

// Requests and limits of every container kube-prometheus-stack creates besides Prometheus
// (whose are configuration). The chart and its subcharts set none (resources: {} in
// kube-prometheus-stack 88.5.3's values.yaml and grafana 12.11.1's); without requests the
// scheduler packs pods onto a node they do not fit at run time. Requests are what these use
// on a small cluster at rest; limits leave room for bursts.
var (
	AlertmanagerResources     = kube.NewResources("25m", "64Mi", "200m", "256Mi")
	OperatorResources         = kube.NewResources("50m", "128Mi", "500m", "512Mi")
	ConfigReloaderResources   = kube.NewResources("10m", "32Mi", "100m", "64Mi")
	KubeStateMetricsResources = kube.NewResources("20m", "64Mi", "200m", "512Mi")
	NodeExporterResources     = kube.NewResources("20m", "32Mi", "200m", "128Mi")
	GrafanaResources          = kube.NewResources("100m", "256Mi", "500m", "512Mi")
	SidecarResources          = kube.NewResources("10m", "64Mi", "100m", "128Mi")
	// InitResources are init containers' and HookJobResources short-lived hook Jobs'.
	InitResources    = kube.NewResources("10m", "16Mi", "50m", "64Mi")
	HookJobResources = kube.NewResources("10m", "32Mi", "100m", "64Mi")
)
