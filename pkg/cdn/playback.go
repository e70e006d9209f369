package cdn

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/alarmtopic"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
)

// Playback tunes the distribution for review playback. CineGit writes every proxy, rendition
// and segment once, under a versioned key, and never changes it; only a streaming manifest of
// a rendition still being transcoded is rewritten as segments are added.
type Playback struct {
	// StreamPrefix is where adaptive streaming renditions live in the proxies bucket, e.g.
	// "streams/": manifests (*.m3u8, *.mpd) and segments under it get behaviors of their own.
	StreamPrefix string
	// OriginShieldRegion turns Origin Shield on in this region (the buckets'); "" leaves it off.
	OriginShieldRegion string
	// ManifestTTLSeconds, SegmentTTLSeconds and ProgressiveTTLSeconds are the default and
	// maximum TTLs of manifests, segments, and progressive proxies and thumbnails.
	ManifestTTLSeconds, SegmentTTLSeconds, ProgressiveTTLSeconds int
	// MinCacheHitRatePercent alarms below this cache hit rate; 0 for no alarm.
	MinCacheHitRatePercent int
	// AlarmEmail subscribes an address to the alarm topic.
	AlarmEmail string
}

// playbackPolicies are the distribution's three cache policies.
type playbackPolicies struct {
	manifests, segments, progressive *cloudfront.CachePolicy
}

// streamBehavior is one ordered cache behavior under StreamPrefix.
type streamBehavior struct {
	pattern  string
	policy   pulumi.StringInput
	compress bool
}

// streamBehaviors are the manifests' patterns before the segments' catch-all (CloudFront takes
// the first pattern that matches). Manifests are text and compress; segments are already
// compressed video.
func (p Playback) streamBehaviors(policies *playbackPolicies) []streamBehavior {
	return []streamBehavior{
		{p.StreamPrefix + "*.m3u8", policies.manifests.ID(), true},
		{p.StreamPrefix + "*.mpd", policies.manifests.ID(), true},
		{p.StreamPrefix + "*", policies.segments.ID(), false},
	}
}

// cachePolicies make the three policies: a TTL each, and nothing but the path in the cache
// key. Query strings (signed URLs' parameters), cookies (signed cookies) and headers are checked
// at the edge, never forwarded or keyed, so every viewer shares one cached copy
// ("Controlling the cache key", CloudFront Developer Guide). Range requests are cached per
// range without keying a header.
func cachePolicies(ctx *pulumi.Context, name string, args Args, parent pulumi.ResourceOption) (*playbackPolicies, error) {
	env, p := args.Env, args.Playback
	policy := func(kind, comment string, ttl int, compress bool) (*cloudfront.CachePolicy, error) {
		return cloudfront.NewCachePolicy(ctx, name+"-"+kind, &cloudfront.CachePolicyArgs{
			Name:       pulumi.String(env.Naming.NameMax(128, "cdn", kind)),
			Comment:    pulumi.String(comment),
			MinTtl:     pulumi.Int(0),
			DefaultTtl: pulumi.Int(ttl),
			MaxTtl:     pulumi.Int(ttl),
			ParametersInCacheKeyAndForwardedToOrigin: &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs{
				CookiesConfig:              &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs{CookieBehavior: pulumi.String("none")},
				HeadersConfig:              &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs{HeaderBehavior: pulumi.String("none")},
				QueryStringsConfig:         &cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs{QueryStringBehavior: pulumi.String("none")},
				EnableAcceptEncodingGzip:   pulumi.Bool(compress),
				EnableAcceptEncodingBrotli: pulumi.Bool(compress),
			},
		}, parent)
	}
	manifests, err := policy("manifests", "Streaming manifests: short, a rendition being transcoded grows", p.ManifestTTLSeconds, true)
	if err != nil {
		return nil, err
	}
	segments, err := policy("segments", "Streaming segments: versioned and immutable", p.SegmentTTLSeconds, false)
	if err != nil {
		return nil, err
	}
	progressive, err := policy("progressive", "Progressive proxies and thumbnails: versioned and immutable", p.ProgressiveTTLSeconds, true)
	if err != nil {
		return nil, err
	}
	return &playbackPolicies{manifests: manifests, segments: segments, progressive: progressive}, nil
}

// watchPlayback turns CloudFront's additional metrics on (cache hit rate, origin latency, error
// rates by status: "Enabling additional CloudFront distribution metrics", CloudFront
// Developer Guide) and, with a threshold, alarms when the cache hit rate stays under it for
// three hours. CloudFront's metrics are in us-east-1, so the alarm and its encrypted topic are
// there too (edge).
func watchPlayback(ctx *pulumi.Context, name string, args Args, dist *cloudfront.Distribution, parent pulumi.ResourceOption, edge []pulumi.ResourceOption) error {
	env, p := args.Env, args.Playback
	if _, err := cloudfront.NewMonitoringSubscription(ctx, name, &cloudfront.MonitoringSubscriptionArgs{
		DistributionId: dist.ID(),
		MonitoringSubscription: &cloudfront.MonitoringSubscriptionMonitoringSubscriptionArgs{
			RealtimeMetricsSubscriptionConfig: &cloudfront.MonitoringSubscriptionMonitoringSubscriptionRealtimeMetricsSubscriptionConfigArgs{
				RealtimeMetricsSubscriptionStatus: pulumi.String("Enabled"),
			},
		},
	}, parent); err != nil {
		return err
	}
	if p.MinCacheHitRatePercent == 0 {
		return nil
	}
	alarmName := env.Naming.Name("cdn-cache-hit-rate")
	alarmArn := fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", env.Partition, EdgeRegion, env.AccountID, alarmName)
	edgeEnv := env
	edgeEnv.Region = EdgeRegion
	key, err := kmskey.New(ctx, name+"-alarms", kmskey.Args{
		Env:         edgeEnv,
		Description: "CineGit " + env.Naming.Stack + " CDN alarm topic",
		Alias:       env.Naming.Name("cdn-alarms"),
		Statements:  []iampolicy.Statement{alarmtopic.KeyStatement(env.AccountID, alarmArn)},
	}, append(append([]pulumi.ResourceOption{}, edge...), pulumi.Protect(args.Protect))...)
	if err != nil {
		return err
	}
	topic, err := alarmtopic.New(ctx, name+"-alarms", alarmtopic.Args{
		Name:            env.Naming.Name("cdn-alarms"),
		DisplayName:     "CineGit " + env.Naming.Stack + " CDN",
		KeyArn:          key.Arn(),
		AccountID:       env.AccountID,
		AlarmArnPattern: alarmArn,
		AllowSid:        "AllowCacheHitRateAlarm",
		Email:           p.AlarmEmail,
		Tags:            env.Tags,
	}, edge...)
	if err != nil {
		return err
	}
	// CacheHitRate is an additional metric, per distribution, in the Global region dimension;
	// hours without requests (a quiet night) have no data and do not alarm.
	_, err = cloudwatch.NewMetricAlarm(ctx, name+"-cache-hit-rate", &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(alarmName),
		AlarmDescription:   pulumi.String(fmt.Sprintf("The CDN's cache hit rate stayed below %d%% for three hours: review playback pays for misses at S3", p.MinCacheHitRatePercent)),
		Namespace:          pulumi.String("AWS/CloudFront"),
		MetricName:         pulumi.String("CacheHitRate"),
		Dimensions:         pulumi.StringMap{"DistributionId": dist.ID(), "Region": pulumi.String("Global")},
		Statistic:          pulumi.String("Average"),
		Period:             pulumi.Int(3600),
		EvaluationPeriods:  pulumi.Int(3),
		Threshold:          pulumi.Float64(float64(p.MinCacheHitRatePercent)),
		ComparisonOperator: pulumi.String("LessThanThreshold"),
		TreatMissingData:   pulumi.String("notBreaching"),
		AlarmActions:       pulumi.Array{topic.Arn},
		OkActions:          pulumi.Array{topic.Arn},
		Tags:               env.Tags.Named(alarmName).Map(),
	}, edge...)
	return err
}
