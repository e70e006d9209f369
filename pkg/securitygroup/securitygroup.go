// Package securitygroup makes the security groups of CineGit's data services: one port, open
// only to named security groups, no egress.
package securitygroup

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args describe a service's security group.
type Args struct {
	Env stackenv.Env
	// VpcID is the VPC the group belongs to.
	VpcID pulumi.StringInput
	// Service names the service in descriptions, e.g. "PostgreSQL".
	Service string
	// NamePart names the group, e.g. "postgres" for cinegit-<stack>-postgres-<suffix>.
	NamePart string
	// Port is the one TCP port admitted.
	Port int
	// Allowed are the security groups admitted, one ingress rule each; nothing else is. Empty
	// (or nil) admits nothing at all.
	Allowed pulumi.StringArray
}

// NewServiceOnly creates the group and one ingress rule per allowed group.
//
// The group itself carries no inline rules, so it depends on the VPC only and the data store
// behind it starts with the network: the rules, which take the sources (the cluster's node
// security group, an output of the ~11-minute EKS cluster), are separate
// aws.vpc.SecurityGroupIngressRule resources created once both sides exist. The provider's
// docs make standalone rules the current practice and forbid mixing them with inline rules
// on the same group ("Doing so may cause rule conflicts, perpetual differences, and result in
// rules being overwritten", https://www.pulumi.com/registry/packages/aws/api-docs/vpc/securitygroupingressrule/).
// Without inline egress the group still has none: the provider removes the allow-all egress
// rule AWS adds to a new VPC group (https://www.pulumi.com/registry/packages/aws/api-docs/ec2/securitygroup/),
// and the service answers on connections it accepted (security groups are stateful).
//
// The name is a prefix, so that a replacement (a new description, say) can be created before
// the old group is deleted.
func NewServiceOnly(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*ec2.SecurityGroup, error) {
	env := args.Env
	groupName := env.Naming.Name(args.NamePart)
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		NamePrefix: pulumi.String(groupName + "-"),
		// The description changed with the move to standalone rules, and a description
		// forces a new group: an existing stack gets a fresh group (created before the old
		// one is deleted, the stores moving to it in place) instead of keeping the old
		// inline rule, which the provider would leave in place when the ingress argument
		// disappears and which would make the standalone rule a duplicate
		// (InvalidPermission.Duplicate).
		Description: pulumi.String(args.Service + " from CineGit workloads, by standalone rules"),
		VpcId:       args.VpcID,
		Tags:        env.Tags.Named(groupName).Map(),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("security group %s: %w", name, err)
	}
	// One rule per source, named by position: the list's length is known when the program
	// runs (its elements may be outputs), so the graph is the same in preview and update.
	for i, source := range args.Allowed {
		ruleName := fmt.Sprintf("%s-ingress-%d", name, i)
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, ruleName, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           sg.ID(),
			Description:               pulumi.String(args.Service + " from an allowed security group"),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(args.Port),
			ToPort:                    pulumi.Int(args.Port),
			ReferencedSecurityGroupId: source,
			Tags:                      env.Tags.Named(fmt.Sprintf("%s-ingress-%d", groupName, i)).Map(),
		}, opts...); err != nil {
			return nil, fmt.Errorf("security group %s: ingress rule %d: %w", name, i, err)
		}
	}
	return sg, nil
}
