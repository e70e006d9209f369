// Package chartcheck renders a Helm release with the real chart through Helm's own library,
// as `helm template` does, and checks what it renders: values against the chart's schema and
// defaults, pods against Pod Security and for requests and limits, and custom resources against
// their CRDs' structural schemas. It reads only files; it never reaches a network.
package chartcheck

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
	"sigs.k8s.io/yaml"
)

// Release is what a Helm release registers: the chart's values and where it installs.
type Release struct {
	Name      string
	Namespace string
	Values    map[string]any
	// KubeVersion is the cluster's Kubernetes version ("1.36"), for Capabilities.KubeVersion.
	KubeVersion string
	// APIVersions are API groups/versions the cluster serves beyond the built-in ones (the CRDs
	// installed before the release), for Capabilities.APIVersions.Has.
	APIVersions []string
}

// Object is one rendered Kubernetes object.
type Object map[string]any

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// APIVersion is the object's apiVersion.
func (o Object) APIVersion() string { s, _ := o["apiVersion"].(string); return s }

// Name is the object's metadata.name.
func (o Object) Name() string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m["name"].(string)
	return s
}

// String names the object as kubectl does.
func (o Object) String() string { return o.Kind() + "/" + o.Name() }

// Rendered is a release as the chart renders it.
type Rendered struct {
	Chart   string
	Version string
	// Defaults are the chart's default values, its subcharts' under their names, as Helm
	// coalesces them before it applies the release's values.
	Defaults map[string]any
	// Objects are the rendered manifests, hooks included (test hooks are not: only `helm test`
	// runs them), and the CRDs in the chart's crds/ directories.
	Objects []Object
}

// Load reads an unpacked chart directory or a packaged chart (.tgz).
func Load(path string) (*chartv2.Chart, error) {
	c, err := loader.Load(path)
	if err != nil {
		return nil, err
	}
	ch, ok := c.(*chartv2.Chart)
	if !ok {
		return nil, fmt.Errorf("%s: chart API version %T is not supported", path, c)
	}
	return ch, nil
}

// Render renders r with the chart at path exactly as `helm template --include-crds` would:
// Helm's install action in client-only dry-run mode, so dependency conditions, the values schema
// (values.schema.json of the chart and its subcharts) and the templates run as on install.
func Render(path string, r Release) (*Rendered, error) {
	ch, err := Load(path)
	if err != nil {
		return nil, err
	}
	defaults, err := chartDefaults(ch)
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.IncludeCRDs = true
	install.ReleaseName = r.Name
	install.Namespace = r.Namespace
	install.APIVersions = common.VersionSet(r.APIVersions)
	if r.KubeVersion != "" {
		v := strings.TrimPrefix(r.KubeVersion, "v")
		if strings.Count(v, ".") == 1 { // EKS versions are major.minor
			v += ".0"
		}
		kv, err := common.ParseKubeVersion("v" + v)
		if err != nil {
			return nil, err
		}
		install.KubeVersion = kv
	}
	rel, err := install.Run(ch, deepCopy(r.Values))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	rl, ok := rel.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("unexpected release type %T", rel)
	}
	var docs bytes.Buffer
	docs.WriteString(rl.Manifest)
	for _, h := range rl.Hooks {
		// Test hooks run only on `helm test`, which a Pulumi Release never runs.
		if slices.Contains(h.Events, release.HookTest) {
			continue
		}
		docs.WriteString("\n---\n" + h.Manifest)
	}
	objs, err := Decode(docs.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	return &Rendered{Chart: ch.Metadata.Name, Version: ch.Metadata.Version, Defaults: defaults, Objects: objs}, nil
}

// chartDefaults are the chart's values.yaml with every subchart's defaults under its name (or
// alias), whether or not the subchart is enabled.
func chartDefaults(ch *chartv2.Chart) (map[string]any, error) {
	out := deepCopy(ch.Values)
	for _, dep := range ch.Dependencies() {
		sub, err := chartDefaults(dep)
		if err != nil {
			return nil, err
		}
		name := dep.Metadata.Name
		for _, d := range ch.Metadata.Dependencies {
			if d.Name == name && d.Alias != "" {
				name = d.Alias
			}
		}
		own, _ := out[name].(map[string]any)
		out[name] = merge(sub, own)
	}
	return out, nil
}

// merge returns base with over's keys laid over it, recursively.
func merge(base, over map[string]any) map[string]any {
	out := deepCopy(base)
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = merge(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// Decode splits a multi-document YAML stream into objects, dropping empty documents. A v1 List
// stands for its items, as Helm installs them (its Kubernetes client builds the resources with
// the resource builder's Flatten, pkg/kube/client.go).
func Decode(stream []byte) ([]Object, error) {
	var out []Object
	for _, doc := range splitDocs(stream) {
		var o Object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return nil, fmt.Errorf("decode %q: %w", firstLine(doc), err)
		}
		if len(o) == 0 {
			continue
		}
		if o.Kind() == "" {
			return nil, fmt.Errorf("document without kind: %q", firstLine(doc))
		}
		if items, ok := o["items"].([]any); ok && o.APIVersion() == "v1" && strings.HasSuffix(o.Kind(), "List") {
			for _, it := range items {
				m, ok := it.(map[string]any)
				if !ok || Object(m).Kind() == "" {
					return nil, fmt.Errorf("%s: an item without kind", firstLine(doc))
				}
				out = append(out, m)
			}
			continue
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func splitDocs(stream []byte) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(string(stream), "\n") {
		if strings.TrimRight(line, " \r\n") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// deepCopy copies a JSON-like value so Helm's coalescing cannot change the caller's maps.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out
}
