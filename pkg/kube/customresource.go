package kube

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Object names a custom resource.
type Object struct {
	APIVersion, Kind string
	// Name is the object's name; Namespace is empty for cluster-scoped kinds. Pass a namespace
	// output so that the object waits for its namespace.
	Name      string
	Namespace pulumi.StringInput
	Labels    map[string]string
}

// NewCustomResource creates a custom resource whose spec is a typed struct (see Values). Its
// CRD comes from an operator's chart: pass pulumi.DependsOn(release) in opts, since nothing in
// the object's inputs refers to the release.
func NewCustomResource(ctx *pulumi.Context, name string, obj Object, spec any, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	if obj.APIVersion == "" || obj.Kind == "" || obj.Name == "" {
		return nil, fmt.Errorf("custom resource %s: APIVersion, Kind and Name are required", name)
	}
	specValues, err := Values(spec)
	if err != nil {
		return nil, fmt.Errorf("custom resource %s: %w", name, err)
	}
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(obj.Name)}
	if obj.Namespace != nil {
		meta.Namespace = obj.Namespace.ToStringOutput()
	}
	if len(obj.Labels) > 0 {
		meta.Labels = pulumi.ToStringMap(obj.Labels)
	}
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(obj.APIVersion),
		Kind:        pulumi.String(obj.Kind),
		Metadata:    meta,
		OtherFields: kubernetes.UntypedArgs{"spec": specValues},
	}, opts...)
}

// ObjectName is a custom resource's name as an output, which orders its users after it.
func ObjectName(cr *apiextensions.CustomResource) pulumi.StringOutput {
	return cr.Metadata.Name().Elem()
}
