package cinegit

import rego.v1

# CineGit's service roles and database access
# ===========================================
#
# pkg/services gives each CineGit service an IRSA role, tagged cinegit:service with the service
# and kubernetes-namespace / kubernetes-service-account with its identity. These rules keep a
# service role to that one identity and keep IAM database authentication to named users.

# service_role holds for roles that belong to a CineGit service.
service_role(r) if {
	r.__type == "aws:iam/role:Role"
	object.get(object.get(r, "tags", {}), "cinegit:service", "") != ""
}

# service_role_problems lists how a service role's trust policy reaches beyond the service
# account its tags name.
service_role_problems(r) := problems if {
	tags := object.get(r, "tags", {})
	ns := object.get(tags, "kubernetes-namespace", "")
	sa := object.get(tags, "kubernetes-service-account", "")
	want := sprintf("system:serviceaccount:%s:%s", [ns, sa])
	statements := as_array(object.get(json.unmarshal(r.assumeRolePolicy), "Statement", []))
	web := web_identity_statements(r)
	problems := ((({"the kubernetes-namespace and kubernetes-service-account tags do not name the service account" |
		ns == ""
	} | {"the kubernetes-namespace and kubernetes-service-account tags do not name the service account" |
		sa == ""
	}) | {"the trust policy has no statement for the cluster's service account tokens" |
		count(web) == 0
	}) | {sprintf("statement %v lets another principal assume the role", [object.get(st, "Sid", "")]) |
		some st in statements
		not st in web
		object.get(st, "Effect", "") == "Allow"
	}) | {sprintf("sub %v is not the service's account %s", [v, want]) |
		some st in web
		some v in irsa_claim_values(st, ":sub")
		v != want
	}
}

# METADATA
# title: Service roles are assumable by their service account only
# description: >-
#   A role tagged cinegit:service (one of CineGit's services) is assumable only through the
#   cluster's OIDC provider by exactly the service account its kubernetes-namespace and
#   kubernetes-service-account tags name: no other statement, no other subject. (deny_irsa_trust
#   checks that the claims are pinned with StringEquals and the audience is STS.)
deny_service_role_scope contains msg if {
	input.__type == "aws:iam/role:Role"
	service_role(input)
	known_string(input.assumeRolePolicy)
	json.is_valid(input.assumeRolePolicy)
	problems := service_role_problems(input)
	count(problems) > 0
	not excepted(input, "deny_service_role_scope")
	msg := problems_message(input, problems)
}

# rds_connect(action) holds for rds-db:connect and the wildcards that include it.
rds_connect(action) if action in {"rds-db:connect", "rds-db:*"}

# dbuser_arn holds for arn:<partition>:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>
# with no wildcard: one user of one instance.
dbuser_arn(v) if {
	is_string(v)
	regex.match(`^arn:aws[a-z-]*:rds-db:[a-z0-9-]+:[0-9]{12}:dbuser:db-[A-Za-z0-9_-]+/[a-z_][a-z0-9_]*$`, v)
}

# METADATA
# title: rds-db:connect names one database user of one instance
# description: >-
#   IAM database authentication grants (rds-db:connect) name exactly one database user of
#   exactly one instance (arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>),
#   never "*" or a wildcard: a wildcard would let the holder log in as any user, the master
#   user's IAM login included.
deny_rds_connect_wildcard contains msg if {
	input.__type in policy_document_types
	some st in allow_statements(input)
	some action in st.actions
	rds_connect(action)
	some resource in st.resources
	known_string(resource)
	not dbuser_arn(resource)
	not excepted(input, "deny_rds_connect_wildcard")
	msg := sprintf("%s: %s statement %s allows %s on %v, not one database user of one instance", [describe(input), st.where, st.sid, action, resource])
}
