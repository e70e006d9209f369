package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// stateBucketArgs describe the bucket that holds every stack's Pulumi state.
type stateBucketArgs struct {
	// Name is the bucket's global name.
	Name string
	// KeyArn is the customer-managed KMS key objects are encrypted with.
	KeyArn pulumi.StringInput
	// NoncurrentVersionDays is how long superseded state versions stay recoverable.
	NoncurrentVersionDays int
	// AbortIncompleteUploadDays cleans up multipart uploads an interrupted write left behind.
	AbortIncompleteUploadDays int
	Tags                      tags.Set
}

// stateBucket is the bucket and its configuration resources.
type stateBucket struct {
	Bucket            *s3.BucketV2
	Versioning        *s3.BucketVersioningV2
	Encryption        *s3.BucketServerSideEncryptionConfigurationV2
	PublicAccessBlock *s3.BucketPublicAccessBlock
	Ownership         *s3.BucketOwnershipControls
	Policy            *s3.BucketPolicy
	Lifecycle         *s3.BucketLifecycleConfigurationV2
}

// newStateBucket creates the state bucket: versioned, SSE-KMS with a bucket key, private,
// ACLs disabled, TLS-only, with old state versions expiring. The bucket and every part of
// its configuration are protected and retained: losing the state bucket, or silently
// suspending its versioning or encryption, is not something `pulumi destroy` should do.
func newStateBucket(ctx *pulumi.Context, name string, args stateBucketArgs, opts ...pulumi.ResourceOption) (*stateBucket, error) {
	opts = append(opts, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	wrap := func(part string, err error) error { return fmt.Errorf("state bucket %s: %s: %w", args.Name, part, err) }
	sb := &stateBucket{}
	var err error

	sb.Bucket, err = s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		Bucket:       pulumi.String(args.Name),
		ForceDestroy: pulumi.Bool(false),
		Tags:         args.Tags.Named(args.Name).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("bucket", err)
	}
	id := sb.Bucket.ID()

	// Every state write is a new version: a bad `pulumi up` or a hand edit can be rolled back.
	sb.Versioning, err = s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket: id,
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{
			Status: pulumi.String("Enabled"),
		},
	}, opts...)
	if err != nil {
		return nil, wrap("versioning", err)
	}

	sb.Encryption, err = s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm:   pulumi.String("aws:kms"),
					KmsMasterKeyId: args.KeyArn,
				},
				// The bucket key cuts KMS requests (and their cost) for the many small
				// checkpoint writes of an update.
				BucketKeyEnabled: pulumi.Bool(true),
			},
		},
	}, opts...)
	if err != nil {
		return nil, wrap("encryption", err)
	}

	sb.PublicAccessBlock, err = s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                id,
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, wrap("public access block", err)
	}

	sb.Ownership, err = s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: id,
		Rule: &s3.BucketOwnershipControlsRuleArgs{
			ObjectOwnership: pulumi.String("BucketOwnerEnforced"),
		},
	}, opts...)
	if err != nil {
		return nil, wrap("ownership controls", err)
	}

	// S3 rejects a bucket policy while a public access block is being written; order them.
	sb.Policy, err = s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: id,
		Policy: stateBucketPolicy(sb.Bucket.Arn),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{sb.PublicAccessBlock}))...)
	if err != nil {
		return nil, wrap("policy", err)
	}

	// Lifecycle rules on noncurrent versions need versioning in place first.
	sb.Lifecycle, err = s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: id,
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("expire-noncurrent-state-versions"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
					NoncurrentDays: pulumi.Int(args.NoncurrentVersionDays),
				},
				// Removes delete markers left alone once their versions expired (e.g. of
				// released lock objects), so listings stay fast.
				Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
					ExpiredObjectDeleteMarker: pulumi.Bool(true),
				},
			},
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("abort-incomplete-multipart-uploads"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{},
				AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
					DaysAfterInitiation: pulumi.Int(args.AbortIncompleteUploadDays),
				},
			},
		},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{sb.Versioning}))...)
	if err != nil {
		return nil, wrap("lifecycle", err)
	}
	return sb, nil
}

// stateBucketPolicy denies every request that does not use TLS 1.2 or later.
func stateBucketPolicy(bucketArn pulumi.StringInput) pulumi.StringOutput {
	objects := pulumi.Sprintf("%s/*", bucketArn)
	everyone := []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings("*")}}

	tls := iampolicy.DenyInsecureTransport(bucketArn)
	// iampolicy renders a "*" principal type as {"*": ["*"]}, which IAM does not accept;
	// {"AWS": "*"} is the documented equivalent of "Principal": "*".
	tls.Principals = everyone

	return iampolicy.Document(
		tls,
		iampolicy.Statement{
			Sid:        "DenyOutdatedTLS",
			Effect:     "Deny",
			Actions:    []string{"s3:*"},
			Resources:  pulumi.StringArray{bucketArn, objects},
			Principals: everyone,
			Conditions: []iampolicy.Condition{{Test: "NumericLessThan", Variable: "s3:TlsVersion", Values: iampolicy.Strings("1.2")}},
		},
	)
}
