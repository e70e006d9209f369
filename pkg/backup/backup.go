// Package backup is CineGit's AWS Backup: a vault encrypted with its own KMS key, backup plans
// for PostgreSQL (daily snapshots and, optionally, continuous backup for point-in-time
// restore) and for the media bucket (daily), selections that name exactly those resources by
// ARN, the service role AWS Backup works with, and optionally a copy of every snapshot
// recovery point to a vault in a second region and a vault lock on both vaults.
//
// Why by ARN and not by tag: a tag-based selection backs up whatever carries the tag, and
// misses a data store whose tag was forgotten; naming the ARNs that main.go passes makes the
// plan cover exactly the stack's data stores, which the policy pack checks.
//
// What is not backed up, and why: Redis holds sessions and diff previews that are rebuilt on
// demand (its own daily snapshots cover a warm restart); the EFS file system is FFmpeg's
// scratch space, whose files are inputs and outputs of transcodes in flight, re-created by
// re-running the job from the original in the media bucket; the proxies and thumbnails
// buckets hold renditions regenerated from the originals.
package backup

import (
	"fmt"
	"path"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awsbackup "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/backup"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ServiceRolePolicies are the AWS managed policies of the backup role: backup and restore of
// RDS (and the other services AWS Backup supports), and of S3, which has policies of its own
// ("Amazon S3 backup: prerequisites", AWS Backup Developer Guide; the S3 policies live at the
// root path, the others under service-role/).
var ServiceRolePolicies = []string{
	"service-role/AWSBackupServiceRolePolicyForBackup",
	"service-role/AWSBackupServiceRolePolicyForRestores",
	"AWSBackupServiceRolePolicyForS3Backup",
	"AWSBackupServiceRolePolicyForS3Restore",
}

// Args configure the backups.
type Args struct {
	Env stackenv.Env
	// Schedule is the daily rules' AWS Backup cron expression (UTC).
	Schedule string
	// RetentionDays keeps snapshot recovery points in the stack's region.
	RetentionDays int
	// ContinuousDatabaseRetentionDays > 0 adds continuous backup (point-in-time restore) of
	// the database, kept this many days (1-35). Pass the instance's own backup retention:
	// AWS Backup takes over the instance's automated backups and sets their retention to the
	// rule's ("Continuous backups and point-in-time recovery", AWS Backup Developer Guide), so
	// equal numbers keep `pulumi up` and AWS Backup from undoing each other.
	ContinuousDatabaseRetentionDays int
	// DatabaseArn is the RDS instance's ARN.
	DatabaseArn pulumi.StringInput
	// MediaBucketArn is the media bucket's ARN; AWS Backup for S3 needs it versioned.
	MediaBucketArn pulumi.StringInput
	// Copy copies every snapshot recovery point to a vault in another region. Nil: no copy.
	Copy *Copy
	// VaultLock locks the vault (and the copy vault). Nil: unlocked.
	VaultLock *VaultLock
	// ForceDestroy lets `pulumi destroy` delete the vaults with their recovery points
	// (ephemeral stacks only).
	ForceDestroy bool
	// Protect marks the vaults and keys with Pulumi's protect option.
	Protect bool
}

// Copy is the cross-region copy.
type Copy struct {
	// Provider is an AWS provider in Region; the copy vault and its key are made with it.
	Provider *aws.Provider
	// Region is the copy vault's region.
	Region string
	// RetentionDays keeps the copies this long.
	RetentionDays int
}

// VaultLock is AWS Backup Vault Lock.
type VaultLock struct {
	// Compliance makes the lock immutable once ChangeableForDays have passed; otherwise
	// governance mode, which privileged users can lift.
	Compliance bool
	// ChangeableForDays is compliance mode's grace time (at least 3).
	ChangeableForDays int
	// MinRetentionDays and MaxRetentionDays (0: none) bound every recovery point's retention.
	MinRetentionDays, MaxRetentionDays int
}

// Backup is the AWS Backup component.
type Backup struct {
	pulumi.ResourceState

	// VaultArn is the vault in the stack's region.
	VaultArn pulumi.StringOutput `pulumi:"vaultArn"`
	// CopyVaultArn is the vault in the copy region ("" without a copy).
	CopyVaultArn pulumi.StringOutput `pulumi:"copyVaultArn"`
	// RoleArn is the role AWS Backup backs up and restores with.
	RoleArn pulumi.StringOutput `pulumi:"roleArn"`
}

// Recovery point completion windows: a database snapshot takes minutes; the first backup of a
// bucket of camera originals is a full copy and may take days (AWS Backup cancels jobs that
// outlast their window).
const (
	startWindowMinutes         = 60
	databaseCompletionMinutes  = 24 * 60
	mediaCompletionMinutes     = 7 * 24 * 60
	maxContinuousRetentionDays = 35
)

// New creates the backups.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Backup, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("backup %s: %w", name, err)
	}
	b := &Backup{}
	if err := ctx.RegisterComponentResource("cinegit:backup:Backup", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	env := args.Env

	vault, err := newVault(ctx, name, env, args, parent)
	if err != nil {
		return nil, err
	}
	b.VaultArn = vault.Arn
	b.CopyVaultArn = pulumi.String("").ToStringOutput()
	var copyActions awsbackup.PlanRuleCopyActionArray
	if args.Copy != nil {
		// The copy vault has a key in its own region: AWS Backup re-encrypts KMS-encrypted RDS
		// snapshots (and S3 recovery points) with the destination vault's key when it copies
		// them across regions ("Creating backup copies across AWS Regions", AWS Backup
		// Developer Guide).
		copyEnv := env
		copyEnv.Region = args.Copy.Region
		copyVault, err := newVault(ctx, name+"-copy", copyEnv, args, parent, pulumi.Provider(args.Copy.Provider))
		if err != nil {
			return nil, err
		}
		b.CopyVaultArn = copyVault.Arn
		copyActions = awsbackup.PlanRuleCopyActionArray{awsbackup.PlanRuleCopyActionArgs{
			DestinationVaultArn: copyVault.Arn,
			Lifecycle:           awsbackup.PlanRuleCopyActionLifecycleArgs{DeleteAfter: pulumi.Int(args.Copy.RetentionDays)},
		}}
	}

	role, attachments, err := serviceRole(ctx, name, env, parent)
	if err != nil {
		return nil, err
	}
	b.RoleArn = role.Arn

	daily := func(completion int) awsbackup.PlanRuleArgs {
		return awsbackup.PlanRuleArgs{
			RuleName:          pulumi.String("daily"),
			TargetVaultName:   vault.Name,
			Schedule:          pulumi.String(args.Schedule),
			StartWindow:       pulumi.Int(startWindowMinutes),
			CompletionWindow:  pulumi.Int(completion),
			Lifecycle:         awsbackup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(args.RetentionDays)},
			CopyActions:       copyActions,
			RecoveryPointTags: env.Tags.Map(),
		}
	}
	type plan struct {
		store    string
		rules    awsbackup.PlanRuleArray
		resource pulumi.StringInput
	}
	plans := []plan{{"database", awsbackup.PlanRuleArray{daily(databaseCompletionMinutes)}, args.DatabaseArn}}
	if args.ContinuousDatabaseRetentionDays > 0 {
		// Continuous backup in a plan of its own: AWS Backup runs only the longer-retained
		// of two rules of one plan whose start windows overlap ("Backup plan options and
		// configuration", AWS Backup Developer Guide), which would drop either the daily
		// snapshot (and its copy) or the continuous backup. It needs a schedule too, which AWS
		// Backup uses for maintenance; its recovery point is a moving window, restored to any
		// second of it.
		plans = append(plans, plan{"database-pitr", awsbackup.PlanRuleArray{awsbackup.PlanRuleArgs{
			RuleName:               pulumi.String("continuous"),
			TargetVaultName:        vault.Name,
			Schedule:               pulumi.String(args.Schedule),
			StartWindow:            pulumi.Int(startWindowMinutes),
			CompletionWindow:       pulumi.Int(databaseCompletionMinutes),
			EnableContinuousBackup: pulumi.Bool(true),
			Lifecycle:              awsbackup.PlanRuleLifecycleArgs{DeleteAfter: pulumi.Int(args.ContinuousDatabaseRetentionDays)},
			RecoveryPointTags:      env.Tags.Map(),
		}}, args.DatabaseArn})
	}
	plans = append(plans, plan{"media", awsbackup.PlanRuleArray{daily(mediaCompletionMinutes)}, args.MediaBucketArn})

	for _, p := range plans {
		planName := env.Naming.Name("backup", p.store)
		plan, err := awsbackup.NewPlan(ctx, name+"-"+p.store, &awsbackup.PlanArgs{
			Name:  pulumi.String(planName),
			Rules: p.rules,
			Tags:  env.Tags.Named(planName).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
		// AWS Backup checks the role's permissions when it starts a job, not when the
		// selection is made; the policies still come first so that the first job can run.
		if _, err := awsbackup.NewSelection(ctx, name+"-"+p.store, &awsbackup.SelectionArgs{
			Name:       pulumi.String(planName),
			PlanId:     plan.ID(),
			IamRoleArn: role.Arn,
			Resources:  pulumi.StringArray{p.resource},
		}, parent, pulumi.DependsOn(attachments)); err != nil {
			return nil, err
		}
	}

	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{
		"vaultArn":     b.VaultArn,
		"copyVaultArn": b.CopyVaultArn,
		"roleArn":      b.RoleArn,
	})
}

func (a Args) check() error {
	switch {
	case a.DatabaseArn == nil || a.MediaBucketArn == nil:
		return fmt.Errorf("DatabaseArn and MediaBucketArn are required")
	case a.Schedule == "":
		return fmt.Errorf("a Schedule is required")
	case a.RetentionDays < 1:
		return fmt.Errorf("RetentionDays must be at least 1")
	case a.ContinuousDatabaseRetentionDays < 0 || a.ContinuousDatabaseRetentionDays > maxContinuousRetentionDays:
		return fmt.Errorf("ContinuousDatabaseRetentionDays must be 0 (off) to %d (AWS Backup's limit)", maxContinuousRetentionDays)
	case a.Copy != nil && (a.Copy.Provider == nil || a.Copy.Region == "" || a.Copy.RetentionDays < 1):
		return fmt.Errorf("Copy needs a Provider, a Region and RetentionDays")
	case a.Copy != nil && a.Copy.Region == a.Env.Region:
		return fmt.Errorf("Copy.Region must differ from the stack's region %s", a.Env.Region)
	case a.VaultLock != nil && a.VaultLock.MinRetentionDays < 1:
		return fmt.Errorf("VaultLock.MinRetentionDays must be at least 1")
	case a.VaultLock != nil && a.VaultLock.Compliance && a.VaultLock.ChangeableForDays < 3:
		return fmt.Errorf("a compliance VaultLock needs ChangeableForDays of at least 3")
	}
	return nil
}

// newVault makes a vault with its own key (in env's region) and its lock.
func newVault(ctx *pulumi.Context, name string, env stackenv.Env, args Args, opts ...pulumi.ResourceOption) (*awsbackup.Vault, error) {
	vaultName := env.Naming.Name("backup")
	keyOpts := append([]pulumi.ResourceOption{pulumi.Protect(args.Protect)}, opts...)
	key, err := kmskey.New(ctx, name+"-vault", kmskey.Args{
		Env:         env,
		Description: "CineGit " + env.Naming.Stack + " AWS Backup vault in " + env.Region,
		Alias:       env.Naming.Name("backup"),
	}, keyOpts...)
	if err != nil {
		return nil, err
	}
	vault, err := awsbackup.NewVault(ctx, name, &awsbackup.VaultArgs{
		Name:         pulumi.String(vaultName),
		KmsKeyArn:    key.Arn(),
		ForceDestroy: pulumi.Bool(args.ForceDestroy),
		Tags:         env.Tags.Named(vaultName).Map(),
	}, keyOpts...)
	if err != nil {
		return nil, err
	}
	if l := args.VaultLock; l != nil {
		lock := &awsbackup.VaultLockConfigurationArgs{
			BackupVaultName:  vault.Name,
			MinRetentionDays: pulumi.Int(l.MinRetentionDays),
		}
		if l.MaxRetentionDays > 0 {
			lock.MaxRetentionDays = pulumi.Int(l.MaxRetentionDays)
		}
		// Without ChangeableForDays the lock is in governance mode; with it, compliance mode,
		// immutable once the grace time ends ("AWS Backup Vault Lock", AWS Backup Developer Guide).
		if l.Compliance {
			lock.ChangeableForDays = pulumi.Int(l.ChangeableForDays)
		}
		if _, err := awsbackup.NewVaultLockConfiguration(ctx, name, lock, keyOpts...); err != nil {
			return nil, err
		}
	}
	return vault, nil
}

// serviceRole is the role AWS Backup assumes for this account's jobs, with the managed
// policies for backup and restore. The media key's policy delegates to IAM, so the S3 backup
// policy's kms:Decrypt (through S3 only) reaches it without a key policy change.
func serviceRole(ctx *pulumi.Context, name string, env stackenv.Env, opts ...pulumi.ResourceOption) (*iam.Role, []pulumi.Resource, error) {
	roleName := env.Naming.NameMax(64, "backup")
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String("AWS Backup for CineGit " + env.Naming.Stack + ": backs up and restores PostgreSQL and the media bucket"),
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"backup.amazonaws.com"}, env.AccountID),
		Tags:             env.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	var attachments []pulumi.Resource
	for _, policy := range ServiceRolePolicies {
		att, err := iam.NewRolePolicyAttachment(ctx, name+"-"+path.Base(policy), &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", env.Partition, policy)),
		}, opts...)
		if err != nil {
			return nil, nil, err
		}
		attachments = append(attachments, att)
	}
	return role, attachments, nil
}
