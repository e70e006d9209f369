package cinegit

import rego.v1

# Exceptions
# ==========
#
# A resource that legitimately needs an exception declares it next to itself, as a tag:
#
#   cinegit:exception:<policy name> = "<reason>"
#
# e.g. `cinegit:exception:deny_open_ingress = "CloudFront origin-facing..."`. The tag is in the
# resource's inputs, so the analyzer sees it in real previews and pkg/policy sees it offline;
# it is also deployed with the resource, so the AWS console shows why the resource differs.
# The reason must be a non-empty string (AWS tag values allow letters, digits, spaces and
# _ . : / = + - @). A misspelled policy name waives nothing: the policy still fails.
#
# Some components record a topic instead of a policy name (pkg/bucket: cinegit:exception:sse-kms
# on a bucket encrypted with SSE-S3); exception_aliases maps such topics to the policies they
# waive (versioning and access-logging: the policies of s3_media.rego).
#
# Resources that cannot be tagged (bucket companions, security group rules, role policies, ...)
# declare exceptions in untaggable_exceptions below, keyed by "<type>::<logical name>"; the
# entry applies in every stack where the program creates that resource, like a tag would.
# Prefer restructuring (a taggable resource type, or relating the finding to a taggable
# resource) over adding entries here.
#
# Policies honour exceptions through `not excepted(r, "<policy>")`. In real previews an excepted
# finding is not reported as a violation; warn_policy_exception lists every declared exception
# as an advisory instead, so the waiver is visible in the preview. pkg/policy evaluates the
# policies with exceptions switched off (see excepted) and reports waived findings, with their
# reasons, separately (Report.Exceptions), in place of warn_policy_exception.

# exception_tag_prefix starts the tag keys that declare exceptions.
exception_tag_prefix := "cinegit:exception:"

# exception_aliases maps exception topics that components use to the policies they waive.
exception_aliases := {
	"sse-kms": {"stack_deny_bucket_kms_encryption"},
	"versioning": {"stack_deny_bucket_versioning"},
	"access-logging": {"stack_deny_bucket_access_logging"},
}

# waivable names, for each mandatory policy (deny_*, stack_deny_*) that may be waived at all,
# the resource types a tag may waive it on. A tag that names a mandatory policy on any other
# type waives nothing, and deny_unlisted_exception fails the resource: a
# mandatory rule is lifted only where this pack, reviewed like the rules, says it may be, never
# by a tag alone. Advisory policies (warn_*) may be waived on any resource.
waivable := {
	# The access-log bucket: S3 delivers server access logs only to SSE-S3 buckets, and a log
	# bucket neither logs itself nor needs versions (pkg/bucket).
	"stack_deny_bucket_kms_encryption": {"aws:s3/bucketV2:BucketV2"},
	"stack_deny_bucket_access_logging": {"aws:s3/bucketV2:BucketV2"},
	"stack_deny_bucket_versioning": {"aws:s3/bucketV2:BucketV2"},
}

# mandatory_policy holds for the names of mandatory policies.
mandatory_policy(policy) if startswith(policy, "deny_")

mandatory_policy(policy) if startswith(policy, "stack_deny_")

# may_waive holds when an exception may waive policy on a resource of type typ.
may_waive(policy, _) if not mandatory_policy(policy)

may_waive(policy, typ) if waivable[policy][typ]

# untaggable_exceptions lists exceptions for resources that have no tags:
# {"<type>::<logical name>": {"<policy>": "<reason>"}}.
untaggable_exceptions := {}

# exception_targets is the set of policies a tag key waives (empty for other tags).
exception_targets(key) := targets if {
	startswith(key, exception_tag_prefix)
	name := substring(key, count(exception_tag_prefix), -1)
	targets := object.get(exception_aliases, name, {name})
} else := set()

# usable_reason holds for a reason that explains something.
usable_reason(reason) if {
	known_string(reason)
	trim_space(reason) != ""
}

# tag_exceptions is {policy: reason} for the exceptions declared in r's tags. Two tags waiving
# the same policy (a topic and the policy's name) join their reasons.
tag_exceptions(r) := {policy: reason |
	tags := object.get(r, "tags", {})
	is_object(tags)
	some policy in {p | some key, _ in tags; some p in exception_targets(key)}
	reasons := sort([v | some key, v in tags; policy in exception_targets(key); usable_reason(v)])
	count(reasons) > 0
	reason := concat("; ", reasons)
}

# declared_exceptions is {policy: reason} for every exception r declares: by a listing, which
# is part of the pack, or by a tag the pack allows on r's type (waivable).
declared_exceptions(r) := object.union(
	object.get(untaggable_exceptions, sprintf("%s::%s", [r.__type, r.__name]), {}),
	{policy: reason | some policy, reason in tag_exceptions(r); may_waive(policy, r.__type)},
)

# excepted holds when resource r declares an exception for policy.
#
# pkg/policy's evaluator defines data.cinegit_offline.report_waived to run the policies with
# exceptions off, so that it can report waived findings with their messages and reasons next
# to the violations; the analyzer has no such document, so real previews honour exceptions.
excepted(r, policy) if {
	not data.cinegit_offline.report_waived
	declared_exceptions(r)[policy]
}

# METADATA
# title: Declared policy exception
# description: >-
#   Lists every policy exception a resource declares (tag cinegit:exception:<policy> or an
#   untaggable_exceptions entry) with its reason, so that waivers show in the preview. Advisory:
#   an exception is allowed, it must only be visible.
warn_policy_exception contains msg if {
	some policy, reason in declared_exceptions(input)
	msg := sprintf("%s: policy %s is waived: %s", [describe(input), policy, reason])
}

# METADATA
# title: Exception the pack does not allow
# description: >-
#   A resource declares an exception (tag cinegit:exception:<policy>) to a mandatory policy that
#   the pack does not allow to be waived on its type (waivable in exceptions.rego): the
#   exception waives nothing, and the attempt fails the preview. This policy itself cannot be
#   waived.
deny_unlisted_exception contains msg if {
	taggable_types[input.__type]
	some policy, _ in tag_exceptions(input)
	not may_waive(policy, input.__type)
	not excepted(input, "deny_unlisted_exception")
	msg := sprintf("%s declares an exception to the mandatory policy %s, which the pack does not allow to be waived on %s (waivable in policy/exceptions.rego)", [describe(input), policy, input.__type])
}
