// The CineGit state bootstrap: what the main project needs before anyone can `pulumi login`,
// and the deploy runner its workflows run pulumi on.
//
// It is a separate Pulumi project (cinegit-bootstrap) with local state, run once per AWS
// account by an administrator: the S3 state bucket, the KMS keys for state objects and for the
// stacks' secrets provider, GitHub's OIDC identity provider, the deploy runner (a VPC with
// two CodeBuild projects that run pulumi where the stacks' private EKS endpoints are
// reachable), and the two roles GitHub Actions assumes to start their builds (preview on pull
// requests and drift checks, deploy from main). See README.md beside this file.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit-bootstrap: the state bucket, KMS keys and CI roles for CineGit's stacks.

Run it through the Pulumi CLI with an administrator's AWS credentials (see README.md):
  cd bootstrap
  pulumi login file://~/.pulumi-cinegit-bootstrap
  pulumi stack init bootstrap
  pulumi up --stack bootstrap
`

func main() {
	if os.Getenv(pulumi.EnvMonitor) == "" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	pulumi.Run(program)
}

// program is the whole bootstrap stack; `pulumi up` and the tests run it.
func program(ctx *pulumi.Context) error {
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		return err
	}

	// One provider, in the state's region, tagging everything it creates.
	baseTags := tags.Set(tags.Base("cinegit", Environment, nil))
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
	})
	if err != nil {
		return err
	}
	inRegion := pulumi.Provider(provider)
	identity, err := aws.GetCallerIdentity(ctx, nil, inRegion)
	if err != nil {
		return err
	}
	partition, err := aws.GetPartition(ctx, nil, inRegion)
	if err != nil {
		return err
	}

	// Keys: one encrypts state objects, the other is the stacks' secrets provider. Losing
	// either makes state or secrets unreadable, so both are protected and retained.
	keep := []pulumi.ResourceOption{inRegion, pulumi.Protect(true), pulumi.RetainOnDelete(true)}
	keyEnv := stackenv.Env{Tags: baseTags, AccountID: identity.AccountId, Partition: partition.Partition, Region: cfg.Region}
	keyArgs := func(alias, description string) kmskey.Args {
		return kmskey.Args{Env: keyEnv, Description: description, Alias: alias}
	}
	stateKey, err := kmskey.New(ctx, "state", keyArgs(cfg.StateKeyAlias, "CineGit Pulumi state bucket objects"), keep...)
	if err != nil {
		return err
	}
	secretsKey, err := kmskey.New(ctx, "secrets", keyArgs(cfg.SecretsKeyAlias, "CineGit Pulumi stacks' secrets provider"), keep...)
	if err != nil {
		return err
	}

	// The state bucket (protected and retained inside newStateBucket).
	state, err := newStateBucket(ctx, "state", stateBucketArgs{
		Name:                      cfg.StateBucket,
		KeyArn:                    stateKey.Arn(),
		NoncurrentVersionDays:     cfg.NoncurrentVersionDays,
		AbortIncompleteUploadDays: cfg.AbortIncompleteUploadDays,
		Tags:                      baseTags,
	}, inRegion)
	if err != nil {
		return err
	}

	// The deploy runner: a VPC of its own, which every stack peers with, and the CodeBuild
	// projects that run pulumi in it. Its CIDR is fixed here, before any stack VPC exists, so
	// the first deploy of a new stack can already reach that stack's private EKS endpoint.
	runnerKey, err := kmskey.New(ctx, "runner", kmskey.Args{
		Env: keyEnv, Description: "CineGit deploy runners: sources, build cache, build and flow logs",
		Alias: cfg.RunnerKeyAlias, AllowCloudWatchLogs: true,
	}, inRegion)
	if err != nil {
		return err
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, inRegion)
	if err != nil {
		return err
	}
	if len(zones.Names) < 2 {
		return fmt.Errorf("bootstrap: region %s has fewer than two available zones", cfg.Region)
	}
	network, err := newRunnerNetwork(ctx, "runner", runnerNetworkArgs{
		CIDR: cfg.RunnerCIDR, AvailabilityZones: zones.Names[:2], LogsKeyArn: runnerKey.Arn(),
		FlowLogRetentionDays: 90, Region: cfg.Region, AccountID: identity.AccountId, Partition: partition.Partition, Tags: baseTags,
	}, inRegion)
	if err != nil {
		return err
	}
	rArgs := runnerArgs{
		Network: network, SourceBucket: cfg.RunnerSourceBucket, KeyArn: runnerKey.Arn(),
		Region: cfg.Region, AccountID: identity.AccountId, Partition: partition.Partition, Tags: baseTags,
	}
	sources, err := newSourceBucket(ctx, rArgs, inRegion)
	if err != nil {
		return err
	}
	// The preview runner reads everything (ReadOnlyAccess) and the state, and takes the stack
	// lock: pulumi preview and the drift check. The stacks give it the cluster's view-only
	// access entry (cluster.viewerRoleName).
	previewRunner, err := newRunner(ctx, runnerKinds[0], rArgs, "ReadOnlyAccess",
		previewStatements(cfg.Region, state.Bucket.Arn, stateKey.Arn(), secretsKey.Arn()), inRegion)
	if err != nil {
		return err
	}
	// The deploy runner runs `pulumi up` of a stack that creates VPCs, EKS, IAM roles, KMS keys,
	// databases and CloudFront: that is administrator access, and pretending otherwise only
	// produces a hand-kept list that breaks every new component. What narrows it is who can
	// start its builds (the deploy launcher, assumable only by jobs in the deploy environments,
	// which gate staging and prod on approval) and the guard policy below, which keeps it away
	// from the bootstrap's own resources. The stacks make it cluster-admin
	// (cluster.deployRoleName).
	deployRunner, err := newRunner(ctx, runnerKinds[1], rArgs, "AdministratorAccess", nil, inRegion)
	if err != nil {
		return err
	}

	// GitHub Actions: the OIDC provider and the two launcher roles its workflows assume. They
	// can do nothing but hand a commit to their runner project and watch the build.
	githubArn, err := gitHubOIDCProvider(ctx, cfg.GitHubOIDCProviderArn, baseTags, inRegion)
	if err != nil {
		return err
	}
	roleNames := naming.New("cinegit", "github")
	preview, err := newCIRole(ctx, "preview", ciRoleArgs{
		Name:            roleNames.Name("preview"),
		Description:     "starts pulumi preview and drift builds of " + cfg.GitHubRepository + " in " + previewRunner.Kind.Project,
		ProviderArn:     githubArn,
		Subjects:        cfg.PreviewSubjects(),
		Inline:          launcherPolicy(previewRunner, rArgs),
		InlineName:      "launch-" + previewRunner.Kind.Project,
		MaxSessionHours: PreviewSessionHours,
		Partition:       partition.Partition,
		Tags:            baseTags,
	}, inRegion)
	if err != nil {
		return err
	}
	deploy, err := newCIRole(ctx, "deploy", ciRoleArgs{
		Name:            roleNames.Name("deploy"),
		Description:     "starts pulumi up and destroy builds from the deploy environments of " + cfg.GitHubRepository + " in " + deployRunner.Kind.Project,
		ProviderArn:     githubArn,
		Subjects:        cfg.DeploySubjects(),
		Inline:          launcherPolicy(deployRunner, rArgs),
		InlineName:      "launch-" + deployRunner.Kind.Project,
		MaxSessionHours: cfg.DeploySessionHours,
		Partition:       partition.Partition,
		Tags:            baseTags,
	}, inRegion)
	if err != nil {
		return err
	}
	if _, err := newGuard(ctx, deployRunner.Role, bootstrapResources{
		BucketArns:  pulumi.StringArray{state.Bucket.Arn, sources.Arn},
		StateArn:    state.Bucket.Arn,
		KeyArns:     pulumi.StringArray{stateKey.Arn(), secretsKey.Arn(), runnerKey.Arn()},
		AliasArns:   pulumi.StringArray{stateKey.Alias.Arn, secretsKey.Alias.Arn, runnerKey.Alias.Arn},
		RoleArns:    pulumi.StringArray{preview.Role.Arn, deploy.Role.Arn, previewRunner.Role.Arn, deployRunner.Role.Arn},
		ProjectArns: iampolicy.Strings(previewRunner.ProjectArn, deployRunner.ProjectArn),
		ProviderArn: githubArn,
	}, inRegion); err != nil {
		return err
	}

	// Account guardrails: audit trail, threat detection, access analysis, budgets and cost
	// anomaly alerts (guardrails.go); the role deploys run as (the deploy runner's, which holds
	// AdministratorAccess) may not switch them off.
	guard, err := newGuardrails(ctx, "guardrails", cfg.Guardrails, keyEnv, keep, inRegion)
	if err != nil {
		return err
	}
	if err := guard.guardDeployRole(ctx, deployRunner.Role.Name, keyEnv, cfg.Guardrails, inRegion); err != nil {
		return err
	}
	ctx.Export("cloudTrailArn", guard.TrailArn)
	ctx.Export("cloudTrailBucketName", guard.TrailBucketName)
	ctx.Export("costAlertTopicArn", guard.AlertTopicArn)

	// Exports, named for their consumers: `pulumi login`, `pulumi stack init` and the
	// repository variables the workflows read.
	ctx.Export("stateBucketName", state.Bucket.Bucket)
	ctx.Export("backendUrl", pulumi.Sprintf("s3://%s?region=%s", state.Bucket.Bucket, cfg.Region))
	ctx.Export("secretsProvider", pulumi.Sprintf("awskms://%s?region=%s", secretsKey.Alias.Name, cfg.Region))
	ctx.Export("secretsKeyArn", secretsKey.Arn())
	ctx.Export("stateKeyArn", stateKey.Arn())
	ctx.Export("githubOidcProviderArn", githubArn)
	ctx.Export("previewRoleArn", preview.Role.Arn)
	ctx.Export("deployRoleArn", deploy.Role.Arn)
	// What the stacks and the workflows name: the runner VPC (its Name tag and CIDR are what
	// cinegit:deployRunner looks up), the projects and the bucket the launchers upload to, and
	// the roles the builds run as (cluster.deployRoleName and cluster.viewerRoleName).
	ctx.Export("runnerVpcId", network.Vpc.ID())
	ctx.Export("runnerVpcName", pulumi.String(RunnerVpcName))
	ctx.Export("runnerCidr", network.Vpc.CidrBlock)
	ctx.Export("runnerRouteTableIds", pulumi.StringArray{network.PrivateRoutes.ID().ToStringOutput()})
	ctx.Export("runnerSecurityGroupId", network.SecurityGroup.ID())
	ctx.Export("runnerSourceBucket", sources.Bucket.Bucket)
	ctx.Export("previewProjectName", previewRunner.Project.Name)
	ctx.Export("deployProjectName", deployRunner.Project.Name)
	ctx.Export("previewRunnerRoleName", previewRunner.Role.Name)
	ctx.Export("deployRunnerRoleName", deployRunner.Role.Name)
	return nil
}
