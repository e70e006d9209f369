package bucket

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

func secureArgs() Args {
	return Args{
		Name:       "cinegit-test-assets-123456789012-us-east-1",
		Purpose:    "assets",
		KMSKeyArn:  pulumi.String("arn:aws:kms:us-east-1:123456789012:key/k"),
		AccessLogs: &AccessLogs{TargetBucket: pulumi.String("logs"), Prefix: "assets/"},
		Lifecycle:  Lifecycle{AbortIncompleteUploadDays: 3, NoncurrentVersionExpirationDays: 14},
		Tags:       tags.Set(tags.Base("cinegit", "test", nil)),
	}
}

func build(t *testing.T, args Args, statements []iampolicy.Statement) (*harness.Result, error) {
	t.Helper()
	return harness.RunRaw(func(ctx *pulumi.Context) error {
		b, err := New(ctx, "assets", args)
		if err != nil {
			return err
		}
		_, err = b.AttachPolicy(ctx, statements)
		return err
	}, "cinegit", "test", map[string]string{"aws:region": "us-east-1"}, false)
}

func TestSecureDefaults(t *testing.T) {
	r, err := build(t, secureArgs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{
		"aws:s3/bucketV2:BucketV2", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketVersioningV2:BucketVersioningV2",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
		"aws:s3/bucketLoggingV2:BucketLoggingV2", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
		"aws:s3/bucketPolicy:BucketPolicy",
	} {
		if len(r.ByType(typ)) != 1 {
			t.Errorf("want one %s", typ)
		}
	}
	b := r.Named("aws:s3/bucketV2:BucketV2", "assets")
	for _, k := range []string{"acl", "policy", "versionings", "serverSideEncryptionConfigurations", "loggings", "lifecycleRules", "corsRules"} {
		if b.Input(k) != nil {
			t.Errorf("deprecated inline argument %s is set", k)
		}
	}
	policy := r.Named("aws:s3/bucketPolicy:BucketPolicy", "assets")
	pab := r.Named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "assets")
	if !contains(policy.PropertyDependencies["bucket"], pab.URN) {
		t.Errorf("the policy must be written after the public access block")
	}
	rules := r.Named("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "assets").Input("rules").([]any)
	hk := rules[0].(map[string]any)
	if fmt.Sprint(hk["expiration"]) != "map[expiredObjectDeleteMarker:true]" || fmt.Sprint(hk["noncurrentVersionExpiration"]) != "map[noncurrentDays:14]" {
		t.Errorf("housekeeping of a versioned bucket: %v", hk)
	}
	if len(rules) != 1 {
		t.Errorf("no transitions asked, no transition rule: %v", rules)
	}
}

func TestPolicyAlwaysDeniesInsecureTransportFirst(t *testing.T) {
	grant := iampolicy.Allow("Read", []string{"s3:GetObject"}, iampolicy.Strings("arn:aws:s3:::x/*"))
	r, err := build(t, secureArgs(), []iampolicy.Statement{grant})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(r.Named("aws:s3/bucketPolicy:BucketPolicy", "assets").InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	deny := doc.Statement[0]
	if len(doc.Statement) != 2 || deny["Sid"] != "DenyInsecureTransport" || deny["Effect"] != "Deny" ||
		fmt.Sprint(deny["Principal"]) != "map[AWS:[*]]" || fmt.Sprint(deny["Action"]) != "[s3:*]" ||
		fmt.Sprint(deny["Resource"]) != "[arn:aws:s3:::cinegit-test-assets-123456789012-us-east-1 arn:aws:s3:::cinegit-test-assets-123456789012-us-east-1/*]" {
		t.Fatalf("policy: %v", doc.Statement)
	}
}

func TestExceptionsNeedReasonsAndAreTagged(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Args)
		err    string
		tag    string
	}{
		{"SSE-S3 without a reason", func(a *Args) { a.KMSKeyArn = nil }, "SSES3Reason", ""},
		{"SSE-S3 with a reason", func(a *Args) { a.KMSKeyArn, a.SSES3Reason = nil, "because" }, "", ExceptionSSEKMS},
		{"no logging without a reason", func(a *Args) { a.AccessLogs = nil }, "NoAccessLogsReason", ""},
		{"no logging with a reason", func(a *Args) { a.AccessLogs, a.NoAccessLogsReason = nil, "the logs bucket" }, "", ExceptionAccessLogged},
		{"unversioned", func(a *Args) { a.UnversionedReason = "write-once" }, "", ExceptionVersioning},
		{"a reason AWS would reject as a tag value", func(a *Args) { a.UnversionedReason = "no (really)" }, "tag values", ""},
		{"no multipart abort", func(a *Args) { a.Lifecycle.AbortIncompleteUploadDays = 0 }, "AbortIncompleteUploadDays", ""},
		{"versioned without noncurrent expiry", func(a *Args) { a.Lifecycle.NoncurrentVersionExpirationDays = 0 }, "NoncurrentVersionExpirationDays", ""},
		{"transitions out of order", func(a *Args) {
			a.Lifecycle.Transitions = []Transition{{Days: 90, StorageClass: "GLACIER"}, {Days: 30, StorageClass: "DEEP_ARCHIVE"}}
		}, "increasing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := secureArgs()
			tt.change(&args)
			r, err := build(t, args, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("want an error about %s, got %v", tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Named("aws:s3/bucketV2:BucketV2", "assets").InputString("tags."+tt.tag) == "" {
				t.Errorf("the exception's reason must be tagged %s", tt.tag)
			}
		})
	}
}

func TestUnversionedBucketExpiresInsteadOfKeepingVersions(t *testing.T) {
	args := secureArgs()
	args.UnversionedReason = "write-once logs"
	args.Lifecycle = Lifecycle{AbortIncompleteUploadDays: 1, ExpirationDays: 30}
	r, err := build(t, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ByType("aws:s3/bucketVersioningV2:BucketVersioningV2")) != 0 {
		t.Errorf("unversioned bucket got versioning")
	}
	hk := r.ByType("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")[0].Input("rules[0]").(map[string]any)
	if fmt.Sprint(hk["expiration"]) != "map[days:30]" || hk["noncurrentVersionExpiration"] != nil {
		t.Errorf("housekeeping: %v", hk)
	}
}

func TestGrants(t *testing.T) {
	doc := iampolicy.Document(GrantReadWrite("Media", pulumi.String("arn:aws:s3:::m"), pulumi.String("arn:aws:kms:us-east-1:1:key/k"), "us-east-1")...)
	ch := make(chan string, 1)
	doc.ApplyT(func(s string) string { ch <- s; return s })
	text := <-ch
	for _, want := range []string{`"arn:aws:s3:::m/*"`, `"s3:PutObject"`, `"kms:GenerateDataKey"`, `"kms:ViaService":["s3.us-east-1.amazonaws.com"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("grant lacks %s: %s", want, text)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ELB writes access logs as its regional account in the regions older than August 2022 and as
// the log delivery service in newer ones, under prefix/AWSLogs/<account>/ only.
func TestAllowELBAccessLogs(t *testing.T) {
	for region, principal := range map[string]string{
		"us-east-1":    `{"AWS":["arn:aws:iam::127311923021:root"]}`,
		"eu-west-1":    `{"AWS":["arn:aws:iam::156460612806:root"]}`,
		"eu-central-2": `{"Service":["logdelivery.elasticloadbalancing.amazonaws.com"]}`,
	} {
		st := AllowELBAccessLogs(pulumi.String("arn:aws:s3:::logs"), "aws", "123456789012", region, "alb")
		ch := make(chan string, 1)
		iampolicy.Document(st).ApplyT(func(s string) string { ch <- s; return s })
		doc := <-ch
		if !strings.Contains(doc, `"Principal":`+principal) || !strings.Contains(doc, `"Resource":["arn:aws:s3:::logs/alb/AWSLogs/123456789012/*"]`) ||
			!strings.Contains(doc, `"Action":["s3:PutObject"]`) {
			t.Errorf("%s: %s", region, doc)
		}
	}
}
