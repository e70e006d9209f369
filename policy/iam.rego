package cinegit

import rego.v1

# IAM least privilege
# ===================
#
# Identity policies are checked where the program writes them: managed policies
# (aws:iam/policy), inline role/user/group policies, and a role's inlinePolicies. Resource
# policies are not: in a KMS key policy Resource "*" means the key itself, and bucket or queue
# policies are bounded by their resource. A policy document that is unknown in a preview is
# checked after the update (AnalyzeStack sees outputs) or by the offline plan.

# identity_policy_types are the types whose `policy` input is an identity policy document.
identity_policy_types := {
	"aws:iam/policy:Policy",
	"aws:iam/rolePolicy:RolePolicy",
	"aws:iam/userPolicy:UserPolicy",
	"aws:iam/groupPolicy:GroupPolicy",
}

# policy_document_types are the types that carry identity policy documents.
policy_document_types := identity_policy_types | {"aws:iam/role:Role"}

# policy_documents lists r's identity policy documents as {"where", "doc"} objects.
policy_documents(r) := {{"where": "policy", "doc": json.unmarshal(r.policy)} |
	identity_policy_types[r.__type]
	known_string(r.policy)
	json.is_valid(r.policy)
} | {{"where": sprintf("inline policy %v", [object.get(p, "name", i)]), "doc": json.unmarshal(p.policy)} |
	r.__type == "aws:iam/role:Role"
	some i, p in object.get(r, "inlinePolicies", [])
	known_string(p.policy)
	json.is_valid(p.policy)
}

# allow_statements lists r's Allow statements as {"where", "sid", "actions", "resources"}.
allow_statements(r) := {{
	"where": d.where,
	"sid": object.get(st, "Sid", sprintf("#%d", [i])),
	"actions": [lower(a) | some a in as_array(object.get(st, "Action", []))],
	"resources": as_array(object.get(st, "Resource", [])),
} |
	some d in policy_documents(r)
	some i, st in as_array(object.get(d.doc, "Statement", []))
	object.get(st, "Effect", "") == "Allow"
}

# METADATA
# title: No IAM statement allowing every action
# description: >-
#   No identity policy statement allows Action "*" (or "*:*"): grant the actions a workload
#   needs. Administrator access is for people through SSO, never for resources of this program.
deny_iam_wildcard_action contains msg if {
	input.__type in policy_document_types
	some st in allow_statements(input)
	some action in st.actions
	action in {"*", "*:*"}
	not excepted(input, "deny_iam_wildcard_action")
	msg := sprintf("%s: %s statement %s allows every action (%s)", [describe(input), st.where, st.sid, action])
}

# METADATA
# title: IAM statements avoid service-wide wildcards
# description: >-
#   Identity policy statements should not allow a whole service ("s3:*", "kms:*"): list the
#   actions instead, so that a new action of the service is not granted silently.
warn_iam_service_wildcard_action contains msg if {
	input.__type in policy_document_types
	some st in allow_statements(input)
	some action in st.actions
	endswith(action, ":*")
	action != "*:*"
	not excepted(input, "warn_iam_service_wildcard_action")
	msg := sprintf("%s: %s statement %s allows every action of a service (%s)", [describe(input), st.where, st.sid, action])
}

# data_services are the services whose actions must name their resources: S3 objects and
# buckets, KMS keys and Secrets Manager secrets hold or unlock the stack's data.
data_services := {"s3", "kms", "secretsmanager"}

# account_level_actions cannot be limited to a resource; AWS requires Resource "*" for them.
account_level_actions := {
	"s3:listallmybuckets",
	"s3:getaccountpublicaccessblock",
	"kms:listkeys",
	"kms:listaliases",
	"kms:createkey",
	"kms:generaterandom",
	"kms:connectcustomkeystore",
	"kms:describecustomkeystores",
	"secretsmanager:listsecrets",
	"secretsmanager:getrandompassword",
	"secretsmanager:batchgetsecretvalue",
}

# data_action holds for an action (lower case) on a data service that can name a resource.
data_action(action) if {
	service := split(action, ":")[0]
	service in data_services
	not account_level_actions[action]
}

# METADATA
# title: No wildcard resource for S3, KMS and Secrets Manager
# description: >-
#   Identity policy statements that allow S3, KMS or Secrets Manager actions name the buckets,
#   keys or secrets (ARNs, possibly with a path wildcard), never Resource "*". Actions that AWS
#   only grants on "*" (s3:ListAllMyBuckets, kms:ListAliases, secretsmanager:ListSecrets, ...)
#   are exempt.
deny_iam_wildcard_resource contains msg if {
	input.__type in policy_document_types
	some st in allow_statements(input)
	"*" in st.resources
	actions := sort({a | some a in st.actions; data_action(a)})
	count(actions) > 0
	not excepted(input, "deny_iam_wildcard_resource")
	msg := sprintf("%s: %s statement %s allows %s on Resource \"*\"", [describe(input), st.where, st.sid, concat(", ", actions)])
}

# METADATA
# title: No IAM statement allowing everything but a list
# description: >-
#   No identity policy statement allows with NotAction: "Allow" with NotAction grants every
#   action of every service but the ones listed, today's and tomorrow's ("IAM JSON policy
#   elements: NotAction", IAM User Guide). List the actions to allow instead.
deny_iam_allow_not_action contains msg if {
	input.__type in policy_document_types
	some d in policy_documents(input)
	some i, st in as_array(object.get(d.doc, "Statement", []))
	object.get(st, "Effect", "") == "Allow"
	object.get(st, "NotAction", null) != null
	not excepted(input, "deny_iam_allow_not_action")
	msg := sprintf("%s: %s statement %v allows every action but %v (NotAction)", [describe(input), d.where, object.get(st, "Sid", sprintf("#%d", [i])), st.NotAction])
}

# admin_policy_arns are AWS managed policies that grant administrator access or the means to
# take it (IAMFullAccess creates and attaches any policy).
admin_policy_arns := {
	"arn:aws:iam::aws:policy/AdministratorAccess",
	"arn:aws:iam::aws:policy/IAMFullAccess",
}

# attachment_types attach a managed policy (policyArn) to a role, user or group.
attachment_types := {
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment",
	"aws:iam/userPolicyAttachment:UserPolicyAttachment",
	"aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
	"aws:iam/policyAttachment:PolicyAttachment",
}

# attached_admin_policies lists the administrator policies r attaches.
attached_admin_policies(r) := {arn |
	attachment_types[r.__type]
	arn := r.policyArn
	admin_policy_arns[arn]
} | {arn |
	r.__type == "aws:iam/role:Role"
	some arn in object.get(r, "managedPolicyArns", [])
	admin_policy_arns[arn]
}

# METADATA
# title: No administrator policy attached
# description: >-
#   No role, user or group of the stacks gets AdministratorAccess or IAMFullAccess, by an
#   attachment or a role's managedPolicyArns: the only holder of administrator access is the
#   deploy runner, which bootstrap/ creates outside the stacks. Workloads get policies that list
#   their actions and resources.
deny_iam_admin_attachment contains msg if {
	input.__type in attachment_types | {"aws:iam/role:Role"}
	some arn in attached_admin_policies(input)
	not excepted(input, "deny_iam_admin_attachment")
	msg := sprintf("%s attaches %s", [describe(input), arn])
}
