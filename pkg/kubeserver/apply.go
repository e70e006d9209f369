package kubeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// FieldManager is the manager the objects are applied as.
const FieldManager = "cinegit-test"

// ErrNotServed is returned for an object whose kind the server does not serve (yet): a custom
// resource whose CRD is not installed.
var ErrNotServed = errors.New("kind not served")

// apiResource is one resource of a discovery document.
type apiResource struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
}

// versionPath is where the server serves an API version: the core group under /api.
func versionPath(apiVersion string) string {
	if apiVersion == "v1" {
		return "/api/v1"
	}
	return "/apis/" + apiVersion
}

// resourceFor finds the resource that serves kind in apiVersion, reading the server's discovery
// document again when the cached one lacks it (a CRD installed since).
func (s *Server) resourceFor(ctx context.Context, apiVersion, kind string) (apiResource, error) {
	for attempt := 0; attempt < 2; attempt++ {
		s.mu.Lock()
		list, cached := s.discovery[apiVersion]
		s.mu.Unlock()
		if !cached || attempt == 1 {
			body, err := s.do(ctx, http.MethodGet, versionPath(apiVersion), "", nil)
			var se *StatusError
			if errors.As(err, &se) && se.Code == http.StatusNotFound {
				body, err = []byte(`{"resources":[]}`), nil
			}
			if err != nil {
				return apiResource{}, err
			}
			var doc struct {
				Resources []apiResource `json:"resources"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				return apiResource{}, err
			}
			list = doc.Resources
			s.mu.Lock()
			s.discovery[apiVersion] = list
			s.mu.Unlock()
		}
		for _, r := range list {
			if r.Kind == kind && !strings.Contains(r.Name, "/") {
				return r, nil
			}
		}
	}
	return apiResource{}, fmt.Errorf("%s %s: %w", apiVersion, kind, ErrNotServed)
}

// Applied is what the server answered to an apply.
type Applied struct {
	// Object is the object as the server would store it (or stored it).
	Object map[string]any
	// Warnings are the server's Warning headers (deprecations, Pod Security warn labels, ...).
	Warnings []string
}

// Apply sends obj with server-side apply as FieldManager, strict field validation and forced
// ownership, as a dry run (dryRun=All: every admission and validation step, nothing persisted)
// or for real. A namespaced object needs metadata.namespace.
func (s *Server) Apply(ctx context.Context, obj map[string]any, dryRun bool) (Applied, error) {
	return s.ApplyAs(ctx, obj, dryRun, FieldManager)
}

// ApplyAs is Apply as another field manager: an object that something else (EKS, a
// controller) creates and the program patches must be owned by someone else, or the patch,
// which omits the owner's fields, would give them up.
func (s *Server) ApplyAs(ctx context.Context, obj map[string]any, dryRun bool, manager string) (Applied, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return Applied{}, fmt.Errorf("object needs apiVersion, kind and metadata.name: %v/%v/%v", apiVersion, kind, name)
	}
	res, err := s.resourceFor(ctx, apiVersion, kind)
	if err != nil {
		return Applied{}, err
	}
	path := versionPath(apiVersion)
	switch {
	case res.Namespaced && ns == "":
		return Applied{}, fmt.Errorf("%s %s/%s is namespaced but has no metadata.namespace", apiVersion, kind, name)
	case res.Namespaced:
		path += "/namespaces/" + url.PathEscape(ns)
	case ns != "":
		return Applied{}, fmt.Errorf("%s %s/%s is cluster-scoped but names namespace %s", apiVersion, kind, name, ns)
	}
	path += "/" + res.Name + "/" + url.PathEscape(name)
	q := url.Values{"fieldManager": {manager}, "fieldValidation": {"Strict"}, "force": {"true"}}
	if dryRun {
		q.Set("dryRun", "All")
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return Applied{}, err
	}
	// JSON is YAML: the apply patch type takes either.
	out, warnings, err := s.doWarn(ctx, http.MethodPatch, path+"?"+q.Encode(), "application/apply-patch+yaml", body)
	if err != nil {
		return Applied{Warnings: warnings}, err
	}
	a := Applied{Warnings: warnings}
	if err := json.Unmarshal(out, &a.Object); err != nil {
		return a, err
	}
	return a, nil
}

// WaitEstablished waits, up to a minute, until the server serves the CustomResourceDefinition
// name (its Established condition), so custom resources of it can be applied.
func (s *Server) WaitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	path := "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + url.PathEscape(name)
	return waitFor(ctx, func() error {
		body, err := s.do(ctx, http.MethodGet, path, "", nil)
		if err != nil {
			return err
		}
		var crd struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string }
			}
		}
		if err := json.Unmarshal(body, &crd); err != nil {
			return err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == "Established" && c.Status == "True" {
				return nil
			}
		}
		return fmt.Errorf("CRD %s not established yet", name)
	})
}

// Namespaced reports whether the server serves kind in apiVersion as a namespaced resource.
func (s *Server) Namespaced(ctx context.Context, apiVersion, kind string) (bool, error) {
	r, err := s.resourceFor(ctx, apiVersion, kind)
	return r.Namespaced, err
}
