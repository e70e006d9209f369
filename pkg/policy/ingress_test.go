package policy

import "encoding/json"

func init() { caseSets = append(caseSets, ingressCases) }

// albController is the AWS Load Balancer Controller release as pkg/ingress registers it, with
// change applied to its IngressClassParams spec.
func albController(change func(values, spec map[string]any)) Resource {
	spec := map[string]any{
		"group":           map[string]any{"name": "cinegit-dev"},
		"scheme":          "internet-facing",
		"sslPolicy":       "ELBSecurityPolicy-TLS13-1-2-2021-06",
		"sslRedirectPort": "443",
		"loadBalancerAttributes": []any{
			map[string]any{"key": "access_logs.s3.enabled", "value": "true"},
			map[string]any{"key": "access_logs.s3.bucket", "value": "cinegit-dev-logs-123456789012"},
			map[string]any{"key": "access_logs.s3.prefix", "value": "alb"},
		},
	}
	values := map[string]any{
		"clusterName": "cinegit-dev-eks", "enableWafv2": true,
		"ingressClassParams": map[string]any{"create": true, "name": "alb", "spec": spec},
	}
	if change != nil {
		change(values, spec)
	}
	return res(helmRelease, "ingress-controller", map[string]any{
		"name": "aws-load-balancer-controller", "chart": "aws-load-balancer-controller", "version": "3.5.0",
		"repositoryOpts": map[string]any{"repo": "https://aws.github.io/eks-charts"}, "namespace": "ingress", "values": values,
	})
}

// dnsPolicy is an inline role policy allowing actions on resources.
func dnsPolicy(actions []string, resources ...string) Resource {
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Sid": "ChangeRecords", "Effect": "Allow", "Action": actions, "Resource": resources},
	}})
	return res("aws:iam/rolePolicy:RolePolicy", "ingress-external-dns", map[string]any{"role": "r", "policy": string(doc)})
}

// ingressCases cover policy/ingress.rego.
func ingressCases() []ruleCase {
	one := func(r Resource) []Resource { return []Resource{r} }
	setSpec := func(k string, v any) func(_, spec map[string]any) {
		return func(_, spec map[string]any) { spec[k] = v }
	}
	regional := wafACL("dev", "aws", "scope", "REGIONAL")
	zone := "arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"
	change := []string{"route53:ChangeResourceRecordSets"}
	return []ruleCase{
		{"ALB class allowing TLS 1.0", "deny_alb_listener_tls_policy", true, one(albController(setSpec("sslPolicy", "ELBSecurityPolicy-2016-08")))},
		{"ALB class without a TLS policy", "deny_alb_listener_tls_policy", true, one(albController(func(_, spec map[string]any) { delete(spec, "sslPolicy") }))},
		{"controller creating no IngressClassParams", "deny_alb_listener_tls_policy", true, one(albController(func(v, _ map[string]any) { v["ingressClassParams"] = map[string]any{"create": false} }))},
		{"ALB class on TLS 1.3 and 1.2", "deny_alb_listener_tls_policy", false, one(albController(nil))},

		{"ALB class without the HTTPS redirect", "deny_alb_https_redirect", true, one(albController(func(_, spec map[string]any) { delete(spec, "sslRedirectPort") }))},
		{"ALB class redirecting to another port", "deny_alb_https_redirect", true, one(albController(setSpec("sslRedirectPort", "8443")))},
		{"ALB class redirecting to 443", "deny_alb_https_redirect", false, one(albController(nil))},

		{"ALB class without access logs", "deny_alb_access_logs", true, one(albController(setSpec("loadBalancerAttributes", []any{})))},
		{"ALB class with logs disabled", "deny_alb_access_logs", true, one(albController(setSpec("loadBalancerAttributes", []any{
			map[string]any{"key": "access_logs.s3.enabled", "value": "false"},
			map[string]any{"key": "access_logs.s3.bucket", "value": "cinegit-dev-logs"},
		})))},
		{"ALB class logging to no bucket", "deny_alb_access_logs", true, one(albController(setSpec("loadBalancerAttributes", []any{
			map[string]any{"key": "access_logs.s3.enabled", "value": "true"},
		})))},
		{"ALB class logging to the logs bucket", "deny_alb_access_logs", false, one(albController(nil))},
		{"ALB class logging to a bucket unknown in a preview", "deny_alb_access_logs", false, one(albController(setSpec("loadBalancerAttributes", []any{
			map[string]any{"key": "access_logs.s3.enabled", "value": "true"},
			map[string]any{"key": "access_logs.s3.bucket", "value": Unknown},
		})))},

		{"controller without a regional web ACL", "stack_deny_alb_without_web_acl", true, []Resource{albController(nil), wafACL("dev", "aws-us-east-1")}},
		{"controller with WAFv2 disabled", "stack_deny_alb_without_web_acl", true, []Resource{albController(func(v, _ map[string]any) { v["enableWafv2"] = false }), regional}},
		{"controller with a regional web ACL", "stack_deny_alb_without_web_acl", false, []Resource{albController(nil), regional}},
		{"no controller, no regional web ACL needed", "stack_deny_alb_without_web_acl", false, one(wafACL("dev", "aws-us-east-1"))},

		{"record changes on every zone", "deny_iam_dns_change_any_zone", true, one(dnsPolicy(change, "*"))},
		{"record changes on hostedzone/*", "deny_iam_dns_change_any_zone", true, one(dnsPolicy(change, "arn:aws:route53:::hostedzone/*"))},
		{"route53:* on every zone", "deny_iam_dns_change_any_zone", true, one(dnsPolicy([]string{"route53:*"}, "*"))},
		{"record changes on the stack's zone", "deny_iam_dns_change_any_zone", false, one(dnsPolicy(change, zone))},
		{"listing zones on *", "deny_iam_dns_change_any_zone", false, one(dnsPolicy([]string{"route53:ListHostedZones"}, "*"))},
	}
}
