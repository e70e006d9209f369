package plan

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// node is a hand-made registration for graph and cost tests.
func node(typ, name string, custom bool, inputs map[string]any, deps ...*harness.Resource) *harness.Resource {
	r := &harness.Resource{
		URN: "urn:pulumi:dev::cinegit::" + typ + "::" + name, Type: typ, Name: name, Custom: custom,
		Inputs: resource.NewPropertyMapFromMap(inputs),
	}
	for _, d := range deps {
		r.Dependencies = append(r.Dependencies, d.URN)
	}
	return r
}

func result(region string, rs ...*harness.Resource) *harness.Result {
	return &harness.Result{Project: "cinegit", Stack: "dev", Config: map[string]string{"aws:region": region}, Resources: rs}
}
