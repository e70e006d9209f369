package kube

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The External Secrets Operator's API (external-secrets.io/v1, served by chart 0.17 and later).
const (
	ExternalSecretsAPIVersion = "external-secrets.io/v1"
	ClusterSecretStoreKind    = "ClusterSecretStore"
	ExternalSecretKind        = "ExternalSecret"
)

// ExternalSecretArgs describe a Kubernetes Secret that the External Secrets Operator keeps in
// sync with one Secrets Manager secret whose value is a JSON object: each top-level key becomes
// a key of the Kubernetes Secret. The value never passes through Pulumi.
type ExternalSecretArgs struct {
	// Name of the ExternalSecret and of the Secret it writes.
	Name string
	// Namespace where both live; pass the namespace's name output.
	Namespace pulumi.StringInput
	// Store is the ClusterSecretStore's name; pass its name output, which orders the
	// ExternalSecret after the store (and so after the operator's CRDs).
	Store pulumi.StringInput
	// SecretArn is the Secrets Manager secret (ARN or name).
	SecretArn pulumi.StringInput
	// RefreshInterval is how often the value is re-read (a Go duration, "15m").
	RefreshInterval string
	// Labels go on the Secret written (e.g. Argo CD's secret-type labels).
	Labels map[string]string
	// Data are extra literal keys merged into the Secret (non-secret settings such as a
	// repository URL that a consumer expects beside the credential).
	Data map[string]string
	// Properties, when set, write only these keys: Secret key -> top-level key of the JSON
	// secret. A consumer then holds only the part of a credential it needs (a verifier the
	// hash, a client the password).
	Properties map[string]string
}

// ExternalSecretSpec is the spec of an ExternalSecret.
type ExternalSecretSpec struct {
	RefreshInterval string               `json:"refreshInterval"`
	SecretStoreRef  SecretStoreRef       `json:"secretStoreRef"`
	Target          ExternalSecretTarget `json:"target"`
	DataFrom        []ExternalSecretFrom `json:"dataFrom"`
	Data            []ExternalSecretData `json:"data"`
}

// ExternalSecretData writes one key of the Secret from one property of a JSON secret.
type ExternalSecretData struct {
	SecretKey string                  `json:"secretKey"`
	RemoteRef ExternalSecretRemoteRef `json:"remoteRef"`
}

// SecretStoreRef names the store an ExternalSecret reads from.
type SecretStoreRef struct {
	Kind string             `json:"kind"`
	Name pulumi.StringInput `json:"name"`
}

// ExternalSecretTarget is the Secret an ExternalSecret writes.
type ExternalSecretTarget struct {
	Name string `json:"name"`
	// CreationPolicy Owner: the Secret belongs to the ExternalSecret and goes with it.
	CreationPolicy string `json:"creationPolicy"`
	// DeletionPolicy Retain: a secret deleted or unreadable upstream leaves the last good copy
	// in place instead of breaking running pods.
	DeletionPolicy string                  `json:"deletionPolicy"`
	Template       *ExternalSecretTemplate `json:"template,omitempty"`
}

// ExternalSecretTemplate shapes the Secret: labels, and literal keys merged with the data.
type ExternalSecretTemplate struct {
	EngineVersion string                 `json:"engineVersion"`
	MergePolicy   string                 `json:"mergePolicy"`
	Metadata      ExternalSecretMetadata `json:"metadata"`
	Data          map[string]string      `json:"data,omitempty"`
}

// ExternalSecretMetadata are the written Secret's labels.
type ExternalSecretMetadata struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// ExternalSecretFrom reads every key of one JSON secret.
type ExternalSecretFrom struct {
	Extract ExternalSecretRemoteRef `json:"extract"`
}

// ExternalSecretRemoteRef is a secret of the store, or one property of it.
type ExternalSecretRemoteRef struct {
	Key      pulumi.StringInput `json:"key"`
	Property string             `json:"property,omitempty"`
}

// NewExternalSecret creates the ExternalSecret. Pass the Kubernetes provider in opts.
func NewExternalSecret(ctx *pulumi.Context, name string, args ExternalSecretArgs, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	if args.Name == "" || args.Namespace == nil || args.Store == nil || args.SecretArn == nil || args.RefreshInterval == "" {
		return nil, fmt.Errorf("external secret %s: Name, Namespace, Store, SecretArn and RefreshInterval are required", name)
	}
	target := ExternalSecretTarget{Name: args.Name, CreationPolicy: "Owner", DeletionPolicy: "Retain"}
	if len(args.Labels) > 0 || len(args.Data) > 0 {
		target.Template = &ExternalSecretTemplate{
			EngineVersion: "v2",
			MergePolicy:   "Merge",
			Metadata:      ExternalSecretMetadata{Labels: args.Labels},
			Data:          args.Data,
		}
	}
	spec := ExternalSecretSpec{
		RefreshInterval: args.RefreshInterval,
		SecretStoreRef:  SecretStoreRef{Kind: ClusterSecretStoreKind, Name: args.Store},
		Target:          target,
		DataFrom:        []ExternalSecretFrom{{Extract: ExternalSecretRemoteRef{Key: args.SecretArn}}},
	}
	if len(args.Properties) > 0 {
		spec.DataFrom = nil
		for _, key := range slices.Sorted(maps.Keys(args.Properties)) {
			spec.Data = append(spec.Data, ExternalSecretData{
				SecretKey: key, RemoteRef: ExternalSecretRemoteRef{Key: args.SecretArn, Property: args.Properties[key]},
			})
		}
	}
	return NewCustomResource(ctx, name, Object{
		APIVersion: ExternalSecretsAPIVersion,
		Kind:       ExternalSecretKind,
		Name:       args.Name,
		Namespace:  args.Namespace,
	}, spec, opts...)
}
