package cinegit

import rego.v1

# S3 buckets
# ==========
#
# A bucket is an aws:s3/bucketV2:BucketV2 plus companion resources (default encryption, public
# access block, ownership controls, bucket policy, ...), each with a `bucket` input naming the
# bucket. Whether every bucket has its companions, correctly set, can only be seen across the
# stack, so these are stack policies reported on the bucket (where exceptions are declared).
#
# How a companion is related to its bucket
# ----------------------------------------
# Companion c belongs to bucket b when
#   1. c.bucket is a known string equal to b's `bucket` (name) or `id`: after an update, in the
#      offline engine, and in previews of unchanged resources, where a companion's bucket input
#      (the bucket's ID) equals the bucket's name; or
#   2. c.propertyDependencies.bucket contains b's URN: the engine records which resource the
#      bucket input came from even while its value is unknown (the analyzer's stack input); or
#   3. otherwise (c.bucket unknown, or naming no bucket of the stack by name or ID, and no
#      property dependencies, as when pkg/policy callers pass all dependencies as one list):
#      b's URN is among c.dependencies.
# When none of these names a bucket, the bucket input may come from another companion of b
# (pkg/bucket passes the public access block's `bucket` output to the bucket policy, so that the
# policy waits for the block): one such hop through a companion counts as well.

bucket_type := "aws:s3/bucketV2:BucketV2"

sse_type := "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"

public_access_block_type := "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"

ownership_controls_type := "aws:s3/bucketOwnershipControls:BucketOwnershipControls"

bucket_policy_type := "aws:s3/bucketPolicy:BucketPolicy"

# bucket_companion_types are the resource types configuring a bucket through a `bucket` input.
bucket_companion_types := {
	sse_type,
	public_access_block_type,
	ownership_controls_type,
	bucket_policy_type,
	"aws:s3/bucketVersioningV2:BucketVersioningV2",
	"aws:s3/bucketLoggingV2:BucketLoggingV2",
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
	"aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
	"aws:s3/bucketNotification:BucketNotification",
}

# buckets are the stack's buckets.
buckets := [b | some b in input.resources; b.__type == bucket_type]

# bucket_urns is the set of the buckets' URNs.
bucket_urns := {b.__urn | some b in buckets}

# bucket_candidates are the stack's companion resources.
bucket_candidates := [c | some c in input.resources; bucket_companion_types[c.__type]]

# bucket_keys are the known values a companion's bucket input may hold for bucket b.
bucket_keys(b) := {k | some k in [object.get(b, "bucket", null), object.get(b, "id", null)]; known_string(k)}

# buckets_by_key maps each bucket name or ID to the URNs of the buckets it names.
buckets_by_key := {k: {b.__urn | some b in buckets; k in bucket_keys(b)} | some b0 in buckets; some k in bucket_keys(b0)}

# bucket_input_sources are the URNs c's bucket input may have come from (relations 2 and 3).
bucket_input_sources(c) := deps if {
	deps := object.get(object.get(c, "propertyDependencies", {}), "bucket", [])
	count(deps) > 0
} else := object.get(c, "dependencies", [])

# named_buckets are the URNs of the buckets whose name or ID c's bucket input holds (relation 1).
named_buckets(c) := object.get(buckets_by_key, c.bucket, set()) if known_string(c.bucket)

# direct_buckets are the URNs of the buckets companion c names itself (relations 1 to 3).
direct_buckets(c) := named if {
	named := named_buckets(c)
	count(named) > 0
} else := {u | some u in bucket_input_sources(c); u in bucket_urns}

# direct_owners maps each companion's URN to the buckets it names itself.
direct_owners := {c.__urn: direct_buckets(c) | some c in bucket_candidates}

# owners maps each companion's URN to the buckets it configures: the ones it names itself or,
# when it names none, those of the companions its bucket input came from (one hop).
owners := {c.__urn: owned |
	some c in bucket_candidates
	owned := owning_buckets(c)
}

owning_buckets(c) := direct_owners[c.__urn] if {
	count(direct_owners[c.__urn]) > 0
} else := {o | some s in bucket_input_sources(c); some o in object.get(direct_owners, s, set())}

# candidates_by_type groups the companion resources by type.
candidates_by_type := {t: [c | some c in bucket_candidates; c.__type == t] | some t in bucket_companion_types}

# bucket_companions maps each bucket's URN to its companions by type: {urn: {type: [c]}}.
# Computed once per evaluation, so that policies can ask for a bucket's companions cheaply.
bucket_companions := {u: {t: [c | some c in cs; u in owners[c.__urn]] | some t, cs in candidates_by_type} |
	some u in bucket_urns
}

# companions_of_type lists bucket b's companions of one type.
companions_of_type(b, typ) := object.get(bucket_companions[b.__urn], typ, [])

# METADATA
# title: S3 default encryption configured
# description: >-
#   Every S3 bucket has a default encryption configuration
#   (aws:s3/bucketServerSideEncryptionConfigurationV2) related to it.
stack_deny_bucket_default_encryption contains finding if {
	some b in buckets
	count(companions_of_type(b, sse_type)) == 0
	not excepted(b, "stack_deny_bucket_default_encryption")
	finding := stack_finding(b, "has no default encryption configuration (aws:s3/bucketServerSideEncryptionConfigurationV2)")
}

# sse_problems lists what keeps an encryption configuration from SSE-KMS with a customer key.
sse_problems(c) := {"no default encryption rule"} if {
	count([r | some r in object.get(c, "rules", []); is_object(r.applyServerSideEncryptionByDefault)]) == 0
} else := {p |
	some rule in c.rules
	d := rule.applyServerSideEncryptionByDefault
	some p in sse_default_problems(d)
}

sse_default_problems(d) := {sprintf("default encryption is %v, not SSE-KMS (aws:kms)", [object.get(d, "sseAlgorithm", null)]) |
	not object.get(d, "sseAlgorithm", null) in {"aws:kms", "aws:kms:dsse"}
} | key_missing(d, "kmsMasterKeyId")

# METADATA
# title: S3 default encryption with a customer-managed key
# description: >-
#   Every S3 bucket's default encryption is SSE-KMS (aws:kms or aws:kms:dsse) with a
#   customer-managed kmsMasterKeyId. Buckets that S3 services can only deliver to with SSE-S3
#   (server access log targets) declare the exception cinegit:exception:sse-kms.
stack_deny_bucket_kms_encryption contains finding if {
	some b in buckets
	some c in companions_of_type(b, sse_type)
	problems := sse_problems(c)
	count(problems) > 0
	not excepted(b, "stack_deny_bucket_kms_encryption")
	finding := stack_finding(b, concat("; ", sort(problems)))
}

# public_access_flags must all be true on a bucket's public access block.
public_access_flags := ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]

# public_access_problem says what is wrong with bucket b's public access blocks, if anything.
public_access_problem(b) := "has no public access block (aws:s3/bucketPublicAccessBlock)" if {
	count(companions_of_type(b, public_access_block_type)) == 0
} else := sprintf("its public access block does not set %s", [concat(", ", sort(off))]) if {
	blocks := companions_of_type(b, public_access_block_type)
	not fully_blocked(blocks)
	off := {flag | some c in blocks; some flag in public_access_flags; not is_true(object.get(c, flag, false))}
}

# fully_blocked holds when one of the blocks sets all four flags.
fully_blocked(blocks) if {
	some c in blocks
	every flag in public_access_flags {
		is_true(object.get(c, flag, false))
	}
}

# METADATA
# title: S3 public access blocked
# description: >-
#   Every S3 bucket has a public access block with blockPublicAcls, blockPublicPolicy,
#   ignorePublicAcls and restrictPublicBuckets all true. Public content is served through
#   CloudFront with origin access control, never from S3 directly.
stack_deny_bucket_public_access_block contains finding if {
	some b in buckets
	problem := public_access_problem(b)
	not excepted(b, "stack_deny_bucket_public_access_block")
	finding := stack_finding(b, problem)
}

# METADATA
# title: S3 object ownership enforced
# description: >-
#   Every S3 bucket has ownership controls with objectOwnership BucketOwnerEnforced: ACLs are
#   disabled and the bucket owner owns every object, whoever wrote it.
stack_deny_bucket_ownership_controls contains finding if {
	some b in buckets
	not owner_enforced(b)
	not excepted(b, "stack_deny_bucket_ownership_controls")
	finding := stack_finding(b, "has no ownership controls with objectOwnership BucketOwnerEnforced")
}

owner_enforced(b) if {
	some c in companions_of_type(b, ownership_controls_type)
	c.rule.objectOwnership == "BucketOwnerEnforced"
}

# METADATA
# title: S3 requests without TLS denied
# description: >-
#   Every S3 bucket has a bucket policy with a statement denying s3:* to every principal when
#   aws:SecureTransport is false. A policy document that is unknown in a preview is checked
#   after the update.
stack_deny_bucket_tls_only contains finding if {
	some b in buckets
	not tls_enforced(b)
	not excepted(b, "stack_deny_bucket_tls_only")
	finding := stack_finding(b, "has no bucket policy denying requests without TLS (aws:SecureTransport false)")
}

tls_enforced(b) if {
	some c in companions_of_type(b, bucket_policy_type)
	denies_insecure_transport(c.policy)
}

tls_enforced(b) if {
	some c in companions_of_type(b, bucket_policy_type)
	is_set(c.policy)
	not known_string(c.policy)
}

# denies_insecure_transport holds for a policy document (JSON) with a statement denying every
# principal all S3 actions without TLS.
denies_insecure_transport(policy) if {
	known_string(policy)
	json.is_valid(policy)
	some st in as_array(json.unmarshal(policy).Statement)
	st.Effect == "Deny"
	every_principal(st.Principal)
	some action in as_array(st.Action)
	lower(action) in {"s3:*", "*"}
	some value in as_array(st.Condition.Bool["aws:SecureTransport"])
	lower(sprintf("%v", [value])) == "false"
}

every_principal(p) if p == "*"

every_principal(p) if "*" in as_array(p.AWS)
