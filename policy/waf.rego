package cinegit

import rego.v1

# WAFv2
# =====
#
# Web ACLs run AWS's baseline managed rule groups and a per-IP rate limit, with metrics and
# sampled requests on every rule, block (not merely count) in staging and prod, and log to a
# CloudWatch log group named aws-waf-logs-*. A CLOUDFRONT-scope web ACL exists only in
# us-east-1, whatever the stack's region: it must be created through a us-east-1 provider.

web_acl_type := "aws:wafv2/webAcl:WebAcl"

# baseline_rule_groups are the AWS managed rule groups every web ACL runs.
baseline_rule_groups := {
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
	"AWSManagedRulesAmazonIpReputationList",
}

# web_acl_rules lists a web ACL's rules (an empty list when they are unknown).
web_acl_rules(acl) := rules if {
	rules := object.get(acl, "rules", [])
	is_array(rules)
} else := []

# managed_groups is the set of AWS managed rule group names a web ACL references.
managed_groups(acl) := {g.name |
	some rule in web_acl_rules(acl)
	g := object.get(object.get(rule, "statement", {}), "managedRuleGroupStatement", {})
	object.get(g, "vendorName", "") == "AWS"
}

# rate_limited holds when a web ACL has a rate-based rule.
rate_limited(acl) if {
	some rule in web_acl_rules(acl)
	is_object(rule.statement.rateBasedStatement)
}

# METADATA
# title: Web ACLs run the baseline rules
# description: >-
#   Every WAFv2 web ACL runs the AWS managed rule groups AWSManagedRulesCommonRuleSet,
#   AWSManagedRulesKnownBadInputsRuleSet and AWSManagedRulesAmazonIpReputationList, and a
#   rate-based rule.
deny_web_acl_baseline_rules contains msg if {
	input.__type == web_acl_type
	missing := {sprintf("managed rule group %s", [g]) | some g in baseline_rule_groups; not g in managed_groups(input)} |
		{"a rate-based rule" | not rate_limited(input)}
	count(missing) > 0
	not excepted(input, "deny_web_acl_baseline_rules")
	msg := sprintf("%s lacks %s", [describe(input), concat(", ", sort(missing))])
}

# visibility_on holds for a visibility config with metrics and sampled requests on.
visibility_on(v) if {
	is_true(object.get(v, "cloudwatchMetricsEnabled", false))
	is_true(object.get(v, "sampledRequestsEnabled", false))
}

# METADATA
# title: Web ACL metrics and samples are on
# description: >-
#   A WAFv2 web ACL and each of its rules enable CloudWatch metrics and sampled requests, so
#   that blocks, counts and false positives can be seen and alarmed on.
deny_web_acl_visibility contains msg if {
	input.__type == web_acl_type
	dark := {"the web ACL" | not visibility_on(object.get(input, "visibilityConfig", {}))} |
		{sprintf("rule %v", [object.get(rule, "name", i)]) |
			some i, rule in web_acl_rules(input)
			not visibility_on(object.get(rule, "visibilityConfig", {}))
		}
	count(dark) > 0
	not excepted(input, "deny_web_acl_visibility")
	msg := sprintf("%s: metrics or sampled requests off for %s", [describe(input), concat(", ", sort(dark))])
}

# counting_rules lists the rules of a web ACL that only count what they match.
counting_rules(acl) := {object.get(rule, "name", sprintf("#%d", [i])) |
	some i, rule in web_acl_rules(acl)
	some verdict in [object.get(rule, "overrideAction", {}), object.get(rule, "action", {})]
	is_object(verdict)
	"count" in object.keys(verdict)
}

# METADATA
# title: Staging and prod web ACLs block
# description: >-
#   In staging and prod no web ACL rule only counts (overrideAction or action count): count
#   mode is for tuning rules in dev, and lets attacks through.
deny_web_acl_count_mode contains msg if {
	input.__type == web_acl_type
	environment(input) in durable_environments
	rules := counting_rules(input)
	count(rules) > 0
	not excepted(input, "deny_web_acl_count_mode")
	msg := sprintf("%s in %s: rules %s only count", [describe(input), environment(input), concat(", ", sort(rules))])
}

# provider_region is the region of resource r's provider, when the input says: from the
# provider's properties the analyzer passes with r, or from the provider resource in the stack.
provider_region(r) := region if {
	region := r.__provider.properties.region
	known_string(region)
} else := region if {
	some p in input.resources
	p.__urn == r.__provider.urn
	region := p.region
	known_string(region)
}

# METADATA
# title: CloudFront web ACLs are created in us-east-1
# description: >-
#   A web ACL of scope CLOUDFRONT is created through a provider whose region is us-east-1, the
#   only region where AWS accepts it (and where its logs must go).
stack_deny_web_acl_cloudfront_region contains finding if {
	some acl in input.resources
	acl.__type == web_acl_type
	acl.scope == "CLOUDFRONT"
	region := provider_region(acl)
	region != "us-east-1"
	not excepted(acl, "stack_deny_web_acl_cloudfront_region")
	finding := stack_finding(acl, sprintf("has scope CLOUDFRONT but is created in %s, not us-east-1", [region]))
}

# waf_log_destination holds when logging configuration c sends to a log group named
# aws-waf-logs-* (by the group's name or by the known ARN).
waf_log_destination(c) if {
	some g in input.resources
	g.__type == "aws:cloudwatch/logGroup:LogGroup"
	startswith(object.get(g, "name", ""), "aws-waf-logs-")
	derives_from(c, "logDestinationConfigs", g)
}

waf_log_destination(c) if {
	some arn in object.get(c, "logDestinationConfigs", [])
	known_string(arn)
	contains(arn, ":log-group:aws-waf-logs-")
}

# web_acl_logged holds when web ACL acl has a logging configuration to an aws-waf-logs-* group.
web_acl_logged(acl) if {
	some c in input.resources
	c.__type == "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	derives_from(c, "resourceArn", acl)
	waf_log_destination(c)
}

# METADATA
# title: Web ACLs log to aws-waf-logs-*
# description: >-
#   Every WAFv2 web ACL has an aws:wafv2/webAclLoggingConfiguration sending its logs to a
#   CloudWatch log group whose name starts with aws-waf-logs- (the only names WAF accepts).
stack_deny_web_acl_logging contains finding if {
	some acl in input.resources
	acl.__type == web_acl_type
	not web_acl_logged(acl)
	not excepted(acl, "stack_deny_web_acl_logging")
	finding := stack_finding(acl, "has no logging configuration to an aws-waf-logs-* log group")
}
