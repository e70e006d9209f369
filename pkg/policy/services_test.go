package policy

import "testing"

func init() { caseSets = append(caseSets, serviceCases) }

const (
	rolePolicyType = "aws:iam/rolePolicy:RolePolicy"
	dbUserArn      = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/project"
)

// serviceRole is a CineGit service's role as pkg/services registers it: tagged with the
// service and its identity, trusting the given document.
func serviceRole(ns, sa, trust string) []Resource {
	return []Resource{res(eksRole, "services-project", map[string]any{
		"tags":             tagsWith("dev", "cinegit:service", "project", "kubernetes-namespace", ns, "kubernetes-service-account", sa),
		"assumeRolePolicy": trust,
	})}
}

// connectPolicy is an inline policy allowing rds-db:connect on the given resources.
func connectPolicy(resources ...any) []Resource {
	return []Resource{res(rolePolicyType, "services-project", map[string]any{"policy": doc(map[string]any{
		"Sid": "ConnectAsProject", "Effect": "Allow", "Action": []any{"rds-db:connect"}, "Resource": resources,
	})})}
}

func serviceCases() []ruleCase {
	own := "system:serviceaccount:cinegit:project"
	return []ruleCase{
		// Service roles are scoped to their service account.
		{"trust names another service account", "deny_service_role_scope", true,
			serviceRole("cinegit", "project", irsaTrust(exactTrust("system:serviceaccount:cinegit:review")))},
		{"trust names the account in another namespace", "deny_service_role_scope", true,
			serviceRole("cinegit", "project", irsaTrust(exactTrust("system:serviceaccount:default:project")))},
		{"a second statement lets an AWS principal assume the role", "deny_service_role_scope", true,
			serviceRole("cinegit", "project", doc(
				map[string]any{"Sid": "ServiceAccount", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
					"Principal": map[string]any{"Federated": "arn:aws:iam::123456789012:oidc-provider/" + eksIssuer},
					"Condition": exactTrust(own)},
				map[string]any{"Sid": "Admins", "Effect": "Allow", "Action": "sts:AssumeRole",
					"Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:root"}},
			))},
		{"no web identity statement at all", "deny_service_role_scope", true,
			serviceRole("cinegit", "project", doc(map[string]any{"Sid": "Ec2", "Effect": "Allow", "Action": "sts:AssumeRole",
				"Principal": map[string]any{"Service": "ec2.amazonaws.com"}}))},
		{"tags do not name the service account", "deny_service_role_scope", true,
			serviceRole("cinegit", "", irsaTrust(exactTrust(own)))},
		{"trust pinned to the service's own account", "deny_service_role_scope", false,
			serviceRole("cinegit", "project", irsaTrust(exactTrust(own)))},
		{"trust unknown in a preview", "deny_service_role_scope", false, serviceRole("cinegit", "project", Unknown)},
		{"a role of no service is not checked here", "deny_service_role_scope", false, []Resource{res(eksRole, "cluster-autoscaler",
			map[string]any{"tags": stdTags("dev"), "assumeRolePolicy": irsaTrust(exactTrust("system:serviceaccount:kube-system:cluster-autoscaler"))})}},

		// rds-db:connect names one user of one instance.
		{"rds-db:connect on every user", "deny_rds_connect_wildcard", true, connectPolicy("*")},
		{"rds-db:connect on every user of the instance", "deny_rds_connect_wildcard", true,
			connectPolicy("arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABCDEFGHIJKL/*")},
		{"rds-db:connect on one user of every instance", "deny_rds_connect_wildcard", true,
			connectPolicy("arn:aws:rds-db:us-east-1:123456789012:dbuser:*/project")},
		{"rds-db:* on a user and on everything", "deny_rds_connect_wildcard", true, []Resource{res(rolePolicyType, "services-project",
			map[string]any{"policy": doc(map[string]any{"Effect": "Allow", "Action": "rds-db:*", "Resource": []any{dbUserArn, "*"}})})}},
		{"rds-db:connect as one user of one instance", "deny_rds_connect_wildcard", false, connectPolicy(dbUserArn)},
		{"other actions on any resource are not this rule's", "deny_rds_connect_wildcard", false, []Resource{res(rolePolicyType, "services-project",
			map[string]any{"policy": doc(map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"})})}},
		{"policy unknown in a preview", "deny_rds_connect_wildcard", false, []Resource{res(rolePolicyType, "services-project",
			map[string]any{"policy": Unknown})}},
	}
}

// TestCompliantServiceRoleIsClean runs the whole pack over a service role and its inline
// policy as pkg/services registers them: none of the pack's policies may object.
func TestCompliantServiceRoleIsClean(t *testing.T) {
	rs := append(serviceRole("cinegit", "project", irsaTrust(exactTrust("system:serviceaccount:cinegit:project"))), connectPolicy(dbUserArn)...)
	for _, f := range unwaived(evaluate(t, rs)) {
		t.Errorf("%s %s: %s", f.Rule, f.Name, f.Message)
	}
}
