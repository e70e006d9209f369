// The CineGit state bootstrap: what the main project needs before anyone can `pulumi login`.
//
// It is a separate Pulumi project (cinegit-bootstrap) with local state, run once per AWS
// account by an administrator: the S3 state bucket, the KMS keys for state objects and for the
// stacks' secrets provider, GitHub's OIDC identity provider, and the two roles GitHub Actions
// assumes (preview on pull requests, deploy from main). See README.md beside this file.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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

	// GitHub Actions: the OIDC provider and the two roles its workflows assume.
	githubArn, err := gitHubOIDCProvider(ctx, cfg.GitHubOIDCProviderArn, baseTags, inRegion)
	if err != nil {
		return err
	}
	roleNames := naming.New("cinegit", "github")
	preview, err := newCIRole(ctx, "preview", ciRoleArgs{
		Name:          roleNames.Name("preview"),
		Description:   "pulumi preview from pull requests and drift checks of " + cfg.GitHubRepository,
		ProviderArn:   githubArn,
		Subjects:      cfg.PreviewSubjects(),
		ManagedPolicy: "ReadOnlyAccess",
		Inline:        previewPolicy(cfg.Region, state.Bucket.Arn, stateKey.Arn(), secretsKey.Arn()),
		InlineName:    "pulumi-state-and-secrets",
		// A preview with --refresh reads every resource of a stack; an hour is plenty.
		MaxSessionHours: 1,
		Partition:       partition.Partition,
		Tags:            baseTags,
	}, inRegion)
	if err != nil {
		return err
	}
	// The deploy role runs `pulumi up` of a stack that creates VPCs, EKS, IAM roles, KMS keys,
	// databases and CloudFront: that is administrator access, and pretending otherwise only
	// produces a hand-kept list that breaks every new component. What narrows it is who can
	// assume it (jobs in the deploy environments, which gate staging and prod on approval)
	// and the guard policy below, which keeps it away from the bootstrap's own resources.
	deploy, err := newCIRole(ctx, "deploy", ciRoleArgs{
		Name:            roleNames.Name("deploy"),
		Description:     "pulumi up from the deploy environments of " + cfg.GitHubRepository,
		ProviderArn:     githubArn,
		Subjects:        cfg.DeploySubjects(),
		ManagedPolicy:   "AdministratorAccess",
		MaxSessionHours: cfg.DeploySessionHours,
		Partition:       partition.Partition,
		Tags:            baseTags,
	}, inRegion)
	if err != nil {
		return err
	}
	if _, err := newGuard(ctx, deploy, bootstrapResources{
		BucketArn:   state.Bucket.Arn,
		KeyArns:     pulumi.StringArray{stateKey.Arn(), secretsKey.Arn()},
		AliasArns:   pulumi.StringArray{stateKey.Alias.Arn, secretsKey.Alias.Arn},
		RoleArns:    pulumi.StringArray{preview.Role.Arn, deploy.Role.Arn},
		ProviderArn: githubArn,
	}, inRegion); err != nil {
		return err
	}

	// Account guardrails: audit trail, threat detection, access analysis, budgets and cost
	// anomaly alerts (guardrails.go); the deploy role may not switch them off.
	guard, err := newGuardrails(ctx, "guardrails", cfg.Guardrails, keyEnv, keep, inRegion)
	if err != nil {
		return err
	}
	if err := guard.guardDeployRole(ctx, deploy.Role.Name, keyEnv, cfg.Guardrails, inRegion); err != nil {
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
	return nil
}
