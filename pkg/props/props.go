// Package props converts Pulumi property values into the JSON-like Go values that tests,
// plans and policies read. It is shared so that the offline engine and the policy evaluator
// see a resource's inputs the same way.
package props

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

// Plain converts v: objects become map[string]any, arrays []any, secrets their plaintext,
// resource references their ID (the URN for components), assets "<asset>". An unknown value
// becomes unknown; inside an object it is left out instead when omitUnknown is set.
func Plain(v resource.PropertyValue, unknown any, omitUnknown bool) any {
	switch {
	case v.IsNull():
		return nil
	case v.IsComputed():
		return unknown
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return unknown
		}
		return Plain(o.Element, unknown, omitUnknown)
	case v.IsSecret():
		return Plain(v.SecretValue().Element, unknown, omitUnknown)
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = Plain(e, unknown, omitUnknown)
		}
		return out
	case v.IsObject():
		return Map(v.ObjectValue(), unknown, omitUnknown)
	case v.IsResourceReference():
		ref := v.ResourceReferenceValue()
		if id, ok := ref.IDString(); ok && id != "" {
			return id
		}
		return string(ref.URN)
	case v.IsAsset(), v.IsArchive():
		return "<asset>"
	}
	return nil
}

// Map converts a property map with Plain.
func Map(m resource.PropertyMap, unknown any, omitUnknown bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, e := range m {
		if omitUnknown && (e.IsComputed() || (e.IsOutput() && !e.OutputValue().Known)) {
			continue
		}
		out[string(k)] = Plain(e, unknown, omitUnknown)
	}
	return out
}
