package gitops

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"go.yaml.in/yaml/v3"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region  = "eu-west-1"
	repo    = "https://github.com/cinegit/gitops.git"
	platKey = "arn:aws:kms:eu-west-1:123456789012:key/platform"

	tRelease   = "kubernetes:helm.sh/v3:Release"
	tNamespace = "kubernetes:core/v1:Namespace"
	tConfigMap = "kubernetes:core/v1:ConfigMap"
	tProject   = "kubernetes:argoproj.io/v1alpha1:AppProject"
	tPatch     = "kubernetes:argoproj.io/v1alpha1:AppProjectPatch"
	tApp       = "kubernetes:argoproj.io/v1alpha1:Application"
	tExtSecret = "kubernetes:external-secrets.io/v1:ExternalSecret"
	tSecret    = "aws:secretsmanager/secret:Secret"
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
		ChartVersion:          "10.1.1",
		Namespace:             "argocd",
		RepoURL:               repo,
		Revision:              "main",
		Path:                  "clusters/dev",
		ControllerResources:   kube.NewResources("100m", "384Mi", "1", "1Gi"),
		RepoServerResources:   kube.NewResources("50m", "192Mi", "1", "1Gi"),
		ApplicationNamespace:  pulumi.String("cinegit"),
		DestinationNamespaces: []string{"media"},
		SecretStore:           pulumi.String("aws-secrets-manager"),
		SecretsKmsKeyArn:      pulumi.String(platKey),
		SecretRefreshInterval: "15m",
		Outputs: map[string]pulumi.StringInput{
			"mediaBucketName": pulumi.String("cinegit-dev-media-123456789012-eu-west-1"),
			"queueUrl":        pulumi.String("https://sqs.eu-west-1.amazonaws.com/123456789012/cinegit-dev-media"),
		},
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
		_, err := New(ctx, "gitops", args, pulumi.Provider(p.AWS))
		return err
	},
}

func eachRun(t *testing.T, mutate func(*Args), f func(t *testing.T, r *harness.Result, preview bool)) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r, err := component.Run(preview, mutate)
			if err != nil {
				t.Fatal(err)
			}
			f(t, r, preview)
		})
	}
}

func values(r *harness.Result) map[string]any {
	v, _ := r.Named(tRelease, "gitops").Input("values").(map[string]any)
	return v
}

func TestArgoCDReleaseIsPinnedAndSingleInDev(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		rel := r.Named(tRelease, "gitops")
		for path, want := range map[string]any{
			"chart": "argo-cd", "version": "10.1.1", "repositoryOpts.repo": "https://argoproj.github.io/argo-helm",
			"atomic": true, "createNamespace": false, "namespace": "argocd",
		} {
			if got := rel.Input(path); got != want && !(preview && path == "namespace") {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if !r.DependsOn(rel, r.Named(tNamespace, "gitops")) {
			t.Error("the release waits for its namespace")
		}
		v := values(r)
		for path, want := range map[string]any{
			"server/replicas": 1.0, "repoServer/replicas": 1.0, "applicationSet/replicas": 1.0, "redis-ha/enabled": false,
			"server/service/type": "ClusterIP", "configs/cm/admin.enabled": true, "configs/cm/exec.enabled": false,
			"dex/enabled": false, "configs/rbac/policy.default": "role:readonly", "server/pdb/enabled": false,
		} {
			if got := harness.At(v, path); got != want {
				t.Errorf("values %s = %v, want %v", path, got, want)
			}
		}
		if harness.At(v, "server/resources/limits/memory") == nil || harness.At(v, "controller/resources/requests/cpu") == nil {
			t.Error("containers need requests and limits")
		}
	})
}

func TestArgoCDIsHighlyAvailableWhenAsked(t *testing.T) {
	eachRun(t, func(a *Args) { a.HA = true }, func(t *testing.T, r *harness.Result, preview bool) {
		v := values(r)
		for path, want := range map[string]any{
			"server/replicas": 2.0, "repoServer/replicas": 2.0, "applicationSet/replicas": 2.0, "redis-ha/enabled": true,
			"server/pdb/enabled": true, "redis-ha/hardAntiAffinity": false, "controller/replicas": 1.0,
		} {
			if got := harness.At(v, path); got != want {
				t.Errorf("values %s = %v, want %v", path, got, want)
			}
		}
	})
}

func TestSSODisablesTheAdminAccount(t *testing.T) {
	sso := &SSO{URL: "https://argocd.dev.cinegit.io", Issuer: "https://cinegit.okta.com", ClientID: "argocd", AdminGroups: []string{"platform", "sre"}}
	eachRun(t, func(a *Args) { a.SSO = sso }, func(t *testing.T, r *harness.Result, preview bool) {
		v := values(r)
		if harness.At(v, "configs/cm/admin.enabled") != false || harness.At(v, "configs/cm/url") != sso.URL {
			t.Errorf("cm: %v", harness.At(v, "configs/cm"))
		}
		var oidc oidcConfig
		if err := yaml.Unmarshal([]byte(harness.At(v, "configs/cm/oidc.config").(string)), &oidc); err != nil {
			t.Fatal(err)
		}
		if oidc.Issuer != sso.Issuer || oidc.ClientID != "argocd" || oidc.ClientSecret != "$argocd-oidc:clientSecret" {
			t.Errorf("oidc.config: %+v", oidc)
		}
		if harness.At(v, "configs/rbac/policy.csv") != "g, platform, role:admin\ng, sre, role:admin\n" {
			t.Errorf("rbac: %v", harness.At(v, "configs/rbac"))
		}
		secret := r.Named(tSecret, "gitops-oidc")
		es := r.Named(tExtSecret, "gitops-oidc")
		rel := r.Named(tRelease, "gitops")
		if secret == nil || es == nil || secret.InputString("name") != "cinegit/dev/gitops/oidc" || secret.InputString("kmsKeyId") != platKey {
			t.Fatalf("oidc secret %v", secret)
		}
		if !r.DependsOn(es, secret) || !r.DependsOn(rel, es) {
			t.Error("Argo CD starts once its OIDC secret is synced")
		}
		labels, _ := es.Input("spec.target.template.metadata.labels").(map[string]any)
		if labels["app.kubernetes.io/part-of"] != "argocd" || es.InputString("spec.target.name") != OIDCSecret {
			t.Errorf("Argo CD only reads $secret:key from Secrets labelled part-of=argocd: %v", labels)
		}
	})
}

func TestPrivateRepositoryCredentialsComeFromSecretsManager(t *testing.T) {
	eachRun(t, func(a *Args) { a.RepositoryCredentials = true }, func(t *testing.T, r *harness.Result, preview bool) {
		es := r.Named(tExtSecret, "gitops-repository")
		if es == nil || r.Named(tSecret, "gitops-repository").InputString("name") != "cinegit/dev/gitops/repository" {
			t.Fatal("repository secret and its ExternalSecret expected")
		}
		labels, _ := es.Input("spec.target.template.metadata.labels").(map[string]any)
		data, _ := es.Input("spec.target.template.data").(map[string]any)
		if labels["argocd.argoproj.io/secret-type"] != "repository" || data["url"] != repo || data["type"] != "git" {
			t.Errorf("repository secret template: %v %v", labels, data)
		}
		if strings.Contains(fmt.Sprint(values(r)), "sshPrivateKey") || strings.Contains(fmt.Sprint(values(r)), "password") {
			t.Error("no credential in values")
		}
	})
}

func TestProjectsLimitWhereTheRepositoryDeploys(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		rel := r.Named(tRelease, "gitops")
		apps := r.Named(tProject, "gitops-applications-project")
		boot := r.Named(tProject, "gitops-bootstrap-project")
		def := r.Named(tPatch, "gitops-default-project")
		if apps == nil || boot == nil || def == nil {
			t.Fatal("two projects and the default project's lock expected")
		}
		for _, p := range []*harness.Resource{apps, boot, def} {
			if !r.DependsOn(p, rel) {
				t.Errorf("%s: the AppProject CRD comes with Argo CD", p.Name)
			}
			if !reflect.DeepEqual(p.Input("spec.clusterResourceWhitelist"), []any{}) {
				t.Errorf("%s may create cluster-scoped resources: %v", p.Name, p.Input("spec.clusterResourceWhitelist"))
			}
		}
		if !reflect.DeepEqual(apps.Input("spec.sourceRepos"), []any{repo}) || !reflect.DeepEqual(boot.Input("spec.sourceRepos"), []any{repo}) {
			t.Error("projects read the GitOps repository only")
		}
		dest, _ := apps.Input("spec.destinations").([]any)
		if len(dest) != 2 || harness.At(dest[0], "namespace") != "cinegit" || harness.At(dest[1], "namespace") != "media" || harness.At(dest[0], "server") != InClusterServer {
			t.Errorf("application destinations %v", dest)
		}
		if !reflect.DeepEqual(boot.Input("spec.namespaceResourceWhitelist"), []any{map[string]any{"group": "argoproj.io", "kind": "Application"}}) {
			t.Errorf("the bootstrap project creates Applications only: %v", boot.Input("spec.namespaceResourceWhitelist"))
		}
		annotations, _ := def.Input("metadata.annotations").(map[string]any)
		if def.InputString("metadata.name") != "default" || annotations["pulumi.com/patchForce"] != "true" ||
			!reflect.DeepEqual(def.Input("spec.sourceRepos"), []any{}) || !reflect.DeepEqual(def.Input("spec.destinations"), []any{}) {
			t.Errorf("the default project must be locked: %v", def.Inputs)
		}
	})
}

func TestAppOfApps(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		app := r.Named(tApp, "gitops-root")
		if app == nil || !r.DependsOn(app, r.Named(tRelease, "gitops")) {
			t.Fatal("the app of apps waits for Argo CD")
		}
		for path, want := range map[string]any{
			"metadata.name": RootApplication, "spec.project": BootstrapProject, "spec.source.repoURL": repo,
			"spec.source.targetRevision": "main", "spec.source.path": "clusters/dev", "spec.destination.server": InClusterServer,
			"spec.syncPolicy.automated.prune": true, "spec.syncPolicy.automated.selfHeal": true,
		} {
			if got := app.Input(path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
	})
}

func TestInfrastructureOutputsConfigMap(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		cm := r.Named(tConfigMap, "gitops-outputs")
		if cm == nil || cm.InputString("metadata.name") != OutputsConfigMap {
			t.Fatal("infrastructure-outputs ConfigMap expected")
		}
		if !preview {
			data, _ := cm.Input("data").(map[string]any)
			if cm.InputString("metadata.namespace") != "cinegit" || data["mediaBucketName"] != "cinegit-dev-media-123456789012-eu-west-1" || len(data) != 2 {
				t.Errorf("outputs: %v in %s", data, cm.InputString("metadata.namespace"))
			}
		}
	})
}

func TestNamespaceIsLabelled(t *testing.T) {
	r, err := component.Run(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := r.Named(tNamespace, "gitops").Input("metadata.labels").(map[string]any)
	if labels[kube.LabelEnforce] != kube.Restricted || labels[kube.LabelWarn] != kube.Restricted || labels[kube.LabelPurpose] != "gitops" {
		t.Errorf("labels %v", labels)
	}
}

func TestBadArgsFail(t *testing.T) {
	for name, mutate := range map[string]func(*Args){
		"chart range":        func(a *Args) { a.ChartVersion = "10.x" },
		"plain http repo":    func(a *Args) { a.RepoURL = "http://github.com/cinegit/gitops.git" },
		"no revision":        func(a *Args) { a.Revision = "" },
		"no secret store":    func(a *Args) { a.SecretStore = nil },
		"SSO without admins": func(a *Args) { a.SSO = &SSO{URL: "https://a", Issuer: "https://i", ClientID: "c"} },
		"bad output key":     func(a *Args) { a.Outputs["media bucket"] = pulumi.String("x") },
		"controller unsized": func(a *Args) { a.ControllerResources = kube.Resources{} },
		"repo server limits": func(a *Args) { a.RepoServerResources.Limits = kube.Quantities{} },
		"git over ftp":       func(a *Args) { a.RepoURL = "ftp://github.com/cinegit/gitops.git" },
		"no VPC range":       func(a *Args) { a.Network.VpcCIDR = "" },
	} {
		if _, err := component.Run(false, mutate); err == nil || !strings.Contains(err.Error(), "gitops") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestApplicationsCannotPullPlatformSecrets: the shared secret store reads every secret under
// the stack's prefix, so applications may not declare ExternalSecrets or SecretStores.
func TestApplicationsCannotPullPlatformSecrets(t *testing.T) {
	r, err := component.Run(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var project *harness.Resource
	for _, res := range r.Resources {
		if res.Name == "gitops-applications-project" {
			project = res
		}
	}
	if project == nil {
		t.Fatal("applications project missing")
	}
	denied := map[string]bool{}
	list, _ := project.Input("spec.namespaceResourceBlacklist").([]any)
	for _, gk := range list {
		m, _ := gk.(map[string]any)
		denied[fmt.Sprint(m["group"], "/", m["kind"])] = true
	}
	for _, want := range []string{
		"external-secrets.io/ExternalSecret", "external-secrets.io/SecretStore", "/ResourceQuota", "/LimitRange",
		"networking.k8s.io/NetworkPolicy", "rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/RoleBinding",
	} {
		if !denied[want] {
			t.Errorf("applications may create %s (denied: %v)", want, denied)
		}
	}
}

func TestGitPortFollowsTheRepositoryURL(t *testing.T) {
	for url, want := range map[string]int{
		"https://github.com/cinegit/gitops.git":         443,
		"https://git.example.com:8443/cinegit/gitops":   8443,
		"ssh://git@github.com/cinegit/gitops.git":       22,
		"ssh://git@git.example.com:2222/cinegit/gitops": 2222,
		"git@github.com:cinegit/gitops.git":             22,
	} {
		if got, err := GitPort(url); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", url, got, err, want)
		}
	}
}

// Argo CD's namespace denies by default and admits exactly its components' calls: the API for
// the controllers and the server, the repo server for them, Redis (directly or through HAProxy
// with Redis HA) for the server, controller and repo server, and the GitOps repository for the
// repo server alone; the chart's own policies (an open server, metrics from anywhere) are off.
func TestArgoCDNamespaceAllowsOnlyItsComponentsCalls(t *testing.T) {
	pod := func(labels map[string]string, ip string) netpolcheck.Endpoint {
		return netpolcheck.Endpoint{Namespace: "argocd", Labels: labels, IP: ip}
	}
	ctl, server, repoServer := pod(controllerPods, "10.0.33.1"), pod(serverPods, "10.0.33.2"), pod(repoServerPods, "10.0.33.3")
	appSet, notify, redis := pod(appSetPods, "10.0.33.4"), pod(notificationsPods, "10.0.33.5"), pod(redisPods, "10.0.33.6")
	haproxy, redisHA := pod(haproxyPods, "10.0.33.7"), pod(redisHAPods, "10.0.33.8")
	ip := func(a string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: a} }
	github := ip("140.82.112.3")
	ha := func(a *Args) { a.HA = true }
	ssh := func(a *Args) { a.RepoURL = "git@github.com:cinegit/gitops.git" }
	sso := func(a *Args) {
		a.SSO = &SSO{URL: "https://argocd.example.com", Issuer: "https://idp.example.com", ClientID: "argocd", AdminGroups: []string{"platform"}}
	}
	for _, tc := range []struct {
		name     string
		mutate   func(*Args)
		from, to netpolcheck.Endpoint
		port     int
		want     bool
	}{
		{"controller to the Kubernetes API", nil, ctl, ip("172.20.0.1"), 443, true},
		{"controller to the repo server", nil, ctl, repoServer, RepoServerPort, true},
		{"controller to Redis", nil, ctl, redis, RedisPort, true},
		{"controller to Git", nil, ctl, github, 443, false},
		{"server to the repo server", nil, server, repoServer, RepoServerPort, true},
		{"ApplicationSet controller to the repo server", nil, appSet, repoServer, RepoServerPort, true},
		{"notifications controller to the repo server", nil, notify, repoServer, RepoServerPort, true},
		{"notifications controller to Redis", nil, notify, redis, RedisPort, false},
		{"repo server to Git over HTTPS", nil, repoServer, github, 443, true},
		{"repo server to the VPC", nil, repoServer, ip("10.0.200.5"), 443, false},
		{"repo server to the Kubernetes API", nil, repoServer, ip("172.20.0.1"), 443, false},
		{"repo server to Git over SSH", ssh, repoServer, github, 22, true},
		{"repo server over SSH without an ssh URL", nil, repoServer, github, 22, false},
		{"server to the OIDC issuer without SSO", nil, server, ip("104.18.1.1"), 443, false},
		{"server to the OIDC issuer with SSO", sso, server, ip("104.18.1.1"), 443, true},
		{"anyone to the server", nil, ip("10.0.0.5"), server, 8080, false},
		{"anyone to the metrics", nil, ip("10.0.33.9"), ctl, 8082, false},
		{"HA: server to HAProxy", ha, server, haproxy, RedisPort, true},
		{"HA: server straight to a Redis server", ha, server, redisHA, RedisPort, false},
		{"HA: HAProxy to the Redis servers", ha, haproxy, redisHA, RedisPort, true},
		{"HA: Sentinels to one another", ha, redisHA, redisHA, SentinelPort, true},
		{"HA: HAProxy to the Sentinels", ha, haproxy, redisHA, SentinelPort, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := component.MustRun(t, false, tc.mutate)
			if got := netpolcheck.Registered(r).Allowed(tc.from, tc.to, "TCP", tc.port); got != tc.want {
				t.Errorf("%v -> %v:%d allowed %v, want %v", tc.from, tc.to, tc.port, got, tc.want)
			}
			if create := harness.Lookup(values(r), "global", "networkPolicy", "create"); create != false {
				t.Errorf("the chart's own network policies: create %v", create)
			}
		})
	}
}
