// Package gitops is how CineGit's applications reach the cluster: Argo CD (a Helm release, HA
// where the stack asks for it), an app-of-apps Application that syncs the GitOps repository,
// AppProjects that limit what the repository may deploy and where, and the
// infrastructure-outputs ConfigMap that gives applications the stack's bucket names, role
// ARNs and endpoints so that no manifest hard-codes them.
//
// Argo CD's credentials never pass through Helm values: the SSO client secret and private
// repository credentials are Secrets Manager secrets (created empty here, filled by an
// operator) that the External Secrets Operator writes into Argo CD's namespace.
package gitops

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"go.yaml.in/yaml/v3"

	"github.com/cinegit/infrastructure/pkg/kube"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Argo CD's chart and the names this component gives its objects.
const (
	ChartRepo = "https://argoproj.github.io/argo-helm"
	ChartName = "argo-cd"
	Release   = "argo-cd"
	// InClusterServer is how Argo CD names the cluster it runs in.
	InClusterServer = "https://kubernetes.default.svc"
	// ApplicationsProject may deploy the applications into the application namespaces only.
	ApplicationsProject = "cinegit"
	// BootstrapProject may only create Applications in Argo CD's namespace: the app of apps.
	BootstrapProject = "cinegit-bootstrap"
	// RootApplication is the app of apps.
	RootApplication = "cinegit-apps"
	// OutputsConfigMap holds the infrastructure's outputs in the application namespace.
	OutputsConfigMap = "infrastructure-outputs"
	// OIDCSecret and RepositorySecret are the Secrets the secrets operator writes for Argo CD.
	OIDCSecret       = "argocd-oidc"
	RepositorySecret = "gitops-repository"
)

const appProjectAPIVersion = "argoproj.io/v1alpha1"

// SSO is Argo CD's OIDC sign-in.
type SSO struct {
	// URL is Argo CD's external https URL.
	URL string
	// Issuer and ClientID identify the OIDC client; its secret is in Secrets Manager.
	Issuer, ClientID string
	// AdminGroups administer Argo CD; everyone else who signs in may only read.
	AdminGroups []string
}

// Args configure the component.
type Args struct {
	Env stackenv.Env
	// KubernetesProvider talks to the cluster.
	KubernetesProvider *kubernetes.Provider
	// ChartVersion pins the argo-cd chart; Namespace is Argo CD's.
	ChartVersion string
	Namespace    string
	// HA replicates Argo CD's server, repo server and ApplicationSet controller and runs Redis
	// HA; otherwise one of each.
	HA bool
	// ControllerResources and RepoServerResources size the application controller and each
	// repo server, the two that grow with the number of applications and manifests.
	ControllerResources kube.Resources
	RepoServerResources kube.Resources

	// RepoURL, Revision and Path are the app of apps' source.
	RepoURL, Revision, Path string
	// RepositoryCredentials: the repository is private; its credentials come from Secrets
	// Manager (cinegit/<stack>/gitops/repository).
	RepositoryCredentials bool
	// ApplicationNamespace is where the applications run (pass the namespace's name output);
	// DestinationNamespaces are further namespaces they may deploy to.
	ApplicationNamespace  pulumi.StringInput
	DestinationNamespaces []string
	// SSO, when set, replaces the local admin account.
	SSO *SSO

	// SecretStore is the ClusterSecretStore (its name output); SecretsKmsKeyArn encrypts the
	// secrets created here; SecretRefreshInterval is the store's refresh;
	// SecretRecoveryWindowDays is their deletion window (0 or 7-30).
	SecretStore              pulumi.StringInput
	SecretsKmsKeyArn         pulumi.StringInput
	SecretRefreshInterval    string
	SecretRecoveryWindowDays int

	// Outputs are the infrastructure outputs applications read (bucket names, role ARNs,
	// endpoints, queue URL), by ConfigMap key. Never secrets: those go through ExternalSecrets.
	Outputs map[string]pulumi.StringInput

	// Network is where the cluster's pods live: Argo CD's namespace denies by default and
	// allows only what its components need (its chart's own policies are off).
	Network kube.ClusterNetwork
}

// GitOps is the component.
type GitOps struct {
	pulumi.ResourceState

	// Namespace is Argo CD's namespace.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
	// RootApplication is the app of apps' name.
	RootApplication pulumi.StringOutput `pulumi:"rootApplication"`
	// OutputsConfigMap is the infrastructure-outputs ConfigMap's name.
	OutputsConfigMap pulumi.StringOutput `pulumi:"outputsConfigMap"`
	// OIDCSecretArn and RepositorySecretArn are the secrets to fill (empty when unused).
	OIDCSecretArn       pulumi.StringOutput `pulumi:"oidcSecretArn"`
	RepositorySecretArn pulumi.StringOutput `pulumi:"repositorySecretArn"`
}

// configMapKey is what a ConfigMap accepts as a key.
var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)

func (a Args) check() error {
	switch {
	case a.KubernetesProvider == nil:
		return fmt.Errorf("KubernetesProvider is required")
	case !kube.ExactVersion.MatchString(a.ChartVersion):
		return fmt.Errorf("ChartVersion %q is not exact", a.ChartVersion)
	case a.Namespace == "" || a.ApplicationNamespace == nil:
		return fmt.Errorf("the Namespace and ApplicationNamespace are required")
	case a.RepoURL == "" || a.Revision == "" || a.Path == "":
		return fmt.Errorf("RepoURL, Revision and Path are required")
	case strings.HasPrefix(a.RepoURL, "http://"):
		return fmt.Errorf("RepoURL %q: https or ssh only", a.RepoURL)
	case a.SecretStore == nil || a.SecretsKmsKeyArn == nil || a.SecretRefreshInterval == "":
		return fmt.Errorf("SecretStore, SecretsKmsKeyArn and SecretRefreshInterval are required")
	case !complete(a.ControllerResources) || !complete(a.RepoServerResources):
		return fmt.Errorf("ControllerResources and RepoServerResources need requests and limits")
	case a.SSO != nil && (a.SSO.URL == "" || a.SSO.Issuer == "" || a.SSO.ClientID == "" || len(a.SSO.AdminGroups) == 0):
		return fmt.Errorf("SSO needs URL, Issuer, ClientID and AdminGroups")
	}
	for k, v := range a.Outputs {
		if !configMapKey.MatchString(k) || v == nil {
			return fmt.Errorf("output %q: a ConfigMap key with a value", k)
		}
	}
	if _, err := GitPort(a.RepoURL); err != nil {
		return err
	}
	return a.Network.Check()
}

// New creates the component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*GitOps, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("gitops %s: %w", name, err)
	}
	g := &GitOps{}
	if err := ctx.RegisterComponentResource("cinegit:gitops:GitOps", name, g, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(g)
	k8s := []pulumi.ResourceOption{parent, pulumi.Provider(args.KubernetesProvider)}
	env := args.Env

	// Restricted: every pod of argo-cd 10.1.1, with redis-ha 4.38.0 in staging and prod, meets
	// it as the charts render (wholeprogram_charts_test.go, with the charts pulled).
	ns, err := kube.NewNamespace(ctx, name, kube.NamespaceArgs{
		Name: args.Namespace, Environment: env.Naming.Stack, Purpose: "gitops", PodSecurity: kube.Restricted,
	}, k8s...)
	if err != nil {
		return nil, err
	}
	nsName := kube.NamespaceName(ns)
	gitPort, _ := GitPort(args.RepoURL) // checked above
	if err := kube.NewNetworkPolicies(ctx, name, nsName, argoPolicies(args, gitPort), k8s...); err != nil {
		return nil, err
	}

	// Secrets Argo CD reads; the release waits for them, since the server reads its OIDC
	// client secret at start.
	var waitFor []pulumi.Resource
	g.OIDCSecretArn = pulumi.String("").ToStringOutput()
	g.RepositorySecretArn = pulumi.String("").ToStringOutput()
	if args.SSO != nil {
		arn, es, err := syncedSecret(ctx, name+"-oidc", args, nsName, syncedSecretArgs{
			suffix: "oidc", k8sName: OIDCSecret,
			description: "Argo CD OIDC client secret (JSON: clientSecret). Set out of band; never in config or state.",
			labels:      map[string]string{"app.kubernetes.io/part-of": "argocd"},
		}, parent, k8s)
		if err != nil {
			return nil, err
		}
		g.OIDCSecretArn, waitFor = arn, append(waitFor, es)
	}
	if args.RepositoryCredentials {
		arn, es, err := syncedSecret(ctx, name+"-repository", args, nsName, syncedSecretArgs{
			suffix: "repository", k8sName: RepositorySecret,
			description: "GitOps repository credentials for Argo CD (JSON: username and password, or sshPrivateKey). Set out of band.",
			labels:      map[string]string{"argocd.argoproj.io/secret-type": "repository"},
			// Argo CD matches the credentials to Applications by URL.
			data: map[string]string{"type": "git", "url": args.RepoURL},
		}, parent, k8s)
		if err != nil {
			return nil, err
		}
		g.RepositorySecretArn, waitFor = arn, append(waitFor, es)
	}

	values, err := argoValues(args)
	if err != nil {
		return nil, fmt.Errorf("gitops %s: %w", name, err)
	}
	releaseOpts := k8s
	if len(waitFor) > 0 {
		releaseOpts = append(releaseOpts, pulumi.DependsOn(waitFor))
	}
	// argo-cd's CRDs are templates (charts/argo-cd/templates/crds/ in argoproj/argo-helm, on by the
	// chart's default crds.install: true): Helm upgrades them with the chart.
	release, err := kube.NewRelease(ctx, name, kube.ReleaseArgs{
		Name: Release, Chart: ChartName, Version: args.ChartVersion, Repo: ChartRepo,
		Namespace: nsName, Values: values,
	}, releaseOpts...)
	if err != nil {
		return nil, err
	}
	afterRelease := append(k8s, pulumi.DependsOn([]pulumi.Resource{release}))

	if err := projects(ctx, name, args, nsName, afterRelease); err != nil {
		return nil, err
	}
	root, err := kube.NewCustomResource(ctx, name+"-root", kube.Object{
		APIVersion: appProjectAPIVersion, Kind: "Application", Name: RootApplication, Namespace: nsName,
	}, applicationSpec{
		Project: BootstrapProject,
		Source:  applicationSource{RepoURL: args.RepoURL, TargetRevision: args.Revision, Path: args.Path},
		// The app of apps creates Applications next to Argo CD; they name their own project.
		Destination: applicationDestination{Server: InClusterServer, Namespace: nsName},
		SyncPolicy: syncPolicy{
			Automated:   automatedSync{Prune: true, SelfHeal: true},
			SyncOptions: []string{"PrunePropagationPolicy=foreground"},
		},
	}, afterRelease...)
	if err != nil {
		return nil, err
	}

	outputs, err := corev1.NewConfigMap(ctx, name+"-outputs", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(OutputsConfigMap),
			Namespace: args.ApplicationNamespace.ToStringOutput(),
			Labels:    pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("pulumi"), "app.kubernetes.io/part-of": pulumi.String("cinegit")},
		},
		Data: pulumi.StringMap(args.Outputs),
	}, k8s...)
	if err != nil {
		return nil, err
	}

	g.Namespace = nsName
	g.RootApplication = kube.ObjectName(root)
	g.OutputsConfigMap = outputs.Metadata.Name().Elem()
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{
		"namespace":           g.Namespace,
		"rootApplication":     g.RootApplication,
		"outputsConfigMap":    g.OutputsConfigMap,
		"oidcSecretArn":       g.OIDCSecretArn,
		"repositorySecretArn": g.RepositorySecretArn,
	})
}

// syncedSecretArgs describe a secret Argo CD reads.
type syncedSecretArgs struct {
	// suffix names the Secrets Manager secret, cinegit/<stack>/gitops/<suffix>.
	suffix string
	// k8sName is the Kubernetes Secret's name in Argo CD's namespace.
	k8sName, description string
	// labels and data (literal keys) are added to the Kubernetes Secret.
	labels, data map[string]string
}

// syncedSecret creates an empty Secrets Manager secret (its value is set out of band) and the
// ExternalSecret that writes it into Argo CD's namespace.
func syncedSecret(ctx *pulumi.Context, name string, args Args, ns pulumi.StringInput, s syncedSecretArgs,
	parent pulumi.ResourceOption, k8s []pulumi.ResourceOption,
) (pulumi.StringOutput, *apiextensions.CustomResource, error) {
	env := args.Env
	secretName := strings.TrimPrefix(env.Naming.Path("gitops", s.suffix), "/")
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		Name:                 pulumi.String(secretName),
		Description:          pulumi.String(s.description),
		KmsKeyId:             args.SecretsKmsKeyArn,
		RecoveryWindowInDays: pulumi.Int(args.SecretRecoveryWindowDays),
		Tags:                 env.Tags.Named(secretName).Map(),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, nil, err
	}
	es, err := kube.NewExternalSecret(ctx, name, kube.ExternalSecretArgs{
		Name:            s.k8sName,
		Namespace:       ns,
		Store:           args.SecretStore,
		SecretArn:       secret.Arn,
		RefreshInterval: args.SecretRefreshInterval,
		Labels:          s.labels,
		Data:            s.data,
	}, k8s...)
	return secret.Arn, es, err
}

// projects creates the two AppProjects and locks down Argo CD's built-in `default` project,
// which otherwise lets any Application deploy anything anywhere.
func projects(ctx *pulumi.Context, name string, args Args, ns pulumi.StringInput, opts []pulumi.ResourceOption) error {
	repos := []string{args.RepoURL}
	destinations := []projectDestination{{Server: InClusterServer, Namespace: args.ApplicationNamespace}}
	extra := append([]string(nil), args.DestinationNamespaces...)
	sort.Strings(extra)
	for _, d := range extra {
		destinations = append(destinations, projectDestination{Server: InClusterServer, Namespace: pulumi.String(d)})
	}
	for _, p := range []struct {
		suffix, name string
		spec         projectSpec
	}{
		{"bootstrap-project", BootstrapProject, projectSpec{
			Description:  "The app of apps: creates Applications in Argo CD's namespace, nothing else",
			SourceRepos:  repos,
			Destinations: []projectDestination{{Server: InClusterServer, Namespace: ns}},
			// Cluster-scoped resources: none.
			ClusterResourceWhitelist:   []groupKind{},
			NamespaceResourceWhitelist: []groupKind{{Group: "argoproj.io", Kind: "Application"}},
		}},
		{"applications-project", ApplicationsProject, projectSpec{
			Description:              "CineGit's applications: the GitOps repository, into the application namespaces only",
			SourceRepos:              repos,
			Destinations:             destinations,
			ClusterResourceWhitelist: []groupKind{},
			// Quotas and limits belong to the platform, not to the applications they bound. So
			// do ExternalSecrets and SecretStores: the shared store reads every secret under the
			// stack's prefix, so an application manifest could otherwise pull Grafana's or Argo
			// CD's credentials into its namespace. Pulumi creates the applications' ones.
			// Network policies and RBAC too: the platform's default-deny and its allows, and
			// who may do what in a namespace, are not an application's to change (a Role and
			// RoleBinding of its own could give its service account the namespace's Secrets).
			NamespaceResourceBlacklist: []groupKind{
				{Group: "", Kind: "ResourceQuota"}, {Group: "", Kind: "LimitRange"},
				{Group: "external-secrets.io", Kind: "ExternalSecret"}, {Group: "external-secrets.io", Kind: "SecretStore"},
				{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
				{Group: "rbac.authorization.k8s.io", Kind: "Role"}, {Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"},
			},
			OrphanedResources: &orphaned{Warn: true},
		}},
	} {
		if _, err := kube.NewCustomResource(ctx, name+"-"+p.suffix, kube.Object{
			APIVersion: appProjectAPIVersion, Kind: "AppProject", Name: p.name, Namespace: ns,
		}, p.spec, opts...); err != nil {
			return err
		}
	}
	// Argo CD creates `default` itself; a server-side patch (taking the fields over from Argo
	// CD's field manager) leaves it unable to deploy anything.
	spec, err := kube.Values(projectSpec{
		Description:              "Locked: every CineGit Application names its own project",
		SourceRepos:              []string{},
		Destinations:             []projectDestination{},
		ClusterResourceWhitelist: []groupKind{},
	})
	if err != nil {
		return err
	}
	_, err = apiextensions.NewCustomResourcePatch(ctx, name+"-default-project", &apiextensions.CustomResourcePatchArgs{
		ApiVersion: pulumi.String(appProjectAPIVersion),
		Kind:       pulumi.String("AppProject"),
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String("default"),
			Namespace:   ns.ToStringOutput(),
			Annotations: pulumi.StringMap{"pulumi.com/patchForce": pulumi.String("true")},
		},
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, opts...)
	return err
}

// argoValues are the argo-cd chart's values.
func argoValues(args Args) (argoCDValues, error) {
	replicas := 1
	if args.HA {
		replicas = 2
	}
	component := func(r kube.Resources) argoComponent {
		return argoComponent{Replicas: replicas, Resources: r, PDB: kube.Enabled{Enabled: args.HA}}
	}
	cm := map[string]any{
		// Nobody runs commands in pods through the UI.
		"exec.enabled":  false,
		"admin.enabled": args.SSO == nil,
	}
	rbac := map[string]string{"policy.default": "role:readonly", "scopes": "[groups]"}
	if sso := args.SSO; sso != nil {
		oidc, err := yaml.Marshal(oidcConfig{
			Name:     "SSO",
			Issuer:   sso.Issuer,
			ClientID: sso.ClientID,
			// Argo CD resolves $<secret>:<key> from a Secret labelled part-of=argocd.
			ClientSecret:    "$" + OIDCSecret + ":clientSecret",
			RequestedScopes: []string{"openid", "profile", "email", "groups"},
		})
		if err != nil {
			return argoCDValues{}, err
		}
		cm["url"] = sso.URL
		cm["oidc.config"] = string(oidc)
		lines := make([]string, 0, len(sso.AdminGroups))
		for _, group := range sso.AdminGroups {
			lines = append(lines, fmt.Sprintf("g, %s, role:admin", group))
		}
		rbac["policy.csv"] = strings.Join(lines, "\n") + "\n"
	}
	return argoCDValues{
		// The chart's own NetworkPolicies (on by default since argo-cd 10) admit every
		// namespace to the metrics ports and anyone to the server; the platform's in
		// argoPolicies are the whole truth instead.
		Global:     argoGlobal{NetworkPolicy: argoNetworkPolicy{Create: false}},
		Configs:    argoConfigs{CM: cm, RBAC: rbac},
		Controller: argoComponent{Replicas: 1, Resources: args.ControllerResources, PDB: kube.Enabled{Enabled: false}},
		Server: argoServer{
			argoComponent: component(ServerResources),
			Service:       kube.ClusterIP,
		},
		RepoServer: argoRepoServer{
			argoComponent: component(args.RepoServerResources),
			// The init container that copies argocd into the repo server's volume.
			Copyutil: resourcesOnly{Resources: InitResources},
		},
		ApplicationSet: component(ServerResources),
		Notifications:  resourcesOnly{Resources: SmallResources},
		// Sign-in goes straight to the OIDC provider; Dex is not needed.
		Dex: kube.Enabled{Enabled: false},
		// One Redis without HA; the chart turns it off itself when Redis HA is on.
		Redis:           argoRedis{Enabled: !args.HA, Resources: SmallResources},
		RedisSecretInit: resourcesOnly{Resources: HookJobResources},
		// Soft anti-affinity: the general node group may have fewer nodes than Redis HA has
		// replicas, and a pending replica would fail the atomic install.
		RedisHA: redisHA{
			Enabled: args.HA, HardAntiAffinity: false, Replicas: RedisHAReplicas,
			Redis:               resourcesOnly{Resources: RedisResources},
			Sentinel:            resourcesOnly{Resources: SmallResources},
			SplitBrainDetection: resourcesOnly{Resources: InitResources},
			Init:                resourcesOnly{Resources: InitResources},
			HAProxy: haproxy{
				HardAntiAffinity: false, Replicas: RedisHAReplicas, Resources: SmallResources,
				Init: resourcesOnly{Resources: InitResources},
			},
		},
	}, nil
}

// Requests and limits of Argo CD's fixed-size containers. The chart sets none (resources: {}
// for every component in argo-cd 10.1.1's values.yaml, and in its redis-ha 4.38.0 subchart).
var (
	ServerResources  = kube.NewResources("50m", "128Mi", "500m", "512Mi")
	SmallResources   = kube.NewResources("25m", "64Mi", "200m", "256Mi")
	RedisResources   = kube.NewResources("50m", "128Mi", "500m", "512Mi")
	InitResources    = kube.NewResources("10m", "16Mi", "50m", "64Mi")
	HookJobResources = kube.NewResources("10m", "32Mi", "100m", "64Mi")
)

// RedisHAReplicas is how many Redis (with Sentinel) and HAProxy pods Redis HA runs: a Sentinel
// quorum of two needs three.
const RedisHAReplicas = 3

// complete reports whether requests and limits are all set.
func complete(r kube.Resources) bool {
	return r.Requests.CPU != "" && r.Requests.Memory != "" && r.Limits.CPU != "" && r.Limits.Memory != ""
}

type argoCDValues struct {
	Global          argoGlobal     `json:"global"`
	Configs         argoConfigs    `json:"configs"`
	Controller      argoComponent  `json:"controller"`
	Server          argoServer     `json:"server"`
	RepoServer      argoRepoServer `json:"repoServer"`
	ApplicationSet  argoComponent  `json:"applicationSet"`
	Notifications   resourcesOnly  `json:"notifications"`
	Dex             kube.Enabled   `json:"dex"`
	Redis           argoRedis      `json:"redis"`
	RedisSecretInit resourcesOnly  `json:"redisSecretInit"`
	RedisHA         redisHA        `json:"redis-ha"`
}

type argoGlobal struct {
	NetworkPolicy argoNetworkPolicy `json:"networkPolicy"`
}

type argoNetworkPolicy struct {
	Create bool `json:"create"`
}

type resourcesOnly struct {
	Resources kube.Resources `json:"resources"`
}

type argoRepoServer struct {
	argoComponent
	Copyutil resourcesOnly `json:"copyutil"`
}

type argoRedis struct {
	Enabled   bool           `json:"enabled"`
	Resources kube.Resources `json:"resources"`
}

type argoConfigs struct {
	CM   map[string]any    `json:"cm"`
	RBAC map[string]string `json:"rbac"`
}

type argoComponent struct {
	Replicas  int            `json:"replicas"`
	Resources kube.Resources `json:"resources"`
	PDB       kube.Enabled   `json:"pdb"`
}

type argoServer struct {
	argoComponent
	Service kube.Service `json:"service"`
}

type redisHA struct {
	Enabled             bool          `json:"enabled"`
	HardAntiAffinity    bool          `json:"hardAntiAffinity"`
	Replicas            int           `json:"replicas"`
	Redis               resourcesOnly `json:"redis"`
	Sentinel            resourcesOnly `json:"sentinel"`
	SplitBrainDetection resourcesOnly `json:"splitBrainDetection"`
	Init                resourcesOnly `json:"init"`
	HAProxy             haproxy       `json:"haproxy"`
}

type haproxy struct {
	HardAntiAffinity bool           `json:"hardAntiAffinity"`
	Replicas         int            `json:"replicas"`
	Resources        kube.Resources `json:"resources"`
	Init             resourcesOnly  `json:"init"`
}

// oidcConfig is Argo CD's oidc.config (YAML inside argocd-cm).
type oidcConfig struct {
	Name            string   `yaml:"name"`
	Issuer          string   `yaml:"issuer"`
	ClientID        string   `yaml:"clientID"`
	ClientSecret    string   `yaml:"clientSecret"`
	RequestedScopes []string `yaml:"requestedScopes"`
}

type projectSpec struct {
	Description                string               `json:"description"`
	SourceRepos                []string             `json:"sourceRepos"`
	Destinations               []projectDestination `json:"destinations"`
	ClusterResourceWhitelist   []groupKind          `json:"clusterResourceWhitelist"`
	NamespaceResourceWhitelist []groupKind          `json:"namespaceResourceWhitelist,omitempty"`
	NamespaceResourceBlacklist []groupKind          `json:"namespaceResourceBlacklist,omitempty"`
	OrphanedResources          *orphaned            `json:"orphanedResources,omitempty"`
}

type projectDestination struct {
	Server    string             `json:"server"`
	Namespace pulumi.StringInput `json:"namespace"`
}

type groupKind struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
}

type orphaned struct {
	Warn bool `json:"warn"`
}

type applicationSpec struct {
	Project     string                 `json:"project"`
	Source      applicationSource      `json:"source"`
	Destination applicationDestination `json:"destination"`
	SyncPolicy  syncPolicy             `json:"syncPolicy"`
}

type applicationSource struct {
	RepoURL        string `json:"repoURL"`
	TargetRevision string `json:"targetRevision"`
	Path           string `json:"path"`
}

type applicationDestination struct {
	Server    string             `json:"server"`
	Namespace pulumi.StringInput `json:"namespace"`
}

type syncPolicy struct {
	Automated   automatedSync `json:"automated"`
	SyncOptions []string      `json:"syncOptions"`
}

type automatedSync struct {
	Prune    bool `json:"prune"`
	SelfHeal bool `json:"selfHeal"`
}
