package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// GitOpsConfig is the `gitops` section: Argo CD and the app-of-apps it syncs from the GitOps
// repository, the application namespace, and the External Secrets Operator that puts the
// stack's Secrets Manager secrets into it.
type GitOpsConfig struct {
	// ChartVersion of the argoproj argo-cd chart, exact. Default "10.1.1".
	ChartVersion string `json:"chartVersion"`
	// Namespace of Argo CD. Default "argocd".
	Namespace string `json:"namespace"`
	// RepoURL is the GitOps repository: https://host/path, ssh://[user@]host/path or
	// user@host:path. Default "https://github.com/cinegit/gitops.git".
	RepoURL string `json:"repoUrl"`
	// Revision is the branch, tag or commit Argo CD follows. Default "main".
	Revision string `json:"revision"`
	// Path is the app-of-apps directory in the repository, relative. Default "clusters/<stack>".
	Path string `json:"path"`
	// RepositoryCredentials makes the repository private: Argo CD reads its credentials
	// (username/password or sshPrivateKey) from the Secrets Manager secret
	// cinegit/<stack>/gitops/repository, which this stack creates empty and an operator fills.
	// Default false (a public repository).
	RepositoryCredentials bool `json:"repositoryCredentials"`
	// ApplicationNamespace is where CineGit's applications run, with their secrets and the
	// infrastructure-outputs ConfigMap. Default "cinegit".
	ApplicationNamespace string `json:"applicationNamespace"`
	// DestinationNamespaces are further namespaces applications may deploy to (they must exist;
	// the application namespace is always allowed). Default none.
	DestinationNamespaces []string `json:"destinationNamespaces"`
	// HA runs Argo CD highly available (replicated server, repo server and application set
	// controller, Redis HA). Default and required true in staging and prod.
	HA *bool `json:"ha"`
	// ControllerResources are the application controller's requests and limits; it grows with
	// the number of applications and resources it watches. Defaults requests 250m/512Mi,
	// limits 1/2Gi.
	ControllerResources ResourcesConfig `json:"controllerResources"`
	// RepoServerResources are each repo server's requests and limits; it renders manifests.
	// Defaults requests 100m/256Mi, limits 1/1Gi.
	RepoServerResources ResourcesConfig `json:"repoServerResources"`
	// SSO signs users in through an OIDC provider and disables the local admin account. Default
	// none: the admin account stays, its initial password in the argocd-initial-admin-secret.
	SSO *SSOConfig `json:"sso"`
	// SecretRecoveryWindowDays is how long the deleted SSO and repository credential secrets
	// can be restored: 0 (at once, so a destroyed stack can be recreated under the same name)
	// or 7-30; prod needs 7-30. Default 30 in staging and prod, 0 elsewhere. Always set after
	// Parse.
	SecretRecoveryWindowDays *int `json:"secretRecoveryWindowDays"`
	// ExternalSecrets pins and sizes the External Secrets Operator.
	ExternalSecrets ExternalSecretsConfig `json:"externalSecrets"`
}

// SSOConfig is Argo CD's OIDC sign-in. The client secret is never configuration: it lives in the
// Secrets Manager secret cinegit/<stack>/gitops/oidc (created empty, filled by an operator).
type SSOConfig struct {
	// URL is Argo CD's external https URL, where the provider redirects back to.
	URL string `json:"url"`
	// Issuer is the OIDC provider's https issuer URL.
	Issuer string `json:"issuer"`
	// ClientID is the OIDC client's id (public, not a secret).
	ClientID string `json:"clientId"`
	// AdminGroups are the provider's groups whose members administer Argo CD; everyone else who
	// signs in may only read.
	AdminGroups []string `json:"adminGroups"`
}

// ExternalSecretsConfig pins and sizes the External Secrets Operator.
type ExternalSecretsConfig struct {
	// ChartVersion of the external-secrets chart, exact. Default "2.9.0".
	ChartVersion string `json:"chartVersion"`
	// Namespace of the operator. Default "external-secrets".
	Namespace string `json:"namespace"`
	// Replicas of the controller (1-3; leader election picks one active). Default 1, 2 where the
	// stack requires HA.
	Replicas int `json:"replicas"`
	// RefreshInterval is how often secrets are re-read from Secrets Manager, a Go duration
	// from 1m to 24h; a rotated database password reaches pods within it. Default "15m".
	RefreshInterval string `json:"refreshInterval"`
}

var (
	// scpLikeURL is git's user@host:path form.
	scpLikeURL = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/-]+$`)
	// gitRevision is a branch, tag or commit: git ref characters, no "..", no leading "-" or "/".
	gitRevision = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/-]*$`)
	// repoPath is a relative directory of the repository.
	repoPath = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
)

// IsHA is HA after defaults.
func (c GitOpsConfig) IsHA() bool { return c.HA != nil && *c.HA }

func (c *GitOpsConfig) applyDefaults(env Env) {
	setString(&c.ChartVersion, "10.1.1")
	setString(&c.Namespace, "argocd")
	setString(&c.RepoURL, "https://github.com/cinegit/gitops.git")
	setString(&c.Revision, "main")
	setString(&c.Path, "clusters/"+env.Stack)
	setString(&c.ApplicationNamespace, "cinegit")
	if c.HA == nil {
		ha := env.Rules.RequireHA
		c.HA = &ha
	}
	c.ControllerResources.defaults("250m", "512Mi", "1", "2Gi")
	c.RepoServerResources.defaults("100m", "256Mi", "1", "1Gi")
	defaultRecoveryWindow(&c.SecretRecoveryWindowDays, env)
	e := &c.ExternalSecrets
	setString(&e.ChartVersion, "2.9.0")
	setString(&e.Namespace, "external-secrets")
	setInt(&e.Replicas, haOr(env, 2, 1))
	setString(&e.RefreshInterval, "15m")
}

func (c *GitOpsConfig) validate(p *problems, env Env) {
	const k = "gitops."
	validateChartVersion(p, k+"chartVersion", c.ChartVersion)
	validateNamespace(p, k+"namespace", c.Namespace)
	validateRepoURL(p, k+"repoUrl", c.RepoURL)
	if !gitRevision.MatchString(c.Revision) || strings.Contains(c.Revision, "..") || strings.HasSuffix(c.Revision, "/") {
		p.add(k+"revision", c.Revision, "a branch, tag or commit (letters, digits and ._/-; no .., no leading - or /)")
	}
	if !repoPath.MatchString(c.Path) || slices.Contains(strings.Split(c.Path, "/"), "..") {
		p.add(k+"path", c.Path, "a relative directory of the repository, like clusters/%s (no leading /, no ..)", env.Stack)
	}
	validateNamespace(p, k+"applicationNamespace", c.ApplicationNamespace)
	if c.ApplicationNamespace == c.Namespace {
		p.add(k+"applicationNamespace", c.ApplicationNamespace, "a namespace other than Argo CD's own (%q)", c.Namespace)
	}
	seen := map[string]bool{c.ApplicationNamespace: true}
	for i, ns := range c.DestinationNamespaces {
		key := fmt.Sprintf("%sdestinationNamespaces[%d]", k, i)
		validateNamespace(p, key, ns)
		switch {
		case seen[ns]:
			p.add(key, ns, "each namespace once, other than the application namespace (always allowed)")
		case ns == c.Namespace || ns == c.ExternalSecrets.Namespace:
			p.add(key, ns, "an application namespace: applications never deploy into Argo CD's or the secrets operator's namespace")
		}
		seen[ns] = true
	}
	if env.Rules.RequireHA && !c.IsHA() {
		p.add(k+"ha", false, "true for stack %q (a single Argo CD server or Redis is a single point of failure for deployments)", env.Stack)
	}
	c.ControllerResources.validate(p, k+"controllerResources")
	c.RepoServerResources.validate(p, k+"repoServerResources")
	if c.SSO != nil {
		c.SSO.validate(p, k+"sso.")
	}
	validateRecoveryWindow(p, k+"secretRecoveryWindowDays", *c.SecretRecoveryWindowDays, env)

	e := c.ExternalSecrets
	validateChartVersion(p, k+"externalSecrets.chartVersion", e.ChartVersion)
	validateNamespace(p, k+"externalSecrets.namespace", e.Namespace)
	if e.Namespace == c.Namespace || e.Namespace == c.ApplicationNamespace {
		p.add(k+"externalSecrets.namespace", e.Namespace, "a namespace of its own (the operator's role reads every secret of the stack)")
	}
	intRange(p, k+"externalSecrets.replicas", e.Replicas, 1, 3, "replicas")
	if env.Rules.RequireHA && e.Replicas < 2 {
		p.add(k+"externalSecrets.replicas", e.Replicas, "at least 2 for stack %q", env.Stack)
	}
	if d, err := time.ParseDuration(e.RefreshInterval); err != nil || d < time.Minute || d > 24*time.Hour {
		p.add(k+"externalSecrets.refreshInterval", e.RefreshInterval, "a duration from 1m to 24h, like 15m or 1h")
	}
}

func (s *SSOConfig) validate(p *problems, k string) {
	for _, u := range []struct{ key, value string }{{k + "url", s.URL}, {k + "issuer", s.Issuer}} {
		parsed, err := url.Parse(u.value)
		if err != nil || parsed.Scheme != "https" || parsed.Host == "" || parsed.User != nil {
			p.add(u.key, u.value, "an https URL without credentials")
		}
	}
	if strings.TrimSpace(s.ClientID) == "" {
		p.add(k+"clientId", s.ClientID, "the OIDC client's id")
	}
	if len(s.AdminGroups) == 0 {
		p.add(k+"adminGroups", s.AdminGroups, "at least one group: with SSO the local admin account is disabled")
	}
	for i, g := range s.AdminGroups {
		// Groups are written into Argo CD's RBAC CSV: no commas or line breaks.
		if strings.TrimSpace(g) == "" || strings.ContainsAny(g, ",\n\r") {
			p.add(fmt.Sprintf("%sadminGroups[%d]", k, i), g, "a group name without commas or line breaks")
		}
	}
}

// validateRepoURL accepts https, ssh:// and git's scp-like user@host:path, never plain http or
// embedded credentials.
func validateRepoURL(p *problems, key, repo string) {
	if scpLikeURL.MatchString(repo) {
		return
	}
	u, err := url.Parse(repo)
	switch {
	case err != nil || u.Host == "" || u.Path == "" || u.Path == "/":
		p.add(key, repo, "a repository URL: https://host/path, ssh://git@host/path or git@host:path")
	case u.Scheme != "https" && u.Scheme != "ssh":
		p.add(key, repo, "an https or ssh repository URL (%q is not encrypted or not git)", u.Scheme)
	case u.Scheme == "https" && u.User != nil, hasPassword(u):
		p.add(key, repo, "a URL without credentials: private repositories use repositoryCredentials")
	}
}

func hasPassword(u *url.URL) bool {
	if u.User == nil {
		return false
	}
	_, set := u.User.Password()
	return set
}
