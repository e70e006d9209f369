package policy

func init() { caseSets = append(caseSets, wafCases) }

const (
	wafACLType     = "aws:wafv2/webAcl:WebAcl"
	wafLoggingType = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	awsProvider    = "pulumi:providers:aws"
)

// wafVisible is a visibility config with metrics and samples on.
func wafVisible(metric string) map[string]any {
	return map[string]any{"cloudwatchMetricsEnabled": true, "sampledRequestsEnabled": true, "metricName": metric}
}

// wafManaged is a managed rule group rule (blocking unless count).
func wafManaged(priority int, group string, count bool) map[string]any {
	override := map[string]any{"none": map[string]any{}}
	if count {
		override = map[string]any{"count": map[string]any{}}
	}
	return map[string]any{
		"name": group, "priority": priority, "overrideAction": override, "visibilityConfig": wafVisible(group),
		"statement": map[string]any{"managedRuleGroupStatement": map[string]any{"vendorName": "AWS", "name": group}},
	}
}

// wafRate is a rate-based rule (blocking unless count).
func wafRate(count bool) map[string]any {
	action := map[string]any{"block": map[string]any{}}
	if count {
		action = map[string]any{"count": map[string]any{}}
	}
	return map[string]any{
		"name": "RateLimitPerIP", "priority": 3, "action": action, "visibilityConfig": wafVisible("rate"),
		"statement": map[string]any{"rateBasedStatement": map[string]any{"limit": 2000, "aggregateKeyType": "IP"}},
	}
}

// wafRules are the baseline rules, blocking or counting.
func wafRules(count bool) []any {
	return []any{
		wafManaged(0, "AWSManagedRulesAmazonIpReputationList", count),
		wafManaged(1, "AWSManagedRulesCommonRuleSet", count),
		wafManaged(2, "AWSManagedRulesKnownBadInputsRuleSet", count),
		wafRate(count),
	}
}

// wafACL is a compliant CLOUDFRONT web ACL of env created through provider; kv overrides fields.
func wafACL(env, provider string, kv ...any) Resource {
	props := map[string]any{
		"name": "cinegit-" + env + "-cdn", "scope": "CLOUDFRONT", "tags": stdTags(env),
		"defaultAction": map[string]any{"allow": map[string]any{}}, "rules": wafRules(false),
		"visibilityConfig": wafVisible("acl"),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		props[kv[i].(string)] = kv[i+1]
	}
	return res(wafACLType, "cdn", props, func(r *Resource) {
		r.Options.Provider = urnOf(awsProvider, provider) + "::provider-id"
	})
}

// wafStack is a web ACL with its providers, log group and logging configuration.
func wafStack(acl Resource, groupName string) []Resource {
	group := res("aws:cloudwatch/logGroup:LogGroup", "cdn-waf-logs", map[string]any{
		"name": groupName, "retentionInDays": 30, "kmsKeyId": keyArn, "tags": stdTags("dev"),
	})
	logging := res(wafLoggingType, "cdn", map[string]any{"resourceArn": Unknown, "logDestinationConfigs": []any{Unknown}}, func(r *Resource) {
		r.Options.PropertyDependencies = map[string][]string{"resourceArn": {acl.URN}, "logDestinationConfigs": {group.URN}}
	})
	return []Resource{
		acl, group, logging,
		res(awsProvider, "aws", map[string]any{"region": "eu-west-1"}),
		res(awsProvider, "aws-us-east-1", map[string]any{"region": "us-east-1"}),
	}
}

// wafCases cover policy/waf.rego.
func wafCases() []ruleCase {
	one := func(r Resource) []Resource { return []Resource{r} }
	edge := "aws-us-east-1"
	return []ruleCase{
		{"web ACL without the common rules", "deny_web_acl_baseline_rules", true, one(wafACL("dev", edge, "rules", []any{
			wafManaged(0, "AWSManagedRulesAmazonIpReputationList", false), wafManaged(2, "AWSManagedRulesKnownBadInputsRuleSet", false), wafRate(false),
		}))},
		{"web ACL without a rate limit", "deny_web_acl_baseline_rules", true, one(wafACL("dev", edge, "rules", wafRules(false)[:3]))},
		{"web ACL with the baseline", "deny_web_acl_baseline_rules", false, one(wafACL("dev", edge))},

		{"web ACL without metrics", "deny_web_acl_visibility", true, one(wafACL("dev", edge, "visibilityConfig", map[string]any{
			"cloudwatchMetricsEnabled": false, "sampledRequestsEnabled": true, "metricName": "acl",
		}))},
		{"rule without sampled requests", "deny_web_acl_visibility", true, one(wafACL("dev", edge, "rules", append(wafRules(false)[:3], func() any {
			r := wafRate(false)
			r["visibilityConfig"] = map[string]any{"cloudwatchMetricsEnabled": true, "sampledRequestsEnabled": false, "metricName": "rate"}
			return r
		}())))},
		{"metrics and samples everywhere", "deny_web_acl_visibility", false, one(wafACL("dev", edge))},

		{"prod web ACL counting", "deny_web_acl_count_mode", true, one(wafACL("prod", edge, "rules", wafRules(true)))},
		{"staging rate rule counting", "deny_web_acl_count_mode", true, one(wafACL("staging", edge, "rules", append(wafRules(false)[:3], wafRate(true))))},
		{"dev web ACL counting while tuning", "deny_web_acl_count_mode", false, one(wafACL("dev", edge, "rules", wafRules(true)))},
		{"prod web ACL blocking", "deny_web_acl_count_mode", false, one(wafACL("prod", edge))},

		{"CLOUDFRONT web ACL in the stack's region", "stack_deny_web_acl_cloudfront_region", true, wafStack(wafACL("dev", "aws"), "aws-waf-logs-cinegit-dev")},
		{"CLOUDFRONT web ACL in us-east-1", "stack_deny_web_acl_cloudfront_region", false, wafStack(wafACL("dev", edge), "aws-waf-logs-cinegit-dev")},
		{"REGIONAL web ACL in the stack's region", "stack_deny_web_acl_cloudfront_region", false, wafStack(wafACL("dev", "aws", "scope", "REGIONAL"), "aws-waf-logs-cinegit-dev")},

		{"web ACL without logging", "stack_deny_web_acl_logging", true, one(wafACL("dev", edge))},
		{"web ACL logging to a wrongly named group", "stack_deny_web_acl_logging", true, wafStack(wafACL("dev", edge), "/cinegit/dev/waf")},
		{"web ACL logging to aws-waf-logs-*", "stack_deny_web_acl_logging", false, wafStack(wafACL("dev", edge), "aws-waf-logs-cinegit-dev")},
		{"web ACL logging to a known aws-waf-logs-* ARN", "stack_deny_web_acl_logging", false, []Resource{
			wafACL("dev", edge, "arn", "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/1"),
			res(wafLoggingType, "cdn", map[string]any{
				"resourceArn":           "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/1",
				"logDestinationConfigs": []any{"arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-cinegit-dev"},
			}),
		}},
	}
}
