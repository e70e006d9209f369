# METADATA
# title: CineGit
# description: >-
#   CineGit's infrastructure policy pack: tagging, encryption at rest with customer-managed KMS
#   keys, S3 bucket hardening, network exposure, IAM least privilege, log retention and the
#   protection of data stores. Runs unchanged under `pulumi preview --policy-pack policy`
#   (pulumi-analyzer-policy-opa) and offline under `go run . plan` (pkg/policy).
# scope: package
package cinegit

import rego.v1

# How the pack is evaluated
# =========================
#
# Every file in this directory is `package cinegit` and imports rego.v1. pulumi-policy-opa
# requires one package for the whole pack (the package is the pack's name) and parses modules
# in Rego v0 mode, where `import rego.v1` turns on the v1 syntax (`if`, `contains`) used here;
# in v1 mode (pkg/policy) the import is a no-op.
#
# The analyzer treats a rule as a policy when its name matches one of
#
#   ^(deny|violation)(_[a-zA-Z0-9]+)*$        mandatory, evaluated per resource (Analyze)
#   ^warn(_[a-zA-Z0-9]+)*$                    advisory,  evaluated per resource
#   ^stack_(deny|violation)(_[a-zA-Z0-9]+)*$  mandatory, evaluated once per stack (AnalyzeStack)
#   ^stack_warn(_[a-zA-Z0-9]+)*$              advisory,  evaluated once per stack
#
# and queries data.cinegit.<rule> for each one separately: each deny_x rule is a policy of its
# own, with the title and description of its METADATA annotation. There is deliberately no
# aggregate `deny` rule (`deny contains msg if some deny_x ...`): the analyzer would evaluate it
# as one more policy and report every violation twice.
#
# Conventions, checked by pkg/policy's tests:
#   - policy names use lower-case letters and underscores only (releases before 1.0 of the
#     analyzer accepted no digits in the suffix: deny_bucket_..., never deny_s3_...);
#   - every policy has a METADATA block with a title and a description;
#   - a rule has one body (the analyzer reports repeated bodies as duplicate policies); variants
#     are helper functions joined inside the body;
#   - helpers are functions or complete rules (`x := ...`), never partial sets, which the
#     analyzer would flag as policies it does not recognise;
#   - every policy except warn_policy_exception honours exceptions: its body contains
#     `not excepted(<resource>, "<its own name>")` (see exceptions.rego);
#   - every resource policy tests the resource's type first, with an expression that reads
#     nothing of the input but input.__type (`input.__type == "aws:..."`, `input.__type in
#     some_types`, `some_types[input.__type]`): pkg/policy derives from it which policies to run
#     on which resources, which keeps offline evaluation of a whole stack fast.
#
# Input
# -----
# A resource policy sees one resource: its properties at the top level of `input` (the inputs
# the program registered), plus __type, __urn, __name, __options (protect, parent, ...) and
# __provider. Always use input.__type, never input.type: a property named `type` (e.g. on
# aws:ec2/securityGroupRule) shadows the metadata field.
#
# A stack policy sees input.resources, every resource of the stack in the same shape plus
# `dependencies` (URNs) and `propertyDependencies` (property -> URNs). The real analyzer
# passes the resources' final outputs there. Stack policies report objects
# {"msg": <message>, "urn": <offending resource>}: the analyzer shows msg (attached to the
# stack), pkg/policy attributes the finding to urn.
#
# Unknown values
# --------------
# In a preview, values that are computed by other resources (ARNs, IDs) are unknown. The
# analyzer receives them as non-string placeholders; pkg/policy callers pass policy.Unknown
# (Pulumi's unknown string sentinel, `unknown` below). A property that is unknown counts as
# set (is_set) but is never equal to any known value (known_string): rules must not fail a
# resource only because a value is not known yet.

# unknown is Pulumi's sentinel for an unknown string (sdk/go/common/resource/sig).
unknown := "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# is_set holds when x is present and not null or the empty string. Unknown values are set.
is_set(x) if {
	x != null
	x != ""
}

# known_string holds when x is a non-empty string whose value is known.
known_string(x) if {
	is_string(x)
	x != ""
	x != unknown
}

# is_true accepts a boolean true, or the string "true" that some providers use for booleans
# (e.g. a launch template's ebs.encrypted).
is_true(x) if x == true

is_true(x) if x == "true"

# as_array normalises IAM-style "string or list" values to a list.
as_array(x) := x if is_array(x)

as_array(x) := [x] if not is_array(x)

# is_aws holds for resources of the AWS provider (not its provider resources).
is_aws(r) if startswith(r.__type, "aws:")

# environment is the stack a resource belongs to, from its environment tag (dev, staging, prod).
environment(r) := r.tags.environment

# describe names a resource in messages: `<type> "<name>"`.
describe(r) := sprintf("%s %q", [r.__type, r.__name])

# stack_finding is what a stack policy reports about resource r.
stack_finding(r, msg) := {"msg": sprintf("%s: %s", [describe(r), msg]), "urn": r.__urn}
