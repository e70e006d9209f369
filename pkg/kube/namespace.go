package kube

import (
	"fmt"
	"regexp"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Pod Security Standards levels (pod-security.kubernetes.io/enforce).
const (
	// Privileged is for namespaces whose agents need the host: node-exporter (host network
	// and PID), the log collector (host paths under /var/log).
	Privileged = "privileged"
	// Baseline blocks known privilege escalations; for third-party charts whose pods are not
	// all restricted-compliant.
	Baseline = "baseline"
	// Restricted is the hardened profile.
	Restricted = "restricted"
)

// Label keys every CineGit namespace carries.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelPartOf      = "app.kubernetes.io/part-of"
	LabelEnvironment = "cinegit.io/environment"
	LabelPurpose     = "cinegit.io/purpose"
	LabelEnforce     = "pod-security.kubernetes.io/enforce"
	LabelWarn        = "pod-security.kubernetes.io/warn"
	LabelAudit       = "pod-security.kubernetes.io/audit"
)

// dns1123Label is what Kubernetes accepts as a namespace name.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// NamespaceArgs describe one namespace.
type NamespaceArgs struct {
	// Name is the namespace's name.
	Name string
	// Environment is the stack (dev, staging, prod).
	Environment string
	// Purpose says what runs there ("monitoring", "gitops", "applications").
	Purpose string
	// PodSecurity is the enforced Pod Security Standards level. Warnings and audit entries are
	// always at the restricted level, so that anything short of it is visible.
	PodSecurity string
}

// NamespaceLabels are the labels of a namespace.
func NamespaceLabels(a NamespaceArgs) map[string]string {
	return map[string]string{
		LabelManagedBy:   "pulumi",
		LabelPartOf:      "cinegit",
		LabelEnvironment: a.Environment,
		LabelPurpose:     a.Purpose,
		LabelEnforce:     a.PodSecurity,
		LabelWarn:        Restricted,
		LabelAudit:       Restricted,
	}
}

// NewNamespace creates a labelled namespace. Pass the Kubernetes provider in opts.
func NewNamespace(ctx *pulumi.Context, name string, args NamespaceArgs, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	if len(args.Name) > 63 || !dns1123Label.MatchString(args.Name) {
		return nil, fmt.Errorf("namespace %s: %q is not a namespace name", name, args.Name)
	}
	switch args.PodSecurity {
	case Privileged, Baseline, Restricted:
	default:
		return nil, fmt.Errorf("namespace %s: pod security level %q", name, args.PodSecurity)
	}
	if args.Environment == "" || args.Purpose == "" {
		return nil, fmt.Errorf("namespace %s: Environment and Purpose are required", name)
	}
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(args.Name),
			Labels: pulumi.ToStringMap(NamespaceLabels(args)),
		},
	}, opts...)
}

// NamespaceName is a namespace's name as an output: passing it (rather than the plain string)
// to what goes into the namespace orders it after the namespace.
func NamespaceName(ns *corev1.Namespace) pulumi.StringOutput {
	return ns.Metadata.Name().Elem()
}
