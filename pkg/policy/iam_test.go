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

func init() { caseSets = append(caseSets, s3GatewayCases) }

// s3GatewayCases: the S3 gateway endpoint's policy.
func s3GatewayCases() []ruleCase {
	dev := stdTags("dev")
	endpoint := "aws:ec2/vpcEndpoint:VpcEndpoint"
	gateway := func(policy any) map[string]any {
		p := map[string]any{"tags": dev, "vpcEndpointType": "Gateway", "serviceName": "com.amazonaws.eu-west-1.s3", "vpcId": "vpc-1"}
		if policy != nil {
			p["policy"] = policy
		}
		return p
	}
	everyone := map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
	account := map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceAccount": "123456789012"}}}
	ecr := map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"}
	return []ruleCase{
		{"S3 gateway without a policy", "deny_gateway_endpoint_open", true, []Resource{res(endpoint, "s3", gateway(nil))}},
		{"S3 gateway open to every bucket", "deny_gateway_endpoint_open", true, []Resource{res(endpoint, "s3", gateway(doc(everyone)))}},
		{"S3 gateway for the account's buckets and ECR's layers", "deny_gateway_endpoint_open", false, []Resource{res(endpoint, "s3", gateway(doc(account, ecr)))}},
		{"an interface endpoint (its policy is another matter)", "deny_gateway_endpoint_open", false, []Resource{res(endpoint, "ecr", map[string]any{
			"tags": dev, "vpcEndpointType": "Interface", "serviceName": "com.amazonaws.eu-west-1.ecr.api", "vpcId": "vpc-1",
		})}},
	}
}
