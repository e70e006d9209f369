package cinegit

import rego.v1

# S3 buckets: versioning, access logging, lifecycle and policies
# ==============================================================
#
# These extend s3.rego (which relates companions to their buckets: companions_of_type) with
# what CineGit's secure buckets (pkg/bucket) promise beyond encryption and public access:
# versioned objects whose old versions expire, server access logs in another bucket, no
# multipart upload left to bill forever, exactly one bucket policy, CloudFront grants scoped to
# one distribution, and no force-destroy where data must survive.
#
# A bucket that opts out of versioning or access logging says why with the tags
# cinegit:exception:versioning and cinegit:exception:access-logging (exceptions.rego maps them
# to the policies below), e.g. the access-logs bucket, which S3 cannot log to itself.

bucket_versioning_type := "aws:s3/bucketVersioningV2:BucketVersioningV2"

bucket_logging_type := "aws:s3/bucketLoggingV2:BucketLoggingV2"

bucket_lifecycle_type := "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"

# bucket_versioned holds when bucket b has versioning Enabled (Suspended keeps old versions but
# stops making new ones).
bucket_versioned(b) if {
	some c in companions_of_type(b, bucket_versioning_type)
	c.versioningConfiguration.status == "Enabled"
}

# METADATA
# title: S3 buckets are versioned
# description: >-
#   Every S3 bucket has versioning Enabled (aws:s3/bucketVersioningV2), so that an overwrite or
#   a delete can be undone until noncurrent versions expire. A bucket whose objects are
#   write-once and expire by lifecycle (access logs) declares cinegit:exception:versioning.
stack_deny_bucket_versioning contains finding if {
	some b in buckets
	not bucket_versioned(b)
	not excepted(b, "stack_deny_bucket_versioning")
	finding := stack_finding(b, "has no versioning configuration with status Enabled (aws:s3/bucketVersioningV2)")
}

# bucket_logged holds when bucket b sends server access logs to a bucket other than itself.
bucket_logged(b) if {
	some c in companions_of_type(b, bucket_logging_type)
	not logs_to_itself(c, b)
}

logs_to_itself(c, b) if {
	known_string(c.targetBucket)
	c.targetBucket in bucket_keys(b)
}

# METADATA
# title: S3 server access logging
# description: >-
#   Every S3 bucket sends server access logs (aws:s3/bucketLoggingV2) to a different bucket.
#   The access-logs bucket itself declares cinegit:exception:access-logging.
stack_deny_bucket_access_logging contains finding if {
	some b in buckets
	not bucket_logged(b)
	not excepted(b, "stack_deny_bucket_access_logging")
	finding := stack_finding(b, "has no server access logging to another bucket (aws:s3/bucketLoggingV2)")
}

# enabled_lifecycle_rules lists the Enabled rules of bucket b's lifecycle configurations.
enabled_lifecycle_rules(b) := [rule |
	some c in companions_of_type(b, bucket_lifecycle_type)
	some rule in object.get(c, "rules", [])
	object.get(rule, "status", "") == "Enabled"
]

# whole_bucket_rule holds for a rule whose filter selects every object (no prefix, tag or size).
whole_bucket_rule(rule) if {
	filter := object.get(rule, "filter", {})
	is_object(filter)
	object.get(filter, "prefix", "") == ""
	object.get(rule, "prefix", "") == ""
	not is_set(object.get(filter, "tag", null))
	not is_set(object.get(filter, "and", null))
	not is_set(object.get(filter, "objectSizeGreaterThan", null))
	not is_set(object.get(filter, "objectSizeLessThan", null))
}

whole_bucket_rule(rule) if {
	not is_set(object.get(rule, "filter", null))
	object.get(rule, "prefix", "") == ""
}

# aborts_uploads holds when bucket b aborts every incomplete multipart upload within a week.
aborts_uploads(b) if {
	some rule in enabled_lifecycle_rules(b)
	whole_bucket_rule(rule)
	days := rule.abortIncompleteMultipartUpload.daysAfterInitiation
	is_number(days)
	days >= 1
	days <= 7
}

# METADATA
# title: S3 incomplete multipart uploads are aborted
# description: >-
#   Every S3 bucket has an enabled whole-bucket lifecycle rule aborting incomplete multipart
#   uploads within 1 to 7 days: uploaded parts of an abandoned upload are billed but invisible,
#   and media uploads are large.
stack_deny_bucket_abort_incomplete_uploads contains finding if {
	some b in buckets
	not aborts_uploads(b)
	not excepted(b, "stack_deny_bucket_abort_incomplete_uploads")
	finding := stack_finding(b, "has no enabled whole-bucket lifecycle rule aborting incomplete multipart uploads within 7 days")
}

# expires_noncurrent holds when bucket b deletes noncurrent versions after some days.
expires_noncurrent(b) if {
	some rule in enabled_lifecycle_rules(b)
	whole_bucket_rule(rule)
	positive(rule.noncurrentVersionExpiration.noncurrentDays)
}

# METADATA
# title: S3 noncurrent versions expire
# description: >-
#   Every versioned S3 bucket has an enabled whole-bucket lifecycle rule expiring noncurrent
#   versions: without one, every overwrite of a media file is kept and billed forever.
stack_deny_bucket_noncurrent_expiration contains finding if {
	some b in buckets
	bucket_versioned(b)
	not expires_noncurrent(b)
	not excepted(b, "stack_deny_bucket_noncurrent_expiration")
	finding := stack_finding(b, "is versioned but no enabled whole-bucket lifecycle rule expires noncurrent versions")
}

# METADATA
# title: One policy per S3 bucket
# description: >-
#   An S3 bucket has at most one aws:s3/bucketPolicy: S3 keeps one policy per bucket, so a
#   second resource silently replaces the first one's statements (and whichever is applied last
#   wins on every update). Put every grant of a bucket in one policy.
stack_deny_bucket_single_policy contains finding if {
	some b in buckets
	policies := companions_of_type(b, bucket_policy_type)
	count(policies) > 1
	not excepted(b, "stack_deny_bucket_single_policy")
	finding := stack_finding(b, sprintf("has %d bucket policies (%s): S3 keeps only one", [count(policies), concat(", ", sort([p.__name | some p in policies]))]))
}

# cloudfront_grant_problems lists the statements of a bucket policy document that allow the
# CloudFront service principal without pinning one distribution with AWS:SourceArn.
cloudfront_grant_problems(doc) := {sprintf("statement %v allows CloudFront without an AWS:SourceArn equal to one distribution", [object.get(st, "Sid", i)]) |
	some i, st in as_array(object.get(doc, "Statement", []))
	object.get(st, "Effect", "") == "Allow"
	"cloudfront.amazonaws.com" in as_array(object.get(object.get(st, "Principal", {}), "Service", []))
	not pins_one_distribution(st)
}

# pins_one_distribution holds for a statement whose AWS:SourceArn (any case) must equal
# distribution ARNs without wildcards.
pins_one_distribution(st) if {
	some op in {"StringEquals", "ArnEquals"}
	some key, values in object.get(object.get(st, "Condition", {}), op, {})
	lower(key) == "aws:sourcearn"
	arns := as_array(values)
	count(arns) > 0
	every arn in arns {
		is_string(arn)
		contains(arn, ":distribution/")
		not contains(arn, "*")
	}
}

# METADATA
# title: CloudFront bucket grants name one distribution
# description: >-
#   A bucket policy statement allowing cloudfront.amazonaws.com (origin access control) has an
#   AWS:SourceArn StringEquals or ArnEquals condition naming the distribution, so that no other
#   distribution, in any account, can read the bucket through CloudFront.
deny_bucket_cloudfront_grant_unscoped contains msg if {
	input.__type == bucket_policy_type
	known_string(input.policy)
	json.is_valid(input.policy)
	problems := cloudfront_grant_problems(json.unmarshal(input.policy))
	count(problems) > 0
	not excepted(input, "deny_bucket_cloudfront_grant_unscoped")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# METADATA
# title: Prod's buckets survive a destroy
# description: >-
#   S3 buckets in prod do not set forceDestroy: deleting the stack, or a replacing change, must
#   fail rather than empty the bucket with every version of every object. The ephemeral stacks
#   (dev, and staging, which holds prod's shape but not its data) destroy their buckets with
#   the stack, by their stack files' choice (docs/destroy.md).
deny_bucket_force_destroy contains msg if {
	input.__type == bucket_type
	environment(input) in data_kept_environments
	is_true(object.get(input, "forceDestroy", false))
	not excepted(input, "deny_bucket_force_destroy")
	msg := sprintf("%s: forceDestroy is true in %s", [describe(input), environment(input)])
}
