// Package cdn is CineGit's content delivery: one CloudFront distribution serving proxies and
// thumbnails from their S3 buckets through origin access control, signed URLs checked against a
// key group, a WAFv2 web ACL in front, and access and WAF logs in CloudWatch Logs.
//
// URL layout. The default behavior serves the proxies bucket: /<key> is object <key>. Paths
// under thumbnails/ are served from the thumbnails bucket, whose keys therefore start with
// "thumbnails/" (CloudFront forwards the path unchanged). Every behavior requires a signed URL,
// except the configured public thumbnail paths, which get their own behaviors before the
// signed one (a key group on a behavior makes every request on it need a signature).
//
// Signing keys. The key group trusts every configured public key, so a new key can be added,
// the application switched to it, and the old key removed, without a moment when valid URLs
// fail. The private key of the key in use lives only in the Secrets Manager secret this
// component creates empty; an operator puts it there (never through config or state) as JSON:
// {"keyPairId": "<public key id from the cdnPublicKeyIds output>", "privateKeyPem": "..."}.
//
// Regions. CloudFront is global; its web ACL, the WAF log group and the CloudWatch log
// delivery of the distribution's access logs must be in us-east-1 and are created through
// EdgeProvider, with their own us-east-1 KMS key. Bucket policies and the signing secret stay
// in the stack's region with the buckets and the application.
package cdn

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// EdgeRegion is where CloudFront's WAF, certificates and log delivery live.
const EdgeRegion = "us-east-1"

// CachingOptimizedPolicyID is AWS's managed "CachingOptimized" cache policy: long TTLs, no
// query strings, headers or cookies in the cache key (signed-URL parameters are checked at the
// edge and are not part of the key), gzip and brotli. Its ID is the same in every account.
const CachingOptimizedPolicyID = "658327ea-f89d-4fab-a63d-7e88639e58f6"

// ThumbnailsPathPattern routes requests to the thumbnails bucket.
const ThumbnailsPathPattern = "thumbnails/*"

// Origin IDs inside the distribution.
const (
	ProxiesOriginID    = "proxies"
	ThumbnailsOriginID = "thumbnails"
)

// Origin is a bucket the distribution serves.
type Origin struct {
	// BucketName is the bucket's name (an output that waits for its public access block).
	BucketName pulumi.StringInput
	// BucketArn is the bucket's ARN.
	BucketArn pulumi.StringInput
	// RegionalDomainName is the bucket's regional endpoint.
	RegionalDomainName pulumi.StringInput
}

// PublicKey is one trusted signing key: a short name and its PEM (RSA-2048 or ECDSA P-256).
type PublicKey struct {
	Name string
	PEM  string
}

// Args configure the CDN.
type Args struct {
	Env stackenv.Env
	// EdgeProvider is an AWS provider for us-east-1.
	EdgeProvider *aws.Provider
	// Proxies and Thumbnails are the origins. This component writes their bucket policies.
	Proxies    Origin
	Thumbnails Origin
	// PublicKeys are trusted for signed URLs (at least one; several during a rotation).
	PublicKeys []PublicKey
	// PublicThumbnailPaths are path patterns under thumbnails/ served without a signature.
	PublicThumbnailPaths []string
	// PriceClass is PriceClass_100, PriceClass_200 or PriceClass_All.
	PriceClass string
	// WAFBlock makes the WAF block what its rules match; false only counts (for tuning).
	WAFBlock bool
	// RateLimit is the most requests one IP may make per RateLimitWindowSeconds.
	RateLimit              int
	RateLimitWindowSeconds int
	// CustomDomain and CertificateArn (ACM, us-east-1) serve the CDN under its own name; both or
	// neither. The certificate is an input so that an issued one from the stack's zone can be
	// passed as it is validated (CloudFront refuses a certificate that is not issued yet).
	CustomDomain   string
	CertificateArn pulumi.StringInput
	// ZoneID, with CustomDomain, is the Route 53 zone where the CDN publishes its name as A and
	// AAAA alias records; nil when the name is managed elsewhere.
	ZoneID pulumi.StringInput
	// AllowedOrigins may fetch media from browsers' scripts (CORS), e.g. the web player.
	AllowedOrigins []string
	// LogRetentionDays keeps access and WAF logs.
	LogRetentionDays int
	// SigningKeyRecoveryWindowDays is the secret's deletion window (0 deletes at once).
	SigningKeyRecoveryWindowDays int
	// Protect marks the keys and the signing secret with Pulumi's protect option.
	Protect bool
	// Playback tunes caching for review playback (playback.go).
	Playback Playback
	// NoEdge makes nothing that lives in or is changed through us-east-1 (the distribution,
	// its WAF, key group, policies, logs and alarms): only the signing secret, and the delivery
	// buckets' TLS-only policies. CloudFront's control plane, its certificates and its WAF are
	// in us-east-1 ("AWS Fault Isolation Boundaries", global services in the edge network), so
	// a recovery from that region's loss (docs/region-loss.md) must deploy without them; the
	// distribution is added by turning the edge back on once us-east-1 answers.
	NoEdge bool
}

// CDN is the content delivery component.
type CDN struct {
	pulumi.ResourceState

	DistributionID      pulumi.StringOutput    `pulumi:"distributionId"`
	DistributionArn     pulumi.StringOutput    `pulumi:"distributionArn"`
	DomainName          pulumi.StringOutput    `pulumi:"domainName"`
	HostedZoneID        pulumi.StringOutput    `pulumi:"hostedZoneId"`
	KeyGroupID          pulumi.StringOutput    `pulumi:"keyGroupId"`
	PublicKeyIDs        pulumi.StringMapOutput `pulumi:"publicKeyIds"`
	WebAclArn           pulumi.StringOutput    `pulumi:"webAclArn"`
	SigningKeySecretArn pulumi.StringOutput    `pulumi:"signingKeySecretArn"`
	AccessLogGroupName  pulumi.StringOutput    `pulumi:"accessLogGroupName"`
	WafLogGroupName     pulumi.StringOutput    `pulumi:"wafLogGroupName"`
}

// New creates the CDN.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*CDN, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("cdn %s: %w", name, err)
	}
	c := &CDN{}
	if err := ctx.RegisterComponentResource("cinegit:cdn:CDN", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	edge := []pulumi.ResourceOption{parent, pulumi.Provider(args.EdgeProvider)}
	env := args.Env
	if args.NoEdge {
		return c, c.withoutEdge(ctx, name, args, parent)
	}

	logs, err := edgeLogs(ctx, name, args, edge)
	if err != nil {
		return nil, err
	}
	acl, err := webACL(ctx, name, args, edge)
	if err != nil {
		return nil, err
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(ctx, name, &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{logs.waf.Arn},
		// Signed-URL signatures are bearer credentials until they expire: keep them out of logs.
		RedactedFields: wafv2.WebAclLoggingConfigurationRedactedFieldArray{&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			QueryString: &wafv2.WebAclLoggingConfigurationRedactedFieldQueryStringArgs{},
		}},
		// Log what the WAF acted on (or would have, in count mode), not every media request.
		LoggingFilter: &wafv2.WebAclLoggingConfigurationLoggingFilterArgs{
			DefaultBehavior: pulumi.String("DROP"),
			Filters: wafv2.WebAclLoggingConfigurationLoggingFilterFilterArray{&wafv2.WebAclLoggingConfigurationLoggingFilterFilterArgs{
				Behavior:    pulumi.String("KEEP"),
				Requirement: pulumi.String("MEETS_ANY"),
				Conditions: wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArray{
					actionCondition("BLOCK"), actionCondition("COUNT"), actionCondition("EXCLUDED_AS_COUNT"),
				},
			}},
		},
		// The log group's resource policy must exist first, or WAF tries to write its own.
	}, append(edge, pulumi.DependsOn([]pulumi.Resource{logs.policy}))...); err != nil {
		return nil, err
	}

	oac, err := cloudfront.NewOriginAccessControl(ctx, name, &cloudfront.OriginAccessControlArgs{
		Name:                          pulumi.String(env.Naming.NameMax(64, "cdn-s3")),
		Description:                   pulumi.String("CineGit " + env.Naming.Stack + " CDN reads the proxies and thumbnails buckets"),
		OriginAccessControlOriginType: pulumi.String("s3"),
		SigningBehavior:               pulumi.String("always"),
		SigningProtocol:               pulumi.String("sigv4"),
	}, parent)
	if err != nil {
		return nil, err
	}
	keyGroup, keyIDs, err := signers(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	headers, err := responseHeaders(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}

	policies, err := cachePolicies(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	dist, err := distribution(ctx, name, args, oac, keyGroup, headers, acl, policies, parent)
	if err != nil {
		return nil, err
	}
	if err := watchPlayback(ctx, name, args, dist, parent, edge); err != nil {
		return nil, err
	}

	// Each delivery bucket's one policy: TLS only, and reads by this distribution only.
	for _, o := range []struct {
		id     string
		origin Origin
	}{{ProxiesOriginID, args.Proxies}, {ThumbnailsOriginID, args.Thumbnails}} {
		if _, err := bucket.NewPolicy(ctx, name+"-"+o.id, bucket.PolicyArgs{
			Bucket:     o.origin.BucketName,
			BucketArn:  o.origin.BucketArn,
			Statements: []iampolicy.Statement{bucket.AllowCloudFrontRead(o.origin.BucketArn, dist.Arn)},
		}, parent); err != nil {
			return nil, err
		}
	}

	if err := accessLogDelivery(ctx, name, args, dist, logs, edge); err != nil {
		return nil, err
	}
	secret, err := signingSecret(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	if err := aliasRecords(ctx, name, args, dist, parent); err != nil {
		return nil, err
	}

	c.DistributionID = dist.ID().ToStringOutput()
	c.DistributionArn = dist.Arn
	c.DomainName = dist.DomainName
	c.HostedZoneID = dist.HostedZoneId
	c.KeyGroupID = keyGroup.ID().ToStringOutput()
	c.PublicKeyIDs = keyIDs.ToStringMapOutput()
	c.WebAclArn = acl.Arn
	c.SigningKeySecretArn = secret.Arn
	c.AccessLogGroupName = logs.access.Name
	c.WafLogGroupName = logs.waf.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"distributionId":      c.DistributionID,
		"distributionArn":     c.DistributionArn,
		"domainName":          c.DomainName,
		"hostedZoneId":        c.HostedZoneID,
		"keyGroupId":          c.KeyGroupID,
		"publicKeyIds":        c.PublicKeyIDs,
		"webAclArn":           c.WebAclArn,
		"signingKeySecretArn": c.SigningKeySecretArn,
		"accessLogGroupName":  c.AccessLogGroupName,
		"wafLogGroupName":     c.WafLogGroupName,
	})
}

// withoutEdge is the CDN with no edge (Args.NoEdge): the signing secret the services read
// stays, so their grants do not change, and the delivery buckets keep a TLS-only policy; the
// distribution's outputs are empty.
func (c *CDN) withoutEdge(ctx *pulumi.Context, name string, args Args, parent pulumi.ResourceOption) error {
	for _, o := range []struct {
		id     string
		origin Origin
	}{{ProxiesOriginID, args.Proxies}, {ThumbnailsOriginID, args.Thumbnails}} {
		if _, err := bucket.NewPolicy(ctx, name+"-"+o.id, bucket.PolicyArgs{
			Bucket: o.origin.BucketName, BucketArn: o.origin.BucketArn,
		}, parent); err != nil {
			return err
		}
	}
	secret, err := signingSecret(ctx, name, args, parent)
	if err != nil {
		return err
	}
	none := pulumi.String("").ToStringOutput()
	c.DistributionID, c.DistributionArn, c.DomainName, c.HostedZoneID = none, none, none, none
	c.KeyGroupID, c.WebAclArn, c.AccessLogGroupName, c.WafLogGroupName = none, none, none, none
	c.PublicKeyIDs = pulumi.StringMap{}.ToStringMapOutput()
	c.SigningKeySecretArn = secret.Arn
	return ctx.RegisterResourceOutputs(c, pulumi.Map{"signingKeySecretArn": c.SigningKeySecretArn})
}

// aliasRecords publish CustomDomain in the zone as alias A and AAAA records for the distribution
// (IPv6 is on, so AAAA too). Alias records to CloudFront need no health check and cost nothing
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-to-cloudfront-distribution.html).
func aliasRecords(ctx *pulumi.Context, name string, args Args, dist *cloudfront.Distribution, parent pulumi.ResourceOption) error {
	if args.ZoneID == nil {
		return nil
	}
	for _, typ := range []string{"A", "AAAA"} {
		if _, err := route53.NewRecord(ctx, name+"-"+strings.ToLower(typ), &route53.RecordArgs{
			ZoneId: args.ZoneID,
			Name:   pulumi.String(args.CustomDomain),
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 dist.DomainName,
				ZoneId:               dist.HostedZoneId,
				EvaluateTargetHealth: pulumi.Bool(false),
			}},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

func (a Args) check() error {
	switch {
	case a.EdgeProvider == nil:
		return fmt.Errorf("EdgeProvider (us-east-1) is required")
	case len(a.PublicKeys) == 0:
		return fmt.Errorf("at least one public key is required for signed URLs")
	case (a.CustomDomain == "") != (a.CertificateArn == nil):
		return fmt.Errorf("CustomDomain and CertificateArn go together")
	case a.ZoneID != nil && a.CustomDomain == "":
		return fmt.Errorf("ZoneID is for the CustomDomain's alias records: set CustomDomain too")
	case a.Proxies.BucketName == nil || a.Proxies.BucketArn == nil || a.Proxies.RegionalDomainName == nil:
		return fmt.Errorf("the proxies origin needs its bucket name, ARN and regional domain name")
	case a.Thumbnails.BucketName == nil || a.Thumbnails.BucketArn == nil || a.Thumbnails.RegionalDomainName == nil:
		return fmt.Errorf("the thumbnails origin needs its bucket name, ARN and regional domain name")
	// An empty prefix would make the segments' catch-all take every request.
	case !strings.HasSuffix(a.Playback.StreamPrefix, "/") || strings.HasPrefix(ThumbnailsPathPattern, a.Playback.StreamPrefix):
		return fmt.Errorf("Playback.StreamPrefix %q must be a key prefix ending in / other than the thumbnails'", a.Playback.StreamPrefix)
	case a.Playback.ManifestTTLSeconds < 1 || a.Playback.SegmentTTLSeconds < 1 || a.Playback.ProgressiveTTLSeconds < 1:
		return fmt.Errorf("the playback TTLs must be positive")
	}
	seen := map[string]bool{}
	for _, k := range a.PublicKeys {
		if k.Name == "" || k.PEM == "" || seen[k.Name] {
			return fmt.Errorf("public keys need a unique name and a PEM")
		}
		seen[k.Name] = true
	}
	return nil
}

func actionCondition(action string) *wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs {
	return &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs{
		ActionCondition: &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs{Action: pulumi.String(action)},
	}
}

// logGroups are the us-east-1 log groups and the resource policy letting AWS deliver to them.
type logGroups struct {
	access, waf *cloudwatch.LogGroup
	policy      *cloudwatch.LogResourcePolicy
}

// edgeLogs creates the us-east-1 key, the access and WAF log groups, and one resource policy
// for both: vended-log delivery (CloudFront v2 logs, WAF) writes through
// delivery.logs.amazonaws.com, which needs this grant. Writing it here, scoped to the two
// groups and this account, keeps AWS from appending broad statements of its own at deploy time.
func edgeLogs(ctx *pulumi.Context, name string, args Args, edge []pulumi.ResourceOption) (*logGroups, error) {
	env := args.Env
	edgeEnv := env // the key lives beside its log groups, in us-east-1
	edgeEnv.Region = EdgeRegion
	keyOpts := edge
	if args.Protect {
		keyOpts = append(append([]pulumi.ResourceOption{}, edge...), pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-edge-logs", kmskey.Args{
		Env:                 edgeEnv,
		Description:         "CineGit " + env.Naming.Stack + " CDN access and WAF logs (us-east-1)",
		Alias:               env.Naming.Name("cdn-logs"),
		AllowCloudWatchLogs: true,
	}, keyOpts...)
	if err != nil {
		return nil, err
	}
	group := func(logical, physical string) (*cloudwatch.LogGroup, error) {
		return cloudwatch.NewLogGroup(ctx, logical, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(physical),
			RetentionInDays: pulumi.Int(args.LogRetentionDays),
			KmsKeyId:        key.Arn(),
			Tags:            env.Tags.Named(physical).Map(),
		}, edge...)
	}
	access, err := group(name+"-access-logs", env.Naming.Path("cdn", "access-logs"))
	if err != nil {
		return nil, err
	}
	// WAF only logs to groups whose name starts with aws-waf-logs-.
	waf, err := group(name+"-waf-logs", "aws-waf-logs-"+env.Naming.Prefix())
	if err != nil {
		return nil, err
	}
	edgeArn := func(service, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", env.Partition, service, EdgeRegion, env.AccountID, resource)
	}
	policy, err := cloudwatch.NewLogResourcePolicy(ctx, name+"-log-delivery", &cloudwatch.LogResourcePolicyArgs{
		PolicyName: pulumi.String(env.Naming.Name("cdn-log-delivery")),
		PolicyDocument: iampolicy.Document(iampolicy.Statement{
			Sid:        "AWSLogDeliveryWrite",
			Effect:     "Allow",
			Actions:    []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources:  pulumi.StringArray{pulumi.Sprintf("%s:log-stream:*", access.Arn), pulumi.Sprintf("%s:log-stream:*", waf.Arn)},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("delivery.logs.amazonaws.com")}},
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(env.AccountID)},
				{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(edgeArn("logs", "*"))},
			},
		}),
	}, edge...)
	if err != nil {
		return nil, err
	}
	return &logGroups{access: access, waf: waf, policy: policy}, nil
}

// managedRuleGroups are the AWS managed rule groups every CineGit web ACL runs, cheapest
// verdict first: known-bad IPs, then the common (OWASP-style) rules, then known bad inputs.
var managedRuleGroups = []string{
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
}

// webACL is the CLOUDFRONT-scope web ACL: managed rule groups and a per-IP rate limit, each
// blocking or (while tuning) only counting, with metrics and sampled requests on.
func webACL(ctx *pulumi.Context, name string, args Args, edge []pulumi.ResourceOption) (*wafv2.WebAcl, error) {
	env := args.Env
	metric := func(rule string) string { return env.Naming.NameMax(128, "cdn", rule) }
	visibility := func(rule string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			SampledRequestsEnabled:   pulumi.Bool(true),
			MetricName:               pulumi.String(metric(rule)),
		}
	}
	override := &wafv2.WebAclRuleOverrideActionArgs{Count: &wafv2.WebAclRuleOverrideActionCountArgs{}}
	action := &wafv2.WebAclRuleActionArgs{Count: &wafv2.WebAclRuleActionCountArgs{}}
	if args.WAFBlock {
		override = &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}}
		action = &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}}
	}
	rules := wafv2.WebAclRuleArray{}
	for i, group := range managedRuleGroups {
		rules = append(rules, &wafv2.WebAclRuleArgs{
			Name:           pulumi.String(group),
			Priority:       pulumi.Int(i),
			OverrideAction: override,
			Statement: &wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					VendorName: pulumi.String("AWS"),
					Name:       pulumi.String(group),
				},
			},
			VisibilityConfig: visibility(group),
		})
	}
	rules = append(rules, &wafv2.WebAclRuleArgs{
		Name:     pulumi.String("RateLimitPerIP"),
		Priority: pulumi.Int(len(managedRuleGroups)),
		Action:   action,
		Statement: &wafv2.WebAclRuleStatementArgs{
			RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
				AggregateKeyType:    pulumi.String("IP"),
				Limit:               pulumi.Int(args.RateLimit),
				EvaluationWindowSec: pulumi.Int(args.RateLimitWindowSeconds),
			},
		},
		VisibilityConfig: visibility("RateLimitPerIP"),
	})
	return wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Name:          pulumi.String(env.Naming.NameMax(128, "cdn")),
		Description:   pulumi.String("CineGit " + env.Naming.Stack + " CDN"),
		Scope:         pulumi.String("CLOUDFRONT"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			SampledRequestsEnabled:   pulumi.Bool(true),
			MetricName:               pulumi.String(metric("web-acl")),
		},
		Tags: env.Tags.Named(env.Naming.Name("cdn")).Map(),
	}, edge...)
}

// signers registers the public keys and the key group that trusts them all.
func signers(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*cloudfront.KeyGroup, pulumi.StringMap, error) {
	env := args.Env
	ids := pulumi.StringArray{}
	byName := pulumi.StringMap{}
	for _, k := range args.PublicKeys {
		pk, err := cloudfront.NewPublicKey(ctx, name+"-"+k.Name, &cloudfront.PublicKeyArgs{
			Name:       pulumi.String(env.Naming.NameMax(128, "cdn", k.Name)),
			EncodedKey: pulumi.String(k.PEM),
			Comment:    pulumi.String("CineGit " + env.Naming.Stack + " URL signing key " + k.Name),
		}, opts...)
		if err != nil {
			return nil, nil, err
		}
		ids = append(ids, pk.ID())
		byName[k.Name] = pk.ID().ToStringOutput()
	}
	group, err := cloudfront.NewKeyGroup(ctx, name, &cloudfront.KeyGroupArgs{
		Name:    pulumi.String(env.Naming.NameMax(128, "cdn-signers")),
		Comment: pulumi.String("Keys trusted to sign CineGit " + env.Naming.Stack + " media URLs"),
		Items:   ids,
	}, opts...)
	return group, byName, err
}

// responseHeaders adds HSTS, nosniff, frame denial and a referrer policy to every response,
// and CORS for the allowed origins (players fetch media segments from scripts).
func responseHeaders(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*cloudfront.ResponseHeadersPolicy, error) {
	env := args.Env
	policy := &cloudfront.ResponseHeadersPolicyArgs{
		Name:    pulumi.String(env.Naming.NameMax(128, "cdn-security-headers")),
		Comment: pulumi.String("CineGit " + env.Naming.Stack + " media security headers"),
		SecurityHeadersConfig: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs{
			StrictTransportSecurity: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs{
				AccessControlMaxAgeSec: pulumi.Int(63072000), // two years
				IncludeSubdomains:      pulumi.Bool(true),
				Override:               pulumi.Bool(true),
			},
			ContentTypeOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs{Override: pulumi.Bool(true)},
			FrameOptions: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs{
				FrameOption: pulumi.String("DENY"),
				Override:    pulumi.Bool(true),
			},
			ReferrerPolicy: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs{
				ReferrerPolicy: pulumi.String("strict-origin-when-cross-origin"),
				Override:       pulumi.Bool(true),
			},
		},
	}
	if len(args.AllowedOrigins) > 0 {
		policy.CorsConfig = &cloudfront.ResponseHeadersPolicyCorsConfigArgs{
			AccessControlAllowCredentials: pulumi.Bool(false),
			AccessControlAllowOrigins:     &cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowOriginsArgs{Items: pulumi.ToStringArray(args.AllowedOrigins)},
			AccessControlAllowMethods:     &cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowMethodsArgs{Items: pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS"})},
			AccessControlAllowHeaders:     &cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowHeadersArgs{Items: pulumi.ToStringArray([]string{"Range"})},
			AccessControlExposeHeaders:    &cloudfront.ResponseHeadersPolicyCorsConfigAccessControlExposeHeadersArgs{Items: pulumi.ToStringArray([]string{"Content-Length", "Content-Range", "ETag"})},
			AccessControlMaxAgeSec:        pulumi.Int(3000),
			OriginOverride:                pulumi.Bool(true),
		}
	}
	return cloudfront.NewResponseHeadersPolicy(ctx, name, policy, opts...)
}

// distribution is the CloudFront distribution itself.
func distribution(ctx *pulumi.Context, name string, args Args, oac *cloudfront.OriginAccessControl, keyGroup *cloudfront.KeyGroup,
	headers *cloudfront.ResponseHeadersPolicy, acl *wafv2.WebAcl, policies *playbackPolicies, opts ...pulumi.ResourceOption) (*cloudfront.Distribution, error) {
	env := args.Env
	signed := pulumi.StringArray{keyGroup.ID()}
	methods := pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS"})
	cached := pulumi.ToStringArray([]string{"GET", "HEAD"})

	// Streaming first: its manifests and segments each have a cache policy of their own, and
	// signed cookies (or URLs) of the key group authorize them like every other proxy.
	behaviors := cloudfront.DistributionOrderedCacheBehaviorArray{}
	for _, b := range args.Playback.streamBehaviors(policies) {
		behaviors = append(behaviors, &cloudfront.DistributionOrderedCacheBehaviorArgs{
			PathPattern:             pulumi.String(b.pattern),
			TargetOriginId:          pulumi.String(ProxiesOriginID),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          methods,
			CachedMethods:           cached,
			Compress:                pulumi.Bool(b.compress),
			CachePolicyId:           b.policy,
			ResponseHeadersPolicyId: headers.ID(),
			TrustedKeyGroups:        signed,
		})
	}
	// Public paths first: CloudFront takes the first pattern that matches.
	for _, p := range args.PublicThumbnailPaths {
		behaviors = append(behaviors, &cloudfront.DistributionOrderedCacheBehaviorArgs{
			PathPattern:             pulumi.String(p),
			TargetOriginId:          pulumi.String(ThumbnailsOriginID),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          methods,
			CachedMethods:           cached,
			Compress:                pulumi.Bool(true),
			CachePolicyId:           policies.progressive.ID(),
			ResponseHeadersPolicyId: headers.ID(),
		})
	}
	behaviors = append(behaviors, &cloudfront.DistributionOrderedCacheBehaviorArgs{
		PathPattern:             pulumi.String(ThumbnailsPathPattern),
		TargetOriginId:          pulumi.String(ThumbnailsOriginID),
		ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
		AllowedMethods:          methods,
		CachedMethods:           cached,
		Compress:                pulumi.Bool(true),
		CachePolicyId:           policies.progressive.ID(),
		ResponseHeadersPolicyId: headers.ID(),
		TrustedKeyGroups:        signed,
	})

	cert := &cloudfront.DistributionViewerCertificateArgs{CloudfrontDefaultCertificate: pulumi.Bool(true)}
	var aliases pulumi.StringArray
	if args.CustomDomain != "" {
		aliases = pulumi.StringArray{pulumi.String(args.CustomDomain)}
		cert = &cloudfront.DistributionViewerCertificateArgs{
			AcmCertificateArn:      args.CertificateArn,
			SslSupportMethod:       pulumi.String("sni-only"),
			MinimumProtocolVersion: pulumi.String("TLSv1.2_2021"),
		}
	}
	origin := func(id string, o Origin) *cloudfront.DistributionOriginArgs {
		a := &cloudfront.DistributionOriginArgs{
			OriginId:              pulumi.String(id),
			DomainName:            o.RegionalDomainName,
			OriginAccessControlId: oac.ID(),
		}
		if r := args.Playback.OriginShieldRegion; r != "" {
			a.OriginShield = &cloudfront.DistributionOriginOriginShieldArgs{Enabled: pulumi.Bool(true), OriginShieldRegion: pulumi.String(r)}
		}
		return a
	}
	return cloudfront.NewDistribution(ctx, name, &cloudfront.DistributionArgs{
		Comment:       pulumi.String("CineGit " + env.Naming.Stack + " media"),
		Enabled:       pulumi.Bool(true),
		HttpVersion:   pulumi.String("http2and3"),
		IsIpv6Enabled: pulumi.Bool(true),
		PriceClass:    pulumi.String(args.PriceClass),
		Aliases:       aliases,
		WebAclId:      acl.Arn,
		Origins: cloudfront.DistributionOriginArray{
			origin(ProxiesOriginID, args.Proxies),
			origin(ThumbnailsOriginID, args.Thumbnails),
		},
		// Progressive proxies: whole files read with Range requests, immutable.
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId:          pulumi.String(ProxiesOriginID),
			ViewerProtocolPolicy:    pulumi.String("redirect-to-https"),
			AllowedMethods:          methods,
			CachedMethods:           cached,
			Compress:                pulumi.Bool(true),
			CachePolicyId:           policies.progressive.ID(),
			ResponseHeadersPolicyId: headers.ID(),
			TrustedKeyGroups:        signed,
		},
		OrderedCacheBehaviors: behaviors,
		Restrictions: &cloudfront.DistributionRestrictionsArgs{
			GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")},
		},
		ViewerCertificate: cert,
		Tags:              env.Tags.Named(env.Naming.Name("cdn")).Map(),
	}, opts...)
}

// accessLogDelivery sends the distribution's access logs (standard logging v2) to the access
// log group. The legacy standard logging needs an ACL-enabled bucket, which BucketOwnerEnforced
// forbids; v2 delivery through CloudWatch Logs needs no bucket ACLs at all. Its source,
// destination and delivery are CloudWatch Logs resources that AWS accepts for CloudFront in
// us-east-1 only.
func accessLogDelivery(ctx *pulumi.Context, name string, args Args, dist *cloudfront.Distribution, logs *logGroups, edge []pulumi.ResourceOption) error {
	env := args.Env
	source, err := cloudwatch.NewLogDeliverySource(ctx, name+"-access-logs", &cloudwatch.LogDeliverySourceArgs{
		Name:        pulumi.String(env.Naming.NameMax(60, "cdn-access")),
		LogType:     pulumi.String("ACCESS_LOGS"),
		ResourceArn: dist.Arn,
		Tags:        env.Tags.Named(env.Naming.Name("cdn-access")).Map(),
	}, edge...)
	if err != nil {
		return err
	}
	destination, err := cloudwatch.NewLogDeliveryDestination(ctx, name+"-access-logs", &cloudwatch.LogDeliveryDestinationArgs{
		Name:         pulumi.String(env.Naming.NameMax(60, "cdn-access-logs")),
		OutputFormat: pulumi.String("json"),
		DeliveryDestinationConfiguration: &cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs{
			DestinationResourceArn: logs.access.Arn,
		},
		Tags: env.Tags.Named(env.Naming.Name("cdn-access-logs")).Map(),
	}, edge...)
	if err != nil {
		return err
	}
	_, err = cloudwatch.NewLogDelivery(ctx, name+"-access-logs", &cloudwatch.LogDeliveryArgs{
		DeliverySourceName:     source.Name,
		DeliveryDestinationArn: destination.Arn,
		Tags:                   env.Tags.Named(env.Naming.Name("cdn-access-logs")).Map(),
		// Delivery must find the log group's resource policy in place, or AWS adds its own.
	}, append(edge, pulumi.DependsOn([]pulumi.Resource{logs.policy}))...)
	return err
}

// signingSecret is the empty secret the application reads the URL-signing private key from,
// encrypted with a key of its own so that reading it is a separate grant from reading media.
func signingSecret(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*secretsmanager.Secret, error) {
	env := args.Env
	if args.Protect {
		opts = append(opts, pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-signing", kmskey.Args{
		Env:         env,
		Description: "CineGit " + env.Naming.Stack + " CDN URL-signing private key secret",
		Alias:       env.Naming.Name("cdn-signing"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	// Same shape as the stack's other secrets: cinegit/<stack>/<component>/<name>.
	secretName := strings.TrimPrefix(env.Naming.Path("cdn", "signing-key"), "/")
	return secretsmanager.NewSecret(ctx, name+"-signing-key", &secretsmanager.SecretArgs{
		Name: pulumi.String(secretName),
		Description: pulumi.String("CloudFront URL-signing private key (JSON: keyPairId, privateKeyPem). " +
			"Set out of band; never in config or state."),
		KmsKeyId:             key.Arn(),
		RecoveryWindowInDays: pulumi.Int(args.SigningKeyRecoveryWindowDays),
		Tags:                 env.Tags.Named(secretName).Map(),
	}, opts...)
}
