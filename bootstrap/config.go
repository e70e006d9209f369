package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the bootstrap's Pulumi project name and so the namespace of its config keys.
const Project = "cinegit-bootstrap"

// Environment is the value of the environment tag on everything the bootstrap creates.
const Environment = "bootstrap"

// Config is the bootstrap stack's configuration after defaults and validation. Every key is
// described once, in Pulumi.yaml's schema; the test TestConfigKeysMatchSchema keeps the two
// in step.
type Config struct {
	// Region is aws:region: where the state bucket and the keys live.
	Region string
	// StateBucket is the S3 bucket holding every stack's state.
	StateBucket string
	// StateKeyAlias and SecretsKeyAlias are KMS alias names without "alias/".
	StateKeyAlias   string
	SecretsKeyAlias string
	// GitHubRepository is "<owner>/<name>" of the repository whose workflows may assume the CI
	// roles.
	GitHubRepository string
	// GitHubOwnerID and GitHubRepositoryID are the numeric IDs GitHub puts in immutable subject
	// claims ("repo:owner@ID/name@ID:..."); empty for the legacy name-only claim.
	GitHubOwnerID      string
	GitHubRepositoryID string
	// GitHubOIDCProviderArn is an existing GitHub OIDC provider to trust instead of creating
	// one (an account has at most one per issuer URL).
	GitHubOIDCProviderArn string
	// LegacySubjects trusts GitHub's name-based subject claims instead of the immutable
	// owner and repository IDs: a renamed or re-created repository of the same name would be
	// trusted too, so it is an explicit opt-out.
	LegacySubjects bool
	// DefaultBranch is the only branch anything deploys from; drift checks run on it.
	DefaultBranch string
	// Environment is the one stack this account hosts, and the GitHub environment whose jobs
	// may assume its deploy launcher.
	Environment string
	// AccountID is the AWS account this stack of the bootstrap is for; the program refuses
	// credentials of any other account before it creates anything.
	AccountID string
	// PullRequestPreviews is how pull requests preview this stack: "automatic" (any
	// same-repository pull request), "approved" (in the GitHub environment
	// <environment>-preview, whose reviewers approve each run) or "off".
	PullRequestPreviews string
	// AllowDestroy lets the deploy launcher start `pulumi destroy` builds.
	AllowDestroy bool
	// NoncurrentVersionDays is how long a superseded state object version is kept.
	NoncurrentVersionDays int
	// AbortIncompleteUploadDays is when unfinished multipart uploads are cleaned up.
	AbortIncompleteUploadDays int
	// DeploySessionHours is the deploy role's maximum session: its job waits for a deploy
	// build (up to DeployTimeoutMinutes), so it must outlast one.
	DeploySessionHours int
	// RunnerCIDR is the deploy runner VPC's IPv4 block. Every stack peers with it, so it must not
	// overlap any stack's network.cidr (the main project's config checks its side).
	RunnerCIDR string
	// RunnerSourceBucket holds the commits the launchers upload and the runners' cache.
	RunnerSourceBucket string
	// RunnerKeyAlias is the KMS alias of the key for the runners' sources, cache and logs.
	RunnerKeyAlias string
	// Guardrails are the account guardrails (guardrails.go).
	Guardrails GuardrailsConfig
	// DNSDelegationSet and DNSSECKey make the account's reusable delegation set and DNSSEC
	// key-signing KMS key (dns.go).
	DNSDelegationSet, DNSSECKey bool
	// QuotaIncreases are Service Quotas values to request, by "<service>/<quota code>"
	// (quotas.go).
	QuotaIncreases map[string]float64
	// SpotServiceLinkedRole creates the account's EC2 Spot service-linked role (quotas.go).
	SpotServiceLinkedRole bool
	// RecoveryRegion is where the standby way in lives ("" for none): a state bucket, a
	// secrets key, a runner network with the recovery project and its launcher, for the
	// stack's recovery into that region after the loss of Region (recovery.go,
	// docs/region-loss.md).
	RecoveryRegion string
	// RecoveryStateBucket and RecoverySourceBucket are the recovery region's state and runner
	// source buckets: the primary's names with the region appended (bucket names are global).
	RecoveryStateBucket, RecoverySourceBucket string
}

// keys maps every config key of the project namespace to its default. Config.Keys, the schema
// test and the unknown-key check all derive from it.
var keys = map[string]string{
	"stateBucket":               "",
	"stateKeyAlias":             "cinegit-pulumi-state",
	"secretsKeyAlias":           "cinegit-pulumi-secrets",
	"githubRepository":          "cinegit/infrastructure",
	"githubOwnerId":             "",
	"githubRepositoryId":        "",
	"githubLegacySubjects":      "false",
	"githubOidcProviderArn":     "",
	"defaultBranch":             "main",
	"environment":               "",
	"accountId":                 "",
	"pullRequestPreviews":       PreviewsApproved,
	"allowDestroy":              "false",
	"noncurrentVersionDays":     "90",
	"abortIncompleteUploadDays": "7",
	"deploySessionHours":        "4",
	"runnerCidr":                "10.255.0.0/22",
	"runnerSourceBucket":        "",
	"runnerKeyAlias":            "cinegit-deploy-runner",
	"recoveryRegion":            "",
}

// Keys returns the fully qualified config keys the bootstrap reads, sorted.
func Keys() []string {
	out := make([]string, 0, len(keys)+1)
	for k := range keys {
		out = append(out, Project+":"+k)
	}
	sort.Strings(out)
	return append(out, "aws:region")
}

var (
	bucketName  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	aliasName   = regexp.MustCompile(`^[A-Za-z0-9/_-]{1,250}$`)
	ghOwner     = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	ghRepo      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	ghBranch    = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,255}$`)
	numericID   = regexp.MustCompile(`^[0-9]{1,20}$`)
	accountID   = regexp.MustCompile(`^[0-9]{12}$`)
	stackName   = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	oidcArn     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	regionName  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	errNoConfig = errors.New("bootstrap: invalid configuration")
)

// ConfigFromContext reads the running stack's configuration.
func ConfigFromContext(ctx *pulumi.Context) (*Config, error) {
	raw := map[string]string{}
	for _, k := range Keys() {
		if v, ok := ctx.GetConfig(k); ok {
			raw[k] = v
		}
	}
	// Under the engine the whole stack configuration is also in PULUMI_CONFIG: reading it lets
	// a misspelt key fail instead of being silently ignored.
	if !ctx.RunningWithMocks() {
		all := map[string]string{}
		if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err == nil {
			for k, v := range all {
				if _, ok := raw[k]; !ok && strings.HasPrefix(k, Project+":") {
					raw[k] = v
				}
			}
		}
	}
	return ParseConfig(raw)
}

// ParseConfig applies defaults to raw configuration (fully qualified keys, arrays as JSON
// text) and validates it, reporting every problem at once.
func ParseConfig(raw map[string]string) (*Config, error) {
	get := func(k string) string {
		if v, ok := raw[Project+":"+k]; ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return keys[k]
	}
	var problems []string
	bad := func(key, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	atoi := func(k string, lo, hi int) int {
		n, err := strconv.Atoi(get(k))
		if err != nil || n < lo || n > hi {
			bad(Project+":"+k, "must be a whole number from %d to %d, got %q", lo, hi, get(k))
		}
		return n
	}

	flag := func(k string) bool {
		b, err := strconv.ParseBool(get(k))
		if err != nil {
			bad(Project+":"+k, "must be true or false, got %q", get(k))
		}
		return b
	}

	c := &Config{
		Region:                    raw["aws:region"],
		StateBucket:               get("stateBucket"),
		StateKeyAlias:             strings.TrimPrefix(get("stateKeyAlias"), "alias/"),
		SecretsKeyAlias:           strings.TrimPrefix(get("secretsKeyAlias"), "alias/"),
		GitHubRepository:          get("githubRepository"),
		GitHubOwnerID:             get("githubOwnerId"),
		GitHubRepositoryID:        get("githubRepositoryId"),
		LegacySubjects:            flag("githubLegacySubjects"),
		GitHubOIDCProviderArn:     get("githubOidcProviderArn"),
		DefaultBranch:             get("defaultBranch"),
		Environment:               get("environment"),
		AccountID:                 get("accountId"),
		PullRequestPreviews:       get("pullRequestPreviews"),
		AllowDestroy:              flag("allowDestroy"),
		DNSDelegationSet:          flag("dnsDelegationSet"),
		DNSSECKey:                 flag("dnssecKey"),
		NoncurrentVersionDays:     atoi("noncurrentVersionDays", 1, 3650),
		AbortIncompleteUploadDays: atoi("abortIncompleteUploadDays", 1, 365),
		DeploySessionHours:        atoi("deploySessionHours", 1, 12),
		RunnerCIDR:                get("runnerCidr"),
		RunnerSourceBucket:        get("runnerSourceBucket"),
		RunnerKeyAlias:            strings.TrimPrefix(get("runnerKeyAlias"), "alias/"),
		RecoveryRegion:            get("recoveryRegion"),
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	// Bucket names are global: the account ID in the default names keeps every account's
	// buckets apart without a naming scheme to remember.
	if c.StateBucket == "" {
		c.StateBucket = "cinegit-pulumi-state-" + c.AccountID
	}
	if c.RunnerSourceBucket == "" {
		c.RunnerSourceBucket = "cinegit-runner-sources-" + c.AccountID
	}
	if c.RecoveryRegion != "" {
		c.RecoveryStateBucket = c.StateBucket + "-" + c.RecoveryRegion
		c.RecoverySourceBucket = c.RunnerSourceBucket + "-" + c.RecoveryRegion
	}
	c.Guardrails = parseGuardrails(get, bad)
	c.QuotaIncreases = parseQuotaIncreases(get, bad)
	c.SpotServiceLinkedRole = flag("spotServiceLinkedRole")

	for k := range raw {
		if name, ok := strings.CutPrefix(k, Project+":"); ok {
			if _, known := keys[name]; !known {
				bad(k, "unknown key")
			}
		}
	}
	if !regionName.MatchString(c.Region) {
		bad("aws:region", "%q is not an AWS region", c.Region)
	}
	if !bucketName.MatchString(c.StateBucket) || strings.Contains(c.StateBucket, "..") {
		bad(Project+":stateBucket", "%q is not a valid S3 bucket name", c.StateBucket)
	}
	for k, alias := range map[string]string{"stateKeyAlias": c.StateKeyAlias, "secretsKeyAlias": c.SecretsKeyAlias} {
		if !aliasName.MatchString(alias) || strings.HasPrefix(alias, "aws/") {
			bad(Project+":"+k, "%q is not a valid customer KMS alias name", alias)
		}
	}
	// The launcher waits for the whole deploy build with the deploy role's credentials.
	if c.DeploySessionHours*60 < DeployTimeoutMinutes+QueuedTimeoutMinutes {
		bad(Project+":deploySessionHours", "%d hours is shorter than a deploy build may take (%d minutes queued and %d running)",
			c.DeploySessionHours, QueuedTimeoutMinutes, DeployTimeoutMinutes)
	}
	if pfx, err := netip.ParsePrefix(c.RunnerCIDR); err != nil || !pfx.Addr().Is4() || !pfx.Addr().IsPrivate() ||
		pfx.Masked() != pfx || pfx.Bits() < 16 || pfx.Bits() > 24 {
		bad(Project+":runnerCidr", "%q must be a private IPv4 network from /16 to /24 with no host bits set", c.RunnerCIDR)
	}
	if !bucketName.MatchString(c.RunnerSourceBucket) || strings.Contains(c.RunnerSourceBucket, "..") || c.RunnerSourceBucket == c.StateBucket {
		bad(Project+":runnerSourceBucket", "%q is not a valid S3 bucket name other than stateBucket", c.RunnerSourceBucket)
	}
	if !aliasName.MatchString(c.RunnerKeyAlias) || strings.HasPrefix(c.RunnerKeyAlias, "aws/") ||
		c.RunnerKeyAlias == c.StateKeyAlias || c.RunnerKeyAlias == c.SecretsKeyAlias {
		bad(Project+":runnerKeyAlias", "%q is not a customer KMS alias name distinct from the state and secrets keys", c.RunnerKeyAlias)
	}
	if c.RecoveryRegion != "" {
		if !regionName.MatchString(c.RecoveryRegion) || c.RecoveryRegion == c.Region {
			bad(Project+":recoveryRegion", "%q must be an AWS region other than aws:region (%s)", c.RecoveryRegion, c.Region)
		}
		for _, b := range []string{c.RecoveryStateBucket, c.RecoverySourceBucket} {
			if !bucketName.MatchString(b) || strings.Contains(b, "..") {
				bad(Project+":recoveryRegion", "the recovery region's bucket %q is not a valid S3 bucket name (shorten stateBucket or runnerSourceBucket)", b)
			}
		}
	}
	if c.StateKeyAlias == c.SecretsKeyAlias {
		bad(Project+":secretsKeyAlias", "must differ from stateKeyAlias")
	}
	// The trust policies match the repository exactly: anything that could act as a
	// wildcard, or name a second repository, is rejected here.
	owner, repo, ok := strings.Cut(c.GitHubRepository, "/")
	if !ok || !ghOwner.MatchString(owner) || !ghRepo.MatchString(repo) {
		bad(Project+":githubRepository", "%q must be <owner>/<name> without wildcards", c.GitHubRepository)
	}
	if (c.GitHubOwnerID == "") != (c.GitHubRepositoryID == "") {
		bad(Project+":githubOwnerId", "githubOwnerId and githubRepositoryId are set together or not at all")
	}
	if c.LegacySubjects && c.GitHubOwnerID != "" {
		bad(Project+":githubLegacySubjects", "is true while githubOwnerId is set: choose one form of subject")
	}
	for k, id := range map[string]string{"githubOwnerId": c.GitHubOwnerID, "githubRepositoryId": c.GitHubRepositoryID} {
		if id != "" && !numericID.MatchString(id) {
			bad(Project+":"+k, "%q must be GitHub's numeric ID", id)
		}
	}
	if c.GitHubOIDCProviderArn != "" && !oidcArn.MatchString(c.GitHubOIDCProviderArn) {
		bad(Project+":githubOidcProviderArn", "%q is not the ARN of a GitHub Actions OIDC provider", c.GitHubOIDCProviderArn)
	}
	if !ghBranch.MatchString(c.DefaultBranch) {
		bad(Project+":defaultBranch", "%q is not a branch name", c.DefaultBranch)
	}
	if !stackName.MatchString(c.Environment) {
		bad(Project+":environment", "%q must name the one stack this account hosts (a lowercase stack name such as dev, staging or prod)", c.Environment)
	}
	if !accountID.MatchString(c.AccountID) {
		bad(Project+":accountId", "%q must be the 12-digit ID of the AWS account this stack of the bootstrap is for", c.AccountID)
	}
	if !contains(previewModes, c.PullRequestPreviews) {
		bad(Project+":pullRequestPreviews", "%q must be one of %s", c.PullRequestPreviews, strings.Join(previewModes, ", "))
	}
	if !c.LegacySubjects && (c.GitHubOwnerID == "" || c.GitHubRepositoryID == "") {
		bad(Project+":githubOwnerId", "the trust policies name the repository by its immutable IDs: set githubOwnerId and githubRepositoryId (gh api repos/%s --jq '.owner.id, .id'), or githubLegacySubjects: true", c.GitHubRepository)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%w:\n  %s", errNoConfig, strings.Join(problems, "\n  "))
	}
	return c, nil
}

// How pull requests preview a stack (pullRequestPreviews).
const (
	PreviewsAutomatic = "automatic"
	PreviewsApproved  = "approved"
	PreviewsOff       = "off"
)

var previewModes = []string{PreviewsAutomatic, PreviewsApproved, PreviewsOff}

// SubjectClaimKeys is the repository's OIDC subject template (GitHub REST API "Set the
// customization template for an OIDC subject claim for a repository", include_claim_keys):
// GitHub renders each key as "<key>:<value>", the context as in its default subject
// ("environment:<name>", "pull_request" or "ref:<ref>"), so the branch or pull request ref is
// always in the subject, and a trust policy can require main even of a job in an environment
// (docs.github.com, "OpenID Connect reference", "Customizing the subject claims").
var SubjectClaimKeys = []string{"repo", "context", "ref"}

// subjectPrefix is "repo:<owner>@<id>/<name>@<id>" (GitHub's immutable subject claims), or
// "repo:<owner>/<name>" when githubLegacySubjects is set.
func (c *Config) subjectPrefix() string {
	owner, repo, _ := strings.Cut(c.GitHubRepository, "/")
	if c.GitHubOwnerID != "" {
		return fmt.Sprintf("repo:%s@%s/%s@%s", owner, c.GitHubOwnerID, repo, c.GitHubRepositoryID)
	}
	return "repo:" + c.GitHubRepository
}

// Subject is the OIDC subject of a job in the given context ("environment:<name>",
// "pull_request" or "ref:<ref>") running at ref, under SubjectClaimKeys.
func (c *Config) Subject(context, ref string) string {
	return c.subjectPrefix() + ":" + context + ":ref:" + ref
}

// pullRequestRef matches the ref of any pull request's merge commit: the only wildcard a
// trust policy here has, in the pull request's number.
const pullRequestRef = "refs/pull/*/merge"

// mainRef is the default branch's ref.
func (c *Config) mainRef() string { return "refs/heads/" + c.DefaultBranch }

// DeploySubjects may assume the deploy launcher: jobs in the stack's GitHub environment, on
// the default branch. Whatever the environment's settings, no other branch deploys.
func (c *Config) DeploySubjects() []string {
	return []string{c.Subject("environment:"+c.Environment, c.mainRef())}
}

// PreviewSubjects may assume the preview launcher: reviewed code only, the default branch
// outside any environment (deploy.yml's preview before an approval, drift.yml).
func (c *Config) PreviewSubjects() []string {
	return []string{c.Subject("ref:"+c.mainRef(), c.mainRef())}
}

// PullRequestSubjects may assume the pull-request launcher (StringLike: the pull request's
// number is the wildcard): any same-repository pull request for "automatic", only jobs in
// the <environment>-preview GitHub environment for "approved", none for "off".
func (c *Config) PullRequestSubjects() []string {
	switch c.PullRequestPreviews {
	case PreviewsAutomatic:
		return []string{c.Subject("pull_request", pullRequestRef)}
	case PreviewsApproved:
		return []string{c.Subject("environment:"+c.PreviewEnvironment(), pullRequestRef)}
	}
	return nil
}

// PreviewEnvironment is the GitHub environment whose reviewers approve pull-request
// previews of an "approved" stack.
func (c *Config) PreviewEnvironment() string { return c.Environment + "-preview" }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
