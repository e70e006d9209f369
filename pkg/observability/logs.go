package observability

import (
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/kube"
)

// lokiSchemaFrom is the day Loki's TSDB v13 schema starts. It must never change once logs are
// stored: Loki reads older data with the schema in force on its day.
const lokiSchemaFrom = "2024-04-01"

// lokiNoAccessLogsReason is recorded on the Loki bucket: only Loki's own role reads and writes
// it, and the media logs bucket accepts server access logs from the media buckets only.
const lokiNoAccessLogsReason = "only the Loki IRSA role uses the bucket: CloudTrail records its API calls"

// logs creates Loki (its key, bucket, IRSA role and release) and the Alloy collector.
func (b *builder) logs() error {
	env, a := b.env, b.args.Loki
	bucketOpts := []pulumi.ResourceOption{b.parent}
	if b.args.Protect {
		bucketOpts = append(bucketOpts, pulumi.Protect(true))
	}
	key, err := kmskey.New(b.ctx, b.name+"-loki", kmskey.Args{
		Env:         env,
		Description: "CineGit " + env.Naming.Stack + " Loki log chunks and indexes",
		Alias:       env.Naming.Name("loki"),
	}, bucketOpts...)
	if err != nil {
		return err
	}
	logs, err := bucket.New(b.ctx, b.name+"-loki", bucket.Args{
		Name:               env.Naming.Bucket("loki", env.AccountID, env.Region),
		Purpose:            "loki",
		KMSKeyArn:          key.Arn(),
		NoAccessLogsReason: lokiNoAccessLogsReason,
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays: 1,
			// Overwritten index files and compactor deletions stay recoverable for three days.
			NoncurrentVersionExpirationDays: 3,
			// Loki's compactor deletes expired logs; the lifecycle is the backstop for anything
			// it misses, a day later so that it never removes what Loki still indexes.
			ExpirationDays: a.RetentionDays + 1,
		},
		ForceDestroy: a.ForceDestroy,
		Protect:      b.args.Protect,
		Tags:         env.Tags,
	}, b.parent)
	if err != nil {
		return err
	}
	if _, err := logs.AttachPolicy(b.ctx, nil, b.parent); err != nil {
		return err
	}

	role, err := irsa.NewRole(b.ctx, b.name+"-loki", irsa.Args{
		Env:             env,
		OidcProviderArn: b.args.OidcProviderArn,
		OidcIssuer:      b.args.OidcIssuer,
		Namespace:       b.args.Namespace,
		ServiceAccount:  LokiServiceAccount,
		Policy:          iampolicy.Document(bucket.GrantReadWrite("LokiBucket", logs.Arn, key.Arn(), env.Region)...),
		Description:     "Loki: reads and writes its log bucket, nothing else",
	}, b.parent)
	if err != nil {
		return err
	}

	if err := b.lokiCredential(); err != nil {
		return err
	}

	// Every Loki replica keeps its write-ahead log and index cache on a volume; the gateway
	// mounts its htpasswd Secret, so the release waits for it.
	loki, err := kube.NewRelease(b.ctx, b.name+"-loki", kube.ReleaseArgs{
		Name:      LokiRelease,
		Chart:     "loki",
		Version:   a.ChartVersion,
		Repo:      GrafanaCommunityRepo,
		Namespace: b.ns,
		Values:    b.lokiValues(logs.Name, role.Arn),
	}, append(b.k8s, pulumi.DependsOn(append([]pulumi.Resource{b.lokiGatewaySecret}, b.args.StorageReady...)))...)
	if err != nil {
		return err
	}

	// The collector pushes to Loki's gateway: it waits for Loki so that its first logs land,
	// and for its credential.
	if _, err := kube.NewRelease(b.ctx, b.name+"-alloy", kube.ReleaseArgs{
		Name:      AlloyRelease,
		Chart:     "alloy",
		Version:   b.args.AlloyChartVersion,
		Repo:      GrafanaRepo,
		Namespace: b.hostNs,
		Values:    b.alloyValues(),
	}, append(b.k8s, pulumi.DependsOn([]pulumi.Resource{loki, b.lokiAlloySecret}))...); err != nil {
		return err
	}

	b.lokiBucketName = logs.Name
	b.lokiBucketArn = logs.Arn
	b.lokiRoleArn = role.Arn
	return nil
}

// Loki's authentication. Loki has no authentication layer of its own: its documentation has an
// authenticating reverse proxy in front set X-Scope-OrgID, the tenant header Loki requires with
// auth_enabled ("Manage authentication", Loki docs). Here that proxy is the chart's nginx
// gateway with basic auth; network policy makes it the only way to Loki (monitoringPolicies).
const (
	// LokiTenant is the one tenant: the gateway sets it on every request it passes on, so a
	// client cannot choose another.
	LokiTenant = "cinegit"
	// LokiClientUser is the user Grafana and Alloy sign in to the gateway as.
	LokiClientUser = "loki-client"
	// LokiGatewaySecret holds the gateway's htpasswd file (key .htpasswd, what the chart's
	// gateway.basicAuth.existingSecret must hold); LokiClientSecret holds the client's username
	// and password, in the monitoring namespace (Grafana) and in the host agents' (Alloy).
	LokiGatewaySecret = "loki-gateway-htpasswd"
	LokiClientSecret  = "loki-client"
	// LokiPasswordEnv is the environment variable Grafana's data source and Alloy's loki.write
	// read the password from.
	LokiPasswordEnv = "LOKI_PASSWORD"
)

// lokiCredential generates the clients' password (a Pulumi secret in state, never in
// configuration or Helm values) into Secrets Manager with its bcrypt hash, the form nginx's
// htpasswd takes (the chart's own default htpasswd is Sprig's htpasswd, bcrypt), and has the
// secrets operator write each consumer only its part: the gateway the hash, Grafana and Alloy
// the username and password. The password is letters and digits: Grafana reads "$" in a
// provisioned value as a variable, and ":" ends an htpasswd user.
func (b *builder) lokiCredential() error {
	password, err := random.NewRandomPassword(b.ctx, b.name+"-loki-client", &random.RandomPasswordArgs{
		Length:     pulumi.Int(40),
		Special:    pulumi.Bool(false),
		MinUpper:   pulumi.Int(1),
		MinLower:   pulumi.Int(1),
		MinNumeric: pulumi.Int(1),
	}, b.parent)
	if err != nil {
		return err
	}
	value := pulumi.JSONMarshal(pulumi.Map{
		"username": pulumi.String(LokiClientUser),
		"password": password.Result,
		"htpasswd": pulumi.Sprintf("%s:%s", LokiClientUser, password.BcryptHash),
	})
	// cinegit/<stack>/loki/client; the ExternalSecrets wait for its value.
	arn, secretArn, err := b.storeSecret(b.name+"-loki-client", b.secretName("loki", "client"),
		"Loki gateway client credential (JSON: username, password, htpasswd), synced into the cluster by the External Secrets Operator",
		b.args.Loki.CredentialRecoveryWindowDays, value)
	if err != nil {
		return err
	}
	client := map[string]string{"username": "username", "password": "password"}
	for _, es := range []struct {
		name, k8sName string
		ns            pulumi.StringOutput
		properties    map[string]string
		into          *pulumi.Resource
	}{
		{"-loki-gateway", LokiGatewaySecret, b.ns, map[string]string{".htpasswd": "htpasswd"}, &b.lokiGatewaySecret},
		{"-loki-grafana", LokiClientSecret, b.ns, client, &b.lokiGrafanaSecret},
		{"-loki-alloy", LokiClientSecret, b.hostNs, client, &b.lokiAlloySecret},
	} {
		res, err := kube.NewExternalSecret(b.ctx, b.name+es.name, kube.ExternalSecretArgs{
			Name:            es.k8sName,
			Namespace:       es.ns,
			Store:           b.args.SecretStore,
			SecretArn:       secretArn,
			RefreshInterval: b.args.SecretRefreshInterval,
			Properties:      es.properties,
		}, b.k8s...)
		if err != nil {
			return err
		}
		*es.into = res
	}
	b.lokiCredentialArn = arn
	return nil
}

// lokiGateway is Loki's in-cluster entry point (the chart's nginx gateway, ClusterIP).
func (b *builder) lokiGateway() pulumi.StringOutput {
	return pulumi.Sprintf("http://%s-gateway.%s.svc.cluster.local", LokiRelease, b.ns)
}

// lokiValues follow the loki chart of grafana-community/helm-charts at the pinned version
// (charts/loki/values.yaml at tag loki-18.11.0): deploymentMode Monolithic runs the singleBinary
// StatefulSet; the simple scalable targets (write, read, backend) default to three replicas each
// and the chart refuses both at once (templates/validate.yaml), so they are set to zero and
// nothing else of theirs is given (their persistence and resources would be ignored).
func (b *builder) lokiValues(bucketName, roleArn pulumi.StringInput) lokiValues {
	a := b.args.Loki
	// Monolithic replicas share the ring through memberlist and the chunks through S3; with
	// three or more, every write goes to three of them and is acknowledged by two
	// (https://grafana.com/docs/loki/latest/setup/install/helm/install-monolithic/).
	replication := 1
	if a.Replicas >= 3 {
		replication = 3
	}
	return lokiValues{
		DeploymentMode: LokiMonolithic,
		Loki: lokiConfig{
			// Every request names its tenant; the authenticating gateway sets it.
			AuthEnabled:  true,
			CommonConfig: lokiCommon{ReplicationFactor: replication},
			Storage: lokiStorage{
				Type:        "s3",
				BucketNames: lokiBuckets{Chunks: bucketName, Ruler: bucketName},
				S3:          lokiS3{Region: b.env.Region},
			},
			SchemaConfig: lokiSchema{Configs: []lokiPeriod{{
				From: lokiSchemaFrom, Store: "tsdb", ObjectStore: "s3", Schema: "v13",
				Index: lokiIndex{Prefix: "loki_index_", Period: "24h"},
			}}},
			LimitsConfig: lokiLimits{RetentionPeriod: fmt.Sprintf("%dh", a.RetentionDays*24)},
			Compactor:    lokiCompactor{RetentionEnabled: true, DeleteRequestStore: "s3"},
		},
		ServiceAccount: kube.IRSAServiceAccount(LokiServiceAccount, roleArn),
		SingleBinary: lokiTarget{
			Replicas:    a.Replicas,
			Resources:   a.Resources,
			Persistence: lokiPersistence{Size: fmt.Sprintf("%dGi", a.StorageGiB), StorageClass: b.args.StorageClass},
		},
		Write:   replicasOnly{Replicas: 0},
		Read:    replicasOnly{Replicas: 0},
		Backend: replicasOnly{Replicas: 0},
		Gateway: lokiGatewayValues{
			Enabled:   true,
			Replicas:  a.Replicas,
			Resources: LokiGatewayResources,
			Service:   kube.ClusterIP,
			Metrics:   lokiGatewayMetrics{Enabled: true, Resources: ConfigReloaderResources},
			// Basic auth on every location but the readiness probe's "/" (the chart's nginx
			// configuration, templates/_helpers.tpl), against the synced htpasswd file; the
			// tenant is set on every location, whatever the client sends.
			BasicAuth:   lokiBasicAuth{Enabled: true, ExistingSecret: LokiGatewaySecret},
			NginxConfig: lokiNginxConfig{LocationSnippet: "proxy_set_header X-Scope-OrgID " + LokiTenant + ";"},
		},
		// Loki's alerting and recording rules are not used: alerts are Prometheus rules. So
		// neither the ruler nor the sidecar that loads rule ConfigMaps runs.
		Ruler:             kube.Enabled{Enabled: false},
		Sidecar:           lokiSidecar{Rules: kube.Enabled{Enabled: false}},
		ChunksCache:       memcached(a.ChunksCacheMemoryMB),
		ResultsCache:      memcached(ResultsCacheMemoryMB),
		MemcachedExporter: resourcesOnly{Resources: ConfigReloaderResources},
		LokiCanary:        kube.Enabled{Enabled: false},
		Test:              kube.Enabled{Enabled: false},
		Minio:             kube.Enabled{Enabled: false},
	}
}

// Loki's fixed sizes: the gateway (nginx) and the results cache.
var LokiGatewayResources = kube.NewResources("25m", "64Mi", "200m", "256Mi")

// ResultsCacheMemoryMB is the memcached results cache's memory.
const ResultsCacheMemoryMB = 256

// memcached is one memcached cache of allocatedMB (0 disables it), one replica. Its memory
// request and limit follow the chart's own rule when resources are left unset,
// round(allocatedMemory * 1.2) Mi (templates/memcached/_memcached-statefulset.tpl): memcached
// holds that much plus connection buffers. The chart's CPU request, 500m, is far above what a
// cache of this size uses; 50m is requested, and the limit allows bursts.
func memcached(allocatedMB int) lokiCache {
	memory := fmt.Sprintf("%dMi", (allocatedMB*12+5)/10)
	return lokiCache{
		Enabled: allocatedMB > 0, AllocatedMemory: allocatedMB, Replicas: 1,
		Resources: kube.NewResources("50m", memory, "1", memory),
	}
}

// AlloyResources are the collector's, on every node.
var AlloyResources = kube.NewResources("50m", "128Mi", "500m", "512Mi")

// alloyValues run Alloy as a DaemonSet on every node, media nodes included (it tolerates every
// taint), tailing the pod logs under /var/log/pods.
func (b *builder) alloyValues() alloyValues {
	return alloyValues{
		Alloy: alloyAgent{
			ConfigMap: alloyConfigMap{Create: true, Content: alloyConfig(b.lokiGateway(), b.args.ClusterName)},
			Mounts:    alloyMounts{Varlog: true},
			Resources: AlloyResources,
			// The gateway's password, from the synced Secret (never in the configuration).
			ExtraEnv: []kube.EnvVar{kube.SecretEnv(LokiPasswordEnv, LokiClientSecret, "password")},
		},
		// The configmap-reload sidecar.
		ConfigReloader: resourcesOnly{Resources: ConfigReloaderResources},
		Controller: alloyController{
			Type:              "daemonset",
			Tolerations:       []toleration{{Operator: "Exists"}},
			PriorityClassName: "system-node-critical",
		},
		Service: kube.ClusterIP,
	}
}

// alloyConfig is the collector's pipeline, in Alloy's configuration language: discover this
// node's pods, tail their log files, parse the CRI format and push to Loki's gateway with the
// pod's namespace, pod, container and app as labels, signed in with basic auth (loki.write's
// endpoint > basic_auth block; sys.env reads the password the pod's environment holds).
func alloyConfig(lokiURL, cluster pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf(`discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + coalesce(sys.env("HOSTNAME"), constants.hostname)
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "/var/log/pods/*$1/*.log"
  }
}

local.file_match "pods" {
  path_targets = discovery.relabel.pods.output
}

loki.source.file "pods" {
  targets    = local.file_match.pods.targets
  forward_to = [loki.process.pods.receiver]
}

loki.process "pods" {
  stage.cri {}
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "%s/loki/api/v1/push"
    basic_auth {
      username = "%s"
      password = sys.env("%s")
    }
  }
  external_labels = {
    cluster = "%s",
  }
}
`, lokiURL, LokiClientUser, LokiPasswordEnv, cluster)
}
