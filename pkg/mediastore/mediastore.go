// Package mediastore is CineGit's media storage: the media bucket (original camera files and
// project media, uploaded from browsers through presigned URLs), the proxies and thumbnails
// buckets (derived, regenerable renditions served by the CDN), the access-logs bucket, and the
// customer-managed KMS key that encrypts the first three.
//
// New objects in the media bucket are announced on the account's default EventBridge bus
// (source "aws.s3", detail-type "Object Created"), which media processing subscribes to.
//
// Bucket policies. S3 allows exactly one policy per bucket, and every CineGit bucket policy is
// written with bucket.NewPolicy, which always starts with the TLS-only deny. This component
// writes the policies of the media and logs buckets, whose grants it knows. The policies of the
// proxies and thumbnails buckets are written by the component that serves them (the CDN),
// because their one grant names the CloudFront distribution, which can only exist after these
// buckets do (it needs their domain names): writing the policy there keeps each policy a single
// complete resource with both the TLS deny and the distribution grant, with no cycle and no
// second policy to overwrite the first. The whole-program tests prove every bucket ends up with
// exactly one policy that denies non-TLS requests.
package mediastore

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args configure the media store.
type Args struct {
	Env stackenv.Env
	// ForceDestroy lets `pulumi destroy` empty and delete the buckets (dev only).
	ForceDestroy bool
	// Protect marks the buckets and the key with Pulumi's protect option.
	Protect bool
	// CORSOrigins are the web origins allowed to upload to the media bucket from a browser
	// with presigned URLs (https://app.example.com). None: no CORS configuration.
	CORSOrigins []string
	// TransferAcceleration serves uploads to the media bucket through CloudFront's edge
	// locations (the bucket's s3-accelerate endpoint): faster from sets and edit suites far
	// from the bucket's region, billed per GB accelerated.
	TransferAcceleration bool
	// AbortIncompleteUploadDays aborts unfinished multipart uploads in every bucket (1-7).
	AbortIncompleteUploadDays int
	// NoncurrentVersionExpirationDays deletes overwritten or deleted media versions after this age.
	NoncurrentVersionExpirationDays int
	// OriginalsPrefix is the key prefix of original camera files in the media bucket; ""
	// applies OriginalsTransitions to the whole bucket.
	OriginalsPrefix string
	// OriginalsTransitions move originals to colder storage classes as they age.
	OriginalsTransitions []bucket.Transition
	// DerivedNoncurrentVersionExpirationDays deletes overwritten proxies and thumbnails after
	// this age: they can be regenerated, so old versions are not worth keeping long.
	DerivedNoncurrentVersionExpirationDays int
	// ProxiesOneZoneIADays moves proxies to S3 One Zone-IA after this many days (0: never).
	// One zone is enough for data that can be regenerated from the originals.
	ProxiesOneZoneIADays int
	// LogsExpirationDays deletes access logs after this many days.
	LogsExpirationDays int
	// LoadBalancerLogsPrefix, when set, lets Elastic Load Balancing write this account's load
	// balancer access logs to the logs bucket under it.
	LoadBalancerLogsPrefix string
	// Replication replicates the media bucket to another region. Nil: no replica.
	Replication *Replication
}

// MediaStore is the media storage component.
type MediaStore struct {
	pulumi.ResourceState

	MediaBucketName                    pulumi.StringOutput `pulumi:"mediaBucketName"`
	MediaBucketArn                     pulumi.StringOutput `pulumi:"mediaBucketArn"`
	ProxiesBucketName                  pulumi.StringOutput `pulumi:"proxiesBucketName"`
	ProxiesBucketArn                   pulumi.StringOutput `pulumi:"proxiesBucketArn"`
	ProxiesBucketRegionalDomainName    pulumi.StringOutput `pulumi:"proxiesBucketRegionalDomainName"`
	ThumbnailsBucketName               pulumi.StringOutput `pulumi:"thumbnailsBucketName"`
	ThumbnailsBucketArn                pulumi.StringOutput `pulumi:"thumbnailsBucketArn"`
	ThumbnailsBucketRegionalDomainName pulumi.StringOutput `pulumi:"thumbnailsBucketRegionalDomainName"`
	LogsBucketName                     pulumi.StringOutput `pulumi:"logsBucketName"`
	LogsBucketArn                      pulumi.StringOutput `pulumi:"logsBucketArn"`
	KmsKeyArn                          pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// UploadEndpoint is the host browsers and SDKs upload originals to (presigned URLs are
	// signed for it): the accelerate endpoint with TransferAcceleration, else the regional one.
	UploadEndpoint pulumi.StringOutput `pulumi:"uploadEndpoint"`
	// ReplicaBucketName and ReplicaBucketArn are the media bucket's cross-region replica
	// ("" without replication).
	ReplicaBucketName pulumi.StringOutput `pulumi:"replicaBucketName"`
	ReplicaBucketArn  pulumi.StringOutput `pulumi:"replicaBucketArn"`
	// CopyBackRoleArn is the role S3 Batch Operations copies the replica back into the media
	// bucket with; its completion reports go to the logs bucket under CopyBackReportPrefix
	// ("" without replication).
	CopyBackRoleArn      pulumi.StringOutput `pulumi:"copyBackRoleArn"`
	CopyBackReportPrefix pulumi.StringOutput `pulumi:"copyBackReportPrefix"`
}

// Reasons for the logs bucket's exceptions to the secure-bucket defaults (tag values).
const (
	logsSSES3Reason       = "S3 server access logs can only be delivered to buckets with SSE-S3 default encryption"
	logsUnversionedReason = "write-once access logs that expire by lifecycle: versions would only keep expired logs"
	logsNoLoggingReason   = "the access logs bucket itself: logging it would log its own log deliveries"
)

// New creates the media store.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*MediaStore, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("mediastore %s: %w", name, err)
	}
	m := &MediaStore{}
	if err := ctx.RegisterComponentResource("cinegit:mediastore:MediaStore", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	env := args.Env
	names := map[string]string{}
	for _, purpose := range []string{"media", "proxies", "thumbnails", "logs"} {
		names[purpose] = env.Naming.Bucket(purpose, env.AccountID, env.Region)
	}
	arn := func(purpose string) string { return bucket.Arn(env.Partition, names[purpose]) }

	keyOpts := []pulumi.ResourceOption{parent}
	if args.Protect {
		keyOpts = append(keyOpts, pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-media", kmskey.Args{
		Env:         env,
		Description: "CineGit " + env.Naming.Stack + " media: originals, proxies and thumbnails",
		Alias:       env.Naming.Name("media"),
		Statements:  []iampolicy.Statement{cloudFrontDecrypt(env, arn("proxies"), arn("thumbnails"))},
	}, keyOpts...)
	if err != nil {
		return nil, err
	}

	// The logs bucket and its policy come first: the other buckets log to it, and their
	// logging waits for the grant that lets S3 deliver.
	logs, err := bucket.New(ctx, name+"-logs", bucket.Args{
		Name:               names["logs"],
		Purpose:            "access-logs",
		SSES3Reason:        logsSSES3Reason,
		UnversionedReason:  logsUnversionedReason,
		NoAccessLogsReason: logsNoLoggingReason,
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays: args.AbortIncompleteUploadDays,
			ExpirationDays:            args.LogsExpirationDays,
		},
		ForceDestroy: args.ForceDestroy,
		Protect:      args.Protect,
		Tags:         env.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	logGrants := []iampolicy.Statement{
		bucket.AllowServerAccessLogs(logs.Arn, env.AccountID, []string{arn("media"), arn("proxies"), arn("thumbnails")}),
	}
	if args.LoadBalancerLogsPrefix != "" {
		logGrants = append(logGrants, bucket.AllowELBAccessLogs(logs.Arn, env.Partition, env.AccountID, env.Region, args.LoadBalancerLogsPrefix))
	}
	logsPolicy, err := logs.AttachPolicy(ctx, logGrants, parent)
	if err != nil {
		return nil, err
	}
	logTo := func(purpose string) *bucket.AccessLogs {
		return &bucket.AccessLogs{TargetBucket: logsPolicy.Bucket, Prefix: purpose + "/"}
	}

	media, err := bucket.New(ctx, name+"-media", bucket.Args{
		Name:       names["media"],
		Purpose:    "media",
		KMSKeyArn:  key.Arn(),
		AccessLogs: logTo("media"),
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays:       args.AbortIncompleteUploadDays,
			NoncurrentVersionExpirationDays: args.NoncurrentVersionExpirationDays,
			Transitions:                     args.OriginalsTransitions,
			TransitionPrefix:                args.OriginalsPrefix,
		},
		ForceDestroy: args.ForceDestroy,
		Protect:      args.Protect,
		Tags:         env.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := media.AttachPolicy(ctx, nil, parent); err != nil {
		return nil, err
	}
	if err := uploadsFromBrowsers(ctx, name+"-media", media, args.CORSOrigins, parent); err != nil {
		return nil, err
	}
	m.UploadEndpoint = media.RegionalDomainName
	if args.TransferAcceleration {
		// Names with dots cannot be accelerated ("Amazon S3 Transfer Acceleration",
		// requirements); the program's bucket names have none.
		if _, err := s3.NewBucketAccelerateConfigurationV2(ctx, name+"-media", &s3.BucketAccelerateConfigurationV2Args{
			Bucket: media.Name,
			Status: pulumi.String("Enabled"),
		}, parent); err != nil {
			return nil, err
		}
		m.UploadEndpoint = pulumi.Sprintf("%s.s3-accelerate.amazonaws.com", media.Name)
	}
	// EventBridge rather than a direct notification target: S3 allows one notification
	// configuration per bucket, and any number of consumers can add rules on the bus.
	if _, err := s3.NewBucketNotification(ctx, name+"-media", &s3.BucketNotificationArgs{
		Bucket:      media.Name,
		Eventbridge: pulumi.Bool(true),
	}, parent); err != nil {
		return nil, err
	}

	m.ReplicaBucketName = pulumi.String("").ToStringOutput()
	m.ReplicaBucketArn = pulumi.String("").ToStringOutput()
	m.CopyBackRoleArn = pulumi.String("").ToStringOutput()
	m.CopyBackReportPrefix = pulumi.String("").ToStringOutput()
	if args.Replication != nil {
		replica, copyBack, err := replicate(ctx, name, env, args, media, logs, key.Arn(), parent)
		if err != nil {
			return nil, err
		}
		m.ReplicaBucketName, m.ReplicaBucketArn, m.CopyBackRoleArn = replica.Name, replica.Arn, copyBack.Arn
		m.CopyBackReportPrefix = pulumi.String(CopyBackReportPrefix).ToStringOutput()
	}

	var proxiesTransitions []bucket.Transition
	if args.ProxiesOneZoneIADays > 0 {
		proxiesTransitions = []bucket.Transition{{Days: args.ProxiesOneZoneIADays, StorageClass: "ONEZONE_IA"}}
	}
	derived := map[string]*bucket.Bucket{}
	for _, d := range []struct {
		purpose     string
		transitions []bucket.Transition
	}{
		{"proxies", proxiesTransitions},
		// Thumbnails stay in S3 Standard: they are far below the 128 KB that infrequent-access
		// classes bill at least, so moving them would cost more.
		{"thumbnails", nil},
	} {
		// No policy here: the CDN writes it (see the package comment).
		derived[d.purpose], err = bucket.New(ctx, name+"-"+d.purpose, bucket.Args{
			Name:       names[d.purpose],
			Purpose:    d.purpose,
			KMSKeyArn:  key.Arn(),
			AccessLogs: logTo(d.purpose),
			Lifecycle: bucket.Lifecycle{
				AbortIncompleteUploadDays:       args.AbortIncompleteUploadDays,
				NoncurrentVersionExpirationDays: args.DerivedNoncurrentVersionExpirationDays,
				Transitions:                     d.transitions,
			},
			ForceDestroy: args.ForceDestroy,
			Protect:      args.Protect,
			Tags:         env.Tags,
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	m.MediaBucketName = media.Name
	m.MediaBucketArn = media.Arn
	m.ProxiesBucketName = derived["proxies"].Name
	m.ProxiesBucketArn = derived["proxies"].Arn
	m.ProxiesBucketRegionalDomainName = derived["proxies"].RegionalDomainName
	m.ThumbnailsBucketName = derived["thumbnails"].Name
	m.ThumbnailsBucketArn = derived["thumbnails"].Arn
	m.ThumbnailsBucketRegionalDomainName = derived["thumbnails"].RegionalDomainName
	m.LogsBucketName = logsPolicy.Bucket
	m.LogsBucketArn = logs.Arn
	m.KmsKeyArn = key.Arn()
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{
		"mediaBucketName":                    m.MediaBucketName,
		"mediaBucketArn":                     m.MediaBucketArn,
		"proxiesBucketName":                  m.ProxiesBucketName,
		"proxiesBucketArn":                   m.ProxiesBucketArn,
		"proxiesBucketRegionalDomainName":    m.ProxiesBucketRegionalDomainName,
		"thumbnailsBucketName":               m.ThumbnailsBucketName,
		"thumbnailsBucketArn":                m.ThumbnailsBucketArn,
		"thumbnailsBucketRegionalDomainName": m.ThumbnailsBucketRegionalDomainName,
		"logsBucketName":                     m.LogsBucketName,
		"logsBucketArn":                      m.LogsBucketArn,
		"kmsKeyArn":                          m.KmsKeyArn,
		"uploadEndpoint":                     m.UploadEndpoint,
		"replicaBucketName":                  m.ReplicaBucketName,
		"replicaBucketArn":                   m.ReplicaBucketArn,
		"copyBackRoleArn":                    m.CopyBackRoleArn,
		"copyBackReportPrefix":               m.CopyBackReportPrefix,
	})
}

func (a Args) check() error {
	switch {
	case a.AbortIncompleteUploadDays < 1:
		return fmt.Errorf("AbortIncompleteUploadDays must be at least 1")
	case a.NoncurrentVersionExpirationDays < 1 || a.DerivedNoncurrentVersionExpirationDays < 1:
		return fmt.Errorf("noncurrent version expirations must be at least 1 day")
	case a.LogsExpirationDays < 1:
		return fmt.Errorf("LogsExpirationDays must be at least 1")
	case a.Replication != nil && (a.Replication.Provider == nil || a.Replication.Region == "" || a.Replication.StorageClass == ""):
		return fmt.Errorf("Replication needs a Provider, a Region and a StorageClass")
	case a.Replication != nil && a.Replication.Region == a.Env.Region:
		return fmt.Errorf("Replication.Region must differ from the stack's region %s", a.Env.Region)
	}
	return nil
}

// cloudFrontDecrypt lets CloudFront decrypt objects of the delivery buckets when it fetches them
// through origin access control.
//
// The key exists before any distribution, so the statement cannot name the distribution
// without a cycle. It allows this account's distributions (AWS:SourceArn) and only for objects
// of the proxies and thumbnails buckets (the S3 encryption context is the bucket ARN with
// bucket keys, the object ARN without), never originals. Which distribution may read which
// bucket is decided by the bucket policies, which name the distribution exactly: KMS grants
// nothing without S3 authorising the read first. A separate delivery key would give the same
// guarantee at the cost of a second key and of re-encrypting when buckets move between keys.
func cloudFrontDecrypt(env stackenv.Env, bucketArns ...string) iampolicy.Statement {
	var context []string
	for _, a := range bucketArns {
		context = append(context, a, a+"/*")
	}
	return iampolicy.Statement{
		Sid:        "AllowCloudFrontDecryptDeliveryBuckets",
		Effect:     "Allow",
		Actions:    []string{"kms:Decrypt"},
		Resources:  iampolicy.Strings("*"),
		Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("cloudfront.amazonaws.com")}},
		Conditions: []iampolicy.Condition{
			{Test: "ArnLike", Variable: "AWS:SourceArn", Values: iampolicy.Strings(env.GlobalArn("cloudfront", "distribution/*"))},
			{Test: "StringLike", Variable: "kms:EncryptionContext:aws:s3:arn", Values: iampolicy.Strings(context...)},
		},
	}
}

// uploadsFromBrowsers lets the web app's origins upload with presigned URLs (single PUT,
// presigned POST and multipart parts) and read back ETags, which multipart completion needs.
func uploadsFromBrowsers(ctx *pulumi.Context, name string, b *bucket.Bucket, origins []string, opts ...pulumi.ResourceOption) error {
	if len(origins) == 0 {
		return nil
	}
	_, err := s3.NewBucketCorsConfigurationV2(ctx, name, &s3.BucketCorsConfigurationV2Args{
		Bucket: b.Name,
		CorsRules: s3.BucketCorsConfigurationV2CorsRuleArray{&s3.BucketCorsConfigurationV2CorsRuleArgs{
			Id:             pulumi.String("browser-uploads"),
			AllowedOrigins: pulumi.ToStringArray(origins),
			AllowedMethods: pulumi.ToStringArray([]string{"GET", "HEAD", "PUT", "POST"}),
			AllowedHeaders: pulumi.ToStringArray([]string{"content-type", "content-md5", "content-disposition", "x-amz-*"}),
			// A browser's multipart upload reads each part's ETag (CompleteMultipartUpload lists
			// them) and the checksums S3 computed ("Uploading an object using multipart
			// upload", CORS for browser uploads, S3 User Guide).
			ExposeHeaders: pulumi.ToStringArray([]string{
				"ETag", "x-amz-version-id", "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
				"x-amz-checksum-sha256", "x-amz-checksum-type", "x-amz-server-side-encryption", "x-amz-request-id",
			}),
			MaxAgeSeconds: pulumi.Int(3000),
		}},
	}, opts...)
	return err
}
