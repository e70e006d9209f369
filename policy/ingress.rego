package cinegit

import rego.v1

# Ingress
# =======
#
# CineGit's services are reached through ALBs that the AWS Load Balancer Controller creates from
# Ingresses in the GitOps repository. What every ALB must do is set once, in the controller's
# IngressClassParams (its Helm values, ingressClassParams.spec), which override any Ingress
# annotation: a TLS 1.2+ listener policy, HTTP redirected to HTTPS, access logs to S3. The
# stack's regional web ACL (attached by the Ingresses' wafv2-acl-arn annotation, whose ARN the
# infrastructure-outputs ConfigMap carries) must exist wherever the controller does. ExternalDNS
# writes the records: no identity policy may change records in any zone but named ones.

# alb_controller_release holds for a Helm release of the AWS Load Balancer Controller chart.
alb_controller_release(r) if {
	r.__type in helm_types
	object.get(r, "chart", "") == "aws-load-balancer-controller"
}

# alb_class_spec is the IngressClassParams spec the controller's chart creates ({} when the
# chart creates none).
alb_class_spec(r) := spec if {
	params := object.get(object.get(r, "values", {}), "ingressClassParams", {})
	object.get(params, "create", false) == true
	spec := object.get(params, "spec", {})
} else := {}

# modern_tls_policy matches the ELB policies that allow only TLS 1.2 and 1.3
# (ELBSecurityPolicy-TLS13-1-2-*, "Security policies for your Application Load Balancer").
modern_tls_policy := `^ELBSecurityPolicy-TLS13-1-2-`

# METADATA
# title: ALB listeners use a TLS 1.2+ policy
# description: >-
#   The AWS Load Balancer Controller's IngressClassParams set sslPolicy to an
#   ELBSecurityPolicy-TLS13-1-2-* policy, so that no ALB of the class negotiates TLS 1.0 or 1.1
#   whatever its Ingress says.
deny_alb_listener_tls_policy contains msg if {
	input.__type in helm_types
	alb_controller_release(input)
	policy := object.get(alb_class_spec(input), "sslPolicy", "")
	not regex.match(modern_tls_policy, policy)
	not excepted(input, "deny_alb_listener_tls_policy")
	msg := sprintf("%s: IngressClassParams sslPolicy is %q; set an ELBSecurityPolicy-TLS13-1-2-* policy", [describe(input), policy])
}

# METADATA
# title: ALBs redirect HTTP to HTTPS
# description: >-
#   The controller's IngressClassParams set sslRedirectPort "443": every HTTP listener of the
#   class answers with a redirect to HTTPS and forwards nothing in clear text.
deny_alb_https_redirect contains msg if {
	input.__type in helm_types
	alb_controller_release(input)
	port := object.get(alb_class_spec(input), "sslRedirectPort", "")
	port != "443"
	not excepted(input, "deny_alb_https_redirect")
	msg := sprintf("%s: IngressClassParams sslRedirectPort is %q; set \"443\" so that HTTP redirects to HTTPS", [describe(input), port])
}

# alb_attribute is the value of a load balancer attribute in the class spec ("" when unset).
alb_attribute(spec, key) := v if {
	some a in object.get(spec, "loadBalancerAttributes", [])
	a.key == key
	v := a.value
} else := ""

# alb_access_logs holds when the class sends access logs to a bucket (unknown until created).
alb_access_logs(spec) if {
	alb_attribute(spec, "access_logs.s3.enabled") == "true"
	is_set(alb_attribute(spec, "access_logs.s3.bucket"))
}

# METADATA
# title: ALBs write access logs
# description: >-
#   The controller's IngressClassParams set the load balancer attributes
#   access_logs.s3.enabled "true" and access_logs.s3.bucket: every request to CineGit's services
#   is recorded in the logs bucket.
deny_alb_access_logs contains msg if {
	input.__type in helm_types
	alb_controller_release(input)
	not alb_access_logs(alb_class_spec(input))
	not excepted(input, "deny_alb_access_logs")
	msg := sprintf("%s: IngressClassParams do not enable access_logs.s3 with a bucket", [describe(input)])
}

# regional_web_acl holds when the stack has a REGIONAL web ACL.
regional_web_acl(resources) if {
	some r in resources
	r.__type == web_acl_type
	object.get(r, "scope", "") == "REGIONAL"
}

# alb_waf_missing explains why the controller's ALBs would have no web ACL.
alb_waf_missing(rel, _) := "the controller has WAFv2 disabled (enableWafv2 false)" if {
	object.get(object.get(rel, "values", {}), "enableWafv2", true) == false
}

alb_waf_missing(rel, resources) := "the stack has no REGIONAL web ACL for its load balancers" if {
	object.get(object.get(rel, "values", {}), "enableWafv2", true) != false
	not regional_web_acl(resources)
}

# METADATA
# title: The ALBs have a web ACL
# description: >-
#   A stack that installs the AWS Load Balancer Controller also has a REGIONAL WAFv2 web ACL for
#   its ALBs, and the controller keeps WAFv2 support on (enableWafv2), so that Ingresses can
#   attach it.
stack_deny_alb_without_web_acl contains finding if {
	some rel in input.resources
	alb_controller_release(rel)
	why := alb_waf_missing(rel, input.resources)
	not excepted(rel, "stack_deny_alb_without_web_acl")
	finding := stack_finding(rel, why)
}

# dns_change_action holds for the actions that change records: the action itself and the
# wildcards that include it.
dns_change_action(a) if a in {"route53:changeresourcerecordsets", "route53:*", "route53:change*", "*", "*:*"}

# any_zone holds for resources that match every hosted zone.
any_zone(res) if res == "*"

any_zone(res) if {
	is_string(res)
	regex.match(`^arn:aws[a-z-]*:route53:::hostedzone/\*$`, res)
}

# METADATA
# title: DNS records change in named zones only
# description: >-
#   No identity policy allows route53:ChangeResourceRecordSets on every hosted zone (Resource
#   "*" or hostedzone/*): ExternalDNS's role names the stack's zone, so that it can change this
#   stack's zone and no other (the parent domain, another stack's).
deny_iam_dns_change_any_zone contains msg if {
	input.__type in policy_document_types
	some st in allow_statements(input)
	some a in st.actions
	dns_change_action(a)
	some res in st.resources
	any_zone(res)
	not excepted(input, "deny_iam_dns_change_any_zone")
	msg := sprintf("%s: %s statement %s allows %s on %s; name the stack's hosted zone", [describe(input), st.where, st.sid, a, res])
}
