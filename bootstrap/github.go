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

// githubTrustPolicy lets exactly the given OIDC subjects assume a role: StringEquals on the
// audience, and on the subject too unless like is set, for pull requests, whose subject
// carries their number (the patterns' only wildcard, see pullRequestRef).
func githubTrustPolicy(providerArn pulumi.StringInput, subjects []string, like bool) pulumi.StringOutput {
	subjectTest := "StringEquals"
	if like {
		subjectTest = "StringLike"
	}
	return iampolicy.Document(iampolicy.Statement{
		Sid:        "GitHubActionsOIDC",
		Effect:     "Allow",
		Actions:    []string{"sts:AssumeRoleWithWebIdentity"},
		Principals: []iampolicy.Principal{{Type: "Federated", Identifiers: pulumi.StringArray{providerArn}}},
		Conditions: []iampolicy.Condition{
			{Test: "StringEquals", Variable: githubIssuerHost + ":aud", Values: iampolicy.Strings(stsAudience)},
			{Test: subjectTest, Variable: githubIssuerHost + ":sub", Values: iampolicy.Strings(subjects...)},
		},
	})
}

// ciRoleArgs describe one role GitHub Actions assumes.
type ciRoleArgs struct {
	Name        string
	Description string
	ProviderArn pulumi.StringInput
	Subjects    []string
	// SubjectsLike matches Subjects with StringLike (pull-request patterns).
	SubjectsLike bool
	// ManagedPolicy is an AWS managed policy attached to the role (by name), if any.
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
		AssumeRolePolicy:   githubTrustPolicy(args.ProviderArn, args.Subjects, args.SubjectsLike),
		MaxSessionDuration: pulumi.Int(args.MaxSessionHours * 3600),
		Tags:               args.Tags.Named(args.Name).Map(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", args.Name, err)
	}
	if args.ManagedPolicy != "" {
		r.Attachment, err = iam.NewRolePolicyAttachment(ctx, name, &iam.RolePolicyAttachmentArgs{
			Role:      r.Role.Name,
			PolicyArn: pulumi.String(fmt.Sprintf("arn:%s:iam::aws:policy/%s", args.Partition, args.ManagedPolicy)),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("role %s: %s: %w", args.Name, args.ManagedPolicy, err)
		}
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

// previewStatements are what `pulumi preview` needs beyond ReadOnlyAccess: read the state,
// take and release the stack lock (the S3 backend writes lock objects under .pulumi/locks/),
// use the state key only through S3, and decrypt the stacks' secrets.
func previewStatements(region string, bucketArn, stateKeyArn, secretsKeyArn pulumi.StringInput) []iampolicy.Statement {
	return []iampolicy.Statement{
		iampolicy.Allow("ListStateBucket",
			[]string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"},
			pulumi.StringArray{bucketArn}),
		iampolicy.Allow("ReadState",
			[]string{"s3:GetObject"},
			pulumi.StringArray{pulumi.Sprintf("%s/*", bucketArn)}),
		iampolicy.Allow("WriteStackLocks",
			[]string{"s3:PutObject", "s3:DeleteObject"},
			pulumi.StringArray{pulumi.Sprintf("%s/.pulumi/locks/*", bucketArn)}),
		{
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
	}
}

// bootstrapResources are the ARNs the deploy runner must not change.
type bootstrapResources struct {
	// BucketArns are the state and runner source buckets; StateArns the state buckets (the
	// primary's and the recovery region's), whose history is kept too.
	BucketArns  pulumi.StringArray
	StateArns   pulumi.StringArray
	KeyArns     pulumi.StringArray
	AliasArns   pulumi.StringArray
	RoleArns    pulumi.StringArray
	ProjectArns pulumi.StringArray
	ProviderArn pulumi.StringInput
}

// deployGuardPolicy narrows AdministratorAccess: the deploy runner cannot loosen, delete or
// rewrite the bootstrap's own resources (the buckets' settings, the state's history, the keys,
// the CI and runner roles, the runner projects and the OIDC provider). It stops accidents and a compromised workflow from
// quietly widening its own trust; it is not a boundary against a determined administrator,
// which the role still is.
func deployGuardPolicy(r bootstrapResources) pulumi.StringOutput {
	deny := func(sid string, actions []string, resources pulumi.StringArrayInput) iampolicy.Statement {
		return iampolicy.Statement{Sid: sid, Effect: "Deny", Actions: actions, Resources: resources}
	}
	var history pulumi.StringArray
	for _, arn := range r.StateArns {
		history = append(history, pulumi.Sprintf("%s/*", arn))
	}
	return iampolicy.Document(
		deny("KeepStateBucketSettings", []string{
			"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
			"s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock",
			"s3:PutBucketOwnershipControls", "s3:PutBucketAcl", "s3:PutBucketObjectLockConfiguration",
			// Copies of the state elsewhere: replication and inventory reports.
			"s3:PutReplicationConfiguration", "s3:PutInventoryConfiguration",
		}, r.BucketArns),
		deny("KeepStateHistory", []string{"s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"},
			history),
		deny("KeepKeys", []string{
			"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy",
			"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias",
			// A grant is a lasting permission to decrypt for a principal of the grantor's choice.
			"kms:CreateGrant",
		}, append(append(pulumi.StringArray{}, r.KeyArns...), r.AliasArns...)),
		deny("KeepCIRoles", []string{
			"iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy",
			"iam:DeleteRolePolicy", "iam:DeleteRole", "iam:UpdateRole", "iam:PutRolePermissionsBoundary",
			"iam:DeleteRolePermissionsBoundary",
		}, r.RoleArns),
		// A deploy must not rewrite the projects it runs in (their role, image, network or
		// buildspec) for the next build.
		deny("KeepRunnerProjects", []string{
			"codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:UpdateProjectVisibility",
			"codebuild:PutResourcePolicy", "codebuild:DeleteResourcePolicy",
		}, r.ProjectArns),
		// Nothing a stack builds needs an IAM user, and long-lived keys or a console password
		// would outlive every session and approval.
		deny("NoIAMUsersOrKeys", []string{
			"iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
			"iam:CreateServiceSpecificCredential", "iam:UploadSSHPublicKey", "iam:UploadSigningCertificate",
		}, iampolicy.Strings("*")),
		deny("KeepGitHubOIDCProvider", []string{
			"iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
			"iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
		}, pulumi.StringArray{r.ProviderArn}),
	)
}

// newGuard attaches deployGuardPolicy to an administrator runner's role (the deploy runner's,
// and the recovery runner's as "recover-guard").
func newGuard(ctx *pulumi.Context, name string, deploy *iam.Role, r bootstrapResources, opts ...pulumi.ResourceOption) (*iam.RolePolicy, error) {
	p, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Name:   pulumi.String("keep-bootstrap-resources"),
		Role:   deploy.Name,
		Policy: deployGuardPolicy(r),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("deploy role guard: %w", err)
	}
	return p, nil
}
