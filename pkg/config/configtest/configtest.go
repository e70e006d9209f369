// Package configtest holds the raw stack configurations that the tests of pkg/config and of
// pkg/config/wiring start from, so that both parse the same baselines.
package configtest

import (
	"reflect"
	"strings"
)

// ThreeAZs is a network section with prod's three availability zones.
const ThreeAZs = `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`

// Base is a valid dev configuration; each case changes one thing.
func Base() map[string]string {
	return map[string]string{
		"aws:region":            "us-east-1",
		"aws:allowedAccountIds": `["111111111111"]`,
		"cinegit:network":       `{"cidr":"10.10.0.0/16","availabilityZones":["us-east-1a","us-east-1b"],"natGateways":"single"}`,
	}
}

// With is Base with the given keys set (key, value pairs); an empty value removes the key.
func With(kv ...string) map[string]string {
	m := Base()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

// ProdWith is a valid prod configuration with the given keys changed.
func ProdWith(kv ...string) map[string]string {
	return With(append([]string{"cinegit:protect", "true", "cinegit:network", ThreeAZs}, kv...)...)
}

// JSONName is a configuration field's key: its json name, the field name without one, ""
// for fields that are not configuration.
func JSONName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}
