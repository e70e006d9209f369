package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Type tokens of what the bootstrap creates.
const (
	tBucket     = "aws:s3/bucketV2:BucketV2"
	tVersioning = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tSSE        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tPAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tOwnership  = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tPolicy     = "aws:s3/bucketPolicy:BucketPolicy"
	tLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	tKey        = "aws:kms/key:Key"
	tAlias      = "aws:kms/alias:Alias"
	tOIDC       = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
	tRole       = "aws:iam/role:Role"
	tAttachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	tRolePolicy = "aws:iam/rolePolicy:RolePolicy"
	tProvider   = "pulumi:providers:aws"
)

var (
	runsMu sync.Mutex
	runs   = map[string]*harness.Result{}
)

// run runs the bootstrap stack under the shared harness, with Pulumi.yaml's defaults and
// Pulumi.bootstrap.yaml, once per mode and set of overrides.
func run(t testing.TB, preview bool, override map[string]string) *harness.Result {
	t.Helper()
	r, err := tryRun(preview, override)
	if err != nil {
		t.Fatalf("bootstrap (preview=%v, override=%v): %v", preview, override, err)
	}
	return r
}

func tryRun(preview bool, override map[string]string) (*harness.Result, error) {
	runsMu.Lock()
	defer runsMu.Unlock()
	k := fmt.Sprint(preview, override)
	if r, ok := runs[k]; ok {
		return r, nil
	}
	r, err := harness.Run(program, harness.Options{Dir: ".", Stack: "bootstrap", Preview: preview, Override: override})
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
		bucket := one(t, r, tBucket)
		if bucket.InputString("bucket") != "cinegit-pulumi-state" || bucket.Input("forceDestroy") != false {
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
				if !r.DependsOn(c, one(t, r, tPAB)) {
					t.Errorf("bucket policy is not ordered after the public access block")
				}
				if r.Preview {
					return
				}
				st := statements(doc(t, c, "policy"))
				tls := st["DenyInsecureTransport"]
				if tls["Effect"] != "Deny" || !reflect.DeepEqual(tls["Principal"], map[string]any{"AWS": []any{"*"}}) ||
					!reflect.DeepEqual(strs(tls["Resource"]), []string{"arn:aws:s3:::cinegit-pulumi-state", "arn:aws:s3:::cinegit-pulumi-state/*"}) ||
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
				if !r.DependsOn(c, one(t, r, tVersioning)) {
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
				c := one(t, r, tt.typ)
				if !r.DependsOn(c, bucket) {
					t.Errorf("%s does not configure the state bucket", c.Name)
				}
				if !r.Preview && c.InputString("bucket") != "cinegit-pulumi-state" {
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
			want := kept[res.Type]
			if res.Protect != want || res.RetainOnDelete != want {
				t.Errorf("%s %s: protect=%v retainOnDelete=%v, want %v", res.Type, res.Name, res.Protect, res.RetainOnDelete, want)
			}
			if want && !inGuardrails(r, res) {
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

// trust returns a role's trust statement after checking its shape: one statement, the GitHub
// OIDC provider as the only principal, AssumeRoleWithWebIdentity as the only action, and
// StringEquals as the only condition operator.
func trust(t *testing.T, r *harness.Result, role string) map[string]any {
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
	if len(cond) != 1 || cond["StringEquals"] == nil {
		t.Fatalf("%s trust must use StringEquals only: %v", role, cond)
	}
	return cond["StringEquals"].(map[string]any)
}

func TestTrustPoliciesAreExact(t *testing.T) {
	tests := []struct {
		name     string
		override map[string]string
		preview  []string
		deploy   []string
	}{
		{
			name:    "defaults",
			preview: []string{"repo:cinegit/infrastructure:pull_request", "repo:cinegit/infrastructure:ref:refs/heads/main"},
			deploy: []string{
				"repo:cinegit/infrastructure:environment:dev",
				"repo:cinegit/infrastructure:environment:staging",
				"repo:cinegit/infrastructure:environment:prod",
			},
		},
		{
			name: "another repository and environments",
			override: map[string]string{
				"cinegit-bootstrap:githubRepository":   "cinegit-labs/infra",
				"cinegit-bootstrap:deployEnvironments": `["prod"]`,
				"cinegit-bootstrap:defaultBranch":      "trunk",
			},
			preview: []string{"repo:cinegit-labs/infra:pull_request", "repo:cinegit-labs/infra:ref:refs/heads/trunk"},
			deploy:  []string{"repo:cinegit-labs/infra:environment:prod"},
		},
		{
			name:     "existing OIDC provider",
			override: map[string]string{"cinegit-bootstrap:githubOidcProviderArn": existingOIDC},
			preview:  []string{"repo:cinegit/infrastructure:pull_request", "repo:cinegit/infrastructure:ref:refs/heads/main"},
			deploy: []string{
				"repo:cinegit/infrastructure:environment:dev",
				"repo:cinegit/infrastructure:environment:staging",
				"repo:cinegit/infrastructure:environment:prod",
			},
		},
		{
			name: "immutable subject claims",
			override: map[string]string{
				"cinegit-bootstrap:githubOwnerId":      "1234567",
				"cinegit-bootstrap:githubRepositoryId": "89012345",
			},
			preview: []string{"repo:cinegit@1234567/infrastructure@89012345:pull_request", "repo:cinegit@1234567/infrastructure@89012345:ref:refs/heads/main"},
			deploy: []string{
				"repo:cinegit@1234567/infrastructure@89012345:environment:dev",
				"repo:cinegit@1234567/infrastructure@89012345:environment:staging",
				"repo:cinegit@1234567/infrastructure@89012345:environment:prod",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, false, tt.override)
			for role, want := range map[string][]string{"preview": tt.preview, "deploy": tt.deploy} {
				eq := trust(t, r, role)
				if len(eq) != 2 {
					t.Errorf("%s trust conditions %v, want aud and sub only", role, eq)
				}
				if got := strs(eq["token.actions.githubusercontent.com:aud"]); !reflect.DeepEqual(got, []string{"sts.amazonaws.com"}) {
					t.Errorf("%s aud = %v", role, got)
				}
				got := strs(eq["token.actions.githubusercontent.com:sub"])
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s sub = %v, want %v", role, got, want)
				}
				for _, s := range got {
					if strings.ContainsAny(s, "*?") {
						t.Errorf("%s sub %q has a wildcard", role, s)
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

func TestCIRolePermissions(t *testing.T) {
	r := run(t, false, nil)
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
			inline[role][sid] = st
		}
	}
	bucket := "arn:aws:s3:::cinegit-pulumi-state"
	secretsKey := r.Named(tKey, "secrets").Outputs["arn"].StringValue()
	stateKey := r.Named(tKey, "state").Outputs["arn"].StringValue()

	tests := []struct {
		name                  string
		role, managed         string
		sid                   string
		effect                string
		actions, resources    []string
		maxSessionDurationSec float64
	}{
		{"preview reads the state bucket", "cinegit-github-preview", "ReadOnlyAccess", "ReadState", "Allow", []string{"s3:GetObject"}, []string{bucket + "/*"}, 3600},
		{"preview writes only lock objects", "cinegit-github-preview", "ReadOnlyAccess", "WriteStackLocks", "Allow", []string{"s3:PutObject", "s3:DeleteObject"}, []string{bucket + "/.pulumi/locks/*"}, 3600},
		{"preview uses the secrets key", "cinegit-github-preview", "ReadOnlyAccess", "StackSecrets", "Allow", []string{"kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"}, []string{secretsKey}, 3600},
		{"preview uses the state key through S3", "cinegit-github-preview", "ReadOnlyAccess", "StateKeyThroughS3Only", "Allow", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []string{stateKey}, 3600},
		{"deploy cannot weaken the state bucket", "cinegit-github-deploy", "AdministratorAccess", "KeepStateBucketSettings", "Deny", nil, []string{bucket}, 7200},
		{"deploy cannot delete state history", "cinegit-github-deploy", "AdministratorAccess", "KeepStateHistory", "Deny", nil, []string{bucket + "/*"}, 7200},
		{"deploy cannot touch the CI roles", "cinegit-github-deploy", "AdministratorAccess", "KeepCIRoles", "Deny", nil, []string{
			"arn:aws:iam::" + harness.AccountID + ":role/cinegit-github-preview", "arn:aws:iam::" + harness.AccountID + ":role/cinegit-github-deploy",
		}, 7200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attached[tt.role]; got != "arn:aws:iam::aws:policy/"+tt.managed {
				t.Errorf("%s has managed policy %q, want %s", tt.role, got, tt.managed)
			}
			role := r.Named(tRole, strings.TrimPrefix(tt.role, "cinegit-github-"))
			if role.Input("maxSessionDuration") != tt.maxSessionDurationSec {
				t.Errorf("%s max session %v, want %v", tt.role, role.Input("maxSessionDuration"), tt.maxSessionDurationSec)
			}
			st := inline[tt.role][tt.sid]
			if st == nil {
				t.Fatalf("%s has no statement %s", tt.role, tt.sid)
			}
			if st["Effect"] != tt.effect || !reflect.DeepEqual(strs(st["Resource"]), tt.resources) {
				t.Errorf("%s: %v", tt.sid, st)
			}
			if tt.actions != nil && !reflect.DeepEqual(strs(st["Action"]), tt.actions) {
				t.Errorf("%s actions %v, want %v", tt.sid, st["Action"], tt.actions)
			}
		})
	}

	// Preview writes nothing but locks: no allow statement grants a write elsewhere.
	for sid, st := range inline["cinegit-github-preview"] {
		for _, a := range strs(st["Action"]) {
			if (strings.HasPrefix(a, "s3:Put") || strings.HasPrefix(a, "s3:Delete")) && sid != "WriteStackLocks" {
				t.Errorf("preview statement %s allows %s", sid, a)
			}
		}
	}
	if cond := inline["cinegit-github-preview"]["StateKeyThroughS3Only"]["Condition"]; !reflect.DeepEqual(cond,
		map[string]any{"StringEquals": map[string]any{"kms:ViaService": []any{"s3.us-east-1.amazonaws.com"}}}) {
		t.Errorf("state key use is not limited to S3: %v", cond)
	}
}

func TestEverythingIsTagged(t *testing.T) {
	want := map[string]string{"project": "cinegit", "environment": "bootstrap", "managed-by": "pulumi"}
	taggable := map[string]bool{tBucket: true, tKey: true, tOIDC: true, tRole: true}
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
	want := map[string]string{
		"stateBucketName": "cinegit-pulumi-state",
		"backendUrl":      "s3://cinegit-pulumi-state?region=us-east-1",
		"secretsProvider": "awskms://alias/cinegit-pulumi-secrets?region=us-east-1",
		"previewRoleArn":  "arn:aws:iam::" + harness.AccountID + ":role/cinegit-github-preview",
		"deployRoleArn":   "arn:aws:iam::" + harness.AccountID + ":role/cinegit-github-deploy",
	}
	for k, v := range want {
		if e := r.Exports[k]; !e.Known || e.Value != v {
			t.Errorf("export %s = %v (known %v), want %q", k, e.Value, e.Known, v)
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
	// The bucket and 6 companions, 2 keys and 2 aliases, provider, OIDC provider, 2 roles,
	// 2 attachments, 2 inline policies.
	if len(up) != 19 {
		t.Errorf("%d resources, want 19:\n%s", len(up), strings.Join(up, "\n"))
	}
}

func TestInvalidConfigurationFailsBeforeAnyResource(t *testing.T) {
	tests := []struct {
		name     string
		override map[string]string
		wantKey  string
	}{
		{"wildcard repository", map[string]string{"cinegit-bootstrap:githubRepository": "cinegit/*"}, "githubRepository"},
		{"wildcard owner", map[string]string{"cinegit-bootstrap:githubRepository": "*/infrastructure"}, "githubRepository"},
		{"no repository name", map[string]string{"cinegit-bootstrap:githubRepository": "cinegit"}, "githubRepository"},
		{"wildcard environment", map[string]string{"cinegit-bootstrap:deployEnvironments": `["prod*"]`}, "deployEnvironments"},
		{"no environment", map[string]string{"cinegit-bootstrap:deployEnvironments": `[]`}, "deployEnvironments"},
		{"environment twice", map[string]string{"cinegit-bootstrap:deployEnvironments": `["prod","prod"]`}, "deployEnvironments"},
		{"bad bucket name", map[string]string{"cinegit-bootstrap:stateBucket": "Cinegit_State"}, "stateBucket"},
		{"one key for both", map[string]string{"cinegit-bootstrap:stateKeyAlias": "cinegit-pulumi-secrets"}, "secretsKeyAlias"},
		{"AWS-reserved alias", map[string]string{"cinegit-bootstrap:secretsKeyAlias": "aws/s3"}, "secretsKeyAlias"},
		{"owner ID without repository ID", map[string]string{"cinegit-bootstrap:githubOwnerId": "123"}, "githubOwnerId"},
		{"non-numeric ID", map[string]string{"cinegit-bootstrap:githubOwnerId": "x", "cinegit-bootstrap:githubRepositoryId": "1"}, "githubOwnerId"},
		{"session too long", map[string]string{"cinegit-bootstrap:deploySessionHours": "13"}, "deploySessionHours"},
		{"no version retention", map[string]string{"cinegit-bootstrap:noncurrentVersionDays": "0"}, "noncurrentVersionDays"},
		{"misspelt key", map[string]string{"cinegit-bootstrap:stateBuckt": "x"}, "stateBuckt"},
		{"bad region", map[string]string{"aws:region": "mars-1"}, "aws:region"},
		{"not a GitHub OIDC provider", map[string]string{"cinegit-bootstrap:githubOidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/example.com"}, "githubOidcProviderArn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := map[string]string{"aws:region": "us-east-1"}
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
	if r, err := tryRun(false, map[string]string{"cinegit-bootstrap:githubRepository": "cinegit/*"}); err == nil {
		t.Errorf("the program accepted a wildcard repository and registered %d resources", len(r.Resources))
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

// TestDeliveryAgreesWithBootstrap checks that what the bootstrap creates is what the rest of
// the repository uses: the main project's backend and secrets provider, and the workflows'
// backend, secrets provider and GitHub environments.
func TestDeliveryAgreesWithBootstrap(t *testing.T) {
	r := run(t, false, nil)
	backend := r.Exports["backendUrl"].Value
	secrets := r.Exports["secretsProvider"].Value

	var main struct {
		Backend struct {
			URL string `yaml:"url"`
		} `yaml:"backend"`
	}
	readYAML(t, "../Pulumi.yaml", &main)
	if main.Backend.URL != backend {
		t.Errorf("main project backend %q, bootstrap creates %q", main.Backend.URL, backend)
	}
	for _, stack := range []string{"dev", "staging", "prod"} {
		var s struct {
			SecretsProvider string `yaml:"secretsprovider"`
		}
		readYAML(t, "../Pulumi."+stack+".yaml", &s)
		if s.SecretsProvider != secrets {
			t.Errorf("stack %s secrets provider %q, bootstrap creates %q", stack, s.SecretsProvider, secrets)
		}
	}

	cfg, err := ParseConfig(map[string]string{"aws:region": "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Which workflow jobs assume which role, and in which GitHub environment.
	deployEnvs := map[string]bool{}
	for _, name := range []string{"preview.yml", "deploy.yml", "drift.yml"} {
		var wf struct {
			On   map[string]any    `yaml:"on"`
			Env  map[string]string `yaml:"env"`
			Jobs map[string]struct {
				Environment any `yaml:"environment"`
				Steps       []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		readYAML(t, filepath.Join("..", ".github", "workflows", name), &wf)
		if wf.Env["PULUMI_BACKEND_URL"] != backend || wf.Env["PULUMI_SECRETS_PROVIDER"] != secrets {
			t.Errorf("%s: backend %q secrets provider %q, bootstrap creates %q and %q",
				name, wf.Env["PULUMI_BACKEND_URL"], wf.Env["PULUMI_SECRETS_PROVIDER"], backend, secrets)
		}
		for job, j := range wf.Jobs {
			for _, st := range j.Steps {
				if !strings.HasPrefix(st.Uses, "aws-actions/configure-aws-credentials@") {
					continue
				}
				switch role := st.With["role-to-assume"]; role {
				case "${{ vars.PULUMI_DEPLOY_ROLE_ARN }}":
					env, _ := j.Environment.(string)
					if !contains(cfg.DeployEnvironments, env) {
						t.Errorf("%s job %s assumes the deploy role in environment %q, which the role does not trust", name, job, env)
					}
					if _, ok := wf.On["push"]; !ok || len(wf.On) != 1 {
						t.Errorf("%s job %s assumes the deploy role but the workflow runs on %v, not only on push", name, job, wf.On)
					}
					deployEnvs[env] = true
					if want := fmt.Sprint(cfg.DeploySessionHours * 3600); st.With["role-duration-seconds"] != "${{ env.AWS_SESSION_SECONDS }}" || wf.Env["AWS_SESSION_SECONDS"] != want {
						t.Errorf("%s job %s asks for a %s/%s second session, the deploy role allows %s",
							name, job, st.With["role-duration-seconds"], wf.Env["AWS_SESSION_SECONDS"], want)
					}
				case "${{ vars.PULUMI_PREVIEW_ROLE_ARN }}":
					// pull_request and the default branch are the subjects the preview role trusts.
					for event := range wf.On {
						if event != "pull_request" && event != "schedule" && event != "workflow_dispatch" {
							t.Errorf("%s job %s assumes the preview role on %s, whose subject the role does not trust", name, job, event)
						}
					}
				default:
					t.Errorf("%s job %s assumes an unknown role %q", name, job, role)
				}
			}
		}
	}
	for _, env := range cfg.DeployEnvironments {
		if !deployEnvs[env] {
			t.Errorf("the deploy role trusts environment %s, which no deploy job uses", env)
		}
	}
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

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
