package cinegit

import rego.v1

# CloudFront
# ==========
#
# Distributions serve over HTTPS only, behind a WAFv2 web ACL, read S3 through origin access
# control (never a legacy origin access identity), sign with key groups (never account key
# pairs), add security headers to every response, and log requests through standard logging v2
# (CloudWatch log delivery: the legacy logging needs ACL-enabled buckets, which
# BucketOwnerEnforced forbids).

distribution_type := "aws:cloudfront/distribution:Distribution"

# distribution_behaviors lists a distribution's cache behaviors as {"path", "behavior"}.
distribution_behaviors(d) := array.concat(
	[{"path": "default (*)", "behavior": b} | b := object.get(d, "defaultCacheBehavior", null); is_object(b)],
	[{"path": object.get(b, "pathPattern", sprintf("#%d", [i])), "behavior": b} |
		some i, b in object.get(d, "orderedCacheBehaviors", [])
		is_object(b)
	],
)

# https_viewer_policies redirect or refuse plain HTTP.
https_viewer_policies := {"redirect-to-https", "https-only"}

# METADATA
# title: CloudFront viewers use HTTPS
# description: >-
#   Every cache behavior of a distribution has viewerProtocolPolicy redirect-to-https or
#   https-only: signed URLs and media never travel in clear text.
deny_distribution_viewer_https contains msg if {
	input.__type == distribution_type
	bad := [x.path | some x in distribution_behaviors(input); not object.get(x.behavior, "viewerProtocolPolicy", "") in https_viewer_policies]
	count(bad) > 0
	not excepted(input, "deny_distribution_viewer_https")
	msg := sprintf("%s: behaviors %s allow plain HTTP (viewerProtocolPolicy not redirect-to-https or https-only)", [describe(input), concat(", ", bad)])
}

# METADATA
# title: CloudFront distributions are behind a web ACL
# description: >-
#   Every distribution sets webAclId to a WAFv2 web ACL (scope CLOUDFRONT) that filters and
#   rate-limits requests before they reach the cache or the origins.
deny_distribution_web_acl contains msg if {
	input.__type == distribution_type
	not is_set(object.get(input, "webAclId", null))
	not excepted(input, "deny_distribution_web_acl")
	msg := sprintf("%s: no webAclId: requests reach the distribution unfiltered", [describe(input)])
}

# modern_tls_policies are CloudFront security policies with TLS 1.2 or later and modern ciphers.
modern_tls_policies := {"TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"}

# METADATA
# title: CloudFront custom domains use TLS 1.2 (2021 policy) or later
# description: >-
#   A distribution serving a custom domain (aliases) uses an ACM certificate over SNI with
#   minimumProtocolVersion TLSv1.2_2021 or newer. (The default *.cloudfront.net certificate's
#   policy cannot be changed, which is why this applies to custom domains.)
deny_distribution_tls_policy contains msg if {
	input.__type == distribution_type
	count(object.get(input, "aliases", [])) > 0
	cert := object.get(input, "viewerCertificate", {})
	problems := {sprintf("minimumProtocolVersion %v is older than TLSv1.2_2021", [object.get(cert, "minimumProtocolVersion", null)]) |
		not object.get(cert, "minimumProtocolVersion", "") in modern_tls_policies
	} | {"sslSupportMethod is not sni-only" | object.get(cert, "sslSupportMethod", "") != "sni-only"} |
		{"no ACM certificate (acmCertificateArn)" | not is_set(object.get(cert, "acmCertificateArn", null))}
	count(problems) > 0
	not excepted(input, "deny_distribution_tls_policy")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# s3_origin holds for an origin that is not a custom (HTTP) origin: an S3 bucket endpoint.
s3_origin(o) if not is_set(object.get(o, "customOriginConfig", null))

# origin_access_problems lists what keeps S3 origin o from reading through origin access control.
origin_access_problems(o) := {"no originAccessControlId" | not is_set(object.get(o, "originAccessControlId", null))} |
	{"a legacy origin access identity (s3OriginConfig.originAccessIdentity)" |
		is_set(object.get(object.get(o, "s3OriginConfig", {}), "originAccessIdentity", null))
	}

# METADATA
# title: CloudFront reads S3 through origin access control
# description: >-
#   Every S3 origin of a distribution has an originAccessControlId and no legacy origin access
#   identity: OAC signs every origin request with SigV4, works with SSE-KMS, and lets the
#   bucket policy name the distribution.
deny_distribution_origin_access_control contains msg if {
	input.__type == distribution_type
	problems := {sprintf("origin %v: %s", [object.get(o, "originId", i), p]) |
		some i, o in object.get(input, "origins", [])
		s3_origin(o)
		some p in origin_access_problems(o)
	}
	count(problems) > 0
	not excepted(input, "deny_distribution_origin_access_control")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# METADATA
# title: CloudFront origin access control always signs with SigV4
# description: >-
#   Origin access controls sign every origin request (signingBehavior always) with SigV4, so
#   that the bucket policy's distribution grant applies to every request.
deny_origin_access_control_signing contains msg if {
	input.__type == "aws:cloudfront/originAccessControl:OriginAccessControl"
	problems := {sprintf("signingBehavior is %v, not always", [object.get(input, "signingBehavior", null)]) |
		object.get(input, "signingBehavior", "") != "always"
	} | {sprintf("signingProtocol is %v, not sigv4", [object.get(input, "signingProtocol", null)]) |
		object.get(input, "signingProtocol", "") != "sigv4"
	}
	count(problems) > 0
	not excepted(input, "deny_origin_access_control_signing")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# METADATA
# title: CloudFront signed URLs use key groups
# description: >-
#   No cache behavior trusts signers (trustedSigners, the root user's CloudFront key pairs):
#   signed URLs are verified against trusted key groups of public keys, which IAM can manage
#   and rotate without the root user.
deny_distribution_legacy_signers contains msg if {
	input.__type == distribution_type
	bad := [x.path | some x in distribution_behaviors(input); count(object.get(x.behavior, "trustedSigners", [])) > 0]
	count(bad) > 0
	not excepted(input, "deny_distribution_legacy_signers")
	msg := sprintf("%s: behaviors %s trust account key pairs (trustedSigners); use trustedKeyGroups", [describe(input), concat(", ", bad)])
}

# METADATA
# title: CloudFront responses carry security headers
# description: >-
#   Every cache behavior of a distribution sets a responseHeadersPolicyId (a policy with HSTS,
#   nosniff, frame options and a referrer policy, see deny_response_headers_security).
deny_distribution_response_headers contains msg if {
	input.__type == distribution_type
	bad := [x.path | some x in distribution_behaviors(input); not is_set(object.get(x.behavior, "responseHeadersPolicyId", null))]
	count(bad) > 0
	not excepted(input, "deny_distribution_response_headers")
	msg := sprintf("%s: behaviors %s have no response headers policy", [describe(input), concat(", ", bad)])
}

# security_header_problems lists the security headers a response headers policy lacks.
security_header_problems(p) := problems if {
	h := object.get(p, "securityHeadersConfig", {})
	hsts := object.get(h, "strictTransportSecurity", {})
	problems := {"no Strict-Transport-Security of at least a year" |
		not hsts_year(hsts)
	} | {"no X-Content-Type-Options: nosniff" |
		not is_object(object.get(h, "contentTypeOptions", null))
	} | {"no X-Frame-Options DENY or SAMEORIGIN" |
		not object.get(object.get(h, "frameOptions", {}), "frameOption", "") in {"DENY", "SAMEORIGIN"}
	} | {"no Referrer-Policy" |
		not is_set(object.get(object.get(h, "referrerPolicy", {}), "referrerPolicy", null))
	}
}

hsts_year(hsts) if {
	is_number(hsts.accessControlMaxAgeSec)
	hsts.accessControlMaxAgeSec >= 31536000
}

# METADATA
# title: CloudFront response headers policies set security headers
# description: >-
#   Response headers policies set Strict-Transport-Security (max-age at least one year),
#   X-Content-Type-Options nosniff, X-Frame-Options DENY or SAMEORIGIN and a Referrer-Policy.
deny_response_headers_security contains msg if {
	input.__type == "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
	problems := security_header_problems(input)
	count(problems) > 0
	not excepted(input, "deny_response_headers_security")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# METADATA
# title: CloudFront serves HTTP/2, HTTP/3 and IPv6
# description: >-
#   Distributions enable HTTP/3 (httpVersion http2and3 or http3) and IPv6: faster starts for
#   media players on lossy mobile networks, and reachability for IPv6-only clients. Advisory.
warn_distribution_protocols contains msg if {
	input.__type == distribution_type
	problems := {sprintf("httpVersion is %v", [object.get(input, "httpVersion", "http2")]) |
		not object.get(input, "httpVersion", "http2") in {"http2and3", "http3"}
	} | {"IPv6 is off" | not is_true(object.get(input, "isIpv6Enabled", false))}
	count(problems) > 0
	not excepted(input, "warn_distribution_protocols")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# METADATA
# title: CloudFront uses standard logging v2, not legacy logging
# description: >-
#   Distributions do not set loggingConfig (legacy standard logging): it writes to S3 through
#   bucket ACLs, which CineGit's buckets disable (BucketOwnerEnforced). Use CloudWatch log
#   delivery (stack_deny_distribution_access_logs).
deny_distribution_legacy_logging contains msg if {
	input.__type == distribution_type
	is_set(object.get(input, "loggingConfig", null))
	not excepted(input, "deny_distribution_legacy_logging")
	msg := sprintf("%s: legacy loggingConfig needs ACL-enabled buckets; deliver access logs with CloudWatch log delivery (v2)", [describe(input)])
}

# derives_from holds when property prop of resource c comes from resource r: the engine's
# property dependencies say so, or (without them) r is among c's dependencies while the value
# is unknown, or the value equals r's arn.
derives_from(c, prop, r) if r.__urn in object.get(object.get(c, "propertyDependencies", {}), prop, [])

derives_from(c, prop, r) if {
	count(object.get(object.get(c, "propertyDependencies", {}), prop, [])) == 0
	not known_string(object.get(c, prop, null))
	r.__urn in object.get(c, "dependencies", [])
}

derives_from(c, prop, r) if {
	known_string(object.get(c, prop, null))
	c[prop] == object.get(r, "arn", null)
}

# access_log_delivered holds when distribution d's access logs are delivered: a delivery
# source of type ACCESS_LOGS for d, and a delivery from that source.
access_log_delivered(d) if {
	some src in input.resources
	src.__type == "aws:cloudwatch/logDeliverySource:LogDeliverySource"
	object.get(src, "logType", "") == "ACCESS_LOGS"
	derives_from(src, "resourceArn", d)
	some delivery in input.resources
	delivery.__type == "aws:cloudwatch/logDelivery:LogDelivery"
	derives_from_name(delivery, src)
}

# derives_from_name holds when a delivery's deliverySourceName comes from source src.
derives_from_name(delivery, src) if derives_from(delivery, "deliverySourceName", src)

derives_from_name(delivery, src) if {
	known_string(object.get(delivery, "deliverySourceName", null))
	delivery.deliverySourceName == object.get(src, "name", null)
}

# METADATA
# title: CloudFront access logs are delivered
# description: >-
#   Every distribution has standard logging v2: an aws:cloudwatch/logDeliverySource of logType
#   ACCESS_LOGS for it and an aws:cloudwatch/logDelivery from that source to a destination.
stack_deny_distribution_access_logs contains finding if {
	some d in input.resources
	d.__type == distribution_type
	not access_log_delivered(d)
	not excepted(d, "stack_deny_distribution_access_logs")
	finding := stack_finding(d, "has no access log delivery (logDeliverySource ACCESS_LOGS and logDelivery)")
}

# METADATA
# title: Review playback caches streaming manifests on their own
# description: >-
#   Every distribution has cache behaviors for HLS (*.m3u8) and DASH (*.mpd) manifests, ahead of
#   the segments: a manifest of a rendition still being transcoded grows, so it gets a short TTL
#   of its own, while segments, proxies and thumbnails are immutable and cached for long.
deny_distribution_streaming_behaviors contains msg if {
	input.__type == distribution_type
	some suffix in {".m3u8", ".mpd"}
	not has_behavior_suffix(input, suffix)
	not excepted(input, "deny_distribution_streaming_behaviors")
	msg := sprintf("%s: no cache behavior for *%s manifests", [describe(input), suffix])
}

has_behavior_suffix(d, suffix) if {
	some b in object.get(d, "orderedCacheBehaviors", [])
	endswith(object.get(b, "pathPattern", ""), concat("", ["*", suffix]))
}

# METADATA
# title: Staging and prod put Origin Shield before the buckets
# description: >-
#   In staging and prod every origin of a distribution has Origin Shield enabled, so the edges'
#   misses during a review session reach S3 once, not once per edge location.
deny_distribution_origin_shield contains msg if {
	input.__type == distribution_type
	environment(input) in durable_environments
	some o in object.get(input, "origins", [])
	not is_true(object.get(object.get(o, "originShield", {}), "enabled", false))
	not excepted(input, "deny_distribution_origin_shield")
	msg := sprintf("%s: origin %s has no Origin Shield", [describe(input), object.get(o, "originId", "?")])
}

# METADATA
# title: Review playback is measured, and watched in staging and prod
# description: >-
#   Every distribution has CloudFront's additional metrics on (an
#   aws:cloudfront/monitoringSubscription with realtime metrics Enabled), and in staging and prod a
#   CloudWatch alarm on its AWS/CloudFront CacheHitRate.
stack_deny_distribution_unwatched contains finding if {
	some d in input.resources
	d.__type == distribution_type
	some problem in unwatched(d)
	not excepted(d, "stack_deny_distribution_unwatched")
	finding := stack_finding(d, problem)
}

unwatched(d) := {"has no additional metrics (aws:cloudfront/monitoringSubscription, realtime metrics Enabled)"} if {
	not additional_metrics_on
} else := {"has no alarm on its AWS/CloudFront CacheHitRate"} if {
	environment(d) in durable_environments
	not cache_hit_rate_alarm
} else := set()

additional_metrics_on if {
	some m in input.resources
	m.__type == "aws:cloudfront/monitoringSubscription:MonitoringSubscription"
	object.get(object.get(object.get(m, "monitoringSubscription", {}), "realtimeMetricsSubscriptionConfig", {}), "realtimeMetricsSubscriptionStatus", "") == "Enabled"
}

cache_hit_rate_alarm if {
	some a in input.resources
	a.__type == "aws:cloudwatch/metricAlarm:MetricAlarm"
	object.get(a, "namespace", "") == "AWS/CloudFront"
	object.get(a, "metricName", "") == "CacheHitRate"
}
