package harness

import (
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Plain converts a property value to JSON-like Go values: objects become map[string]any,
// arrays []any, secrets their plaintext, resource references their ID (or URN for
// components), and unknown values nil.
func Plain(v resource.PropertyValue) any {
	switch {
	case v.IsNull() || v.IsComputed():
		return nil
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return nil
		}
		return Plain(o.Element)
	case v.IsSecret():
		return Plain(v.SecretValue().Element)
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
			out[i] = Plain(e)
		}
		return out
	case v.IsObject():
		obj := v.ObjectValue()
		out := make(map[string]any, len(obj))
		for k, e := range obj {
			if e.IsComputed() || (e.IsOutput() && !e.OutputValue().Known) {
				continue
			}
			out[string(k)] = Plain(e)
		}
		return out
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

// HasSecret reports whether any value inside v is marked secret.
func HasSecret(v resource.PropertyValue) bool {
	switch {
	case v.IsSecret():
		return true
	case v.IsOutput():
		return v.OutputValue().Secret || HasSecret(v.OutputValue().Element)
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if HasSecret(e) {
				return true
			}
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			if HasSecret(e) {
				return true
			}
		}
	}
	return false
}

// references collects the URNs of resource references inside v.
func references(v resource.PropertyValue, into map[string]bool) {
	switch {
	case v.IsResourceReference():
		into[string(v.ResourceReferenceValue().URN)] = true
	case v.IsSecret():
		references(v.SecretValue().Element, into)
	case v.IsOutput():
		references(v.OutputValue().Element, into)
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			references(e, into)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			references(e, into)
		}
	}
}

// lookup walks a path like "a.b[0].c" through plain values.
func lookup(v any, path string) any {
	if path == "" {
		return v
	}
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[name]
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			arr, ok := v.([]any)
			if err != nil || !ok || i < 0 || i >= len(arr) {
				return nil
			}
			v = arr[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return v
}

func tokensQName(s string) tokens.QName         { return tokens.QName(s) }
func tokensPackage(s string) tokens.PackageName { return tokens.PackageName(s) }

func tokensType(s string) tokens.Type { return tokens.Type(s) }
