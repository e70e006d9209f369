package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	stackconfig "github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
)

// Type tokens of what the bootstrap creates.
const (
	tBucket        = "aws:s3/bucketV2:BucketV2"
	tVersioning    = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tSSE           = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tPAB           = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tOwnership     = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tPolicy        = "aws:s3/bucketPolicy:BucketPolicy"
	tLifecycle     = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	tKey           = "aws:kms/key:Key"
	tAlias         = "aws:kms/alias:Alias"
	tOIDC          = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	tRole          = "aws:iam/role:Role"
	tAttachment    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tRolePolicy    = "aws:iam/rolePolicy:RolePolicy"
	tProvider      = "pulumi:providers:aws"
	tProject       = "aws:codebuild/project:Project"
	tLogGroup      = "aws:cloudwatch/logGroup:LogGroup"
	tVpc           = "aws:ec2/vpc:Vpc"
	tSubnet        = "aws:ec2/subnet:Subnet"
	tRouteTable    = "aws:ec2/routeTable:RouteTable"
	tRoute         = "aws:ec2/route:Route"
	tNat           = "aws:ec2/natGateway:NatGateway"
	tEip           = "aws:ec2/eip:Eip"
	tSG            = "aws:ec2/securityGroup:SecurityGroup"
	tFlowLog       = "aws:ec2/flowLog:FlowLog"
	tEndpoint      = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tDelegationSet = "aws:route53/delegationSet:DelegationSet"
)

var (
	runsMu sync.Mutex
	runs   = map[string]*harness.Result{}
)

// run runs the dev account's bootstrap stack under the shared harness, with Pulumi.yaml's
// defaults and Pulumi.dev.yaml, once per mode and set of overrides.
func run(t testing.TB, preview bool, override map[string]string) *harness.Result {
	t.Helper()
	return runStack(t, "dev", preview, override)
}

// runStack runs one account's bootstrap stack. The stack files name placeholder accounts; the
// mocks answer with harness.AccountID, so that is the account unless override names another.
func runStack(t testing.TB, stack string, preview bool, override map[string]string) *harness.Result {
	t.Helper()
	r, err := tryRun(stack, preview, override)
	if err != nil {
		t.Fatalf("bootstrap %s (preview=%v, override=%v): %v", stack, preview, override, err)
	}
	return r
}

func tryRun(stack string, preview bool, override map[string]string) (*harness.Result, error) {
	runsMu.Lock()
	defer runsMu.Unlock()
	k := fmt.Sprint(stack, preview, override)
	if r, ok := runs[k]; ok {
		return r, nil
	}
	o := map[string]string{Project + ":accountId": harness.AccountID}
	for k, v := range override {
		o[k] = v
	}
	r, err := harness.Run(program, harness.Options{Dir: ".", Stack: stack, Preview: preview, Override: o})
	if err == nil {
		runs[k] = r
	}
	return r, err
}

// forEachMode runs f on the update and the preview of the default stack.
func forEachMode(t *testing.T, f func(t *testing.T, r *harness.Result)) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) { f(t, run(t, preview, nil)) })
	}
}

func one(t *testing.T, r *harness.Result, typ string) *harness.Resource {
	t.Helper()
	got := outsideGuardrails(r, r.ByType(typ))
	if len(got) != 1 {
		t.Fatalf("want exactly one %s, got %d", typ, len(got))
	}
	return got[0]
}

// doc parses a JSON policy input.
func doc(t *testing.T, res *harness.Resource, path string) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(res.InputString(path)), &d); err != nil {
		t.Fatalf("%s %s: %s is not a policy document: %v", res.Type, res.Name, path, err)
	}
	return d
}

func statements(d map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for i, s := range d["Statement"].([]any) {
		st := s.(map[string]any)
		sid, _ := st["Sid"].(string)
		if sid == "" {
			sid = fmt.Sprint(i)
		}
		out[sid] = st
	}
	return out
}

func strs(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func TestStateBucketAndItsCompanions(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		bucket := r.Named(tBucket, "state")
		if bucket.InputString("bucket") != "cinegit-pulumi-state-"+harness.AccountID || bucket.Input("forceDestroy") != false {
			t.Fatalf("state bucket: name %q forceDestroy %v", bucket.InputString("bucket"), bucket.Input("forceDestroy"))
		}
		stateKey := r.Named(tKey, "state")
		tests := []struct {
			typ   string
			check func(t *testing.T, c *harness.Resource)
		}{
			{tVersioning, func(t *testing.T, c *harness.Resource) {
				if c.Input("versioningConfiguration.status") != "Enabled" {
					t.Errorf("versioning is %v", c.Input("versioningConfiguration.status"))
				}
			}},
			{tSSE, func(t *testing.T, c *harness.Resource) {
				if c.Input("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" || c.Input("rules[0].bucketKeyEnabled") != true {
					t.Errorf("want SSE-KMS with a bucket key, got %v", c.Input("rules"))
				}
				if !r.DependsOn(c, stateKey) {
					t.Errorf("encryption does not use the state key")
				}
				if !r.Preview && c.Input("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId") != stateKey.Outputs["arn"].StringValue() {
					t.Errorf("encryption key is %v", c.Input("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"))
				}
			}},
			{tPAB, func(t *testing.T, c *harness.Resource) {
				for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
					if c.Input(k) != true {
						t.Errorf("public access block: %s = %v", k, c.Input(k))
					}
				}
			}},
			{tOwnership, func(t *testing.T, c *harness.Resource) {
				if c.Input("rule.objectOwnership") != "BucketOwnerEnforced" {
					t.Errorf("object ownership %v", c.Input("rule.objectOwnership"))
				}
			}},
			{tPolicy, func(t *testing.T, c *harness.Resource) {
				if !r.DependsOn(c, r.Named(tPAB, "state")) {
					t.Errorf("bucket policy is not ordered after the public access block")
				}
				if r.Preview {
					return
				}
				st := statements(doc(t, c, "policy"))
				tls := st["DenyInsecureTransport"]
				if tls["Effect"] != "Deny" || !reflect.DeepEqual(tls["Principal"], map[string]any{"AWS": []any{"*"}}) ||
					!reflect.DeepEqual(strs(tls["Resource"]), []string{"arn:aws:s3:::cinegit-pulumi-state-" + harness.AccountID, "arn:aws:s3:::cinegit-pulumi-state-" + harness.AccountID + "/*"}) ||
					!reflect.DeepEqual(tls["Condition"], map[string]any{"Bool": map[string]any{"aws:SecureTransport": []any{"false"}}}) {
					t.Errorf("TLS-only statement: %v", tls)
				}
				old := st["DenyOutdatedTLS"]
				if old["Effect"] != "Deny" || !reflect.DeepEqual(old["Condition"], map[string]any{"NumericLessThan": map[string]any{"s3:TlsVersion": []any{"1.2"}}}) {
					t.Errorf("outdated TLS statement: %v", old)
				}
				if len(st) != 2 {
					t.Errorf("bucket policy grants or denies more than TLS: %v", st)
				}
			}},
			{tLifecycle, func(t *testing.T, c *harness.Resource) {
				if !r.DependsOn(c, r.Named(tVersioning, "state")) {
					t.Errorf("lifecycle is not ordered after versioning")
				}
				rules := map[string]any{}
				for _, rule := range c.Input("rules").([]any) {
					m := rule.(map[string]any)
					if m["status"] != "Enabled" {
						t.Errorf("rule %v is not enabled", m["id"])
					}
					rules[m["id"].(string)] = m
				}
				if got := harnessLookup(rules, "expire-noncurrent-state-versions", "noncurrentVersionExpiration", "noncurrentDays"); got != 90.0 {
					t.Errorf("noncurrent state versions expire after %v days, want 90", got)
				}
				if got := harnessLookup(rules, "abort-incomplete-multipart-uploads", "abortIncompleteMultipartUpload", "daysAfterInitiation"); got != 7.0 {
					t.Errorf("incomplete uploads abort after %v days, want 7", got)
				}
			}},
		}
		for _, tt := range tests {
			t.Run(tt.typ[strings.LastIndex(tt.typ, ":")+1:], func(t *testing.T) {
				c := r.Named(tt.typ, "state")
				if c == nil {
					t.Fatalf("the state bucket has no %s", tt.typ)
				}
				if !r.DependsOn(c, bucket) {
					t.Errorf("%s does not configure the state bucket", c.Name)
				}
				if !r.Preview && c.InputString("bucket") != "cinegit-pulumi-state-"+harness.AccountID {
					t.Errorf("%s configures bucket %q", c.Name, c.InputString("bucket"))
				}
				tt.check(t, c)
			})
		}
	})
}

func harnessLookup(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func TestStatefulResourcesAreProtectedAndRetained(t *testing.T) {
	kept := map[string]bool{
		tBucket: true, tVersioning: true, tSSE: true, tPAB: true, tOwnership: true, tPolicy: true, tLifecycle: true,
		tKey: true, tAlias: true,
	}
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		counted := 0
		for _, res := range r.Resources {
			// The state bucket and the state and secrets keys; the runner's sources, cache and
			// logs key are disposable (losing them loses old build logs, nothing else).
			// The guardrails keep their audit trail (bucket and keys) the same way.
			// The delegation set and the DNSSEC key outlive the stack's zone (dns.go).
			want := kept[res.Type] && (res.Name == "state" || res.Name == "secrets" || inGuardrails(r, res)) ||
				res.Type == tDelegationSet || res.Name == "dnssec"
			if res.Protect != want || res.RetainOnDelete != want {
				t.Errorf("%s %s: protect=%v retainOnDelete=%v, want %v", res.Type, res.Name, res.Protect, res.RetainOnDelete, want)
			}
			if want && !inGuardrails(r, res) && res.Type != tDelegationSet && res.Name != "dnssec" {
				counted++
			}
		}
		// The bucket, its six configuration resources, two keys and two aliases.
		if counted != 11 {
			t.Errorf("%d protected resources, want 11", counted)
		}
	})
}

func TestKMSKeys(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		tests := []struct{ name, alias string }{
			{"state", "alias/cinegit-pulumi-state"},
			{"secrets", "alias/cinegit-pulumi-secrets"},
			{"runner", "alias/cinegit-deploy-runner"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := r.Named(tKey, tt.name)
				if key == nil {
					t.Fatalf("no %s key", tt.name)
				}
				if key.Input("enableKeyRotation") != true || key.Input("rotationPeriodInDays") != 365.0 {
					t.Errorf("rotation: enabled=%v period=%v", key.Input("enableKeyRotation"), key.Input("rotationPeriodInDays"))
				}
				if key.Input("deletionWindowInDays") != 30.0 {
					t.Errorf("deletion window %v, want 30", key.Input("deletionWindowInDays"))
				}
				alias := r.Named(tAlias, tt.name)
				if alias == nil || alias.InputString("name") != tt.alias || !r.DependsOn(alias, key) {
					t.Errorf("alias %s must point at the %s key", tt.alias, tt.name)
				}
				if r.Preview {
					return
				}
				root := statements(doc(t, key, "policy"))["AccountAdministersKeyThroughIAM"]
				if !reflect.DeepEqual(root["Principal"], map[string]any{"AWS": []any{"arn:aws:iam::" + harness.AccountID + ":root"}}) {
					t.Errorf("key policy does not keep the account in control: %v", root)
				}
			})
		}
	})
}

// validRaw is a complete raw configuration of the dev account: what ParseConfig needs
// beyond Pulumi.yaml's defaults.
func validRaw() map[string]string {
	return map[string]string{
		"aws:region": "us-east-1", Project + ":environment": "dev", Project + ":accountId": harness.AccountID,
		Project + ":githubOwnerId": "100000001", Project + ":githubRepositoryId": "200000002",
	}
}

// trust returns a role's subject condition after checking the trust's shape: one statement,
// the GitHub OIDC provider as the only principal, AssumeRoleWithWebIdentity as the only
// action, StringEquals on the audience, and the subject under the operator it returns.
func trust(t *testing.T, r *harness.Result, role string) (op string, subjects []string) {
	t.Helper()
	res := r.Named(tRole, role)
	if res == nil {
		t.Fatalf("no %s role", role)
	}
	d := doc(t, res, "assumeRolePolicy")
	sts := d["Statement"].([]any)
	if len(sts) != 1 {
		t.Fatalf("%s trust has %d statements, want 1", role, len(sts))
	}
	st := sts[0].(map[string]any)
	provider := existingOIDC
	if p := r.ByType(tOIDC); len(p) > 0 {
		provider = one(t, r, tOIDC).Outputs["arn"].StringValue()
	}
	if st["Effect"] != "Allow" || !reflect.DeepEqual(st["Action"], []any{"sts:AssumeRoleWithWebIdentity"}) ||
		!reflect.DeepEqual(st["Principal"], map[string]any{"Federated": []any{provider}}) {
		t.Fatalf("%s trust statement: %v", role, st)
	}
	cond := st["Condition"].(map[string]any)
	eq, _ := cond["StringEquals"].(map[string]any)
	if got := strs(eq["token.actions.githubusercontent.com:aud"]); !reflect.DeepEqual(got, []string{"sts.amazonaws.com"}) {
		t.Errorf("%s aud = %v", role, got)
	}
	for o, c := range cond {
		m := c.(map[string]any)
		if sub, ok := m["token.actions.githubusercontent.com:sub"]; ok {
			if op != "" {
				t.Errorf("%s: subject under two operators", role)
			}
			op, subjects = o, strs(sub)
		}
		for k := range m {
			if k != "token.actions.githubusercontent.com:sub" && k != "token.actions.githubusercontent.com:aud" {
				t.Errorf("%s trust conditions on %s", role, k)
			}
		}
	}
	if len(cond) > 2 || op == "" {
		t.Fatalf("%s trust conditions %v", role, cond)
	}
	return op, subjects
}

func TestTrustPoliciesAreExact(t *testing.T) {
	const p = "repo:cinegit@100000001/infrastructure@200000002"
	tests := []struct {
		name, stack     string
		override        map[string]string
		pr              []string // nil: no pull-request launcher
		preview, deploy []string
	}{
		{
			name: "dev", stack: "dev",
			pr:      []string{p + ":pull_request:ref:refs/pull/*/merge"},
			preview: []string{p + ":ref:refs/heads/main:ref:refs/heads/main"},
			deploy:  []string{p + ":environment:dev:ref:refs/heads/main"},
		},
		{
			name: "staging", stack: "staging",
			pr:      []string{p + ":environment:staging-preview:ref:refs/pull/*/merge"},
			preview: []string{p + ":ref:refs/heads/main:ref:refs/heads/main"},
			deploy:  []string{p + ":environment:staging:ref:refs/heads/main"},
		},
		{
			name: "prod", stack: "prod",
			pr:      []string{p + ":environment:prod-preview:ref:refs/pull/*/merge"},
			preview: []string{p + ":ref:refs/heads/main:ref:refs/heads/main"},
			deploy:  []string{p + ":environment:prod:ref:refs/heads/main"},
		},
		{
			name: "no pull-request previews", stack: "prod",
			override: map[string]string{Project + ":pullRequestPreviews": PreviewsOff},
			preview:  []string{p + ":ref:refs/heads/main:ref:refs/heads/main"},
			deploy:   []string{p + ":environment:prod:ref:refs/heads/main"},
		},
		{
			name: "another repository and branch, legacy subjects", stack: "dev",
			override: map[string]string{
				Project + ":githubRepository": "cinegit-labs/infra", Project + ":defaultBranch": "trunk",
				Project + ":githubOwnerId": "", Project + ":githubRepositoryId": "", Project + ":githubLegacySubjects": "true",
			},
			pr:      []string{"repo:cinegit-labs/infra:pull_request:ref:refs/pull/*/merge"},
			preview: []string{"repo:cinegit-labs/infra:ref:refs/heads/trunk:ref:refs/heads/trunk"},
			deploy:  []string{"repo:cinegit-labs/infra:environment:dev:ref:refs/heads/trunk"},
		},
		{
			name: "existing OIDC provider", stack: "dev",
			override: map[string]string{Project + ":githubOidcProviderArn": existingOIDC},
			pr:       []string{p + ":pull_request:ref:refs/pull/*/merge"},
			preview:  []string{p + ":ref:refs/heads/main:ref:refs/heads/main"},
			deploy:   []string{p + ":environment:dev:ref:refs/heads/main"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runStack(t, tt.stack, false, tt.override)
			for role, want := range map[string][]string{"pr": tt.pr, "preview": tt.preview, "deploy": tt.deploy} {
				if want == nil {
					if r.Named(tRole, role) != nil {
						t.Errorf("a %s launcher, which this account must not have", role)
					}
					continue
				}
				op, got := trust(t, r, role)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s sub = %v, want %v", role, got, want)
				}
				// Exact subjects, except the pull request's number.
				wantOp := "StringEquals"
				if role == KindPullRequest {
					wantOp = "StringLike"
				}
				if op != wantOp {
					t.Errorf("%s subject under %s, want %s", role, op, wantOp)
				}
				for _, sub := range got {
					if n := strings.Count(sub, "*") + strings.Count(sub, "?"); (role == KindPullRequest && (n != 1 || !strings.HasSuffix(sub, ":ref:"+pullRequestRef))) ||
						(role != KindPullRequest && n != 0) {
						t.Errorf("%s sub %q has a wildcard outside the pull request's number", role, sub)
					}
				}
			}
		})
	}
}

// existingOIDC is an OIDC provider the account already has.
const existingOIDC = "arn:aws:iam::" + harness.AccountID + ":oidc-provider/token.actions.githubusercontent.com"

func TestGitHubOIDCProvider(t *testing.T) {
	t.Run("an existing provider is trusted, not created", func(t *testing.T) {
		r := run(t, false, map[string]string{"cinegit-bootstrap:githubOidcProviderArn": existingOIDC})
		if n := len(r.ByType(tOIDC)); n != 0 {
			t.Errorf("%d OIDC providers created", n)
		}
		if e := r.Exports["githubOidcProviderArn"]; e.Value != existingOIDC {
			t.Errorf("exported provider %v", e.Value)
		}
	})
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		p := one(t, r, tOIDC)
		if p.InputString("url") != "https://token.actions.githubusercontent.com" {
			t.Errorf("issuer %q", p.InputString("url"))
		}
		if got := p.Input("clientIdLists"); !reflect.DeepEqual(got, []any{"sts.amazonaws.com"}) {
			t.Errorf("audiences %v", got)
		}
	})
}

// policiesByRole collects every role's managed policy and inline statements (by Sid).
func policiesByRole(t *testing.T, r *harness.Result) (map[string]string, map[string]map[string]map[string]any) {
	t.Helper()
	attached := map[string]string{}
	for _, a := range r.ByType(tAttachment) {
		attached[a.InputString("role")] = a.InputString("policyArn")
	}
	inline := map[string]map[string]map[string]any{}
	for _, p := range r.ByType(tRolePolicy) {
		role := p.InputString("role")
		if inline[role] == nil {
			inline[role] = map[string]map[string]any{}
		}
		for sid, st := range statements(doc(t, p, "policy")) {
			if inline[role][sid] != nil {
				t.Errorf("%s: statement %s twice", role, sid)
			}
			inline[role][sid] = st
		}
	}
	return attached, inline
}

func TestCIRolePermissions(t *testing.T) {
	r := run(t, false, nil)
	attached, inline := policiesByRole(t, r)
	acct := harness.AccountID
	bucket := "arn:aws:s3:::cinegit-pulumi-state-" + acct
	sources := "arn:aws:s3:::cinegit-runner-sources-" + acct
	secretsKey := r.Named(tKey, "secrets").Outputs["arn"].StringValue()
	stateKey := r.Named(tKey, "state").Outputs["arn"].StringValue()
	runnerKey := r.Named(tKey, "runner").Outputs["arn"].StringValue()
	project := func(name string) string { return "arn:aws:codebuild:us-east-1:" + acct + ":project/" + name }
	logs := func(name string) string {
		return "arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/codebuild/" + name
	}
	role := func(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

	type stmt struct {
		effect             string
		actions, resources []string
	}
	launcher := func(kind, projectName string) map[string]stmt {
		out := map[string]stmt{
			"UploadSource":             {"Allow", []string{"s3:PutObject"}, []string{sources + "/" + kind + "/source.zip"}},
			"EncryptSourcesThroughS3":  {"Allow", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{runnerKey}},
			"RunBuilds":                {"Allow", []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"}, []string{project(projectName)}},
			"ReadBuildLogs":            {"Allow", []string{"logs:GetLogEvents"}, []string{logs(projectName) + ":log-stream:*"}},
			"OnlyItsCommands":          {"Deny", []string{"codebuild:StartBuild"}, []string{project(projectName)}},
			"OnlyTheCommandAndMessage": {"Deny", []string{"codebuild:StartBuild"}, []string{project(projectName)}},
		}
		for _, k := range launcherOverrideKeys {
			out["NoOverride"+overrideSid(k)] = stmt{"Deny", []string{"codebuild:StartBuild"}, []string{project(projectName)}}
		}
		return out
	}
	runnerBase := func(kind, projectName string) map[string]stmt {
		return map[string]stmt{
			"WriteBuildLogs":                  {"Allow", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{logs(projectName), logs(projectName) + ":log-stream:*"}},
			"ReadSources":                     {"Allow", []string{"s3:GetObject", "s3:GetObjectVersion"}, []string{sources + "/" + kind + "/source.zip"}},
			"UseCache":                        {"Allow", []string{"s3:GetObject", "s3:PutObject"}, []string{sources + "/cache/" + kind + "/*"}},
			"LocateBucket":                    {"Allow", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, []string{sources}},
			"UseRunnerKey":                    {"Allow", []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}, []string{runnerKey}},
			"DescribeNetwork":                 {"Allow", nil, []string{"*"}},
			"AttachInterfacesInRunnerSubnets": {"Allow", []string{"ec2:CreateNetworkInterfacePermission"}, []string{"arn:aws:ec2:us-east-1:" + acct + ":network-interface/*"}},
		}
	}
	readOnly := func(kind, projectName string) map[string]stmt {
		out := runnerBase(kind, projectName)
		for sid, st := range map[string]stmt{
			"ListStateBucket":       {"Allow", []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"}, []string{bucket}},
			"ReadState":             {"Allow", []string{"s3:GetObject"}, []string{bucket + "/*"}},
			"WriteStackLocks":       {"Allow", []string{"s3:PutObject", "s3:DeleteObject"}, []string{bucket + "/.pulumi/locks/*"}},
			"StateKeyThroughS3Only": {"Allow", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []string{stateKey}},
			"StackSecrets":          {"Allow", []string{"kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"}, []string{secretsKey}},
		} {
			out[sid] = st
		}
		return out
	}
	deployRunner := runnerBase("deploy", "cinegit-pulumi-deploy")
	for sid, st := range map[string]stmt{
		"KeepStateBucketSettings": {"Deny", nil, []string{bucket, sources}},
		"KeepStateHistory":        {"Deny", nil, []string{bucket + "/*"}},
		"KeepKeys":                {"Deny", nil, nil},
		"KeepCIRoles": {"Deny", nil, []string{
			role("cinegit-runner-pr"), role("cinegit-runner-preview"), role("cinegit-runner-deploy"),
			role("cinegit-github-pr"), role("cinegit-github-preview"), role("cinegit-github-deploy"),
		}},
		"KeepRunnerProjects":     {"Deny", nil, []string{project("cinegit-pulumi-pr"), project("cinegit-pulumi-preview"), project("cinegit-pulumi-deploy")}},
		"NoIAMUsersOrKeys":       {"Deny", nil, []string{"*"}},
		"KeepGitHubOIDCProvider": {"Deny", nil, nil},
		// The guardrails' own guard (guardrails_test.go checks its actions and resources).
		"KeepTheAuditTrail":     {"Deny", nil, nil},
		"KeepTheTrailKey":       {"Deny", nil, nil},
		"KeepTheTrailKeyAlias":  {"Deny", nil, nil},
		"KeepTheTrailBucket":    {"Deny", nil, nil},
		"KeepTheTrailLogs":      {"Deny", nil, nil},
		"KeepThreatDetection":   {"Deny", nil, nil},
		"KeepTheAccessAnalyzer": {"Deny", nil, nil},
	} {
		deployRunner[sid] = st
	}

	tests := []struct {
		role       string
		managed    string
		maxSession float64
		want       map[string]stmt
	}{
		// The GitHub roles only launch: no managed policy, nothing beyond their own project.
		{"cinegit-github-pr", "", 7200, launcher("pr", "cinegit-pulumi-pr")},
		{"cinegit-github-preview", "", 7200, launcher("preview", "cinegit-pulumi-preview")},
		{"cinegit-github-deploy", "", 14400, launcher("deploy", "cinegit-pulumi-deploy")},
		{"cinegit-runner-pr", "ReadOnlyAccess", 3600, readOnly("pr", "cinegit-pulumi-pr")},
		{"cinegit-runner-preview", "ReadOnlyAccess", 3600, readOnly("preview", "cinegit-pulumi-preview")},
		{"cinegit-runner-deploy", "AdministratorAccess", 3600, deployRunner},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			wantManaged := ""
			if tt.managed != "" {
				wantManaged = "arn:aws:iam::aws:policy/" + tt.managed
			}
			if got := attached[tt.role]; got != wantManaged {
				t.Errorf("managed policy %q, want %q", got, wantManaged)
			}
			var res *harness.Resource
			for _, rr := range r.ByType(tRole) {
				if rr.InputString("name") == tt.role {
					res = rr
				}
			}
			if res == nil {
				t.Fatalf("no role %s", tt.role)
			}
			if res.Input("maxSessionDuration") != tt.maxSession {
				t.Errorf("max session %v, want %v", res.Input("maxSessionDuration"), tt.maxSession)
			}
			got := inline[tt.role]
			if len(got) != len(tt.want) {
				var sids []string
				for sid := range got {
					sids = append(sids, sid)
				}
				sort.Strings(sids)
				t.Errorf("statements %v, want %d of them", sids, len(tt.want))
			}
			for sid, w := range tt.want {
				st := got[sid]
				if st == nil {
					t.Errorf("no statement %s", sid)
					continue
				}
				if st["Effect"] != w.effect {
					t.Errorf("%s effect %v, want %s", sid, st["Effect"], w.effect)
				}
				if w.actions != nil && !reflect.DeepEqual(strs(st["Action"]), w.actions) {
					t.Errorf("%s actions %v, want %v", sid, st["Action"], w.actions)
				}
				if w.resources != nil && !reflect.DeepEqual(strs(st["Resource"]), w.resources) {
					t.Errorf("%s resources %v, want %v", sid, st["Resource"], w.resources)
				}
			}
			// No role may pass roles: a launcher that could would start a build as another role
			// (StartBuild's serviceRoleOverride needs iam:PassRole).
			if tt.managed == "" {
				for sid, st := range got {
					if st["Effect"] == "Deny" {
						continue
					}
					for _, a := range strs(st["Action"]) {
						if strings.HasPrefix(a, "iam:") || strings.Contains(a, "*") {
							t.Errorf("launcher statement %s allows %s", sid, a)
						}
					}
				}
			}
		})
	}

	// The read-only runners write nothing but locks and their own cache.
	for _, name := range []string{"cinegit-runner-pr", "cinegit-runner-preview"} {
		for sid, st := range inline[name] {
			for _, a := range strs(st["Action"]) {
				if (strings.HasPrefix(a, "s3:Put") || strings.HasPrefix(a, "s3:Delete")) && sid != "WriteStackLocks" && sid != "UseCache" {
					t.Errorf("%s statement %s allows %s", name, sid, a)
				}
			}
		}
	}
	if cond := inline["cinegit-runner-preview"]["StateKeyThroughS3Only"]["Condition"]; !reflect.DeepEqual(cond,
		map[string]any{"StringEquals": map[string]any{"kms:ViaService": []any{"s3.us-east-1.amazonaws.com"}}}) {
		t.Errorf("state key use is not limited to S3: %v", cond)
	}
	// Network interfaces only in the runner subnets, only for CodeBuild.
	for _, name := range []string{"cinegit-runner-pr", "cinegit-runner-preview", "cinegit-runner-deploy"} {
		cond := inline[name]["AttachInterfacesInRunnerSubnets"]["Condition"].(map[string]any)
		subnets := strs(cond["ArnEquals"].(map[string]any)["ec2:Subnet"])
		if len(subnets) != 2 || !strings.HasPrefix(subnets[0], "arn:aws:ec2:us-east-1:"+acct+":subnet/") {
			t.Errorf("%s may attach interfaces in %v", name, subnets)
		}
		if !reflect.DeepEqual(cond["StringEquals"], map[string]any{"ec2:AuthorizedService": []any{"codebuild.amazonaws.com"}}) {
			t.Errorf("%s interface permission condition %v", name, cond)
		}
	}
}

// TestRunnerRolesTrustOnlyTheirProject: CodeBuild assumes a runner role only for builds of its
// own project in this account (CodeBuild user guide, "Cross-service confused deputy
// prevention": aws:SourceArn and aws:SourceAccount).
func TestRunnerRolesTrustOnlyTheirProject(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		for kind, project := range map[string]string{"pr": "cinegit-pulumi-pr", "preview": "cinegit-pulumi-preview", "deploy": "cinegit-pulumi-deploy"} {
			role := r.Named(tRole, "runner-"+kind)
			if r.Preview {
				continue
			}
			sts := doc(t, role, "assumeRolePolicy")["Statement"].([]any)
			if len(sts) != 1 {
				t.Fatalf("%s: %d trust statements", kind, len(sts))
			}
			st := sts[0].(map[string]any)
			want := map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": []any{harness.AccountID}},
				"ArnEquals":    map[string]any{"aws:SourceArn": []any{"arn:aws:codebuild:us-east-1:" + harness.AccountID + ":project/" + project}},
			}
			if !reflect.DeepEqual(st["Principal"], map[string]any{"Service": []any{"codebuild.amazonaws.com"}}) ||
				!reflect.DeepEqual(st["Condition"], want) || !reflect.DeepEqual(st["Action"], []any{"sts:AssumeRole"}) {
				t.Errorf("%s runner trust: %v", kind, st)
			}
		}
	})
}

func TestEverythingIsTagged(t *testing.T) {
	// An account's bootstrap belongs to its stack: its costs count in that stack's budget.
	want := map[string]string{"project": "cinegit", "environment": "dev", "managed-by": "pulumi"}
	taggable := map[string]bool{tBucket: true, tKey: true, tOIDC: true, tRole: true, tProject: true, tVpc: true, tSubnet: true,
		tRouteTable: true, tNat: true, tEip: true, tSG: true, tFlowLog: true, tLogGroup: true, tEndpoint: true}
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		p := one(t, r, tProvider)
		for k, v := range want {
			if got := p.InputString("defaultTags.tags." + k); got != v {
				t.Errorf("provider default tag %s=%q, want %q", k, got, v)
			}
		}
		for _, res := range r.Resources {
			if res.Custom && res.Type != tProvider && res.Provider == "" {
				t.Errorf("%s %s does not use the tagging provider", res.Type, res.Name)
			}
			if !taggable[res.Type] {
				continue
			}
			for k, v := range want {
				if got := res.InputString("tags." + k); got != v {
					t.Errorf("%s %s: tag %s=%q, want %q", res.Type, res.Name, k, got, v)
				}
			}
		}
	})
}

func TestExports(t *testing.T) {
	r := run(t, false, nil)
	acct := harness.AccountID
	want := map[string]string{
		"environment":        "dev",
		"accountId":          acct,
		"stateBucketName":    "cinegit-pulumi-state-" + acct,
		"backendUrl":         "s3://cinegit-pulumi-state-" + acct + "?region=us-east-1",
		"secretsProvider":    "awskms://alias/cinegit-pulumi-secrets?region=us-east-1",
		"pullRequestRoleArn": "arn:aws:iam::" + acct + ":role/cinegit-github-pr",
		"previewRoleArn":     "arn:aws:iam::" + acct + ":role/cinegit-github-preview",
		"deployRoleArn":      "arn:aws:iam::" + acct + ":role/cinegit-github-deploy",
		// What the stacks and the workflows name.
		"runnerVpcName":             "cinegit-deploy-runner",
		"runnerCidr":                "10.255.0.0/22",
		"runnerSourceBucket":        "cinegit-runner-sources-" + acct,
		"pullRequestProjectName":    "cinegit-pulumi-pr",
		"previewProjectName":        "cinegit-pulumi-preview",
		"deployProjectName":         "cinegit-pulumi-deploy",
		"pullRequestRunnerRoleName": "cinegit-runner-pr",
		"previewRunnerRoleName":     "cinegit-runner-preview",
		"deployRunnerRoleName":      "cinegit-runner-deploy",
	}
	for k, v := range want {
		if e := r.Exports[k]; !e.Known || e.Value != v {
			t.Errorf("export %s = %v (known %v), want %q", k, e.Value, e.Known, v)
		}
	}
	for _, k := range []string{"runnerVpcId", "runnerSecurityGroupId", "runnerRouteTableIds"} {
		if e := r.Exports[k]; !e.Known || fmt.Sprint(e.Value) == "" {
			t.Errorf("export %s = %v", k, e.Value)
		}
	}
	for _, k := range []string{"stateKeyArn", "secretsKeyArn", "githubOidcProviderArn"} {
		if e := r.Exports[k]; !e.Known || !strings.HasPrefix(fmt.Sprint(e.Value), "arn:aws:") {
			t.Errorf("export %s = %v", k, e.Value)
		}
	}
}

func TestPreviewRegistersTheSameResources(t *testing.T) {
	names := func(r *harness.Result) []string {
		var out []string
		for _, res := range outsideGuardrails(r, r.Resources) {
			out = append(out, res.Type+" "+res.Name)
		}
		sort.Strings(out)
		return out
	}
	up, pre := names(run(t, false, nil)), names(run(t, true, nil))
	if !reflect.DeepEqual(up, pre) {
		t.Fatalf("preview and update differ:\n%v\n%v", up, pre)
	}
	// The state bucket and 6 companions, 3 keys and 3 aliases, provider, OIDC provider, 3
	// launcher roles with their inline policies; the runner network (VPC, default SG, IGW, 3
	// subnets, 2 route tables, 2 routes, 3 associations, EIP, NAT, S3 endpoint, runner SG, flow
	// log group, role, policy and flow log: 21); the source bucket, its 5 companions and policy
	// (7); 3 runners (log group, role, attachment, policy, project: 15); the guard; dev's 2
	// quota increase requests; the delegation set; the Spot service-linked role.
	if want := 7 + 6 + 1 + 1 + 6 + 21 + 7 + 15 + 1 + 2 + 1 + 1; len(up) != want {
		t.Errorf("%d resources, want %d:\n%s", len(up), want, strings.Join(up, "\n"))
	}
}

func TestInvalidConfigurationFailsBeforeAnyResource(t *testing.T) {
	tests := []struct {
		name     string
		override map[string]string
		wantKey  string
	}{
		{"wildcard repository", map[string]string{Project + ":githubRepository": "cinegit/*"}, "githubRepository"},
		{"wildcard owner", map[string]string{Project + ":githubRepository": "*/infrastructure"}, "githubRepository"},
		{"no repository name", map[string]string{Project + ":githubRepository": "cinegit"}, "githubRepository"},
		{"no environment", map[string]string{Project + ":environment": ""}, "environment"},
		{"wildcard environment", map[string]string{Project + ":environment": "prod*"}, "environment"},
		{"no account", map[string]string{Project + ":accountId": ""}, "accountId"},
		{"short account", map[string]string{Project + ":accountId": "12345"}, "accountId"},
		{"unknown preview mode", map[string]string{Project + ":pullRequestPreviews": "always"}, "pullRequestPreviews"},
		{"destroy not a flag", map[string]string{Project + ":allowDestroy": "sometimes"}, "allowDestroy"},
		{"names only, by default", map[string]string{Project + ":githubOwnerId": "", Project + ":githubRepositoryId": ""}, "githubOwnerId"},
		{"legacy subjects and IDs", map[string]string{Project + ":githubLegacySubjects": "true"}, "githubLegacySubjects"},
		{"bad bucket name", map[string]string{Project + ":stateBucket": "Cinegit_State"}, "stateBucket"},
		{"one key for both", map[string]string{Project + ":stateKeyAlias": "cinegit-pulumi-secrets"}, "secretsKeyAlias"},
		{"AWS-reserved alias", map[string]string{Project + ":secretsKeyAlias": "aws/s3"}, "secretsKeyAlias"},
		{"owner ID without repository ID", map[string]string{Project + ":githubRepositoryId": ""}, "githubOwnerId"},
		{"non-numeric ID", map[string]string{Project + ":githubOwnerId": "x"}, "githubOwnerId"},
		{"session too long", map[string]string{Project + ":deploySessionHours": "13"}, "deploySessionHours"},
		{"no version retention", map[string]string{Project + ":noncurrentVersionDays": "0"}, "noncurrentVersionDays"},
		{"misspelt key", map[string]string{Project + ":stateBuckt": "x"}, "stateBuckt"},
		{"bad region", map[string]string{"aws:region": "mars-1"}, "aws:region"},
		{"public runner CIDR", map[string]string{Project + ":runnerCidr": "100.64.0.0/22"}, "runnerCidr"},
		{"runner CIDR too small", map[string]string{Project + ":runnerCidr": "10.255.0.0/26"}, "runnerCidr"},
		{"runner CIDR with host bits", map[string]string{Project + ":runnerCidr": "10.255.1.0/22"}, "runnerCidr"},
		{"source bucket is the state bucket", map[string]string{Project + ":runnerSourceBucket": "cinegit-pulumi-state-" + harness.AccountID}, "runnerSourceBucket"},
		{"runner key is the secrets key", map[string]string{Project + ":runnerKeyAlias": "cinegit-pulumi-secrets"}, "runnerKeyAlias"},
		{"deploy session shorter than a deploy build", map[string]string{Project + ":deploySessionHours": "2"}, "deploySessionHours"},
		{"recovery region is the primary", map[string]string{Project + ":recoveryRegion": "us-east-1"}, "recoveryRegion"},
		{"recovery region not a region", map[string]string{Project + ":recoveryRegion": "west"}, "recoveryRegion"},
		{"recovery bucket name too long", map[string]string{Project + ":recoveryRegion": "us-west-2", Project + ":stateBucket": strings.Repeat("a", 60)}, "recoveryRegion"},
		{"not a GitHub OIDC provider", map[string]string{Project + ":githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/example.com"}, "githubOidcProviderArn"},
	}
	if _, err := ParseConfig(validRaw()); err != nil {
		t.Fatalf("the valid base is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := validRaw()
			for k, v := range tt.override {
				raw[k] = v
			}
			_, err := ParseConfig(raw)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error does not name %s: %v", tt.wantKey, err)
			}
		})
	}
	// Through the program, a rejected configuration registers nothing at all.
	if r, err := tryRun("dev", false, map[string]string{Project + ":githubRepository": "cinegit/*"}); err == nil {
		t.Errorf("the program accepted a wildcard repository and registered %d resources", len(r.Resources))
	}
}

// TestCredentialsOfAnotherAccountChangeNothing: the program refuses credentials for another
// account before it registers anything but the provider, in a preview too; the provider itself
// carries allowedAccountIds, which `pulumi up` enforces before any change.
func TestCredentialsOfAnotherAccountChangeNothing(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r, err := tryRun("prod", preview, map[string]string{Project + ":accountId": "333333333333"})
		if err == nil || !strings.Contains(err.Error(), "333333333333") || !strings.Contains(err.Error(), harness.AccountID) {
			t.Fatalf("preview=%v: credentials for %s ran prod's bootstrap for 333333333333: %v", preview, harness.AccountID, err)
		}
		_ = r
	}
	p := one(t, run(t, false, nil), tProvider)
	if got := p.Input("allowedAccountIds"); !reflect.DeepEqual(got, []any{harness.AccountID}) {
		t.Errorf("provider allowedAccountIds %v", got)
	}
}

// TestConfigKeysMatchSchema keeps Pulumi.yaml's schema (the manual) and the code's defaults
// in step.
func TestConfigKeysMatchSchema(t *testing.T) {
	project, err := harness.LoadProject(".")
	if err != nil {
		t.Fatal(err)
	}
	if project.Name != Project {
		t.Fatalf("Pulumi.yaml name %q, want %q", project.Name, Project)
	}
	for k, spec := range project.Config {
		def, ok := keys[k]
		if !ok {
			t.Errorf("Pulumi.yaml declares %s, which the program does not read", k)
			continue
		}
		if spec.Description == "" || spec.Type == "" {
			t.Errorf("%s lacks a type or description", k)
		}
		got := fmt.Sprint(spec.Default)
		if spec.Type == "array" || spec.Type == "object" {
			b, _ := json.Marshal(spec.Default)
			got = string(b)
		}
		if got != def {
			t.Errorf("%s: Pulumi.yaml default %s, code default %s", k, got, def)
		}
	}
	for k := range keys {
		if _, ok := project.Config[k]; !ok {
			t.Errorf("the program reads %s, which Pulumi.yaml does not declare", k)
		}
	}
}

// TestDeliveryAgreesWithBootstrap checks that what each account's bootstrap creates is what
// the rest of the repository uses: each stack's account, backend and secrets provider, the
// names the launcher action derives, and the stacks' cluster roles and runner network.
func TestDeliveryAgreesWithBootstrap(t *testing.T) {
	var main struct {
		Backend *struct {
			URL string `yaml:"url"`
		} `yaml:"backend"`
	}
	readYAML(t, "../Pulumi.yaml", &main)
	if main.Backend != nil {
		t.Errorf("the main project names one backend, %q, for stacks whose state is each in its own account", main.Backend.URL)
	}
	// The runners' buildspec takes the stack and the backend from the project, never its own.
	var spec struct {
		Env struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"env"`
	}
	readYAML(t, filepath.Join("..", BuildspecPath), &spec)
	for _, k := range []string{"PULUMI_BACKEND_URL", "PULUMI_STACK", "CINEGIT_RUNNER"} {
		if v, ok := spec.Env.Variables[k]; ok {
			t.Errorf("%s sets %s=%q, which the project fixes", BuildspecPath, k, v)
		}
	}
	if RunnerRouteTableTier != stackconfig.DeployRunnerRouteTableTier {
		t.Errorf("the runner route table is tagged tier=%s, the stacks look for tier=%s", RunnerRouteTableTier, stackconfig.DeployRunnerRouteTableTier)
	}

	accounts := map[string]string{}
	for _, stack := range []string{"dev", "staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			_, braw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(braw)
			if err != nil {
				t.Fatalf("bootstrap stack %s: %v", stack, err)
			}
			if cfg.Environment != stack {
				t.Errorf("bootstrap stack %s hosts environment %q", stack, cfg.Environment)
			}
			_, raw, err := harness.LoadConfig(harness.Options{Dir: "..", Stack: stack})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := stackconfig.Parse(stack, raw)
			if err != nil {
				t.Fatalf("stack %s: %v", stack, err)
			}
			// One account per stack, the same on both sides, never shared.
			if sc.AccountID != cfg.AccountID {
				t.Errorf("stack %s deploys to %s, its bootstrap is for account %s", stack, sc.AccountID, cfg.AccountID)
			}
			if other, ok := accounts[cfg.AccountID]; ok {
				t.Errorf("stacks %s and %s share account %s", other, stack, cfg.AccountID)
			}
			accounts[cfg.AccountID] = stack

			// The launcher action derives the source bucket, the launcher roles and their
			// sessions from the account (.github/actions/run-in-vpc/resolve.sh).
			if cfg.RunnerSourceBucket != "cinegit-runner-sources-"+cfg.AccountID || cfg.DeploySessionHours != 4 {
				t.Errorf("bootstrap %s: source bucket %s, deploy session %dh: resolve.sh assumes the defaults", stack, cfg.RunnerSourceBucket, cfg.DeploySessionHours)
			}
			for _, k := range runnerKinds {
				if k.Launcher != "cinegit-github-"+k.Name || k.Project != "cinegit-pulumi-"+k.Name {
					t.Errorf("runner %s: launcher %s and project %s are not what run-in-vpc derives", k.Name, k.Launcher, k.Project)
				}
			}

			// The stack's secrets provider is its account's key.
			r := runStack(t, stack, false, nil)
			var s struct {
				SecretsProvider string `yaml:"secretsprovider"`
			}
			readYAML(t, "../Pulumi."+stack+".yaml", &s)
			if want := r.Exports["secretsProvider"].Value; s.SecretsProvider != want {
				t.Errorf("stack %s secrets provider %q, its bootstrap creates %q", stack, s.SecretsProvider, want)
			}

			// The stack's EKS access entries name the roles the runners run as, and it peers with
			// the runner VPC the bootstrap made.
			for _, c := range []struct{ key, got, want string }{
				{"deployRoleName", sc.Cluster.DeployRoleName, runnerKindNamed(KindDeploy).ServiceRole},
				{"viewerRoleName", sc.Cluster.ViewerRoleName, runnerKindNamed(KindPreview).ServiceRole},
				{"pullRequestRoleName", sc.Cluster.PullRequestRoleName, runnerKindNamed(KindPullRequest).ServiceRole},
			} {
				if c.got != c.want {
					t.Errorf("stack %s: cluster.%s %q, the runner runs as %q", stack, c.key, c.got, c.want)
				}
			}
			if sc.DeployRunner.CIDR != cfg.RunnerCIDR || sc.DeployRunner.VpcName != RunnerVpcName {
				t.Errorf("stack %s: deployRunner %+v, the bootstrap makes %s named %s", stack, sc.DeployRunner, cfg.RunnerCIDR, RunnerVpcName)
			}
		})
	}
}

// dispatchChoices are the options of a workflow_dispatch "stack" choice input.
func dispatchChoices(t *testing.T, on map[string]any) []string {
	t.Helper()
	d, _ := on["workflow_dispatch"].(map[string]any)
	inputs, _ := d["inputs"].(map[string]any)
	stack, _ := inputs["stack"].(map[string]any)
	opts, _ := stack["options"].([]any)
	if stack["type"] != "choice" || len(opts) == 0 {
		t.Fatalf("the environment is the dispatch input stack, which is not a choice: %v", stack)
	}
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = fmt.Sprint(o)
	}
	return out
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestRunnerNetwork(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		vpc := one(t, r, tVpc)
		if vpc.InputString("cidrBlock") != "10.255.0.0/22" || vpc.InputString("tags.Name") != RunnerVpcName ||
			vpc.Input("enableDnsSupport") != true || vpc.Input("enableDnsHostnames") != true {
			t.Errorf("runner VPC: %v", vpc.Inputs)
		}
		subnets := map[string]string{}
		for _, sn := range r.ByType(tSubnet) {
			subnets[sn.InputString("cidrBlock")] = sn.InputString("availabilityZone") + " " + sn.InputString("tags.tier")
			if sn.Input("mapPublicIpOnLaunch") != false {
				t.Errorf("subnet %s hands out public IPs", sn.Name)
			}
		}
		want := map[string]string{
			"10.255.0.0/24": "us-east-1a public",
			"10.255.1.0/24": "us-east-1a private",
			"10.255.2.0/24": "us-east-1b private",
		}
		if !reflect.DeepEqual(subnets, want) {
			t.Errorf("subnets %v, want %v", subnets, want)
		}
		// One NAT gateway; the private route table has no inline routes (the stacks add theirs
		// as separate routes), its default route goes to the NAT.
		nat := one(t, r, tNat)
		private := r.Named(tRouteTable, "runner-private")
		if private.Input("routes") != nil || private.InputString("tags.tier") != RunnerRouteTableTier {
			t.Errorf("private route table: routes %v tier %q", private.Input("routes"), private.InputString("tags.tier"))
		}
		def := r.Named(tRoute, "runner-private-default")
		if def.InputString("destinationCidrBlock") != "0.0.0.0/0" || !r.DependsOn(def, nat) || !r.DependsOn(def, private) {
			t.Errorf("private default route %v", def.Inputs)
		}
		// HTTPS out only, nothing in.
		sg := r.Named(tSG, "runner-runners")
		if sg.Input("ingress") != nil && len(sg.Input("ingress").([]any)) > 0 {
			t.Errorf("runner security group admits %v", sg.Input("ingress"))
		}
		egress := sg.Input("egress").([]any)
		if len(egress) != 1 || egress[0].(map[string]any)["fromPort"] != 443.0 || egress[0].(map[string]any)["toPort"] != 443.0 {
			t.Errorf("runner egress %v", egress)
		}
		// Flow logs of everything into a KMS-encrypted group.
		fl := one(t, r, tFlowLog)
		if fl.InputString("trafficType") != "ALL" || !r.DependsOn(fl, vpc) {
			t.Errorf("flow log %v", fl.Inputs)
		}
		group := r.Named(tLogGroup, "runner-flow-logs")
		if !r.DependsOn(group, r.Named(tKey, "runner")) || group.Input("retentionInDays") != 90.0 {
			t.Errorf("flow log group %v", group.Inputs)
		}
	})
}

func TestRunnerSubnetsFollowTheCIDR(t *testing.T) {
	tests := []struct {
		cidr    string
		public  string
		private [2]string
	}{
		{"10.255.0.0/22", "10.255.0.0/24", [2]string{"10.255.1.0/24", "10.255.2.0/24"}},
		{"172.31.0.0/16", "172.31.0.0/18", [2]string{"172.31.64.0/18", "172.31.128.0/18"}},
		{"192.168.7.0/24", "192.168.7.0/26", [2]string{"192.168.7.64/26", "192.168.7.128/26"}},
	}
	for _, tt := range tests {
		pub, priv, err := runnerSubnets(tt.cidr)
		if err != nil || pub != tt.public || priv != tt.private {
			t.Errorf("runnerSubnets(%s) = %s %v %v, want %s %v", tt.cidr, pub, priv, err, tt.public, tt.private)
		}
	}
}

func TestRunnerProjects(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		vpc, sg := one(t, r, tVpc), r.Named(tSG, "runner-runners")
		key := r.Named(tKey, "runner")
		tests := []struct {
			kind, project, role string
			timeout             float64
		}{
			{"pr", "cinegit-pulumi-pr", "cinegit-runner-pr", PreviewTimeoutMinutes},
			{"preview", "cinegit-pulumi-preview", "cinegit-runner-preview", PreviewTimeoutMinutes},
			{"deploy", "cinegit-pulumi-deploy", "cinegit-runner-deploy", DeployTimeoutMinutes},
		}
		for _, tt := range tests {
			t.Run(tt.kind, func(t *testing.T) {
				p := r.Named(tProject, "runner-"+tt.kind)
				if p == nil || p.InputString("name") != tt.project {
					t.Fatalf("no project %s", tt.project)
				}
				// Inside the runner VPC's private subnets, with the HTTPS-only group.
				if !r.DependsOn(p, vpc) || !r.DependsOn(p, sg) {
					t.Errorf("not in the runner VPC with its security group")
				}
				for _, sn := range r.ByType(tSubnet) {
					if sn.InputString("tags.tier") == "private" && !r.DependsOn(p, sn) {
						t.Errorf("not in private subnet %s", sn.Name)
					}
				}
				if !r.Preview && len(p.Input("vpcConfig.subnets").([]any)) != 2 {
					t.Errorf("subnets %v", p.Input("vpcConfig.subnets"))
				}
				if p.Input("environment.privilegedMode") != false || p.InputString("environment.image") != RunnerImage ||
					p.InputString("environment.type") != "LINUX_CONTAINER" {
					t.Errorf("environment %v", p.Input("environment"))
				}
				// A first prod deploy (EKS, multi-AZ RDS, ElastiCache, CloudFront, Helm releases)
				// takes one to two hours; the deploy project allows three.
				if p.Input("buildTimeout") != tt.timeout || p.Input("queuedTimeout") != float64(QueuedTimeoutMinutes) {
					t.Errorf("timeouts %v/%v", p.Input("buildTimeout"), p.Input("queuedTimeout"))
				}
				if tt.kind == "deploy" && tt.timeout < 150 {
					t.Errorf("a deploy build of %v minutes is shorter than a first prod deploy", tt.timeout)
				}
				// Encrypted: cache and artifacts under the runner key, logs in a KMS-encrypted group.
				if !r.DependsOn(p, key) {
					t.Errorf("encryption key is not the runner key")
				}
				group := r.Named(tLogGroup, "runner-"+tt.kind)
				if group.InputString("name") != "/aws/codebuild/"+tt.project || !r.DependsOn(group, key) || group.Input("retentionInDays") != float64(RunnerLogRetentionDays) {
					t.Errorf("log group %v", group.Inputs)
				}
				if p.InputString("logsConfig.cloudwatchLogs.status") != "ENABLED" || !r.DependsOn(p, group) {
					t.Errorf("logs %v", p.Input("logsConfig"))
				}
				// Sources from the kind's one key in S3 (the launcher names the version), the
				// committed buildspec, a cache of its own, no artifacts, private.
				if p.InputString("source.type") != "S3" || p.InputString("source.buildspec") != BuildspecPath ||
					p.InputString("cache.type") != "S3" || p.InputString("artifacts.type") != "NO_ARTIFACTS" ||
					p.InputString("projectVisibility") != "PRIVATE" {
					t.Errorf("source %v cache %v artifacts %v", p.Input("source"), p.Input("cache"), p.Input("artifacts"))
				}
				if !r.Preview && p.InputString("cache.location") != "cinegit-runner-sources-"+harness.AccountID+"/cache/"+tt.kind {
					t.Errorf("cache %v", p.InputString("cache.location"))
				}
				if p.InputString("source.location") != "cinegit-runner-sources-"+harness.AccountID+"/"+tt.kind+"/source.zip" {
					t.Errorf("source %v", p.InputString("source.location"))
				}
				// The stack and its backend are the project's: a launcher may not override them.
				vars := map[string]string{}
				for _, v := range p.Input("environment.environmentVariables").([]any) {
					m := v.(map[string]any)
					vars[fmt.Sprint(m["name"])] = fmt.Sprint(m["value"])
					if slices.Contains(LauncherVariables, fmt.Sprint(m["name"])) {
						t.Errorf("the project sets %v, which launchers pass", m["name"])
					}
				}
				if vars["PULUMI_STACK"] != "dev" || vars["CINEGIT_RUNNER"] != tt.kind ||
					(!r.Preview && vars["PULUMI_BACKEND_URL"] != "s3://cinegit-pulumi-state-"+harness.AccountID+"?region=us-east-1") {
					t.Errorf("project variables %v", vars)
				}
				role := r.Named(tRole, "runner-"+tt.kind)
				if !r.DependsOn(p, role) || role.InputString("name") != tt.role || !r.DependsOn(p, r.Named(tRolePolicy, "runner-"+tt.kind)) {
					t.Errorf("project does not run as %s after its policy exists", tt.role)
				}
			})
		}
		if _, err := os.Stat(filepath.Join("..", BuildspecPath)); err != nil {
			t.Errorf("the projects run %s: %v", BuildspecPath, err)
		}
	})
}

func TestRunnerSourceBucket(t *testing.T) {
	r := run(t, false, nil)
	b := r.Named(tBucket, "runner-sources")
	if b == nil || b.InputString("bucket") != "cinegit-runner-sources-"+harness.AccountID {
		t.Fatalf("no runner source bucket")
	}
	// A build names the version of its source object: the bucket keeps versions.
	if v := r.Named(tVersioning, "runner-sources"); v == nil || v.InputString("versioningConfiguration.status") != "Enabled" {
		t.Errorf("the source bucket is not versioned")
	}
	sse := r.Named(tSSE, "runner-sources")
	if sse.Input("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" || !r.DependsOn(sse, r.Named(tKey, "runner")) {
		t.Errorf("sources are not encrypted with the runner key: %v", sse.Inputs)
	}
	pab := r.Named(tPAB, "runner-sources")
	if pab.Input("blockPublicPolicy") != true || pab.Input("restrictPublicBuckets") != true {
		t.Errorf("public access block %v", pab.Inputs)
	}
	if st := statements(doc(t, r.Named(tPolicy, "runner-sources"), "policy")); st["DenyInsecureTransport"] == nil {
		t.Errorf("bucket policy does not require TLS: %v", st)
	}
}

// TestLaunchersOutlastTheirBuilds: a launcher job waits for its build with the launcher's
// credentials, so each launcher's session covers a build that queues and runs to its timeout.
func TestLaunchersOutlastTheirBuilds(t *testing.T) {
	cfg, err := ParseConfig(validRaw())
	if err != nil {
		t.Fatal(err)
	}
	if PreviewSessionHours*60 < QueuedTimeoutMinutes+PreviewTimeoutMinutes {
		t.Errorf("preview launcher session %dh < %d min queued + %d min running", PreviewSessionHours, QueuedTimeoutMinutes, PreviewTimeoutMinutes)
	}
	if cfg.DeploySessionHours*60 < QueuedTimeoutMinutes+DeployTimeoutMinutes {
		t.Errorf("deploy launcher session %dh < %d min queued + %d min running", cfg.DeploySessionHours, QueuedTimeoutMinutes, DeployTimeoutMinutes)
	}
}

// TestSpotServiceLinkedRole: every account gets EC2's Spot service-linked role unless its stack
// file says it has one already (Karpenter's controller may not create it on a first Spot launch).
func TestSpotServiceLinkedRole(t *testing.T) {
	for _, off := range []bool{false, true} {
		var cfg map[string]string
		if off {
			cfg = map[string]string{Project + ":spotServiceLinkedRole": "false"}
		}
		r := run(t, false, cfg)
		roles := r.ByType("aws:iam/serviceLinkedRole:ServiceLinkedRole")
		if off != (len(roles) == 0) || (!off && (len(roles) != 1 || roles[0].InputString("awsServiceName") != SpotServiceName)) {
			t.Errorf("spotServiceLinkedRole off=%v: %d roles", off, len(roles))
		}
	}
}

// TestQuotaIncreasesAreRequested: each quotaIncreases entry is one Service Quotas request in
// the account's region, for the service, code and value the stack file gives.
func TestQuotaIncreasesAreRequested(t *testing.T) {
	want := map[string]map[string]float64{
		"dev":     {"ec2 L-1216C47A": 48, "ec2 L-34B43A08": 32},
		"staging": {"ec2 L-1216C47A": 64, "ec2 L-34B43A08": 32, "ec2 L-DB2E81BA": 8, "lambda L-B99A9384": 1000},
		"prod":    {"ec2 L-1216C47A": 256, "ec2 L-DB2E81BA": 32, "lambda L-B99A9384": 1000},
	}
	for stack, w := range want {
		got := map[string]float64{}
		r := runStack(t, stack, false, nil)
		for _, q := range r.ByType("aws:servicequotas/serviceQuota:ServiceQuota") {
			got[q.InputString("serviceCode")+" "+q.InputString("quotaCode")], _ = q.Input("value").(float64)
			if q.Provider == "" || !strings.Contains(q.Provider, "::aws::") {
				t.Errorf("%s: %s is not requested through the account's provider", stack, q.Name)
			}
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s requests %v, want %v", stack, got, w)
		}
	}
	if _, err := ParseConfig(map[string]string{Project + ":quotaIncreases": `{"ec2/vcpus": 10}`}); err == nil || !strings.Contains(err.Error(), "quotaIncreases") {
		t.Errorf("a quota without a code was accepted: %v", err)
	}
}

// TestDNSOutlivesTheStack: each account keeps a reusable delegation set, and staging's its
// DNSSEC key in us-east-1, both protected and retained, and its stack file names them.
func TestDNSOutlivesTheStack(t *testing.T) {
	for _, tt := range []struct {
		stack string
		key   bool
	}{{"dev", false}, {"staging", true}, {"prod", false}} {
		r := runStack(t, tt.stack, false, nil)
		set := r.Named(tDelegationSet, "dns")
		if set == nil || set.InputString("referenceName") != "cinegit-"+tt.stack || !set.Protect || !set.RetainOnDelete {
			t.Errorf("%s: delegation set %v", tt.stack, set)
		}
		key := r.Named(tKey, "dnssec")
		if (key != nil) != tt.key {
			t.Fatalf("%s: DNSSEC key %v, want %v", tt.stack, key != nil, tt.key)
		}
		if key != nil {
			if key.InputString("customerMasterKeySpec") != "ECC_NIST_P256" || key.InputString("keyUsage") != "SIGN_VERIFY" || !key.Protect || !key.RetainOnDelete {
				t.Errorf("%s: DNSSEC key %v", tt.stack, key.Inputs)
			}
			if st := statements(doc(t, key, "policy")); st["Route53DNSSECSignsThisAccountsZones"] == nil {
				t.Errorf("%s: Route 53 may not sign with the key: %v", tt.stack, st)
			}
		}
		for _, k := range []string{"dnsDelegationSetId", "dnsNameServers", "dnssecKeyArn"} {
			if _, ok := r.Exports[k]; !ok {
				t.Errorf("%s: no export %s", tt.stack, k)
			}
		}
	}
}
