package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// SecretPlaceholder stands in a plan for every secret value.
const SecretPlaceholder = "[secret]"

// EngineVersion is the Pulumi engine the deployment claims to come from: the pinned SDK.
const EngineVersion = "v3.274.1"

// Signatures of special values in a checkpoint (see the Pulumi state format).
const (
	sigKey       = "4dabf18193072939515e22adb298388d"
	resourceSig  = "5cf8f73096256a8f31e491e813e4eb8e"
	defaultProvs = "default"
)

// defaultProviderVersions are the plugin versions of the pinned SDKs, for the default providers
// the engine would create for resources that name no explicit provider.
var defaultProviderVersions = map[string]string{
	"aws":        "6.83.4",
	"eks":        "2.8.1",
	"kubernetes": "4.32.0",
	"random":     "4.19.0",
	"tls":        "5.2.0",
}

// Deployment renders a run as the document `pulumi stack export` writes (version 3): the stack
// resource, providers (default ones included), and every resource after what it refers to.
// Secret values are written as the placeholder "[secret]": an offline plan has no real secret to
// keep, the placeholder never leaks a value, and a deployment without ciphertext imports into
// any backend whatever its secrets provider.
func Deployment(r *harness.Result) (*apitype.UntypedDeployment, error) {
	stackURN := resource.URN(r.StackURN())
	stackRes := apitype.ResourceV3{
		URN:     stackURN,
		Custom:  false,
		Type:    "pulumi:pulumi:Stack",
		Outputs: map[string]any{},
	}
	for name, e := range r.Exports {
		if !e.Known {
			continue
		}
		v := resource.NewPropertyValue(e.Value)
		if e.Secret {
			v = resource.MakeSecret(v)
		}
		stackRes.Outputs[name] = serialize(v)
	}

	resources := []apitype.ResourceV3{stackRes}
	defaults := map[string]string{} // package -> provider reference
	for _, res := range r.Resources {
		rv := apitype.ResourceV3{
			URN:                     resource.URN(res.URN),
			Custom:                  res.Custom,
			ID:                      resource.ID(res.ID),
			Type:                    tokens.Type(res.Type),
			Inputs:                  serializeMap(res.Inputs),
			Outputs:                 serializeMap(res.Outputs),
			Parent:                  resource.URN(res.Parent),
			Protect:                 res.Protect,
			RetainOnDelete:          res.RetainOnDelete,
			Provider:                res.Provider,
			IgnoreChanges:           res.IgnoreChanges,
			PropertyDependencies:    map[resource.PropertyKey][]resource.URN{},
			AdditionalSecretOutputs: keys(res.AdditionalSecretOutputs),
		}
		if rv.Parent == "" && res.Type != "pulumi:pulumi:Stack" {
			rv.Parent = stackURN
		}
		seen := map[string]bool{}
		for _, d := range append(append([]string{}, res.Dependencies...), res.ResourceReferences...) {
			if !seen[d] && d != res.URN {
				seen[d] = true
				rv.Dependencies = append(rv.Dependencies, resource.URN(d))
			}
		}
		for k, urns := range res.PropertyDependencies {
			for _, u := range urns {
				rv.PropertyDependencies[resource.PropertyKey(k)] = append(rv.PropertyDependencies[resource.PropertyKey(k)], resource.URN(u))
			}
		}
		if strings.HasPrefix(res.Type, "pulumi:providers:") {
			rv.Parent = "" // providers are never parented in state
		}
		if res.Custom && rv.Provider == "" && !strings.HasPrefix(res.Type, "pulumi:providers:") {
			pkg := strings.SplitN(res.Type, ":", 2)[0]
			ref, ok := defaults[pkg]
			if !ok {
				var prov apitype.ResourceV3
				prov, ref = defaultProvider(r, pkg)
				defaults[pkg] = ref
				resources = append(resources, prov)
			}
			rv.Provider = ref
		}
		resources = append(resources, rv)
	}

	// URN order first, so that the same program always writes the same document whatever
	// order its registrations happened to arrive in; then dependencies first.
	sort.SliceStable(resources[1:], func(i, j int) bool { return resources[1+i].URN < resources[1+j].URN })
	ordered, err := order(resources)
	if err != nil {
		return nil, err
	}
	manifest := apitype.ManifestV1{Time: time.Unix(0, 0).UTC(), Version: EngineVersion}
	manifest.Magic = manifest.NewMagic()
	dep := apitype.DeploymentV3{
		Manifest:  manifest,
		Resources: ordered,
	}
	raw, err := json.Marshal(dep)
	if err != nil {
		return nil, err
	}
	return &apitype.UntypedDeployment{Version: 3, Deployment: raw}, nil
}

func defaultProvider(r *harness.Result, pkg string) (apitype.ResourceV3, string) {
	version := defaultProviderVersions[pkg]
	name := defaultProvs
	if version != "" {
		name += "_" + strings.ReplaceAll(version, ".", "_")
	}
	urn := resource.NewURN(tokens.QName(r.Stack), tokens.PackageName(r.Project), "", tokens.Type("pulumi:providers:"+pkg), name)
	id := "00000000-0000-4000-8000-" + fmt.Sprintf("%012x", len(pkg)*7919+len(version))
	inputs := map[string]any{}
	if version != "" {
		inputs["version"] = version
	}
	prov := apitype.ResourceV3{
		URN: urn, Custom: true, ID: resource.ID(id), Type: tokens.Type("pulumi:providers:" + pkg),
		Inputs: inputs, Outputs: inputs,
	}
	return prov, string(urn) + "::" + id
}

// order sorts resources so that each comes after its parent, provider and dependencies,
// keeping the given order otherwise.
func order(in []apitype.ResourceV3) ([]apitype.ResourceV3, error) {
	index := map[resource.URN]int{}
	for i, r := range in {
		index[r.URN] = i
	}
	deps := func(r apitype.ResourceV3) []resource.URN {
		var out []resource.URN
		if r.Parent != "" {
			out = append(out, r.Parent)
		}
		if r.Provider != "" {
			out = append(out, resource.URN(harness.ProviderURN(r.Provider)))
		}
		out = append(out, r.Dependencies...)
		for _, us := range r.PropertyDependencies {
			out = append(out, us...)
		}
		return out
	}
	state := make([]int, len(in)) // 0 new, 1 visiting, 2 done
	var out []apitype.ResourceV3
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case 1:
			return fmt.Errorf("plan: dependency cycle at %s", in[i].URN)
		case 2:
			return nil
		}
		state[i] = 1
		ds := deps(in[i])
		sort.Slice(ds, func(a, b int) bool { return index[ds[a]] < index[ds[b]] })
		for _, d := range ds {
			j, ok := index[d]
			if !ok {
				return fmt.Errorf("plan: %s refers to %s, which was never registered", in[i].URN, d)
			}
			if err := visit(j); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, in[i])
		return nil
	}
	for i := range in {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func keys(ks []string) []resource.PropertyKey {
	out := make([]resource.PropertyKey, len(ks))
	for i, k := range ks {
		out[i] = resource.PropertyKey(k)
	}
	return out
}

func serializeMap(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if s, ok := serializeOK(v); ok {
			out[string(k)] = s
		}
	}
	return out
}

func serialize(v resource.PropertyValue) any {
	s, _ := serializeOK(v)
	return s
}

// serializeOK renders a property value in the checkpoint format; unknown values are dropped
// (a plan made with --preview has them; state cannot).
func serializeOK(v resource.PropertyValue) (any, bool) {
	switch {
	case v.IsComputed():
		return nil, false
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return nil, false
		}
		if o.Secret {
			return serializeOK(resource.MakeSecret(o.Element))
		}
		return serializeOK(o.Element)
	case v.IsSecret():
		if _, ok := serializeOK(v.SecretValue().Element); !ok {
			return nil, false
		}
		return SecretPlaceholder, true
	case v.IsResourceReference():
		ref := v.ResourceReferenceValue()
		out := map[string]any{sigKey: resourceSig, "urn": string(ref.URN), "packageVersion": ref.PackageVersion}
		if id, ok := ref.IDString(); ok {
			out["id"] = id
		}
		return out, true
	case v.IsArray():
		arr := []any{}
		for _, e := range v.ArrayValue() {
			if s, ok := serializeOK(e); ok {
				arr = append(arr, s)
			}
		}
		return arr, true
	case v.IsObject():
		return serializeMap(v.ObjectValue()), true
	case v.IsAsset(), v.IsArchive():
		return nil, false
	default:
		return harness.Plain(v), true
	}
}
