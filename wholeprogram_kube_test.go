//go:build charts || apiserver

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/chartcheck"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kube"
)

// What the chart renders (charts tag) and the real-server test (apiserver tag) both read: the
// charts on disk, the releases and the Kubernetes objects the program registers.

// chartsDir is where the unpacked charts are: <dir>/<chart>-<version>/<chart>/Chart.yaml.
func chartsDir() string {
	if d := os.Getenv("CINEGIT_CHARTS"); d != "" {
		return d
	}
	return ".charts"
}

// chartRelease is one registered Helm release, as the checks need it.
type chartRelease struct {
	resource                        string // Pulumi name
	chart, version, name, namespace string
	values                          map[string]any
}

func chartReleases(r *harness.Result) []chartRelease {
	var out []chartRelease
	for _, rel := range r.ByType(k8sRelease) {
		values, _ := rel.Input("values").(map[string]any)
		out = append(out, chartRelease{
			resource: rel.Name, chart: kube.ChartName(rel.InputString("chart")), version: rel.InputString("version"),
			name: rel.InputString("name"), namespace: rel.InputString("namespace"), values: values,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].resource < out[j].resource })
	return out
}

// chartPath finds a release's chart at its pinned version; a chart present only at other
// versions is an error naming the script that refreshes them.
func chartPath(dir, chart, version string) (string, bool, error) {
	p := filepath.Join(dir, chart+"-"+version, chart)
	if _, err := os.Stat(filepath.Join(p, "Chart.yaml")); err == nil {
		return p, true, nil
	}
	others, _ := filepath.Glob(filepath.Join(dir, chart+"-*", chart, "Chart.yaml"))
	if len(others) > 0 {
		return "", false, fmt.Errorf("chart %s is pinned at %s but %s holds only %v: run scripts/pull-charts.sh", chart, version, dir, others)
	}
	return "", false, nil
}

// builtinGroups are API groups Kubernetes serves itself; a "kubernetes:<group>/<version>:<Kind>"
// resource in any other group is a custom resource.
var builtinGroups = map[string]bool{
	"core": true, "apps": true, "batch": true, "networking.k8s.io": true, "storage.k8s.io": true,
	"rbac.authorization.k8s.io": true, "policy": true, "helm.sh": true, "apiextensions.k8s.io": true,
	"admissionregistration.k8s.io": true, "scheduling.k8s.io": true, "autoscaling": true,
	"coordination.k8s.io": true, "apiregistration.k8s.io": true, "discovery.k8s.io": true,
	"certificates.k8s.io": true, "node.k8s.io": true,
}

// isCustom reports whether an apiVersion is a custom resource's: one with a group Kubernetes
// does not serve itself.
func isCustom(apiVersion string) bool {
	group, _, grouped := strings.Cut(apiVersion, "/")
	return grouped && !builtinGroups[group]
}

// kubeObject is a Kubernetes object the program registers, as the API server would receive it.
// A server-side-apply patch (<Kind>Patch) is partial by design: it changes an object something
// else created.
type kubeObject struct {
	resource string // Pulumi name
	obj      map[string]any
	patch    bool
}

// kubeObjects are every Kubernetes object the program registers but the Helm releases (whose
// objects are the charts' renders), in registration order.
func kubeObjects(r *harness.Result) []kubeObject {
	var out []kubeObject
	for _, res := range r.Resources {
		pkg, rest, ok := strings.Cut(res.Type, ":")
		if !ok || pkg != "kubernetes" || res.Type == k8sRelease {
			continue
		}
		gv, kind, _ := strings.Cut(rest, ":")
		gv = strings.TrimPrefix(gv, "core/")
		obj, _ := harness.Plain(resource.NewProperty(res.Inputs)).(map[string]any)
		obj["apiVersion"], obj["kind"] = gv, strings.TrimSuffix(kind, "Patch")
		out = append(out, kubeObject{resource: res.Name, obj: obj, patch: strings.HasSuffix(kind, "Patch")})
	}
	return out
}

// customResources are the custom resources among the program's objects.
func customResources(r *harness.Result) []kubeObject {
	var out []kubeObject
	for _, o := range kubeObjects(r) {
		if isCustom(o.obj["apiVersion"].(string)) {
			out = append(out, o)
		}
	}
	return out
}

// mustRenderReleases is renderReleases for a test: it skips when dir has none of the charts
// (unless CINEGIT_CHARTS_REQUIRED is set) and fails when it has only some of them.
func mustRenderReleases(t *testing.T, dir string, r *harness.Result) map[string]*chartcheck.Rendered {
	t.Helper()
	rendered, missing, err := renderReleases(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		if len(rendered) == 0 && os.Getenv("CINEGIT_CHARTS_REQUIRED") == "" {
			t.Skipf("no charts in %s (missing %v): run scripts/pull-charts.sh (needs internet) or set CINEGIT_CHARTS", dir, missing)
		}
		t.Fatalf("charts missing in %s: %v: run scripts/pull-charts.sh", dir, missing)
	}
	return rendered
}

// renderReleases renders every release of r whose chart is in dir at its pinned version, with
// the program's values and the cluster's Kubernetes version: a first pass for the CRDs the
// releases install, then each again with the API versions those add, as the cluster serves
// them once the CRDs are in (charts gate templates such as ServiceMonitors on them). missing
// names the releases whose chart is not there.
func renderReleases(dir string, r *harness.Result) (map[string]*chartcheck.Rendered, []string, error) {
	kubeVersion := r.Named("eks:index:Cluster", "cluster").InputString("version")
	releases := chartReleases(r)
	crds := chartcheck.CRDs{}
	paths := map[string]string{}
	var missing []string
	for _, rel := range releases {
		p, ok, err := chartPath(dir, rel.chart, rel.version)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, rel.chart+"-"+rel.version)
			continue
		}
		paths[rel.resource] = p
		out, err := chartcheck.Render(p, rel.renderArgs(kubeVersion, nil))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rel.resource, err)
		}
		if err := crds.CollectCRDs(out.Objects); err != nil {
			return nil, nil, err
		}
	}
	out := map[string]*chartcheck.Rendered{}
	for _, rel := range releases {
		p, ok := paths[rel.resource]
		if !ok {
			continue
		}
		o, err := chartcheck.Render(p, rel.renderArgs(kubeVersion, crds.APIVersions()))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rel.resource, err)
		}
		if o.Version != rel.version {
			return nil, nil, fmt.Errorf("%s holds %s %s, pinned %s: run scripts/pull-charts.sh", p, o.Chart, o.Version, rel.version)
		}
		out[rel.resource] = o
	}
	return out, missing, nil
}

func (rel chartRelease) renderArgs(kubeVersion string, apiVersions []string) chartcheck.Release {
	return chartcheck.Release{Name: rel.name, Namespace: rel.namespace, Values: rel.values, KubeVersion: kubeVersion, APIVersions: apiVersions}
}
