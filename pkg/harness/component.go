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

// ComponentTest is how a component package's tests run its component: Args built for the
// test's providers, changed by each test's mutate (nil: as built), then New.
type ComponentTest[A any] struct {
	Region string
	// Args are the test's baseline Args, wired to the providers (KubernetesProvider and the like).
	Args func(p Providers) A
	// New creates the component, passing pulumi.Provider(p.AWS) as main.go does.
	New func(ctx *pulumi.Context, p Providers, args A) error
}

// Run runs the component in update or preview mode with mutate applied to its Args.
func (c ComponentTest[A]) Run(preview bool, mutate func(*A)) (*Result, error) {
	return RunComponent(c.Region, preview, func(ctx *pulumi.Context, p Providers) error {
		args := c.Args(p)
		if mutate != nil {
			mutate(&args)
		}
		return c.New(ctx, p, args)
	})
}

// Fataler is the part of testing.TB that MustRun uses (the harness does not import testing).
type Fataler interface {
	Helper()
	Fatal(args ...any)
}

// MustRun is Run that fails the test on an error.
func (c ComponentTest[A]) MustRun(t Fataler, preview bool, mutate func(*A)) *Result {
	t.Helper()
	r, err := c.Run(preview, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
