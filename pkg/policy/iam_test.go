package policy

func init() { caseSets = append(caseSets, iamAdminCases) }

// iamAdminCases: NotAction in an Allow, and administrator policies attached to anything.
func iamAdminCases() []ruleCase {
	dev := stdTags("dev")
	role := "aws:iam/role:Role"
	rolePolicy := "aws:iam/rolePolicy:RolePolicy"
	attachment := "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	notAction := map[string]any{"Effect": "Allow", "NotAction": []any{"iam:*"}, "Resource": "*"}
	denyNot := map[string]any{"Effect": "Deny", "NotAction": []any{"s3:GetObject"}, "Resource": "arn:aws:s3:::media/*"}
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	return []ruleCase{
		{"Allow with NotAction", "deny_iam_allow_not_action", true, []Resource{res(rolePolicy, "app", map[string]any{
			"policy": doc(notAction),
		})}},
		{"Allow with NotAction in a role's inline policy", "deny_iam_allow_not_action", true, []Resource{res(role, "app", map[string]any{
			"tags": dev, "assumeRolePolicy": "{}", "inlinePolicies": []any{map[string]any{"name": "all", "policy": doc(notAction)}},
		})}},
		{"Deny with NotAction (a guardrail)", "deny_iam_allow_not_action", false, []Resource{res(rolePolicy, "app", map[string]any{
			"policy": doc(denyNot, map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::media/*"}),
		})}},
		{"AdministratorAccess attached to a role", "deny_iam_admin_attachment", true, []Resource{res(attachment, "app-admin", map[string]any{
			"role": "app", "policyArn": admin,
		})}},
		{"IAMFullAccess in a role's managed policies", "deny_iam_admin_attachment", true, []Resource{res(role, "app", map[string]any{
			"tags": dev, "assumeRolePolicy": "{}", "managedPolicyArns": []any{"arn:aws:iam::aws:policy/IAMFullAccess"},
		})}},
		{"a scoped managed policy attached", "deny_iam_admin_attachment", false, []Resource{res(attachment, "node-ecr", map[string]any{
			"role": "node", "policyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
		})}},
	}
}
