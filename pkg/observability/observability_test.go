package observability

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	storagev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/storage/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region    = "eu-west-1"
	issuer    = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	oidcArn   = "arn:aws:iam::123456789012:oidc-provider/" + issuer
	topicArn  = "arn:aws:sns:eu-west-1:123456789012:cinegit-dev-media-alarms"
	topicKey  = "arn:aws:kms:eu-west-1:123456789012:key/alarms"
	storeName = "aws-secrets-manager"
	platKey   = "arn:aws:kms:eu-west-1:123456789012:key/platform"

	tRelease   = "kubernetes:helm.sh/v3:Release"
	tNamespace = "kubernetes:core/v1:Namespace"
	tConfigMap = "kubernetes:core/v1:ConfigMap"
	tRule      = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
	tExtSecret = "kubernetes:external-secrets.io/v1:ExternalSecret"
	tRole      = "aws:iam/role:Role"
	tPolicy    = "aws:iam/rolePolicy:RolePolicy"
)

func testArgs() Args {
	return Args{
		Env: stackenv.Env{
			Naming:    naming.New("cinegit", "dev"),
			Tags:      tags.Set(tags.Base("cinegit", "dev", nil)),
			AccountID: harness.AccountID,
			Partition: harness.Partition,
			Region:    region,
		},
		OidcProviderArn: pulumi.String(oidcArn),
		OidcIssuer:      pulumi.String(issuer),
		ClusterName:     pulumi.String("cinegit-dev-eks"),
		StorageClass:    "gp3",
		Namespace:       "monitoring",
		Prometheus: Prometheus{
			ChartVersion: "88.5.3", Retention: "3d", StorageGiB: 20, Replicas: 1,
			Resources: kube.NewResources("250m", "1Gi", "1", "2Gi"),
		},
		Alertmanager: Alertmanager{Replicas: 1, StorageGiB: 1},
		Grafana:      Grafana{StorageGiB: 5},
		Loki: Loki{
			ChartVersion: "18.11.0", DeploymentMode: LokiMonolithic, Replicas: 1, RetentionDays: 7, StorageGiB: 10, ChunksCacheMemoryMB: 512, ForceDestroy: true,
			Resources: kube.NewResources("100m", "256Mi", "1", "1Gi"),
		},
		AlloyChartVersion:     "1.11.1",
		SecretStore:           pulumi.String(storeName),
		SecretsKmsKeyArn:      pulumi.String(platKey),
		SecretRefreshInterval: "15m",
		Dashboards: Dashboards{
			ApplicationNamespace: "cinegit", MediaJobsNamespace: "media", CDNDistributionID: pulumi.String("E2ABCDEF012345"),
		},
		ApplicationMetricsPorts: []int{9090},
		Network: kube.ClusterNetwork{
			VpcCIDR:           "10.0.0.0/16",
			ServiceCIDR:       pulumi.String("172.20.0.0/16"),
			ControlPlaneCIDRs: []string{"10.0.32.0/20", "10.0.48.0/20"},
			NodeCIDRs:         []string{"10.0.32.0/20", "10.0.48.0/20"},
		},
	}
}

// component runs New under mocks with testArgs wired to the test's providers.
var component = harness.ComponentTest[Args]{
	Region: region,
	Args: func(p harness.Providers) Args {
		args := testArgs()
		args.KubernetesProvider = p.Kubernetes
		return args
	},
	New: func(ctx *pulumi.Context, p harness.Providers, args Args) error {
		_, err := New(ctx, "observability", args, pulumi.Provider(p.AWS))
		return err
	},
}

// eachRun runs f in update and preview mode.
func eachRun(t *testing.T, mutate func(*Args), f func(t *testing.T, r *harness.Result, preview bool)) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) { f(t, component.MustRun(t, preview, mutate), preview) })
	}
}

func values(t *testing.T, r *harness.Result, name string) map[string]any {
	t.Helper()
	rel := r.Named(tRelease, name)
	if rel == nil {
		t.Fatalf("release %s missing", name)
	}
	v, _ := rel.Input("values").(map[string]any)
	return v
}

func TestReleasesArePinnedAtomicAndFromHTTPS(t *testing.T) {
	want := map[string][2]string{
		"observability-stack": {"kube-prometheus-stack", "88.5.3"},
		"observability-loki":  {"loki", "18.11.0"},
		"observability-crds":  {"prometheus-operator-crds", "31.0.1"},
		"observability-alloy": {"alloy", "1.11.1"},
	}
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		rels := r.ByType(tRelease)
		if len(rels) != len(want) {
			t.Fatalf("want %d releases, got %d", len(want), len(rels))
		}
		ns := r.Named(tNamespace, "observability")
		for _, rel := range rels {
			w, ok := want[rel.Name]
			if !ok {
				t.Errorf("unexpected release %s", rel.Name)
				continue
			}
			if rel.InputString("chart") != w[0] || rel.InputString("version") != w[1] || !kube.ExactVersion.MatchString(rel.InputString("version")) {
				t.Errorf("%s: chart %s@%s, want %s@%s", rel.Name, rel.InputString("chart"), rel.InputString("version"), w[0], w[1])
			}
			if !strings.HasPrefix(rel.InputString("repositoryOpts.repo"), "https://") || rel.Input("atomic") != true || rel.Input("createNamespace") != false {
				t.Errorf("%s: repo %s atomic %v", rel.Name, rel.InputString("repositoryOpts.repo"), rel.Input("atomic"))
			}
			if !r.DependsOn(rel, ns) {
				t.Errorf("%s must wait for the namespace", rel.Name)
			}
		}
		if !r.DependsOn(r.Named(tRelease, "observability-alloy"), r.Named(tRelease, "observability-loki")) {
			t.Error("Alloy pushes to Loki: it must wait for Loki")
		}
	})
}

// credentialKey names values that would hold a credential.
var credentialKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|apikey|api_key|accesskey|access_key|credential|webhook_url|private)`)

// referenceKey names values that only point at a credential kept elsewhere.
var referenceKey = regexp.MustCompile(`(?i)^(existingSecret|userKey|passwordKey|secretName|.*SecretRef|.*_file)$`)

// envReference is a value that names an environment variable (Grafana expands it when it
// provisions the data source): a reference, not a credential.
var envReference = regexp.MustCompile(`^\$\{[A-Z_][A-Z0-9_]*\}$`)

// literalCredentials lists "path=value" for every non-empty literal under a credential key.
func literalCredentials(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := path + "/" + k
			if s, ok := e.(string); ok && s != "" && credentialKey.MatchString(k) && !referenceKey.MatchString(k) && !envReference.MatchString(s) {
				out = append(out, p+"="+s)
			}
			out = append(out, literalCredentials(e, p)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, literalCredentials(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return out
}

func TestNoCredentialInAnyKubernetesInput(t *testing.T) {
	eachRun(t, func(a *Args) { a.Alertmanager.SNSTopicArn = pulumi.String(topicArn) }, func(t *testing.T, r *harness.Result, preview bool) {
		for _, rel := range r.ByType(tRelease) {
			if found := literalCredentials(rel.Input("values"), ""); len(found) > 0 {
				t.Errorf("%s values hold credentials: %v", rel.Name, found)
			}
		}
		for _, res := range r.Resources {
			if !strings.HasPrefix(res.Type, "kubernetes:") {
				continue
			}
			b, _ := json.Marshal(harness.Plain(resource.NewProperty(res.Inputs)))
			if strings.Contains(string(b), "MockSecret0") {
				t.Errorf("%s %s contains the generated Grafana password", res.Type, res.Name)
			}
		}
		if !preview {
			version := r.Named("aws:secretsmanager/secretVersion:SecretVersion", "observability-grafana-admin")
			if version == nil || !version.Inputs["secretString"].ContainsSecrets() {
				t.Fatal("the admin credential must be a Pulumi secret in state")
			}
			// The detector above would see the password: it is in the secret version.
			if !strings.Contains(fmt.Sprint(harness.Plain(version.Inputs["secretString"])), "MockSecret0") {
				t.Error("the generated password must be the secret version's value")
			}
		}
	})
}

func TestGrafanaAdminComesFromSecretsManager(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		secret := r.Named("aws:secretsmanager/secret:Secret", "observability-grafana-admin")
		es := r.Named(tExtSecret, "observability-grafana-admin")
		stack := r.Named(tRelease, "observability-stack")
		if secret == nil || es == nil {
			t.Fatal("admin secret and its ExternalSecret expected")
		}
		if secret.InputString("name") != "cinegit/dev/grafana/admin" || secret.InputString("kmsKeyId") != platKey || secret.Input("recoveryWindowInDays") != 0.0 {
			t.Errorf("admin secret: %v", secret.Inputs)
		}
		if !r.DependsOn(es, secret) || !r.DependsOn(stack, es) {
			t.Error("the ExternalSecret reads the secret; Grafana waits for the ExternalSecret")
		}
		v := values(t, r, "observability-stack")
		if harness.At(v, "grafana/admin/existingSecret") != GrafanaAdminSecret || harness.At(v, "grafana/adminPassword") != nil {
			t.Errorf("grafana admin values: %v", harness.At(v, "grafana/admin"))
		}
		if es.InputString("spec.target.name") != GrafanaAdminSecret || es.InputString("spec.secretStoreRef.name") != storeName {
			t.Errorf("external secret: %v", es.Inputs)
		}
	})
}

func policy(t *testing.T, r *harness.Result, name string) map[string]harness.Statement {
	t.Helper()
	res := r.Named(tPolicy, name)
	if res == nil {
		t.Fatalf("policy %s missing", name)
	}
	out, err := res.PolicyBySid("policy")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func trustSubject(t *testing.T, role *harness.Resource) string {
	t.Helper()
	var doc struct {
		Statement []struct{ Condition map[string]map[string]string }
	}
	if err := json.Unmarshal([]byte(role.InputString("assumeRolePolicy")), &doc); err != nil || len(doc.Statement) != 1 {
		t.Fatalf("trust of %s: %v", role.Name, err)
	}
	c := doc.Statement[0].Condition["StringEquals"]
	if c[issuer+":aud"] != "sts.amazonaws.com" {
		t.Errorf("%s audience %q", role.Name, c[issuer+":aud"])
	}
	return c[issuer+":sub"]
}

func TestIRSARolesAreExact(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) {
		a.Alertmanager.SNSTopicArn = pulumi.String(topicArn)
		a.Alertmanager.SNSTopicKmsKeyArn = pulumi.String(topicKey)
	})
	bucketName := r.Named("aws:s3/bucketV2:BucketV2", "observability-loki").InputString("bucket")
	bucketArn := "arn:aws:s3:::" + bucketName
	keyArn := "arn:aws:kms:eu-west-1:123456789012:key/key-observability-loki"

	for role, sa := range map[string]string{
		"observability-loki": LokiServiceAccount, "observability-grafana": GrafanaServiceAccount, "observability-alertmanager": AlertmanagerServiceAccount,
	} {
		if got := trustSubject(t, r.Named(tRole, role)); got != "system:serviceaccount:monitoring:"+sa {
			t.Errorf("%s trusts %q", role, got)
		}
	}

	loki := policy(t, r, "observability-loki")
	want := map[string][]string{
		"LokiBucketList":    {bucketArn},
		"LokiBucketObjects": {bucketArn + "/*"},
		"LokiBucketKey":     {keyArn},
	}
	if len(loki) != len(want) {
		t.Errorf("loki statements %v", loki)
	}
	for sid, res := range want {
		if !reflect.DeepEqual(loki[sid].Resource, res) {
			t.Errorf("loki %s resources %v, want %v", sid, loki[sid].Resource, res)
		}
	}
	if !reflect.DeepEqual(loki["LokiBucketKey"].Condition["StringEquals"]["kms:ViaService"], []string{"s3.eu-west-1.amazonaws.com"}) {
		t.Errorf("loki may use its key through S3 only: %v", loki["LokiBucketKey"])
	}

	grafana := policy(t, r, "observability-grafana")
	cw := grafana["ReadCloudWatchMetrics"]
	if len(grafana) != 1 || !reflect.DeepEqual(cw.Resource, []string{"*"}) {
		t.Fatalf("grafana policy %v", grafana)
	}
	for _, a := range cw.Action {
		if !strings.HasPrefix(a, "cloudwatch:Get") && a != "cloudwatch:ListMetrics" {
			t.Errorf("grafana may only read metrics, not %s", a)
		}
	}

	am := policy(t, r, "observability-alertmanager")
	if !reflect.DeepEqual(am["PublishAlerts"].Action, []string{"sns:Publish"}) || !reflect.DeepEqual(am["PublishAlerts"].Resource, []string{topicArn}) {
		t.Errorf("alertmanager publish %v", am["PublishAlerts"])
	}
	if !reflect.DeepEqual(am["EncryptAlertsForTheTopic"].Resource, []string{topicKey}) ||
		!reflect.DeepEqual(am["EncryptAlertsForTheTopic"].Condition["StringEquals"]["kms:ViaService"], []string{"sns.eu-west-1.amazonaws.com"}) {
		t.Errorf("alertmanager key %v", am["EncryptAlertsForTheTopic"])
	}
	v := values(t, r, "observability-stack")
	roleArn := "arn:aws:iam::123456789012:role/" + r.Named(tRole, "observability-alertmanager").InputString("name")
	if ann, _ := harness.At(v, "alertmanager/serviceAccount/annotations").(map[string]any); ann["eks.amazonaws.com/role-arn"] != roleArn {
		t.Errorf("alertmanager service account: %v", harness.At(v, "alertmanager/serviceAccount"))
	}
	lokiRoleArn := "arn:aws:iam::123456789012:role/" + r.Named(tRole, "observability-loki").InputString("name")
	if harness.At(values(t, r, "observability-loki"), "serviceAccount/annotations").(map[string]any)["eks.amazonaws.com/role-arn"] != lokiRoleArn {
		t.Error("loki's service account must name its role")
	}
}

func TestNoReceiverMeansNoAlertmanagerRole(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		if r.Named(tRole, "observability-alertmanager") != nil {
			t.Error("no topic, no role")
		}
		v := values(t, r, "observability-stack")
		if harness.At(v, "alertmanager/config/route/receiver") != "null" || harness.At(v, "alertmanager/serviceAccount/annotations") != nil {
			t.Errorf("alertmanager without receiver: %v", harness.At(v, "alertmanager"))
		}
	})
}

func TestSNSReceiverGetsEveryAlertButWatchdog(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) { a.Alertmanager.SNSTopicArn = pulumi.String(topicArn) })
	cfg := harness.At(values(t, r, "observability-stack"), "alertmanager/config")
	if harness.At(cfg, "route/receiver") != "sns" {
		t.Fatalf("route: %v", harness.At(cfg, "route"))
	}
	receivers, _ := harness.At(cfg, "receivers").([]any)
	var sns map[string]any
	for _, rc := range receivers {
		if m := rc.(map[string]any); m["name"] == "sns" {
			sns = m["sns_configs"].([]any)[0].(map[string]any)
		}
	}
	if sns == nil || sns["topic_arn"] != topicArn || harness.At(sns, "sigv4/region") != region || sns["send_resolved"] != true {
		t.Errorf("sns receiver %v", sns)
	}
	routes, _ := harness.At(cfg, "route/routes").([]any)
	if len(routes) == 0 || !strings.Contains(fmt.Sprint(routes[0]), "Watchdog") {
		t.Errorf("the always-firing Watchdog must not page: %v", routes)
	}
}

func TestServicesAreClusterIPAndContainersBounded(t *testing.T) {
	r := component.MustRun(t, false, nil)
	for _, rel := range r.ByType(tRelease) {
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if s, ok := e.(string); ok && k == "type" && (s == "LoadBalancer" || s == "NodePort") {
						t.Errorf("%s %s/type = %s", rel.Name, path, s)
					}
					walk(e, path+"/"+k)
				}
			case []any:
				for _, e := range x {
					walk(e, path)
				}
			}
		}
		walk(rel.Input("values"), "")
	}
	stack := values(t, r, "observability-stack")
	for _, p := range []string{"prometheus/service/type", "alertmanager/service/type", "grafana/service/type", "prometheusOperator/service/type"} {
		if harness.At(stack, p) != "ClusterIP" {
			t.Errorf("%s = %v", p, harness.At(stack, p))
		}
	}
	for _, p := range []string{
		"prometheus/prometheusSpec/resources", "alertmanager/alertmanagerSpec/resources", "grafana/resources",
		"prometheusOperator/resources", "kube-state-metrics/resources", "prometheus-node-exporter/resources",
	} {
		for _, q := range []string{"requests/cpu", "requests/memory", "limits/cpu", "limits/memory"} {
			if s, _ := harness.At(stack, p+"/"+q).(string); s == "" {
				t.Errorf("%s/%s unset", p, q)
			}
		}
	}
	if harness.At(values(t, r, "observability-loki"), "singleBinary/resources/limits/memory") != "1Gi" || harness.At(values(t, r, "observability-alloy"), "alloy/resources/limits/cpu") == nil {
		t.Error("loki and alloy containers need requests and limits")
	}
}

func TestPrometheusStorageAndRetention(t *testing.T) {
	v := values(t, component.MustRun(t, false, nil), "observability-stack")
	spec := harness.At(v, "prometheus/prometheusSpec")
	for path, want := range map[string]any{
		"retention": "3d", "retentionSize": "17GB", "replicas": 1.0,
		"storageSpec/volumeClaimTemplate/spec/storageClassName":           "gp3",
		"storageSpec/volumeClaimTemplate/spec/resources/requests/storage": "20Gi",
		"ruleSelectorNilUsesHelmValues":                                   false,
		"externalLabels/cluster":                                          "cinegit-dev-eks",
	} {
		if got := harness.At(spec, path); got != want {
			t.Errorf("prometheusSpec/%s = %v, want %v", path, got, want)
		}
	}
	if harness.At(v, "alertmanager/alertmanagerSpec/storage/volumeClaimTemplate/spec/storageClassName") != "gp3" || harness.At(v, "grafana/persistence/storageClassName") != "gp3" {
		t.Error("alertmanager and grafana volumes use the encrypted gp3 class")
	}
}

func TestLokiBucketAndModes(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		b := r.Named("aws:s3/bucketV2:BucketV2", "observability-loki")
		key := r.Named("aws:kms/key:Key", "observability-loki")
		sse := r.Named("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "observability-loki")
		pab := r.Named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "observability-loki")
		life := r.Named("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "observability-loki")
		pol := r.Named("aws:s3/bucketPolicy:BucketPolicy", "observability-loki")
		if b == nil || key == nil || sse == nil || pab == nil || life == nil || pol == nil {
			t.Fatal("bucket with key, encryption, public access block, lifecycle and policy expected")
		}
		if !r.DependsOn(sse, key) || b.Input("forceDestroy") != true || !strings.HasPrefix(b.InputString("bucket"), "cinegit-dev-loki-") {
			t.Errorf("bucket %v", b.Inputs)
		}
		if life.Input("rules[0].expiration.days") != 8.0 {
			t.Errorf("objects expire a day after the 7-day retention: %v", life.Input("rules[0].expiration"))
		}
		if !preview && !strings.Contains(pol.InputString("policy"), "aws:SecureTransport") {
			t.Error("the bucket policy denies plain HTTP")
		}
		v := values(t, r, "observability-loki")
		for path, want := range map[string]any{
			"deploymentMode": "Monolithic", "singleBinary/replicas": 1.0, "write/replicas": 0.0, "read/replicas": 0.0, "backend/replicas": 0.0,
			"loki/storage/type": "s3", "loki/storage/s3/region": region, "loki/limits_config/retention_period": "168h",
			"loki/compactor/retention_enabled": true, "loki/auth_enabled": true, "gateway/service/type": "ClusterIP",
			"loki/commonConfig/replication_factor": 1.0, "chunksCache/allocatedMemory": 512.0, "lokiCanary/enabled": false,
		} {
			if got := harness.At(v, path); got != want {
				t.Errorf("loki %s = %v, want %v", path, got, want)
			}
		}
		if !preview && harness.At(v, "loki/storage/bucketNames/chunks") != b.InputString("bucket") {
			t.Errorf("loki stores chunks in %v", harness.At(v, "loki/storage/bucketNames/chunks"))
		}
		rel := r.Named(tRelease, "observability-loki")
		if !r.DependsOn(rel, pab) {
			t.Error("loki must use the bucket only once its public access block is in place")
		}
		// The open-source chart lives in grafana-community/helm-charts; grafana/helm-charts'
		// loki chart is for Grafana Enterprise Logs only.
		if rel.InputString("repositoryOpts.repo") != "https://grafana-community.github.io/helm-charts" {
			t.Errorf("loki chart from %s", rel.InputString("repositoryOpts.repo"))
		}
		// The simple scalable targets are off, and only their replica count is given: their
		// persistence and resources would be ignored in monolithic mode.
		for _, target := range []string{"write", "read", "backend"} {
			if m, _ := harness.At(v, target).(map[string]any); len(m) != 1 {
				t.Errorf("loki %s sets %v, want only replicas: 0", target, m)
			}
		}
	})
	v := values(t, component.MustRun(t, false, func(a *Args) { a.Loki.Replicas = 3 }), "observability-loki")
	for path, want := range map[string]any{
		"deploymentMode": "Monolithic", "singleBinary/replicas": 3.0, "write/replicas": 0.0, "read/replicas": 0.0,
		"backend/replicas": 0.0, "loki/commonConfig/replication_factor": 3.0, "gateway/replicas": 3.0,
		"singleBinary/persistence/size": "10Gi", "singleBinary/persistence/storageClass": "gp3",
	} {
		if got := harness.At(v, path); got != want {
			t.Errorf("replicated monolithic %s = %v, want %v", path, got, want)
		}
	}
	for name, mutate := range map[string]func(*Args){
		"deprecated simple scalable mode": func(a *Args) { a.Loki.DeploymentMode = "SimpleScalable" },
		"two replicas without a quorum":   func(a *Args) { a.Loki.Replicas = 2 },
	} {
		if _, err := component.Run(false, mutate); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAlloyCollectsEveryNode(t *testing.T) {
	v := values(t, component.MustRun(t, false, nil), "observability-alloy")
	if harness.At(v, "controller/type") != "daemonset" || harness.At(v, "alloy/mounts/varlog") != true {
		t.Errorf("alloy: %v", v)
	}
	tol, _ := harness.At(v, "controller/tolerations").([]any)
	if len(tol) != 1 || harness.At(tol[0], "operator") != "Exists" {
		t.Errorf("alloy must tolerate the media taint: %v", tol)
	}
	content, _ := harness.At(v, "alloy/configMap/content").(string)
	for _, s := range []string{"http://loki-gateway.monitoring.svc.cluster.local/loki/api/v1/push", `cluster = "cinegit-dev-eks"`, "stage.cri", "/var/log/pods/"} {
		if !strings.Contains(content, s) {
			t.Errorf("alloy config lacks %q", s)
		}
	}
}

func TestGrafanaDataSources(t *testing.T) {
	v := values(t, component.MustRun(t, false, nil), "observability-stack")
	ds, _ := harness.At(v, "grafana/additionalDataSources").([]any)
	byUID := map[string]map[string]any{}
	for _, d := range ds {
		byUID[harness.At(d, "uid").(string)] = d.(map[string]any)
	}
	if byUID[LokiUID]["url"] != "http://loki-gateway.monitoring.svc.cluster.local" || byUID[LokiUID]["type"] != "loki" {
		t.Errorf("loki data source %v", byUID[LokiUID])
	}
	if harness.At(byUID[CloudWatchUID], "jsonData/authType") != "default" || harness.At(byUID[CloudWatchUID], "jsonData/defaultRegion") != region {
		t.Errorf("cloudwatch data source %v", byUID[CloudWatchUID])
	}
	// Prometheus is the chart's own default data source.
	if harness.At(v, "grafana/sidecar/dashboards/label") != DashboardLabel || !reflect.DeepEqual(harness.At(v, "grafana/sidecar/dashboards/searchNamespace"), []any{"monitoring", "cinegit"}) {
		t.Errorf("dashboard sidecar %v", harness.At(v, "grafana/sidecar"))
	}
}

// knownQuery reports whether a panel target holds a query: a PromQL/LogQL expression, or a
// CloudWatch namespace and metric (or a metric math expression).
func knownQuery(target map[string]any) bool {
	if s, _ := target["expr"].(string); strings.TrimSpace(s) != "" {
		return true
	}
	if s, _ := target["expression"].(string); strings.TrimSpace(s) != "" {
		return true
	}
	ns, _ := target["namespace"].(string)
	metric, _ := target["metricName"].(string)
	return ns != "" && metric != ""
}

func TestDashboardsAreValidGrafanaJSON(t *testing.T) {
	all, err := EmbeddedDashboards()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	uids := map[string]bool{}
	for _, d := range all {
		names = append(names, d.Name)
		var model struct {
			UID        string
			Title      string
			Panels     []map[string]any
			Templating struct{ List []map[string]any }
		}
		if err := json.Unmarshal(d.JSON, &model); err != nil {
			t.Errorf("%s: %v", d.Name, err)
			continue
		}
		if model.UID == "" || model.Title == "" || uids[model.UID] || len(model.Panels) == 0 {
			t.Errorf("%s: uid %q (unique, set), title %q, %d panels", d.Name, model.UID, model.Title, len(model.Panels))
		}
		uids[model.UID] = true
		ids := map[float64]bool{}
		for _, p := range model.Panels {
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			if ids[id] || id == 0 {
				t.Errorf("%s: panel %q id %v (unique, set)", d.Name, title, id)
			}
			ids[id] = true
			if p["gridPos"] == nil {
				t.Errorf("%s: panel %q has no gridPos", d.Name, title)
			}
			targets, _ := p["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("%s: panel %q has no queries", d.Name, title)
			}
			for i, tg := range targets {
				target, _ := tg.(map[string]any)
				if !knownQuery(target) {
					t.Errorf("%s: panel %q target %d has an empty query: %v", d.Name, title, i, target)
				}
				uid, _ := harness.At(target, "datasource/uid").(string)
				if uid != PrometheusUID && uid != LokiUID && uid != CloudWatchUID {
					t.Errorf("%s: panel %q target %d uses unknown data source %q", d.Name, title, i, uid)
				}
			}
		}
		// Rendering fills every constant with a value.
		rendered, err := RenderDashboard(d.JSON, map[string]string{
			"stack": "dev", "region": region, "namespace": "cinegit", "media_namespace": "media", "distribution": "E2ABC",
		})
		if err != nil {
			t.Errorf("%s: %v", d.Name, err)
			continue
		}
		var out struct {
			Templating struct{ List []map[string]any }
		}
		if err := json.Unmarshal([]byte(rendered), &out); err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Templating.List {
			if v["type"] == "constant" && (v["query"] == "" || harness.At(v, "current/value") == "") {
				t.Errorf("%s: constant %v left empty", d.Name, v["name"])
			}
		}
	}
	sort.Strings(names)
	want := []string{"cloudfront", "cluster", "elasticache", "media-pipeline", "rds", "workloads"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("dashboards %v, want %v", names, want)
	}
	if _, err := RenderDashboard([]byte(`{"templating":{"list":[{"name":"stack","type":"constant"}]}}`), map[string]string{}); err == nil {
		t.Error("a constant without a value must fail")
	}
	if _, err := RenderDashboard([]byte(`{`), nil); err == nil {
		t.Error("broken JSON must fail")
	}
}

func TestDashboardConfigMaps(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		cms := r.ByType(tConfigMap)
		if len(cms) != 6 {
			t.Fatalf("want 6 dashboard ConfigMaps, got %d", len(cms))
		}
		ns := r.Named(tNamespace, "observability")
		for _, cm := range cms {
			labels, _ := cm.Input("metadata.labels").(map[string]any)
			if labels[DashboardLabel] != "1" || !r.DependsOn(cm, ns) {
				t.Errorf("%s: labels %v", cm.Name, labels)
			}
			if preview {
				continue
			}
			data, _ := cm.Input("data").(map[string]any)
			if len(data) != 1 {
				t.Fatalf("%s: data %v", cm.Name, data)
			}
			for file, content := range data {
				var model map[string]any
				if !strings.HasSuffix(file, ".json") || json.Unmarshal([]byte(content.(string)), &model) != nil {
					t.Errorf("%s: %s is not dashboard JSON", cm.Name, file)
				}
			}
		}
		if !preview {
			cf := r.Named(tConfigMap, "observability-dashboard-cloudfront")
			if !strings.Contains(fmt.Sprint(cf.Input("data")), "E2ABCDEF012345") {
				t.Error("the CloudFront dashboard shows this stack's distribution")
			}
		}
	})
}

func TestAlertRulesArePresent(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		rules := r.ByType(tRule)
		if len(rules) != 1 {
			t.Fatalf("want one PrometheusRule, got %d", len(rules))
		}
		rule := rules[0]
		if !r.DependsOn(rule, r.Named(tRelease, "observability-stack")) {
			t.Error("the PrometheusRule CRD comes with kube-prometheus-stack: the rule must wait for it")
		}
		found := map[string]bool{}
		groups, _ := rule.Input("spec.groups").([]any)
		for _, g := range groups {
			for _, rl := range harness.At(g, "rules").([]any) {
				name, _ := harness.At(rl, "alert").(string)
				found[name] = true
				if expr, _ := harness.At(rl, "expr").(string); strings.TrimSpace(expr) == "" {
					t.Errorf("%s has no expression", name)
				}
				if sev := harness.At(rl, "labels/severity"); sev != "critical" && sev != "warning" {
					t.Errorf("%s severity %v", name, sev)
				}
				if harness.At(rl, "annotations/summary") == nil {
					t.Errorf("%s has no summary", name)
				}
			}
		}
		for _, name := range AlertNames {
			if !found[name] {
				t.Errorf("alert %s missing", name)
			}
		}
		if !strings.Contains(fmt.Sprint(groups), `namespace="media"`) {
			t.Error("media job alerts look at the media namespace")
		}
	})
}

// Karpenter, where the cluster runs it: a ServiceMonitor beside its Service (after the CRDs),
// Prometheus allowed to reach its metrics port, and its alerts; none of it without Karpenter.
func TestKarpenterIsScrapedAndAlertedOn(t *testing.T) {
	for _, with := range []bool{false, true} {
		t.Run(fmt.Sprintf("karpenter=%v", with), func(t *testing.T) {
			r := component.MustRun(t, false, func(a *Args) {
				if with {
					a.Karpenter = &MetricsTarget{Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/name": "karpenter"}, PortName: "http-metrics", Port: 8080}
				}
			})
			sm := r.Named("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "observability-karpenter")
			if (sm != nil) != with {
				t.Fatalf("ServiceMonitor present=%v", sm != nil)
			}
			rule := r.ByType(tRule)[0]
			alerts := fmt.Sprint(rule.Input("spec.groups"))
			for _, name := range KarpenterAlertNames {
				if strings.Contains(alerts, name) != with {
					t.Errorf("alert %s present=%v", name, !with)
				}
			}
			egress := ""
			for _, np := range r.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
				if np.Name == "observability-prometheus" {
					egress = fmt.Sprint(np.Input("spec.egress"))
				}
			}
			if strings.Contains(egress, "karpenter") != with {
				t.Errorf("Prometheus's egress to Karpenter present=%v: %s", !with, egress)
			}
			if !with {
				return
			}
			if sm.InputString("metadata.namespace") != "kube-system" || harness.At(sm.Input("spec"), "endpoints") == nil ||
				!r.DependsOn(sm, r.Named(tRelease, "observability-crds")) {
				t.Errorf("ServiceMonitor %v", sm.Input(""))
			}
			if !strings.Contains(egress, "8080") {
				t.Errorf("Prometheus may not reach Karpenter's metrics port: %s", egress)
			}
		})
	}
}

// Monitoring is restricted; only node-exporter and Alloy, which need the host, run privileged,
// in a namespace of their own.
func TestNamespaceIsLabelled(t *testing.T) {
	r := component.MustRun(t, false, nil)
	for name, want := range map[string]map[string]any{
		"observability":      {kube.LabelEnforce: kube.Restricted, kube.LabelWarn: kube.Restricted, kube.LabelEnvironment: "dev", kube.LabelPurpose: "monitoring", kube.LabelManagedBy: "pulumi"},
		"observability-host": {kube.LabelEnforce: kube.Privileged, kube.LabelWarn: kube.Restricted, kube.LabelPurpose: "monitoring-host-agents"},
	} {
		ns := r.Named(tNamespace, name)
		if ns == nil {
			t.Fatalf("no namespace %s", name)
		}
		labels, _ := ns.Input("metadata.labels").(map[string]any)
		for k, v := range want {
			if labels[k] != v {
				t.Errorf("%s: label %s = %v, want %v", name, k, labels[k], v)
			}
		}
	}
	host := r.Named(tNamespace, "observability-host").InputString("metadata.name")
	alloy := r.Named(tRelease, "observability-alloy")
	if host != HostNamespace("monitoring") || alloy.InputString("namespace") != host ||
		harness.At(values(t, r, "observability-stack"), "prometheus-node-exporter/namespaceOverride") != host {
		t.Errorf("Alloy (%s) and node-exporter must run in %s", alloy.InputString("namespace"), host)
	}
	if harness.At(values(t, r, "observability-stack"), "grafana/initChownData/enabled") != false {
		t.Error("Grafana's init-chown-data runs as root with CHOWN: the restricted namespace refuses it")
	}
}

func TestBadArgsFail(t *testing.T) {
	for name, mutate := range map[string]func(*Args){
		"chart range":                 func(a *Args) { a.Prometheus.ChartVersion = "88.x" },
		"loki chart tag":              func(a *Args) { a.Loki.ChartVersion = "v7.3.0" },
		"no secret store":             func(a *Args) { a.SecretStore = nil },
		"two single binaries":         func(a *Args) { a.Loki.Replicas = 2 },
		"no retention":                func(a *Args) { a.Loki.RetentionDays = 0 },
		"no distribution":             func(a *Args) { a.Dashboards.CDNDistributionID = nil },
		"topic key without the topic": func(a *Args) { a.Alertmanager.SNSTopicKmsKeyArn = pulumi.String(topicKey) },
		"no storage class":            func(a *Args) { a.StorageClass = "" },
		"no VPC range":                func(a *Args) { a.Network.VpcCIDR = "" },
	} {
		if _, err := component.Run(false, mutate); err == nil || !strings.Contains(err.Error(), "observability") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestVolumeReleasesWaitForStorage: the releases whose pods claim volumes (Prometheus,
// Alertmanager and Grafana in kube-prometheus-stack; every Loki target) wait for StorageReady; the
// log collector, which claims none, does not.
func TestVolumeReleasesWaitForStorage(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, err := harness.RunComponent(region, preview, func(ctx *pulumi.Context, p harness.Providers) error {
				sc, err := storagev1.NewStorageClass(ctx, "gp3", &storagev1.StorageClassArgs{
					Provisioner: pulumi.String("ebs.csi.aws.com"),
				}, pulumi.Provider(p.Kubernetes))
				if err != nil {
					return err
				}
				args := testArgs()
				args.KubernetesProvider = p.Kubernetes
				args.StorageReady = []pulumi.Resource{sc}
				_, err = New(ctx, "observability", args, pulumi.Provider(p.AWS))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			sc := r.Named("kubernetes:storage.k8s.io/v1:StorageClass", "gp3")
			for name, want := range map[string]bool{"observability-stack": true, "observability-loki": true, "observability-alloy": false} {
				rel := r.Named(tRelease, name)
				if rel == nil {
					t.Fatalf("release %s missing", name)
				}
				if got := r.DependsOn(rel, sc); got != want {
					t.Errorf("release %s waits for the storage: %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestMemcachedSizing: a cache's memory request and limit follow the loki chart's own rule,
// round(allocatedMemory * 1.2) Mi, and 0 turns the cache off.
func TestMemcachedSizing(t *testing.T) {
	for mb, want := range map[int]string{256: "307Mi", 512: "614Mi", 1024: "1229Mi", 4096: "4915Mi"} {
		c := memcached(mb)
		if !c.Enabled || c.Replicas != 1 || c.Resources.Requests.Memory != want || c.Resources.Limits.Memory != want || c.Resources.Requests.CPU == "" {
			t.Errorf("%d MB: %+v, want %s", mb, c, want)
		}
	}
	if memcached(0).Enabled {
		t.Error("a 0 MB cache is enabled")
	}
}

// TestOperatorCRDsFollowTheStack: the Prometheus Operator's CRDs are a release of their own
// (templates, so Helm upgrades them), at the version shipping the stack's operator, kept on
// uninstall; kube-prometheus-stack's own never-upgraded copy is off; the stack and the rules
// wait for the CRDs.
func TestOperatorCRDsFollowTheStack(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		crds, stack := r.Named(tRelease, "observability-crds"), r.Named(tRelease, "observability-stack")
		rule := r.Named("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "observability-alerts")
		if crds == nil || stack == nil || rule == nil {
			t.Fatal("CRDs release, stack release and PrometheusRule expected")
		}
		if crds.InputString("name") != OperatorCRDsRelease || crds.InputString("repositoryOpts.repo") != PrometheusCommunityRepo {
			t.Errorf("crds release %v", crds.Inputs)
		}
		if ann, _ := harness.At(values(t, r, "observability-crds"), "crds/annotations").(map[string]any); ann["helm.sh/resource-policy"] != "keep" {
			t.Errorf("the CRDs must survive an uninstall: %v", harness.At(values(t, r, "observability-crds"), "crds"))
		}
		if harness.At(values(t, r, "observability-stack"), "crds/enabled") != false {
			t.Error("kube-prometheus-stack must not install its own (never upgraded) copy of the CRDs")
		}
		if !r.DependsOn(stack, crds) || !r.DependsOn(rule, crds) || !r.DependsOn(rule, stack) {
			t.Error("the stack and the PrometheusRule wait for the CRDs release, the rule for the operator's webhook too")
		}
	})
	// Every pinned pair ships the same operator, and a stack bump without its CRDs fails.
	for stackVersion, v := range operatorCRDsChart {
		if !kube.ExactVersion.MatchString(stackVersion) || !kube.ExactVersion.MatchString(v.Chart) || !strings.HasPrefix(v.Operator, "v0.") {
			t.Errorf("operatorCRDsChart[%s] = %+v", stackVersion, v)
		}
	}
	if _, err := component.Run(false, func(a *Args) { a.Prometheus.ChartVersion = "88.6.0" }); err == nil || !strings.Contains(err.Error(), "operatorCRDsChart") {
		t.Errorf("kube-prometheus-stack bumped without its CRDs: %v", err)
	}
}
