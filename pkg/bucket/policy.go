package bucket

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

// PolicyArgs describe a bucket's one and only policy.
type PolicyArgs struct {
	// Bucket is the bucket's name; pass Bucket.Name so the policy waits for the public access block.
	Bucket pulumi.StringInput
	// BucketArn is the bucket's ARN.
	BucketArn pulumi.StringInput
	// Statements are added after the TLS-only deny, which every bucket policy starts with.
	Statements []iampolicy.Statement
}

// NewPolicy creates a bucket's policy. It is the only way CineGit writes a bucket policy, so
// no bucket policy can leave out the TLS-only deny. S3 allows one policy per bucket: whoever
// creates it must put every grant for the bucket in it.
func NewPolicy(ctx *pulumi.Context, name string, args PolicyArgs, opts ...pulumi.ResourceOption) (*s3.BucketPolicy, error) {
	if args.Bucket == nil || args.BucketArn == nil {
		return nil, fmt.Errorf("bucket policy %s: Bucket and BucketArn are required", name)
	}
	return s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: args.Bucket,
		Policy: PolicyDocument(args.BucketArn, args.Statements...),
	}, opts...)
}

// AttachPolicy creates the bucket's policy with these grants (see NewPolicy).
func (b *Bucket) AttachPolicy(ctx *pulumi.Context, statements []iampolicy.Statement, opts ...pulumi.ResourceOption) (*s3.BucketPolicy, error) {
	return NewPolicy(ctx, b.logicalName, PolicyArgs{Bucket: b.Name, BucketArn: b.Arn, Statements: statements}, opts...)
}

// PolicyDocument is the TLS-only deny followed by statements.
func PolicyDocument(bucketArn pulumi.StringInput, statements ...iampolicy.Statement) pulumi.StringOutput {
	return iampolicy.Document(append([]iampolicy.Statement{DenyInsecureTransport(bucketArn)}, statements...)...)
}

// DenyInsecureTransport is iampolicy.DenyInsecureTransport with its principal written as
// {"AWS": "*"}: a principal map keyed "*" ({"*": ["*"]}) is not valid IAM and S3 rejects it as
// a malformed policy, while {"AWS": "*"} means everyone, as intended.
func DenyInsecureTransport(bucketArn pulumi.StringInput) iampolicy.Statement {
	st := iampolicy.DenyInsecureTransport(bucketArn)
	st.Principals = []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings("*")}}
	return st
}

// AllowCloudFrontRead lets one CloudFront distribution read objects through origin access
// control, and no other distribution (the confused-deputy guard is AWS:SourceArn).
func AllowCloudFrontRead(bucketArn, distributionArn pulumi.StringInput) iampolicy.Statement {
	return iampolicy.Statement{
		Sid:        "AllowCloudFrontDistributionRead",
		Effect:     "Allow",
		Actions:    []string{"s3:GetObject"},
		Resources:  pulumi.StringArray{pulumi.Sprintf("%s/*", bucketArn)},
		Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("cloudfront.amazonaws.com")}},
		Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "AWS:SourceArn", Values: pulumi.StringArray{distributionArn}}},
	}
}

// AllowServerAccessLogs lets the S3 logging service write the server access logs of the named
// source buckets of this account. With ACLs disabled (BucketOwnerEnforced) this bucket policy
// grant is the only way server access logs are delivered.
func AllowServerAccessLogs(logsBucketArn pulumi.StringInput, accountID string, sourceBucketArns []string) iampolicy.Statement {
	return iampolicy.Statement{
		Sid:        "AllowS3ServerAccessLogs",
		Effect:     "Allow",
		Actions:    []string{"s3:PutObject"},
		Resources:  pulumi.StringArray{pulumi.Sprintf("%s/*", logsBucketArn)},
		Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("logging.s3.amazonaws.com")}},
		Conditions: []iampolicy.Condition{
			{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(sourceBucketArns...)},
			{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(accountID)},
		},
	}
}

// GrantRead returns the identity-policy statements that let a principal list a bucket, read its
// objects and decrypt them with the bucket's key, through S3 only.
func GrantRead(sid string, bucketArn, keyArn pulumi.StringInput, region string) []iampolicy.Statement {
	return grant(sid, bucketArn, keyArn, region, []string{"s3:GetObject", "s3:GetObjectVersion"}, []string{"kms:Decrypt"})
}

// GrantReadWrite is GrantRead plus writing and deleting objects (and encrypting them).
func GrantReadWrite(sid string, bucketArn, keyArn pulumi.StringInput, region string) []iampolicy.Statement {
	return grant(sid, bucketArn, keyArn, region,
		[]string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
		[]string{"kms:Decrypt", "kms:GenerateDataKey"})
}

func grant(sid string, bucketArn, keyArn pulumi.StringInput, region string, objectActions, keyActions []string) []iampolicy.Statement {
	stmts := []iampolicy.Statement{
		iampolicy.Allow(sid+"List", []string{"s3:ListBucket", "s3:GetBucketLocation"}, pulumi.StringArray{bucketArn}),
		iampolicy.Allow(sid+"Objects", objectActions, pulumi.StringArray{pulumi.Sprintf("%s/*", bucketArn)}),
	}
	if keyArn != nil {
		key := iampolicy.Allow(sid+"Key", keyActions, pulumi.StringArray{keyArn})
		key.Conditions = []iampolicy.Condition{{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", region))}}
		stmts = append(stmts, key)
	}
	return stmts
}

// elbAccountIDs are the Elastic Load Balancing accounts that deliver access logs in the regions
// available before August 2022 ("Enable access logs for your Application Load Balancer", step 2,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
// Newer regions deliver as the logdelivery.elasticloadbalancing.amazonaws.com service instead.
var elbAccountIDs = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"af-south-1": "098369216593", "ap-east-1": "754344448648", "ap-southeast-3": "589379963580", "ap-south-1": "718504428378",
	"ap-northeast-3": "383597477331", "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450",
	"ap-southeast-2": "783225319266", "ap-northeast-1": "582318560864", "ca-central-1": "985666609251",
	"eu-central-1": "054676820928", "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
	"eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}

// AllowELBAccessLogs lets Elastic Load Balancing write the access logs of this account's load
// balancers in region under prefix/AWSLogs/<account>/ (the only path ELB writes to). The
// bucket must use SSE-S3: ELB cannot write to SSE-KMS buckets.
func AllowELBAccessLogs(logsBucketArn pulumi.StringInput, partition, accountID, region, prefix string) iampolicy.Statement {
	principal := iampolicy.Principal{Type: "Service", Identifiers: iampolicy.Strings("logdelivery.elasticloadbalancing.amazonaws.com")}
	if id, ok := elbAccountIDs[region]; ok {
		principal = iampolicy.Principal{Type: "AWS", Identifiers: iampolicy.Strings(fmt.Sprintf("arn:%s:iam::%s:root", partition, id))}
	}
	return iampolicy.Statement{
		Sid:        "AllowELBAccessLogs",
		Effect:     "Allow",
		Actions:    []string{"s3:PutObject"},
		Resources:  pulumi.StringArray{pulumi.Sprintf("%s/%s/AWSLogs/%s/*", logsBucketArn, prefix, accountID)},
		Principals: []iampolicy.Principal{principal},
	}
}
