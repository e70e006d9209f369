package secrets

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/kube/netpolcheck"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region     = "eu-west-1"
	issuer     = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	oidcArn    = "arn:aws:iam::123456789012:oidc-provider/" + issuer
	dbSecret   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c-AbCdEf"
	dbKey      = "arn:aws:kms:eu-west-1:123456789012:key/database"
	cacheSec   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cinegit/dev/cache/auth-AbCdEf"
	cacheKey   = "arn:aws:kms:eu-west-1:123456789012:key/cache"
	cdnSecret  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cinegit/dev/cdn/signing-key-AbCdEf"
	tRole      = "aws:iam/role:Role"
	tPolicy    = "aws:iam/rolePolicy:RolePolicy"
	tRelease   = "kubernetes:helm.sh/v3:Release"
	tNamespace = "kubernetes:core/v1:Namespace"
	tStore     = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
	tExtSecret = "kubernetes:external-secrets.io/v1:ExternalSecret"
)

func testEnv() stackenv.Env {
	return stackenv.Env{
		Naming:    naming.New("cinegit", "dev"),
		Tags:      tags.Set(tags.Base("cinegit", "dev", nil)),
		AccountID: harness.AccountID,
		Partition: harness.Partition,
		Region:    region,
	}
}

func testArgs() Args {
	return Args{
		Env:                  testEnv(),
		OidcProviderArn:      pulumi.String(oidcArn),
		OidcIssuer:           pulumi.String(issuer),
		ChartVersion:         "2.9.0",
		Namespace:            "external-secrets",
		Replicas:             1,
		RefreshInterval:      "15m",
		ApplicationNamespace: "cinegit",
		ConsumerNamespaces:   []string{"monitoring", "argocd", "cinegit"},
		ApplicationSecrets: []ApplicationSecret{
			{Name: "database", SecretArn: pulumi.String(dbSecret), KmsKeyArn: pulumi.String(dbKey)},
			{Name: "redis", SecretArn: pulumi.String(cacheSec), KmsKeyArn: pulumi.String(cacheKey)},
			{Name: "cdn-signing-key", SecretArn: pulumi.String(cdnSecret)},
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
		_, err := New(ctx, "secrets", args, pulumi.Provider(p.AWS))
		return err
	},
}

func policyOf(t *testing.T, res *harness.Resource, path string) map[string]harness.Statement {
	t.Helper()
	out, err := res.PolicyBySid(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func TestOperatorReleaseIsPinnedAndUsesItsRole(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := component.MustRun(t, preview, nil)
		rel := r.Named(tRelease, "secrets-operator")
		role := r.Named(tRole, "secrets-operator")
		ns := r.Named(tNamespace, "secrets-operator")
		if rel == nil || role == nil || ns == nil {
			t.Fatal("release, role and namespace expected")
		}
		for path, want := range map[string]any{
			"chart": "external-secrets", "version": "2.9.0", "repositoryOpts.repo": "https://charts.external-secrets.io",
			"atomic": true, "createNamespace": false, "values.installCRDs": true,
			"values.serviceAccount.name": ServiceAccount, "values.leaderElect": false,
		} {
			if got := rel.Input(path); got != want {
				t.Errorf("preview=%v: %s = %v, want %v", preview, path, got, want)
			}
		}
		if !r.DependsOn(rel, role) || !r.DependsOn(rel, ns) {
			t.Error("the release must carry the role's ARN and wait for its namespace")
		}
		if !preview {
			ann, _ := rel.Input("values.serviceAccount.annotations").(map[string]any)
			if ann["eks.amazonaws.com/role-arn"] != "arn:aws:iam::123456789012:role/"+role.InputString("name") {
				t.Errorf("service account annotation %v, role %s", ann, role.InputString("name"))
			}
			for _, k := range []string{"resources.requests.cpu", "resources.limits.memory", "webhook.resources.limits.cpu", "certController.resources.requests.memory"} {
				if rel.Input("values."+k) == nil {
					t.Errorf("values.%s unset: every container has requests and limits", k)
				}
			}
		}
	}
}

func TestOperatorRoleIsExact(t *testing.T) {
	r := component.MustRun(t, false, nil)
	role := r.Named(tRole, "secrets-operator")
	var trust struct {
		Statement []struct {
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(role.InputString("assumeRolePolicy")), &trust); err != nil || len(trust.Statement) != 1 {
		t.Fatalf("trust policy: %v", err)
	}
	cond := trust.Statement[0].Condition["StringEquals"]
	if trust.Statement[0].Principal["Federated"] != oidcArn ||
		cond[issuer+":sub"] != "system:serviceaccount:external-secrets:external-secrets" || cond[issuer+":aud"] != "sts.amazonaws.com" {
		t.Errorf("trust: %+v", trust.Statement[0])
	}

	policy := policyOf(t, r.Named(tPolicy, "secrets-operator"), "policy")
	if len(policy) != 3 {
		t.Fatalf("want 3 statements (read, decrypt with known keys, decrypt by encryption context), got %v", policy)
	}
	read := policy["ReadStackSecrets"]
	if !reflect.DeepEqual(sorted(read.Action), []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}) {
		t.Errorf("read actions %v: read only, never list, write or delete", read.Action)
	}
	wantRead := sorted([]string{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:cinegit/dev/*", dbSecret, cacheSec, cdnSecret})
	if !reflect.DeepEqual(sorted(read.Resource), wantRead) {
		t.Errorf("readable secrets %v, want %v", read.Resource, wantRead)
	}
	decrypt := policy["DecryptStackSecrets"]
	if !reflect.DeepEqual(decrypt.Action, []string{"kms:Decrypt"}) || len(decrypt.Resource) != 3 {
		t.Errorf("decrypt %v: the platform key and the two known keys", decrypt)
	}
	for _, k := range []string{dbKey, cacheKey} {
		if !contains(decrypt.Resource, k) {
			t.Errorf("key %s missing from %v", k, decrypt.Resource)
		}
	}
	if got := decrypt.Condition["StringEquals"]["kms:ViaService"]; !reflect.DeepEqual(got, []string{"secretsmanager.eu-west-1.amazonaws.com"}) {
		t.Errorf("decrypt must go through Secrets Manager: %v", got)
	}
	keyless := policy["DecryptNamedSecretsWithTheirKeys"]
	if !reflect.DeepEqual(keyless.Resource, []string{"arn:aws:kms:eu-west-1:123456789012:key/*"}) ||
		!reflect.DeepEqual(keyless.Condition["StringEquals"]["kms:EncryptionContext:SecretARN"], []string{cdnSecret}) ||
		!reflect.DeepEqual(keyless.Condition["StringEquals"]["kms:ViaService"], []string{"secretsmanager.eu-west-1.amazonaws.com"}) {
		t.Errorf("a secret without a known key is decryptable for that secret only: %+v", keyless)
	}
	for sid, s := range policy {
		if contains(s.Resource, "*") {
			t.Errorf("%s allows Resource *", sid)
		}
	}
}

func TestAllKeysKnownNeedNoEncryptionContextStatement(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) { a.ApplicationSecrets = a.ApplicationSecrets[:2] })
	if _, ok := policyOf(t, r.Named(tPolicy, "secrets-operator"), "policy")["DecryptNamedSecretsWithTheirKeys"]; ok {
		t.Error("no key/* statement when every key is known")
	}
}

func TestStoreAndExternalSecrets(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := component.MustRun(t, preview, nil)
		rel := r.Named(tRelease, "secrets-operator")
		store := r.Named(tStore, "secrets-store")
		appNs := r.Named(tNamespace, "secrets-applications")
		if store == nil || appNs == nil {
			t.Fatal("store and application namespace expected")
		}
		if !r.DependsOn(store, rel) {
			t.Error("the store's CRD comes with the release: the store must wait for it")
		}
		if store.InputString("metadata.name") != StoreName || store.InputString("spec.provider.aws.service") != "SecretsManager" ||
			store.InputString("spec.provider.aws.region") != region || store.Input("spec.provider.aws.auth") != nil {
			t.Errorf("store: %v", store.Inputs)
		}
		got := store.Input("spec.conditions[0].namespaces")
		if !reflect.DeepEqual(got, []any{"cinegit", "monitoring", "argocd"}) {
			t.Errorf("store namespaces %v: only the consumers, each once", got)
		}
		es := r.ByType(tExtSecret)
		if len(es) != 3 {
			t.Fatalf("want 3 external secrets, got %d", len(es))
		}
		for _, e := range es {
			if !r.DependsOn(e, store) || !r.DependsOn(e, appNs) {
				t.Errorf("%s must wait for the store and the application namespace", e.Name)
			}
			if !preview && (e.InputString("metadata.namespace") != "cinegit" || e.InputString("spec.secretStoreRef.name") != StoreName ||
				e.InputString("spec.refreshInterval") != "15m" || e.InputString("spec.dataFrom[0].extract.key") == "") {
				t.Errorf("%s: %v", e.Name, e.Inputs)
			}
		}
		if !preview {
			if e := r.Named(tExtSecret, "secrets-database"); e.InputString("spec.dataFrom[0].extract.key") != dbSecret || e.InputString("spec.target.name") != "database" {
				t.Errorf("database secret: %v", e.Inputs)
			}
		}
		for _, ns := range r.ByType(tNamespace) {
			labels, _ := ns.Input("metadata.labels").(map[string]any)
			if labels["pod-security.kubernetes.io/enforce"] != "restricted" || labels["cinegit.io/environment"] != "dev" {
				t.Errorf("namespace %s labels %v", ns.Name, labels)
			}
		}
	}
}

func TestPlatformKeyRotatesAndIsProtectedWhenAsked(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) { a.Protect = true })
	key := r.Named("aws:kms/key:Key", "secrets-platform")
	if key == nil || key.Input("enableKeyRotation") != true || !key.Protect {
		t.Fatalf("platform key: %v", key)
	}
}

func TestBadArgsFail(t *testing.T) {
	for name, mutate := range map[string]func(*Args){
		"range chart version":         func(a *Args) { a.ChartVersion = "2.x" },
		"operator in the app space":   func(a *Args) { a.Namespace = a.ApplicationNamespace },
		"refresh every second":        func(a *Args) { a.RefreshInterval = "1s" },
		"refresh in days":             func(a *Args) { a.RefreshInterval = "1d" },
		"no replicas":                 func(a *Args) { a.Replicas = 0 },
		"secret without ARN":          func(a *Args) { a.ApplicationSecrets[0].SecretArn = nil },
		"secret name Kubernetes bars": func(a *Args) { a.ApplicationSecrets[0].Name = "Database" },
		"same secret twice":           func(a *Args) { a.ApplicationSecrets[1].Name = a.ApplicationSecrets[0].Name },
		"no OIDC":                     func(a *Args) { a.OidcIssuer = nil },
		"no VPC range":                func(a *Args) { a.Network.VpcCIDR = "" },
	} {
		if _, err := component.Run(false, mutate); err == nil || !strings.Contains(err.Error(), "secrets") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestSecretNamesShareTheStackPrefix(t *testing.T) {
	env := testEnv()
	if Prefix(env) != "cinegit/dev/" || SecretName(env, "grafana", "admin") != "cinegit/dev/grafana/admin" {
		t.Fatalf("prefix %q, name %q", Prefix(env), SecretName(env, "grafana", "admin"))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPerServiceSecretsAreReadableButNotSynced: a PerService secret stays readable by the
// operator (the services component syncs it per service) but gets no ExternalSecret in the
// application namespace.
func TestPerServiceSecretsAreReadableButNotSynced(t *testing.T) {
	r := component.MustRun(t, false, func(a *Args) {
		a.ApplicationSecrets = []ApplicationSecret{{Name: "redis", SecretArn: pulumi.String(cacheSec), KmsKeyArn: pulumi.String(cacheKey), PerService: true}}
	})
	if es := r.Named(tExtSecret, "secrets-redis"); es != nil {
		t.Error("a per-service secret is synced into the application namespace")
	}
	if doc := r.Named(tPolicy, "secrets-operator").InputString("policy"); !strings.Contains(doc, cacheSec) {
		t.Errorf("the operator cannot read the per-service secret: %s", doc)
	}
}

// The operator's namespace denies by default: the controller reaches the Kubernetes API,
// Secrets Manager and STS (through the interface endpoints where the VPC has them), the
// certificate controller the Kubernetes API, and only the API server reaches the webhook.
func TestOperatorNamespaceAllowsOnlyWhatTheOperatorNeeds(t *testing.T) {
	ctl := netpolcheck.Endpoint{Namespace: "external-secrets", Labels: controllerPods, IP: "10.0.33.1"}
	hook := netpolcheck.Endpoint{Namespace: "external-secrets", Labels: webhookPods, IP: "10.0.33.2"}
	certs := netpolcheck.Endpoint{Namespace: "external-secrets", Labels: certControllerPods, IP: "10.0.33.3"}
	app := netpolcheck.Endpoint{Namespace: "cinegit", Labels: map[string]string{"app": "review"}, IP: "10.0.33.9"}
	ip := func(a string) netpolcheck.Endpoint { return netpolcheck.Endpoint{IP: a} }
	for _, tc := range []struct {
		name      string
		endpoints bool
		from, to  netpolcheck.Endpoint
		port      int
		want      bool
	}{
		{"controller to the Kubernetes API", false, ctl, ip("172.20.0.1"), 443, true},
		{"controller to Secrets Manager", false, ctl, ip("52.46.1.1"), 443, true},
		{"controller to the interface endpoints", true, ctl, ip("10.0.64.4"), 443, true},
		{"controller to the same range without endpoints", false, ctl, ip("10.0.64.4"), 443, false},
		{"controller into the VPC", true, ctl, ip("10.0.200.4"), 443, false},
		{"controller to the database", false, ctl, ip("10.0.96.4"), 5432, false},
		{"API server to the webhook", false, ip("10.0.48.4"), hook, WebhookPort, true},
		{"a public subnet to the webhook", false, ip("10.0.0.9"), hook, WebhookPort, false},
		{"webhook out", false, hook, ip("172.20.0.1"), 443, false},
		{"certificate controller to the Kubernetes API", false, certs, ip("172.20.0.1"), 443, true},
		{"certificate controller to AWS", false, certs, ip("52.46.1.1"), 443, false},
		{"anything to the controller's metrics", false, app, ctl, 8080, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := component.MustRun(t, false, func(a *Args) {
				if tc.endpoints {
					// A range of its own (the program uses the private subnets), to show which
					// rule admits it.
					a.Network.EndpointCIDRs = []string{"10.0.64.0/20"}
				}
			})
			if got := netpolcheck.Registered(r).Allowed(tc.from, tc.to, "TCP", tc.port); got != tc.want {
				t.Errorf("%v -> %v:%d allowed %v, want %v", tc.from, tc.to, tc.port, got, tc.want)
			}
		})
	}
}
