package kube

import (
	"reflect"
	"strings"
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

type inner struct {
	Enabled bool `json:"enabled"`
}

type embedded struct {
	Replicas int `json:"replicas"`
}

type sample struct {
	embedded
	Name      string                        `json:"name"`
	Empty     string                        `json:"empty,omitempty"`
	Zero      int                           `json:"zero"`
	Ptr       *inner                        `json:"ptr"`
	Nested    inner                         `json:"nested"`
	List      []string                      `json:"list"`
	NilList   []string                      `json:"nilList"`
	EmptyList []string                      `json:"emptyList"`
	Labels    map[string]string             `json:"labels"`
	Outputs   map[string]pulumi.StringInput `json:"outputs"`
	Input     pulumi.StringInput            `json:"input"`
	NilInput  pulumi.StringInput            `json:"nilInput"`
	Free      map[string]any                `json:"free"`
	Dotted    string                        `json:"grafana.ini"`
	Skipped   string                        `json:"-"`
	unexposed string
}

func TestValuesFollowJSONTags(t *testing.T) {
	got, err := Values(sample{
		embedded:  embedded{Replicas: 2},
		Name:      "x",
		List:      []string{"a"},
		EmptyList: []string{},
		Labels:    map[string]string{"k": "v"},
		Outputs:   map[string]pulumi.StringInput{"arn": pulumi.String("arn:aws:iam::1:role/r")},
		Input:     pulumi.String("in"),
		Free:      map[string]any{"n": 1000, "b": false},
		Dotted:    "d",
		Skipped:   "no",
		unexposed: "no",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := pulumi.Map{
		"replicas":    pulumi.Int(2),
		"name":        pulumi.String("x"),
		"zero":        pulumi.Int(0),
		"nested":      pulumi.Map{"enabled": pulumi.Bool(false)},
		"list":        pulumi.Array{pulumi.String("a")},
		"emptyList":   pulumi.Array{},
		"labels":      pulumi.Map{"k": pulumi.String("v")},
		"outputs":     pulumi.Map{"arn": pulumi.String("arn:aws:iam::1:role/r")},
		"input":       pulumi.String("in"),
		"free":        pulumi.Map{"n": pulumi.Int(1000), "b": pulumi.Bool(false)},
		"grafana.ini": pulumi.String("d"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values:\n got %#v\nwant %#v", got, want)
	}
}

func TestValuesRejectWhatHelmCannotTake(t *testing.T) {
	if _, err := Values("text"); err == nil {
		t.Error("a string is not a values map")
	}
	if _, err := Values(map[int]string{1: "a"}); err == nil {
		t.Error("map keys must be strings")
	}
	if _, err := Values(struct {
		L []*inner `json:"l"`
	}{L: []*inner{nil}}); err == nil {
		t.Error("a nil list element has no Helm value")
	}
}

func TestReleaseArgsAreChecked(t *testing.T) {
	ok := ReleaseArgs{Name: "loki", Chart: "loki", Version: "7.3.0", Repo: "https://grafana.github.io/helm-charts", Namespace: pulumi.String("monitoring")}
	if err := ok.check(); err != nil {
		t.Fatal(err)
	}
	oci := ReleaseArgs{Name: "karpenter", Chart: "oci://public.ecr.aws/karpenter/karpenter", Version: "1.14.1", Namespace: pulumi.String("kube-system")}
	if err := oci.check(); err != nil || ChartName(oci.Chart) != "karpenter" || ChartName("loki") != "loki" {
		t.Fatalf("an OCI chart without a repository: %v (name %q)", err, ChartName(oci.Chart))
	}
	for name, mutate := range map[string]func(*ReleaseArgs){
		"version range":   func(a *ReleaseArgs) { a.Version = "^7.3.0" },
		"no version":      func(a *ReleaseArgs) { a.Version = "" },
		"version with v":  func(a *ReleaseArgs) { a.Version = "v7.3.0" },
		"http repository": func(a *ReleaseArgs) { a.Repo = "http://grafana.github.io/helm-charts" },
		"oci repository":  func(a *ReleaseArgs) { a.Repo = "oci://registry/charts" },
		"no namespace":    func(a *ReleaseArgs) { a.Namespace = nil },
		"no release name": func(a *ReleaseArgs) { a.Name = "" },
		"no chart at all": func(a *ReleaseArgs) { a.Chart = "" },
		"OCI chart and a repository": func(a *ReleaseArgs) {
			a.Chart = "oci://public.ecr.aws/karpenter/karpenter"
		},
	} {
		a := ok
		mutate(&a)
		if err := a.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// runInNamespace runs body under mocks with a Kubernetes provider and a "monitoring" namespace
// at the given Pod Security level; opts selects the provider.
func runInNamespace(level string, preview bool, body func(ctx *pulumi.Context, ns *corev1.Namespace, opts pulumi.ResourceOption) error) (*harness.Result, error) {
	return harness.RunComponent("us-east-1", preview, func(ctx *pulumi.Context, p harness.Providers) error {
		opts := pulumi.Provider(p.Kubernetes)
		ns, err := NewNamespace(ctx, "ns", NamespaceArgs{Name: "monitoring", Environment: "dev", Purpose: "monitoring", PodSecurity: level}, opts)
		if err != nil {
			return err
		}
		return body(ctx, ns, opts)
	})
}

func TestReleaseNamespaceAndCustomResourceUnderMocks(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r, err := runInNamespace(Privileged, preview, func(ctx *pulumi.Context, ns *corev1.Namespace, opts pulumi.ResourceOption) error {
			rel, err := NewRelease(ctx, "rel", ReleaseArgs{
				Name: "loki", Chart: "loki", Version: "7.3.0", Repo: "https://grafana.github.io/helm-charts",
				Namespace: NamespaceName(ns), Values: struct {
					Mode string `json:"deploymentMode"`
				}{"SingleBinary"},
			}, opts)
			if err != nil {
				return err
			}
			_, err = NewCustomResource(ctx, "cr", Object{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule", Name: "r", Namespace: NamespaceName(ns)},
				struct {
					Groups []string `json:"groups"`
				}{[]string{}}, opts, pulumi.DependsOn([]pulumi.Resource{rel}))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		rel := r.Named("kubernetes:helm.sh/v3:Release", "rel")
		ns := r.Named("kubernetes:core/v1:Namespace", "ns")
		cr := r.Named("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "cr")
		if rel == nil || ns == nil || cr == nil {
			t.Fatalf("missing resources: %v %v %v", rel, ns, cr)
		}
		for path, want := range map[string]any{
			"chart": "loki", "version": "7.3.0", "repositoryOpts.repo": "https://grafana.github.io/helm-charts",
			"atomic": true, "cleanupOnFail": true, "createNamespace": false, "values.deploymentMode": "SingleBinary", "name": "loki",
		} {
			if got := rel.Input(path); got != want {
				t.Errorf("release %s = %v, want %v", path, got, want)
			}
		}
		if !r.DependsOn(rel, ns) || !r.DependsOn(cr, rel) || !r.DependsOn(cr, ns) {
			t.Error("the release must wait for its namespace, the custom resource for the release")
		}
		labels, _ := ns.Input("metadata.labels").(map[string]any)
		for _, k := range []string{LabelManagedBy, LabelEnvironment, LabelPurpose, LabelEnforce, LabelWarn, LabelAudit} {
			if labels[k] == nil || labels[k] == "" {
				t.Errorf("namespace label %s missing: %v", k, labels)
			}
		}
		if labels[LabelEnforce] != Privileged || labels[LabelWarn] != Restricted {
			t.Errorf("pod security labels: %v", labels)
		}
		if cr.InputString("kind") != "PrometheusRule" || cr.InputString("apiVersion") != "monitoring.coreos.com/v1" || cr.Input("spec.groups") == nil {
			t.Errorf("custom resource inputs: %v", cr.Inputs)
		}
	}
}

func TestNamespaceArgsAreChecked(t *testing.T) {
	for _, a := range []NamespaceArgs{
		{Name: "Monitoring", Environment: "dev", Purpose: "x", PodSecurity: Baseline},
		{Name: "monitoring", Environment: "dev", Purpose: "x", PodSecurity: "open"},
		{Name: "monitoring", Purpose: "x", PodSecurity: Baseline},
		{Name: strings.Repeat("a", 64), Environment: "dev", Purpose: "x", PodSecurity: Baseline},
	} {
		_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
			_, err := NewNamespace(ctx, "ns", a)
			return err
		}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
		if err == nil {
			t.Errorf("%+v accepted", a)
		}
	}
}

func TestExternalSecretShape(t *testing.T) {
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		_, err := NewExternalSecret(ctx, "es", ExternalSecretArgs{
			Name: "gitops-repository", Namespace: pulumi.String("argocd"), Store: pulumi.String("aws-secrets-manager"),
			SecretArn: pulumi.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:cinegit/dev/gitops/repository"), RefreshInterval: "15m",
			Labels: map[string]string{"argocd.argoproj.io/secret-type": "repository"},
			Data:   map[string]string{"url": "https://github.com/cinegit/gitops.git"},
		})
		return err
	}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	es := r.Named("kubernetes:external-secrets.io/v1:ExternalSecret", "es")
	for path, want := range map[string]any{
		"spec.secretStoreRef.kind": "ClusterSecretStore", "spec.secretStoreRef.name": "aws-secrets-manager",
		"spec.target.name": "gitops-repository", "spec.target.creationPolicy": "Owner", "spec.target.deletionPolicy": "Retain",
		"spec.target.template.mergePolicy": "Merge",
		"spec.dataFrom[0].extract.key":     "arn:aws:secretsmanager:us-east-1:123456789012:secret:cinegit/dev/gitops/repository",
		"spec.refreshInterval":             "15m",
	} {
		if got := es.Input(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	labels, _ := es.Input("spec.target.template.metadata.labels").(map[string]any)
	if labels["argocd.argoproj.io/secret-type"] != "repository" {
		t.Errorf("labels: %v", labels)
	}
}

// With Properties, the Secret holds only the named keys, each from one property of the JSON
// secret, and nothing is extracted wholesale.
func TestExternalSecretWithPropertiesWritesOnlyThem(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:cinegit/dev/loki/client"
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		_, err := NewExternalSecret(ctx, "es", ExternalSecretArgs{
			Name: "loki-gateway-htpasswd", Namespace: pulumi.String("monitoring"), Store: pulumi.String("aws-secrets-manager"),
			SecretArn: pulumi.String(arn), RefreshInterval: "15m",
			Properties: map[string]string{".htpasswd": "htpasswd", "user": "username"},
		})
		return err
	}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	es := r.Named("kubernetes:external-secrets.io/v1:ExternalSecret", "es")
	want := []any{
		map[string]any{"secretKey": ".htpasswd", "remoteRef": map[string]any{"key": arn, "property": "htpasswd"}},
		map[string]any{"secretKey": "user", "remoteRef": map[string]any{"key": arn, "property": "username"}},
	}
	if got := es.Input("spec.data"); !reflect.DeepEqual(got, want) {
		t.Errorf("data %v, want %v", got, want)
	}
	if got := es.Input("spec.dataFrom"); got != nil {
		t.Errorf("dataFrom %v: the whole secret would land in the Secret", got)
	}
}

// The Release binding must send the engine what the SDK's helmv3.NewRelease sends: the same
// type, inputs, dependencies and provider version, in a deployment and in a preview (where the
// namespace is unknown). Outputs the binding declares must have the SDK's names and types.
func TestReleaseBindingMatchesTheSDK(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r, err := runInNamespace(Restricted, preview, func(ctx *pulumi.Context, ns *corev1.Namespace, opts pulumi.ResourceOption) error {
			values := struct {
				Mode     string             `json:"deploymentMode"`
				Replicas int                `json:"replicas"`
				Role     pulumi.StringInput `json:"role"`
			}{"SingleBinary", 2, pulumi.String("arn:aws:iam::1:role/r")}
			if _, err := NewRelease(ctx, "ours", ReleaseArgs{
				Name: "loki", Chart: "loki", Version: "7.3.0", Repo: "https://grafana.github.io/helm-charts",
				Namespace: NamespaceName(ns), Values: values, TimeoutSeconds: 600,
			}, opts); err != nil {
				return err
			}
			sdkValues, err := Values(values)
			if err != nil {
				return err
			}
			_, err = helmv3.NewRelease(ctx, "sdk", &helmv3.ReleaseArgs{
				Name:            pulumi.String("loki"),
				Chart:           pulumi.String("loki"),
				Version:         pulumi.String("7.3.0"),
				RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String("https://grafana.github.io/helm-charts")},
				Namespace:       NamespaceName(ns),
				CreateNamespace: pulumi.Bool(false),
				Atomic:          pulumi.Bool(true),
				CleanupOnFail:   pulumi.Bool(true),
				MaxHistory:      pulumi.Int(10),
				Timeout:         pulumi.Int(600),
				Values:          sdkValues,
			}, opts)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ours, sdk := r.Named(ReleaseType, "ours"), r.Named(ReleaseType, "sdk")
		if ours == nil || sdk == nil {
			t.Fatalf("preview=%v: want two %s, got %v and %v", preview, ReleaseType, ours, sdk)
		}
		if !ours.Inputs.DeepEquals(sdk.Inputs) {
			t.Errorf("preview=%v: inputs differ:\n ours %v\n sdk  %v", preview, ours.Inputs, sdk.Inputs)
		}
		if ours.Version == "" || ours.Version != sdk.Version || ours.Provider != sdk.Provider {
			t.Errorf("preview=%v: provider %q version %q, the SDK's %q version %q", preview, ours.Provider, ours.Version, sdk.Provider, sdk.Version)
		}
		if !reflect.DeepEqual(ours.Dependencies, sdk.Dependencies) || !reflect.DeepEqual(ours.PropertyDependencies, sdk.PropertyDependencies) {
			t.Errorf("preview=%v: dependencies %v %v, the SDK's %v %v", preview, ours.Dependencies, ours.PropertyDependencies, sdk.Dependencies, sdk.PropertyDependencies)
		}
	}

	sdkOutputs := map[string]reflect.Type{}
	st := reflect.TypeFor[helmv3.Release]()
	for i := range st.NumField() {
		if tag := st.Field(i).Tag.Get("pulumi"); tag != "" {
			sdkOutputs[tag] = st.Field(i).Type
		}
	}
	ot := reflect.TypeFor[Release]()
	for i := range ot.NumField() {
		f := ot.Field(i)
		tag := f.Tag.Get("pulumi")
		if tag == "" {
			continue
		}
		if want, ok := sdkOutputs[tag]; !ok || want != f.Type {
			t.Errorf("output %s: %v, the SDK has %v", tag, f.Type, want)
		}
	}
}

// An OCI chart whose CRDs another release owns registers what the SDK would: no repository
// options, skipCrds.
func TestOCIReleaseBindingMatchesTheSDK(t *testing.T) {
	r, err := runInNamespace(Restricted, false, func(ctx *pulumi.Context, ns *corev1.Namespace, opts pulumi.ResourceOption) error {
		chart := "oci://public.ecr.aws/karpenter/karpenter"
		if _, err := NewRelease(ctx, "ours", ReleaseArgs{
			Name: "karpenter", Chart: chart, Version: "1.14.1", Namespace: NamespaceName(ns), Values: map[string]any{}, SkipCrds: true,
		}, opts); err != nil {
			return err
		}
		_, err := helmv3.NewRelease(ctx, "sdk", &helmv3.ReleaseArgs{
			Name: pulumi.String("karpenter"), Chart: pulumi.String(chart), Version: pulumi.String("1.14.1"),
			Namespace: NamespaceName(ns), CreateNamespace: pulumi.Bool(false), Atomic: pulumi.Bool(true),
			CleanupOnFail: pulumi.Bool(true), MaxHistory: pulumi.Int(10), Timeout: pulumi.Int(DefaultTimeoutSeconds),
			Values: pulumi.Map{}, SkipCrds: pulumi.Bool(true),
		}, opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ours, sdk := r.Named(ReleaseType, "ours"), r.Named(ReleaseType, "sdk")
	if ours == nil || sdk == nil || !ours.Inputs.DeepEquals(sdk.Inputs) {
		t.Errorf("inputs differ:\n ours %v\n sdk  %v", ours.Inputs, sdk.Inputs)
	}
}
