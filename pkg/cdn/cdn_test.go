package cdn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const typeDistribution = "aws:cloudfront/distribution:Distribution"

// publicKeyPEM generates a throwaway P-256 public key; no key material is committed.
func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func testArgs(t *testing.T) Args {
	origin := func(purpose string) Origin {
		name := "cinegit-test-" + purpose + "-123456789012-eu-west-1"
		return Origin{
			BucketName:         pulumi.String(name),
			BucketArn:          pulumi.String("arn:aws:s3:::" + name),
			RegionalDomainName: pulumi.String(name + ".s3.eu-west-1.amazonaws.com"),
		}
	}
	return Args{
		Env:                          harness.Env("test", "eu-west-1"),
		Proxies:                      origin("proxies"),
		Thumbnails:                   origin("thumbnails"),
		PublicKeys:                   []PublicKey{{Name: "k2026a", PEM: publicKeyPEM(t)}, {Name: "k2026b", PEM: publicKeyPEM(t)}},
		PublicThumbnailPaths:         []string{"thumbnails/public/*"},
		PriceClass:                   "PriceClass_100",
		WAFBlock:                     true,
		RateLimit:                    2000,
		RateLimitWindowSeconds:       300,
		LogRetentionDays:             30,
		SigningKeyRecoveryWindowDays: 7,
		Playback: Playback{
			StreamPrefix: "streams/", OriginShieldRegion: "eu-west-1",
			ManifestTTLSeconds: 10, SegmentTTLSeconds: 31536000, ProgressiveTTLSeconds: 86400,
			MinCacheHitRatePercent: 80,
		},
	}
}

// runCDN builds the CDN in a stack whose region is eu-west-1, so that anything wrongly left
// on the regional provider shows.
func runCDN(t *testing.T, args Args, preview bool) *harness.Result {
	t.Helper()
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		regional, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("eu-west-1")})
		if err != nil {
			return err
		}
		edge, err := aws.NewProvider(ctx, "aws-us-east-1", &aws.ProviderArgs{Region: pulumi.String(EdgeRegion)})
		if err != nil {
			return err
		}
		args.EdgeProvider = edge
		c, err := New(ctx, "cdn", args, pulumi.Provider(regional))
		if err != nil {
			return err
		}
		ctx.Export("domain", c.DomainName)
		ctx.Export("keys", c.PublicKeyIDs)
		return nil
	}, "cinegit", "test", map[string]string{"aws:region": "eu-west-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func only(t *testing.T, r *harness.Result, typ string) *harness.Resource {
	t.Helper()
	rs := r.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

func provider(r *harness.Result, res *harness.Resource) string {
	p := r.ByURN(harness.ProviderURN(res.Provider))
	if p == nil {
		return ""
	}
	return p.InputString("region")
}

func TestEdgeResourcesAreInUSEast1(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := runCDN(t, testArgs(t), preview)
		edge := map[string]bool{
			"aws:wafv2/webAcl:WebAcl": true,
			"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": true,
			"aws:cloudwatch/logGroup:LogGroup":                                true,
			"aws:cloudwatch/logResourcePolicy:LogResourcePolicy":              true,
			"aws:cloudwatch/logDeliverySource:LogDeliverySource":              true,
			"aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination":    true,
			"aws:cloudwatch/logDelivery:LogDelivery":                          true,
		}
		for _, res := range r.Resources {
			if !res.Custom || strings.HasPrefix(res.Type, "pulumi:providers:") {
				continue
			}
			want := "eu-west-1"
			// The cache hit rate alarm, its topic and key: CloudFront's metrics are in us-east-1.
			if edge[res.Type] || strings.HasPrefix(res.Name, "cdn-edge-logs") || res.Name == "cdn-alarms" || res.Name == "cdn-cache-hit-rate" {
				want = EdgeRegion
			}
			if got := provider(r, res); got != want {
				t.Errorf("%s %s: provider region %q, want %q", res.Type, res.Name, got, want)
			}
		}
		acl := only(t, r, "aws:wafv2/webAcl:WebAcl")
		if acl.InputString("scope") != "CLOUDFRONT" {
			t.Errorf("web ACL scope %q", acl.InputString("scope"))
		}
		waf := r.Named("aws:cloudwatch/logGroup:LogGroup", "cdn-waf-logs")
		if waf.InputString("name") != "aws-waf-logs-cinegit-test" || waf.Input("retentionInDays") != float64(30) {
			t.Errorf("WAF log group %q retention %v", waf.InputString("name"), waf.Input("retentionInDays"))
		}
		if !r.DependsOn(waf, r.Named("aws:kms/key:Key", "cdn-edge-logs")) {
			t.Errorf("WAF logs must be encrypted with the us-east-1 key")
		}
		logging := only(t, r, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
		if !r.DependsOn(logging, acl) || !r.DependsOn(logging, waf) {
			t.Errorf("WAF logging must connect the web ACL to its log group")
		}
	}
}

func TestWebACLRules(t *testing.T) {
	for _, block := range []bool{true, false} {
		args := testArgs(t)
		args.WAFBlock = block
		acl := only(t, runCDN(t, args, false), "aws:wafv2/webAcl:WebAcl")
		if acl.Input("visibilityConfig.cloudwatchMetricsEnabled") != true || acl.Input("defaultAction.allow") == nil {
			t.Errorf("web ACL: metrics on and allow by default")
		}
		rules := acl.Input("rules").([]any)
		names := []string{}
		for _, x := range rules {
			rule := x.(map[string]any)
			names = append(names, rule["name"].(string))
			if fmt.Sprint(rule["visibilityConfig"].(map[string]any)["cloudwatchMetricsEnabled"]) != "true" {
				t.Errorf("%s: metrics off", rule["name"])
			}
			var verdict map[string]any
			if o, ok := rule["overrideAction"].(map[string]any); ok {
				verdict = o
			} else {
				verdict = rule["action"].(map[string]any)
			}
			_, counts := verdict["count"]
			if counts == block {
				t.Errorf("block=%v: rule %s verdict %v", block, rule["name"], verdict)
			}
		}
		want := "[AWSManagedRulesAmazonIpReputationList AWSManagedRulesCommonRuleSet AWSManagedRulesKnownBadInputsRuleSet RateLimitPerIP]"
		if fmt.Sprint(names) != want {
			t.Errorf("rules %v, want %s", names, want)
		}
		rate := rules[3].(map[string]any)["statement"].(map[string]any)["rateBasedStatement"].(map[string]any)
		if rate["limit"] != float64(2000) || rate["aggregateKeyType"] != "IP" || rate["evaluationWindowSec"] != float64(300) {
			t.Errorf("rate rule: %v", rate)
		}
	}
}

func TestDistribution(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := runCDN(t, testArgs(t), preview)
		d := only(t, r, typeDistribution)
		for path, want := range map[string]any{
			"enabled":       true,
			"httpVersion":   "http2and3",
			"isIpv6Enabled": true,
			"priceClass":    "PriceClass_100",
			"viewerCertificate.cloudfrontDefaultCertificate": true,
			"restrictions.geoRestriction.restrictionType":    "none",
		} {
			if got := d.Input(path); got != want {
				t.Errorf("distribution %s = %v, want %v", path, got, want)
			}
		}
		if !r.DependsOn(d, only(t, r, "aws:wafv2/webAcl:WebAcl")) {
			t.Errorf("the distribution must be behind the web ACL")
		}
		oac := only(t, r, "aws:cloudfront/originAccessControl:OriginAccessControl")
		if oac.InputString("signingBehavior") != "always" || oac.InputString("signingProtocol") != "sigv4" || oac.InputString("originAccessControlOriginType") != "s3" {
			t.Errorf("origin access control: %v", oac.Inputs)
		}
		if !r.DependsOn(d, oac) {
			t.Errorf("origins must use the origin access control")
		}
		kg := only(t, r, "aws:cloudfront/keyGroup:KeyGroup")
		for _, pk := range r.ByType("aws:cloudfront/publicKey:PublicKey") {
			if !r.DependsOn(kg, pk) {
				t.Errorf("the key group must trust %s", pk.Name)
			}
		}
		if len(r.ByType("aws:cloudfront/publicKey:PublicKey")) != 2 {
			t.Errorf("both rotation keys must be registered")
		}
		if !contains(d.PropertyDependencies["defaultCacheBehavior"], kg.URN) || !contains(d.PropertyDependencies["orderedCacheBehaviors"], kg.URN) {
			t.Errorf("private behaviors must trust the key group")
		}
		if preview {
			continue
		}
		behaviors := append([]any{d.Input("defaultCacheBehavior")}, d.Input("orderedCacheBehaviors").([]any)...)
		var patterns []string
		for _, x := range behaviors {
			b := x.(map[string]any)
			pattern, _ := b["pathPattern"].(string)
			patterns = append(patterns, pattern)
			// Manifests short and compressed, segments a year and as they are, progressive
			// proxies and thumbnails immutable; nothing but the path in any cache key.
			policy := map[string]string{"streams/*.m3u8": "manifests", "streams/*.mpd": "manifests", "streams/*": "segments"}[pattern]
			if policy == "" {
				policy = "progressive"
			}
			if b["viewerProtocolPolicy"] != "redirect-to-https" || b["compress"] != (policy != "segments") || b["cachePolicyId"] != "cinegit-test-cdn-"+policy {
				t.Errorf("behavior %q: %v", pattern, b)
			}
			signed := fmt.Sprint(b["trustedKeyGroups"]) == "["+kg.ID+"]"
			if public := pattern == "thumbnails/public/*"; signed == public {
				t.Errorf("behavior %q: signed=%v", pattern, signed)
			}
		}
		if fmt.Sprint(patterns) != "[ streams/*.m3u8 streams/*.mpd streams/* thumbnails/public/* thumbnails/*]" {
			t.Errorf("behaviors in order %q: manifests before segments, public paths before thumbnails/*", patterns)
		}
		for _, cp := range r.ByType("aws:cloudfront/cachePolicy:CachePolicy") {
			ttl := map[string]float64{"cdn-manifests": 10, "cdn-segments": 31536000, "cdn-progressive": 86400}[cp.Name]
			key := cp.Input("parametersInCacheKeyAndForwardedToOrigin").(map[string]any)
			if cp.Input("defaultTtl") != ttl || cp.Input("maxTtl") != ttl ||
				fmt.Sprint(key["cookiesConfig"], key["headersConfig"], key["queryStringsConfig"]) != "map[cookieBehavior:none] map[headerBehavior:none] map[queryStringBehavior:none]" {
				t.Errorf("cache policy %s: %v", cp.Name, cp.Inputs)
			}
		}
		for _, o := range d.Input("origins").([]any) {
			if fmt.Sprint(o.(map[string]any)["originShield"]) != "map[enabled:true originShieldRegion:eu-west-1]" {
				t.Errorf("origin without Origin Shield in the buckets' region: %v", o)
			}
		}
	}
}

// TestPlaybackIsWatched: CloudFront's additional metrics are on, and the cache hit rate alarm
// (us-east-1, where the metric is) notifies an encrypted topic only its alarm may publish to;
// without a threshold there is no alarm.
func TestPlaybackIsWatched(t *testing.T) {
	r := runCDN(t, testArgs(t), false)
	sub := only(t, r, "aws:cloudfront/monitoringSubscription:MonitoringSubscription")
	if sub.InputString("monitoringSubscription.realtimeMetricsSubscriptionConfig.realtimeMetricsSubscriptionStatus") != "Enabled" ||
		!r.DependsOn(sub, only(t, r, "aws:cloudfront/distribution:Distribution")) {
		t.Errorf("additional metrics %v", sub.Inputs)
	}
	alarm := only(t, r, "aws:cloudwatch/metricAlarm:MetricAlarm")
	if alarm.InputString("metricName") != "CacheHitRate" || alarm.InputString("namespace") != "AWS/CloudFront" || alarm.Input("threshold") != 80.0 ||
		alarm.InputString("comparisonOperator") != "LessThanThreshold" || alarm.InputString("dimensions.Region") != "Global" ||
		alarm.InputString("treatMissingData") != "notBreaching" {
		t.Errorf("cache hit rate alarm %v", alarm.Inputs)
	}
	topic := only(t, r, "aws:sns/topic:Topic")
	if topic.InputString("kmsMasterKeyId") == "" || !r.DependsOn(alarm, topic) {
		t.Errorf("alarm topic %v", topic.Inputs)
	}
	quiet := testArgs(t)
	quiet.Playback.MinCacheHitRatePercent = 0
	if n := len(runCDN(t, quiet, false).ByType("aws:cloudwatch/metricAlarm:MetricAlarm")); n != 0 {
		t.Errorf("%d alarms without a threshold", n)
	}
}

func TestCustomDomain(t *testing.T) {
	const arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	for _, withZone := range []bool{false, true} {
		t.Run(fmt.Sprintf("zone=%v", withZone), func(t *testing.T) {
			args := testArgs(t)
			args.CustomDomain = "media.cinegit.io"
			args.CertificateArn = pulumi.String(arn)
			if withZone {
				args.ZoneID = pulumi.String("Z0123456789ABC")
			}
			r := runCDN(t, args, false)
			d := only(t, r, typeDistribution)
			if fmt.Sprint(d.Input("aliases")) != "[media.cinegit.io]" ||
				d.InputString("viewerCertificate.minimumProtocolVersion") != "TLSv1.2_2021" ||
				d.InputString("viewerCertificate.sslSupportMethod") != "sni-only" ||
				d.InputString("viewerCertificate.acmCertificateArn") != arn {
				t.Errorf("custom domain: %v %v", d.Input("aliases"), d.Input("viewerCertificate"))
			}
			records := r.ByType("aws:route53/record:Record")
			if !withZone {
				if len(records) != 0 {
					t.Errorf("no zone, yet %d records", len(records))
				}
				return
			}
			var types []string
			for _, rec := range records {
				types = append(types, rec.InputString("type"))
				if rec.InputString("name") != "media.cinegit.io" || rec.InputString("zoneId") != "Z0123456789ABC" ||
					rec.InputString("aliases[0].name") != "d111111abcdef8.cloudfront.net" ||
					rec.InputString("aliases[0].zoneId") != "Z2FDTNDATAQYW2" {
					t.Errorf("alias record %s: %v", rec.Name, rec.Inputs)
				}
				if !r.DependsOn(rec, d) {
					t.Errorf("alias record %s does not take the distribution's name", rec.Name)
				}
			}
			slices.Sort(types)
			if fmt.Sprint(types) != "[A AAAA]" {
				t.Errorf("alias records %v, want A and AAAA (the distribution serves IPv6)", types)
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	args := testArgs(t)
	args.AllowedOrigins = []string{"https://app.cinegit.io"}
	r := runCDN(t, args, false)
	h := only(t, r, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
	for path, want := range map[string]any{
		"securityHeadersConfig.strictTransportSecurity.accessControlMaxAgeSec": float64(63072000),
		"securityHeadersConfig.contentTypeOptions.override":                    true,
		"securityHeadersConfig.frameOptions.frameOption":                       "DENY",
		"securityHeadersConfig.referrerPolicy.referrerPolicy":                  "strict-origin-when-cross-origin",
		"corsConfig.accessControlAllowOrigins.items[0]":                        "https://app.cinegit.io",
	} {
		if got := h.Input(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if d := only(t, r, typeDistribution); !r.DependsOn(d, h) {
		t.Errorf("behaviors must use the response headers policy")
	}
}

func TestDeliveryBucketPoliciesGrantOnlyThisDistribution(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := runCDN(t, testArgs(t), preview)
		d := only(t, r, typeDistribution)
		for _, purpose := range []string{"proxies", "thumbnails"} {
			p := r.Named("aws:s3/bucketPolicy:BucketPolicy", "cdn-"+purpose)
			if p == nil {
				t.Fatalf("no %s bucket policy", purpose)
			}
			if !contains(p.PropertyDependencies["policy"], d.URN) {
				t.Errorf("%s policy must name the distribution", purpose)
			}
			if preview {
				continue
			}
			var doc struct{ Statement []map[string]any }
			if err := json.Unmarshal([]byte(p.InputString("policy")), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Statement) != 2 || doc.Statement[0]["Sid"] != "DenyInsecureTransport" {
				t.Fatalf("%s policy: want the TLS deny and the distribution grant, got %v", purpose, doc.Statement)
			}
			grant := doc.Statement[1]
			want := fmt.Sprintf("map[StringEquals:map[AWS:SourceArn:[%s]]]", d.Outputs["arn"].StringValue())
			if fmt.Sprint(grant["Condition"]) != want || fmt.Sprint(grant["Action"]) != "[s3:GetObject]" ||
				fmt.Sprint(grant["Principal"]) != "map[Service:[cloudfront.amazonaws.com]]" {
				t.Errorf("%s grant: %v", purpose, grant)
			}
		}
	}
}

func TestAccessLogsUseV2Delivery(t *testing.T) {
	r := runCDN(t, testArgs(t), true)
	d := only(t, r, typeDistribution)
	if d.Input("loggingConfig") != nil {
		t.Errorf("legacy logging needs ACLs, which the buckets disable")
	}
	src := only(t, r, "aws:cloudwatch/logDeliverySource:LogDeliverySource")
	dst := only(t, r, "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
	del := only(t, r, "aws:cloudwatch/logDelivery:LogDelivery")
	group := r.Named("aws:cloudwatch/logGroup:LogGroup", "cdn-access-logs")
	policy := only(t, r, "aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
	switch {
	case src.InputString("logType") != "ACCESS_LOGS" || !r.DependsOn(src, d):
		t.Errorf("the delivery source must be the distribution's access logs")
	case !r.DependsOn(dst, group):
		t.Errorf("the delivery destination must be the access log group")
	case !r.DependsOn(del, src) || !r.DependsOn(del, dst) || !r.DependsOn(del, policy):
		t.Errorf("the delivery must join source and destination after the log group policy")
	}
}

func TestSigningSecret(t *testing.T) {
	args := testArgs(t)
	args.Protect = true
	r := runCDN(t, args, false)
	s := only(t, r, "aws:secretsmanager/secret:Secret")
	if s.InputString("name") != "cinegit/test/cdn/signing-key" || s.Input("recoveryWindowInDays") != float64(7) || !s.Protect {
		t.Errorf("secret %v", s.Inputs)
	}
	if !r.DependsOn(s, r.Named("aws:kms/key:Key", "cdn-signing")) {
		t.Errorf("the secret must use its own key")
	}
	if len(r.ByType("aws:secretsmanager/secretVersion:SecretVersion")) != 0 {
		t.Errorf("the private key is never put in state: no secret version")
	}
}

func TestArgsAreChecked(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Args)
		want   string
	}{
		{"no keys", func(a *Args) { a.PublicKeys = nil }, "public key"},
		{"domain without certificate", func(a *Args) { a.CustomDomain = "media.cinegit.io" }, "CertificateArn"},
		{"duplicate key names", func(a *Args) { a.PublicKeys[1].Name = a.PublicKeys[0].Name }, "unique name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := testArgs(t)
			tt.change(&args)
			_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
				edge, err := aws.NewProvider(ctx, "edge", &aws.ProviderArgs{Region: pulumi.String(EdgeRegion)})
				if err != nil {
					return err
				}
				args.EdgeProvider = edge
				_, err = New(ctx, "cdn", args)
				return err
			}, "cinegit", "test", map[string]string{"aws:region": "eu-west-1"}, true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error about %s, got %v", tt.want, err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestWithoutEdge: a CDN without its edge (prod's region-loss recovery) makes nothing in
// us-east-1 and nothing in CloudFront, keeps the signing secret the services read, and still
// gives each delivery bucket its TLS-only policy.
func TestWithoutEdge(t *testing.T) {
	for _, preview := range []bool{false, true} {
		args := testArgs(t)
		args.NoEdge = true
		r := runCDN(t, args, preview)
		types := map[string]int{}
		for _, res := range r.Resources {
			if !res.Custom || strings.HasPrefix(res.Type, "pulumi:providers:") {
				continue
			}
			types[res.Type]++
			if got := provider(r, res); got != "eu-west-1" {
				t.Errorf("%s %s: provider region %q, want the stack's (nothing in us-east-1)", res.Type, res.Name, got)
			}
		}
		want := map[string]int{"aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1, "aws:secretsmanager/secret:Secret": 1, "aws:s3/bucketPolicy:BucketPolicy": 2}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Errorf("resources %v, want %v", types, want)
		}
		if preview {
			continue
		}
		for _, purpose := range []string{"proxies", "thumbnails"} {
			var doc struct{ Statement []map[string]any }
			if err := json.Unmarshal([]byte(r.Named("aws:s3/bucketPolicy:BucketPolicy", "cdn-"+purpose).InputString("policy")), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Statement) != 1 || doc.Statement[0]["Sid"] != "DenyInsecureTransport" {
				t.Errorf("%s policy: want the TLS deny only, got %v", purpose, doc.Statement)
			}
		}
		if d := r.Exports["domain"]; d.Value != "" {
			t.Errorf("domain %v, want empty without a distribution", d)
		}
	}
}
