package policy

func init() { caseSets = append(caseSets, s3MediaCases) }

// replaceProps returns a copy of rs with the props of the companion of type typ changed.
func replaceProps(rs []Resource, typ string, change func(map[string]any)) []Resource {
	out := make([]Resource, len(rs))
	for i, r := range rs {
		out[i] = r
		if r.Type != typ {
			continue
		}
		props := map[string]any{}
		for k, v := range r.Props {
			props[k] = v
		}
		change(props)
		out[i].Props = props
	}
	return out
}

// tagBucket returns rs with extra tags on the bucket (the first resource).
func tagBucket(rs []Resource, env string, kv ...string) []Resource {
	out := append([]Resource(nil), rs...)
	props := map[string]any{}
	for k, v := range out[0].Props {
		props[k] = v
	}
	props["tags"] = tagsWith(env, kv...)
	out[0].Props = props
	return out
}

// lifecycleRule is an enabled whole-bucket housekeeping rule with the given actions.
func lifecycleRule(kv ...any) map[string]any {
	rule := map[string]any{"id": "housekeeping", "status": "Enabled", "filter": map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		rule[kv[i].(string)] = kv[i+1]
	}
	return rule
}

// s3MediaCases cover policy/s3_media.rego.
func s3MediaCases() []ruleCase {
	const name = "cinegit-dev-media"
	b := func() []Resource { return secureBucket(name, "dev") }
	abort := func(days int) map[string]any { return map[string]any{"daysAfterInitiation": days} }
	noncurrent := map[string]any{"noncurrentDays": 30}
	lifecycleWith := func(rules ...any) []Resource {
		return replaceProps(b(), lifecycle, func(p map[string]any) { p["rules"] = rules })
	}
	distArn := "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF"
	cloudFront := func(condition any) map[string]any {
		st := map[string]any{
			"Sid": "AllowCloudFront", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
			"Principal": map[string]any{"Service": "cloudfront.amazonaws.com"},
		}
		if condition != nil {
			st["Condition"] = condition
		}
		return st
	}
	policyOf := func(statements ...map[string]any) []Resource {
		return []Resource{res(bucketPolicy, "proxies", map[string]any{"bucket": "proxies", "policy": doc(append([]map[string]any{tlsDeny}, statements...)...)})}
	}
	forceDestroy := func(env string, on bool) []Resource {
		return []Resource{res(bucketV2, "media", map[string]any{"bucket": "media", "tags": stdTags(env), "forceDestroy": on})}
	}

	return []ruleCase{
		// Versioning.
		{"bucket without versioning", "stack_deny_bucket_versioning", true, withCompanion(b(), versioning, nil)},
		{"bucket with versioning suspended", "stack_deny_bucket_versioning", true,
			replaceProps(b(), versioning, func(p map[string]any) { p["versioningConfiguration"] = map[string]any{"status": "Suspended"} })},
		{"versioned bucket", "stack_deny_bucket_versioning", false, b()},
		{"unversioned logs bucket with a stated reason", "stack_deny_bucket_versioning", false,
			tagBucket(withCompanion(b(), versioning, nil), "dev", "cinegit:exception:versioning", "write-once access logs")},

		// Access logging.
		{"bucket without access logging", "stack_deny_bucket_access_logging", true, withCompanion(b(), logging, nil)},
		{"bucket logging to itself", "stack_deny_bucket_access_logging", true,
			replaceProps(b(), logging, func(p map[string]any) { p["targetBucket"] = name })},
		{"bucket logging to the logs bucket", "stack_deny_bucket_access_logging", false, b()},
		{"logs bucket with a stated reason", "stack_deny_bucket_access_logging", false,
			tagBucket(withCompanion(b(), logging, nil), "dev", "cinegit:exception:access-logging", "the access logs bucket itself")},

		// Incomplete multipart uploads.
		{"bucket without a lifecycle", "stack_deny_bucket_abort_incomplete_uploads", true, withCompanion(b(), lifecycle, nil)},
		{"uploads aborted after a month", "stack_deny_bucket_abort_incomplete_uploads", true,
			lifecycleWith(lifecycleRule("abortIncompleteMultipartUpload", abort(30), "noncurrentVersionExpiration", noncurrent))},
		{"uploads aborted under one prefix only", "stack_deny_bucket_abort_incomplete_uploads", true,
			lifecycleWith(lifecycleRule("filter", map[string]any{"prefix": "originals/"}, "abortIncompleteMultipartUpload", abort(7), "noncurrentVersionExpiration", noncurrent))},
		{"abort rule disabled", "stack_deny_bucket_abort_incomplete_uploads", true,
			lifecycleWith(lifecycleRule("status", "Disabled", "abortIncompleteMultipartUpload", abort(7), "noncurrentVersionExpiration", noncurrent))},
		{"uploads aborted within a week", "stack_deny_bucket_abort_incomplete_uploads", false, b()},
		{"abort in a rule of its own", "stack_deny_bucket_abort_incomplete_uploads", false,
			lifecycleWith(lifecycleRule("noncurrentVersionExpiration", noncurrent), lifecycleRule("id", "abort", "abortIncompleteMultipartUpload", abort(1)))},

		// Noncurrent versions.
		{"versioned bucket keeping every version", "stack_deny_bucket_noncurrent_expiration", true,
			lifecycleWith(lifecycleRule("abortIncompleteMultipartUpload", abort(7)))},
		{"noncurrent versions expiring", "stack_deny_bucket_noncurrent_expiration", false, b()},
		{"unversioned bucket needs no noncurrent expiry", "stack_deny_bucket_noncurrent_expiration", false,
			withCompanion(lifecycleWith(lifecycleRule("abortIncompleteMultipartUpload", abort(7), "expiration", map[string]any{"days": 90})), versioning, nil)},

		// One policy per bucket.
		{"bucket with two policies", "stack_deny_bucket_single_policy", true, append(b(),
			res(bucketPolicy, "second", map[string]any{"bucket": name, "policy": doc(tlsDeny)}))},
		{"bucket with one policy", "stack_deny_bucket_single_policy", false, b()},

		// CloudFront grants.
		{"CloudFront grant without a condition", "deny_bucket_cloudfront_grant_unscoped", true, policyOf(cloudFront(nil))},
		{"CloudFront grant to every distribution", "deny_bucket_cloudfront_grant_unscoped", true,
			policyOf(cloudFront(map[string]any{"ArnLike": map[string]any{"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}}))},
		{"CloudFront grant by account only", "deny_bucket_cloudfront_grant_unscoped", true,
			policyOf(cloudFront(map[string]any{"StringEquals": map[string]any{"AWS:SourceAccount": "123456789012"}}))},
		{"CloudFront grant to one distribution", "deny_bucket_cloudfront_grant_unscoped", false,
			policyOf(cloudFront(map[string]any{"StringEquals": map[string]any{"AWS:SourceArn": []any{distArn}}}))},
		{"CloudFront grant unknown in a preview", "deny_bucket_cloudfront_grant_unscoped", false,
			[]Resource{res(bucketPolicy, "proxies", map[string]any{"bucket": "proxies", "policy": Unknown})}},

		// Force destroy.
		{"prod bucket destroyed with the stack", "deny_bucket_force_destroy", true, forceDestroy("prod", true)},
		{"staging bucket destroyed with the stack", "deny_bucket_force_destroy", false, forceDestroy("staging", true)},
		{"dev bucket destroyed with the stack", "deny_bucket_force_destroy", false, forceDestroy("dev", true)},
		{"prod bucket kept", "deny_bucket_force_destroy", false, forceDestroy("prod", false)},
	}
}
