// Package kmskey creates CineGit's customer-managed KMS keys: rotation on, an alias, and a key
// policy that keeps the account in control and lets named AWS services use the key only on
// this account's behalf.
package kmskey

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args describe one key.
type Args struct {
	// Description says what the key protects.
	Description string
	// Alias is the key's alias without the "alias/" prefix, e.g. "cinegit-dev-rds".
	Alias string
	// Env locates the key (account, partition, region) and tags it.
	Env stackenv.Env
	// AllowCloudWatchLogs lets CloudWatch Logs encrypt this account's log groups with the key.
	AllowCloudWatchLogs bool
	// Statements are further key policy statements (e.g. a service principal limited by
	// aws:SourceArn).
	Statements []iampolicy.Statement
	// DeletionWindowDays is the waiting period before deletion (7-30); default 30.
	DeletionWindowDays int
	// Signing makes an asymmetric ECC_NIST_P256 signing key (SIGN_VERIFY), the kind Route 53
	// DNSSEC needs. KMS cannot rotate asymmetric keys automatically, so rotation is off for it
	// (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
	Signing bool
}

// Key is a created key and its alias.
type Key struct {
	Key   *kms.Key
	Alias *kms.Alias
}

// Arn is the key's ARN.
func (k *Key) Arn() pulumi.StringOutput { return k.Key.Arn }

// New creates the key and its alias. Pass pulumi.Parent(component) in opts.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Key, error) {
	window := args.DeletionWindowDays
	if window == 0 {
		window = 30
	}
	keyArgs := &kms.KeyArgs{
		Description:          pulumi.String(args.Description),
		EnableKeyRotation:    pulumi.Bool(true),
		RotationPeriodInDays: pulumi.Int(365),
		DeletionWindowInDays: pulumi.Int(window),
		Policy:               Policy(args),
		Tags:                 args.Env.Tags.Named(args.Alias).Map(),
	}
	if args.Signing {
		keyArgs.CustomerMasterKeySpec = pulumi.String("ECC_NIST_P256")
		keyArgs.KeyUsage = pulumi.String("SIGN_VERIFY")
		keyArgs.EnableKeyRotation, keyArgs.RotationPeriodInDays = pulumi.Bool(false), nil
	}
	key, err := kms.NewKey(ctx, name, keyArgs, opts...)
	if err != nil {
		return nil, fmt.Errorf("kms key %s: %w", name, err)
	}
	alias, err := kms.NewAlias(ctx, name, &kms.AliasArgs{
		Name:        pulumi.String("alias/" + args.Alias),
		TargetKeyId: key.KeyId,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("kms alias %s: %w", name, err)
	}
	return &Key{Key: key, Alias: alias}, nil
}

// Policy is the key policy: the account administers the key through IAM (AWS's default
// statement, which keeps the key manageable), plus the service statements asked for.
func Policy(args Args) pulumi.StringOutput {
	env := args.Env
	root := fmt.Sprintf("arn:%s:iam::%s:root", env.Partition, env.AccountID)
	stmts := []iampolicy.Statement{{
		Sid:        "AccountAdministersKeyThroughIAM",
		Actions:    []string{"kms:*"},
		Resources:  iampolicy.Strings("*"),
		Principals: []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings(root)}},
	}}
	if args.AllowCloudWatchLogs {
		stmts = append(stmts, iampolicy.Statement{
			Sid:        "CloudWatchLogsEncryptsThisAccountsLogGroups",
			Actions:    []string{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
			Resources:  iampolicy.Strings("*"),
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings(fmt.Sprintf("logs.%s.amazonaws.com", env.Region))}},
			Conditions: []iampolicy.Condition{{
				Test:     "ArnLike",
				Variable: "kms:EncryptionContext:aws:logs:arn",
				Values:   iampolicy.Strings(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:*", env.Partition, env.Region, env.AccountID)),
			}},
		})
	}
	return iampolicy.Document(append(stmts, args.Statements...)...)
}
