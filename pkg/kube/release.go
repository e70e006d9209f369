package kube

import (
	"fmt"
	"regexp"
	"strings"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
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
	// Repo is the chart repository, https only.
	Repo string
	// Namespace is where the release goes; pass the Namespace resource's name output so that the
	// release waits for the namespace (releases never create namespaces: ours carry labels).
	Namespace pulumi.StringInput
	// Values is a typed values struct (see Values).
	Values any
	// TimeoutSeconds overrides DefaultTimeoutSeconds.
	TimeoutSeconds int
}

func (a ReleaseArgs) check() error {
	switch {
	case a.Name == "" || a.Chart == "":
		return fmt.Errorf("a release name and a chart are required")
	case !ExactVersion.MatchString(a.Version):
		return fmt.Errorf("chart %s: version %q is not an exact version (major.minor.patch)", a.Chart, a.Version)
	case !strings.HasPrefix(a.Repo, "https://"):
		return fmt.Errorf("chart %s: repository %q is not https", a.Chart, a.Repo)
	case a.Namespace == nil:
		return fmt.Errorf("chart %s: Namespace is required", a.Chart)
	}
	return nil
}

// NewRelease installs a chart as a Helm release: the pinned version from an https repository,
// atomically (a failed install or upgrade is rolled back and the deployment fails), cleaning up
// what a failed upgrade created, keeping ten revisions for `helm rollback`.
func NewRelease(ctx *pulumi.Context, name string, args ReleaseArgs, opts ...pulumi.ResourceOption) (*helmv3.Release, error) {
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
	return helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name:            pulumi.String(args.Name),
		Chart:           pulumi.String(args.Chart),
		Version:         pulumi.String(args.Version),
		RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(args.Repo)},
		Namespace:       args.Namespace,
		CreateNamespace: pulumi.Bool(false),
		Atomic:          pulumi.Bool(true),
		CleanupOnFail:   pulumi.Bool(true),
		MaxHistory:      pulumi.Int(10),
		Timeout:         pulumi.Int(timeout),
		Values:          values,
	}, opts...)
}
