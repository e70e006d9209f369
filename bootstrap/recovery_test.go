package main

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/recovery"
)

// regionOf is the region of the AWS provider a resource is registered with.
func regionOf(t *testing.T, r *harness.Result, res *harness.Resource) string {
	t.Helper()
	if res.Provider == "" {
		t.Fatalf("%s %s uses a default provider", res.Type, res.Name)
	}
	p := r.ByURN(harness.ProviderURN(res.Provider))
	if p == nil {
		t.Fatalf("%s %s: no provider %s", res.Type, res.Name, res.Provider)
	}
	return p.InputString("region")
}

// TestStandbyWayIn: prod's bootstrap makes, in us-west-2 and by the same builders as the
// primary's, the state bucket, the keys, the runner network, the recovery project and runner
// role; dev's and staging's (no recoveryRegion) make none of it.
func TestStandbyWayIn(t *testing.T) {
	acct := harness.AccountID
	const west = "us-west-2"
	for _, preview := range []bool{false, true} {
		r := runStack(t, "prod", preview, nil)
		tests := []struct {
			typ, name, region string
			inputs            map[string]any
		}{
			{tProvider, "aws-us-west-2", "", map[string]any{"region": west, "allowedAccountIds": []any{acct}}},
			// The state bucket and its configuration, as the primary's.
			{tBucket, "recover-state", west, map[string]any{"bucket": "cinegit-pulumi-state-" + acct + "-us-west-2", "forceDestroy": false}},
			{tVersioning, "recover-state", west, map[string]any{"versioningConfiguration.status": "Enabled"}},
			{tSSE, "recover-state", west, map[string]any{"rules[0].applyServerSideEncryptionByDefault.sseAlgorithm": "aws:kms", "rules[0].bucketKeyEnabled": true}},
			{tPAB, "recover-state", west, map[string]any{"blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}},
			{tOwnership, "recover-state", west, map[string]any{"rule.objectOwnership": "BucketOwnerEnforced"}},
			{tPolicy, "recover-state", west, nil},
			{tLifecycle, "recover-state", west, nil},
			// Keys of that region, under the primary's aliases (an alias is per region).
			{tKey, "recover-state", west, map[string]any{"enableKeyRotation": true, "deletionWindowInDays": 30.0}},
			{tAlias, "recover-state", west, map[string]any{"name": "alias/cinegit-pulumi-state"}},
			{tKey, "recover-secrets", west, map[string]any{"enableKeyRotation": true, "deletionWindowInDays": 30.0}},
			{tAlias, "recover-secrets", west, map[string]any{"name": "alias/cinegit-pulumi-secrets"}},
			{tKey, "recover-runner", west, map[string]any{"enableKeyRotation": true}},
			{tAlias, "recover-runner", west, map[string]any{"name": "alias/cinegit-deploy-runner"}},
			// The runner network: the primary's Name tag and block, which the recovery stack
			// peers with; its flow logs' role named for the region (IAM is global).
			{tVpc, "recover-runner", west, map[string]any{"cidrBlock": "10.255.0.0/22", "tags.Name": RunnerVpcName}},
			{tNat, "recover-runner", west, nil},
			{tEndpoint, "recover-runner-s3", west, map[string]any{"serviceName": "com.amazonaws.us-west-2.s3"}},
			{tFlowLog, "recover-runner", west, map[string]any{"trafficType": "ALL"}},
			{tRole, "recover-runner-flow-logs", west, map[string]any{"name": "cinegit-deploy-runner-flow-logs-us-west-2"}},
			{tBucket, "recover-runner-sources", west, map[string]any{"bucket": "cinegit-runner-sources-" + acct + "-us-west-2"}},
			// The recovery project, its runner role and its launcher.
			{tProject, "runner-recover", west, map[string]any{
				"name": "cinegit-pulumi-recover", "source.type": "S3", "source.buildspec": BuildspecPath,
				"source.location": "cinegit-runner-sources-" + acct + "-us-west-2/recover/source.zip",
				"buildTimeout":    float64(RecoverTimeoutMinutes), "environment.privilegedMode": false, "projectVisibility": "PRIVATE",
			}},
			{tLogGroup, "runner-recover", west, map[string]any{"name": "/aws/codebuild/cinegit-pulumi-recover", "retentionInDays": float64(RunnerLogRetentionDays)}},
			{tRole, "runner-recover", west, map[string]any{"name": "cinegit-runner-recover", "maxSessionDuration": 3600.0}},
			{tAttachment, "runner-recover", west, map[string]any{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}},
			{tRole, KindRecover, west, map[string]any{"name": "cinegit-github-recover", "maxSessionDuration": float64(RecoverSessionHours * 3600)}},
			{tRolePolicy, "recover-guard", west, map[string]any{"name": "keep-bootstrap-resources"}},
			{tRolePolicy, "recover-guardrails-guard", west, map[string]any{"name": "keep-account-guardrails"}},
		}
		for _, tt := range tests {
			t.Run(tt.typ+" "+tt.name, func(t *testing.T) {
				res := r.Named(tt.typ, tt.name)
				if res == nil {
					t.Fatalf("prod's bootstrap has no %s %s", tt.typ, tt.name)
				}
				if tt.region != "" {
					if got := regionOf(t, r, res); got != tt.region {
						t.Errorf("in %s, want %s", got, tt.region)
					}
				}
				for path, want := range tt.inputs {
					if got := res.Input(path); !reflect.DeepEqual(got, want) && !(r.Preview && got == nil) {
						t.Errorf("%s = %v, want %v", path, got, want)
					}
				}
			})
		}
		// The bucket is encrypted with the recovery region's state key, not the primary's.
		sse, key := r.Named(tSSE, "recover-state"), r.Named(tKey, "recover-state")
		if !r.DependsOn(sse, key) || r.DependsOn(sse, r.Named(tKey, "state")) {
			t.Errorf("preview=%v: the recovery state bucket is not encrypted with the recovery region's state key", preview)
		}
		if !preview && sse.Input("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId") != key.Outputs["arn"].StringValue() {
			t.Errorf("recovery state bucket key %v", sse.Input("rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId"))
		}
		if arn := key.Outputs["arn"].StringValue(); !preview && !strings.HasPrefix(arn, "arn:aws:kms:us-west-2:") {
			t.Errorf("recovery state key %s", arn)
		}
		// The project runs in the recovery network.
		if p := r.Named(tProject, "runner-recover"); !r.DependsOn(p, r.Named(tVpc, "recover-runner")) || r.DependsOn(p, r.Named(tVpc, "runner")) {
			t.Errorf("preview=%v: the recovery project is not in the recovery region's runner VPC", preview)
		}
		// What the state bucket, keys and runner network of the primary were, they still are.
		for _, name := range []string{"state", "secrets", "runner"} {
			if got := regionOf(t, r, r.Named(tKey, name)); got != "us-east-1" {
				t.Errorf("the primary's %s key moved to %s", name, got)
			}
		}
	}

	for _, stack := range []string{"dev", "staging"} {
		r := runStack(t, stack, false, nil)
		for _, res := range r.Resources {
			if strings.HasPrefix(res.Name, "recover") || strings.HasSuffix(res.Name, "-recover") || strings.Contains(res.InputString("name"), "recover") {
				t.Errorf("%s's bootstrap, without recoveryRegion, makes %s %s", stack, res.Type, res.Name)
			}
		}
		if _, ok := r.Exports["recoveryRegion"]; ok {
			t.Errorf("%s exports a recovery region", stack)
		}
	}
}

// TestStandbyIsProtectedAndRetained: the recovery state bucket (with its six configuration
// resources) and the recovery state and secrets keys with their aliases are kept as the
// primary's are; the recovery runner's key and everything else may go.
func TestStandbyIsProtectedAndRetained(t *testing.T) {
	r := runStack(t, "prod", false, nil)
	kept := 0
	for _, res := range r.Resources {
		if !strings.HasPrefix(res.Name, "recover") && !strings.HasSuffix(res.Name, "-recover") {
			continue
		}
		want := (res.Name == "recover-state" || res.Name == "recover-secrets") && res.Type != tProvider
		if res.Protect != want || res.RetainOnDelete != want {
			t.Errorf("%s %s: protect=%v retainOnDelete=%v, want %v", res.Type, res.Name, res.Protect, res.RetainOnDelete, want)
		}
		if want {
			kept++
		}
	}
	if kept != 11 {
		t.Errorf("%d protected standby resources, want 11 (the bucket, its six companions, two keys and two aliases)", kept)
	}
}

// TestIAMNamesAreUnique: IAM is global; the recovery region's roles are named apart from the
// primary's.
func TestIAMNamesAreUnique(t *testing.T) {
	r := runStack(t, "prod", false, nil)
	seen := map[string]string{}
	for _, res := range r.ByType(tRole) {
		name := res.InputString("name")
		if other, ok := seen[name]; ok {
			t.Errorf("roles %s and %s are both named %s", other, res.Name, name)
		}
		seen[name] = res.Name
	}
	for _, name := range []string{"cinegit-runner-recover", "cinegit-github-recover", "cinegit-runner-deploy", "cinegit-github-deploy"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("no role %s", name)
		}
	}
}

// TestRecoveryLauncherAndGuards: the recovery launcher trusts what the deploy launcher trusts
// and may start only the recovery project's builds, with the same override denials and one
// more variable (the recovery point); both administrator runners carry guards that cover both
// regions' buckets, keys, roles and projects.
func TestRecoveryLauncherAndGuards(t *testing.T) {
	r := runStack(t, "prod", false, nil)
	acct := harness.AccountID
	attached, inline := policiesByRole(t, r)

	op, subjects := trust(t, r, KindRecover)
	if _, deploy := trust(t, r, KindDeploy); op != "StringEquals" || !slices.Equal(subjects, deploy) ||
		!slices.Equal(subjects, []string{"repo:cinegit@100000001/infrastructure@200000002:environment:prod:ref:refs/heads/main"}) {
		t.Errorf("recovery launcher trusts %s %v", op, subjects)
	}

	launch := inline["cinegit-github-recover"]
	project := "arn:aws:codebuild:us-west-2:" + acct + ":project/cinegit-pulumi-recover"
	sources := "arn:aws:s3:::cinegit-runner-sources-" + acct + "-us-west-2"
	checks := []struct {
		sid, path string
		want      any
	}{
		{"RunBuilds", "Resource", []any{project}},
		{"UploadSource", "Resource", []any{sources + "/recover/source.zip"}},
		{"EncryptSourcesThroughS3", "Resource", []any{r.Named(tKey, "recover-runner").Outputs["arn"].StringValue()}},
		{"EncryptSourcesThroughS3", "Condition", map[string]any{"StringEquals": map[string]any{"kms:ViaService": []any{"s3.us-west-2.amazonaws.com"}}}},
		{"ReadBuildLogs", "Resource", []any{"arn:aws:logs:us-west-2:" + acct + ":log-group:/aws/codebuild/cinegit-pulumi-recover:log-stream:*"}},
		{"OnlyItsCommands", "Condition", map[string]any{"StringNotEquals": map[string]any{"codebuild:environment.environmentVariables/PULUMI_COMMAND.value": []any{"recover"}}}},
		{"OnlyTheCommandAndMessage", "Condition", map[string]any{"ForAnyValue:StringNotEquals": map[string]any{
			"codebuild:environment.environmentVariables.name": []any{"PULUMI_COMMAND", "PULUMI_MESSAGE", RecoveryPointVariable}}}},
	}
	for _, c := range checks {
		if st := launch[c.sid]; st == nil || !reflect.DeepEqual(st[c.path], c.want) {
			t.Errorf("recovery launcher %s %s = %v, want %v", c.sid, c.path, launch[c.sid][c.path], c.want)
		}
	}
	// The deploy launcher's statements, Sid for Sid: the same override denials.
	sids := func(m map[string]map[string]any) []string {
		var out []string
		for sid := range m {
			out = append(out, sid)
		}
		sort.Strings(out)
		return out
	}
	if got, want := sids(launch), sids(inline["cinegit-github-deploy"]); !slices.Equal(got, want) {
		t.Errorf("recovery launcher statements %v, deploy launcher's %v", got, want)
	}
	for _, k := range launcherOverrideKeys {
		st := launch["NoOverride"+overrideSid(k)]
		if st == nil || st["Effect"] != "Deny" || !reflect.DeepEqual(st["Resource"], []any{project}) {
			t.Errorf("recovery launcher does not deny the override %s: %v", k, st)
		}
	}
	if attached["cinegit-github-recover"] != "" || attached["cinegit-runner-recover"] != "arn:aws:iam::aws:policy/AdministratorAccess" {
		t.Errorf("managed policies: launcher %q, runner %q", attached["cinegit-github-recover"], attached["cinegit-runner-recover"])
	}

	// The recovery project's environment: the recovery stack, the standby backend, the
	// override the runner recovers from.
	p := r.Named(tProject, "runner-recover")
	vars := map[string]string{}
	for _, v := range p.Input("environment.environmentVariables").([]any) {
		m := v.(map[string]any)
		vars[m["name"].(string)] = m["value"].(string)
	}
	if want := map[string]string{
		"PULUMI_STACK": "prodwest", "PULUMI_BACKEND_URL": "s3://cinegit-pulumi-state-" + acct + "-us-west-2?region=us-west-2",
		"CINEGIT_RUNNER": "recover", "CINEGIT_RECOVERY_OVERRIDE": "recovery/prod-us-west-2.yaml",
	}; !reflect.DeepEqual(vars, want) {
		t.Errorf("recovery project variables %v, want %v", vars, want)
	}

	// Both administrator runners are guarded, over both regions' bootstrap resources.
	bucket := func(name string) string { return "arn:aws:s3:::" + name }
	role := func(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }
	key := func(name string) string { return r.Named(tKey, name).Outputs["arn"].StringValue() }
	for _, runner := range []string{"cinegit-runner-deploy", "cinegit-runner-recover"} {
		g := inline[runner]
		for sid, want := range map[string][]string{
			"KeepStateBucketSettings": {bucket("cinegit-pulumi-state-" + acct), bucket("cinegit-runner-sources-" + acct),
				bucket("cinegit-pulumi-state-" + acct + "-us-west-2"), bucket("cinegit-runner-sources-" + acct + "-us-west-2")},
			"KeepStateHistory": {bucket("cinegit-pulumi-state-"+acct) + "/*", bucket("cinegit-pulumi-state-"+acct+"-us-west-2") + "/*"},
			"KeepRunnerProjects": {"arn:aws:codebuild:us-east-1:" + acct + ":project/cinegit-pulumi-pr", "arn:aws:codebuild:us-east-1:" + acct + ":project/cinegit-pulumi-preview",
				"arn:aws:codebuild:us-east-1:" + acct + ":project/cinegit-pulumi-deploy", project},
		} {
			if st := g[sid]; st == nil || st["Effect"] != "Deny" || !slices.Equal(strs(st["Resource"]), want) {
				t.Errorf("%s %s: %v, want %v", runner, sid, g[sid], want)
			}
		}
		keys := strs(g["KeepKeys"]["Resource"])
		for _, k := range []string{key("state"), key("secrets"), key("runner"), key("recover-state"), key("recover-secrets"), key("recover-runner"),
			r.Named(tAlias, "recover-secrets").Outputs["arn"].StringValue()} {
			if !slices.Contains(keys, k) {
				t.Errorf("%s KeepKeys does not cover %s", runner, k)
			}
		}
		roles := strs(g["KeepCIRoles"]["Resource"])
		for _, name := range []string{"cinegit-runner-deploy", "cinegit-github-deploy", "cinegit-runner-recover", "cinegit-github-recover"} {
			if !slices.Contains(roles, role(name)) {
				t.Errorf("%s KeepCIRoles does not cover %s", runner, name)
			}
		}
		for _, sid := range []string{"NoIAMUsersOrKeys", "KeepGitHubOIDCProvider", "KeepTheAuditTrail", "KeepThreatDetection", "KeepTheAccessAnalyzer"} {
			if g[sid] == nil {
				t.Errorf("%s has no %s", runner, sid)
			}
		}
	}
}

// TestStandbyAgreesWithTheRecovery: the committed override names what prod's bootstrap makes
// (its stack, its secrets provider, its region and runner role), and the bootstrap refuses
// to make a standby that the override would not use.
func TestStandbyAgreesWithTheRecovery(t *testing.T) {
	o, err := recovery.Load("../recovery/prod-us-west-2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := runStack(t, "prod", false, nil)
	for k, want := range map[string]string{
		"recoveryStack": o.Stack, "recoverySecretsProvider": o.SecretsProvider, "recoveryRegion": "us-west-2",
		"recoveryBackendUrl":      "s3://cinegit-pulumi-state-" + harness.AccountID + "-us-west-2?region=us-west-2",
		"recoveryStateBucketName": "cinegit-pulumi-state-" + harness.AccountID + "-us-west-2",
		"recoverProjectName":      "cinegit-pulumi-recover", "recoverRunnerRoleName": "cinegit-runner-recover",
		"recoverRoleArn": "arn:aws:iam::" + harness.AccountID + ":role/cinegit-github-recover",
	} {
		if e := r.Exports[k]; !e.Known || e.Value != want {
			t.Errorf("export %s = %v, want %q", k, e.Value, want)
		}
	}

	refused := []struct {
		name     string
		override map[string]string
		want     string
	}{
		{"a secrets key the override does not name", map[string]string{Project + ":secretsKeyAlias": "cinegit-other-secrets"}, "secrets provider"},
		{"a region without an override", map[string]string{Project + ":recoveryRegion": "us-east-2"}, "recovery/prod-us-east-2.yaml"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tryRun("prod", false, tt.override); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("want an error naming %q, got %v", tt.want, err)
			}
		})
	}
}
