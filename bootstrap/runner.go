package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/codebuild"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// The deploy runners: one CodeBuild project per kind of access, both in the runner VPC.
//
// GitHub-hosted jobs cannot reach a private EKS endpoint, so they only launch: the job assumes
// its GitHub role (which may do nothing but upload the checked-out commit and start and watch
// builds of one project), and the build runs pulumi inside the VPC as the project's service
// role. Sources come from S3 through StartBuild's sourceTypeOverride/sourceLocationOverride,
// so CodeBuild needs no GitHub webhook, token or CodeConnections connection (CodeBuild API
// reference, StartBuild: sourceTypeOverride, sourceLocationOverride,
// environmentVariablesOverride, buildspecOverride).
const (
	// BuildspecPath is the committed buildspec, relative to the source root; it pins every tool
	// version the runners install.
	BuildspecPath = ".ci/buildspec.yml"
	// RunnerImage is CodeBuild's curated Amazon Linux 2023 image (AWS CLI v2, Go, git).
	RunnerImage = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
	// RunnerComputeType has 4 vCPUs and 7 GB: compiling the program (pulumi-aws) is most of a
	// cold preview.
	RunnerComputeType = "BUILD_GENERAL1_MEDIUM"
	// PreviewTimeoutMinutes bounds a preview or drift check; DeployTimeoutMinutes a `pulumi up`
	// or destroy. A first prod deploy (EKS control plane ~10-15 min, node groups, multi-AZ RDS
	// ~20-40 min, ElastiCache, CloudFront, the Helm releases) plus a cold compile stays well
	// under 3 hours. The deploy launcher's session (deploySessionHours) outlasts it.
	PreviewTimeoutMinutes = 60
	DeployTimeoutMinutes  = 180
	// PreviewSessionHours is the preview launcher's maximum session: its job waits for a
	// queued and running preview build.
	PreviewSessionHours = 2
	// QueuedTimeoutMinutes fails a build that never got capacity instead of leaving the job
	// waiting.
	QueuedTimeoutMinutes = 60
	// RunnerLogRetentionDays keeps the build logs (the record of what changed what).
	RunnerLogRetentionDays = 365
	// SourceExpirationDays deletes uploaded sources and cache objects older than this.
	SourceExpirationDays = 14
)

// runnerKind is one of the two projects.
type runnerKind struct {
	// Name is "preview" or "deploy": the S3 prefix of its sources and cache too.
	Name string
	// Project is the CodeBuild project's name; ServiceRole the role the build runs as.
	Project     string
	ServiceRole string
	Timeout     int
	Description string
}

// runnerKinds are the preview project (pull request previews and nightly drift checks, read
// only) and the deploy project (pulumi up and destroy, administrator).
var runnerKinds = []runnerKind{
	{Name: "preview", Project: "cinegit-pulumi-preview", ServiceRole: "cinegit-runner-preview", Timeout: PreviewTimeoutMinutes,
		Description: "pulumi preview and drift checks of CineGit's stacks, read-only, inside the deploy runner VPC"},
	{Name: "deploy", Project: "cinegit-pulumi-deploy", ServiceRole: "cinegit-runner-deploy", Timeout: DeployTimeoutMinutes,
		Description: "pulumi up and destroy of CineGit's stacks, inside the deploy runner VPC"},
}

// runnerArgs is what the projects need from the rest of the bootstrap.
type runnerArgs struct {
	Network      *runnerNetwork
	SourceBucket string
	KeyArn       pulumi.StringOutput
	Region       string
	AccountID    string
	Partition    string
	Tags         tags.Set
}

// runner is one project with its role and log group.
type runner struct {
	Kind     runnerKind
	Project  *codebuild.Project
	Role     *iam.Role
	LogGroup *cloudwatch.LogGroup
	// ProjectArn and LogGroupArn are known before the resources exist (policies name them
	// without waiting).
	ProjectArn  string
	LogGroupArn string
}

func (a runnerArgs) projectArn(project string) string {
	return fmt.Sprintf("arn:%s:codebuild:%s:%s:project/%s", a.Partition, a.Region, a.AccountID, project)
}

func (a runnerArgs) logGroupName(project string) string { return "/aws/codebuild/" + project }

func (a runnerArgs) logGroupArn(project string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", a.Partition, a.Region, a.AccountID, a.logGroupName(project))
}

func (a runnerArgs) bucketArn() string { return bucket.Arn(a.Partition, a.SourceBucket) }

// newSourceBucket holds the commits the launchers upload and the runners' build cache: SSE-KMS
// under the runner key, private, TLS-only, objects expire after SourceExpirationDays.
func newSourceBucket(ctx *pulumi.Context, args runnerArgs, opts ...pulumi.ResourceOption) (*bucket.Bucket, error) {
	b, err := bucket.New(ctx, "runner-sources", bucket.Args{
		Name:               args.SourceBucket,
		Purpose:            "runner-sources",
		KMSKeyArn:          args.KeyArn,
		UnversionedReason:  "transient build inputs and cache re-uploaded by every run",
		NoAccessLogsReason: "written only by the CI launcher roles: CloudTrail records who",
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays: 1,
			ExpirationDays:            SourceExpirationDays,
		},
		ForceDestroy: true,
		Tags:         args.Tags,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("runner source bucket: %w", err)
	}
	if _, err := b.AttachPolicy(ctx, nil, opts...); err != nil {
		return nil, fmt.Errorf("runner source bucket policy: %w", err)
	}
	return b, nil
}

// newRunner creates one CodeBuild project, its log group and its service role. extra is the
// role's own permissions beyond running builds (managed policy by name, inline statements).
func newRunner(ctx *pulumi.Context, kind runnerKind, args runnerArgs, managed string, extra []iampolicy.Statement,
	opts ...pulumi.ResourceOption) (*runner, error) {
	r := &runner{Kind: kind, ProjectArn: args.projectArn(kind.Project), LogGroupArn: args.logGroupArn(kind.Project)}
	wrap := func(part string, err error) error { return fmt.Errorf("runner %s: %s: %w", kind.Name, part, err) }
	var err error

	r.LogGroup, err = cloudwatch.NewLogGroup(ctx, "runner-"+kind.Name, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.logGroupName(kind.Project)),
		RetentionInDays: pulumi.Int(RunnerLogRetentionDays),
		KmsKeyId:        args.KeyArn,
		Tags:            args.Tags.Named(kind.Project).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("log group", err)
	}

	// Only CodeBuild, building exactly this project in this account, may assume the role
	// (CodeBuild user guide, "Cross-service confused deputy prevention").
	r.Role, err = iam.NewRole(ctx, "runner-"+kind.Name, &iam.RoleArgs{
		Name:        pulumi.String(kind.ServiceRole),
		Description: pulumi.String("Service role of the CodeBuild project " + kind.Project),
		AssumeRolePolicy: iampolicy.Document(iampolicy.Statement{
			Actions:    []string{"sts:AssumeRole"},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("codebuild.amazonaws.com")}},
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(args.AccountID)},
				{Test: "ArnEquals", Variable: "aws:SourceArn", Values: iampolicy.Strings(r.ProjectArn)},
			},
		}),
		// The builds' credentials come from CodeBuild and are refreshed by it; this only bounds
		// a session someone would start by hand.
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               args.Tags.Named(kind.ServiceRole).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("role", err)
	}
	if managed != "" {
		if _, err := iam.NewRolePolicyAttachment(ctx, "runner-"+kind.Name, &iam.RolePolicyAttachmentArgs{
			Role:      r.Role.Name,
			PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", args.Partition, managed)),
		}, opts...); err != nil {
			return nil, wrap("managed policy", err)
		}
	}
	statements := append(runnerBasePolicy(kind, args), extra...)
	// The project must not exist before its role can create network interfaces in the VPC:
	// CodeBuild checks the VPC permissions when the project is created.
	basePolicy, err := iam.NewRolePolicy(ctx, "runner-"+kind.Name, &iam.RolePolicyArgs{
		Name:   pulumi.String("run-builds"),
		Role:   r.Role.Name,
		Policy: iampolicy.Document(statements...),
	}, opts...)
	if err != nil {
		return nil, wrap("policy", err)
	}

	net := args.Network
	r.Project, err = codebuild.NewProject(ctx, "runner-"+kind.Name, &codebuild.ProjectArgs{
		Name:        pulumi.String(kind.Project),
		Description: pulumi.String(kind.Description),
		ServiceRole: r.Role.Arn,
		// The launcher overrides type and location with the uploaded commit; this default only
		// names where sources live and which committed buildspec runs.
		Source: &codebuild.ProjectSourceArgs{
			Type:      pulumi.String("S3"),
			Location:  pulumi.Sprintf("%s/%s/", args.SourceBucket, kind.Name),
			Buildspec: pulumi.String(BuildspecPath),
		},
		Artifacts: &codebuild.ProjectArtifactsArgs{Type: pulumi.String("NO_ARTIFACTS")},
		Environment: &codebuild.ProjectEnvironmentArgs{
			Type:                     pulumi.String("LINUX_CONTAINER"),
			ComputeType:              pulumi.String(RunnerComputeType),
			Image:                    pulumi.String(RunnerImage),
			ImagePullCredentialsType: pulumi.String("CODEBUILD"),
			// Nothing here builds containers: no Docker daemon, no privileged container.
			PrivilegedMode: pulumi.Bool(false),
		},
		// Go's module and build caches, per project: a pull request's build can never write a
		// cache that a deploy then reads.
		Cache: &codebuild.ProjectCacheArgs{
			Type:     pulumi.String("S3"),
			Location: pulumi.Sprintf("%s/cache/%s", args.SourceBucket, kind.Name),
		},
		EncryptionKey: args.KeyArn,
		BuildTimeout:  pulumi.Int(kind.Timeout),
		QueuedTimeout: pulumi.Int(QueuedTimeoutMinutes),
		LogsConfig: &codebuild.ProjectLogsConfigArgs{
			CloudwatchLogs: &codebuild.ProjectLogsConfigCloudwatchLogsArgs{
				GroupName: r.LogGroup.Name,
				Status:    pulumi.String("ENABLED"),
			},
			S3Logs: &codebuild.ProjectLogsConfigS3LogsArgs{Status: pulumi.String("DISABLED")},
		},
		VpcConfig: &codebuild.ProjectVpcConfigArgs{
			VpcId:            net.Vpc.ID(),
			Subnets:          net.PrivateSubnetIDs,
			SecurityGroupIds: pulumi.StringArray{net.SecurityGroup.ID()},
		},
		ProjectVisibility: pulumi.String("PRIVATE"),
		Tags:              args.Tags.Named(kind.Project).Map(),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{basePolicy}))...)
	if err != nil {
		return nil, wrap("project", err)
	}
	return r, nil
}

// runnerBasePolicy is what any build of the project needs: its logs, its sources and cache,
// the runner key for both, and network interfaces in the runner subnets (CodeBuild user guide,
// "Allow CodeBuild access to AWS services required to create a VPC network interface").
func runnerBasePolicy(kind runnerKind, args runnerArgs) []iampolicy.Statement {
	bucketArn := args.bucketArn()
	subnetArns := pulumi.StringArray{}
	for _, id := range args.Network.PrivateSubnetIDs {
		subnetArns = append(subnetArns, pulumi.Sprintf("arn:%s:ec2:%s:%s:subnet/%s", args.Partition, args.Region, args.AccountID, id))
	}
	return []iampolicy.Statement{
		iampolicy.Allow("WriteBuildLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			iampolicy.Strings(args.logGroupArn(kind.Project), args.logGroupArn(kind.Project)+":log-stream:*")),
		iampolicy.Allow("ReadSources", []string{"s3:GetObject", "s3:GetObjectVersion"},
			iampolicy.Strings(fmt.Sprintf("%s/%s/*", bucketArn, kind.Name))),
		iampolicy.Allow("UseCache", []string{"s3:GetObject", "s3:PutObject"},
			iampolicy.Strings(fmt.Sprintf("%s/cache/%s/*", bucketArn, kind.Name))),
		iampolicy.Allow("LocateBucket", []string{"s3:GetBucketAcl", "s3:GetBucketLocation"}, iampolicy.Strings(bucketArn)),
		// The project's encryption key protects its cache and artifacts; CodeBuild uses it as the
		// service role (CodeBuild user guide, "Data encryption").
		iampolicy.Allow("UseRunnerKey",
			[]string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"},
			pulumi.StringArray{args.KeyArn}),
		iampolicy.Allow("DescribeNetwork", []string{
			"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeDhcpOptions",
			"ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
		}, iampolicy.Strings("*")),
		{
			Sid:       "AttachInterfacesInRunnerSubnets",
			Actions:   []string{"ec2:CreateNetworkInterfacePermission"},
			Resources: iampolicy.Strings(fmt.Sprintf("arn:%s:ec2:%s:%s:network-interface/*", args.Partition, args.Region, args.AccountID)),
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "ec2:AuthorizedService", Values: iampolicy.Strings("codebuild.amazonaws.com")},
				{Test: "ArnEquals", Variable: "ec2:Subnet", Values: subnetArns},
			},
		},
	}
}

// launcherPolicy is everything a GitHub role needs to run pulumi through its project: upload
// the commit under the project's prefix, start and watch builds of exactly that project, and
// read its logs. No other AWS access: the cloud work happens as the project's role.
func launcherPolicy(r *runner, args runnerArgs) pulumi.StringOutput {
	return iampolicy.Document(
		iampolicy.Allow("UploadSources", []string{"s3:PutObject"},
			iampolicy.Strings(fmt.Sprintf("%s/%s/*", args.bucketArn(), r.Kind.Name))),
		iampolicy.Statement{
			Sid:       "EncryptSourcesThroughS3",
			Actions:   []string{"kms:GenerateDataKey", "kms:Decrypt"},
			Resources: pulumi.StringArray{args.KeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", args.Region)),
			}},
		},
		iampolicy.Allow("RunBuilds", []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"},
			iampolicy.Strings(r.ProjectArn)),
		iampolicy.Allow("ReadBuildLogs", []string{"logs:GetLogEvents"},
			iampolicy.Strings(r.LogGroupArn+":log-stream:*")),
	)
}
