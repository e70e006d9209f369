package main

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/codebuild"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// The deploy runners: one CodeBuild project per kind of access, all in the runner VPC.
//
// GitHub-hosted jobs cannot reach a private EKS endpoint, so they only launch: the job assumes
// its GitHub role (which may do nothing but upload the checked-out commit and start and watch
// builds of one project), and the build runs pulumi inside the VPC as the project's service
// role. Sources come from the project's own S3 key, at the version the launcher uploaded
// (StartBuild's sourceVersion), so CodeBuild needs no GitHub webhook, token or CodeConnections
// connection, and no launcher ever overrides the source (CodeBuild API reference, StartBuild:
// sourceVersion).
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
	// PreviewSessionHours is the preview and pull-request launchers' maximum session: a job waits for a
	// queued and running preview build.
	PreviewSessionHours = 2
	// RecoverTimeoutMinutes bounds a recovery build (scripts/recover-region.sh: the database
	// key, the snapshot copy, the whole stack's `pulumi up`); RecoverSessionHours is its
	// launcher's session, which waits for it queued and running. Both stay under the 6 hours a
	// job of a GitHub-hosted runner may run ("Usage limits", GitHub Actions documentation: "Each
	// job in a workflow can run for up to 6 hours of execution time"); the script converges
	// when run again, so a copy that outlasts one build is finished by the next.
	RecoverTimeoutMinutes = 280
	RecoverSessionHours   = 6
	// QueuedTimeoutMinutes fails a build that never got capacity instead of leaving the job
	// waiting.
	QueuedTimeoutMinutes = 60
	// RunnerLogRetentionDays keeps the build logs (the record of what changed what).
	RunnerLogRetentionDays = 365
	// SourceExpirationDays deletes uploaded sources and cache objects older than this.
	SourceExpirationDays = 14
)

// runnerKind is one of the three projects. Each has its own service role, its own launcher
// role, its own source key and its own cache: nothing a pull request's build writes is read
// by a build of reviewed code.
type runnerKind struct {
	// Name is "pr", "preview" or "deploy": the S3 prefix of its source and cache too.
	Name string
	// Project is the CodeBuild project's name; ServiceRole the role the build runs as;
	// Launcher the role GitHub Actions assumes to start its builds.
	Project     string
	ServiceRole string
	Launcher    string
	Timeout     int
	Description string
	// Commands are the PULUMI_COMMAND values its launcher may start (the deploy runner's
	// destroy is added by allowDestroy).
	Commands []string
	// Variables are environment variables its launcher may pass beyond LauncherVariables.
	Variables []string
}

// launcherVariables are the environment variables the kind's launcher may pass.
func (k runnerKind) launcherVariables() []string {
	return append(append([]string{}, LauncherVariables...), k.Variables...)
}

// Runner kinds by name.
const (
	KindPullRequest = "pr"
	KindPreview     = "preview"
	KindDeploy      = "deploy"
	KindRecover     = "recover"
)

// RecoveryPointVariable is the recovery launcher's one variable beyond the command and message:
// the recovery point (an AWS Backup ARN of the copy vault) scripts/recover-region.sh restores.
const RecoveryPointVariable = "RECOVERY_POINT_ARN"

// runnerKinds are the pull-request project (previews of unreviewed code, read only), the
// preview project (previews of the default branch before a deploy's approval, and the nightly
// drift check, read only) and the deploy project (pulumi up and destroy, administrator).
var runnerKinds = []runnerKind{
	{Name: KindPullRequest, Project: "cinegit-pulumi-pr", ServiceRole: "cinegit-runner-pr", Launcher: "cinegit-github-pr",
		Timeout: PreviewTimeoutMinutes, Commands: []string{"preview"},
		Description: "pulumi preview of pull requests, read-only and without the cluster's Secrets, inside the deploy runner VPC"},
	{Name: KindPreview, Project: "cinegit-pulumi-preview", ServiceRole: "cinegit-runner-preview", Launcher: "cinegit-github-preview",
		Timeout: PreviewTimeoutMinutes, Commands: []string{"preview", "drift"},
		Description: "pulumi preview and drift checks of the default branch, read-only, inside the deploy runner VPC"},
	{Name: KindDeploy, Project: "cinegit-pulumi-deploy", ServiceRole: "cinegit-runner-deploy", Launcher: "cinegit-github-deploy",
		Timeout: DeployTimeoutMinutes, Commands: []string{"up"},
		Description: "pulumi up and destroy of the account's stack, inside the deploy runner VPC"},
	// Only where recoveryRegion is set, in that region: the stack's recovery after the loss of
	// the primary region (scripts/recover-region.sh). IAM names are global: every name differs
	// from the primary runners'.
	{Name: KindRecover, Project: "cinegit-pulumi-recover", ServiceRole: "cinegit-runner-recover", Launcher: "cinegit-github-recover",
		Timeout: RecoverTimeoutMinutes, Commands: []string{"recover"}, Variables: []string{RecoveryPointVariable},
		Description: "the stack's recovery into this region (scripts/recover-region.sh), inside the recovery region's runner VPC"},
}

// runnerKindNamed returns the runner kind of that name.
func runnerKindNamed(name string) runnerKind {
	for _, k := range runnerKinds {
		if k.Name == name {
			return k
		}
	}
	panic("no runner kind " + name)
}

// SourceKey is where a launcher uploads the commit for its project: one fixed key per kind,
// in a versioned bucket. The launcher starts the build with the uploaded object's version
// (StartBuild's sourceVersion), so it never needs to override the project's source.
func SourceKey(kindName string) string { return kindName + "/source.zip" }

// runnerArgs is what the projects need from the rest of the bootstrap.
type runnerArgs struct {
	Network      *runnerNetwork
	SourceBucket string
	KeyArn       pulumi.StringOutput
	Region       string
	AccountID    string
	Partition    string
	Tags         tags.Set
	// Stack and BackendURL are fixed in every project's environment: a build runs pulumi on
	// this account's stack and state only, whatever its launcher asks.
	Stack      string
	BackendURL pulumi.StringInput
	// Environment are further variables every project fixes, in order (the recovery's
	// override file).
	Environment [][2]string
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

// newSourceBucket holds the commits the launchers upload and the runners' build caches: SSE-KMS
// under the runner key, private, TLS-only, versioned (a build names the version of its
// source), objects and old versions expire after SourceExpirationDays.
func newSourceBucket(ctx *pulumi.Context, name string, args runnerArgs, opts ...pulumi.ResourceOption) (*bucket.Bucket, error) {
	b, err := bucket.New(ctx, name, bucket.Args{
		Name:               args.SourceBucket,
		Purpose:            "runner-sources",
		KMSKeyArn:          args.KeyArn,
		NoAccessLogsReason: "written only by the CI launcher roles: CloudTrail records who",
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays:       1,
			NoncurrentVersionExpirationDays: SourceExpirationDays,
			ExpirationDays:                  SourceExpirationDays,
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

	variables := codebuild.ProjectEnvironmentEnvironmentVariableArray{
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("PULUMI_STACK"), Value: pulumi.String(args.Stack)},
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("PULUMI_BACKEND_URL"), Value: args.BackendURL},
		codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String("CINEGIT_RUNNER"), Value: pulumi.String(kind.Name)},
	}
	for _, v := range args.Environment {
		variables = append(variables, codebuild.ProjectEnvironmentEnvironmentVariableArgs{Name: pulumi.String(v[0]), Value: pulumi.String(v[1])})
	}
	net := args.Network
	r.Project, err = codebuild.NewProject(ctx, "runner-"+kind.Name, &codebuild.ProjectArgs{
		Name:        pulumi.String(kind.Project),
		Description: pulumi.String(kind.Description),
		ServiceRole: r.Role.Arn,
		// The launcher uploads the commit to this key and names its version; the launcher
		// policy refuses any override of the source, the buildspec or the stack.
		Source: &codebuild.ProjectSourceArgs{
			Type:      pulumi.String("S3"),
			Location:  pulumi.String(args.SourceBucket + "/" + SourceKey(kind.Name)),
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
			// Project variables outrank the buildspec's; launchers may not override these
			// ("Environment variables in build environments", CodeBuild user guide).
			EnvironmentVariables: variables,
		},
		// Go's module and build caches, per project (and readable and writable only by its
		// role): a pull request's build can never write a cache that reviewed code then reads.
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
			iampolicy.Strings(fmt.Sprintf("%s/%s", bucketArn, SourceKey(kind.Name)))),
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

// launcherOverrideKeys are StartBuild's condition keys for every override that would change
// what a build runs or where it writes ("AWS CodeBuild condition keys", CodeBuild user guide,
// and the Service Authorization Reference for StartBuild): the source and buildspec, the
// image and its credentials, the role, the cache, the logs, the key and the artifacts. Each
// is denied when present. (debugSessionEnabled has no key; a session needs ssm:StartSession,
// which no launcher has.)
var launcherOverrideKeys = []string{
	"codebuild:source.location", "codebuild:source.buildspec", "codebuild:source.auth.type", "codebuild:source.auth.resource",
	"codebuild:source.insecureSsl", "codebuild:secondarySources", "codebuild:artifacts", "codebuild:secondaryArtifacts",
	"codebuild:environment.image", "codebuild:environment.type", "codebuild:environment.privilegedMode",
	"codebuild:environment.certificate", "codebuild:environment.registryCredential", "codebuild:environment.imagePullCredentialsType",
	"codebuild:serviceRole", "codebuild:cache", "codebuild:logsConfig", "codebuild:encryptionKey",
}

// LauncherVariables are the only environment variables a launcher may pass: the command and
// the update's message (and a kind's own Variables: the recovery's recovery point). The stack,
// the backend and the runner kind are the project's own.
var LauncherVariables = []string{"PULUMI_COMMAND", "PULUMI_MESSAGE"}

// launcherPolicy is everything a GitHub role needs to run pulumi through its project: upload
// the commit to the project's source key, start builds of exactly that project with one of
// its commands and no other override, watch and stop them, and read their logs. No other AWS
// access: the cloud work happens as the project's role.
func launcherPolicy(r *runner, args runnerArgs, commands []string) pulumi.StringOutput {
	project := iampolicy.Strings(r.ProjectArn)
	stmts := []iampolicy.Statement{
		iampolicy.Allow("UploadSource", []string{"s3:PutObject"},
			iampolicy.Strings(fmt.Sprintf("%s/%s", args.bucketArn(), SourceKey(r.Kind.Name)))),
		{
			Sid:       "EncryptSourcesThroughS3",
			Actions:   []string{"kms:GenerateDataKey", "kms:Decrypt"},
			Resources: pulumi.StringArray{args.KeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", args.Region)),
			}},
		},
		iampolicy.Allow("RunBuilds", []string{"codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"}, project),
		iampolicy.Allow("ReadBuildLogs", []string{"logs:GetLogEvents"},
			iampolicy.Strings(r.LogGroupArn+":log-stream:*")),
		// A condition on an absent key is false, except for negated operators, which are true
		// ("IAM JSON policy elements: Condition operators", IAM User Guide): a request without
		// PULUMI_COMMAND is refused too.
		{
			Sid: "OnlyItsCommands", Effect: "Deny", Actions: []string{"codebuild:StartBuild"}, Resources: project,
			Conditions: []iampolicy.Condition{{
				Test: "StringNotEquals", Variable: "codebuild:environment.environmentVariables/PULUMI_COMMAND.value", Values: iampolicy.Strings(commands...),
			}},
		},
		{
			Sid: "OnlyTheCommandAndMessage", Effect: "Deny", Actions: []string{"codebuild:StartBuild"}, Resources: project,
			Conditions: []iampolicy.Condition{{
				Test: "ForAnyValue:StringNotEquals", Variable: "codebuild:environment.environmentVariables.name", Values: iampolicy.Strings(r.Kind.launcherVariables()...),
			}},
		},
	}
	for _, key := range launcherOverrideKeys {
		stmts = append(stmts, iampolicy.Statement{
			Sid: "NoOverride" + overrideSid(key), Effect: "Deny", Actions: []string{"codebuild:StartBuild"}, Resources: project,
			Conditions: []iampolicy.Condition{{Test: "Null", Variable: key, Values: iampolicy.Strings("false")}},
		})
	}
	return iampolicy.Document(stmts...)
}

// overrideSid turns "codebuild:environment.image" into "EnvironmentImage".
func overrideSid(key string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(strings.TrimPrefix(key, "codebuild:"), func(r rune) bool { return r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
