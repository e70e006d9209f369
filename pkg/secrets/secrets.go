// Package secrets puts the stack's Secrets Manager secrets into pods: the External Secrets
// Operator (a Helm release), a ClusterSecretStore for Secrets Manager that the operator reads
// through an IRSA role limited to this stack's secrets, the application namespace, and the
// ExternalSecrets that write shared application secrets into it as Kubernetes Secrets. Secrets
// marked PerService are only made readable: pkg/services writes them once per service that
// reads them. The database's master secret is none of these (services use IAM authentication).
//
// It also owns the stack's platform secrets key: the KMS key that encrypts the secrets other
// add-ons create for the operator to sync (Grafana's admin credential, Argo CD's SSO client
// secret), so that the operator's role can decrypt them without naming every component's key.
package secrets

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/irsa"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Chart is the External Secrets Operator chart.
const (
	ChartRepo = "https://charts.external-secrets.io"
	ChartName = "external-secrets"
	// ServiceAccount is the operator's service account, the one its IRSA role trusts.
	ServiceAccount = "external-secrets"
	// StoreName is the ClusterSecretStore every ExternalSecret of the stack reads from.
	StoreName = "aws-secrets-manager"
)

// Prefix is the name prefix of every secret this stack's workloads may read,
// "cinegit/<stack>/": the operator's role reads secret:cinegit/<stack>/* and nothing else under
// the account's other prefixes (other stacks, other projects).
func Prefix(env stackenv.Env) string {
	return strings.TrimPrefix(env.Naming.Path(), "/") + "/"
}

// SecretName is the name of a secret of this stack: SecretName(env, "grafana", "admin") =
// "cinegit/<stack>/grafana/admin".
func SecretName(env stackenv.Env, parts ...string) string {
	return Prefix(env) + strings.Join(parts, "/")
}

// ApplicationSecret is one Secrets Manager secret synced into the application namespace.
type ApplicationSecret struct {
	// Name is the Kubernetes Secret's name, e.g. "database".
	Name string
	// SecretArn is the Secrets Manager secret; its value is a JSON object whose keys become the
	// Secret's keys.
	SecretArn pulumi.StringInput
	// KmsKeyArn is the customer-managed key the secret is encrypted with. When a component does
	// not expose it, leave it nil: the role may then decrypt with any key of the account, but
	// only through Secrets Manager and only for this secret (kms:EncryptionContext:SecretARN).
	KmsKeyArn pulumi.StringInput
	// PerService leaves the secret out of the application namespace: the operator may read it,
	// and the services component writes it once for each service that reads it.
	PerService bool
}

// Args configure the operator and what it syncs.
type Args struct {
	Env stackenv.Env
	// KubernetesProvider talks to the cluster.
	KubernetesProvider *kubernetes.Provider
	// OidcProviderArn and OidcIssuer are the cluster's, for the operator's IRSA role.
	OidcProviderArn pulumi.StringInput
	OidcIssuer      pulumi.StringInput

	// ChartVersion pins the external-secrets chart (exact).
	ChartVersion string
	// Namespace is the operator's own namespace.
	Namespace string
	// Replicas of the controller (leader election keeps one active), webhook and cert controller.
	Replicas int
	// RefreshInterval is how often secrets are re-read (a Go duration).
	RefreshInterval string

	// ApplicationNamespace is created here: the namespace of CineGit's applications.
	ApplicationNamespace string
	// ConsumerNamespaces are the other namespaces allowed to use the store (monitoring,
	// argocd). ExternalSecrets anywhere else are refused by the store.
	ConsumerNamespaces []string
	// ApplicationSecrets are synced into the application namespace.
	ApplicationSecrets []ApplicationSecret

	// Network is where the cluster's pods live: the operator's namespace denies by default and
	// allows only what the operator needs.
	Network kube.ClusterNetwork

	// KeyDeletionWindowDays is the platform secrets key's deletion window (7-30; 0 = 30).
	KeyDeletionWindowDays int
	// Protect marks the platform secrets key with Pulumi's protect option.
	Protect bool
}

// Secrets is the secrets-injection component.
type Secrets struct {
	pulumi.ResourceState

	// StoreName is the ClusterSecretStore's name; it resolves once the store exists, so
	// ExternalSecrets given it wait for the store and the operator's CRDs.
	StoreName pulumi.StringOutput `pulumi:"storeName"`
	// ApplicationNamespace resolves once the namespace exists.
	ApplicationNamespace pulumi.StringOutput `pulumi:"applicationNamespace"`
	// RoleArn is the operator's IRSA role.
	RoleArn pulumi.StringOutput `pulumi:"roleArn"`
	// KmsKeyArn is the platform secrets key: encrypt secrets meant for the operator with it.
	KmsKeyArn pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// SecretNames are the Kubernetes Secrets written to the application namespace, by name.
	SecretNames pulumi.StringArrayOutput `pulumi:"secretNames"`
}

// secretName is a Kubernetes Secret name (a DNS-1123 label, to stay usable everywhere).
var secretName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (a Args) check() error {
	switch {
	case a.KubernetesProvider == nil:
		return fmt.Errorf("KubernetesProvider is required")
	case a.OidcProviderArn == nil || a.OidcIssuer == nil:
		return fmt.Errorf("OidcProviderArn and OidcIssuer are required")
	case !kube.ExactVersion.MatchString(a.ChartVersion):
		return fmt.Errorf("ChartVersion %q is not exact", a.ChartVersion)
	case a.Namespace == "" || a.ApplicationNamespace == "" || a.Namespace == a.ApplicationNamespace:
		return fmt.Errorf("the operator's Namespace and the ApplicationNamespace are required and distinct")
	case a.Replicas < 1:
		return fmt.Errorf("at least one replica is required")
	}
	// The operator's refreshInterval is a Go duration.
	if d, err := time.ParseDuration(a.RefreshInterval); err != nil || d < time.Minute {
		return fmt.Errorf("RefreshInterval %q: a duration of at least 1m", a.RefreshInterval)
	}
	seen := map[string]bool{}
	for _, s := range a.ApplicationSecrets {
		switch {
		case !secretName.MatchString(s.Name) || len(s.Name) > 253:
			return fmt.Errorf("application secret %q is not a Kubernetes name", s.Name)
		case seen[s.Name]:
			return fmt.Errorf("application secret %q twice", s.Name)
		case s.SecretArn == nil:
			return fmt.Errorf("application secret %q: SecretArn is required", s.Name)
		}
		seen[s.Name] = true
	}
	return a.Network.Check()
}

// New creates the component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Secrets, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("secrets %s: %w", name, err)
	}
	s := &Secrets{}
	if err := ctx.RegisterComponentResource("cinegit:secrets:Secrets", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	k8s := []pulumi.ResourceOption{parent, pulumi.Provider(args.KubernetesProvider)}
	env := args.Env

	keyOpts := []pulumi.ResourceOption{parent}
	if args.Protect {
		keyOpts = append(keyOpts, pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-platform", kmskey.Args{
		Env:                env,
		Description:        "CineGit " + env.Naming.Stack + " platform secrets synced into the cluster (Grafana admin, Argo CD SSO and repository credentials)",
		Alias:              env.Naming.Name("platform-secrets"),
		DeletionWindowDays: args.KeyDeletionWindowDays,
	}, keyOpts...)
	if err != nil {
		return nil, err
	}

	role, err := irsa.NewRole(ctx, name+"-operator", irsa.Args{
		Env:             env,
		OidcProviderArn: args.OidcProviderArn,
		OidcIssuer:      args.OidcIssuer,
		Namespace:       args.Namespace,
		ServiceAccount:  ServiceAccount,
		Policy:          ReadPolicy(env, key.Arn(), args.ApplicationSecrets),
		Description:     "External Secrets Operator: reads this stack's Secrets Manager secrets",
	}, parent)
	if err != nil {
		return nil, err
	}

	operatorNs, err := kube.NewNamespace(ctx, name+"-operator", kube.NamespaceArgs{
		Name: args.Namespace, Environment: env.Naming.Stack, Purpose: "secrets", PodSecurity: kube.Restricted,
	}, k8s...)
	if err != nil {
		return nil, err
	}
	if err := kube.NewNetworkPolicies(ctx, name+"-operator", kube.NamespaceName(operatorNs), operatorPolicies(args.Network), k8s...); err != nil {
		return nil, err
	}
	appNs, err := kube.NewNamespace(ctx, name+"-applications", kube.NamespaceArgs{
		Name: args.ApplicationNamespace, Environment: env.Naming.Stack, Purpose: "applications", PodSecurity: kube.Restricted,
	}, k8s...)
	if err != nil {
		return nil, err
	}

	release, err := kube.NewRelease(ctx, name+"-operator", kube.ReleaseArgs{
		Name:      ChartName,
		Chart:     ChartName,
		Version:   args.ChartVersion,
		Repo:      ChartRepo,
		Namespace: kube.NamespaceName(operatorNs),
		Values:    operatorValues(args, role.Arn),
	}, k8s...)
	if err != nil {
		return nil, err
	}

	// The store's CRD comes with the chart: nothing in the store's inputs refers to the release.
	store, err := kube.NewCustomResource(ctx, name+"-store", kube.Object{
		APIVersion: kube.ExternalSecretsAPIVersion,
		Kind:       kube.ClusterSecretStoreKind,
		Name:       StoreName,
	}, storeSpec{
		Provider: storeProvider{AWS: awsProvider{Service: "SecretsManager", Region: env.Region}},
		// Only these namespaces may use the store: anyone who can create an ExternalSecret
		// elsewhere could otherwise read every secret the operator can.
		Conditions: []storeCondition{{Namespaces: consumers(args)}},
	}, append(k8s, pulumi.DependsOn([]pulumi.Resource{release}))...)
	if err != nil {
		return nil, err
	}
	storeName := kube.ObjectName(store)
	appNsName := kube.NamespaceName(appNs)

	names := pulumi.StringArray{}
	for _, sec := range args.ApplicationSecrets {
		if sec.PerService {
			continue
		}
		if _, err := kube.NewExternalSecret(ctx, name+"-"+sec.Name, kube.ExternalSecretArgs{
			Name:            sec.Name,
			Namespace:       appNsName,
			Store:           storeName,
			SecretArn:       sec.SecretArn,
			RefreshInterval: args.RefreshInterval,
		}, k8s...); err != nil {
			return nil, err
		}
		names = append(names, pulumi.String(sec.Name))
	}

	s.StoreName = storeName
	s.ApplicationNamespace = appNsName
	s.RoleArn = role.Arn
	s.KmsKeyArn = key.Arn()
	s.SecretNames = names.ToStringArrayOutput()
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"storeName":            s.StoreName,
		"applicationNamespace": s.ApplicationNamespace,
		"roleArn":              s.RoleArn,
		"kmsKeyArn":            s.KmsKeyArn,
		"secretNames":          s.SecretNames,
	})
}

// consumers are the namespaces allowed to use the store, application namespace first.
func consumers(args Args) []string {
	out := []string{args.ApplicationNamespace}
	for _, ns := range args.ConsumerNamespaces {
		if ns != args.ApplicationNamespace {
			out = append(out, ns)
		}
	}
	return out
}

// ReadPolicy is the operator's policy: read (never list, write or delete) the secrets under
// this stack's prefix and the application secrets named explicitly (the RDS-managed master
// secret is named rds!db-... outside the prefix), and decrypt them only through Secrets
// Manager.
func ReadPolicy(env stackenv.Env, platformKeyArn pulumi.StringInput, secrets []ApplicationSecret) pulumi.StringOutput {
	readable := pulumi.StringArray{pulumi.String(env.Arn("secretsmanager", "secret:"+Prefix(env)+"*"))}
	keys := pulumi.StringArray{platformKeyArn}
	var keyless pulumi.StringArray
	for _, s := range secrets {
		readable = append(readable, s.SecretArn)
		if s.KmsKeyArn != nil {
			keys = append(keys, s.KmsKeyArn)
		} else {
			keyless = append(keyless, s.SecretArn)
		}
	}
	viaSecretsManager := iampolicy.Condition{
		Test: "StringEquals", Variable: "kms:ViaService",
		Values: iampolicy.Strings(fmt.Sprintf("secretsmanager.%s.amazonaws.com", env.Region)),
	}
	stmts := []iampolicy.Statement{
		iampolicy.Allow("ReadStackSecrets", []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, readable),
		{
			Sid:        "DecryptStackSecrets",
			Actions:    []string{"kms:Decrypt"},
			Resources:  keys,
			Conditions: []iampolicy.Condition{viaSecretsManager},
		},
	}
	if len(keyless) > 0 {
		// The key is not known here; the encryption context Secrets Manager sends (the secret's
		// ARN) pins the grant to exactly these secrets.
		stmts = append(stmts, iampolicy.Statement{
			Sid:       "DecryptNamedSecretsWithTheirKeys",
			Actions:   []string{"kms:Decrypt"},
			Resources: iampolicy.Strings(env.Arn("kms", "key/*")),
			Conditions: []iampolicy.Condition{
				viaSecretsManager,
				{Test: "StringEquals", Variable: "kms:EncryptionContext:SecretARN", Values: keyless},
			},
		})
	}
	return iampolicy.Document(stmts...)
}

// operatorValues are the chart's values. Every container of the chart's three Deployments
// (resources, webhook.resources, certController.resources in the chart's values.yaml) gets
// requests and limits: the chart sets none. The controller holds the informers of every
// ExternalSecret; the webhook and the certificate controller are mostly idle.
func operatorValues(args Args, roleArn pulumi.StringInput) esoValues {
	return esoValues{
		// The chart's CRDs are templates (deploy/charts/external-secrets/templates/crds/ in
		// external-secrets/external-secrets), not a crds/ directory: Helm upgrades them with the chart.
		InstallCRDs:         true,
		ReplicaCount:        args.Replicas,
		LeaderElect:         args.Replicas > 1,
		ServiceAccount:      kube.IRSAServiceAccount(ServiceAccount, roleArn),
		Resources:           ControllerResources,
		PodDisruptionBudget: esoPDB{Enabled: args.Replicas > 1, MinAvailable: 1},
		Webhook: esoComponent{
			ReplicaCount:        args.Replicas,
			Resources:           WebhookResources,
			PodDisruptionBudget: esoPDB{Enabled: args.Replicas > 1, MinAvailable: 1},
		},
		CertController: esoComponent{
			ReplicaCount:        args.Replicas,
			Resources:           WebhookResources,
			PodDisruptionBudget: esoPDB{Enabled: args.Replicas > 1, MinAvailable: 1},
		},
	}
}

// Requests and limits of the operator's containers.
var (
	ControllerResources = kube.NewResources("50m", "128Mi", "500m", "512Mi")
	WebhookResources    = kube.NewResources("25m", "64Mi", "200m", "256Mi")
)

// esoValues are the external-secrets chart's values this stack sets.
type esoValues struct {
	InstallCRDs         bool                `json:"installCRDs"`
	ReplicaCount        int                 `json:"replicaCount"`
	LeaderElect         bool                `json:"leaderElect"`
	ServiceAccount      kube.ServiceAccount `json:"serviceAccount"`
	Resources           kube.Resources      `json:"resources"`
	PodDisruptionBudget esoPDB              `json:"podDisruptionBudget"`
	Webhook             esoComponent        `json:"webhook"`
	CertController      esoComponent        `json:"certController"`
}

type esoComponent struct {
	ReplicaCount        int            `json:"replicaCount"`
	Resources           kube.Resources `json:"resources"`
	PodDisruptionBudget esoPDB         `json:"podDisruptionBudget"`
}

type esoPDB struct {
	Enabled      bool `json:"enabled"`
	MinAvailable int  `json:"minAvailable"`
}

// storeSpec is a ClusterSecretStore's spec. With no auth block the operator uses its own
// credentials: the IRSA role of its service account.
type storeSpec struct {
	Provider   storeProvider    `json:"provider"`
	Conditions []storeCondition `json:"conditions"`
}

type storeProvider struct {
	AWS awsProvider `json:"aws"`
}

type awsProvider struct {
	Service string `json:"service"`
	Region  string `json:"region"`
}

type storeCondition struct {
	Namespaces []string `json:"namespaces"`
}
