package policy

import (
	"context"
	"encoding/json"
	"testing"
)

// urnOf is the URN of a top-level resource of the dev stack.
func urnOf(typ, name string) string {
	return "urn:pulumi:dev::cinegit::" + typ + "::" + name
}

// stdTags are the required tags of a stack.
func stdTags(env string) map[string]any {
	return map[string]any{"project": "cinegit", "environment": env, "managed-by": "pulumi"}
}

// res builds a resource; mutators adjust it.
func res(typ, name string, props map[string]any, mutators ...func(*Resource)) Resource {
	if props == nil {
		props = map[string]any{}
	}
	r := Resource{URN: urnOf(typ, name), Type: typ, Name: name, Custom: true, Props: props}
	for _, m := range mutators {
		m(&r)
	}
	return r
}

// protect sets the protect option.
func protect(r *Resource) { r.Options.Protect = true }

// dependsOn sets the dependencies.
func dependsOn(urns ...string) func(*Resource) {
	return func(r *Resource) { r.Options.Dependencies = urns }
}

// bucketFrom sets propertyDependencies.bucket.
func bucketFrom(urns ...string) func(*Resource) {
	return func(r *Resource) {
		r.Options.PropertyDependencies = map[string][]string{"bucket": urns}
	}
}

// tagsWith returns the env's tags plus extra key/value pairs.
func tagsWith(env string, kv ...string) map[string]any {
	t := stdTags(env)
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i]] = kv[i+1]
	}
	return t
}

// doc renders an IAM-style policy document as JSON.
func doc(statements ...map[string]any) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	if err != nil {
		panic(err)
	}
	return string(b)
}

const (
	bucketV2          = "aws:s3/bucketV2:BucketV2"
	sseConfig         = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	publicAccessBlock = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	ownershipControls = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	bucketPolicy      = "aws:s3/bucketPolicy:BucketPolicy"
	versioning        = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	logging           = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	lifecycle         = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	keyArn            = "arn:aws:kms:eu-west-1:123456789012:key/1234"
)

// tlsDeny is the statement that denies requests without TLS.
var tlsDeny = map[string]any{
	"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
	"Action": "s3:*", "Resource": []any{"arn:aws:s3:::b", "arn:aws:s3:::b/*"},
	"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
}

// secureBucket returns a bucket named name and its companions, compliant with every S3 policy
// of the pack, related by their bucket input (the offline engine's relation). The bucket comes
// first.
func secureBucket(name, env string) []Resource {
	return []Resource{
		res(bucketV2, name, map[string]any{"bucket": name, "tags": stdTags(env)}),
		res(sseConfig, name, map[string]any{"bucket": name, "rules": []any{map[string]any{
			"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms", "kmsMasterKeyId": keyArn},
			"bucketKeyEnabled":                   true,
		}}}),
		res(publicAccessBlock, name, map[string]any{
			"bucket": name, "blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true,
		}),
		res(ownershipControls, name, map[string]any{"bucket": name, "rule": map[string]any{"objectOwnership": "BucketOwnerEnforced"}}),
		res(bucketPolicy, name, map[string]any{"bucket": name, "policy": doc(tlsDeny)}),
		res(versioning, name, map[string]any{"bucket": name, "versioningConfiguration": map[string]any{"status": "Enabled"}}),
		res(logging, name, map[string]any{"bucket": name, "targetBucket": "cinegit-" + env + "-logs", "targetPrefix": name + "/"}),
		res(lifecycle, name, map[string]any{"bucket": name, "rules": []any{map[string]any{
			"id": "housekeeping", "status": "Enabled", "filter": map[string]any{},
			"abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": 7},
			"noncurrentVersionExpiration":    map[string]any{"noncurrentDays": 30},
		}}}),
	}
}

// withCompanion returns resources with the companion of type typ replaced by r (or removed
// when r is nil).
func withCompanion(resources []Resource, typ string, r *Resource) []Resource {
	var out []Resource
	for _, x := range resources {
		if x.Type == typ {
			if r != nil {
				out = append(out, *r)
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// evaluate runs the pack or fails the test.
func evaluate(t testing.TB, resources []Resource) *Report {
	t.Helper()
	rep, err := Evaluate(context.Background(), resources)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return rep
}

// ofRule are the findings of one rule.
func ofRule(findings []Finding, rule string) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// unwaived are a report's findings that no exception waives.
func unwaived(rep *Report) []Finding {
	return append(rep.Violations(), rep.Warnings()...)
}
