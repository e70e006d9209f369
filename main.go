// CineGit's infrastructure: one Pulumi program for the dev, staging and prod stacks.
//
// Read top to bottom it is the architecture: configuration, providers, network, data stores,
// cluster, media, CDN, platform add-ons, exports. Everything else lives in pkg/.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const usage = `cinegit: CineGit's infrastructure as a Pulumi program.

Deploy (needs AWS credentials and the S3 state backend, see README.md):
  pulumi login s3://cinegit-pulumi-state?region=us-east-1
  pulumi preview --stack dev
  pulumi up --stack dev

Plan offline (no AWS account, no credentials):
  go run . plan --stack dev [--preview] [--format text|json] [--out plan.json] [--config-file FILE]
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "plan" {
		os.Exit(runPlan(os.Args[2:]))
	}
	// Outside the engine there is no resource monitor to talk to: explain instead of failing
	// with a stack trace.
	if os.Getenv(pulumi.EnvMonitor) == "" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	pulumi.Run(program)
}

// program is the whole stack. `pulumi up`, `go run . plan` and the tests all run this function.
func program(ctx *pulumi.Context) error {
	cfg, err := config.FromContext(ctx)
	if err != nil {
		return err
	}

	// Providers: the stack's region, and us-east-1 for CloudFront's certificate and WAF.
	// Both tag everything they create.
	baseTags := tags.Set(tags.Base(cfg.Project, cfg.Stack, cfg.Tags))
	regional, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
	})
	if err != nil {
		return err
	}
	if _, err := aws.NewProvider(ctx, "aws-us-east-1", &aws.ProviderArgs{
		Region:      pulumi.String("us-east-1"),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: baseTags.Map()},
	}); err != nil {
		return err
	}
	identity, err := aws.GetCallerIdentity(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return err
	}
	partition, err := aws.GetPartition(ctx, nil, pulumi.Provider(regional))
	if err != nil {
		return err
	}
	env := stackenv.Env{
		Naming:    naming.New(cfg.Project, cfg.Stack),
		Tags:      baseTags,
		AccountID: identity.AccountId,
		Partition: partition.Partition,
		Region:    cfg.Region,
	}
	inRegion := pulumi.Provider(regional)
	clusterName := env.Naming.Name("eks")

	// Network.
	layout, err := cfg.Network.Layout()
	if err != nil {
		return err
	}
	net, err := network.New(ctx, "network", network.Args{
		Env:                  env,
		CIDR:                 cfg.Network.CIDR,
		AvailabilityZones:    cfg.Network.AvailabilityZones,
		PublicSubnetCIDRs:    layout.Public,
		PrivateSubnetCIDRs:   layout.Private,
		DatabaseSubnetCIDRs:  layout.Database,
		SingleNatGateway:     cfg.Network.NatGateways == config.NatSingle,
		FlowLogRetentionDays: cfg.Network.FlowLogRetentionDays,
		InterfaceEndpoints:   cfg.Network.InterfaceEndpoints,
		ClusterName:          clusterName,
	}, inRegion)
	if err != nil {
		return err
	}

	// Exports, named for their consumers.
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("availabilityZones", net.AvailabilityZones)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", net.DatabaseSubnetIDs)
	return nil
}
