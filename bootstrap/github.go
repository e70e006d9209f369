package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials asks for.
const (
	githubIssuerHost = "token.actions.githubusercontent.com"
	stsAudience      = "sts.amazonaws.com"
)

// gitHubOIDCProvider returns the ARN of the GitHub OIDC provider: the existing one when its
// ARN is configured, otherwise one created here.
func gitHubOIDCProvider(ctx *pulumi.Context, existingArn string, t tags.Set, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if existingArn != "" {
		return pulumi.String(existingArn).ToStringOutput(), nil
	}
	p, err := newGitHubOIDCProvider(ctx, t, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return p.Arn, nil
}

// newGitHubOIDCProvider lets GitHub Actions exchange its OIDC tokens for AWS credentials. AWS
// validates GitHub's certificate against its own trusted CAs, so no thumbprint is pinned.
func newGitHubOIDCProvider(ctx *pulumi.Context, t tags.Set, opts ...pulumi.ResourceOption) (*iam.OpenIdConnectProvider, error) {
	p, err := iam.NewOpenIdConnectProvider(ctx, "github-actions", &iam.OpenIdConnectProviderArgs{
		Url:           pulumi.String("https://" + githubIssuerHost),
		ClientIdLists: pulumi.ToStringArray([]string{stsAudience}),
		Tags:          t.Named(githubIssuerHost).Map(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("github oidc provider: %w", err)
	}
	return p, nil
}

// githubTrustPolicy lets exactly the given OIDC subjects assume a role: StringEquals on both
// the audience and the subject, never StringLike, so no other repository, branch or
// environment matches.
func githubTrustPolicy(providerArn pulumi.StringInput, subjects []string) pulumi.StringOutput {
	return iampolicy.Document(iampolicy.Statement{
		Sid:        "GitHubActionsOIDC",
		Effect:     "Allow",
		Actions:    []string{"sts:AssumeRoleWithWebIdentity"},
		Principals: []iampolicy.Principal{{Type: "Federated", Identifiers: pulumi.StringArray{providerArn}}},
		Conditions: []iampolicy.Condition{
			{Test: "StringEquals", Variable: githubIssuerHost + ":aud", Values: iampolicy.Strings(stsAudience)},
			{Test: "StringEquals", Variable: githubIssuerHost + ":sub", Values: iampolicy.Strings(subjects...)},
		},
	})
}

// ciRoleArgs describe one role GitHub Actions assumes.
type ciRoleArgs struct {
	Name        string
	Description string
	ProviderArn pulumi.StringInput
	Subjects    []string
	// ManagedPolicy is the AWS managed policy attached to the role (by name).
	ManagedPolicy string
	// Inline is the role's inline policy, if any.
	Inline          pulumi.StringInput
	InlineName      string
	MaxSessionHours int
	Partition       string
	Tags            tags.Set
}

// ciRole is a role, its managed policy attachment and its inline policy.
type ciRole struct {
	Role       *iam.Role
	Attachment *iam.RolePolicyAttachment
	Inline     *iam.RolePolicy
}

func newCIRole(ctx *pulumi.Context, name string, args ciRoleArgs, opts ...pulumi.ResourceOption) (*ciRole, error) {
	r := &ciRole{}
	var err error
	r.Role, err = iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:               pulumi.String(args.Name),
		Description:        pulumi.String(args.Description),
		AssumeRolePolicy:   githubTrustPolicy(args.ProviderArn, args.Subjects),
		MaxSessionDuration: pulumi.Int(args.MaxSessionHours * 3600),
		Tags:               args.Tags.Named(args.Name).Map(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", args.Name, err)
	}
	r.Attachment, err = iam.NewRolePolicyAttachment(ctx, name, &iam.RolePolicyAttachmentArgs{
		Role:      r.Role.Name,
		PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", args.Partition, args.ManagedPolicy)),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("role %s: %s: %w", args.Name, args.ManagedPolicy, err)
	}
	if args.Inline != nil {
		r.Inline, err = iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
			Name:   pulumi.String(args.InlineName),
			Role:   r.Role.Name,
			Policy: args.Inline,
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("role %s: inline policy: %w", args.Name, err)
		}
	}
	return r, nil
}

// previewPolicy is what `pulumi preview` needs beyond ReadOnlyAccess: read the state, take
// and release the stack lock (the S3 backend writes lock objects under .pulumi/locks/), use
// the state key only through S3, and decrypt the stacks' secrets.
func previewPolicy(region string, bucketArn, stateKeyArn, secretsKeyArn pulumi.StringInput) pulumi.StringOutput {
	return iampolicy.Document(
		iampolicy.Allow("ListStateBucket",
			[]string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"},
			pulumi.StringArray{bucketArn}),
		iampolicy.Allow("ReadState",
			[]string{"s3:GetObject"},
			pulumi.StringArray{pulumi.Sprintf("%s/*", bucketArn)}),
		iampolicy.Allow("WriteStackLocks",
			[]string{"s3:PutObject", "s3:DeleteObject"},
			pulumi.StringArray{pulumi.Sprintf("%s/.pulumi/locks/*", bucketArn)}),
		iampolicy.Statement{
			Sid:       "StateKeyThroughS3Only",
			Actions:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
			Resources: pulumi.StringArray{stateKeyArn},
			Conditions: []iampolicy.Condition{{
				Test: "StringEquals", Variable: "kms:ViaService", Values: iampolicy.Strings(fmt.Sprintf("s3.%s.amazonaws.com", region)),
			}},
		},
		iampolicy.Allow("StackSecrets",
			[]string{"kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"},
			pulumi.StringArray{secretsKeyArn}),
	)
}

// bootstrapResources are the ARNs the deploy role must not change.
type bootstrapResources struct {
	BucketArn   pulumi.StringInput
	KeyArns     pulumi.StringArray
	AliasArns   pulumi.StringArray
	RoleArns    pulumi.StringArray
	ProviderArn pulumi.StringInput
}

// deployGuardPolicy narrows AdministratorAccess: the deploy role cannot loosen, delete or
// rewrite the bootstrap's own resources (the state bucket's settings and history, the keys,
// the CI roles and the OIDC provider). It stops accidents and a compromised workflow from
// quietly widening its own trust; it is not a boundary against a determined administrator,
// which the role still is.
func deployGuardPolicy(r bootstrapResources) pulumi.StringOutput {
	deny := func(sid string, actions []string, resources pulumi.StringArrayInput) iampolicy.Statement {
		return iampolicy.Statement{Sid: sid, Effect: "Deny", Actions: actions, Resources: resources}
	}
	return iampolicy.Document(
		deny("KeepStateBucketSettings", []string{
			"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
			"s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock",
			"s3:PutBucketOwnershipControls", "s3:PutBucketAcl", "s3:PutBucketObjectLockConfiguration",
		}, pulumi.StringArray{r.BucketArn}),
		deny("KeepStateHistory", []string{"s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
			pulumi.StringArray{pulumi.Sprintf("%s/*", r.BucketArn)}),
		deny("KeepKeys", []string{
			"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy",
			"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias",
		}, append(append(pulumi.StringArray{}, r.KeyArns...), r.AliasArns...)),
		deny("KeepCIRoles", []string{
			"iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy",
			"iam:DeleteRolePolicy", "iam:DeleteRole", "iam:UpdateRole", "iam:PutRolePermissionsBoundary",
			"iam:DeleteRolePermissionsBoundary",
		}, r.RoleArns),
		deny("KeepGitHubOIDCProvider", []string{
			"iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
			"iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
		}, pulumi.StringArray{r.ProviderArn}),
	)
}

// newGuard attaches deployGuardPolicy to the deploy role.
func newGuard(ctx *pulumi.Context, deploy *ciRole, r bootstrapResources, opts ...pulumi.ResourceOption) (*iam.RolePolicy, error) {
	p, err := iam.NewRolePolicy(ctx, "deploy-guard", &iam.RolePolicyArgs{
		Name:   pulumi.String("keep-bootstrap-resources"),
		Role:   deploy.Role.Name,
		Policy: deployGuardPolicy(r),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("deploy role guard: %w", err)
	}
	return p, nil
}
