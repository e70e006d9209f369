// Package network is CineGit's VPC: public, private (workload) and isolated database subnets
// across availability zones, NAT, VPC endpoints and flow logs.
package network

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// Args configure the network.
type Args struct {
	Env stackenv.Env
	// CIDR is the VPC's IPv4 block.
	CIDR string
	// AvailabilityZones in order; subnet lists below are in the same order.
	AvailabilityZones []string
	// PublicSubnetCIDRs, PrivateSubnetCIDRs and DatabaseSubnetCIDRs: one per AZ.
	PublicSubnetCIDRs   []string
	PrivateSubnetCIDRs  []string
	DatabaseSubnetCIDRs []string
	// SingleNatGateway routes every AZ through one NAT gateway (cheap, not AZ-resilient).
	SingleNatGateway bool
	// FlowLogRetentionDays is the flow log group's retention.
	FlowLogRetentionDays int
	// InterfaceEndpoints are the interface endpoint services to create (e.g. "sts", "ecr.api").
	InterfaceEndpoints []string
	// ClusterName is the EKS cluster that discovers these subnets.
	ClusterName string
	// Protect Pulumi-protects the logs KMS key: deleting it makes the flow logs unreadable.
	Protect bool
	// Peer is a VPC of the same account and region to peer with (the deploy runner VPC), or
	// nil.
	Peer *Peer
}

// Peer is another VPC this one is peered with: both sides route each other's block through
// the peering connection. The private subnets (nodes and the EKS control plane's network
// interfaces) route to it; the public and database subnets do not.
type Peer struct {
	// Name is a short word for names and tags ("deploy-runner").
	Name string
	// VpcID and CIDR are the peer VPC's; CIDR must not overlap this VPC's.
	VpcID string
	CIDR  string
	// RouteTableIDs are the peer's route tables that get a route back to this VPC. They must
	// not use inline routes (this component adds separate ec2.Route resources to them).
	RouteTableIDs []string
}

// Network is the VPC component.
type Network struct {
	pulumi.ResourceState

	VpcID             pulumi.StringOutput      `pulumi:"vpcId"`
	VpcCidr           pulumi.StringOutput      `pulumi:"vpcCidr"`
	AvailabilityZones pulumi.StringArrayOutput `pulumi:"availabilityZones"`
	PublicSubnetIDs   pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs  pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	DatabaseSubnetIDs pulumi.StringArrayOutput `pulumi:"databaseSubnetIds"`
	// PeeringConnectionID is the peering connection with Args.Peer ("" without one). It
	// resolves only once the routes on both sides exist, so whatever must wait until the peer
	// can reach this VPC (a Kubernetes provider the peer's runners use) can take it as input.
	PeeringConnectionID  pulumi.StringOutput      `pulumi:"peeringConnectionId"`
	PublicRouteTableID   pulumi.StringOutput      `pulumi:"publicRouteTableId"`
	PrivateRouteTableIDs pulumi.StringArrayOutput `pulumi:"privateRouteTableIds"`
	DatabaseRouteTableID pulumi.StringOutput      `pulumi:"databaseRouteTableId"`
	// EndpointSecurityGroupID is "" when no interface endpoint is configured.
	EndpointSecurityGroupID pulumi.StringOutput `pulumi:"endpointSecurityGroupId"`
	FlowLogGroupName        pulumi.StringOutput `pulumi:"flowLogGroupName"`
	LogsKeyArn              pulumi.StringOutput `pulumi:"logsKeyArn"`
}

// tier is one row of subnets.
type tier struct {
	name  string
	cidrs []string
	tags  map[string]string
}

// New creates the network.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource("cinegit:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	env := args.Env
	t := env.Tags

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.CIDR),
		EnableDnsHostnames: pulumi.Bool(true), // interface endpoints and EKS need private DNS
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               t.Named(env.Naming.Name("vpc")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The default security group is what an ENI gets when nobody chose one: with no rules it
	// admits and emits nothing, so forgetting a group fails closed.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  t.Named(env.Naming.Name("default-deny-all")).Map(),
	}, parent); err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  t.Named(env.Naming.Name("igw")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}

	clusterTag := "kubernetes.io/cluster/" + args.ClusterName
	tiers := []tier{
		{"public", args.PublicSubnetCIDRs, map[string]string{"kubernetes.io/role/elb": "1", clusterTag: "shared", "tier": "public"}},
		{"private", args.PrivateSubnetCIDRs, map[string]string{"kubernetes.io/role/internal-elb": "1", clusterTag: "shared", "karpenter.sh/discovery": args.ClusterName, "tier": "private"}},
		{"database", args.DatabaseSubnetCIDRs, map[string]string{"tier": "database"}},
	}
	subnets := map[string][]*ec2.Subnet{}
	for _, tr := range tiers {
		for i, cidr := range tr.cidrs {
			az := args.AvailabilityZones[i]
			sn, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-%s-%s", name, tr.name, az), &ec2.SubnetArgs{
				VpcId:            vpc.ID(),
				CidrBlock:        pulumi.String(cidr),
				AvailabilityZone: pulumi.String(az),
				// No subnet hands out public IPs: public load balancers and NAT gateways get their
				// addresses from AWS (EIPs), and nothing else should be reachable from the internet.
				MapPublicIpOnLaunch: pulumi.Bool(false),
				Tags:                t.Named(env.Naming.Name(tr.name, az)).With(flatten(tr.tags)...).Map(),
			}, parent)
			if err != nil {
				return nil, err
			}
			subnets[tr.name] = append(subnets[tr.name], sn)
		}
	}

	// Public route table: the internet gateway.
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   t.Named(env.Naming.Name("public")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	if err := associate(ctx, name+"-public", subnets["public"], args.AvailabilityZones, func(int) *ec2.RouteTable { return publicRT }, parent); err != nil {
		return nil, err
	}

	// NAT gateways in the public subnets: one per AZ, or a single one in the first AZ.
	natCount := len(args.AvailabilityZones)
	if args.SingleNatGateway {
		natCount = 1
	}
	nats := make([]*ec2.NatGateway, natCount)
	for i := 0; i < natCount; i++ {
		az := args.AvailabilityZones[i]
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-nat-%s", name, az), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   t.Named(env.Naming.Name("nat", az)).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
		nats[i], err = ec2.NewNatGateway(ctx, fmt.Sprintf("%s-%s", name, az), &ec2.NatGatewayArgs{
			AllocationId: eip.AllocationId,
			SubnetId:     subnets["public"][i].ID(),
			Tags:         t.Named(env.Naming.Name("nat", az)).Map(),
			// A NAT gateway forwards through the internet gateway, which no input refers to:
			// AWS's guidance is to order them explicitly.
		}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
	}

	var peering *ec2.VpcPeeringConnection
	if p := args.Peer; p != nil {
		// Same account and region: the requester accepts it itself (autoAccept, provider docs
		// for aws_vpc_peering_connection).
		peering, err = ec2.NewVpcPeeringConnection(ctx, name+"-"+p.Name, &ec2.VpcPeeringConnectionArgs{
			VpcId:      vpc.ID(),
			PeerVpcId:  pulumi.String(p.VpcID),
			AutoAccept: pulumi.Bool(true),
			Tags:       t.Named(env.Naming.Name(p.Name)).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	// Private route tables: one per AZ, each through its own AZ's NAT (or the single one), and
	// to the peer through the peering connection.
	privateRTs := make([]*ec2.RouteTable, len(args.AvailabilityZones))
	for i, az := range args.AvailabilityZones {
		nat := nats[min(i, natCount-1)]
		routes := ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()}}
		if peering != nil {
			routes = append(routes, &ec2.RouteTableRouteArgs{CidrBlock: pulumi.String(args.Peer.CIDR), VpcPeeringConnectionId: peering.ID()})
		}
		privateRTs[i], err = ec2.NewRouteTable(ctx, fmt.Sprintf("%s-private-%s", name, az), &ec2.RouteTableArgs{
			VpcId:  vpc.ID(),
			Routes: routes,
			Tags:   t.Named(env.Naming.Name("private", az)).Map(),
		}, parent)
		if err != nil {
			return nil, err
		}
	}
	n.PeeringConnectionID = pulumi.String("").ToStringOutput()
	if peering != nil {
		// The way back: the peer's route tables send this VPC's block through the connection.
		ready := []any{peering.ID()}
		for _, rt := range privateRTs {
			ready = append(ready, rt.ID())
		}
		for i, rtID := range args.Peer.RouteTableIDs {
			route, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-%s-%d", name, args.Peer.Name, i), &ec2.RouteArgs{
				RouteTableId:           pulumi.String(rtID),
				DestinationCidrBlock:   pulumi.String(args.CIDR),
				VpcPeeringConnectionId: peering.ID(),
			}, parent)
			if err != nil {
				return nil, err
			}
			ready = append(ready, route.ID())
		}
		n.PeeringConnectionID = pulumi.All(ready...).ApplyT(func(v []any) string { return string(v[0].(pulumi.ID)) }).(pulumi.StringOutput)
	}
	if err := associate(ctx, name+"-private", subnets["private"], args.AvailabilityZones, func(i int) *ec2.RouteTable { return privateRTs[i] }, parent); err != nil {
		return nil, err
	}

	// Database route table: no route out of the VPC at all.
	databaseRT, err := ec2.NewRouteTable(ctx, name+"-database", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  t.Named(env.Naming.Name("database")).Map(),
	}, parent)
	if err != nil {
		return nil, err
	}
	if err := associate(ctx, name+"-database", subnets["database"], args.AvailabilityZones, func(int) *ec2.RouteTable { return databaseRT }, parent); err != nil {
		return nil, err
	}

	// S3 gateway endpoint: free, keeps media traffic (and the VPC Lambda's) off the NAT.
	rtIDs := pulumi.StringArray{}
	for _, rt := range privateRTs {
		rtIDs = append(rtIDs, rt.ID())
	}
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.Sprintf("com.amazonaws.%s.s3", env.Region),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   append(rtIDs, databaseRT.ID()),
		Policy:          S3EndpointPolicy(env),
		Tags:            t.Named(env.Naming.Name("s3")).Map(),
	}, parent); err != nil {
		return nil, err
	}

	endpointSG, err := interfaceEndpoints(ctx, name, args, vpc, subnets["private"], parent)
	if err != nil {
		return nil, err
	}
	logGroup, logsKey, err := flowLogs(ctx, name, args, vpc, parent)
	if err != nil {
		return nil, err
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.VpcCidr = vpc.CidrBlock
	n.AvailabilityZones = pulumi.ToStringArray(args.AvailabilityZones).ToStringArrayOutput()
	n.PublicSubnetIDs = ids(subnets["public"])
	n.PrivateSubnetIDs = ids(subnets["private"])
	n.DatabaseSubnetIDs = ids(subnets["database"])
	n.PublicRouteTableID = publicRT.ID().ToStringOutput()
	n.PrivateRouteTableIDs = rtIDs.ToStringArrayOutput()
	n.DatabaseRouteTableID = databaseRT.ID().ToStringOutput()
	n.EndpointSecurityGroupID = endpointSG
	n.FlowLogGroupName = logGroup.Name
	n.LogsKeyArn = logsKey.Arn()
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                   n.VpcID,
		"vpcCidr":                 n.VpcCidr,
		"availabilityZones":       n.AvailabilityZones,
		"publicSubnetIds":         n.PublicSubnetIDs,
		"privateSubnetIds":        n.PrivateSubnetIDs,
		"databaseSubnetIds":       n.DatabaseSubnetIDs,
		"peeringConnectionId":     n.PeeringConnectionID,
		"publicRouteTableId":      n.PublicRouteTableID,
		"privateRouteTableIds":    n.PrivateRouteTableIDs,
		"databaseRouteTableId":    n.DatabaseRouteTableID,
		"endpointSecurityGroupId": n.EndpointSecurityGroupID,
		"flowLogGroupName":        n.FlowLogGroupName,
		"logsKeyArn":              n.LogsKeyArn,
	})
}

func (a Args) check() error {
	n := len(a.AvailabilityZones)
	switch {
	case n < 2:
		return fmt.Errorf("need at least 2 availability zones, got %d", n)
	case len(a.PublicSubnetCIDRs) != n || len(a.PrivateSubnetCIDRs) != n || len(a.DatabaseSubnetCIDRs) != n:
		return fmt.Errorf("need one subnet CIDR per AZ and tier (%d AZs)", n)
	case a.ClusterName == "":
		return fmt.Errorf("ClusterName is required for subnet discovery tags")
	case a.Peer != nil && (a.Peer.Name == "" || a.Peer.VpcID == "" || a.Peer.CIDR == "" || len(a.Peer.RouteTableIDs) == 0):
		return fmt.Errorf("a peer needs a name, a VPC id, a CIDR and at least one route table")
	}
	if a.Peer != nil {
		peer, err1 := netip.ParsePrefix(a.Peer.CIDR)
		own, err2 := netip.ParsePrefix(a.CIDR)
		if err1 != nil || err2 != nil || peer.Overlaps(own) {
			return fmt.Errorf("peer CIDR %q must be a network that does not overlap %q", a.Peer.CIDR, a.CIDR)
		}
	}
	return nil
}

func associate(ctx *pulumi.Context, prefix string, subnets []*ec2.Subnet, azs []string, rt func(int) *ec2.RouteTable, opts ...pulumi.ResourceOption) error {
	for i, sn := range subnets {
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-%s", prefix, azs[i]), &ec2.RouteTableAssociationArgs{
			SubnetId:     sn.ID(),
			RouteTableId: rt(i).ID(),
		}, opts...); err != nil {
			return err
		}
	}
	return nil
}

// interfaceEndpoints creates the configured interface endpoints in the private subnets, behind
// a security group admitting HTTPS from inside the VPC only.
func interfaceEndpoints(ctx *pulumi.Context, name string, args Args, vpc *ec2.Vpc, private []*ec2.Subnet, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if len(args.InterfaceEndpoints) == 0 {
		return pulumi.String("").ToStringOutput(), nil
	}
	env := args.Env
	sg, err := ec2.NewSecurityGroup(ctx, name+"-endpoints", &ec2.SecurityGroupArgs{
		VpcId:       vpc.ID(),
		Description: pulumi.String("HTTPS from the VPC to interface endpoints"),
		Ingress: ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("HTTPS from inside the VPC"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(443),
			ToPort:      pulumi.Int(443),
			CidrBlocks:  pulumi.StringArray{vpc.CidrBlock},
		}},
		Tags: env.Tags.Named(env.Naming.Name("endpoints")).Map(),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	subnetIDs := pulumi.StringArray{}
	for _, sn := range private {
		subnetIDs = append(subnetIDs, sn.ID())
	}
	for _, svc := range args.InterfaceEndpoints {
		if _, err := ec2.NewVpcEndpoint(ctx, fmt.Sprintf("%s-%s", name, svc), &ec2.VpcEndpointArgs{
			VpcId:             vpc.ID(),
			ServiceName:       pulumi.Sprintf("com.amazonaws.%s.%s", env.Region, svc),
			VpcEndpointType:   pulumi.String("Interface"),
			PrivateDnsEnabled: pulumi.Bool(true),
			SubnetIds:         subnetIDs,
			SecurityGroupIds:  pulumi.StringArray{sg.ID()},
			Tags:              env.Tags.Named(env.Naming.Name(svc)).Map(),
		}, opts...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return sg.ID().ToStringOutput(), nil
}

// flowLogs sends every accepted and rejected flow to a KMS-encrypted log group, through a role
// that may write to that group only.
func flowLogs(ctx *pulumi.Context, name string, args Args, vpc *ec2.Vpc, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, *kmskey.Key, error) {
	env := args.Env
	key, err := kmskey.New(ctx, name+"-logs", kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " network logs (VPC flow logs)",
		Alias:               env.Naming.Name("network-logs"),
		AllowCloudWatchLogs: true,
	}, append(opts, pulumi.Protect(args.Protect))...)
	if err != nil {
		return nil, nil, err
	}
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(env.Naming.Path("vpc", "flow-logs")),
		RetentionInDays: pulumi.Int(args.FlowLogRetentionDays),
		KmsKeyId:        key.Arn(),
		Tags:            env.Tags.Named(env.Naming.Name("flow-logs")).Map(),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		Description:      pulumi.String("VPC flow logs delivery to CloudWatch Logs"),
		AssumeRolePolicy: iampolicy.AssumeRole([]string{"vpc-flow-logs.amazonaws.com"}, env.AccountID),
		Tags:             env.Tags.Named(env.Naming.Name("flow-logs")).Map(),
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: iampolicy.Document(iampolicy.Allow("WriteFlowLogs",
			[]string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			pulumi.StringArray{group.Arn, pulumi.Sprintf("%s:*", group.Arn)})),
	}, opts...); err != nil {
		return nil, nil, err
	}
	if _, err := ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:                  vpc.ID(),
		TrafficType:            pulumi.String("ALL"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(60),
		Tags:                   env.Tags.Named(env.Naming.Name("flow-logs")).Map(),
	}, opts...); err != nil {
		return nil, nil, err
	}
	return group, key, nil
}

func ids(subnets []*ec2.Subnet) pulumi.StringArrayOutput {
	out := pulumi.StringArray{}
	for _, s := range subnets {
		out = append(out, s.ID())
	}
	return out.ToStringArrayOutput()
}

func flatten(m map[string]string) []string {
	out := make([]string, 0, 2*len(m))
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

// S3EndpointPolicy admits, through the VPC's S3 gateway endpoint, only the account's own
// buckets ("Restrict access to buckets in a specific account": aws:ResourceAccount,
// https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html#edit-vpc-endpoint-policy-s3),
// plus the AWS-owned buckets the nodes read through it: ECR's image layers ("Minimum Amazon
// S3 bucket permissions for Amazon ECR",
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms),
// Amazon Linux 2023's package repositories (AL2023 user guide, "Package repository",
// al2023-repos-<region>-de612dc2) and the SSM Agent's ("SSM Agent communications with AWS
// managed S3 buckets",
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-minimum-s3-permissions.html).
// Everything else, another account's bucket included, is refused at the endpoint, so a stolen
// credential cannot copy media out through it.
func S3EndpointPolicy(env stackenv.Env) pulumi.StringOutput {
	awsOwned := []string{
		"prod-%s-starport-layer-bucket", "al2023-repos-%s-de612dc2",
		"aws-ssm-%s", "amazon-ssm-%s", "amazon-ssm-packages-%s", "%s-birdwatcher-prod",
		"aws-ssm-distributor-file-%s", "aws-ssm-document-attachments-%s", "patch-baseline-snapshot-%s",
	}
	objects := make([]string, len(awsOwned))
	for i, b := range awsOwned {
		objects[i] = fmt.Sprintf("arn:%s:s3:::%s/*", env.Partition, fmt.Sprintf(b, env.Region))
	}
	everyone := []iampolicy.Principal{{Type: "*", Identifiers: iampolicy.Strings("*")}}
	return iampolicy.Document(
		iampolicy.Statement{
			Sid: "AccountBuckets", Actions: []string{"s3:*"}, Resources: iampolicy.Strings("*"), Principals: everyone,
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "aws:ResourceAccount", Values: iampolicy.Strings(env.AccountID)}},
		},
		iampolicy.Statement{
			Sid: "AWSOwnedReads", Actions: []string{"s3:GetObject"}, Resources: iampolicy.Strings(objects...), Principals: everyone,
		},
	)
}
