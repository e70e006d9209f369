package mediastore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	typeBucket     = "aws:s3/bucketV2:BucketV2"
	typePolicy     = "aws:s3/bucketPolicy:BucketPolicy"
	typeLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeEncryption = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)

func testArgs() Args {
	return Args{
		Env:                                    harness.Env("test", "us-east-1"),
		CORSOrigins:                            []string{"https://app.cinegit.io"},
		AbortIncompleteUploadDays:              7,
		NoncurrentVersionExpirationDays:        30,
		OriginalsPrefix:                        "originals/",
		OriginalsTransitions:                   []bucket.Transition{{Days: 30, StorageClass: "STANDARD_IA"}, {Days: 90, StorageClass: "GLACIER_IR"}},
		DerivedNoncurrentVersionExpirationDays: 3,
		ProxiesOneZoneIADays:                   30,
		LogsExpirationDays:                     90,
	}
}

func runStore(t *testing.T, args Args, preview bool) *harness.Result {
	t.Helper()
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		m, err := New(ctx, "mediastore", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		ctx.Export("media", m.MediaBucketName)
		ctx.Export("key", m.KmsKeyArn)
		return nil
	}, "cinegit", "test", map[string]string{"aws:region": "us-east-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func bucketNamed(t *testing.T, r *harness.Result, purpose string) *harness.Resource {
	t.Helper()
	b := r.Named(typeBucket, "mediastore-"+purpose)
	if b == nil {
		t.Fatalf("no %s bucket", purpose)
	}
	return b
}

// companion returns the resource of a type that configures bucket b (its "bucket" input
// refers to b), or nil.
func companion(r *harness.Result, typ string, b *harness.Resource) *harness.Resource {
	for _, c := range r.ByType(typ) {
		for _, d := range c.PropertyDependencies["bucket"] {
			if d == b.URN {
				return c
			}
			// Policies and notifications name the bucket through its public access block.
			if pab := r.ByURN(d); pab != nil && pab.Type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" && r.DependsOn(pab, b) {
				return c
			}
		}
	}
	return nil
}

func TestEveryBucketHasItsCompanions(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r := runStore(t, testArgs(), preview)
			if n := len(r.ByType(typeBucket)); n != 4 {
				t.Fatalf("want 4 buckets, got %d", n)
			}
			for _, purpose := range []string{"media", "proxies", "thumbnails", "logs"} {
				b := bucketNamed(t, r, purpose)
				if want := fmt.Sprintf("cinegit-test-%s-%s-us-east-1", purpose, harness.AccountID); b.InputString("bucket") != want {
					t.Errorf("%s bucket name %q, want %q", purpose, b.InputString("bucket"), want)
				}
				for _, typ := range []string{
					"aws:s3/bucketOwnershipControls:BucketOwnershipControls",
					"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
					typeEncryption,
					typeLifecycle,
				} {
					if companion(r, typ, b) == nil {
						t.Errorf("%s bucket lacks %s", purpose, typ)
					}
				}
				own := companion(r, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", b)
				if own != nil && own.InputString("rule.objectOwnership") != "BucketOwnerEnforced" {
					t.Errorf("%s: ownership %q", purpose, own.InputString("rule.objectOwnership"))
				}
				if pab := companion(r, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", b); pab != nil {
					for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
						if pab.Input(k) != true {
							t.Errorf("%s: public access block %s not set", purpose, k)
						}
					}
				}
				versioning := companion(r, "aws:s3/bucketVersioningV2:BucketVersioningV2", b)
				logging := companion(r, "aws:s3/bucketLoggingV2:BucketLoggingV2", b)
				if purpose == "logs" {
					if versioning != nil || logging != nil {
						t.Errorf("the logs bucket is neither versioned nor logged (stated reasons)")
					}
					for _, k := range []string{bucket.ExceptionSSEKMS, bucket.ExceptionVersioning, bucket.ExceptionAccessLogged} {
						if b.InputString("tags."+k) == "" {
							t.Errorf("the logs bucket lacks the reason tag %s", k)
						}
					}
					continue
				}
				if versioning == nil || versioning.InputString("versioningConfiguration.status") != "Enabled" {
					t.Errorf("%s bucket is not versioned", purpose)
				}
				if logging == nil || logging.InputString("targetPrefix") != purpose+"/" {
					t.Fatalf("%s bucket does not log under %s/", purpose, purpose)
				}
				logsPolicy := r.Named(typePolicy, "mediastore-logs")
				if !contains(logging.PropertyDependencies["targetBucket"], logsPolicy.URN) {
					t.Errorf("%s logging must wait for the logs bucket's grant to the logging service", purpose)
				}
				if !preview && logging.InputString("targetBucket") != bucketNamed(t, r, "logs").InputString("bucket") {
					t.Errorf("%s logs to %q", purpose, logging.InputString("targetBucket"))
				}
			}
		})
	}
}

func TestEncryption(t *testing.T) {
	r := runStore(t, testArgs(), false)
	key := r.Named("aws:kms/key:Key", "mediastore-media")
	for _, purpose := range []string{"media", "proxies", "thumbnails"} {
		enc := companion(r, typeEncryption, bucketNamed(t, r, purpose))
		if enc.InputString("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm") != "aws:kms" ||
			enc.Input("rules[0].bucketKeyEnabled") != true || !r.DependsOn(enc, key) {
			t.Errorf("%s: want SSE-KMS with the media key and a bucket key, got %v", purpose, enc.Input("rules"))
		}
	}
	logs := companion(r, typeEncryption, bucketNamed(t, r, "logs"))
	if logs.InputString("rules[0].applyServerSideEncryptionByDefault.sseAlgorithm") != "AES256" {
		t.Errorf("the logs bucket must use SSE-S3, the only encryption S3 server access logging delivers to")
	}
}

func TestOnlyMediaAndLogsBucketsGetPoliciesHere(t *testing.T) {
	r := runStore(t, testArgs(), false)
	policies := r.ByType(typePolicy)
	if len(policies) != 2 {
		t.Fatalf("want the media and logs policies only (the CDN writes the delivery buckets'), got %d", len(policies))
	}
	for _, purpose := range []string{"proxies", "thumbnails"} {
		if companion(r, typePolicy, bucketNamed(t, r, purpose)) != nil {
			t.Errorf("%s bucket policy must be written by the CDN, with its distribution grant", purpose)
		}
	}
	for _, purpose := range []string{"media", "logs"} {
		pol := companion(r, typePolicy, bucketNamed(t, r, purpose))
		if pol == nil {
			t.Fatalf("%s bucket has no policy", purpose)
		}
		doc := statements(t, pol.InputString("policy"))
		deny := doc["DenyInsecureTransport"]
		if deny == nil || deny["Effect"] != "Deny" || fmt.Sprint(deny["Condition"]) != "map[Bool:map[aws:SecureTransport:[false]]]" {
			t.Errorf("%s policy lacks the TLS-only deny: %v", purpose, deny)
		}
		if fmt.Sprint(deny["Principal"]) != "map[AWS:[*]]" {
			t.Errorf("%s policy: the deny's principal must be valid IAM ({\"AWS\": \"*\"}), got %v", purpose, deny["Principal"])
		}
	}
	logs := statements(t, companion(r, typePolicy, bucketNamed(t, r, "logs")).InputString("policy"))
	grant := logs["AllowS3ServerAccessLogs"]
	if grant == nil || fmt.Sprint(grant["Principal"]) != "map[Service:[logging.s3.amazonaws.com]]" {
		t.Fatalf("logs bucket must grant the S3 logging service: %v", grant)
	}
	cond := fmt.Sprint(grant["Condition"])
	for _, want := range []string{"aws:SourceAccount:[" + harness.AccountID + "]", "cinegit-test-media-", "cinegit-test-proxies-", "cinegit-test-thumbnails-"} {
		if !strings.Contains(cond, want) {
			t.Errorf("logging grant condition lacks %s: %s", want, cond)
		}
	}
}

func TestKeyPolicyLetsCloudFrontDecryptDeliveryBucketsOnly(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := runStore(t, testArgs(), preview)
		key := r.Named("aws:kms/key:Key", "mediastore-media")
		if key.Input("enableKeyRotation") != true {
			t.Errorf("key rotation off")
		}
		st := statements(t, key.InputString("policy"))["AllowCloudFrontDecryptDeliveryBuckets"]
		if st == nil {
			t.Fatal("no CloudFront statement in the key policy")
		}
		cond := fmt.Sprint(st["Condition"])
		if fmt.Sprint(st["Action"]) != "[kms:Decrypt]" || !strings.Contains(cond, "arn:aws:cloudfront::"+harness.AccountID+":distribution/*") {
			t.Errorf("CloudFront may only decrypt, for this account's distributions: %v", st)
		}
		if !strings.Contains(cond, "cinegit-test-proxies-") || !strings.Contains(cond, "cinegit-test-thumbnails-") || strings.Contains(cond, "cinegit-test-media-") {
			t.Errorf("CloudFront may decrypt delivery buckets' objects only, never originals: %s", cond)
		}
	}
}

func TestLifecycle(t *testing.T) {
	r := runStore(t, testArgs(), false)
	rules := func(purpose string) map[string]map[string]any {
		lc := companion(r, typeLifecycle, bucketNamed(t, r, purpose))
		out := map[string]map[string]any{}
		for _, x := range lc.Input("rules").([]any) {
			rule := x.(map[string]any)
			out[rule["id"].(string)] = rule
		}
		return out
	}
	for _, purpose := range []string{"media", "proxies", "thumbnails", "logs"} {
		hk := rules(purpose)["housekeeping"]
		if hk == nil || fmt.Sprint(hk["abortIncompleteMultipartUpload"]) != "map[daysAfterInitiation:7]" || hk["status"] != "Enabled" {
			t.Errorf("%s: incomplete uploads must be aborted within 7 days: %v", purpose, hk)
		}
	}
	if got := fmt.Sprint(rules("media")["housekeeping"]["noncurrentVersionExpiration"]); got != "map[noncurrentDays:30]" {
		t.Errorf("media noncurrent expiry: %s", got)
	}
	for _, purpose := range []string{"proxies", "thumbnails"} {
		if got := fmt.Sprint(rules(purpose)["housekeeping"]["noncurrentVersionExpiration"]); got != "map[noncurrentDays:3]" {
			t.Errorf("%s noncurrent expiry: %s", purpose, got)
		}
	}
	tr := rules("media")["transitions"]
	if fmt.Sprint(tr["filter"]) != "map[prefix:originals/]" ||
		fmt.Sprint(tr["transitions"]) != "[map[days:30 storageClass:STANDARD_IA] map[days:90 storageClass:GLACIER_IR]]" {
		t.Errorf("originals transitions: %v", tr)
	}
	if fmt.Sprint(rules("proxies")["transitions"]["transitions"]) != "[map[days:30 storageClass:ONEZONE_IA]]" {
		t.Errorf("proxies must move to One Zone-IA: %v", rules("proxies")["transitions"])
	}
	if _, ok := rules("thumbnails")["transitions"]; ok {
		t.Errorf("thumbnails stay in STANDARD")
	}
	if fmt.Sprint(rules("logs")["housekeeping"]["expiration"]) != "map[days:90]" {
		t.Errorf("logs must expire: %v", rules("logs")["housekeeping"])
	}
	// Versioned buckets order their lifecycle after versioning.
	lc := companion(r, typeLifecycle, bucketNamed(t, r, "media"))
	if !r.DependsOn(lc, companion(r, "aws:s3/bucketVersioningV2:BucketVersioningV2", bucketNamed(t, r, "media"))) {
		t.Errorf("media lifecycle must be applied after versioning")
	}
}

func TestMediaBucketUploadsAndEvents(t *testing.T) {
	r := runStore(t, testArgs(), false)
	media := bucketNamed(t, r, "media")
	cors := companion(r, "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2", media)
	if cors == nil || fmt.Sprint(cors.Input("corsRules[0].allowedOrigins")) != "[https://app.cinegit.io]" ||
		!strings.Contains(fmt.Sprint(cors.Input("corsRules[0].exposeHeaders")), "ETag") {
		t.Fatalf("media bucket CORS for browser uploads: %v", cors)
	}
	n := companion(r, "aws:s3/bucketNotification:BucketNotification", media)
	if n == nil || n.Input("eventbridge") != true {
		t.Fatal("new media must be announced on EventBridge")
	}
	args := testArgs()
	args.CORSOrigins = nil
	if r := runStore(t, args, false); len(r.ByType("aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2")) != 0 {
		t.Errorf("no origins, no CORS")
	}
}

func TestStackLifetimeOptions(t *testing.T) {
	tests := []struct {
		name                  string
		forceDestroy, protect bool
	}{
		{"dev: destroyable with the stack", true, false},
		{"staging: kept but not protected", false, false},
		{"prod: protected", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := testArgs()
			args.ForceDestroy, args.Protect = tt.forceDestroy, tt.protect
			r := runStore(t, args, true)
			for _, b := range r.ByType(typeBucket) {
				if b.Input("forceDestroy") != tt.forceDestroy || b.Protect != tt.protect {
					t.Errorf("%s: forceDestroy=%v protect=%v", b.Name, b.Input("forceDestroy"), b.Protect)
				}
			}
			if k := r.Named("aws:kms/key:Key", "mediastore-media"); k.Protect != tt.protect {
				t.Errorf("key protect=%v", k.Protect)
			}
		})
	}
}

func TestChildrenAreParentedAndTagged(t *testing.T) {
	r := runStore(t, testArgs(), true)
	comp := r.Component("cinegit:mediastore:MediaStore")
	if comp == nil {
		t.Fatal("no component")
	}
	for _, res := range r.Resources {
		if !res.Custom || strings.HasPrefix(res.Type, "pulumi:providers:") {
			continue
		}
		if res.Parent != comp.URN {
			t.Errorf("%s %s is not a child of the media store", res.Type, res.Name)
		}
		if !strings.HasPrefix(res.Name, "mediastore-") {
			t.Errorf("%s: logical name not prefixed with the component's", res.Name)
		}
		if res.Type == typeBucket || res.Type == "aws:kms/key:Key" {
			if res.InputString("tags.environment") != "test" || res.InputString("tags.Name") == "" {
				t.Errorf("%s lacks tags", res.Name)
			}
		}
	}
}

func TestInvalidArgsFailEarly(t *testing.T) {
	args := testArgs()
	args.AbortIncompleteUploadDays = 0
	_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		_, err := New(ctx, "mediastore", args)
		return err
	}, "cinegit", "test", map[string]string{"aws:region": "us-east-1"}, true)
	if err == nil || !strings.Contains(err.Error(), "AbortIncompleteUploadDays") {
		t.Fatalf("want an error naming the field, got %v", err)
	}
}

// statements parses a policy document into its statements by Sid.
func statements(t *testing.T, doc string) map[string]map[string]any {
	t.Helper()
	var d struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	out := map[string]map[string]any{}
	for _, s := range d.Statement {
		sid, _ := s["Sid"].(string)
		out[sid] = s
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
