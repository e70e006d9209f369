package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// graph answers "does a (transitively) wait for b" over everything the harness records as an
// edge: dependencies, property dependencies, resource references and the provider.
type graph struct {
	r     *harness.Result
	memo  map[string]map[string]bool
	edges map[string][]string
}

func newGraph(r *harness.Result) *graph {
	g := &graph{r: r, memo: map[string]map[string]bool{}, edges: map[string][]string{}}
	for _, res := range r.Resources {
		g.edges[res.URN] = res.AllDependencies()
	}
	return g
}

// upstream is every URN urn waits for, directly or through others.
func (g *graph) upstream(urn string) map[string]bool {
	if m, ok := g.memo[urn]; ok {
		return m
	}
	seen := map[string]bool{}
	stack := append([]string(nil), g.edges[urn]...)
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[u] {
			continue
		}
		seen[u] = true
		stack = append(stack, g.edges[u]...)
	}
	g.memo[urn] = seen
	return seen
}

func (g *graph) waitsFor(a, b *harness.Resource) bool { return g.upstream(a.URN)[b.URN] }

// k8sGroup is the API group of a Kubernetes resource type token
// ("kubernetes:external-secrets.io/v1:ExternalSecret" -> "external-secrets.io"); ok is false for
// other providers' types and for the Kubernetes provider itself.
func k8sGroup(typ string) (string, bool) {
	rest, ok := strings.CutPrefix(typ, "kubernetes:")
	if !ok {
		return "", false
	}
	group, _, _ := strings.Cut(rest, "/")
	return group, true
}

// builtInGroup is a group the API server serves itself (no CRD needed), or Helm's pseudo-group.
func builtInGroup(group string) bool {
	switch group {
	case "core", "apps", "batch", "policy", "autoscaling", "helm.sh":
		return true
	}
	return strings.HasSuffix(group, ".k8s.io")
}

// mentions reports whether a values tree holds s as a string anywhere.
func mentions(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return x == s
	case map[string]any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, s) {
				return true
			}
		}
	}
	return false
}

// TestReadinessOrder walks the recorded dependency graph of every stack, in update and preview
// mode, and asserts that each Kubernetes object waits for what it needs on a new cluster:
//   - every Helm release and every Kubernetes object waits for the general node group and the
//     add-ons that make its nodes usable (vpc-cni, kube-proxy, CoreDNS). Releases install with
//     --atomic, which implies --wait: Helm waits for ready pods and rolls back on timeout
//     (https://helm.sh/docs/helm/helm_install/); pods are scheduled only to Ready nodes, and a
//     node is Ready once the CNI runs (https://docs.aws.amazon.com/eks/latest/userguide/managing-vpc-cni.html).
//   - every release whose values claim volumes of the default StorageClass waits for the EBS
//     CSI add-on and that StorageClass: a PersistentVolumeClaim binds only once its
//     StorageClass's provisioner exists (https://kubernetes.io/docs/concepts/storage/dynamic-provisioning/,
//     https://docs.aws.amazon.com/eks/latest/userguide/ebs-csi.html).
//   - every custom resource waits for the release that installs its CRD: the API server
//     serves a kind only once its CRD is established
//     (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#create-a-customresourcedefinition).
//   - every ExternalSecret waits for the external-secrets release (its CRD and webhook).
func TestReadinessOrder(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		g := newGraph(r)
		must := func(typ, name string) *harness.Resource {
			res := r.Named(typ, name)
			if res == nil {
				t.Fatalf("%s %s missing", typ, name)
			}
			return res
		}
		general := must("aws:eks/nodeGroup:NodeGroup", "cluster-general")
		nodeAddons := []*harness.Resource{
			must("aws:eks/addon:Addon", "cluster-vpc-cni"),
			must("aws:eks/addon:Addon", "cluster-kube-proxy"),
			must("aws:eks/addon:Addon", "cluster-coredns"),
		}
		storage := []*harness.Resource{
			must("aws:eks/addon:Addon", "cluster-ebs-csi"),
			must("kubernetes:storage.k8s.io/v1:StorageClass", "cluster-gp3"),
		}
		eso := must(k8sRelease, "secrets-operator")
		crdOwners := map[string]*harness.Resource{
			"external-secrets.io":   eso,
			"monitoring.coreos.com": must(k8sRelease, "observability-crds"),
			"argoproj.io":           must(k8sRelease, "gitops"),
			// IngressClassParams and TargetGroupBinding; the chart creates the stack's class itself.
			"elbv2.k8s.aws": must(k8sRelease, "ingress-controller"),
			// NodePool and EC2NodeClass: the CRD chart installs them, the controller must run
			// for their finalizers (cluster.nodePool).
			"karpenter.sh":      must(k8sRelease, "cluster-karpenter-crd"),
			"karpenter.k8s.aws": must(k8sRelease, "cluster-karpenter-crd"),
		}

		objects, customResources, externalSecrets := 0, 0, 0
		for _, res := range r.Resources {
			group, ok := k8sGroup(res.Type)
			if !ok || !res.Custom {
				continue
			}
			objects++
			what := fmt.Sprintf("%s %s", res.Type, res.Name)
			if !g.waitsFor(res, general) {
				t.Errorf("%s does not wait for the general node group", what)
			}
			for _, a := range nodeAddons {
				if !g.waitsFor(res, a) {
					t.Errorf("%s does not wait for add-on %s", what, a.Name)
				}
			}
			if builtInGroup(group) {
				continue
			}
			customResources++
			owner := crdOwners[group]
			if owner == nil {
				t.Errorf("%s: no release of the stack is known to install the CRDs of %s", what, group)
			} else if !g.waitsFor(res, owner) {
				t.Errorf("%s does not wait for release %s, which installs its CRD", what, owner.Name)
			}
			if strings.HasSuffix(res.Type, ":ExternalSecret") {
				externalSecrets++
				if !g.waitsFor(res, eso) {
					t.Errorf("%s does not wait for the external-secrets release", what)
				}
			}
		}

		withVolumes := map[string]bool{}
		for _, rel := range r.ByType(k8sRelease) {
			values, _ := rel.Input("values").(map[string]any)
			if !mentions(values, "gp3") {
				continue
			}
			withVolumes[rel.Name] = true
			for _, s := range storage {
				if !g.waitsFor(rel, s) {
					t.Errorf("release %s claims gp3 volumes but does not wait for %s", rel.Name, s.Name)
				}
			}
		}
		// Prometheus, Alertmanager and Grafana (kube-prometheus-stack) and every Loki replica
		// keep data on volumes: the scan above must have found them.
		for _, name := range []string{"observability-stack", "observability-loki"} {
			if !withVolumes[name] {
				t.Errorf("release %s claims no gp3 volume: the volume scan is blind", name)
			}
		}
		if objects < 30 || customResources < 5 || externalSecrets < 4 {
			t.Errorf("only %d Kubernetes objects, %d custom resources, %d ExternalSecrets checked", objects, customResources, externalSecrets)
		}
	})
}
