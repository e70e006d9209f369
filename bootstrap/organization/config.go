package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the organization program's Pulumi project name, and its config namespace.
const Project = "cinegit-organization"

// Config is the organization stack's configuration after defaults and validation.
type Config struct {
	// Region is aws:region: where the provider calls Organizations from.
	Region string
	// Accounts are the stacks' accounts, by stack name: each gets the SCP.
	Accounts map[string]string
	// AllowedRegions are the only regions the accounts may use (beyond global services).
	AllowedRegions []string
	// ExemptRoleNames are the administrator roles the SCP spares (they run the bootstrap).
	ExemptRoleNames []string
	// StateBucketPrefix names the state buckets the bootstrap makes (cinegit-pulumi-state-<account>).
	StateBucketPrefix string
}

var (
	keys = map[string]string{
		"accounts":          "{}",
		"allowedRegions":    `["us-east-1","us-west-2"]`,
		"exemptRoleNames":   `["OrganizationAccountAccessRole"]`,
		"stateBucketPrefix": "cinegit-pulumi-state-",
	}
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	stack     = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
	region    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	// A role name, or an IAM Identity Center permission set's role with one trailing wildcard
	// (AWSReservedSSO_<set>_*).
	roleName = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}\*?$`)
	bucket   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,40}$`)
	errBad   = errors.New("organization: invalid configuration")
)

// ConfigFromContext reads the running stack's configuration.
func ConfigFromContext(ctx *pulumi.Context) (*Config, error) {
	raw := map[string]string{}
	for _, k := range append([]string{"aws:region"}, sortedKeys(keys)...) {
		if !strings.Contains(k, ":") {
			k = Project + ":" + k
		}
		if v, ok := ctx.GetConfig(k); ok {
			raw[k] = v
		}
	}
	return ParseConfig(raw)
}

// ParseConfig applies defaults and validates, reporting every problem at once.
func ParseConfig(raw map[string]string) (*Config, error) {
	get := func(k string) string {
		if v := strings.TrimSpace(raw[Project+":"+k]); v != "" {
			return v
		}
		return keys[k]
	}
	var problems []string
	bad := func(key, format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s:%s: %s", Project, key, fmt.Sprintf(format, a...)))
	}
	c := &Config{Region: raw["aws:region"], StateBucketPrefix: get("stateBucketPrefix")}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	for k, into := range map[string]any{"accounts": &c.Accounts, "allowedRegions": &c.AllowedRegions, "exemptRoleNames": &c.ExemptRoleNames} {
		if err := json.Unmarshal([]byte(get(k)), into); err != nil {
			bad(k, "is not valid JSON of its type (%v)", err)
		}
	}
	for k := range raw {
		if name, ok := strings.CutPrefix(k, Project+":"); ok {
			if _, known := keys[name]; !known {
				bad(name, "unknown key")
			}
		}
	}
	if len(c.Accounts) == 0 {
		bad("accounts", "must map each stack to its account, e.g. {\"prod\": \"333333333333\"}")
	}
	seen := map[string]string{}
	for s, a := range c.Accounts {
		if !stack.MatchString(s) || !accountID.MatchString(a) {
			bad("accounts", "%q: %q must be a stack name and a 12-digit account ID", s, a)
		}
		if other, ok := seen[a]; ok {
			bad("accounts", "stacks %s and %s share account %s: each stack has an account of its own", other, s, a)
		}
		seen[a] = s
	}
	if len(c.AllowedRegions) == 0 {
		bad("allowedRegions", "must name at least one region")
	}
	for _, r := range c.AllowedRegions {
		if !region.MatchString(r) {
			bad("allowedRegions", "%q is not an AWS region", r)
		}
	}
	if len(c.ExemptRoleNames) == 0 {
		bad("exemptRoleNames", "must name the administrator role that runs the bootstrap, or the SCP forbids creating the state bucket")
	}
	for _, r := range c.ExemptRoleNames {
		if !roleName.MatchString(r) || r == "*" {
			bad("exemptRoleNames", "%q must be an IAM role name (a trailing * for an Identity Center permission set's roles)", r)
		}
	}
	if !bucket.MatchString(c.StateBucketPrefix) {
		bad("stateBucketPrefix", "%q is not the start of an S3 bucket name", c.StateBucketPrefix)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%w:\n  %s", errBad, strings.Join(problems, "\n  "))
	}
	return c, nil
}

// exemptRoleArns are the exempt roles in any account of the organization.
func (c *Config) exemptRoleArns() []string {
	out := make([]string, 0, len(c.ExemptRoleNames))
	for _, r := range c.ExemptRoleNames {
		out = append(out, "arn:aws:iam::*:role/"+r)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
