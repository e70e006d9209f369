package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/recovery"
)

// The committed recovery of prod into us-west-2 (docs/region-loss.md).
const (
	recoveryOverride = "recovery/prod-us-west-2.yaml"
	recoverySnapshot = "cinegit-prodwest-copy-awsbackup-copyjob-0123abcd"
)

// runRecovery plans the recovery stack as scripts/recover-region.sh configures it: with the
// copied recovery point (snapshot), or without it for the first phase, which creates the
// database key the copy is encrypted with.
func runRecovery(t *testing.T, snapshot string, preview bool) *harness.Result {
	t.Helper()
	o, err := recovery.Load(recoveryOverride)
	if err != nil {
		t.Fatal(err)
	}
	f, err := o.StackFile(".", snapshot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := recovery.Marshal(f, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Pulumi."+o.Stack+".yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return runCached(t, runKey{o.Stack, preview, "snapshot=" + snapshot},
		harness.Options{Dir: ".", Stack: o.Stack, ConfigFile: path, Preview: preview})
}

// TestRecoveryPlansClean: prod's recovery plans in both phases and modes with no mandatory
// violation and no advisory warning of the policy pack, as prod (its environment tag), with
// every AWS resource in us-west-2 or the copies' region and none in us-east-1, and its
// database restored from the copied recovery point.
func TestRecoveryPlansClean(t *testing.T) {
	for _, snapshot := range []string{recoverySnapshot, ""} {
		for _, preview := range []bool{false, true} {
			r := runRecovery(t, snapshot, preview)
			rep := policyReport(t, r)
			for _, f := range append(rep.Violations(), rep.Warnings()...) {
				t.Errorf("snapshot %q preview %v: %s: %s", snapshot, preview, f.Rule, f.Message)
			}
			regions := map[string]int{}
			for _, res := range r.Resources {
				if !res.Custom || !strings.HasPrefix(res.Type, "aws:") {
					continue
				}
				region := "us-west-2"
				if res.Provider != "" {
					region = r.ByURN(harness.ProviderURN(res.Provider)).InputString("region")
				}
				regions[region]++
				if tags, ok := res.Input("tags").(map[string]any); ok && tags["environment"] != nil && tags["environment"] != "prod" {
					t.Errorf("%s %s: environment tag %v, want prod", res.Type, res.Name, tags["environment"])
				}
			}
			if regions["us-east-1"] > 0 || regions["us-west-2"] < 200 || regions["us-east-2"] == 0 || len(regions) != 2 {
				t.Errorf("AWS resources by provider region %v: want us-west-2 and the copies' us-east-2 only", regions)
			}
			db := one(t, r, "aws:rds/instance:Instance")
			if snapshot == "" {
				if db.Input("snapshotIdentifier") != nil {
					t.Errorf("phase one restores nothing: %v", db.Input("snapshotIdentifier"))
				}
				continue
			}
			if db.InputString("snapshotIdentifier") != snapshot || db.InputString("identifier") != "cinegit-prodwest-postgres-"+recovery.RestoreLabel || !db.Protect {
				t.Errorf("database: snapshot %q identifier %q protect %v", db.InputString("snapshotIdentifier"), db.InputString("identifier"), db.Protect)
			}
		}
	}
}

// globalNames are the names of r's resources in AWS's global (account-wide or world-wide)
// namespaces, by kind: IAM roles, policies and instance profiles, S3 buckets, CloudFront's
// named objects, and Route 53's delegation set use.
func globalNames(r *harness.Result) map[string][]string {
	kinds := map[string]string{
		"aws:iam/role:Role":                                          "name",
		"aws:iam/policy:Policy":                                      "name",
		"aws:iam/instanceProfile:InstanceProfile":                    "name",
		"aws:s3/bucketV2:BucketV2":                                   "bucket",
		"aws:cloudfront/originAccessControl:OriginAccessControl":     "name",
		"aws:cloudfront/cachePolicy:CachePolicy":                     "name",
		"aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "name",
		"aws:cloudfront/keyGroup:KeyGroup":                           "name",
		"aws:cloudfront/publicKey:PublicKey":                         "name",
		"aws:wafv2/webAcl:WebAcl":                                    "name",
		"aws:route53/zone:Zone":                                      "delegationSetId",
	}
	out := map[string][]string{}
	for _, res := range r.Resources {
		if field, ok := kinds[res.Type]; ok {
			if v := res.InputString(field); v != "" {
				out[res.Type] = append(out[res.Type], v)
			}
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// TestRecoveryNamesDoNotCollideWithProd: whatever prod still holds in a global namespace when
// us-east-1 is lost (its IAM roles and policies, its bucket names, its CloudFront objects and
// delegation set), the recovery names nothing the same: computed from both plans.
func TestRecoveryNamesDoNotCollideWithProd(t *testing.T) {
	prod, rec := globalNames(run(t, "prod", false)), globalNames(runRecovery(t, recoverySnapshot, false))
	if len(rec["aws:iam/role:Role"]) < 20 || len(rec["aws:s3/bucketV2:BucketV2"]) < 5 {
		t.Fatalf("too few names to compare: %v", rec)
	}
	for kind, names := range rec {
		t.Logf("%s: %d recovery names, %d of prod's", kind, len(names), len(prod[kind]))
		taken := map[string]bool{}
		for _, n := range prod[kind] {
			taken[n] = true
		}
		for _, n := range names {
			if taken[n] {
				t.Errorf("%s %q is prod's too", kind, n)
			}
			if kind != "aws:route53/zone:Zone" && !strings.Contains(n, "prodwest") {
				t.Errorf("%s %q does not carry the recovery stack's name", kind, n)
			}
		}
	}
	// The recovery's media bucket is not prod's replica, which stays the untouched source the
	// originals are copied from.
	for _, n := range rec["aws:s3/bucketV2:BucketV2"] {
		if strings.HasPrefix(n, "cinegit-prod-") {
			t.Errorf("bucket %q is one of prod's", n)
		}
	}
}

// TestRecoveryIsNotAStackFile: the top level holds only the three stack files; the recovery's
// is generated (and ignored by git) on the runner.
func TestRecoveryIsNotAStackFile(t *testing.T) {
	b, err := os.ReadFile(".gitignore")
	if err != nil || !strings.Contains(string(b), "\n/Pulumi.prodwest.yaml\n") {
		t.Errorf(".gitignore must ignore the generated /Pulumi.prodwest.yaml: %v", err)
	}
	o, err := recovery.Load(recoveryOverride)
	if err != nil {
		t.Fatal(err)
	}
	if o.Base != "prod" || o.Config["aws:region"] != "us-west-2" || o.Config["cinegit:environment"] != "prod" {
		t.Errorf("override: base %q, region %v, environment %v", o.Base, o.Config["aws:region"], o.Config["cinegit:environment"])
	}
	if !strings.Contains(o.SecretsProvider, "region=us-west-2") {
		t.Errorf("secrets provider %q: not a key of the recovery region", o.SecretsProvider)
	}
}
