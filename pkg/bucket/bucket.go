// Package bucket builds CineGit's S3 buckets secure by default: a BucketV2 with its split
// companion resources (ownership controls, public access block, versioning, default
// encryption, access logging, lifecycle) and, separately, its one bucket policy, which always
// denies requests without TLS.
//
// Any weaker setting (SSE-S3 instead of SSE-KMS, no versioning, no access logging) has to be
// asked for with a reason, and the reason is recorded on the bucket as a tag so that the policy
// pack and a reader of the console both see why.
package bucket

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/tags"
)

// Exception tag keys: a bucket that opts out of a default carries the reason under one of these.
const (
	ExceptionSSEKMS       = "cinegit:exception:sse-kms"
	ExceptionVersioning   = "cinegit:exception:versioning"
	ExceptionAccessLogged = "cinegit:exception:access-logging"
)

// Args describe one bucket.
type Args struct {
	// Name is the bucket's globally unique physical name (naming.Namer.Bucket).
	Name string
	// Purpose is a short word for tags and logical names ("media", "logs").
	Purpose string
	// KMSKeyArn encrypts new objects with SSE-KMS under a customer-managed key, with an S3
	// bucket key (fewer KMS requests, lower cost). Nil requires SSES3Reason.
	KMSKeyArn pulumi.StringInput
	// SSES3Reason says why the bucket is encrypted with S3-managed keys instead.
	SSES3Reason string
	// UnversionedReason, when set, leaves versioning off and says why.
	UnversionedReason string
	// AccessLogs sends S3 server access logs to a logs bucket. Nil requires NoAccessLogsReason.
	AccessLogs *AccessLogs
	// NoAccessLogsReason says why the bucket's requests are not logged.
	NoAccessLogsReason string
	// Lifecycle is the bucket's lifecycle configuration.
	Lifecycle Lifecycle
	// ForceDestroy lets `pulumi destroy` delete a bucket that still holds objects and versions.
	ForceDestroy bool
	// Protect marks the bucket with Pulumi's protect option.
	Protect bool
	// Tags are the stack's tags; the bucket adds its Name and purpose.
	Tags tags.Set
}

// AccessLogs is where server access logs go.
type AccessLogs struct {
	// TargetBucket is the logs bucket's name. Pass an output that resolves once the logs
	// bucket's policy grants the logging service, so that logging starts only when it can deliver.
	TargetBucket pulumi.StringInput
	// Prefix is the key prefix of this bucket's logs, e.g. "media/".
	Prefix string
}

// Lifecycle is what the bucket's lifecycle configuration does.
type Lifecycle struct {
	// AbortIncompleteUploadDays aborts multipart uploads not completed within this many days
	// (their parts are billed but invisible). Required.
	AbortIncompleteUploadDays int
	// NoncurrentVersionExpirationDays deletes overwritten and deleted versions after this many
	// days; required for versioned buckets.
	NoncurrentVersionExpirationDays int
	// ExpirationDays deletes current objects this many days after creation; 0 keeps them.
	ExpirationDays int
	// Transitions move current objects under TransitionPrefix to colder storage classes.
	Transitions []Transition
	// TransitionPrefix limits Transitions to keys with this prefix; "" is the whole bucket.
	TransitionPrefix string
}

// Transition moves objects to a storage class a number of days after their creation.
type Transition struct {
	Days         int
	StorageClass string
}

// Bucket is a created bucket and its companions.
type Bucket struct {
	Bucket *s3.BucketV2
	// Name resolves once the public access block is in place. Policies and other settings
	// applied through it wait for the block: S3 rejects a bucket policy written while the block
	// is being changed (OperationAborted), and a policy must never land on an unblocked bucket.
	Name pulumi.StringOutput
	// Arn is the bucket's ARN.
	Arn pulumi.StringOutput
	// RegionalDomainName is the bucket's regional endpoint, the origin CloudFront should use.
	RegionalDomainName pulumi.StringOutput

	Ownership          *s3.BucketOwnershipControls
	PublicAccessBlock  *s3.BucketPublicAccessBlock
	Versioning         *s3.BucketVersioningV2
	Encryption         *s3.BucketServerSideEncryptionConfigurationV2
	Logging            *s3.BucketLoggingV2
	LifecycleConfigure *s3.BucketLifecycleConfigurationV2

	logicalName string
}

// Arn returns the ARN of a bucket name without waiting for it to exist: S3 ARNs carry no
// account or region. Policies that must name a bucket before it exists (a logs bucket's grant
// to its sources, a key policy's encryption context) use it to avoid dependency cycles.
func Arn(partition, name string) string { return fmt.Sprintf("arn:%s:s3:::%s", partition, name) }

// New creates a bucket with its companions. name is the logical name prefix (e.g.
// "mediastore-media"); pass pulumi.Parent(component) in opts. The bucket's policy is created
// separately with AttachPolicy or NewPolicy.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Bucket, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	bucketTags := args.Tags.Named(args.Name).With("purpose", args.Purpose)
	if args.KMSKeyArn == nil {
		bucketTags = bucketTags.With(ExceptionSSEKMS, args.SSES3Reason)
	}
	if args.UnversionedReason != "" {
		bucketTags = bucketTags.With(ExceptionVersioning, args.UnversionedReason)
	}
	if args.AccessLogs == nil {
		bucketTags = bucketTags.With(ExceptionAccessLogged, args.NoAccessLogsReason)
	}
	bucketOpts := append([]pulumi.ResourceOption{}, opts...)
	if args.Protect {
		bucketOpts = append(bucketOpts, pulumi.Protect(true))
	}
	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		Bucket:       pulumi.String(args.Name),
		ForceDestroy: pulumi.Bool(args.ForceDestroy),
		Tags:         bucketTags.Map(),
	}, bucketOpts...)
	if err != nil {
		return nil, err
	}
	out := &Bucket{Bucket: b, Arn: b.Arn, RegionalDomainName: b.BucketRegionalDomainName, logicalName: name}

	// ACLs off: the bucket owner owns every object, whoever wrote it.
	if out.Ownership, err = s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, opts...); err != nil {
		return nil, err
	}
	if out.PublicAccessBlock, err = s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, opts...); err != nil {
		return nil, err
	}
	out.Name = out.PublicAccessBlock.Bucket

	if args.UnversionedReason == "" {
		if out.Versioning, err = s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
			Bucket:                  b.ID(),
			VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
		}, opts...); err != nil {
			return nil, err
		}
	}

	byDefault := &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String("AES256"),
	}
	rule := &s3.BucketServerSideEncryptionConfigurationV2RuleArgs{ApplyServerSideEncryptionByDefault: byDefault}
	if args.KMSKeyArn != nil {
		byDefault.SseAlgorithm = pulumi.String("aws:kms")
		byDefault.KmsMasterKeyId = args.KMSKeyArn
		rule.BucketKeyEnabled = pulumi.Bool(true)
	}
	if out.Encryption, err = s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules:  s3.BucketServerSideEncryptionConfigurationV2RuleArray{rule},
	}, opts...); err != nil {
		return nil, err
	}

	if args.AccessLogs != nil {
		if out.Logging, err = s3.NewBucketLoggingV2(ctx, name, &s3.BucketLoggingV2Args{
			Bucket:       b.ID(),
			TargetBucket: args.AccessLogs.TargetBucket,
			TargetPrefix: pulumi.String(args.AccessLogs.Prefix),
			// Date-partitioned keys keep log queries (Athena) cheap.
			TargetObjectKeyFormat: &s3.BucketLoggingV2TargetObjectKeyFormatArgs{
				PartitionedPrefix: &s3.BucketLoggingV2TargetObjectKeyFormatPartitionedPrefixArgs{
					PartitionDateSource: pulumi.String("EventTime"),
				},
			},
		}, opts...); err != nil {
			return nil, err
		}
	}

	lifecycleOpts := append([]pulumi.ResourceOption{}, opts...)
	if out.Versioning != nil {
		// Noncurrent-version rules on a bucket whose versioning is still being enabled are
		// rejected or silently ineffective; the provider documents this ordering. No input
		// refers to the versioning resource, hence the explicit edge.
		lifecycleOpts = append(lifecycleOpts, pulumi.DependsOn([]pulumi.Resource{out.Versioning}))
	}
	if out.LifecycleConfigure, err = s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b.ID(),
		Rules:  lifecycleRules(args.Lifecycle, out.Versioning != nil),
	}, lifecycleOpts...); err != nil {
		return nil, err
	}
	return out, nil
}

func (a Args) check() error {
	switch {
	case a.Name == "" || a.Purpose == "":
		return fmt.Errorf("a bucket needs a Name and a Purpose")
	case a.KMSKeyArn == nil && a.SSES3Reason == "":
		return fmt.Errorf("no KMS key: SSE-S3 needs SSES3Reason")
	case a.AccessLogs == nil && a.NoAccessLogsReason == "":
		return fmt.Errorf("no access logging: NoAccessLogsReason is required")
	case a.AccessLogs != nil && a.AccessLogs.TargetBucket == nil:
		return fmt.Errorf("AccessLogs.TargetBucket is required")
	case !validReason(a.SSES3Reason) || !validReason(a.UnversionedReason) || !validReason(a.NoAccessLogsReason):
		return fmt.Errorf("reasons become tag values: at most 256 letters, digits, spaces and _.:/=+-@")
	case a.Lifecycle.AbortIncompleteUploadDays < 1:
		return fmt.Errorf("Lifecycle.AbortIncompleteUploadDays must be at least 1")
	case a.UnversionedReason == "" && a.Lifecycle.NoncurrentVersionExpirationDays < 1:
		return fmt.Errorf("a versioned bucket needs Lifecycle.NoncurrentVersionExpirationDays")
	}
	for i, t := range a.Lifecycle.Transitions {
		if t.Days < 0 || t.StorageClass == "" || i > 0 && t.Days <= a.Lifecycle.Transitions[i-1].Days {
			return fmt.Errorf("Lifecycle.Transitions must have increasing days and a storage class")
		}
	}
	return nil
}

// lifecycleRules turns a Lifecycle into S3 rules: one housekeeping rule for the whole bucket
// (incomplete uploads, old versions, orphaned delete markers, expiry) and one transition rule.
func lifecycleRules(l Lifecycle, versioned bool) s3.BucketLifecycleConfigurationV2RuleArray {
	housekeeping := &s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("housekeeping"),
		Status: pulumi.String("Enabled"),
		Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(l.AbortIncompleteUploadDays),
		},
	}
	if versioned {
		housekeeping.NoncurrentVersionExpiration = &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
			NoncurrentDays: pulumi.Int(l.NoncurrentVersionExpirationDays),
		}
	}
	switch {
	case l.ExpirationDays > 0:
		housekeeping.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(l.ExpirationDays)}
	case versioned:
		// Once their noncurrent versions expire, delete markers are left alone and still cost
		// a LIST; S3 may remove them. (Days and this flag exclude each other in one rule.)
		housekeeping.Expiration = &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{ExpiredObjectDeleteMarker: pulumi.Bool(true)}
	}
	rules := s3.BucketLifecycleConfigurationV2RuleArray{housekeeping}
	if len(l.Transitions) > 0 {
		ts := s3.BucketLifecycleConfigurationV2RuleTransitionArray{}
		for _, t := range l.Transitions {
			ts = append(ts, &s3.BucketLifecycleConfigurationV2RuleTransitionArgs{
				Days:         pulumi.Int(t.Days),
				StorageClass: pulumi.String(t.StorageClass),
			})
		}
		rules = append(rules, &s3.BucketLifecycleConfigurationV2RuleArgs{
			Id:          pulumi.String("transitions"),
			Status:      pulumi.String("Enabled"),
			Filter:      &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(l.TransitionPrefix)},
			Transitions: ts,
		})
	}
	return rules
}

// tagValue is what AWS accepts in a tag value.
var tagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)

func validReason(r string) bool { return tagValue.MatchString(r) }
