package harness

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Providers are the explicit providers a component test builds its component with.
type Providers struct {
	// AWS is a provider in the test's region; pass it as pulumi.Provider(p.AWS).
	AWS *aws.Provider
	// Kubernetes is a provider for a cluster that exists only offline.
	Kubernetes *kubernetes.Provider
}

// RunComponent runs build, a small program around one component, in a dev stack of region,
// with explicit AWS and Kubernetes providers as main.go passes them.
func RunComponent(region string, preview bool, build func(ctx *pulumi.Context, p Providers) error) (*Result, error) {
	return RunRaw(func(ctx *pulumi.Context) error {
		regional, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String(region)})
		if err != nil {
			return err
		}
		k8s, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String("{}")})
		if err != nil {
			return err
		}
		return build(ctx, Providers{AWS: regional, Kubernetes: k8s})
	}, "cinegit", "dev", map[string]string{"aws:region": region}, preview)
}
