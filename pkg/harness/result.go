package harness

import (
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one registration, as the engine would have received it.
type Resource struct {
	Seq                     int
	URN                     string
	Type                    string
	Name                    string
	ID                      string
	Custom                  bool
	Remote                  bool
	Parent                  string
	Provider                string // provider reference "<urn>::<id>", empty for default providers
	Version                 string // the provider plugin version the SDK asked for
	Inputs                  resource.PropertyMap
	Outputs                 resource.PropertyMap
	Dependencies            []string
	PropertyDependencies    map[string][]string
	ResourceReferences      []string // URNs of resources passed as values inside Inputs
	Protect                 bool
	RetainOnDelete          bool
	DeleteBeforeReplace     bool
	IgnoreChanges           []string
	AdditionalSecretOutputs []string
	// Providers is the providers map sent with a remote component (package -> "<urn>::<id>"):
	// the providers its children will use.
	Providers map[string]string
	// Transforms are the transforms the resource was registered with (the engine runs them on
	// a remote component's children; mocks do not, so tests call them).
	Transforms []pulumi.ResourceTransform
}

// Export is one stack output.
type Export struct {
	Value  any
	Known  bool
	Secret bool
}

// Result is one whole-program run.
type Result struct {
	Project   string
	Stack     string
	Preview   bool
	Config    map[string]string
	Resources []*Resource
	Exports   map[string]Export
}

// StackURN is the URN of the stack's root resource.
func (r *Result) StackURN() string {
	return string(resource.NewURN(tokensQName(r.Stack), tokensPackage(r.Project), "", "pulumi:pulumi:Stack", r.Project+"-"+r.Stack))
}

// ByType returns the resources of a type token, in registration order.
func (r *Result) ByType(typ string) []*Resource {
	var out []*Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Named returns the resource of a type and logical name, or nil.
func (r *Result) Named(typ, name string) *Resource {
	for _, res := range r.Resources {
		if res.Type == typ && res.Name == name {
			return res
		}
	}
	return nil
}

// ByURN returns the resource with a URN, or nil.
func (r *Result) ByURN(urn string) *Resource {
	for _, res := range r.Resources {
		if res.URN == urn {
			return res
		}
	}
	return nil
}

// Children returns the resources whose parent is urn.
func (r *Result) Children(urn string) []*Resource {
	var out []*Resource
	for _, res := range r.Resources {
		if res.Parent == urn {
			out = append(out, res)
		}
	}
	return out
}

// Descendants returns every resource below urn in the parent tree.
func (r *Result) Descendants(urn string) []*Resource {
	var out []*Resource
	for _, c := range r.Children(urn) {
		out = append(out, c)
		out = append(out, r.Descendants(c.URN)...)
	}
	return out
}

// Component returns the component resource of a type token (e.g. "cinegit:network:Network").
func (r *Result) Component(typ string) *Resource {
	for _, res := range r.Resources {
		if res.Type == typ && !res.Custom {
			return res
		}
	}
	return nil
}

// DependsOn reports whether from refers to to: as a dependency, a property dependency, a
// resource reference or its provider.
func (r *Result) DependsOn(from, to *Resource) bool {
	for _, d := range from.AllDependencies() {
		if d == to.URN {
			return true
		}
	}
	return false
}

// AllDependencies lists every URN the resource refers to, sorted and without duplicates.
func (res *Resource) AllDependencies() []string {
	set := map[string]bool{}
	for _, d := range res.Dependencies {
		set[d] = true
	}
	for _, ds := range res.PropertyDependencies {
		for _, d := range ds {
			set[d] = true
		}
	}
	for _, d := range res.ResourceReferences {
		set[d] = true
	}
	if res.Provider != "" {
		set[ProviderURN(res.Provider)] = true
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// ProviderURN returns the URN part of a provider reference "<urn>::<id>".
func ProviderURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

// Input returns the plain (JSON-like) value of an input property path such as
// "tags.project" or "ingress[0].fromPort"; nil when absent or unknown.
func (res *Resource) Input(path string) any {
	return lookup(Plain(resource.NewProperty(res.Inputs)), path)
}

// InputString is Input as a string ("" when absent or not a string).
func (res *Resource) InputString(path string) string {
	s, _ := res.Input(path).(string)
	return s
}
