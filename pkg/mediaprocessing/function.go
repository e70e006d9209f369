package mediaprocessing

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

// repository is the FFmpeg image repository: immutable tags (a tag always means the same
// image), scanned on push, encrypted with the pipeline key, keeping the last ImagesToKeep
// images. Its policy lets Lambda pull for this function only; without it Lambda would add
// such a statement itself when the function is created, outside Pulumi's knowledge.
func (b *builder) repository() error {
	env, n := b.env, b.names
	var err error
	b.repo, err = ecr.NewRepository(b.ctx, b.name+"-ffmpeg", &ecr.RepositoryArgs{
		Name:                       pulumi.String(n.repository),
		ImageTagMutability:         pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{&ecr.RepositoryEncryptionConfigurationArgs{
			EncryptionType: pulumi.String("KMS"),
			KmsKey:         b.pipelineKey.Arn(),
		}},
		ForceDelete: pulumi.Bool(b.args.EcrForceDelete),
		Tags:        env.Tags.Named(n.repository).Map(),
	}, b.protect()...)
	if err != nil {
		return err
	}
	lifecycle, err := marshal(map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1,
		"description":  "Keep the last images for rollbacks; expire older ones",
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": b.args.ImagesToKeep},
		"action":       map[string]any{"type": "expire"},
	}}})
	if err != nil {
		return err
	}
	if _, err := ecr.NewLifecyclePolicy(b.ctx, b.name+"-ffmpeg", &ecr.LifecyclePolicyArgs{
		Repository: b.repo.Name,
		Policy:     pulumi.String(lifecycle),
	}, b.parent); err != nil {
		return err
	}
	fn := b.functionArn()
	b.repoPolicy, err = ecr.NewRepositoryPolicy(b.ctx, b.name+"-ffmpeg", &ecr.RepositoryPolicyArgs{
		Repository: b.repo.Name,
		Policy: iampolicy.Document(iampolicy.Statement{
			Sid:        "LambdaECRImageRetrievalPolicy",
			Actions:    []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("lambda.amazonaws.com")}},
			Conditions: []iampolicy.Condition{{Test: "StringLike", Variable: "aws:sourceArn", Values: iampolicy.Strings(fn, fn+":*")}},
		}),
	}, b.parent)
	return err
}

// network creates the function's and the file system's security groups. The function reaches
// the file system (NFS, TCP 2049) and S3 through the gateway endpoint (HTTPS to S3's prefix
// list), nothing else: it calls no other AWS API itself (the event source mapping polls the
// queue, Lambda ships its logs and traces, S3 calls KMS), and a decoder exploited by a
// crafted upload finds no way out. The file system admits NFS from the function only. Rules
// are separate resources, because each group's rule names the other group.
func (b *builder) network() error {
	env := b.env
	var err error
	fnName, efsName := env.Naming.Name("media-ffmpeg"), env.Naming.Name("media-scratch")
	b.fnSG, err = ec2.NewSecurityGroup(b.ctx, b.name+"-function", &ec2.SecurityGroupArgs{
		Name:        pulumi.String(fnName),
		Description: pulumi.String("FFmpeg Lambda function: NFS to its scratch file system, HTTPS to S3"),
		VpcId:       b.args.VpcID,
		Tags:        env.Tags.Named(fnName).Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	b.efsSG, err = ec2.NewSecurityGroup(b.ctx, b.name+"-scratch", &ec2.SecurityGroupArgs{
		Name:        pulumi.String(efsName),
		Description: pulumi.String("FFmpeg scratch file system: NFS from the FFmpeg function"),
		VpcId:       b.args.VpcID,
		Tags:        env.Tags.Named(efsName).Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	// S3's regional prefix list, the destination of the gateway endpoint's route: a data
	// source, read in previews too.
	s3 := ec2.GetPrefixListOutput(b.ctx, ec2.GetPrefixListOutputArgs{
		Name: pulumi.String("com.amazonaws." + env.Region + ".s3"),
	}, pulumi.Parent(b.component))
	nfs := pulumi.Int(2049)
	if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, b.name+"-function-nfs", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           b.fnSG.ID(),
		Description:               pulumi.String("NFS to the scratch file system"),
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  nfs,
		ToPort:                    nfs,
		ReferencedSecurityGroupId: b.efsSG.ID(),
		Tags:                      env.Tags.Named(fnName + "-nfs").Map(),
	}, b.parent); err != nil {
		return err
	}
	if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, b.name+"-function-s3", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: b.fnSG.ID(),
		Description:     pulumi.String("HTTPS to S3 through the gateway endpoint"),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(443),
		ToPort:          pulumi.Int(443),
		PrefixListId:    s3.Id(),
		Tags:            env.Tags.Named(fnName + "-s3").Map(),
	}, b.parent); err != nil {
		return err
	}
	_, err = vpc.NewSecurityGroupIngressRule(b.ctx, b.name+"-scratch-nfs", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId:           b.efsSG.ID(),
		Description:               pulumi.String("NFS from the FFmpeg function"),
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  nfs,
		ToPort:                    nfs,
		ReferencedSecurityGroupId: b.fnSG.ID(),
		Tags:                      env.Tags.Named(efsName + "-nfs").Map(),
	}, b.parent)
	return err
}

// executionRole is the function's execution role: the data statements it shares with the jobs' IRSA
// role, plus the scratch file system, its log group, its network interfaces and X-Ray. The
// policy is inline in the role, so it exists before the function: Lambda checks the network
// interface permissions when it creates the function, and the event source mapping checks
// the queue permissions.
func (b *builder) executionRole() error {
	env, n := b.env, b.names
	statements := append(b.dataStatements(), b.functionStatements()...)
	var err error
	b.role, err = iam.NewRole(b.ctx, b.name+"-function", &iam.RoleArgs{
		Name:        pulumi.String(n.role),
		Description: pulumi.String("Execution role of the FFmpeg Lambda function"),
		// No aws:SourceAccount condition: Lambda does not document setting it when it
		// assumes an execution role, and only this account's principals allowed to pass
		// the role can attach it to a function.
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"lambda.amazonaws.com"}, ""),
		InlinePolicies: iam.RoleInlinePolicyArray{&iam.RoleInlinePolicyArgs{
			Name:   pulumi.String("ffmpeg"),
			Policy: iampolicy.Document(statements...),
		}},
		Tags: env.Tags.Named(n.role).Map(),
	}, b.parent)
	return err
}

// function creates the log group, the function and the event source mapping. Without an image
// tag only the log group is made: Lambda validates the image when it creates the function,
// and the image can only be pushed once the repository exists. The decision is made on the
// configuration, never inside an Apply, so that a preview registers what the update does.
func (b *builder) function() error {
	env, n, f, q := b.env, b.names, b.args.Function, b.args.Queue
	var err error
	// Created before the function, with retention and the pipeline key; the function logs
	// to it by name (Lambda would otherwise create /aws/lambda/<name> without either).
	b.logGroup, err = cloudwatch.NewLogGroup(b.ctx, b.name+"-function", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(n.logGroup),
		RetentionInDays: pulumi.Int(f.LogRetentionDays),
		KmsKeyId:        b.pipelineKey.Arn(),
		Tags:            env.Tags.Named(n.function).Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	if b.args.Pending() {
		return nil
	}
	var reserved pulumi.IntPtrInput
	if r := f.ReservedConcurrency; r != nil {
		reserved = pulumi.IntPtr(*r)
	}
	subnets := b.args.PrivateSubnetIDs.ToStringArrayOutput()
	b.fn, err = lambda.NewFunction(b.ctx, b.name+"-ffmpeg", &lambda.FunctionArgs{
		Name:             pulumi.String(n.function),
		Description:      pulumi.String("FFmpeg: proxies and thumbnails of new media"),
		Role:             b.role.Arn,
		PackageType:      pulumi.String("Image"),
		ImageUri:         pulumi.Sprintf("%s:%s", b.repo.RepositoryUrl, f.ImageTag),
		Architectures:    pulumi.StringArray{pulumi.String(f.Architecture)},
		MemorySize:       pulumi.Int(f.MemoryMB),
		EphemeralStorage: &lambda.FunctionEphemeralStorageArgs{Size: pulumi.Int(f.EphemeralStorageMB)},
		Timeout:          pulumi.Int(f.TimeoutSeconds),
		// Unset by default: Lambda refuses a reservation that leaves less than 100 of the
		// account's quota unreserved, and new accounts start with a quota of 10
		// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
		// The mapping's maximum concurrency bounds the pipeline instead.
		ReservedConcurrentExecutions: reserved,
		TracingConfig:                &lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
		VpcConfig: &lambda.FunctionVpcConfigArgs{
			SubnetIds:        subnets,
			SecurityGroupIds: pulumi.StringArray{b.fnSG.ID()},
		},
		FileSystemConfig: &lambda.FunctionFileSystemConfigArgs{
			Arn:            b.accessPoint.Arn,
			LocalMountPath: pulumi.String(ScratchMountPath),
		},
		// Names and ARNs only, never secrets; encrypted at rest with the pipeline key.
		KmsKeyArn: b.pipelineKey.Arn(),
		Environment: &lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
			"MEDIA_BUCKET":      b.args.MediaBucketName,
			"PROXIES_BUCKET":    b.args.ProxiesBucketName,
			"THUMBNAILS_BUCKET": b.args.ThumbnailsBucketName,
			"SCRATCH_DIR":       pulumi.String(ScratchMountPath),
		}},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String("JSON"),
			LogGroup:  b.logGroup.Name,
		},
		Tags: env.Tags.Named(n.function).Map(),
	}, b.parent, pulumi.DependsOn(append([]pulumi.Resource{
		// Lambda refuses a file system whose mount targets are not yet available in the
		// function's subnets; nothing in the function's inputs refers to them.
		// Lambda adds its own pull statement to the repository policy unless ours is in
		// place when the function is created.
		b.repoPolicy,
	}, b.mountTargets...)))
	if err != nil {
		return err
	}
	_, err = lambda.NewEventSourceMapping(b.ctx, b.name+"-ffmpeg", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 b.queue.Arn,
		FunctionName:                   b.fn.Arn,
		BatchSize:                      pulumi.Int(q.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(q.MaxBatchingWindowSeconds),
		// The function reports the messages it failed; the others are deleted and not retried.
		FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		// Caps the instances the queue drives without reserving any of the account's quota
		// (2-1000: https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html), so a
		// bulk upload cannot take the account's whole concurrency. Lambda stops polling at the
		// cap instead of invoking and being throttled, which would count as receives and push
		// healthy messages into the dead-letter queue.
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{MaximumConcurrency: pulumi.Int(q.MaximumConcurrency)},
		Tags:          env.Tags.Named(n.function + "-queue").Map(),
	}, b.parent)
	return err
}

// functionStatus is the FunctionStatus output: what runs, or exactly what the function waits
// for, with the repository's URL.
func (b *builder) functionStatus() pulumi.StringOutput {
	if b.args.Pending() {
		return pulumi.Sprintf("pending: the FFmpeg function, its queue mapping and its alarms are not created yet; "+
			"push the image to %s:<tag> (an immutable tag such as ffmpeg-2026.11.1) and set cinegit:mediaProcessing.imageTag to <tag>; "+
			"until then new media waits in the queue (up to its message retention)", b.repo.RepositoryUrl)
	}
	return pulumi.Sprintf("ready: %s runs %s:%s", b.names.function, b.repo.RepositoryUrl, b.args.Function.ImageTag)
}
