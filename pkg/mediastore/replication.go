package mediastore

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Replication copies every new object version of the media bucket to a bucket in another
// region (S3 Cross-Region Replication).
type Replication struct {
	// Provider is an AWS provider in Region: the replica bucket and its key are made with it.
	Provider *aws.Provider
	// Region is the replica's region.
	Region string
	// ReplicationTimeControl replicates 99.99% of objects within 15 minutes (S3 RTC).
	ReplicationTimeControl bool
	// DeleteMarkers replicates delete markers; deletes of a version never are.
	DeleteMarkers bool
	// StorageClass the replicas are written in.
	StorageClass string
}

// replicaNoLogsReason is the replica's exception to access logging (a tag value).
const replicaNoLogsReason = "cross-region replica: S3 delivers access logs only within one region - replication is measured by its metrics and audited by CloudTrail"

// replicationMinutes is both the RTC threshold and the metrics' event threshold: S3 accepts
// only 15 for either ("Meeting compliance requirements with S3 Replication Time Control",
// Amazon S3 User Guide).
const replicationMinutes = 15

// replicate makes the replica bucket (secured as the source: its own key in its region,
// public access blocked, ownership enforced, versioned, TLS-only policy), the replication
// role, the replication configuration on the source bucket, and the role that copies the
// replica back into the source (copyBackRole).
func replicate(ctx *pulumi.Context, name string, env stackenv.Env, args Args, source, logs *bucket.Bucket, sourceKeyArn pulumi.StringOutput, opts ...pulumi.ResourceOption) (*bucket.Bucket, *iam.Role, error) {
	r := args.Replication
	replicaEnv := env
	replicaEnv.Region = r.Region
	inReplicaRegion := append(append([]pulumi.ResourceOption{}, opts...), pulumi.Provider(r.Provider))

	keyOpts := inReplicaRegion
	if args.Protect {
		keyOpts = append(append([]pulumi.ResourceOption{}, inReplicaRegion...), pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-replica", kmskey.Args{
		Env:         replicaEnv,
		Description: "CineGit " + env.Naming.Stack + " media replica in " + r.Region,
		Alias:       env.Naming.Name("media-replica"),
	}, keyOpts...)
	if err != nil {
		return nil, nil, err
	}
	replica, err := bucket.New(ctx, name+"-replica", bucket.Args{
		Name:               env.Naming.Bucket("media-replica", env.AccountID, r.Region),
		Purpose:            "media-replica",
		KMSKeyArn:          key.Arn(),
		NoAccessLogsReason: replicaNoLogsReason,
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays:       args.AbortIncompleteUploadDays,
			NoncurrentVersionExpirationDays: args.NoncurrentVersionExpirationDays,
		},
		ForceDestroy: args.ForceDestroy,
		Protect:      args.Protect,
		Tags:         env.Tags,
	}, inReplicaRegion...)
	if err != nil {
		return nil, nil, err
	}
	if _, err := replica.AttachPolicy(ctx, nil, inReplicaRegion...); err != nil {
		return nil, nil, err
	}

	role, grant, err := replicationRole(ctx, name, env, r.Region, source, replica, sourceKeyArn, key.Arn(), opts...)
	if err != nil {
		return nil, nil, err
	}
	copyBack, err := copyBackRole(ctx, name, env, r.Region, source, replica, logs, sourceKeyArn, key.Arn(), opts...)
	if err != nil {
		return nil, nil, err
	}

	destination := &s3.BucketReplicationConfigRuleDestinationArgs{
		Bucket:                  replica.Arn,
		StorageClass:            pulumi.String(r.StorageClass),
		EncryptionConfiguration: &s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs{ReplicaKmsKeyId: key.Arn()},
		// Metrics (bytes and operations pending, replication latency) are what an alarm on a
		// stalled replication watches; RTC requires them.
		Metrics: &s3.BucketReplicationConfigRuleDestinationMetricsArgs{
			Status:         pulumi.String("Enabled"),
			EventThreshold: &s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs{Minutes: pulumi.Int(replicationMinutes)},
		},
	}
	if r.ReplicationTimeControl {
		destination.ReplicationTime = &s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs{
			Status: pulumi.String("Enabled"),
			Time:   &s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs{Minutes: pulumi.Int(replicationMinutes)},
		}
	}
	rule := &s3.BucketReplicationConfigRuleArgs{
		Id:       pulumi.String("media"),
		Status:   pulumi.String("Enabled"),
		Priority: pulumi.Int(1),
		// An empty filter selects the whole bucket and makes this a V2 rule, which is what
		// delete marker replication and RTC require.
		Filter:                  &s3.BucketReplicationConfigRuleFilterArgs{},
		DeleteMarkerReplication: &s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs{Status: pulumi.String(status(r.DeleteMarkers))},
		// Every object is SSE-KMS: without this S3 skips them all.
		SourceSelectionCriteria: &s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs{
			SseKmsEncryptedObjects: &s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs{Status: pulumi.String("Enabled")},
		},
		Destination: destination,
	}
	// S3 rejects a replication configuration unless versioning is enabled on both buckets
	// (S3 User Guide, "Requirements and considerations for replication"), and replicates
	// nothing until the role may; nothing in its inputs refers to the versioning resources or
	// the role's policy, hence the explicit edges.
	_, err = s3.NewBucketReplicationConfig(ctx, name+"-media", &s3.BucketReplicationConfigArgs{
		Bucket: source.Name,
		Role:   role.Arn,
		Rules:  s3.BucketReplicationConfigRuleArray{rule},
	}, append(append([]pulumi.ResourceOption{}, opts...), pulumi.DependsOn([]pulumi.Resource{source.Versioning, replica.Versioning, grant}))...)
	if err != nil {
		return nil, nil, err
	}
	return replica, copyBack, nil
}

func status(on bool) string {
	if on {
		return "Enabled"
	}
	return "Disabled"
}

// replicationRole is what S3 replicates with: read the source's versions (and decrypt them,
// through S3 in the source region only), write replicas (and encrypt them with the replica's
// key, through S3 in the replica's region only). The statements follow "Setting up permissions
// for live replication" and "Replicating encrypted objects" (Amazon S3 User Guide).
func replicationRole(ctx *pulumi.Context, name string, env stackenv.Env, replicaRegion string, source, replica *bucket.Bucket, sourceKey, replicaKey pulumi.StringOutput, opts ...pulumi.ResourceOption) (*iam.Role, *iam.RolePolicy, error) {
	roleName := env.Naming.NameMax(64, "media-replication")
	role, err := iam.NewRole(ctx, name+"-replication", &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String("S3 replication of CineGit " + env.Naming.Stack + " media to " + replicaRegion),
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"s3.amazonaws.com"}, env.AccountID),
		Tags:             env.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	viaS3 := func(region string, bucketArn pulumi.StringOutput) []iampolicy.Condition {
		return []iampolicy.Condition{
			{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", region))},
			// With S3 bucket keys the encryption context is the bucket's ARN, without them
			// the object's.
			{Test: "StringLike", Variable: "kms:EncryptionContext:aws:s3:arn", Values: pulumi.StringArray{bucketArn, pulumi.Sprintf("%s/*", bucketArn)}},
		}
	}
	decrypt := iampolicy.Allow("DecryptSourceVersions", []string{"kms:Decrypt"}, pulumi.StringArray{sourceKey})
	decrypt.Conditions = viaS3(env.Region, source.Arn)
	encrypt := iampolicy.Allow("EncryptReplicas", []string{"kms:Encrypt", "kms:GenerateDataKey"}, pulumi.StringArray{replicaKey})
	encrypt.Conditions = viaS3(replicaRegion, replica.Arn)
	grant, err := iam.NewRolePolicy(ctx, name+"-replication", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: iampolicy.Document(
			iampolicy.Allow("ReadSourceConfiguration", []string{"s3:GetReplicationConfiguration", "s3:ListBucket"}, pulumi.StringArray{source.Arn}),
			iampolicy.Allow("ReadSourceVersions", []string{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"}, pulumi.StringArray{pulumi.Sprintf("%s/*", source.Arn)}),
			iampolicy.Allow("WriteReplicas", []string{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}, pulumi.StringArray{pulumi.Sprintf("%s/*", replica.Arn)}),
			decrypt,
			encrypt,
		),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return role, grant, nil
}

// CopyBackReportPrefix is where S3 Batch Operations writes the completion reports of copy-back
// jobs in the logs bucket (scripts/copy-back-media.sh); the copy-back role may write nowhere
// else there.
const CopyBackReportPrefix = "batch-operations/copy-back"

// copyBackRole is the role S3 Batch Operations assumes to copy the replica back into the
// source after a bucket or region loss (scripts/copy-back-media.sh, docs/restore.md). It may
// list the replica (S3's manifest generator lists the bucket, so no S3 Inventory is needed)
// and read its objects' versions and tags, decrypt them with the replica's key through S3 in
// the replica's region only, write objects and their tags into the source and encrypt them
// with the source's key through S3 in the source's region only, and write the job's
// completion report under CopyBackReportPrefix in the logs bucket (SSE-S3, so no key). Nothing
// else: no delete, no ACLs (both buckets enforce bucket-owner ownership, so a copy sets none),
// no replication actions. The actions follow "Granting permissions for Batch Operations" (Copy
// objects) and "CopyObject" (Permissions) in the Amazon S3 documentation
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html).
//
// The job runs in the source's region (a Batch Operations copy job is created in the
// destination's region: "Copy objects", Restrictions and limitations), which is where the
// report bucket is. The role exists only where replication does: without a replica there is
// nothing to copy back.
func copyBackRole(ctx *pulumi.Context, name string, env stackenv.Env, replicaRegion string, source, replica, logs *bucket.Bucket, sourceKey, replicaKey pulumi.StringOutput, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	roleName := env.Naming.NameMax(64, "media-copy-back")
	role, err := iam.NewRole(ctx, name+"-copy-back", &iam.RoleArgs{
		Name:        pulumi.String(roleName),
		Description: pulumi.String("S3 Batch Operations: copies CineGit " + env.Naming.Stack + " media back from the replica in " + replicaRegion),
		// S3's documented trust policy for Batch Operations names the service principal only
		// (no aws:SourceAccount): only a principal of this account with iam:PassRole on this
		// role can hand it to a job.
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"batchoperations.s3.amazonaws.com"}, ""),
		Tags:             env.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	viaS3 := func(region string, bucketArn pulumi.StringOutput) []iampolicy.Condition {
		return []iampolicy.Condition{
			{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", region))},
			{Test: "StringLike", Variable: "kms:EncryptionContext:aws:s3:arn", Values: pulumi.StringArray{bucketArn, pulumi.Sprintf("%s/*", bucketArn)}},
		}
	}
	decrypt := iampolicy.Allow("DecryptReplica", []string{"kms:Decrypt"}, pulumi.StringArray{replicaKey})
	decrypt.Conditions = viaS3(replicaRegion, replica.Arn)
	// A copy of up to 5 GB is one CopyObject, which needs only a data key of the destination's
	// key ("Using server-side encryption with AWS KMS keys (SSE-KMS)", permissions).
	encrypt := iampolicy.Allow("EncryptSource", []string{"kms:GenerateDataKey"}, pulumi.StringArray{sourceKey})
	encrypt.Conditions = viaS3(env.Region, source.Arn)
	_, err = iam.NewRolePolicy(ctx, name+"-copy-back", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: iampolicy.Document(
			iampolicy.Allow("ListReplica", []string{"s3:ListBucket", "s3:GetBucketLocation"}, pulumi.StringArray{replica.Arn}),
			iampolicy.Allow("ReadReplicaObjects", []string{"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"},
				pulumi.StringArray{pulumi.Sprintf("%s/*", replica.Arn)}),
			iampolicy.Allow("WriteSourceObjects", []string{"s3:PutObject", "s3:PutObjectTagging"}, pulumi.StringArray{pulumi.Sprintf("%s/*", source.Arn)}),
			iampolicy.Allow("WriteReport", []string{"s3:PutObject"}, pulumi.StringArray{pulumi.Sprintf("%s/%s/*", logs.Arn, CopyBackReportPrefix)}),
			decrypt,
			encrypt,
		),
	}, opts...)
	if err != nil {
		return nil, err
	}
	return role, nil
}
