package kube

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DefaultTimeoutSeconds bounds an install or upgrade: long enough for StatefulSets with fresh
// EBS volumes, short enough that a broken release fails the deployment instead of hanging it.
const DefaultTimeoutSeconds = 900

// ExactVersion is what a chart version must look like: major.minor.patch, never a range.
var ExactVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// ReleaseArgs describe one Helm release.
type ReleaseArgs struct {
	// Name is the Helm release name (fixed, so that resource names in the cluster are stable).
	Name string
	// Chart and Version name the chart; Version is exact.
	Chart, Version string
	// Repo is the chart repository, https only; empty when Chart is an OCI reference
	// (oci://registry/path/chart), which Helm pulls by that reference and Version as its tag.
	Repo string
	// Namespace is where the release goes; pass the Namespace resource's name output so that the
	// release waits for the namespace (releases never create namespaces: ours carry labels).
	Namespace pulumi.StringInput
	// Values is a typed values struct (see Values).
	Values any
	// TimeoutSeconds overrides DefaultTimeoutSeconds.
	TimeoutSeconds int
	// SkipCrds leaves the chart's crds/ directory alone: Helm installs it on the first install
	// but never upgrades it (https://helm.sh/docs/chart_best_practices/custom_resource_definitions/),
	// so charts whose CRDs change with their version install them from a CRD chart instead.
	SkipCrds bool
}

func (a ReleaseArgs) check() error {
	switch {
	case a.Name == "" || a.Chart == "":
		return fmt.Errorf("a release name and a chart are required")
	case !ExactVersion.MatchString(a.Version):
		return fmt.Errorf("chart %s: version %q is not an exact version (major.minor.patch)", a.Chart, a.Version)
	case strings.HasPrefix(a.Chart, "oci://") && a.Repo != "":
		return fmt.Errorf("chart %s: an OCI chart names no repository (got %q)", a.Chart, a.Repo)
	case !strings.HasPrefix(a.Chart, "oci://") && !strings.HasPrefix(a.Repo, "https://"):
		return fmt.Errorf("chart %s: repository %q is not https", a.Chart, a.Repo)
	case a.Namespace == nil:
		return fmt.Errorf("chart %s: Namespace is required", a.Chart)
	}
	return nil
}

// ChartName is a chart's name: the last element of an OCI reference, else the chart itself.
func ChartName(chart string) string {
	if strings.HasPrefix(chart, "oci://") {
		return chart[strings.LastIndex(chart, "/")+1:]
	}
	return chart
}

// ReleaseType is the Pulumi type of a Helm release: the Kubernetes provider installs the chart
// itself (Helm's install and upgrade actions), so no helm binary is needed where Pulumi runs.
const ReleaseType = "kubernetes:helm.sh/v3:Release"

// Release is a kubernetes:helm.sh/v3:Release with the outputs our components read.
//
// Why not helmv3.Release from the SDK: its package also holds the client-side Chart resource,
// which imports the SDK's yaml package and through it every Kubernetes API group (69 packages).
// Every binary that creates a release linked them, about 8 s of link time per test binary on
// two cores. This binding registers the same type with the same inputs and the SDK's default
// options (utilities.PkgResourceDefaultOpts: the provider version); TestReleaseBindingMatchesTheSDK
// registers both under mocks and requires identical inputs, so a drift in the SDK fails the tests.
type Release struct {
	pulumi.CustomResourceState

	Chart     pulumi.StringOutput    `pulumi:"chart"`
	Name      pulumi.StringPtrOutput `pulumi:"name"`
	Namespace pulumi.StringPtrOutput `pulumi:"namespace"`
	Version   pulumi.StringPtrOutput `pulumi:"version"`
}

// releaseInputs are the Release inputs we set, with the provider schema's property names
// (the same names and types as the SDK's releaseArgs).
type releaseInputs struct {
	Atomic          *bool          `pulumi:"atomic"`
	Chart           string         `pulumi:"chart"`
	CleanupOnFail   *bool          `pulumi:"cleanupOnFail"`
	Compat          *string        `pulumi:"compat"`
	CreateNamespace *bool          `pulumi:"createNamespace"`
	MaxHistory      *int           `pulumi:"maxHistory"`
	Name            *string        `pulumi:"name"`
	Namespace       *string        `pulumi:"namespace"`
	RepositoryOpts  map[string]any `pulumi:"repositoryOpts"`
	SkipCrds        *bool          `pulumi:"skipCrds"`
	Timeout         *int           `pulumi:"timeout"`
	Values          map[string]any `pulumi:"values"`
	Version         *string        `pulumi:"version"`
}

// releaseArgs mirror releaseInputs field by field (the SDK pairs them by field name).
type releaseArgs struct {
	Atomic          pulumi.BoolPtrInput
	Chart           pulumi.StringInput
	CleanupOnFail   pulumi.BoolPtrInput
	Compat          pulumi.StringPtrInput
	CreateNamespace pulumi.BoolPtrInput
	MaxHistory      pulumi.IntPtrInput
	Name            pulumi.StringPtrInput
	Namespace       pulumi.StringPtrInput
	RepositoryOpts  pulumi.MapInput
	SkipCrds        pulumi.BoolPtrInput
	Timeout         pulumi.IntPtrInput
	Values          pulumi.MapInput
	Version         pulumi.StringPtrInput
}

func (releaseArgs) ElementType() reflect.Type { return reflect.TypeFor[releaseInputs]() }

// NewRelease installs a chart as a Helm release: the pinned version from an https repository,
// atomically (a failed install or upgrade is rolled back and the deployment fails), cleaning up
// what a failed upgrade created, keeping ten revisions for `helm rollback`.
func NewRelease(ctx *pulumi.Context, name string, args ReleaseArgs, opts ...pulumi.ResourceOption) (*Release, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("release %s: %w", name, err)
	}
	values, err := Values(args.Values)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", name, err)
	}
	timeout := args.TimeoutSeconds
	if timeout == 0 {
		timeout = DefaultTimeoutSeconds
	}
	in := releaseArgs{
		Name:            pulumi.String(args.Name),
		Chart:           pulumi.String(args.Chart),
		Version:         pulumi.String(args.Version),
		RepositoryOpts:  pulumi.Map{"repo": pulumi.String(args.Repo)},
		Namespace:       args.Namespace.ToStringOutput().ToStringPtrOutput(),
		CreateNamespace: pulumi.Bool(false),
		Atomic:          pulumi.Bool(true),
		CleanupOnFail:   pulumi.Bool(true),
		MaxHistory:      pulumi.Int(10),
		Timeout:         pulumi.Int(timeout),
		Values:          values,
		// The SDK's NewRelease always sends compat "true"; so do we, so that the provider sees
		// exactly the inputs it would get from the SDK.
		Compat: pulumi.String("true"),
	}
	if strings.HasPrefix(args.Chart, "oci://") {
		in.RepositoryOpts = nil
	}
	if args.SkipCrds {
		in.SkipCrds = pulumi.Bool(true)
	}
	var release Release
	if err := ctx.RegisterResource(ReleaseType, name, in, &release, utilities.PkgResourceDefaultOpts(opts)...); err != nil {
		return nil, err
	}
	return &release, nil
}
