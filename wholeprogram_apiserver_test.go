//go:build apiserver

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/cinegit/infrastructure/pkg/chartcheck"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/kubeserver"
)

// The Kubernetes layer meets a real API server (issue 24): for each stack, etcd and a
// kube-apiserver of the clusters' minor version start on loopback, admitting as EKS does
// (pkg/kubeserver); the namespaces are created as the program makes them, the CRDs of every
// chart the stack installs are installed (those of the versions the base branch pins first, the
// current ones on top), and every Kubernetes object the program registers and every object the
// charts render is applied with server-side apply as a dry run, with strict field validation.
// Every workload's pod template is then submitted as a Pod in its namespace, so Pod Security
// admission judges it at the namespace's labels as it will judge the real pods. Any refusal
// fails the test, named with the server's message.
//
// Run it with `go test -tags apiserver -run TestAPIServer .` after .ci/kube-apiserver/build.sh;
// the charts come from scripts/pull-charts.sh as for the chart renders (without them the
// custom resources are not checked, and the test says so; CINEGIT_CHARTS_REQUIRED=1 fails
// instead). CINEGIT_BASE_REF names the base branch (default origin/main, else main).

// realKinds are applied for real, not as dry runs: the namespaces and CRDs everything else
// needs, and what admission reads when it judges a pod (the ServiceAccount admission plugin
// looks the pod's service account up, Priority its PriorityClass, LimitRanger and ResourceQuota
// their objects in the namespace). Nothing else is persisted; no webhook configuration ever is,
// so no request is sent to a webhook that is not running.
var realKinds = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ServiceAccount": true,
	"PriorityClass": true, "LimitRange": true, "ResourceQuota": true,
}

// patchTargets are the objects the program patches but something else creates, as their
// owners create them: the API server needs them to exist before a patch applies.
var patchTargets = map[string]map[string]any{
	// EKS creates the in-tree gp2 StorageClass in every cluster, without the default-class
	// annotation since 1.30 (Kubernetes 1.30 release notes,
	// https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html), as
	// `kubectl get storageclass gp2 -o yaml` shows it on EKS.
	"StorageClass/gp2": {
		"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
		"metadata":    map[string]any{"name": "gp2"},
		"provisioner": "kubernetes.io/aws-ebs", "parameters": map[string]any{"type": "gp2", "fsType": "ext4"},
		"reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
	},
	// Argo CD's application controller creates the default project when it starts
	// (https://argo-cd.readthedocs.io/en/stable/user-guide/projects/#the-default-project).
	"AppProject/default": {
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default"},
		"spec": map[string]any{
			"sourceRepos":              []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	},
}

func TestAPIServerAdmitsEveryObject(t *testing.T) {
	bins := kubeserver.TestBinaries(t)
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			a := setUp(t, bins, stack)
			a.check(a.objects)
			for _, f := range a.refusals {
				t.Error(f)
			}
			a.report()
		})
	}
}

// The test can fail: each of these mutations of dev's own objects, one at a time, is refused
// by the server and named, where the same objects unchanged pass above.
func TestAPIServerRefusesMutations(t *testing.T) {
	a := setUp(t, kubeserver.TestBinaries(t), "dev")
	cases := []struct {
		name string
		// mutate changes one object in place and names it; false if there is none to change.
		mutate func(o placed) bool
		want   string
		// needsCharts: the kind's CRD comes from a chart.
		needsCharts bool
	}{
		{
			name:        "a misspelt field in an ExternalSecret",
			needsCharts: true,
			mutate: func(o placed) bool {
				spec, _ := o.obj["spec"].(map[string]any)
				if o.obj["kind"] != "ExternalSecret" || spec["refreshInterval"] == nil {
					return false
				}
				spec["refreshIntervall"] = spec["refreshInterval"]
				delete(spec, "refreshInterval")
				return true
			},
			want: ".spec.refreshIntervall: field not declared in schema",
		},
		{
			// Karpenter's CRDs validate with CEL rules, which only a real server runs.
			name:        "an AMI alias Karpenter's EC2NodeClass refuses",
			needsCharts: true,
			mutate: func(o placed) bool {
				terms, _ := harness.At(o.obj, "spec/amiSelectorTerms").([]any)
				if o.obj["kind"] != "EC2NodeClass" || len(terms) == 0 {
					return false
				}
				terms[0].(map[string]any)["alias"] = "al2023-v20260724"
				return true
			},
			want: "'alias' is improperly formatted",
		},
		{
			name:        "a consolidation policy Karpenter's NodePool does not have",
			needsCharts: true,
			mutate: func(o placed) bool {
				d, _ := harness.At(o.obj, "spec/disruption").(map[string]any)
				if o.obj["kind"] != "NodePool" || d == nil {
					return false
				}
				d["consolidationPolicy"] = "Never"
				return true
			},
			want: "consolidationPolicy: Unsupported value: \"Never\"",
		},
		{
			name: "a label the server refuses",
			mutate: func(o placed) bool {
				labels, _ := harness.At(o.obj, "metadata/labels").(map[string]any)
				if o.obj["kind"] != "Namespace" || labels == nil {
					return false
				}
				labels["cinegit.io/team"] = "media jobs!"
				return true
			},
			want: "metadata.labels: Invalid value: \"media jobs!\"",
		},
		{
			name: "a pod the restricted namespace must reject",
			mutate: func(o placed) bool {
				tpl, ok := harness.At(o.obj, "data/job.json").(string)
				if !ok {
					return false
				}
				job := map[string]any{}
				if err := json.Unmarshal([]byte(tpl), &job); err != nil {
					t.Fatal(err)
				}
				harness.At(job, "spec/template/spec").(map[string]any)["hostNetwork"] = true
				b, err := json.Marshal(job)
				if err != nil {
					t.Fatal(err)
				}
				o.obj["data"].(map[string]any)["job.json"] = string(b)
				return true
			},
			want: `violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true)`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.needsCharts && a.chartsMissing() && os.Getenv("CINEGIT_CHARTS_REQUIRED") == "" {
				t.Skipf("skipped: its CRD comes from a chart not in %s (missing %v): run scripts/pull-charts.sh", a.charts, a.current.missing)
			}
			objs := make([]placed, len(a.objects))
			mutated := ""
			for i, o := range a.objects {
				objs[i] = placed{what: o.what, obj: deepCopyMap(o.obj)}
				if mutated == "" && c.mutate(objs[i]) {
					mutated = o.what
				}
			}
			if mutated == "" {
				t.Fatal("no object to mutate")
			}
			a.refusals = nil
			a.check(objs)
			var hits []string
			for _, f := range a.refusals {
				if strings.Contains(f, c.want) {
					hits = append(hits, f)
				}
			}
			if len(hits) == 0 || len(hits) != len(a.refusals) {
				t.Fatalf("mutated %s: want the server to refuse it with %q and nothing else, got %q", mutated, c.want, a.refusals)
			}
			t.Logf("refused: %s", hits[0])
		})
	}
}

// setUp starts a server for a stack and installs what its objects need: the program's
// namespaces, the CRDs of every chart present (the base branch's versions first, then this
// commit's) and the objects the program patches. The image tag adds the media jobs' Job
// template, which the server checks too.
func setUp(t *testing.T, bins kubeserver.Binaries, stack string) *admission {
	r := runWithImage(t, stack, false)
	a := newAdmission(t, bins, r)
	a.checkVersion()
	a.current = a.mustRender(r)
	base := a.baseRenders(stack)

	a.createNamespaces()
	a.installCRDs(base, "as the base branch pins them")
	a.installCRDs(a.current, "as this commit pins them")
	a.createPatchTargets()
	for _, f := range a.refusals {
		t.Fatal(f)
	}
	a.objects = a.programObjects()
	for _, c := range a.current.releases {
		a.objects = append(a.objects, a.place(c.objs, c.rel.namespace, "release "+c.rel.resource)...)
	}
	return a
}

// check applies the objects of realKinds for real, every other object as a dry run, and every
// workload's pod as a dry run, recording what the server refuses.
func (a *admission) check(objs []placed) {
	a.applyAll(objs, true)
	a.applyAll(objs, false)
	a.submitPods(objs)
}

// admission is one stack's run against its own server.
type admission struct {
	t      *testing.T
	ctx    context.Context
	srv    *kubeserver.Server
	r      *harness.Result
	charts string
	// notServed are objects of kinds no installed CRD serves.
	notServed []string
	// psaWarnings are the Pod Security warnings of namespaces that warn above what they enforce.
	psaWarnings []string
	// refusals are what the server refused or warned of, each naming its object.
	refusals []string
	// current are the stack's releases as rendered; objects are the program's and the charts'.
	current renders
	objects []placed
	// program are the Kubernetes objects the program registers (kubeObjects, read once).
	program []kubeObject
	applied int
	pods    int
}

func newAdmission(t *testing.T, bins kubeserver.Binaries, r *harness.Result) *admission {
	return &admission{t: t, ctx: context.Background(), srv: kubeserver.StartForTest(t, bins), r: r, charts: chartsDir(), program: kubeObjects(r)}
}

// checkVersion requires the server to be of the clusters' minor version.
func (a *admission) checkVersion() {
	want := a.r.Named("eks:index:Cluster", "cluster").InputString("version")
	got, err := a.srv.Version(a.ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	if !strings.HasPrefix(got, "v"+want+".") {
		a.t.Fatalf("kube-apiserver is %s, the cluster runs %s: bump k8s.io/kubernetes in .ci/kube-apiserver/go.mod with the cluster", got, want)
	}
	a.t.Logf("kube-apiserver %s for Kubernetes %s", got, want)
}

// renderedRelease is one release's objects as its chart renders them.
type renderedRelease struct {
	rel  chartRelease
	objs []chartcheck.Object
}

// renders are a stack's releases whose charts are present, and the ones that are not.
type renders struct {
	releases []renderedRelease
	missing  []string
}

func (a *admission) render(r *harness.Result) (renders, error) {
	out, missing, err := renderReleases(a.charts, r)
	if err != nil {
		return renders{}, err
	}
	var rs renders
	for _, rel := range chartReleases(r) {
		if o, ok := out[rel.resource]; ok {
			rs.releases = append(rs.releases, renderedRelease{rel: rel, objs: o.Objects})
		}
	}
	rs.missing = missing
	return rs, nil
}

// mustRender renders this commit's releases, failing the test if a present chart does not render.
func (a *admission) mustRender(r *harness.Result) renders {
	rs, err := a.render(r)
	if err != nil {
		a.t.Fatalf("charts: %v", err)
	}
	return rs
}

// baseRenders renders the base branch's releases, at its versions with its stack file, when it
// pins a chart version this commit changes: their CRDs go in first, so a CRD change the server
// refuses on upgrade (a stored version removed, say) fails here.
func (a *admission) baseRenders(stack string) renders {
	ref := baseRef()
	if ref == "" {
		a.t.Logf("no base branch (CINEGIT_BASE_REF, origin/main or main): the CRDs are installed only as this commit pins them")
		return renders{}
	}
	dir := a.t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		out, err := exec.Command("git", "show", ref+":"+f).Output()
		if err != nil {
			a.t.Logf("%s has no %s: the CRDs are installed only as this commit pins them", ref, f)
			return renders{}
		}
		if err := os.WriteFile(filepath.Join(dir, f), out, 0o600); err != nil {
			a.t.Fatal(err)
		}
	}
	r, err := harness.Run(program, harness.Options{Dir: dir, Stack: stack})
	if err != nil {
		// A change to the configuration's shape: the base's file is not this program's input.
		a.t.Logf("%s's Pulumi.%s.yaml does not run with this commit's program (%v): the CRDs are installed only as this commit pins them", ref, stack, err)
		return renders{}
	}
	pinned := map[string]string{}
	for _, c := range chartReleases(a.r) {
		pinned[c.resource] = c.version
	}
	var changed []string
	for _, c := range chartReleases(r) {
		if v, ok := pinned[c.resource]; ok && v != c.version {
			changed = append(changed, fmt.Sprintf("%s %s -> %s", c.chart, c.version, v))
		}
	}
	if len(changed) == 0 {
		a.t.Logf("%s pins the same chart versions", ref)
		return renders{}
	}
	a.t.Logf("charts bumped since %s: %v", ref, changed)
	// The base's charts may be absent (a push, whose base was checked as a pull request) or
	// not render with this commit's program (values a bumped chart needs): then only this
	// commit's CRDs go in, as on a new cluster.
	base, err := a.render(r)
	if err != nil {
		a.t.Logf("%s's charts do not render here (%v): the CRDs are installed only as this commit pins them", ref, err)
		return renders{}
	}
	if len(base.missing) > 0 {
		a.t.Logf("charts of %s not present, their CRDs not installed first: %v (run scripts/pull-charts.sh on %s)", ref, base.missing, ref)
	}
	return base
}

// baseRef is the base branch to compare CRDs with.
func baseRef() string {
	refs := []string{"origin/main", "main"}
	if r := os.Getenv("CINEGIT_BASE_REF"); r != "" {
		refs = []string{r}
	}
	for _, r := range refs {
		if exec.Command("git", "rev-parse", "--verify", "--quiet", r+"^{commit}").Run() == nil {
			return r
		}
	}
	return ""
}

// apply applies one object and fails the test with the server's message if it is refused, or
// if the server warns (a deprecated API, say). Pod Security warnings are the namespace's warn
// label speaking, not a refusal: they are logged, and the enforce label decides.
func (a *admission) apply(what string, obj map[string]any, dryRun bool) bool {
	a.t.Helper()
	return a.applyAs(what, obj, dryRun, kubeserver.FieldManager)
}

func (a *admission) applyAs(what string, obj map[string]any, dryRun bool, manager string) bool {
	a.t.Helper()
	res, err := a.srv.ApplyAs(a.ctx, obj, dryRun, manager)
	if errors.Is(err, kubeserver.ErrNotServed) {
		a.notServed = append(a.notServed, what)
		return false
	}
	if err != nil {
		a.refusals = append(a.refusals, fmt.Sprintf("%s: refused: %v", what, err))
		return false
	}
	for _, w := range res.Warnings {
		if strings.HasPrefix(w, "would violate PodSecurity") {
			a.psaWarnings = append(a.psaWarnings, what+": "+w)
			continue
		}
		a.refusals = append(a.refusals, fmt.Sprintf("%s: the server warns: %s", what, w))
	}
	a.applied++
	return true
}

// createNamespaces creates the program's namespaces as it makes them, and those Helm creates
// for a release (createNamespace) that the program does not; then each namespace's "default"
// service account, which kube-controller-manager's service account controller would create
// (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#serviceaccount-controller)
// and which the ServiceAccount admission plugin requires of a pod that names none.
func (a *admission) createNamespaces() {
	made := map[string]bool{"default": true, "kube-system": true}
	for _, o := range a.program {
		if o.obj["kind"] == "Namespace" {
			name, _ := harness.At(o.obj, "metadata/name").(string)
			made[name] = a.apply(o.resource, o.obj, false)
		}
	}
	for _, c := range chartReleases(a.r) {
		if c.namespace != "" && !made[c.namespace] {
			made[c.namespace] = a.apply("namespace of "+c.resource, map[string]any{
				"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": c.namespace},
			}, false)
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(made)) {
		if made[ns] {
			a.apply("default service account of "+ns, map[string]any{
				"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "default", "namespace": ns},
			}, false)
		}
	}
}

// installCRDs installs every CRD the releases render and waits until the server serves each.
func (a *admission) installCRDs(rs renders, which string) {
	var names []string
	for _, c := range rs.releases {
		for _, o := range c.objs {
			if o.Kind() == "CustomResourceDefinition" && a.apply(fmt.Sprintf("%s (%s %s) %s", o, c.rel.chart, c.rel.version, which), o, false) {
				names = append(names, o.Name())
			}
		}
	}
	for _, n := range names {
		if err := a.srv.WaitEstablished(a.ctx, n); err != nil {
			a.refusals = append(a.refusals, fmt.Sprintf("CRD %s: %v", n, err))
		}
	}
	if len(names) > 0 {
		a.t.Logf("%d CRDs installed %s", len(names), which)
	}
}

// createPatchTargets creates what the program patches, as its owner would, where the server
// serves its kind.
func (a *admission) createPatchTargets() {
	for _, o := range a.program {
		if !o.patch {
			continue
		}
		name, _ := harness.At(o.obj, "metadata/name").(string)
		target, ok := patchTargets[o.obj["kind"].(string)+"/"+name]
		if !ok {
			a.refusals = append(a.refusals, fmt.Sprintf("%s patches %s/%s, which something else creates: add it to patchTargets as its owner creates it", o.resource, o.obj["kind"], name))
			continue
		}
		target = deepCopyMap(target)
		if ns, ok := harness.At(o.obj, "metadata/namespace").(string); ok {
			target["metadata"].(map[string]any)["namespace"] = ns
		}
		a.applyAs(o.resource+" (its target, as its owner creates it)", target, false, "owner-of-"+name)
	}
}

// placed is an object ready for the server: named and in its namespace.
type placed struct {
	what string
	obj  map[string]any
}

// programObjects are the program's objects as the Kubernetes provider sends them: a
// namespaced object without a namespace goes to the provider's default namespace, "default".
func (a *admission) programObjects() []placed {
	var out []placed
	for _, o := range a.program {
		out = append(out, a.place([]chartcheck.Object{chartcheck.Object(o.obj)}, "default", o.resource)...)
	}
	return out
}

// place gives each namespaced object without a namespace the one it is installed into (Helm's
// release namespace, or the provider's default), as Helm and the provider do.
func (a *admission) place(objs []chartcheck.Object, namespace, from string) []placed {
	var out []placed
	for _, o := range objs {
		obj := deepCopyMap(map[string]any(o))
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			a.refusals = append(a.refusals, fmt.Sprintf("%s: %s has no metadata", from, chartcheck.Object(obj)))
			continue
		}
		if _, ok := meta["namespace"]; !ok {
			namespaced, err := a.srv.Namespaced(a.ctx, o.APIVersion(), o.Kind())
			if err == nil && namespaced {
				meta["namespace"] = namespace
			}
		}
		out = append(out, placed{what: fmt.Sprintf("%s: %s %s", from, o.APIVersion(), chartcheck.Object(obj)), obj: obj})
	}
	return out
}

// applyAll applies the objects of realKinds for real (prerequisites), or every other object as
// a dry run. The CRDs are installed already.
func (a *admission) applyAll(objs []placed, prerequisites bool) {
	for _, p := range objs {
		kind, _ := p.obj["kind"].(string)
		if kind == "CustomResourceDefinition" || realKinds[kind] != prerequisites {
			continue
		}
		a.apply(p.what, p.obj, !prerequisites)
	}
}

// submitPods submits every workload's pod template (and the media jobs' Job template in its
// ConfigMap) as a Pod, dry run, in the workload's namespace: Pod Security admission enforces
// the namespace's level on pods, not on the workloads that make them.
func (a *admission) submitPods(objs []placed) {
	var workloads []chartcheck.Object
	for _, p := range objs {
		workloads = append(workloads, chartcheck.Object(p.obj))
		if p.obj["kind"] == "ConfigMap" {
			if s, ok := harness.At(p.obj, "data/job.json").(string); ok {
				job := map[string]any{}
				if err := json.Unmarshal([]byte(s), &job); err != nil {
					a.refusals = append(a.refusals, fmt.Sprintf("%s: job.json: %v", p.what, err))
					continue
				}
				meta, _ := job["metadata"].(map[string]any)
				if meta == nil {
					meta = map[string]any{}
					job["metadata"] = meta
				}
				// The dispatcher names each Job (or keeps generateName); a dry run needs a name.
				meta["name"], meta["namespace"] = "ffmpeg-template-check", harness.At(p.obj, "metadata/namespace")
				delete(meta, "generateName")
				a.apply(p.what+" job.json as a Job", job, true)
				workloads = append(workloads, chartcheck.Object(job))
			}
		}
	}
	pods, err := chartcheck.Pods(workloads)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, pod := range pods {
		ns, _ := harness.At(map[string]any(pod.Owner), "metadata/namespace").(string)
		// The StatefulSet controller adds a volume per claim template, claiming
		// <template>-<set>-<ordinal> (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#volume-claim-templates).
		for _, c := range asSlice(harness.At(map[string]any(pod.Owner), "spec/volumeClaimTemplates")) {
			name, _ := harness.At(c, "metadata/name").(string)
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name + "-" + pod.Owner.Name() + "-0"},
			}})
		}
		b, err := json.Marshal(map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": strings.ToLower(pod.Owner.Kind()) + "-" + pod.Owner.Name(), "namespace": ns, "labels": pod.Meta.Labels, "annotations": pod.Meta.Annotations},
			"spec":     pod.Spec,
		})
		if err != nil {
			a.t.Fatal(err)
		}
		obj := map[string]any{}
		if err := json.Unmarshal(b, &obj); err != nil {
			a.t.Fatal(err)
		}
		if a.apply(fmt.Sprintf("pod of %s in %s", pod.Owner, ns), obj, true) {
			a.pods++
		}
	}
}

// report says what was checked, and fails for custom resources no installed CRD serves where
// the charts are present (or required).
func (a *admission) report() {
	a.t.Logf("%d objects admitted (%d pods), %d releases rendered", a.applied, a.pods, len(a.current.releases))
	for _, w := range a.psaWarnings {
		a.t.Logf("admitted with a Pod Security warning: %s", w)
	}
	if len(a.notServed) == 0 {
		return
	}
	if a.chartsMissing() && os.Getenv("CINEGIT_CHARTS_REQUIRED") == "" {
		a.t.Logf("NOT CHECKED: %d custom resources, whose CRDs come from charts not in %s (missing %v; run scripts/pull-charts.sh): %v",
			len(a.notServed), a.charts, a.current.missing, a.notServed)
		return
	}
	a.t.Errorf("no installed CRD serves %v (charts missing: %v)", a.notServed, a.current.missing)
}

// chartsMissing reports whether some of the stack's charts are not on disk.
func (a *admission) chartsMissing() bool { return len(a.current.missing) > 0 }

func deepCopyMap(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// The upgrade step can fail: a base that stored a custom resource at a version this commit's
// CRD no longer has (here the external-secrets ExternalSecret CRD, given an extra stored
// version in the base) is refused when this commit's CRDs go on top, as the cluster would
// refuse the chart bump.
func TestAPIServerRefusesACRDUpgradeThatDropsAStoredVersion(t *testing.T) {
	bins := kubeserver.TestBinaries(t)
	r := runWithImage(t, "dev", false)
	a := newAdmission(t, bins, r)
	a.current = a.mustRender(r)
	const name = "externalsecrets.external-secrets.io"
	var base renders
	for _, c := range a.current.releases {
		objs := make([]chartcheck.Object, 0, len(c.objs))
		for _, o := range c.objs {
			if o.Kind() == "CustomResourceDefinition" && o.Name() == name {
				o = withEarlierStoredVersion(t, o, "v1alpha0")
			}
			objs = append(objs, o)
		}
		base.releases = append(base.releases, renderedRelease{rel: c.rel, objs: objs})
	}
	a.installCRDs(base, "as a base that stored v1alpha0")
	if len(a.refusals) > 0 || !slices.ContainsFunc(base.releases, func(c renderedRelease) bool {
		return slices.ContainsFunc(c.objs, func(o chartcheck.Object) bool { return o.Name() == name })
	}) {
		if a.chartsMissing() && os.Getenv("CINEGIT_CHARTS_REQUIRED") == "" {
			t.Skipf("skipped: the CRD %s comes from the external-secrets chart, not in %s: run scripts/pull-charts.sh", name, a.charts)
		}
		t.Fatalf("the base CRDs: %v (charts missing: %v)", a.refusals, a.current.missing)
	}
	a.installCRDs(a.current, "as this commit pins them")
	want := "v1alpha0 was previously a storage version"
	if len(a.refusals) != 1 || !strings.Contains(a.refusals[0], want) || !strings.Contains(a.refusals[0], name) {
		t.Fatalf("want only %s refused with %q, got %q", name, want, a.refusals)
	}
	t.Logf("refused: %s", a.refusals[0])
}

// withEarlierStoredVersion is crd with one more version, a copy of its storage version named
// v, which is the storage version instead.
func withEarlierStoredVersion(t *testing.T, crd chartcheck.Object, v string) chartcheck.Object {
	t.Helper()
	out := deepCopyMap(crd)
	versions, _ := harness.At(out, "spec/versions").([]any)
	for _, ver := range versions {
		m := ver.(map[string]any)
		if m["storage"] == true {
			earlier := deepCopyMap(m)
			earlier["name"], earlier["storage"] = v, true
			m["storage"] = false
			out["spec"].(map[string]any)["versions"] = append(versions, earlier)
			return out
		}
	}
	t.Fatalf("%s has no storage version", crd)
	return nil
}
