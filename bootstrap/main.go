// The CineGit bootstrap: what one stack's AWS account needs before anyone can `pulumi login`,
// and the deploy runner its workflows run pulumi on.
//
// It is a separate Pulumi project (cinegit-bootstrap) with local state, run once per AWS
// account by an administrator, with one stack per account named after the CineGit stack the
// account hosts (Pulumi.dev.yaml, Pulumi.staging.yaml, Pulumi.prod.yaml): the S3 state bucket
// and the KMS keys for that stack's state and secrets, GitHub's OIDC identity provider, the
// deploy runner (a VPC with three CodeBuild projects that run pulumi where the stack's
// private EKS endpoint is reachable), and the launcher roles GitHub Actions assumes to start
// their builds (pull-request previews, previews and drift checks of the default branch, and
// deploys from the stack's GitHub environment). Nothing here can reach another account. See
// README.md beside this file.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit-bootstrap: the state bucket, KMS keys and CI roles for CineGit's stacks.

Run it through the Pulumi CLI with an administrator's AWS credentials (see README.md):
  cd bootstrap
  pulumi login file://~/.pulumi-cinegit-bootstrap
  pulumi stack init <dev|staging|prod>    # the stack this account hosts
  pulumi up --stack <dev|staging|prod>
`

func main() {
	if os.Getenv(pulumi.EnvMonitor) == "" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	pulumi.Run(program)
}

// accountProvider is an AWS provider for a region of the account: it tags everything it
// creates and refuses credentials of any other account (allowedAccountIds) before it changes
// anything. Every provider the bootstrap makes is one.
func accountProvider(ctx *pulumi.Context, name, region, accountID string, t tags.Set, opts ...pulumi.ResourceOption) (*aws.Provider, error) {
	return aws.NewProvider(ctx, name, &aws.ProviderArgs{
		Region:            pulumi.String(region),
		AllowedAccountIds: pulumi.ToStringArray([]string{accountID}),
		DefaultTags:       &aws.ProviderDefaultTagsArgs{Tags: t.Map()},
	}, opts...)
}

// program is the whole bootstrap stack; `pulumi up` and the tests run it.
func program(ctx *pulumi.Context) error {
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		return err
	}

	// One provider, in the state's region, tagging everything it creates with the account's
	// stack, and refusing credentials of any other account before it changes anything.
	baseTags := tags.Set(tags.Base("cinegit", cfg.Environment, nil))
	provider, err := accountProvider(ctx, "aws", cfg.Region, cfg.AccountID, baseTags)
	if err != nil {
		return err
	}
	inRegion := pulumi.Provider(provider)
	identity, err := aws.GetCallerIdentity(ctx, nil, inRegion)
	if err != nil {
		return err
	}
	// The provider's allowedAccountIds stops `pulumi up`; this stops the preview too, before
	// anything is registered for the wrong account.
	if identity.AccountId != cfg.AccountID {
		return fmt.Errorf("bootstrap: the credentials are for account %s, but %s:accountId is %s (the %s stack's account)",
			identity.AccountId, Project, cfg.AccountID, cfg.Environment)
	}
	partition, err := aws.GetPartition(ctx, nil, inRegion)
	if err != nil {
		return err
	}

	// Keys: one encrypts state objects, the other is the stack's secrets provider. Losing
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
	secretsKey, err := kmskey.New(ctx, "secrets", keyArgs(cfg.SecretsKeyAlias, "CineGit Pulumi "+cfg.Environment+" stack's secrets provider"), keep...)
	if err != nil {
		return err
	}

	// The state bucket (protected and retained inside newStateBucket): this account's stack
	// only.
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

	// The deploy runner: a VPC of its own, which the stack peers with, and the CodeBuild
	// projects that run pulumi in it. Its CIDR is fixed here, before the stack's VPC exists, so
	// the first deploy can already reach the stack's private EKS endpoint.
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
	backendURL := pulumi.Sprintf("s3://%s?region=%s", state.Bucket.Bucket, cfg.Region)
	rArgs := runnerArgs{
		Network: network, SourceBucket: cfg.RunnerSourceBucket, KeyArn: runnerKey.Arn(),
		Region: cfg.Region, AccountID: identity.AccountId, Partition: partition.Partition, Tags: baseTags,
		Stack: cfg.Environment, BackendURL: backendURL,
	}
	sources, err := newSourceBucket(ctx, "runner-sources", rArgs, inRegion)
	if err != nil {
		return err
	}
	// The read-only runners read everything (ReadOnlyAccess) and the state, and take the stack
	// lock: pulumi preview and the drift check. The pull-request runner runs unreviewed code:
	// in the cluster it may view everything but Secrets (cluster.pullRequestRoleName); the
	// preview runner, which runs the default branch only, views all (cluster.viewerRoleName).
	readOnly := previewStatements(cfg.Region, state.Bucket.Arn, stateKey.Arn(), secretsKey.Arn())
	prRunner, err := newRunner(ctx, runnerKindNamed(KindPullRequest), rArgs, "ReadOnlyAccess", readOnly, inRegion)
	if err != nil {
		return err
	}
	previewRunner, err := newRunner(ctx, runnerKindNamed(KindPreview), rArgs, "ReadOnlyAccess", readOnly, inRegion)
	if err != nil {
		return err
	}
	// The deploy runner runs `pulumi up` of a stack that creates VPCs, EKS, IAM roles, KMS keys,
	// databases and CloudFront: that is administrator access, and pretending otherwise only
	// produces a hand-kept list that breaks every new component. What narrows it is the
	// account (this stack's alone), who can start its builds (the deploy launcher, assumable
	// only by jobs in the stack's GitHub environment on the default branch, with no override
	// of what runs) and the guard policies below, which keep it away from the bootstrap's own
	// resources and the account's guardrails. The stack makes it cluster-admin
	// (cluster.deployRoleName).
	deployRunner, err := newRunner(ctx, runnerKindNamed(KindDeploy), rArgs, "AdministratorAccess", nil, inRegion)
	if err != nil {
		return err
	}

	// The standby way in, in the recovery region (recovery.go): its state bucket, secrets key,
	// runner network and the recovery runner.
	var wayIn *standby
	if cfg.RecoveryRegion != "" {
		if wayIn, err = newStandby(ctx, cfg, partition.Partition, baseTags); err != nil {
			return err
		}
	}

	// GitHub Actions: the OIDC provider and the launcher roles its workflows assume. They can
	// do nothing but hand a commit to their runner project and watch the build.
	githubArn, err := gitHubOIDCProvider(ctx, cfg.GitHubOIDCProviderArn, baseTags, inRegion)
	if err != nil {
		return err
	}
	launcherIn := func(r *runner, rArgs runnerArgs, subjects []string, like bool, sessionHours int, in pulumi.ResourceOption) (*ciRole, error) {
		commands := r.Kind.Commands
		if r.Kind.Name == KindDeploy && cfg.AllowDestroy {
			commands = append(append([]string{}, commands...), "destroy")
		}
		return newCIRole(ctx, r.Kind.Name, ciRoleArgs{
			Name:            r.Kind.Launcher,
			Description:     fmt.Sprintf("starts %s builds of %s's %s stack (%s)", strings.Join(commands, "/"), cfg.GitHubRepository, cfg.Environment, r.Kind.Project),
			ProviderArn:     githubArn,
			Subjects:        subjects,
			SubjectsLike:    like,
			Inline:          launcherPolicy(r, rArgs, commands),
			InlineName:      "launch-" + r.Kind.Project,
			MaxSessionHours: sessionHours,
			Partition:       partition.Partition,
			Tags:            baseTags,
		}, in)
	}
	launcher := func(r *runner, subjects []string, like bool, sessionHours int) (*ciRole, error) {
		return launcherIn(r, rArgs, subjects, like, sessionHours, inRegion)
	}
	roleArns := pulumi.StringArray{prRunner.Role.Arn, previewRunner.Role.Arn, deployRunner.Role.Arn}
	var prLauncherArn pulumi.StringOutput
	if subjects := cfg.PullRequestSubjects(); len(subjects) > 0 {
		pr, err := launcher(prRunner, subjects, true, PreviewSessionHours)
		if err != nil {
			return err
		}
		roleArns = append(roleArns, pr.Role.Arn)
		prLauncherArn = pr.Role.Arn
	} else {
		prLauncherArn = pulumi.String("").ToStringOutput()
	}
	preview, err := launcher(previewRunner, cfg.PreviewSubjects(), false, PreviewSessionHours)
	if err != nil {
		return err
	}
	deploy, err := launcher(deployRunner, cfg.DeploySubjects(), false, cfg.DeploySessionHours)
	if err != nil {
		return err
	}
	roleArns = append(roleArns, preview.Role.Arn, deploy.Role.Arn)
	guarded := bootstrapResources{
		BucketArns:  pulumi.StringArray{state.Bucket.Arn, sources.Arn},
		StateArns:   pulumi.StringArray{state.Bucket.Arn},
		KeyArns:     pulumi.StringArray{stateKey.Arn(), secretsKey.Arn(), runnerKey.Arn()},
		AliasArns:   pulumi.StringArray{stateKey.Alias.Arn, secretsKey.Alias.Arn, runnerKey.Alias.Arn},
		RoleArns:    roleArns,
		ProjectArns: iampolicy.Strings(prRunner.ProjectArn, previewRunner.ProjectArn, deployRunner.ProjectArn),
		ProviderArn: githubArn,
	}
	// The recovery launcher: the deploy launcher's subjects (the stack's GitHub environment on
	// the default branch), the recovery project only. Its resources join the guard, which both
	// administrator runners carry: neither may loosen the other's way in.
	var recoverLauncher *ciRole
	if wayIn != nil {
		recoverLauncher, err = launcherIn(wayIn.Runner, wayIn.Args, cfg.DeploySubjects(), false, RecoverSessionHours, pulumi.Provider(wayIn.Provider))
		if err != nil {
			return err
		}
		guarded.RoleArns = append(guarded.RoleArns, wayIn.Runner.Role.Arn, recoverLauncher.Role.Arn)
		guarded.BucketArns = append(guarded.BucketArns, wayIn.State.Bucket.Arn, wayIn.Sources.Arn)
		guarded.StateArns = append(guarded.StateArns, wayIn.State.Bucket.Arn)
		guarded.KeyArns = append(guarded.KeyArns, wayIn.StateKey.Arn(), wayIn.SecretsKey.Arn(), wayIn.RunnerKey.Arn())
		guarded.AliasArns = append(guarded.AliasArns, wayIn.StateKey.Alias.Arn, wayIn.SecretsKey.Alias.Arn, wayIn.RunnerKey.Alias.Arn)
		guarded.ProjectArns = append(guarded.ProjectArns, pulumi.String(wayIn.Runner.ProjectArn))
	}
	if _, err := newGuard(ctx, "deploy-guard", deployRunner.Role, guarded, inRegion); err != nil {
		return err
	}
	if wayIn != nil {
		if _, err := newGuard(ctx, "recover-guard", wayIn.Runner.Role, guarded, pulumi.Provider(wayIn.Provider)); err != nil {
			return err
		}
	}

	// What keeps the stack's DNS delegation valid across its recreations (dns.go).
	accountDNS, err := newAccountDNS(ctx, cfg, keyEnv, keep)
	if err != nil {
		return err
	}
	ctx.Export("dnsDelegationSetId", accountDNS.DelegationSetID)
	ctx.Export("dnsNameServers", accountDNS.NameServers)
	ctx.Export("dnssecKeyArn", accountDNS.KeyArn)

	// What the stack needs beyond a new account's quotas (quotas.go).
	if err := requestQuotaIncreases(ctx, cfg.QuotaIncreases, inRegion); err != nil {
		return err
	}
	if cfg.SpotServiceLinkedRole {
		if err := newSpotServiceLinkedRole(ctx, inRegion); err != nil {
			return err
		}
	}

	// Account guardrails: audit trail, threat detection, access analysis, budgets and cost
	// anomaly alerts (guardrails.go); the role deploys run as (the deploy runner's, which holds
	// AdministratorAccess) may not switch them off.
	guard, err := newGuardrails(ctx, "guardrails", cfg.Guardrails, keyEnv, keep, inRegion)
	if err != nil {
		return err
	}
	if err := guard.guardDeployRole(ctx, "deploy-guardrails-guard", deployRunner.Role.Name, keyEnv, cfg.Guardrails, inRegion); err != nil {
		return err
	}
	if wayIn != nil {
		if err := guard.guardDeployRole(ctx, "recover-guardrails-guard", wayIn.Runner.Role.Name, keyEnv, cfg.Guardrails, pulumi.Provider(wayIn.Provider)); err != nil {
			return err
		}
	}
	ctx.Export("cloudTrailArn", guard.TrailArn)
	ctx.Export("cloudTrailBucketName", guard.TrailBucketName)
	ctx.Export("costAlertTopicArn", guard.AlertTopicArn)

	// Exports, named for their consumers: `pulumi login`, `pulumi stack init` and the
	// repository variables the workflows read.
	ctx.Export("stateBucketName", state.Bucket.Bucket)
	ctx.Export("backendUrl", backendURL)
	ctx.Export("secretsProvider", pulumi.Sprintf("awskms://%s?region=%s", secretsKey.Alias.Name, cfg.Region))
	ctx.Export("environment", pulumi.String(cfg.Environment))
	ctx.Export("accountId", pulumi.String(cfg.AccountID))
	ctx.Export("secretsKeyArn", secretsKey.Arn())
	ctx.Export("stateKeyArn", stateKey.Arn())
	ctx.Export("githubOidcProviderArn", githubArn)
	ctx.Export("pullRequestRoleArn", prLauncherArn)
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
	ctx.Export("pullRequestProjectName", prRunner.Project.Name)
	ctx.Export("previewProjectName", previewRunner.Project.Name)
	ctx.Export("deployProjectName", deployRunner.Project.Name)
	ctx.Export("pullRequestRunnerRoleName", prRunner.Role.Name)
	ctx.Export("previewRunnerRoleName", previewRunner.Role.Name)
	ctx.Export("deployRunnerRoleName", deployRunner.Role.Name)
	// The standby way in: what the recovery runner logs in to and what the recover workflow
	// and docs/region-loss.md name.
	if wayIn != nil {
		ctx.Export("recoveryRegion", pulumi.String(wayIn.Region))
		ctx.Export("recoveryStack", pulumi.String(wayIn.Stack))
		ctx.Export("recoveryStateBucketName", wayIn.State.Bucket.Bucket)
		ctx.Export("recoveryBackendUrl", wayIn.BackendURL)
		ctx.Export("recoverySecretsProvider", wayIn.SecretsProvider)
		ctx.Export("recoverySecretsKeyArn", wayIn.SecretsKey.Arn())
		ctx.Export("recoveryRunnerVpcId", wayIn.Network.Vpc.ID())
		ctx.Export("recoveryRunnerSourceBucket", wayIn.Sources.Bucket.Bucket)
		ctx.Export("recoverProjectName", wayIn.Runner.Project.Name)
		ctx.Export("recoverRunnerRoleName", wayIn.Runner.Role.Name)
		ctx.Export("recoverRoleArn", recoverLauncher.Role.Arn)
	}
	return nil
}
