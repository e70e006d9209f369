package main

import (
	"fmt"
	"math/big"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// RunnerVpcName is the Name tag of the deploy runner's VPC, and RunnerRouteTableTier the tier
// tag of its private route table: each stack looks both up (by name and CIDR) to peer with it.
// The main program's cinegit:deployRunner.vpcName defaults to the same value.
const (
	RunnerVpcName        = "cinegit-deploy-runner"
	RunnerRouteTableTier = "private"
)

// runnerNetworkArgs describe the account's deploy runner network.
type runnerNetworkArgs struct {
	CIDR string
	// AvailabilityZones are two zones for the private subnets; the NAT gateway is in the first.
	AvailabilityZones []string
	// LogsKeyArn encrypts the flow log group.
	LogsKeyArn           pulumi.StringInput
	FlowLogRetentionDays int
	Region               string
	AccountID            string
	Partition            string
	Tags                 tags.Set
	// FlowLogRoleName is the flow logs' IAM role (IAM names are global: a second runner
	// network in another region needs its own); "" is RunnerVpcName-flow-logs.
	FlowLogRoleName string
}

// runnerNetwork is the VPC the CodeBuild runners live in.
type runnerNetwork struct {
	Vpc              *ec2.Vpc
	PrivateSubnets   []*ec2.Subnet
	PrivateRoutes    *ec2.RouteTable
	SecurityGroup    *ec2.SecurityGroup
	FlowLogGroup     *cloudwatch.LogGroup
	PrivateSubnetIDs pulumi.StringArray
}

// runnerSubnets splits the runner CIDR into four equal quarters: the first holds the NAT
// gateway's public subnet, the next two the private subnets of the two AZs; the last is spare.
func runnerSubnets(cidr string) (public string, private [2]string, err error) {
	vpc, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", private, err
	}
	bits := vpc.Bits() + 2
	size := new(big.Int).Lsh(big.NewInt(1), uint(32-bits))
	base := new(big.Int).SetBytes(vpc.Addr().AsSlice())
	quarter := func(i int64) string {
		n := new(big.Int).Add(base, new(big.Int).Mul(size, big.NewInt(i)))
		b := n.FillBytes(make([]byte, 4))
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b)), bits).String()
	}
	return quarter(0), [2]string{quarter(1), quarter(2)}, nil
}

// newRunnerNetwork creates a small VPC: two private subnets for the CodeBuild runners' network
// interfaces, egress through one NAT gateway (GitHub, the Go module proxy, Pulumi's plugin
// downloads, Helm chart repositories and AWS APIs), an S3 gateway endpoint (sources, cache and
// state without NAT charges), flow logs, and a security group that only lets the runners out
// on HTTPS.
//
// The private route table has no inline routes: its default route is a separate ec2.Route, so
// that the routes each stack adds to it (to its own VPC through a peering connection) are
// never taken away by this project. The provider documents that a route table's inline routes
// and standalone Route resources must not be mixed ("NOTE on Route Tables and Routes",
// registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/route_table).
func newRunnerNetwork(ctx *pulumi.Context, name string, args runnerNetworkArgs, opts ...pulumi.ResourceOption) (*runnerNetwork, error) {
	public, private, err := runnerSubnets(args.CIDR)
	if err != nil {
		return nil, fmt.Errorf("runner network: %w", err)
	}
	t := args.Tags
	n := &runnerNetwork{}
	wrap := func(part string, err error) error { return fmt.Errorf("runner network: %s: %w", part, err) }

	n.Vpc, err = ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock: pulumi.String(args.CIDR),
		// The runners resolve the stacks' private EKS endpoints and AWS service names through
		// the Amazon-provided resolver.
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               t.Named(RunnerVpcName).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("vpc", err)
	}
	vpcID := n.Vpc.ID()
	// No rules: an interface that was given no security group reaches nothing.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpcID,
		Tags:  t.Named(RunnerVpcName + "-default-deny-all").Map(),
	}, opts...); err != nil {
		return nil, wrap("default security group", err)
	}
	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{
		VpcId: vpcID,
		Tags:  t.Named(RunnerVpcName).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("internet gateway", err)
	}

	publicSubnet, err := ec2.NewSubnet(ctx, name+"-public", &ec2.SubnetArgs{
		VpcId:               vpcID,
		CidrBlock:           pulumi.String(public),
		AvailabilityZone:    pulumi.String(args.AvailabilityZones[0]),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                t.Named(RunnerVpcName+"-public").With("tier", "public").Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("public subnet", err)
	}
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpcID,
		Tags:  t.Named(RunnerVpcName+"-public").With("tier", "public").Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("public route table", err)
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-default", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, opts...); err != nil {
		return nil, wrap("public default route", err)
	}
	if _, err := ec2.NewRouteTableAssociation(ctx, name+"-public", &ec2.RouteTableAssociationArgs{
		SubnetId: publicSubnet.ID(), RouteTableId: publicRT.ID(),
	}, opts...); err != nil {
		return nil, wrap("public association", err)
	}
	eip, err := ec2.NewEip(ctx, name+"-nat", &ec2.EipArgs{
		Domain: pulumi.String("vpc"),
		Tags:   t.Named(RunnerVpcName + "-nat").Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("nat address", err)
	}
	// One NAT gateway: a runner outage while its AZ is down delays a deploy, it does not stop
	// the product; a second gateway would double the network's fixed cost.
	nat, err := ec2.NewNatGateway(ctx, name, &ec2.NatGatewayArgs{
		AllocationId: eip.ID(),
		SubnetId:     publicSubnet.ID(),
		Tags:         t.Named(RunnerVpcName).Map(),
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{igw}))...)
	if err != nil {
		return nil, wrap("nat gateway", err)
	}

	n.PrivateRoutes, err = ec2.NewRouteTable(ctx, name+"-private", &ec2.RouteTableArgs{
		VpcId: vpcID,
		Tags:  t.Named(RunnerVpcName+"-private").With("tier", RunnerRouteTableTier).Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("private route table", err)
	}
	if _, err := ec2.NewRoute(ctx, name+"-private-default", &ec2.RouteArgs{
		RouteTableId:         n.PrivateRoutes.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		NatGatewayId:         nat.ID(),
	}, opts...); err != nil {
		return nil, wrap("private default route", err)
	}
	for i, cidr := range private {
		az := args.AvailabilityZones[i]
		sn, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-private-%s", name, az), &ec2.SubnetArgs{
			VpcId:               vpcID,
			CidrBlock:           pulumi.String(cidr),
			AvailabilityZone:    pulumi.String(az),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                t.Named(RunnerVpcName+"-private-"+az).With("tier", "private").Map(),
		}, opts...)
		if err != nil {
			return nil, wrap("private subnet", err)
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-private-%s", name, az), &ec2.RouteTableAssociationArgs{
			SubnetId: sn.ID(), RouteTableId: n.PrivateRoutes.ID(),
		}, opts...); err != nil {
			return nil, wrap("private association", err)
		}
		n.PrivateSubnets = append(n.PrivateSubnets, sn)
		n.PrivateSubnetIDs = append(n.PrivateSubnetIDs, sn.ID().ToStringOutput())
	}
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpcID,
		ServiceName:     pulumi.Sprintf("com.amazonaws.%s.s3", args.Region),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   pulumi.StringArray{n.PrivateRoutes.ID()},
		Tags:            t.Named(RunnerVpcName + "-s3").Map(),
	}, opts...); err != nil {
		return nil, wrap("s3 endpoint", err)
	}

	// The runners only open HTTPS connections: to the internet through NAT, to S3 through the
	// endpoint, and to the stacks' EKS API endpoints through the peering connections. DNS to
	// the Amazon-provided resolver is not filtered by security groups.
	n.SecurityGroup, err = ec2.NewSecurityGroup(ctx, name+"-runners", &ec2.SecurityGroupArgs{
		VpcId:       vpcID,
		Description: pulumi.String("CineGit deploy runners (CodeBuild): HTTPS out only"),
		Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("HTTPS: GitHub, Go proxy, Pulumi plugins, AWS APIs, EKS endpoints"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(443),
			ToPort:      pulumi.Int(443),
			CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		}},
		Tags: t.Named(RunnerVpcName + "-runners").Map(),
	}, opts...)
	if err != nil {
		return nil, wrap("security group", err)
	}

	n.FlowLogGroup, err = runnerFlowLogs(ctx, name, args, n.Vpc, opts...)
	if err != nil {
		return nil, wrap("flow logs", err)
	}
	return n, nil
}

// runnerFlowLogs records every flow of the runner VPC in a KMS-encrypted log group.
func runnerFlowLogs(ctx *pulumi.Context, name string, args runnerNetworkArgs, vpc *ec2.Vpc, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/cinegit/deploy-runner/flow-logs"),
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
		KmsKeyId:        args.LogsKeyArn,
		Tags:            args.Tags.Named(RunnerVpcName + "-flow-logs").Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	// The confused-deputy guard the VPC flow logs guide recommends: only this account's flow
	// logs may use the role.
	roleName := args.FlowLogRoleName
	if roleName == "" {
		roleName = RunnerVpcName + "-flow-logs"
	}
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		Name: pulumi.String(roleName),
		AssumeRolePolicy: iampolicy.Document(iampolicy.Statement{
			Actions:    []string{"sts:AssumeRole"},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("vpc-flow-logs.amazonaws.com")}},
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(args.AccountID)},
				{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(
					fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-flow-log/*", args.Partition, args.Region, args.AccountID))},
			},
		}),
		Tags: args.Tags.Named(roleName).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.Name,
		Policy: iampolicy.Document(iampolicy.Allow("DeliverFlowLogs",
			[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			pulumi.StringArray{group.Arn, pulumi.Sprintf("%s:*", group.Arn)})),
	}, opts...); err != nil {
		return nil, err
	}
	if _, err := ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.Arn,
		Tags:               args.Tags.Named(RunnerVpcName + "-flow-logs").Map(),
	}, opts...); err != nil {
		return nil, err
	}
	return group, nil
}
