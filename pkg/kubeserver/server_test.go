//go:build apiserver

package kubeserver

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The server itself, before the program's objects meet it: what it must refuse, each next to
// the same object corrected, which it must accept (so neither half can pass by accident).

func obj(apiVersion, kind, ns, name string, fields map[string]any) map[string]any {
	meta := map[string]any{"name": name}
	if ns != "" {
		meta["namespace"] = ns
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range fields {
		o[k] = v
	}
	return o
}

func restrictedPod(escalates bool) map[string]any {
	sc := map[string]any{
		"allowPrivilegeEscalation": false, "runAsNonRoot": true,
		"capabilities":   map[string]any{"drop": []any{"ALL"}},
		"seccompProfile": map[string]any{"type": "RuntimeDefault"},
	}
	if escalates {
		sc["allowPrivilegeEscalation"] = true
	}
	return obj("v1", "Pod", "restricted", "p", map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "c", "image": "public.ecr.aws/docker/library/busybox:1.37", "securityContext": sc}},
	}})
}

// crd is a small CustomResourceDefinition with the given versions (the first one stored).
func crd(versions ...string) map[string]any {
	var vs []any
	for i, v := range versions {
		vs = append(vs, map[string]any{
			"name": v, "served": true, "storage": i == 0,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{
				"type": "object",
				"properties": map[string]any{"spec": map[string]any{
					"type":       "object",
					"properties": map[string]any{"size": map[string]any{"type": "integer", "minimum": 1}},
					"x-kubernetes-validations": []any{map[string]any{
						"rule": "self.size <= 10", "message": "size is at most 10",
					}},
				}},
			}},
		})
	}
	return obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", map[string]any{
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced", "versions": vs,
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
		},
	})
}

func TestServerRefusesWhatEKSWould(t *testing.T) {
	s := StartForTest(t, TestBinaries(t))
	ctx := context.Background()

	v, err := s.Version(ctx)
	if err != nil || !strings.HasPrefix(v, "v1.") || strings.HasPrefix(v, "v1.0") {
		t.Fatalf("/version = %q, %v: build.sh stamps the release version", v, err)
	}
	t.Logf("kube-apiserver %s", v)

	for _, o := range []map[string]any{
		obj("v1", "Namespace", "", "restricted", map[string]any{"metadata": map[string]any{
			"name": "restricted", "labels": map[string]any{"pod-security.kubernetes.io/enforce": "restricted"},
		}}),
		// kube-controller-manager would create it; the ServiceAccount admission plugin needs it.
		obj("v1", "ServiceAccount", "restricted", "default", nil),
		crd("v1"),
	} {
		if _, err := s.Apply(ctx, o, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitEstablished(ctx, "widgets.example.com"); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name       string
		good, bad  map[string]any
		wantInBad  string
		persistBad bool
	}{
		{
			name:      "a label the server refuses",
			good:      obj("v1", "ConfigMap", "default", "c", map[string]any{"metadata": map[string]any{"name": "c", "namespace": "default", "labels": map[string]any{"app": "cinegit"}}}),
			bad:       obj("v1", "ConfigMap", "default", "c", map[string]any{"metadata": map[string]any{"name": "c", "namespace": "default", "labels": map[string]any{"app": "cine git!"}}}),
			wantInBad: "metadata.labels",
		},
		{
			name: "a field the API does not have",
			good: obj("v1", "ConfigMap", "default", "c", map[string]any{"data": map[string]any{"k": "v"}}),
			bad:  obj("v1", "ConfigMap", "default", "c", map[string]any{"dataa": map[string]any{"k": "v"}}),
			// Server-side apply types the patch against the schema first: what the Kubernetes
			// provider (which applies server-side) would be told.
			wantInBad: ".dataa: field not declared in schema",
		},
		{
			name:      "a pod the restricted namespace must reject",
			good:      restrictedPod(false),
			bad:       restrictedPod(true),
			wantInBad: `violates PodSecurity "restricted:latest"`,
		},
		{
			name:      "a custom resource field its CRD does not have",
			good:      obj("example.com/v1", "Widget", "default", "w", map[string]any{"spec": map[string]any{"size": 3}}),
			bad:       obj("example.com/v1", "Widget", "default", "w", map[string]any{"spec": map[string]any{"szie": 3}}),
			wantInBad: ".spec.szie: field not declared in schema",
		},
		{
			name:      "a CEL rule of the CRD",
			good:      obj("example.com/v1", "Widget", "default", "w", map[string]any{"spec": map[string]any{"size": 10}}),
			bad:       obj("example.com/v1", "Widget", "default", "w", map[string]any{"spec": map[string]any{"size": 11}}),
			wantInBad: "size is at most 10",
		},
		{
			// A CRD update that drops the version its objects are stored at: the server keeps
			// the stored versions in status.storedVersions and refuses it.
			name:       "a CRD update that removes a stored version",
			good:       crd("v1", "v2"),
			bad:        crd("v2"),
			wantInBad:  "v1 was previously a storage version",
			persistBad: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Apply(ctx, c.good, !c.persistBad); err != nil {
				t.Fatalf("the corrected object is refused: %v", err)
			}
			_, err := s.Apply(ctx, c.bad, !c.persistBad)
			var se *StatusError
			if !errors.As(err, &se) || !strings.Contains(se.Message, c.wantInBad) {
				t.Fatalf("want the server to refuse it with %q, got %v", c.wantInBad, err)
			}
		})
	}

	if _, err := s.Apply(ctx, obj("example.com/v9", "Gadget", "default", "g", nil), true); !errors.Is(err, ErrNotServed) {
		t.Errorf("a kind without a CRD: want ErrNotServed, got %v", err)
	}

	// Stop ends both servers: nothing answers any more, and no process is left.
	procs := s.procs
	s.Stop()
	for _, p := range procs {
		select {
		case <-p.done:
		default:
			t.Errorf("%s still runs after Stop", p.cmd.Path)
		}
	}
	if _, err := s.Version(ctx); err == nil {
		t.Error("the API server still answers after Stop")
	}
}
