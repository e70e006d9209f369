// The CineGit organization guardrails: service control policies that the stacks' accounts
// cannot lift, for accounts that belong to an AWS Organization.
//
// A separate Pulumi project (cinegit-organization) with local state, run once by an
// administrator of the organization's management account (or of a delegated administrator
// for Organizations policies). It creates one SCP and attaches it to each stack's account.
// Inside those accounts even an administrator, and so the deploy runner, may not: leave the
// organization; stop, delete or change CloudTrail; disable or silence GuardDuty; stop AWS
// Config; loosen or delete the Pulumi state bucket; work outside the allowed regions; or act as
// the root user. Only the roles named in exemptRoleNames (the administrators who run the
// bootstrap) are exempt, so the bootstrap can still create what the SCP protects. Where there
// is no organization, each account's bootstrap guards its deploy runner with deny policies
// instead (../guardrails.go, ../github.go). See ../README.md.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/organizations"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit-organization: the service control policy of CineGit's stack accounts.

Run it through the Pulumi CLI with credentials of the organization's management account:
  cd bootstrap/organization
  pulumi stack init organization
  pulumi up --stack organization
`

func main() {
	if os.Getenv(pulumi.EnvMonitor) == "" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	pulumi.Run(program)
}

// PolicyName is the SCP's name in the organization.
const PolicyName = "cinegit-stack-account-guardrails"

// MaxSCPBytes is the largest SCP document AWS accepts ("Quotas for AWS Organizations":
// maximum size of a service control policy document, 5,120 characters).
const MaxSCPBytes = 5120

func program(ctx *pulumi.Context) error {
	cfg, err := ConfigFromContext(ctx)
	if err != nil {
		return err
	}
	t := tags.Set(tags.Base("cinegit", "organization", nil))
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: t.Map()},
	})
	if err != nil {
		return err
	}
	opts := []pulumi.ResourceOption{pulumi.Provider(provider)}
	policy, err := organizations.NewPolicy(ctx, "guardrails", &organizations.PolicyArgs{
		Name:        pulumi.String(PolicyName),
		Description: pulumi.String("CineGit stack accounts: what no principal but the bootstrap's administrators may switch off"),
		Type:        pulumi.String("SERVICE_CONTROL_POLICY"),
		Content:     iampolicy.Document(guardrailStatements(cfg)...),
		Tags:        t.Named(PolicyName).Map(),
	}, opts...)
	if err != nil {
		return err
	}
	for _, stack := range sortedKeys(cfg.Accounts) {
		if _, err := organizations.NewPolicyAttachment(ctx, "guardrails-"+stack, &organizations.PolicyAttachmentArgs{
			PolicyId: policy.ID(),
			TargetId: pulumi.String(cfg.Accounts[stack]),
		}, opts...); err != nil {
			return err
		}
	}
	ctx.Export("policyId", policy.ID())
	return nil
}

// globalServices are the actions AWS serves from us-east-1 whatever region a stack uses (IAM,
// Organizations, STS's global endpoint, CloudFront, Route 53, billing and support; CloudFront's
// certificates and web ACL live in us-east-1, which is allowed): the region deny leaves them alone, as AWS's own example does
// ("Deny access to AWS based on the requested AWS Region", Organizations User Guide).
var globalServices = []string{
	"account:*", "budgets:*", "ce:*", "cloudfront:*", "cur:*", "globalaccelerator:*", "health:*", "iam:*",
	"organizations:*", "pricing:*", "route53:*", "route53domains:*", "s3:GetBucketLocation", "s3:ListAllMyBuckets",
	"shield:*", "sso:*", "sts:*", "support:*", "tag:*", "trustedadvisor:*", "waf:*",
}

// guardrailStatements are the SCP's statements. Every deny but the root user's spares the
// exempt administrator roles (aws:PrincipalArn, "AWS global condition context keys").
func guardrailStatements(cfg *Config) []iampolicy.Statement {
	exempt := iampolicy.Condition{Test: "ArnNotLike", Variable: "aws:PrincipalArn", Values: iampolicy.Strings(cfg.exemptRoleArns()...)}
	deny := func(sid string, actions []string, resources ...string) iampolicy.Statement {
		if len(resources) == 0 {
			resources = []string{"*"}
		}
		return iampolicy.Statement{Sid: sid, Effect: "Deny", Actions: actions, Resources: iampolicy.Strings(resources...), Conditions: []iampolicy.Condition{exempt}}
	}
	state := "arn:aws:s3:::" + cfg.StateBucketPrefix + "*"
	regions := deny("AllowedRegionsOnly", nil)
	regions.NotActions = globalServices
	regions.Conditions = append(regions.Conditions, iampolicy.Condition{Test: "StringNotEquals", Variable: "aws:RequestedRegion", Values: iampolicy.Strings(cfg.AllowedRegions...)})
	return []iampolicy.Statement{
		{Sid: "StayInTheOrganization", Effect: "Deny", Actions: []string{"organizations:LeaveOrganization"}, Resources: iampolicy.Strings("*")},
		deny("KeepCloudTrail", []string{"cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"}),
		deny("KeepGuardDuty", []string{
			"guardduty:DeleteDetector", "guardduty:UpdateDetector", "guardduty:DisassociateFromMasterAccount",
			"guardduty:DisassociateFromAdministratorAccount", "guardduty:CreateFilter", "guardduty:UpdateFilter",
			"guardduty:CreateIPSet", "guardduty:UpdateIPSet",
		}),
		deny("KeepConfig", []string{
			"config:StopConfigurationRecorder", "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel",
			"config:DeleteRetentionConfiguration",
		}),
		deny("KeepTheStateBucket", []string{
			"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
			"s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls",
			"s3:PutBucketAcl", "s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration",
		}, state),
		deny("KeepTheStateHistory", []string{"s3:DeleteObjectVersion"}, state+"/*"),
		regions,
		{
			Sid: "NoRootUser", Effect: "Deny", Actions: []string{"*"}, Resources: iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{{Test: "StringLike", Variable: "aws:PrincipalArn", Values: iampolicy.Strings("arn:aws:iam::*:root")}},
		},
	}
}
