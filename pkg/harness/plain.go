package harness

import (
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cinegit/infrastructure/pkg/props"
)

// Plain converts a property value to JSON-like Go values (see props.Plain); unknown values
// are nil, and left out of objects.
func Plain(v resource.PropertyValue) any { return props.Plain(v, nil, true) }

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

// Lookup walks nested maps by key; nil where a key is missing or a value is not a map. Keys
// are given one by one because Helm values and annotations have dots in theirs.
func Lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// At is Lookup with the keys of a "/"-separated path ("controller/resources/limits").
func At(v any, path string) any { return Lookup(v, strings.Split(path, "/")...) }

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
