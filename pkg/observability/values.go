package observability

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kube"
)

// Typed Helm values. Only what CineGit sets is modelled; every other key keeps the chart's
// default. Field names follow each chart's values.yaml (kube-prometheus-stack 88.x, grafana-community loki 18.x,
// alloy 1.x).

// Shared shapes.

type toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator"`
	Effect   string `json:"effect,omitempty"`
}

type pdb struct {
	Enabled      bool `json:"enabled"`
	MinAvailable int  `json:"minAvailable"`
}

// pvcTemplate is a StatefulSet volume claim template, as the Prometheus operator takes it.
type pvcTemplate struct {
	VolumeClaimTemplate pvc `json:"volumeClaimTemplate"`
}

type pvc struct {
	Spec pvcSpec `json:"spec"`
}

type pvcSpec struct {
	StorageClassName string       `json:"storageClassName"`
	AccessModes      []string     `json:"accessModes"`
	Resources        pvcResources `json:"resources"`
}

type pvcResources struct {
	Requests map[string]string `json:"requests"`
}

// kube-prometheus-stack.

type stackValues struct {
	CRDs               kube.Enabled       `json:"crds"`
	Alertmanager       alertmanagerValues `json:"alertmanager"`
	Grafana            grafanaValues      `json:"grafana"`
	Prometheus         prometheusValues   `json:"prometheus"`
	PrometheusOperator operatorValues     `json:"prometheusOperator"`
	KubeStateMetrics   resourcesOnly      `json:"kube-state-metrics"`
	NodeExporter       nodeExporterValues `json:"prometheus-node-exporter"`
}

type resourcesOnly struct {
	Resources kube.Resources `json:"resources"`
}

type nodeExporterValues struct {
	// NamespaceOverride puts node-exporter in the privileged host-agents namespace.
	NamespaceOverride pulumi.StringInput `json:"namespaceOverride"`
	Resources         kube.Resources     `json:"resources"`
	Tolerations       []toleration       `json:"tolerations"`
}

type operatorValues struct {
	Resources                kube.Resources    `json:"resources"`
	Service                  kube.Service      `json:"service"`
	PrometheusConfigReloader resourcesOnly     `json:"prometheusConfigReloader"`
	AdmissionWebhooks        admissionWebhooks `json:"admissionWebhooks"`
}

type admissionWebhooks struct {
	Patch resourcesOnly `json:"patch"`
}

type alertmanagerValues struct {
	Enabled             bool                `json:"enabled"`
	ServiceAccount      kube.ServiceAccount `json:"serviceAccount"`
	Service             kube.Service        `json:"service"`
	PodDisruptionBudget pdb                 `json:"podDisruptionBudget"`
	Config              alertmanagerConfig  `json:"config"`
	AlertmanagerSpec    alertmanagerSpec    `json:"alertmanagerSpec"`
}

type alertmanagerSpec struct {
	Replicas  int            `json:"replicas"`
	Retention string         `json:"retention"`
	Resources kube.Resources `json:"resources"`
	Storage   pvcTemplate    `json:"storage"`
}

// alertmanagerConfig is Alertmanager's configuration file (alertmanager.yml).
type alertmanagerConfig struct {
	Global    amGlobal     `json:"global"`
	Route     amRoute      `json:"route"`
	Receivers []amReceiver `json:"receivers"`
}

type amGlobal struct {
	ResolveTimeout string `json:"resolve_timeout"`
}

type amRoute struct {
	Receiver       string    `json:"receiver"`
	GroupBy        []string  `json:"group_by,omitempty"`
	GroupWait      string    `json:"group_wait,omitempty"`
	GroupInterval  string    `json:"group_interval,omitempty"`
	RepeatInterval string    `json:"repeat_interval,omitempty"`
	Matchers       []string  `json:"matchers,omitempty"`
	Routes         []amRoute `json:"routes,omitempty"`
}

type amReceiver struct {
	Name       string        `json:"name"`
	SNSConfigs []amSNSConfig `json:"sns_configs,omitempty"`
}

// amSNSConfig publishes to a topic, signing with SigV4 as the pod's IRSA role.
type amSNSConfig struct {
	TopicArn     pulumi.StringInput `json:"topic_arn"`
	Sigv4        amSigv4            `json:"sigv4"`
	SendResolved bool               `json:"send_resolved"`
}

type amSigv4 struct {
	Region string `json:"region"`
}

type prometheusValues struct {
	Service             kube.Service   `json:"service"`
	PodDisruptionBudget pdb            `json:"podDisruptionBudget"`
	PrometheusSpec      prometheusSpec `json:"prometheusSpec"`
}

type prometheusSpec struct {
	Replicas       int                           `json:"replicas"`
	Retention      string                        `json:"retention"`
	RetentionSize  string                        `json:"retentionSize"`
	Resources      kube.Resources                `json:"resources"`
	StorageSpec    pvcTemplate                   `json:"storageSpec"`
	ExternalLabels map[string]pulumi.StringInput `json:"externalLabels"`
	// Select every rule and monitor of the cluster, not only those labelled for this release.
	RuleSelectorNilUsesHelmValues           bool `json:"ruleSelectorNilUsesHelmValues"`
	ServiceMonitorSelectorNilUsesHelmValues bool `json:"serviceMonitorSelectorNilUsesHelmValues"`
	PodMonitorSelectorNilUsesHelmValues     bool `json:"podMonitorSelectorNilUsesHelmValues"`
	ProbeSelectorNilUsesHelmValues          bool `json:"probeSelectorNilUsesHelmValues"`
}

type grafanaValues struct {
	Enabled                  bool                         `json:"enabled"`
	DefaultDashboardsEnabled bool                         `json:"defaultDashboardsEnabled"`
	Replicas                 int                          `json:"replicas"`
	Admin                    grafanaAdmin                 `json:"admin"`
	ServiceAccount           kube.ServiceAccount          `json:"serviceAccount"`
	Service                  kube.Service                 `json:"service"`
	Persistence              grafanaPersistence           `json:"persistence"`
	DeploymentStrategy       deploymentStrategy           `json:"deploymentStrategy"`
	Resources                kube.Resources               `json:"resources"`
	InitChownData            grafanaInitChownData         `json:"initChownData"`
	TestFramework            kube.Enabled                 `json:"testFramework"`
	Sidecar                  grafanaSidecar               `json:"sidecar"`
	EnvValueFrom             map[string]kube.EnvVarSource `json:"envValueFrom,omitempty"`
	AdditionalDataSources    []grafanaDataSource          `json:"additionalDataSources"`
	GrafanaIni               grafanaIni                   `json:"grafana.ini"`
}

// grafanaAdmin names the Secret holding the admin credential; the password is never a value.
type grafanaAdmin struct {
	ExistingSecret string `json:"existingSecret"`
	UserKey        string `json:"userKey"`
	PasswordKey    string `json:"passwordKey"`
}

type grafanaPersistence struct {
	Enabled          bool     `json:"enabled"`
	Type             string   `json:"type"`
	StorageClassName string   `json:"storageClassName"`
	AccessModes      []string `json:"accessModes"`
	Size             string   `json:"size"`
}

type deploymentStrategy struct {
	Type string `json:"type"`
}

type grafanaInitChownData struct {
	Enabled   bool           `json:"enabled"`
	Resources kube.Resources `json:"resources"`
}

type grafanaSidecar struct {
	Resources  kube.Resources           `json:"resources"`
	Dashboards grafanaSidecarDashboards `json:"dashboards"`
}

type grafanaSidecarDashboards struct {
	Enabled          bool     `json:"enabled"`
	Label            string   `json:"label"`
	LabelValue       string   `json:"labelValue"`
	SearchNamespace  []string `json:"searchNamespace"`
	FolderAnnotation string   `json:"folderAnnotation"`
	Provider         struct {
		FoldersFromFilesStructure bool `json:"foldersFromFilesStructure"`
		AllowUIUpdates            bool `json:"allowUiUpdates"`
	} `json:"provider"`
}

type grafanaDataSource struct {
	Name      string             `json:"name"`
	Type      string             `json:"type"`
	UID       string             `json:"uid"`
	Access    string             `json:"access"`
	URL       pulumi.StringInput `json:"url,omitempty"`
	IsDefault bool               `json:"isDefault"`
	Editable  bool               `json:"editable"`
	JSONData  map[string]any     `json:"jsonData,omitempty"`
	// BasicAuth signs in to the data source as BasicAuthUser with SecureJSONData's
	// basicAuthPassword (an environment variable reference, never the password).
	BasicAuth      bool              `json:"basicAuth,omitempty"`
	BasicAuthUser  string            `json:"basicAuthUser,omitempty"`
	SecureJSONData map[string]string `json:"secureJsonData,omitempty"`
}

// grafanaIni is the part of grafana.ini CineGit sets: no anonymous access, no sign-up, no
// phoning home.
type grafanaIni struct {
	AuthAnonymous kube.Enabled     `json:"auth.anonymous"`
	Users         grafanaUsers     `json:"users"`
	Analytics     grafanaAnalytics `json:"analytics"`
}

type grafanaUsers struct {
	AllowSignUp bool `json:"allow_sign_up"`
}

type grafanaAnalytics struct {
	ReportingEnabled bool `json:"reporting_enabled"`
	CheckForUpdates  bool `json:"check_for_updates"`
}

// prometheus-operator-crds.

type operatorCRDsValues struct {
	CRDs operatorCRDsSettings `json:"crds"`
}

// operatorCRDsSettings are the chart's crds.* values (charts/prometheus-operator-crds/values.yaml):
// the annotations go on every CRD.
type operatorCRDsSettings struct {
	Annotations map[string]string `json:"annotations"`
}

// loki.

type lokiValues struct {
	DeploymentMode string              `json:"deploymentMode"`
	Loki           lokiConfig          `json:"loki"`
	ServiceAccount kube.ServiceAccount `json:"serviceAccount"`
	SingleBinary   lokiTarget          `json:"singleBinary"`
	// The simple scalable targets, off (zero replicas) in monolithic mode.
	Write        replicasOnly      `json:"write"`
	Read         replicasOnly      `json:"read"`
	Backend      replicasOnly      `json:"backend"`
	Gateway      lokiGatewayValues `json:"gateway"`
	Ruler        kube.Enabled      `json:"ruler"`
	ChunksCache  lokiCache         `json:"chunksCache"`
	ResultsCache lokiCache         `json:"resultsCache"`
	// The memcached exporter sidecar of each cache pod.
	MemcachedExporter resourcesOnly `json:"memcachedExporter"`
	// The rules sidecar (loki-sc-rules) of the single-binary pods.
	Sidecar    lokiSidecar  `json:"sidecar"`
	LokiCanary kube.Enabled `json:"lokiCanary"`
	Test       kube.Enabled `json:"test"`
	Minio      kube.Enabled `json:"minio"`
}

type lokiConfig struct {
	AuthEnabled  bool          `json:"auth_enabled"`
	CommonConfig lokiCommon    `json:"commonConfig"`
	Storage      lokiStorage   `json:"storage"`
	SchemaConfig lokiSchema    `json:"schemaConfig"`
	LimitsConfig lokiLimits    `json:"limits_config"`
	Compactor    lokiCompactor `json:"compactor"`
}

type lokiCommon struct {
	ReplicationFactor int `json:"replication_factor"`
}

type lokiStorage struct {
	Type        string      `json:"type"`
	BucketNames lokiBuckets `json:"bucketNames"`
	S3          lokiS3      `json:"s3"`
}

type lokiBuckets struct {
	Chunks pulumi.StringInput `json:"chunks"`
	Ruler  pulumi.StringInput `json:"ruler"`
}

// lokiS3 has no credentials: Loki's AWS SDK uses the service account's IRSA role, and the
// bucket's default encryption (SSE-KMS) applies to every object.
type lokiS3 struct {
	Region string `json:"region"`
}

type lokiSchema struct {
	Configs []lokiPeriod `json:"configs"`
}

type lokiPeriod struct {
	From        string    `json:"from"`
	Store       string    `json:"store"`
	ObjectStore string    `json:"object_store"`
	Schema      string    `json:"schema"`
	Index       lokiIndex `json:"index"`
}

type lokiIndex struct {
	Prefix string `json:"prefix"`
	Period string `json:"period"`
}

type lokiLimits struct {
	RetentionPeriod string `json:"retention_period"`
}

type lokiCompactor struct {
	RetentionEnabled   bool   `json:"retention_enabled"`
	DeleteRequestStore string `json:"delete_request_store"`
}

type lokiTarget struct {
	Replicas    int             `json:"replicas"`
	Resources   kube.Resources  `json:"resources"`
	Persistence lokiPersistence `json:"persistence"`
}

type replicasOnly struct {
	Replicas int `json:"replicas"`
}

type lokiPersistence struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass"`
}

type lokiGatewayValues struct {
	Enabled   bool           `json:"enabled"`
	Replicas  int            `json:"replicas"`
	Resources kube.Resources `json:"resources"`
	Service   kube.Service   `json:"service"`
	// Metrics is the access-log exporter beside nginx in every gateway pod (on by default in
	// the chart, with no resources).
	Metrics     lokiGatewayMetrics `json:"metrics"`
	BasicAuth   lokiBasicAuth      `json:"basicAuth"`
	NginxConfig lokiNginxConfig    `json:"nginxConfig"`
}

// lokiBasicAuth turns the gateway's basic auth on against an existing Secret holding
// .htpasswd (gateway.basicAuth in the chart's values): no username or password is a value.
type lokiBasicAuth struct {
	Enabled        bool   `json:"enabled"`
	ExistingSecret string `json:"existingSecret"`
}

type lokiNginxConfig struct {
	// LocationSnippet goes into every location the gateway proxies.
	LocationSnippet string `json:"locationSnippet"`
}

type lokiGatewayMetrics struct {
	Enabled   bool           `json:"enabled"`
	Resources kube.Resources `json:"resources"`
}

type lokiCache struct {
	Enabled         bool           `json:"enabled"`
	AllocatedMemory int            `json:"allocatedMemory,omitempty"`
	Replicas        int            `json:"replicas"`
	Resources       kube.Resources `json:"resources"`
}

type lokiSidecar struct {
	Rules kube.Enabled `json:"rules"`
}

// alloy.

type alloyValues struct {
	Alloy          alloyAgent      `json:"alloy"`
	ConfigReloader resourcesOnly   `json:"configReloader"`
	Controller     alloyController `json:"controller"`
	Service        kube.Service    `json:"service"`
}

type alloyAgent struct {
	ConfigMap alloyConfigMap `json:"configMap"`
	Mounts    alloyMounts    `json:"mounts"`
	Resources kube.Resources `json:"resources"`
	ExtraEnv  []kube.EnvVar  `json:"extraEnv"`
}

type alloyConfigMap struct {
	Create  bool               `json:"create"`
	Content pulumi.StringInput `json:"content"`
}

type alloyMounts struct {
	Varlog bool `json:"varlog"`
}

type alloyController struct {
	Type              string       `json:"type"`
	Tolerations       []toleration `json:"tolerations"`
	PriorityClassName string       `json:"priorityClassName"`
}
