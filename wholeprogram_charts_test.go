//go:build charts

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/cinegit/infrastructure/pkg/chartcheck"
	"github.com/cinegit/infrastructure/pkg/harness"
)

// The Kubernetes layer against the real charts (issue 13): every Helm release of every stack is
// rendered with its chart at the pinned version through Helm's own install action, with exactly
// the values the program registers, at the cluster's Kubernetes version; the render must pass
// the charts' values schemas, every supplied key must be one the chart has, every pod must meet
// its namespace's Pod Security level and set requests and limits, and every custom resource the
// program writes must validate against its CRD as the chart at its pinned version defines it.
//
// The charts are not in the repository: the workplace's rules keep third-party chart archives out
// of our commits. scripts/pull-charts.sh pulls them (internet needed) into .charts/ (gitignored),
// one directory per chart and version, as scripts/bump-chart.sh does; CINEGIT_CHARTS points
// elsewhere. Without them the test skips, naming the script; with CINEGIT_CHARTS_REQUIRED=1
// (for a machine that has them) a missing chart fails.
//
// The build tag keeps Helm and the Kubernetes API server libraries out of the whole-program test
// binary, whose link they triple (13 s to 43 s): run it with `go test -tags charts -run
// TestChartsRender .`.

// kubernetesObjects are values every chart here passes through to the pod spec as Kubernetes
// API objects (toYaml): their keys are the API's, which the Pod Security and resources checks
// below read from the rendered pods.
var kubernetesObjects = []string{"**.securityContext", "**.podSecurityContext", "**.containerSecurityContext", "**.resources"}

// freeForm are values paths each chart reads as free-form maps or passes through to the
// application's own configuration, though its defaults spell out some of their keys, and keys
// its templates read that its values.yaml only mentions in a comment.
var freeForm = map[string][]string{
	// The pod's nodeSelector, verbatim (templates/deployment.yaml); its default names only the OS.
	"karpenter": {"nodeSelector"},
	"loki": {
		"loki.limits_config",       // Loki's limits_config, verbatim into its configuration
		"loki.storage.bucketNames", // read by templates/_helpers.tpl; only a comment in values.yaml
	},
	"kube-prometheus-stack": {
		"grafana.grafana.ini",                  // grafana.ini (its key has a dot), verbatim
		"grafana.persistence.storageClassName", // read by the grafana chart's pvc.yaml; a comment in values.yaml
		"grafana.serviceAccount.annotations",   // read by the grafana chart's serviceaccount.yaml; a comment in values.yaml
	},
}

// namespaceLevels are the Pod Security levels the program's namespaces enforce; a namespace the
// program does not create (kube-system) enforces none, which is the privileged level.
func namespaceLevels(r *harness.Result) map[string]string {
	out := map[string]string{}
	for _, ns := range r.ByType(k8sNamespace) {
		name := ns.InputString("metadata.name")
		level, _ := ns.Input("metadata.labels").(map[string]any)["pod-security.kubernetes.io/enforce"].(string)
		if level == "" {
			level = "privileged"
		}
		out[name] = level
	}
	return out
}

func TestChartsRenderWithTheProgramsValues(t *testing.T) {
	dir := chartsDir()
	for _, stack := range []string{"dev", "staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			levels := namespaceLevels(r)
			releases := chartReleases(r)
			rendered := mustRenderReleases(t, dir, r)
			crds := chartcheck.CRDs{}
			for _, out := range rendered {
				if err := crds.CollectCRDs(out.Objects); err != nil {
					t.Fatal(err)
				}
			}

			// The capacity test's hand-kept table of pods and values paths must agree with what
			// the charts render (item 3 with the fresh-account issue's item 5).
			table := capacity(t, r)
			minNodes, _ := r.Named("aws:eks/nodeGroup:NodeGroup", "cluster-general").Input("scalingConfig.minSize").(float64)

			for _, rel := range releases {
				t.Run(rel.resource, func(t *testing.T) {
					out := rendered[rel.resource]
					pods := checkRendered(t, rel, out, crds, levels)
					got, err := renderedLoad(pods, out.Objects, minNodes)
					if err != nil {
						t.Fatal(err)
					}
					if want := table.byRelease[rel.resource]; math.Abs(got.cpu-want.cpu) > 0.5 || math.Abs(got.mem-want.mem) > 0.5 || got.pods != want.pods {
						t.Errorf("rendered pods ask %.0fm CPU and %.0fMi in %.0f pods; the capacity table (platformPods) counts %.0fm and %.0fMi in %.0f: update the table", got.cpu, got.mem, got.pods, want.cpu, want.mem, want.pods)
					}
				})
			}

			written := customResources(r)
			t.Logf("%d custom resources the program writes, against %d CRDs", len(written), len(crds))
			for _, cr := range written {
				for _, f := range validate(t, crds, cr.obj) {
					if !cr.patch || strings.Contains(f, "would be pruned") {
						t.Error(f)
					}
				}
			}
		})
	}
}

// checkRendered checks one rendered release: its values keys, the custom resources it renders
// itself (ServiceMonitors, the Prometheus and Alertmanager resources, ...) against their CRDs,
// and its pods' Pod Security and resources. It returns the pods.
func checkRendered(t *testing.T, rel chartRelease, out *chartcheck.Rendered, crds chartcheck.CRDs, levels map[string]string) []chartcheck.Pod {
	t.Helper()
	for _, k := range chartcheck.UnknownKeys(out.Defaults, rel.values, append(kubernetesObjects, freeForm[rel.chart]...)) {
		t.Errorf("values key %s is not in %s %s's values", k, rel.chart, rel.version)
	}
	validated := 0
	for _, o := range out.Objects {
		if isCustom(o.APIVersion()) {
			validated++
			for _, f := range validate(t, crds, o) {
				t.Error(f)
			}
		}
	}
	pods, err := chartcheck.Pods(out.Objects)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s: %d objects, %d pod templates, %d custom resources validated", rel.chart, rel.version, len(out.Objects), len(pods), validated)
	// Each pod meets the level of the namespace it lands in: the release's, or the one its
	// object names (kube-prometheus-stack puts node-exporter in the host agents' namespace).
	byNamespace := map[string][]chartcheck.Pod{}
	for _, p := range pods {
		ns, _ := harness.At(map[string]any(p.Owner), "metadata/namespace").(string)
		if ns == "" {
			ns = rel.namespace
		}
		byNamespace[ns] = append(byNamespace[ns], p)
	}
	for ns, nsPods := range byNamespace {
		level, ok := levels[ns]
		if !ok {
			level = "privileged"
		}
		psa, err := chartcheck.PodSecurity(nsPods, level)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range psa {
			t.Errorf("Pod Security %s in %s: %s", level, ns, f)
		}
	}
	for _, f := range chartcheck.Resources(pods) {
		t.Error(f)
	}
	return pods
}

// validate checks one custom resource against its CRD; the findings name the resource.
func validate(t *testing.T, crds chartcheck.CRDs, obj map[string]any) []string {
	t.Helper()
	o := chartcheck.Object(obj)
	findings, err := crds.Validate(obj)
	if err != nil {
		t.Errorf("%s: %v", o, err)
	}
	for i, f := range findings {
		findings[i] = o.String() + ": " + f
	}
	return findings
}

// renderedLoad is what a release's rendered pods ask in all, as the capacity table counts it:
// hooks left out, a DaemonSet's pod once per node of the general group at its minimum, and
// the pods the Prometheus Operator makes from the rendered resources added.
func renderedLoad(pods []chartcheck.Pod, objs []chartcheck.Object, minNodes float64) (releaseLoad, error) {
	got, err := operatorPods(objs)
	if err != nil {
		return got, err
	}
	for _, p := range pods {
		if p.Hook {
			continue
		}
		n := float64(p.Replicas)
		if p.Owner.Kind() == "DaemonSet" {
			n = 0
			if schedulesOnGeneralNodes(p.Spec) {
				n = minNodes
			}
		}
		cpu, mem := chartcheck.Requests(p)
		got = releaseLoad{got.cpu + n*cpu, got.mem + n*mem, got.pods + n}
	}
	return got, nil
}

// generalNodeLabels are the labels of a managed general node that charts select on (its
// architecture is either: the platform's images run on both).
var generalNodeLabels = map[string]string{"workload": "general", "kubernetes.io/os": "linux", "eks.amazonaws.com/nodegroup": "cinegit-general"}

// schedulesOnGeneralNodes says whether a pod's nodeSelector and required node affinity admit a
// general node: a DaemonSet for GPU nodes (NVIDIA's device plugin) runs none there.
func schedulesOnGeneralNodes(spec corev1.PodSpec) bool {
	for k, v := range spec.NodeSelector {
		if k != "kubernetes.io/arch" && generalNodeLabels[k] != v {
			return false
		}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term.MatchExpressions) {
			return true
		}
	}
	return false
}

func termMatches(exprs []corev1.NodeSelectorRequirement) bool {
	for _, e := range exprs {
		if e.Key == "kubernetes.io/arch" {
			continue
		}
		v, ok := generalNodeLabels[e.Key]
		switch e.Operator {
		case corev1.NodeSelectorOpIn:
			if !ok || !slices.Contains(e.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if ok && slices.Contains(e.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !ok {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// operatorPods are the pods the Prometheus Operator creates for the Prometheus and Alertmanager
// resources a release renders: replicas (times shards for Prometheus) pods, each with the main
// container at spec.resources, the config-reloader sidecar and the init-config-reloader at the
// resources the operator's --config-reloader-{cpu,memory}-request flags give
// (https://prometheus-operator.dev/docs/platform/operator/: the operator's command-line flags;
// https://github.com/prometheus-operator/prometheus-operator/blob/main/Documentation/api-reference/api.md:
// PrometheusSpec replicas, shards, resources).
func operatorPods(objs []chartcheck.Object) (releaseLoad, error) {
	var reloaderCPU, reloaderMem resource.Quantity
	for _, o := range objs {
		if o.Kind() != "Deployment" {
			continue
		}
		for _, c := range asSlice(harness.At(map[string]any(o), "spec/template/spec/containers")) {
			for _, a := range asSlice(harness.At(c, "args")) {
				s, _ := a.(string)
				var err error
				if v, ok := strings.CutPrefix(s, "--config-reloader-cpu-request="); ok {
					reloaderCPU, err = resource.ParseQuantity(v)
				} else if v, ok := strings.CutPrefix(s, "--config-reloader-memory-request="); ok {
					reloaderMem, err = resource.ParseQuantity(v)
				}
				if err != nil {
					return releaseLoad{}, fmt.Errorf("%s: %s: %w", o, s, err)
				}
			}
		}
	}
	var out releaseLoad
	for _, o := range objs {
		if (o.Kind() != "Prometheus" && o.Kind() != "Alertmanager") || !strings.HasPrefix(o.APIVersion(), "monitoring.coreos.com/") {
			continue
		}
		n := 1.0
		if v, ok := harness.At(map[string]any(o), "spec/replicas").(float64); ok {
			n = v
		}
		if v, ok := harness.At(map[string]any(o), "spec/shards").(float64); ok {
			n *= v
		}
		cpu, mem := reloaderCPU, reloaderMem
		for _, q := range []struct {
			path string
			sum  *resource.Quantity
		}{{"spec/resources/requests/cpu", &cpu}, {"spec/resources/requests/memory", &mem}} {
			if v, ok := harness.At(map[string]any(o), q.path).(string); ok {
				qty, err := resource.ParseQuantity(v)
				if err != nil {
					return releaseLoad{}, fmt.Errorf("%s: %s: %w", o, q.path, err)
				}
				q.sum.Add(qty)
			}
		}
		out.cpu += n * float64(cpu.MilliValue())
		out.mem += n * float64(mem.Value()) / (1 << 20)
		out.pods += n
	}
	return out, nil
}
