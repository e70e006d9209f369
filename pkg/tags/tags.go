// Package tags computes the tags every CineGit resource carries.
package tags

import (
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Required lists the tag keys every taggable resource must carry.
var Required = []string{"project", "environment", "managed-by"}

// Base returns project, environment and managed-by plus the stack's extra tags. The program's
// own keys win over extras (config validation already rejects such extras).
func Base(project, stack string, extra map[string]string) map[string]string {
	t := maps.Clone(extra)
	if t == nil {
		t = map[string]string{}
	}
	t["project"] = project
	t["environment"] = stack
	t["managed-by"] = "pulumi"
	return t
}

// Set is an immutable set of tags that components extend per resource.
type Set map[string]string

// With returns a copy of s with the given key/value pairs added.
func (s Set) With(kv ...string) Set {
	out := maps.Clone(s)
	if out == nil {
		out = Set{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Named returns a copy of s with the Name tag, which the AWS console displays.
func (s Set) Named(name string) Set { return s.With("Name", name) }

// Map returns s as a Pulumi input.
func (s Set) Map() pulumi.StringMap { return pulumi.ToStringMap(s) }
