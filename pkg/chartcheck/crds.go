package chartcheck

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// CRDs are custom resource definitions by group and kind.
type CRDs map[string]*apiextensionsv1.CustomResourceDefinition

// CollectCRDs adds every CustomResourceDefinition among objs.
func (c CRDs) CollectCRDs(objs []Object) error {
	for _, o := range objs {
		if o.Kind() != "CustomResourceDefinition" {
			continue
		}
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := json.Unmarshal(b, &crd); err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		c[crd.Spec.Group+"/"+crd.Spec.Names.Kind] = &crd
	}
	return nil
}

// APIVersions are the group/version and group/version/kind of every served version, as a
// cluster with these CRDs lists them to Helm's Capabilities.APIVersions.
func (c CRDs) APIVersions() []string {
	var out []string
	for _, crd := range c {
		for _, v := range crd.Spec.Versions {
			if v.Served {
				gv := crd.Spec.Group + "/" + v.Name
				out = append(out, gv, gv+"/"+crd.Spec.Names.Kind)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Validate checks one custom resource as the API server would on create: its version must be
// served, it must validate against that version's OpenAPI schema, and no field may be one the
// structural schema would prune as unknown (the API server drops those silently). It returns
// what is wrong, or an error when no CRD defines the resource.
func (c CRDs) Validate(cr map[string]any) ([]string, error) {
	apiVersion, _ := cr["apiVersion"].(string)
	kind, _ := cr["kind"].(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return nil, fmt.Errorf("%s: apiVersion %q has no group", kind, apiVersion)
	}
	crd, ok := c[group+"/"+kind]
	if !ok {
		return nil, fmt.Errorf("no CRD defines %s in %s", kind, group)
	}
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == version {
			v = &crd.Spec.Versions[i]
		}
	}
	switch {
	case v == nil:
		return []string{fmt.Sprintf("%s: version %s is not defined by %s", kind, version, crd.Name)}, nil
	case !v.Served:
		return []string{fmt.Sprintf("%s: version %s is not served by %s", kind, version, crd.Name)}, nil
	case v.Schema == nil || v.Schema.OpenAPIV3Schema == nil:
		return nil, fmt.Errorf("%s %s has no schema", crd.Name, version)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", crd.Name, version, err)
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	obj := deepCopy(cr)
	var out []string
	for _, e := range validation.ValidateCustomResource(field.NewPath(""), obj, validator) {
		out = append(out, fmt.Sprintf("%s: %s", kind, e.Error()))
	}
	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	for _, p := range pruning.PruneWithOptions(obj, structural, true, opts) {
		out = append(out, fmt.Sprintf("%s: unknown field %q would be pruned", kind, p))
	}
	sort.Strings(out)
	return out, nil
}
