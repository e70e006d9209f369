// Package config is CineGit's typed stack configuration: one struct tree for the whole stack,
// one section per component, its defaults, and the validation that runs before any resource
// is registered.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the Pulumi project name, and so the namespace of every key this program reads.
const Project = "cinegit"

// RegionKey and AccountsKey are the keys outside the project namespace that the program reads.
// aws:allowedAccountIds makes the AWS provider refuse credentials for any other account before
// it changes anything (the provider's allowedAccountIds setting); the program passes it to every
// provider it makes, which do not read the stack's aws: configuration themselves.
const (
	RegionKey   = "aws:region"
	AccountsKey = "aws:allowedAccountIds"
)

// Config is the whole stack's configuration after defaults and validation.
type Config struct {
	Project string `json:"-"`
	Stack   string `json:"-"`
	Region  string `json:"-"`
	// AccountID is the one AWS account the stack deploys to (aws:allowedAccountIds).
	AccountID string `json:"-"`

	// Tags are extra tags for every resource, on top of project, environment and managed-by.
	Tags map[string]string `json:"tags"`
	// Protect marks stateful resources (databases, buckets, keys) with Pulumi's protect option.
	Protect bool `json:"protect"`
	// Environment is what this stack is an instance of: its environment tag (which the policy
	// pack and the budgets read) and the guarantees it must keep (StackRules). Names stay the
	// stack's, so a second instance of prod (the region-loss recovery, docs/region-loss.md)
	// takes prod's rules and tags under names that do not collide with prod's. Default: the
	// stack's name; otherwise one of dev, staging, prod.
	Environment string `json:"environment"`

	Network         NetworkConfig         `json:"network"`
	Cluster         ClusterConfig         `json:"cluster"`
	Database        DatabaseConfig        `json:"database"`
	Cache           CacheConfig           `json:"cache"`
	Media           MediaConfig           `json:"media"`
	CDN             CDNConfig             `json:"cdn"`
	MediaProcessing MediaProcessingConfig `json:"mediaProcessing"`
	Observability   ObservabilityConfig   `json:"observability"`
	GitOps          GitOpsConfig          `json:"gitops"`
	DNS             DNSConfig             `json:"dns"`
	Ingress         IngressConfig         `json:"ingress"`
	DeployRunner    DeployRunnerConfig    `json:"deployRunner"`
	Backup          BackupConfig          `json:"backup"`
	OffHours        OffHoursConfig        `json:"offHours"`
	Services        ServicesConfig        `json:"services"`
}

// section is what each component's part of the configuration provides.
type section interface {
	applyDefaults(env Env)
	validate(p *problems, env Env)
}

// Env is what a section may know about the stack it is configured for.
type Env struct {
	Stack  string
	Region string
	Rules  StackRules
}

// sections lists every top-level key of the project namespace with where it decodes to.
// Keys() and the unknown-key check derive from it, so a new section is added here only.
func (c *Config) sections() map[string]any {
	return map[string]any{
		"tags":            &c.Tags,
		"protect":         &c.Protect,
		"environment":     &c.Environment,
		"network":         &c.Network,
		"deployRunner":    &c.DeployRunner,
		"cluster":         &c.Cluster,
		"database":        &c.Database,
		"cache":           &c.Cache,
		"media":           &c.Media,
		"cdn":             &c.CDN,
		"mediaProcessing": &c.MediaProcessing,
		"observability":   &c.Observability,
		"gitops":          &c.GitOps,
		"dns":             &c.DNS,
		"ingress":         &c.Ingress,
		"backup":          &c.Backup,
		"offHours":        &c.OffHours,
		"services":        &c.Services,
	}
}

// Keys returns every fully qualified key this program reads, sorted.
func Keys() []string {
	var c Config
	keys := make([]string, 0, 16)
	for k := range c.sections() {
		keys = append(keys, Project+":"+k)
	}
	sort.Strings(keys)
	return append(keys, AccountsKey, RegionKey)
}

// FromContext loads and validates the configuration of the running stack.
func FromContext(ctx *pulumi.Context) (*Config, error) {
	raw := map[string]string{}
	for _, k := range Keys() {
		if v, ok := ctx.GetConfig(k); ok {
			raw[k] = v
		}
	}
	// ctx.GetConfig answers only for keys asked by name, so a misspelled section would be
	// silently ignored. Under the real engine the whole stack configuration is also in
	// PULUMI_CONFIG, which Parse then checks key by key. (Offline, `plan` checks the stack
	// file's keys itself: see pkg/plan.)
	if !ctx.RunningWithMocks() {
		if err := mergeEngineConfig(raw, os.Getenv(pulumi.EnvConfig)); err != nil {
			return nil, err
		}
	}
	return Parse(ctx.Stack(), raw)
}

// mergeEngineConfig adds every key of the engine's configuration that raw lacks. The Go
// language host (pulumi-language-go, constructEnv/constructConfig) sets PULUMI_CONFIG to the
// JSON object of the RunRequest's config: fully qualified keys ("cinegit:database") to string
// values, objects as JSON text; the SDK's getEnvInfo (sdk/go/pulumi/run.go) reads the same
// variable into RunInfo.Config.
func mergeEngineConfig(raw map[string]string, env string) error {
	if env == "" {
		return nil
	}
	all := map[string]string{}
	if err := json.Unmarshal([]byte(env), &all); err != nil {
		return fmt.Errorf("config: %s is not a JSON object of strings: %w", pulumi.EnvConfig, err)
	}
	for k, v := range all {
		if _, ok := raw[k]; !ok {
			raw[k] = v
		}
	}
	return nil
}

// Parse decodes raw Pulumi configuration (fully qualified keys; objects as JSON text), applies
// defaults and validates. Every problem is reported at once in a *ValidationError.
func Parse(stack string, raw map[string]string) (*Config, error) {
	p := &problems{ns: Project}
	c := &Config{Project: Project, Stack: stack, Region: raw[RegionKey]}
	secs := c.sections()

	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, Project+":")
		if !ok {
			continue // other namespaces (aws:, kubernetes:) belong to their providers
		}
		target, known := secs[name]
		if !known {
			names := sectionNames(secs)
			p.add(name, raw[k], "unknown key; did you mean %s:%s? (known keys: %s)", Project, nearest(name, names), strings.Join(names, ", "))
			continue
		}
		decode(p, name, raw[k], target)
	}

	validateStack(p, stack)
	validateEnvironment(p, c, stack)
	env := Env{Stack: stack, Region: c.Region, Rules: RulesFor(c.Environment)}
	validateRegion(p, c.Region)
	c.AccountID = validateAccount(p, raw[AccountsKey])
	validateTags(p, c.Tags)
	if env.Rules.RequirePulumiProtect && !c.Protect {
		p.add("protect", c.Protect, "true for stack %q: its stateful resources must be Pulumi-protected", c.Environment)
	}
	for _, name := range sectionNames(secs) {
		if s, ok := secs[name].(section); ok {
			s.applyDefaults(env)
			s.validate(p, env)
		}
	}
	c.resolveServices(p)
	c.validateDomains(p)
	validateRunnerOverlap(p, c)
	validateBackupRetention(p, c.Backup, c.Database)
	validateOffHoursBackups(p, c.OffHours, c.Backup, c.Database)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

func sectionNames(secs map[string]any) []string {
	names := make([]string, 0, len(secs))
	for k := range secs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// decode reads one key's value, rejecting unknown fields and reporting type errors by path.
func decode(p *problems, name, value string, target any) {
	text := value
	switch t := target.(type) {
	case *string:
		// Pulumi passes a string as its plain text.
		*t = strings.TrimSpace(value)
		return
	case *bool:
		// Pulumi passes scalars as plain text; JSON true/false reads the same.
	case *map[string]string:
	default:
		if strings.TrimSpace(value) == "" {
			return
		}
	}
	// Unknown fields and map values of the wrong kind first, by full path, with a suggestion.
	var generic any
	gen := json.NewDecoder(bytes.NewReader([]byte(text)))
	gen.UseNumber()
	if gen.Decode(&generic) == nil && checkShape(p, name, generic, reflect.TypeOf(target)) > 0 {
		_ = json.Unmarshal([]byte(text), target) // best effort, so that the other checks still run
		return
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	err := dec.Decode(target)
	if err == nil {
		return
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		key := name
		if typeErr.Field != "" {
			key += "." + typeErr.Field
		}
		p.add(key, typeErr.Value, "must be of type %s", typeErr.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.add(name+"."+field, field, "unknown field; see the %q section of the config reference", name)
	default:
		p.add(name, value, "must be valid for this key (%v)", err)
	}
}

// validateStack keeps stack names usable inside AWS resource names.
func validateStack(p *problems, stack string) {
	if !stackName.MatchString(stack) {
		p.add("<stack>", stack, "a stack name of 1-12 lowercase letters and digits, starting with a letter")
	}
}

// environments are what a stack may declare itself an instance of, besides its own name.
var environments = []string{"dev", "staging", "prod"}

// validateEnvironment defaults the environment to the stack's name and accepts only that or
// one of environments: the environment chooses the rules a stack must keep, so it cannot be
// something without rules of its own.
func validateEnvironment(p *problems, c *Config, stack string) {
	if c.Environment == "" {
		c.Environment = stack
	}
	if c.Environment == stack {
		return
	}
	for _, e := range environments {
		if c.Environment == e {
			return
		}
	}
	p.add("environment", c.Environment, "the stack's own name (%q, the default) or one of %s", stack, strings.Join(environments, ", "))
}

// Describe renders a value for messages and logs.
func Describe(v any) string { return fmt.Sprintf("%v", v) }
