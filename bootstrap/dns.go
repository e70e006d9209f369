package main

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// What keeps a stack's DNS delegation valid across a destroy and a recreate: the stack's zone
// goes with the stack, but the parent domain's NS and DS records point at things that must not.
// So the account keeps them: a reusable delegation set (every zone created with it gets the
// same four name servers: "Configuring white-label name servers" and CreateReusableDelegationSet,
// Route 53 API Reference) and the DNSSEC key-signing key's KMS key (the DS record is derived
// from the key's public key, so the same key gives the same DS). The stack files name them
// (cinegit:dns.delegationSetId, cinegit:dns.keySigningKeyArn).

func init() {
	keys["dnsDelegationSet"] = "true"
	keys["dnssecKey"] = "false"
}

// accountDNS is what newAccountDNS made.
type accountDNS struct {
	DelegationSetID pulumi.StringOutput
	NameServers     pulumi.StringArrayOutput
	KeyArn          pulumi.StringOutput
}

// newAccountDNS creates the delegation set and, when asked, the DNSSEC key (in us-east-1, where
// Route 53 requires it), both protected and retained.
func newAccountDNS(ctx *pulumi.Context, cfg *Config, env stackenv.Env, keep []pulumi.ResourceOption) (*accountDNS, error) {
	out := &accountDNS{
		DelegationSetID: pulumi.String("").ToStringOutput(),
		NameServers:     pulumi.StringArray{}.ToStringArrayOutput(),
		KeyArn:          pulumi.String("").ToStringOutput(),
	}
	if cfg.DNSDelegationSet {
		set, err := route53.NewDelegationSet(ctx, "dns", &route53.DelegationSetArgs{
			ReferenceName: pulumi.String("cinegit-" + cfg.Environment),
		}, keep...)
		if err != nil {
			return nil, fmt.Errorf("delegation set: %w", err)
		}
		out.DelegationSetID, out.NameServers = set.ID().ToStringOutput(), set.NameServers
	}
	if cfg.DNSSECKey {
		edge := env
		edge.Region = kmskey.DNSSECRegion
		opts := append([]pulumi.ResourceOption{}, keep...)
		if cfg.Region != kmskey.DNSSECRegion {
			p, err := accountProvider(ctx, "edge", kmskey.DNSSECRegion, cfg.AccountID, env.Tags)
			if err != nil {
				return nil, err
			}
			opts = append(opts, pulumi.Provider(p))
		}
		key, err := kmskey.New(ctx, "dnssec", kmskey.Args{
			Env:         edge,
			Description: "CineGit " + cfg.Environment + " DNSSEC key-signing key (kept across the stack's recreations)",
			Alias:       "cinegit-" + cfg.Environment + "-dnssec",
			Signing:     true,
			Statements:  kmskey.Route53DNSSECStatements(env.AccountID, env.Partition),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("dnssec key: %w", err)
		}
		out.KeyArn = key.Arn()
	}
	return out, nil
}
