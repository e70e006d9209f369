package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/props"
)

// Unknown stands for a value that is not known yet (a computed output in a preview). It is
// Pulumi's unknown-string sentinel. Pass it in Props wherever an input is unknown rather than
// leaving the input out: the policies treat an unknown value as set but unequal to anything,
// the way the analyzer's placeholders behave in real previews, whereas a missing input is a
// missing setting.
const Unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

// Props converts registered inputs to the JSON-like values policies see: objects become
// map[string]any, arrays []any, secrets their plaintext, resource references their ID (the URN
// for components), assets "<asset>", and unknown values Unknown.
func Props(inputs resource.PropertyMap) map[string]any {
	return props.Map(inputs, Unknown, false)
}

// resourceDoc is what a resource policy sees of r as `input`, shaped like pulumi-policy-opa's
// buildOPAInput: metadata (type, urn, name, options, provider), the properties under
// `properties` and overlaid at the top level (a property wins over a metadata field of the same
// name), then the collision-safe __type, __urn, __name, __options, __properties, __provider.
//
// Of the options the engine sends analyzers, protect and parent are filled in; RetainOnDelete
// and Dependencies are not resource options analyzers receive (dependencies reach stack
// policies only, see stackDoc).
func resourceDoc(r Resource) (*ast.Term, error) {
	props := r.Props
	if props == nil {
		props = map[string]any{}
	}
	propsValue, err := ast.InterfaceToValue(props)
	if err != nil {
		return nil, fmt.Errorf("%s: properties: %w", r.URN, err)
	}
	propsObj, ok := propsValue.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%s: properties are not an object", r.URN)
	}
	propsTerm := ast.NewTerm(propsObj)

	options := ast.ObjectTerm(
		ast.Item(ast.StringTerm("protect"), ast.BooleanTerm(r.Options.Protect)),
		ast.Item(ast.StringTerm("parent"), ast.StringTerm(r.Options.Parent)),
	)
	provider := ast.ObjectTerm()
	if r.Options.Provider != "" {
		provider = ast.ObjectTerm(ast.Item(ast.StringTerm("urn"), ast.StringTerm(providerURN(r.Options.Provider))))
	}
	typ, urn, name := ast.StringTerm(r.Type), ast.StringTerm(r.URN), ast.StringTerm(r.Name)

	doc := ast.NewObject(
		ast.Item(ast.StringTerm("type"), typ),
		ast.Item(ast.StringTerm("urn"), urn),
		ast.Item(ast.StringTerm("name"), name),
		ast.Item(ast.StringTerm("options"), options),
		ast.Item(ast.StringTerm("provider"), provider),
		ast.Item(ast.StringTerm("properties"), propsTerm),
	)
	propsObj.Foreach(func(k, v *ast.Term) { doc.Insert(k, v) })
	doc.Insert(ast.StringTerm("__type"), typ)
	doc.Insert(ast.StringTerm("__urn"), urn)
	doc.Insert(ast.StringTerm("__name"), name)
	doc.Insert(ast.StringTerm("__options"), options)
	doc.Insert(ast.StringTerm("__properties"), propsTerm)
	doc.Insert(ast.StringTerm("__provider"), provider)
	return ast.NewTerm(doc), nil
}

// stackDoc is r as a stack policy sees it in input.resources: resourceDoc plus dependencies
// and propertyDependencies, as pulumi-policy-opa's buildStackOPAInput adds them.
func stackDoc(r Resource) (*ast.Term, error) {
	t, err := resourceDoc(r)
	if err != nil {
		return nil, err
	}
	doc := t.Value.(ast.Object)
	if r.Options.Dependencies != nil {
		doc.Insert(ast.StringTerm("dependencies"), stringsTerm(r.Options.Dependencies))
	}
	if r.Options.PropertyDependencies != nil {
		keys := make([]string, 0, len(r.Options.PropertyDependencies))
		for k := range r.Options.PropertyDependencies {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		deps := ast.NewObject()
		for _, k := range keys {
			deps.Insert(ast.StringTerm(k), stringsTerm(r.Options.PropertyDependencies[k]))
		}
		doc.Insert(ast.StringTerm("propertyDependencies"), ast.NewTerm(deps))
	}
	return t, nil
}

// stackInput is the stack policies' input: {"resources": [...]}.
func stackInput(resources []Resource) (ast.Object, error) {
	terms := make([]*ast.Term, len(resources))
	for i, r := range resources {
		t, err := stackDoc(r)
		if err != nil {
			return nil, err
		}
		terms[i] = t
	}
	return ast.NewObject(ast.Item(ast.StringTerm("resources"), ast.ArrayTerm(terms...))), nil
}

func stringsTerm(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

// providerURN returns the URN part of a provider reference "<urn>::<id>".
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}
