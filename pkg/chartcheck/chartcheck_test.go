package chartcheck

import (
	"reflect"
	"strings"
	"testing"
)

// testdata/demo is a chart written for these tests: a Deployment whose hardening, replica count
// and resources the values set, a values schema, and a CRD with a served and an unserved version.
const demo = "testdata/demo"

func render(t *testing.T, values map[string]any) *Rendered {
	t.Helper()
	r, err := Render(demo, Release{Name: "r", Namespace: "ns", Values: values, KubeVersion: "1.36"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderLikeHelmTemplate(t *testing.T) {
	r := render(t, map[string]any{"replicaCount": 3})
	var kinds []string
	for _, o := range r.Objects {
		kinds = append(kinds, o.String())
	}
	// The test hook is left out: a Pulumi Release never runs `helm test`. The List's item
	// stands for the List, as Helm installs it.
	if want := []string{"ConfigMap/r-settings", "CustomResourceDefinition/widgets.demo.cinegit.io", "Deployment/r-demo", "Job/r-migrate"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("objects %v, want %v", kinds, want)
	}
	pods, err := Pods(r.Objects)
	if err != nil || len(pods) != 2 {
		t.Fatalf("pods %+v, %v; want two templates", pods, err)
	}
	if d, j := pods[0], pods[1]; d.Replicas != 3 || d.Hook || j.Replicas != 0 || !j.Hook {
		t.Fatalf("deployment %d replicas (hook %v), job %d (hook %v); want 3 and a hook job", d.Replicas, d.Hook, j.Replicas, j.Hook)
	}
}

func TestRenderFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		kube   string
		want   string
	}{
		{"values schema", map[string]any{"replicaCount": "three"}, "1.36", "replicaCount"},
		{"kubeVersion constraint", nil, "1.29", "kubeVersion"},
		{"kubeVersion constraint, patch given", nil, "v1.29.4", "kubeVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(demo, Release{Name: "r", Namespace: "ns", Values: tc.values, KubeVersion: tc.kube})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	r := render(t, nil)
	supplied := map[string]any{
		"replicaCount":   2,
		"replicas":       2,                                    // misspelt
		"image":          map[string]any{"tag": "1", "tga": 2}, // one stale key below a known one
		"podAnnotations": map[string]any{"a": "b"},             // empty default: free-form
		"resources":      map[string]any{"limits": map[string]any{"cpu": "1"}},
		"extraEnv":       []any{map[string]any{"name": "X"}}, // lists are free-form
		"extras":         map[string]any{"anything": true},
	}
	got := UnknownKeys(r.Defaults, supplied, nil)
	if want := []string{"extras", "image.tga", "replicas"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("unknown %v, want %v", got, want)
	}
	for _, tc := range []struct {
		allow []string
		want  []string
	}{
		{[]string{"extras", "image.*"}, []string{"replicas"}},
		{[]string{"**.tga", "**.extras"}, []string{"replicas"}},
		{[]string{"tga", "*.anything"}, []string{"extras", "image.tga", "replicas"}}, // no "**.": top level only
	} {
		if got := UnknownKeys(r.Defaults, supplied, tc.allow); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("allow %v: unknown %v, want %v", tc.allow, got, tc.want)
		}
	}
}

func TestPodSecurityAndResources(t *testing.T) {
	full := map[string]any{
		"requests": map[string]any{"cpu": "10m", "memory": "16Mi"},
		"limits":   map[string]any{"cpu": "100m", "memory": "32Mi"},
	}
	for _, tc := range []struct {
		name          string
		values        map[string]any
		level         string
		psa, resource int
	}{
		{"hardened, full resources, restricted", map[string]any{"resources": full}, "restricted", 0, 0},
		{"privileged container, restricted", map[string]any{"hardened": false, "resources": full}, "restricted", 1, 0},
		{"privileged container, baseline", map[string]any{"hardened": false, "resources": full}, "baseline", 1, 0},
		{"privileged container, privileged", map[string]any{"hardened": false, "resources": full}, "privileged", 0, 0},
		{"no limits", map[string]any{"resources": map[string]any{"requests": full["requests"]}}, "restricted", 0, 2}, // deployment and hook
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods, err := Pods(render(t, tc.values).Objects)
			if err != nil {
				t.Fatal(err)
			}
			psa, err := PodSecurity(pods, tc.level)
			if err != nil {
				t.Fatal(err)
			}
			if len(psa) != tc.psa {
				t.Errorf("pod security %q: %v, want %d findings", tc.level, psa, tc.psa)
			}
			if res := Resources(pods); len(res) != tc.resource {
				t.Errorf("resources: %v, want %d findings", res, tc.resource)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	pods, err := Pods(render(t, map[string]any{"resources": map[string]any{
		"requests": map[string]any{"cpu": "250m", "memory": "1Gi"},
		"limits":   map[string]any{"cpu": "1", "memory": "1Gi"},
	}}).Objects)
	if err != nil {
		t.Fatal(err)
	}
	if cpu, mem := Requests(pods[0]); cpu != 250 || mem != 1024 {
		t.Fatalf("requests %vm %vMi, want 250m 1024Mi", cpu, mem)
	}
}

func TestCustomResourcesAgainstTheirCRD(t *testing.T) {
	crds := CRDs{}
	if err := crds.CollectCRDs(render(t, nil).Objects); err != nil {
		t.Fatal(err)
	}
	widget := func(version string, spec map[string]any) map[string]any {
		return map[string]any{
			"apiVersion": "demo.cinegit.io/" + version, "kind": "Widget",
			"metadata": map[string]any{"name": "w", "labels": map[string]any{"a": "b"}},
			"spec":     spec,
		}
	}
	for _, tc := range []struct {
		name string
		cr   map[string]any
		want []string // substrings, one per finding
	}{
		{"valid", widget("v1", map[string]any{"size": 2, "labels": map[string]any{"x": "y"}}), nil},
		{"unknown field", widget("v1", map[string]any{"size": 2, "colour": "red"}), []string{`"spec.colour" would be pruned`}},
		{"wrong type and missing", widget("v1", map[string]any{"labels": map[string]any{"x": 1}}), []string{"spec.labels.x", "spec.size"}},
		{"below minimum", widget("v1", map[string]any{"size": 0}), []string{"spec.size"}},
		{"unserved version", widget("v1alpha1", map[string]any{"size": 1}), []string{"not served"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := crds.Validate(tc.cr)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %q, want it to name %q", got[i], w)
				}
			}
		})
	}
	if got, want := crds.APIVersions(), []string{"demo.cinegit.io/v1", "demo.cinegit.io/v1/Widget"}; !reflect.DeepEqual(got, want) {
		t.Errorf("API versions %v, want %v (the unserved v1alpha1 left out)", got, want)
	}
	if _, err := crds.Validate(map[string]any{"apiVersion": "demo.cinegit.io/v1", "kind": "Gadget"}); err == nil {
		t.Fatal("a kind no CRD defines validated")
	}
}
