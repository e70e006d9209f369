package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/network"
)

// deployRunnerPeer finds the account's deploy runner VPC (bootstrap/ made it, before any
// stack) by its Name tag and CIDR, and the route table its runner subnets use. The stack peers
// with it so that CI, which runs pulumi there, reaches the private EKS endpoint.
//
// Looking it up instead of writing its IDs into the stack files keeps the files the same in
// every account and makes the first deploy of a new stack need nothing but the bootstrap.
func deployRunnerPeer(ctx *pulumi.Context, r config.DeployRunnerConfig, opts ...pulumi.InvokeOption) (*network.Peer, error) {
	vpc, err := ec2.LookupVpc(ctx, &ec2.LookupVpcArgs{
		Tags:      map[string]string{"Name": r.VpcName},
		CidrBlock: pulumi.StringRef(r.CIDR),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("deployRunner: no VPC named %q with block %s (run the bootstrap project first): %w", r.VpcName, r.CIDR, err)
	}
	tables, err := ec2.GetRouteTables(ctx, &ec2.GetRouteTablesArgs{
		VpcId: pulumi.StringRef(vpc.Id),
		Tags:  map[string]string{"tier": config.DeployRunnerRouteTableTier},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("deployRunner: route tables of %s: %w", vpc.Id, err)
	}
	if len(tables.Ids) == 0 {
		return nil, fmt.Errorf("deployRunner: VPC %s has no route table tagged tier=%s", vpc.Id, config.DeployRunnerRouteTableTier)
	}
	return &network.Peer{Name: "deploy-runner", VpcID: vpc.Id, CIDR: r.CIDR, RouteTableIDs: tables.Ids}, nil
}
