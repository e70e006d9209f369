// Package irsa makes IAM roles for Kubernetes service accounts (IRSA): roles that exactly one
// service account of one EKS cluster can assume, through the cluster's OIDC provider.
//
// Every in-cluster component of CineGit that calls AWS gets its credentials this way, never
// from the node role: nodes keep IMDSv2 with a hop limit of 1, so pods cannot borrow the
// node's identity.
package irsa

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Audience is the audience of the projected service account tokens that AWS STS accepts.
const Audience = "sts.amazonaws.com"

// Args describe one role.
type Args struct {
	Env stackenv.Env
	// OidcProviderArn is the ARN of the cluster's IAM OIDC provider.
	OidcProviderArn pulumi.StringInput
	// OidcIssuer is the cluster's issuer without the scheme:
	// "oidc.eks.<region>.amazonaws.com/id/<id>". It prefixes the condition keys.
	OidcIssuer pulumi.StringInput
	// Namespace and ServiceAccount name the one service account that may assume the role.
	Namespace      string
	ServiceAccount string
	// Policy is an inline policy document (JSON); may be nil when ManagedPolicyArns suffice.
	Policy pulumi.StringInput
	// ManagedPolicyArns are AWS managed policies to attach (full ARNs).
	ManagedPolicyArns []string
	// Description says what the role is for.
	Description string
	// Tags are extra tags on the role (e.g. the service it belongs to, which the policy pack
	// reads).
	Tags map[string]string
}

// dns1123Label is what Kubernetes accepts as a namespace name; service account names are
// DNS subdomains. Neither may contain the * and ? of IAM wildcards.
var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	managedPolicyArn = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]+$`)
)

func (a Args) check() error {
	switch {
	case a.OidcProviderArn == nil || a.OidcIssuer == nil:
		return fmt.Errorf("OidcProviderArn and OidcIssuer are required")
	case len(a.Namespace) > 63 || !dns1123Label.MatchString(a.Namespace):
		return fmt.Errorf("namespace %q is not a Kubernetes namespace name", a.Namespace)
	case len(a.ServiceAccount) > 253 || !dns1123Subdomain.MatchString(a.ServiceAccount):
		return fmt.Errorf("service account %q is not a Kubernetes service account name", a.ServiceAccount)
	case a.Policy == nil && len(a.ManagedPolicyArns) == 0:
		return fmt.Errorf("a role needs a Policy or ManagedPolicyArns")
	}
	for _, arn := range a.ManagedPolicyArns {
		if !managedPolicyArn.MatchString(arn) {
			return fmt.Errorf("managed policy %q is not an IAM policy ARN", arn)
		}
	}
	return nil
}

// Subject is the `sub` claim of a service account's token.
func Subject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// NewRole creates the role, its inline policy (a child named like the role) and its managed
// policy attachments. Pass pulumi.Parent(component) in opts; children share the opts.
func NewRole(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*iam.Role, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("irsa %s: %w", name, err)
	}
	env := args.Env
	// One role per service account: name it after the account, so the console shows whose it is.
	roleName := env.Naming.NameMax(64, "irsa", args.Namespace, args.ServiceAccount)
	description := args.Description
	if description == "" {
		description = "IRSA role of " + args.Namespace + "/" + args.ServiceAccount
	}
	roleTags := env.Tags.Named(roleName).With(
		"kubernetes-namespace", args.Namespace,
		"kubernetes-service-account", args.ServiceAccount,
	)
	for _, k := range slices.Sorted(maps.Keys(args.Tags)) {
		roleTags = roleTags.With(k, args.Tags[k])
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String(description),
		AssumeRolePolicy: TrustPolicy(args.OidcProviderArn, args.OidcIssuer, args.Namespace, args.ServiceAccount),
		Tags:             roleTags.Map(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("irsa %s: %w", name, err)
	}
	if args.Policy != nil {
		if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
			Role:   role.ID(),
			Policy: args.Policy,
		}, opts...); err != nil {
			return nil, fmt.Errorf("irsa %s: inline policy: %w", name, err)
		}
	}
	for _, arn := range args.ManagedPolicyArns {
		short := arn[strings.LastIndex(arn, "/")+1:]
		if _, err := iam.NewRolePolicyAttachment(ctx, name+"-"+short, &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: pulumi.String(arn),
		}, opts...); err != nil {
			return nil, fmt.Errorf("irsa %s: %s: %w", name, short, err)
		}
	}
	return role, nil
}

// TrustPolicy is the role's trust policy: sts:AssumeRoleWithWebIdentity from the cluster's
// OIDC provider, for tokens whose sub is exactly the service account and whose aud is exactly
// STS. StringEquals (never StringLike) so that no other account or audience matches.
//
// The condition keys start with the issuer, which is only known once the cluster exists, so
// the document is rendered here rather than with pkg/iampolicy (whose condition keys are
// plain strings). It also checks that the ARN is the issuer's provider: a mismatch would
// make a role nobody can assume.
func TrustPolicy(providerArn, issuer pulumi.StringInput, namespace, serviceAccount string) pulumi.StringOutput {
	return pulumi.All(providerArn, issuer).ApplyT(func(v []any) (string, error) {
		arn, iss := v[0].(string), strings.TrimPrefix(v[1].(string), "https://")
		if !strings.HasSuffix(arn, ":oidc-provider/"+iss) {
			return "", fmt.Errorf("irsa: OIDC provider %q is not the provider of issuer %q", arn, iss)
		}
		doc := trustDocument{
			Version: "2012-10-17",
			Statement: []trustStatement{{
				Sid:       "ServiceAccount",
				Effect:    "Allow",
				Principal: map[string]string{"Federated": arn},
				Action:    "sts:AssumeRoleWithWebIdentity",
				Condition: map[string]map[string]string{"StringEquals": {
					iss + ":sub": Subject(namespace, serviceAccount),
					iss + ":aud": Audience,
				}},
			}},
		}
		b, err := json.Marshal(doc)
		return string(b), err
	}).(pulumi.StringOutput)
}

// trustDocument is rendered with encoding/json, which sorts map keys: the same inputs always
// give the same text, so the role never shows a spurious diff.
type trustDocument struct {
	Version   string           `json:"Version"`
	Statement []trustStatement `json:"Statement"`
}

type trustStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Condition map[string]map[string]string `json:"Condition"`
}
