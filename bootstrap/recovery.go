package main

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/recovery"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// The standby way in (docs/region-loss.md): where recoveryRegion is set, the bootstrap makes in
// that region what the stack's recovery needs once the primary region is lost, and which could
// not be made then. The state bucket and every key of the primary are in the lost region; and
// IAM's control plane is in us-east-1, so while it is impaired no role can be created, while
// existing roles keep working ("Resilience in AWS Identity and Access Management", IAM User
// Guide; "AWS Fault Isolation Boundaries", Appendix A: IAM's control plane is in us-east-1, its
// data plane in every region). So beforehand: a state bucket and a secrets key of that region,
// a runner network there (the primary's Name tag and block, which the recovery stack peers
// with), the recovery project running scripts/recover-region.sh as cinegit-runner-recover, and
// its launcher cinegit-github-recover, trusted by the stack's GitHub environment on the
// default branch only. Everything is built by the same builders as the primary's, with a
// provider of the recovery region.

// RecoveryOverrideDir holds the committed recovery overrides, relative to the bootstrap
// project (the program's working directory): recovery/<environment>-<recoveryRegion>.yaml is
// the one the recovery runner runs.
const RecoveryOverrideDir = "../recovery"

// recoveryOverridePath is the override's path from the repository root, as the runner sees it.
func recoveryOverridePath(environment, region string) string {
	return path.Join("recovery", environment+"-"+region+".yaml")
}

// standby is what newStandby made in the recovery region.
type standby struct {
	Region     string
	Provider   *aws.Provider
	StateKey   *kmskey.Key
	SecretsKey *kmskey.Key
	RunnerKey  *kmskey.Key
	State      *stateBucket
	Sources    *bucket.Bucket
	Network    *runnerNetwork
	Runner     *runner
	Args       runnerArgs
	// Stack is the recovery stack (the override's), BackendURL and SecretsProvider are what
	// the recovery runner logs in to and creates the stack with.
	Stack           string
	BackendURL      pulumi.StringOutput
	SecretsProvider pulumi.StringOutput
}

// loadRecoveryOverride reads the committed override of this account's stack and region and
// checks that it names what the bootstrap makes there: its base is the account's stack, its
// secrets provider the standby secrets key, its region the recovery region, and its cluster
// admin the recovery runner's role.
func loadRecoveryOverride(cfg *Config) (*recovery.Override, error) {
	file := filepath.Join(RecoveryOverrideDir, cfg.Environment+"-"+cfg.RecoveryRegion+".yaml")
	o, err := recovery.Load(file)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: recoveryRegion %s needs the committed override %s: %w", cfg.RecoveryRegion, file, err)
	}
	region, _ := o.Config["aws:region"].(string)
	cluster, _ := o.Config["cinegit:cluster"].(map[string]any)
	deployRole, _ := cluster["deployRoleName"].(string)
	provider := fmt.Sprintf("awskms://alias/%s?region=%s", cfg.SecretsKeyAlias, cfg.RecoveryRegion)
	switch {
	case o.Base != cfg.Environment:
		return nil, fmt.Errorf("bootstrap: %s recovers %q, this account hosts %q", file, o.Base, cfg.Environment)
	case o.SecretsProvider != provider:
		return nil, fmt.Errorf("bootstrap: %s uses the secrets provider %q, the standby key is %q", file, o.SecretsProvider, provider)
	case region != cfg.RecoveryRegion:
		return nil, fmt.Errorf("bootstrap: %s is in region %q, recoveryRegion is %q", file, region, cfg.RecoveryRegion)
	case deployRole != runnerKindNamed(KindRecover).ServiceRole:
		return nil, fmt.Errorf("bootstrap: %s makes %q cluster-admin, the recovery runner runs as %q", file, deployRole, runnerKindNamed(KindRecover).ServiceRole)
	}
	return o, nil
}

// newStandby makes the standby way in, in cfg.RecoveryRegion.
func newStandby(ctx *pulumi.Context, cfg *Config, partition string, t tags.Set) (*standby, error) {
	o, err := loadRecoveryOverride(cfg)
	if err != nil {
		return nil, err
	}
	region := cfg.RecoveryRegion
	s := &standby{Region: region, Stack: o.Stack}
	s.Provider, err = accountProvider(ctx, "aws-"+region, region, cfg.AccountID, t)
	if err != nil {
		return nil, err
	}
	inRegion := pulumi.Provider(s.Provider)
	keep := []pulumi.ResourceOption{inRegion, pulumi.Protect(true), pulumi.RetainOnDelete(true)}
	env := stackenv.Env{Tags: t, AccountID: cfg.AccountID, Partition: partition, Region: region}

	// The same aliases as the primary's: an alias is per region, and the override's secrets
	// provider names alias/<secretsKeyAlias> with ?region= (recovery/*.yaml).
	s.StateKey, err = kmskey.New(ctx, "recover-state", kmskey.Args{Env: env, Description: "CineGit Pulumi state bucket objects, recovery region", Alias: cfg.StateKeyAlias}, keep...)
	if err != nil {
		return nil, err
	}
	s.SecretsKey, err = kmskey.New(ctx, "recover-secrets", kmskey.Args{
		Env: env, Description: "CineGit Pulumi " + o.Stack + " recovery stack's secrets provider", Alias: cfg.SecretsKeyAlias,
	}, keep...)
	if err != nil {
		return nil, err
	}
	s.State, err = newStateBucket(ctx, "recover-state", stateBucketArgs{
		Name:                      cfg.RecoveryStateBucket,
		KeyArn:                    s.StateKey.Arn(),
		NoncurrentVersionDays:     cfg.NoncurrentVersionDays,
		AbortIncompleteUploadDays: cfg.AbortIncompleteUploadDays,
		Tags:                      t,
	}, inRegion)
	if err != nil {
		return nil, err
	}

	s.RunnerKey, err = kmskey.New(ctx, "recover-runner", kmskey.Args{
		Env: env, Description: "CineGit recovery runner: sources, build cache, build and flow logs",
		Alias: cfg.RunnerKeyAlias, AllowCloudWatchLogs: true,
	}, inRegion)
	if err != nil {
		return nil, err
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, inRegion)
	if err != nil {
		return nil, err
	}
	if len(zones.Names) < 2 {
		return nil, fmt.Errorf("bootstrap: recovery region %s has fewer than two available zones", region)
	}
	// The primary's Name tag and block: the recovery stack (cinegit:deployRunner defaults)
	// looks the runner VPC up by both in its own region.
	s.Network, err = newRunnerNetwork(ctx, "recover-runner", runnerNetworkArgs{
		CIDR: cfg.RunnerCIDR, AvailabilityZones: zones.Names[:2], LogsKeyArn: s.RunnerKey.Arn(),
		FlowLogRetentionDays: 90, Region: region, AccountID: cfg.AccountID, Partition: partition, Tags: t,
		FlowLogRoleName: RunnerVpcName + "-flow-logs-" + region,
	}, inRegion)
	if err != nil {
		return nil, err
	}
	s.BackendURL = pulumi.Sprintf("s3://%s?region=%s", s.State.Bucket.Bucket, region)
	s.SecretsProvider = pulumi.Sprintf("awskms://%s?region=%s", s.SecretsKey.Alias.Name, region)
	// The sources bucket of the primary is in the lost region: the launcher uploads to one of
	// the recovery region.
	s.Args = runnerArgs{
		Network: s.Network, SourceBucket: cfg.RecoverySourceBucket, KeyArn: s.RunnerKey.Arn(),
		Region: region, AccountID: cfg.AccountID, Partition: partition, Tags: t,
		Stack: o.Stack, BackendURL: s.BackendURL,
		Environment: [][2]string{{"CINEGIT_RECOVERY_OVERRIDE", recoveryOverridePath(cfg.Environment, region)}},
	}
	s.Sources, err = newSourceBucket(ctx, "recover-runner-sources", s.Args, inRegion)
	if err != nil {
		return nil, err
	}
	// `pulumi up` of a whole stack, as the deploy runner: administrator, narrowed by the same
	// guard policies (main.go). The recovery stack makes it cluster-admin
	// (cluster.deployRoleName in the override, checked above).
	s.Runner, err = newRunner(ctx, runnerKindNamed(KindRecover), s.Args, "AdministratorAccess", nil, inRegion)
	if err != nil {
		return nil, err
	}
	return s, nil
}
