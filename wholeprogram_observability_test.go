package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	k8sRelease   = "kubernetes:helm.sh/v3:Release"
	k8sNamespace = "kubernetes:core/v1:Namespace"
	k8sConfigMap = "kubernetes:core/v1:ConfigMap"
)

// platformWant is what each stack file promises about the platform add-ons.
var platformWant = map[string]struct {
	promReplicas, amReplicas, lokiReplicas, argoReplicas, esoReplicas float64
	retention, lokiMode, lokiRetention                                string
	receiver                                                          bool
}{
	"dev":     {1, 1, 1, 1, 1, "3d", "Monolithic", "168h", false},
	"staging": {2, 2, 3, 2, 2, "14d", "Monolithic", "336h", true},
	"prod":    {2, 3, 3, 2, 2, "30d", "Monolithic", "720h", true},
}

// platformComponents are the add-on components of this issue.
var platformComponents = []string{"cinegit:secrets:Secrets", "cinegit:observability:Observability", "cinegit:gitops:GitOps"}

func releaseValues(t *testing.T, r *harness.Result, name string) map[string]any {
	t.Helper()
	rel := r.Named(k8sRelease, name)
	if rel == nil {
		t.Fatalf("release %s missing", name)
	}
	v, _ := rel.Input("values").(map[string]any)
	return v
}

func TestPlatformAddOnsPerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := platformWant[r.Stack]
		for _, typ := range platformComponents {
			if r.Component(typ) == nil {
				t.Fatalf("component %s missing", typ)
			}
		}
		stack := releaseValues(t, r, "observability-stack")
		for path, want := range map[string]any{
			"prometheus/prometheusSpec/replicas":                                              w.promReplicas,
			"prometheus/prometheusSpec/retention":                                             w.retention,
			"alertmanager/alertmanagerSpec/replicas":                                          w.amReplicas,
			"prometheus/prometheusSpec/storageSpec/volumeClaimTemplate/spec/storageClassName": "gp3",
		} {
			if got := harness.At(stack, path); got != want {
				t.Errorf("kube-prometheus-stack %s = %v, want %v", path, got, want)
			}
		}
		loki := releaseValues(t, r, "observability-loki")
		if harness.At(loki, "deploymentMode") != w.lokiMode || harness.At(loki, "loki/limits_config/retention_period") != w.lokiRetention {
			t.Errorf("loki: %v, %v", harness.At(loki, "deploymentMode"), harness.At(loki, "loki/limits_config/retention_period"))
		}
		if harness.At(loki, "singleBinary/replicas") != w.lokiReplicas {
			t.Errorf("loki singleBinary/replicas = %v, want %v", harness.At(loki, "singleBinary/replicas"), w.lokiReplicas)
		}
		argo := releaseValues(t, r, "gitops")
		if harness.At(argo, "server/replicas") != w.argoReplicas || harness.At(argo, "redis-ha/enabled") != (w.argoReplicas > 1) {
			t.Errorf("argo cd replicas %v, redis-ha %v", harness.At(argo, "server/replicas"), harness.At(argo, "redis-ha/enabled"))
		}
		if got := harness.At(releaseValues(t, r, "secrets-operator"), "replicaCount"); got != w.esoReplicas {
			t.Errorf("external secrets replicas %v, want %v", got, w.esoReplicas)
		}
	})
}

func TestAlertsReachTheAlarmTopic(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := platformWant[r.Stack]
		role := r.Named("aws:iam/role:Role", "observability-alertmanager")
		topic := r.Named("aws:sns/topic:Topic", "mediaprocessing-alarms")
		route := harness.At(releaseValues(t, r, "observability-stack"), "alertmanager/config/route/receiver")
		if !w.receiver {
			if role != nil || route != "null" {
				t.Errorf("%s has no receiver: role %v, route %v", r.Stack, role != nil, route)
			}
			return
		}
		if role == nil || route != "sns" || topic == nil {
			t.Fatalf("%s alerts must reach the alarm topic: role %v, route %v", r.Stack, role != nil, route)
		}
		policy := r.Named("aws:iam/rolePolicy:RolePolicy", "observability-alertmanager")
		if !r.DependsOn(policy, topic) {
			t.Error("Alertmanager may publish to the media pipeline's alarm topic, where the CloudWatch alarms go")
		}
		if !r.Preview {
			if !strings.Contains(policy.InputString("policy"), topic.Outputs["arn"].StringValue()) {
				t.Errorf("publish policy %s does not name %s", policy.InputString("policy"), topic.Outputs["arn"].StringValue())
			}
		}
	})
}

func TestReleasesArePinnedAndExposeNothing(t *testing.T) {
	exact := regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		rels := r.ByType(k8sRelease)
		if len(rels) < 6 {
			t.Fatalf("want Karpenter and the five add-on releases, got %d", len(rels))
		}
		for _, rel := range rels {
			oci := strings.HasPrefix(rel.InputString("chart"), "oci://") && rel.Input("repositoryOpts") == nil
			if !exact.MatchString(rel.InputString("version")) || !(oci || strings.HasPrefix(rel.InputString("repositoryOpts.repo"), "https://")) {
				t.Errorf("%s: %s@%s from %s", rel.Name, rel.InputString("chart"), rel.InputString("version"), rel.InputString("repositoryOpts.repo"))
			}
			if inPlatform(r, rel) && (rel.Input("atomic") != true || rel.Input("createNamespace") != false) {
				t.Errorf("%s must be atomic and use a namespace created with labels", rel.Name)
			}
			b, _ := json.Marshal(rel.Input("values"))
			if strings.Contains(string(b), `"LoadBalancer"`) || strings.Contains(string(b), `"NodePort"`) {
				t.Errorf("%s exposes a service outside the cluster", rel.Name)
			}
		}
	})
}

func inPlatform(r *harness.Result, res *harness.Resource) bool {
	for _, typ := range platformComponents {
		if c := r.Component(typ); c != nil && res.Parent == c.URN {
			return true
		}
	}
	return false
}

func TestNoGeneratedCredentialReachesKubernetes(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, res := range r.Resources {
			if !strings.HasPrefix(res.Type, "kubernetes:") {
				continue
			}
			b, _ := json.Marshal(harness.Plain(resource.NewProperty(res.Inputs)))
			if strings.Contains(string(b), "MockSecret0") {
				t.Errorf("%s %s holds a generated password", res.Type, res.Name)
			}
		}
	})
}

// No stack output holds a generated credential (Grafana's admin password, Loki's client
// password or its hash): operators get the secrets' ARNs, never their values.
func TestNoGeneratedCredentialIsAStackOutput(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for name, e := range r.Exports {
			if b, _ := json.Marshal(e.Value); strings.Contains(string(b), "MockSecret0") {
				t.Errorf("stack output %s holds a generated credential", name)
			}
		}
	})
}

func TestKubernetesObjectsUseTheClusterProvider(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		k8s := r.Named("pulumi:providers:kubernetes", "cluster-k8s")
		if k8s == nil {
			t.Fatal("the cluster's Kubernetes provider is missing")
		}
		for _, typ := range platformComponents {
			for _, res := range r.Descendants(r.Component(typ).URN) {
				if strings.HasPrefix(res.Type, "kubernetes:") && harness.ProviderURN(res.Provider) != k8s.URN {
					t.Errorf("%s %s uses provider %q", res.Type, res.Name, res.Provider)
				}
			}
		}
	})
}

func TestPlatformNamespacesAreLabelled(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		found := map[string]bool{}
		for _, typ := range platformComponents {
			for _, res := range r.Descendants(r.Component(typ).URN) {
				if res.Type != k8sNamespace {
					continue
				}
				labels, _ := res.Input("metadata.labels").(map[string]any)
				found[res.InputString("metadata.name")] = true
				for _, k := range []string{"pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/warn", "cinegit.io/environment", "app.kubernetes.io/managed-by"} {
					if labels[k] == nil || labels[k] == "" {
						t.Errorf("namespace %s lacks %s", res.InputString("metadata.name"), k)
					}
				}
				if labels["cinegit.io/environment"] != r.Stack {
					t.Errorf("namespace %s environment %v", res.InputString("metadata.name"), labels["cinegit.io/environment"])
				}
			}
		}
		for _, ns := range []string{"monitoring", "argocd", "external-secrets", "cinegit"} {
			if !found[ns] {
				t.Errorf("namespace %s not created by the platform components", ns)
			}
		}
	})
}

func TestApplicationSecretsAndOutputs(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		role := r.Named("aws:iam/rolePolicy:RolePolicy", "secrets-operator")
		db := one(t, r, "aws:rds/instance:Instance")
		cacheSecret := r.Named("aws:secretsmanager/secret:Secret", "cache-auth")
		if role == nil || !r.DependsOn(role, cacheSecret) {
			t.Fatal("the secrets operator reads the Redis secret")
		}
		if !r.Preview {
			doc := role.InputString("policy")
			if want := fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:cinegit/%s/*", harness.AccountID, r.Stack); !strings.Contains(doc, want) {
				t.Errorf("operator policy lacks %s", want)
			}
			// Services log in to PostgreSQL with IAM authentication (TestNoMasterSecretInTheApplicationNamespace).
			if strings.Contains(doc, "secret:rds!db-") {
				t.Error("operator policy reads the RDS master secret")
			}
		}
		names := map[string]bool{}
		for _, es := range r.ByType("kubernetes:external-secrets.io/v1:ExternalSecret") {
			names[es.Name] = true
		}
		for _, want := range []string{"services-project-redis", "services-review-cdn-signing-key", "observability-grafana-admin"} {
			if !names[want] {
				t.Errorf("ExternalSecret %s missing", want)
			}
		}
		cm := r.Named(k8sConfigMap, "gitops-outputs")
		if cm == nil {
			t.Fatal("infrastructure-outputs ConfigMap missing")
		}
		if !r.Preview {
			data, _ := cm.Input("data").(map[string]any)
			for _, k := range []string{
				"mediaBucketName", "proxiesBucketName", "thumbnailsBucketName", "databaseEndpoint", "cachePrimaryEndpoint",
				"mediaQueueUrl", "mediaJobsRoleArn", "cdnDomainName", "lokiUrl",
			} {
				if s, _ := data[k].(string); s == "" {
					t.Errorf("outputs ConfigMap lacks %s", k)
				}
			}
		}
		if !r.DependsOn(cm, r.Named("aws:sqs/queue:Queue", "mediaprocessing")) || !r.DependsOn(cm, db) {
			t.Error("the outputs ConfigMap carries the media queue's URL and the database endpoint")
		}
	})
}

// TestPlatformPassesThePolicyPack runs the whole pack over every stack and requires no finding,
// mandatory or advisory, on the platform components' resources, and no Helm finding anywhere.
func TestPlatformPassesThePolicyPack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		rep := policyReport(t, r)
		mine := map[string]bool{}
		for _, typ := range platformComponents {
			c := r.Component(typ)
			mine[c.URN] = true
			for _, d := range r.Descendants(c.URN) {
				mine[d.URN] = true
			}
		}
		for _, f := range append(rep.Violations(), rep.Warnings()...) {
			if mine[f.URN] || strings.HasPrefix(f.Rule, "deny_helm_") {
				t.Errorf("%s %s: %s: %s", f.Type, f.Name, f.Rule, f.Message)
			}
		}
	})
}
