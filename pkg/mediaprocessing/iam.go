package mediaprocessing

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

// dataStatements are what FFmpeg needs of the pipeline's data, wherever it runs (the function
// and the EKS jobs): read originals, write renditions, use the media key only through S3 and
// the pipeline key only through SQS, and consume the queue. Every statement names exact ARNs.
func (b *builder) dataStatements() []iampolicy.Statement {
	a, region := b.args, b.env.Region
	objects := func(bucketArn pulumi.StringInput) pulumi.StringOutput { return pulumi.Sprintf("%s/*", bucketArn) }
	viaS3 := iampolicy.Condition{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings("s3." + region + ".amazonaws.com")}
	queueArn := b.queueArn(b.names.queue)
	return []iampolicy.Statement{
		iampolicy.Allow("ReadMedia", []string{"s3:GetObject"}, pulumi.StringArray{objects(a.MediaBucketArn)}),
		// Multipart uploads of large proxies are aborted by the writer when it fails.
		iampolicy.Allow("WriteRenditions", []string{"s3:PutObject", "s3:AbortMultipartUpload"},
			pulumi.StringArray{objects(a.ProxiesBucketArn), objects(a.ThumbnailsBucketArn)}),
		{
			// Decrypt to read originals; generate data keys to write renditions (and decrypt
			// their parts to complete multipart uploads). Only when S3 asks on our behalf.
			Sid:        "UseMediaKeyThroughS3",
			Actions:    []string{"kms:Decrypt", "kms:GenerateDataKey"},
			Resources:  pulumi.StringArray{a.MediaKeyArn},
			Conditions: []iampolicy.Condition{viaS3},
		},
		iampolicy.Allow("ConsumeMediaQueue",
			[]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"},
			iampolicy.Strings(queueArn)),
		{
			// Messages are encrypted with the pipeline key: decrypt them, through SQS and for
			// this queue only.
			Sid:       "DecryptMediaQueueMessages",
			Actions:   []string{"kms:Decrypt"},
			Resources: pulumi.StringArray{b.pipelineKey.Arn()},
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings("sqs." + region + ".amazonaws.com")},
				{Test: "StringEquals", Variable: "kms:EncryptionContext:aws:sqs:arn", Values: iampolicy.Strings(queueArn)},
			},
		},
	}
}

// functionStatements are what only the function needs: its scratch file system through the
// access point, its log group, its network interfaces in the VPC and X-Ray.
func (b *builder) functionStatements() []iampolicy.Statement {
	env := b.env
	return []iampolicy.Statement{
		{
			Sid:        "MountScratchThroughAccessPoint",
			Actions:    []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"},
			Resources:  pulumi.StringArray{b.fs.Arn},
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "elasticfilesystem:AccessPointArn", Values: pulumi.StringArray{b.accessPoint.Arn}}},
		},
		iampolicy.Allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			iampolicy.Strings(b.logGroupArn(), b.logGroupArn()+":log-stream:*")),
		// The network interface actions of AWSLambdaVPCAccessExecutionRole, without its
		// account-wide logs:*. Lambda creates the function's interfaces with this role;
		// creating, deleting and (un)assigning addresses are limited to this account and
		// region; the Describe actions only work on "*".
		iampolicy.Allow("ManageNetworkInterfaces",
			[]string{"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
			iampolicy.Strings(env.Arn("ec2", "*"))),
		iampolicy.Allow("DescribeNetwork", []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}, iampolicy.Strings("*")),
		// AWSXRayDaemonWriteAccess's actions; X-Ray grants them on "*" only.
		iampolicy.Allow("WriteTraces",
			[]string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"},
			iampolicy.Strings("*")),
	}
}
