package plan

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// resourceProps is what a policy sees of a resource: its inputs.
func resourceProps(res *harness.Resource) resource.PropertyValue {
	return resource.NewProperty(res.Inputs)
}

// redactSecrets replaces the values of secret inputs with "[secret]" in JSON output.
func redactSecrets(res *harness.Resource, inputs map[string]any) map[string]any {
	for k, v := range res.Inputs {
		if harness.HasSecret(v) {
			inputs[string(k)] = "[secret]"
		}
	}
	return inputs
}
