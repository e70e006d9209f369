// Package securitygroup makes the security groups of CineGit's data services: one port, open
// only to named security groups, no egress.
package securitygroup

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
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
	// Allowed are the security groups admitted; nothing else is. A known-empty
	// pulumi.StringArray admits nothing at all.
	Allowed pulumi.StringArrayInput
}

// NewServiceOnly creates the group. It has no egress rules: the service answers on
// connections it accepted (security groups are stateful) and starts none of its own. The name
// is a prefix, so that a replacement (a new description, say) can be created before the old
// group is deleted.
func NewServiceOnly(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*ec2.SecurityGroup, error) {
	env := args.Env
	sgArgs := &ec2.SecurityGroupArgs{
		NamePrefix:  pulumi.String(env.Naming.Name(args.NamePart) + "-"),
		Description: pulumi.String(args.Service + " from CineGit workloads"),
		VpcId:       args.VpcID,
		Egress:      ec2.SecurityGroupEgressArray{},
		Tags:        env.Tags.Named(env.Naming.Name(args.NamePart)).Map(),
	}
	// Inline rules take the list as one input, so it may hold outputs (the cluster's node
	// security group) of any length. A known-empty list means no way in at all: AWS rejects
	// a rule with no source.
	if allowed, ok := args.Allowed.(pulumi.StringArray); args.Allowed != nil && (!ok || len(allowed) > 0) {
		sgArgs.Ingress = ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
			Description:    pulumi.String(args.Service + " from the allowed security groups"),
			Protocol:       pulumi.String("tcp"),
			FromPort:       pulumi.Int(args.Port),
			ToPort:         pulumi.Int(args.Port),
			SecurityGroups: args.Allowed,
		}}
	}
	sg, err := ec2.NewSecurityGroup(ctx, name, sgArgs, opts...)
	if err != nil {
		return nil, fmt.Errorf("security group %s: %w", name, err)
	}
	return sg, nil
}
