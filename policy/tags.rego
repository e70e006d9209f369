package cinegit

import rego.v1

# required_tags must be on every taggable AWS resource, set explicitly in its inputs: the
# provider's defaultTags also apply them, but only inputs are visible to policies (and some
# services, e.g. Auto Scaling launches, do not inherit default tags).
required_tags := ["project", "environment", "managed-by"]

# missing_tags lists the required tags r lacks or leaves empty. A tags map that is unknown as a
# whole (computed in a preview) cannot be checked yet and lacks nothing.
missing_tags(r) := [] if {
	is_set(r.tags)
	not is_object(r.tags)
} else := [key |
	some key in required_tags
	not is_set(object.get(object.get(r, "tags", {}), key, null))
]

# METADATA
# title: Required tags
# description: >-
#   Every taggable AWS resource (policy/types.rego) carries the tags project, environment and
#   managed-by in its own inputs, so that cost reports, ownership and the environment-specific
#   policies can rely on them.
deny_required_tags contains msg if {
	taggable_types[input.__type]
	missing := missing_tags(input)
	count(missing) > 0
	not excepted(input, "deny_required_tags")
	msg := sprintf("%s lacks the required tags %s", [describe(input), concat(", ", missing)])
}
