package policy

func init() { caseSets = append(caseSets, cloudfrontCases) }

const (
	cfDistributionType = "aws:cloudfront/distribution:Distribution"
	cfHeadersType      = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
	cfOACType          = "aws:cloudfront/originAccessControl:OriginAccessControl"
	logSourceType      = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
	logDeliveryType    = "aws:cloudwatch/logDelivery:LogDelivery"
)

// cfBehavior is a compliant cache behavior; kv overrides fields.
func cfBehavior(kv ...any) map[string]any {
	b := map[string]any{
		"targetOriginId": "proxies", "viewerProtocolPolicy": "redirect-to-https", "compress": true,
		"cachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6", "responseHeadersPolicyId": "headers",
		"trustedKeyGroups": []any{"signers"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// cfDistribution is a distribution compliant with every CloudFront policy; kv overrides fields.
func cfDistribution(kv ...any) Resource {
	props := map[string]any{
		"tags": stdTags("dev"), "enabled": true, "httpVersion": "http2and3", "isIpv6Enabled": true,
		"webAclId":             "arn:aws:wafv2:us-east-1:123456789012:global/webacl/cdn/1",
		"defaultCacheBehavior": cfBehavior(),
		"orderedCacheBehaviors": []any{
			cfBehavior("pathPattern", "streams/*.m3u8", "cachePolicyId", "manifests"),
			cfBehavior("pathPattern", "streams/*.mpd", "cachePolicyId", "manifests"),
			cfBehavior("pathPattern", "streams/*", "cachePolicyId", "segments", "compress", false),
			cfBehavior("pathPattern", "thumbnails/public/*", "targetOriginId", "thumbnails", "trustedKeyGroups", []any{}),
			cfBehavior("pathPattern", "thumbnails/*", "targetOriginId", "thumbnails"),
		},
		"origins": []any{
			map[string]any{"originId": "proxies", "domainName": "p.s3.us-east-1.amazonaws.com", "originAccessControlId": "oac"},
			map[string]any{"originId": "thumbnails", "domainName": "t.s3.us-east-1.amazonaws.com", "originAccessControlId": "oac"},
		},
		"viewerCertificate": map[string]any{"cloudfrontDefaultCertificate": true},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		props[kv[i].(string)] = kv[i+1]
	}
	return res(cfDistributionType, "cdn", props)
}

// cfWithLogs is a distribution and its v2 access log delivery, related by property dependencies
// (relate == "deps") or by known values (relate == "values").
func cfWithLogs(relate string) []Resource {
	d := cfDistribution()
	src := res(logSourceType, "cdn-access-logs", map[string]any{"name": "cinegit-dev-cdn-access", "logType": "ACCESS_LOGS", "resourceArn": Unknown, "tags": stdTags("dev")})
	delivery := res(logDeliveryType, "cdn-access-logs", map[string]any{"deliverySourceName": Unknown, "deliveryDestinationArn": Unknown, "tags": stdTags("dev")})
	switch relate {
	case "deps":
		src.Options.PropertyDependencies = map[string][]string{"resourceArn": {d.URN}}
		delivery.Options.PropertyDependencies = map[string][]string{"deliverySourceName": {src.URN}}
	case "values":
		d.Props["arn"] = "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF"
		src.Props["resourceArn"] = d.Props["arn"]
		delivery.Props["deliverySourceName"] = "cinegit-dev-cdn-access"
	}
	return []Resource{d, src, delivery}
}

// cloudfrontCases cover policy/cloudfront.rego.
func cloudfrontCases() []ruleCase {
	one := func(r Resource) []Resource { return []Resource{r} }
	customDomain := func(cert map[string]any) Resource {
		return cfDistribution("aliases", []any{"media.cinegit.io"}, "viewerCertificate", cert)
	}
	acm := "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	headers := func(change func(h map[string]any)) Resource {
		h := map[string]any{
			"strictTransportSecurity": map[string]any{"accessControlMaxAgeSec": 63072000, "includeSubdomains": true, "override": true},
			"contentTypeOptions":      map[string]any{"override": true},
			"frameOptions":            map[string]any{"frameOption": "DENY", "override": true},
			"referrerPolicy":          map[string]any{"referrerPolicy": "strict-origin-when-cross-origin", "override": true},
		}
		change(h)
		return res(cfHeadersType, "headers", map[string]any{"name": "h", "securityHeadersConfig": h})
	}
	oac := func(behavior, protocol string) Resource {
		return res(cfOACType, "cdn", map[string]any{"name": "o", "originAccessControlOriginType": "s3", "signingBehavior": behavior, "signingProtocol": protocol})
	}

	return []ruleCase{
		{"behavior allowing plain HTTP", "deny_distribution_viewer_https", true, one(cfDistribution("defaultCacheBehavior", cfBehavior("viewerProtocolPolicy", "allow-all")))},
		{"ordered behavior allowing plain HTTP", "deny_distribution_viewer_https", true, one(cfDistribution("orderedCacheBehaviors", []any{cfBehavior("pathPattern", "x/*", "viewerProtocolPolicy", "allow-all")}))},
		{"HTTPS only", "deny_distribution_viewer_https", false, one(cfDistribution())},

		{"distribution without a web ACL", "deny_distribution_web_acl", true, one(cfDistribution("webAclId", ""))},
		{"distribution behind a web ACL", "deny_distribution_web_acl", false, one(cfDistribution())},
		{"web ACL unknown in a preview", "deny_distribution_web_acl", false, one(cfDistribution("webAclId", Unknown))},

		{"custom domain with TLS 1.0", "deny_distribution_tls_policy", true, one(customDomain(map[string]any{"acmCertificateArn": acm, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1"}))},
		{"custom domain on a dedicated IP", "deny_distribution_tls_policy", true, one(customDomain(map[string]any{"acmCertificateArn": acm, "sslSupportMethod": "vip", "minimumProtocolVersion": "TLSv1.2_2021"}))},
		{"custom domain with TLS 1.2 (2021)", "deny_distribution_tls_policy", false, one(customDomain(map[string]any{"acmCertificateArn": acm, "sslSupportMethod": "sni-only", "minimumProtocolVersion": "TLSv1.2_2021"}))},
		{"default certificate", "deny_distribution_tls_policy", false, one(cfDistribution())},

		{"S3 origin without origin access control", "deny_distribution_origin_access_control", true, one(cfDistribution("origins", []any{map[string]any{"originId": "proxies", "domainName": "p.s3.amazonaws.com"}}))},
		{"S3 origin with a legacy identity", "deny_distribution_origin_access_control", true, one(cfDistribution("origins", []any{map[string]any{
			"originId": "proxies", "domainName": "p.s3.amazonaws.com", "originAccessControlId": "oac",
			"s3OriginConfig": map[string]any{"originAccessIdentity": "origin-access-identity/cloudfront/E1"},
		}}))},
		{"S3 origins with origin access control", "deny_distribution_origin_access_control", false, one(cfDistribution())},
		{"custom origin needs no origin access control", "deny_distribution_origin_access_control", false, one(cfDistribution("origins", []any{map[string]any{
			"originId": "api", "domainName": "api.cinegit.io", "customOriginConfig": map[string]any{"originProtocolPolicy": "https-only"},
		}}))},

		{"origin access control signing never", "deny_origin_access_control_signing", true, one(oac("never", "sigv4"))},
		{"origin access control signing when asked", "deny_origin_access_control_signing", true, one(oac("no-override", "sigv4"))},
		{"origin access control always signing with SigV4", "deny_origin_access_control_signing", false, one(oac("always", "sigv4"))},

		{"behavior trusting account key pairs", "deny_distribution_legacy_signers", true, one(cfDistribution("defaultCacheBehavior", cfBehavior("trustedSigners", []any{"self"})))},
		{"behaviors trusting key groups", "deny_distribution_legacy_signers", false, one(cfDistribution())},

		{"behavior without a response headers policy", "deny_distribution_response_headers", true, one(cfDistribution("orderedCacheBehaviors", []any{cfBehavior("pathPattern", "x/*", "responseHeadersPolicyId", "")}))},
		{"every behavior with a response headers policy", "deny_distribution_response_headers", false, one(cfDistribution())},

		{"no HSTS", "deny_response_headers_security", true, one(headers(func(h map[string]any) { delete(h, "strictTransportSecurity") }))},
		{"short HSTS", "deny_response_headers_security", true, one(headers(func(h map[string]any) {
			h["strictTransportSecurity"] = map[string]any{"accessControlMaxAgeSec": 300, "override": true}
		}))},
		{"frames allowed", "deny_response_headers_security", true, one(headers(func(h map[string]any) { delete(h, "frameOptions") }))},
		{"no nosniff or referrer policy", "deny_response_headers_security", true, one(headers(func(h map[string]any) {
			delete(h, "contentTypeOptions")
			delete(h, "referrerPolicy")
		}))},
		{"all security headers", "deny_response_headers_security", false, one(headers(func(map[string]any) {}))},

		{"HTTP/2 only, no IPv6", "warn_distribution_protocols", true, one(cfDistribution("httpVersion", "http2", "isIpv6Enabled", false))},
		{"HTTP/3 and IPv6", "warn_distribution_protocols", false, one(cfDistribution())},

		{"legacy logging", "deny_distribution_legacy_logging", true, one(cfDistribution("loggingConfig", map[string]any{"bucket": "logs.s3.amazonaws.com"}))},
		{"no legacy logging", "deny_distribution_legacy_logging", false, one(cfDistribution())},

		{"distribution without access logs", "stack_deny_distribution_access_logs", true, one(cfDistribution())},
		{"delivery source for another distribution", "stack_deny_distribution_access_logs", true, func() []Resource {
			rs := cfWithLogs("deps")
			rs[1].Options.PropertyDependencies = map[string][]string{"resourceArn": {urnOf(cfDistributionType, "other")}}
			return rs
		}()},
		{"source without a delivery", "stack_deny_distribution_access_logs", true, cfWithLogs("deps")[:2]},
		{"access logs delivered (preview relations)", "stack_deny_distribution_access_logs", false, cfWithLogs("deps")},
		{"access logs delivered (known values)", "stack_deny_distribution_access_logs", false, cfWithLogs("values")},

		{"no DASH manifest behavior", "deny_distribution_streaming_behaviors", true, one(cfDistribution("orderedCacheBehaviors", []any{
			cfBehavior("pathPattern", "streams/*.m3u8"), cfBehavior("pathPattern", "streams/*"),
		}))},
		{"manifests cached on their own", "deny_distribution_streaming_behaviors", false, one(cfDistribution())},

		{"staging without Origin Shield", "deny_distribution_origin_shield", true, one(cfDistribution("tags", stdTags("staging")))},
		{"staging shielded", "deny_distribution_origin_shield", false, one(cfDistribution("tags", stdTags("staging"), "origins", []any{
			map[string]any{"originId": "proxies", "originShield": map[string]any{"enabled": true, "originShieldRegion": "us-east-1"}},
			map[string]any{"originId": "thumbnails", "originShield": map[string]any{"enabled": true, "originShieldRegion": "us-east-1"}},
		}))},
		{"dev without Origin Shield", "deny_distribution_origin_shield", false, one(cfDistribution())},

		{"no additional metrics", "stack_deny_distribution_unwatched", true, one(cfDistribution())},
		{"dev with additional metrics", "stack_deny_distribution_unwatched", false, []Resource{cfDistribution(), cfMetrics()}},
		{"prod without a hit rate alarm", "stack_deny_distribution_unwatched", true, []Resource{cfDistribution("tags", stdTags("prod")), cfMetrics()}},
		{"prod watched", "stack_deny_distribution_unwatched", false, []Resource{cfDistribution("tags", stdTags("prod")), cfMetrics(),
			res("aws:cloudwatch/metricAlarm:MetricAlarm", "cdn-cache-hit-rate", map[string]any{"namespace": "AWS/CloudFront", "metricName": "CacheHitRate", "tags": stdTags("prod")})}},
	}
}

// cfMetrics is a distribution's additional metrics subscription.
func cfMetrics() Resource {
	return res("aws:cloudfront/monitoringSubscription:MonitoringSubscription", "cdn", map[string]any{
		"distributionId":         Unknown,
		"monitoringSubscription": map[string]any{"realtimeMetricsSubscriptionConfig": map[string]any{"realtimeMetricsSubscriptionStatus": "Enabled"}},
	})
}
