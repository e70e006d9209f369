package config

import "regexp"

// StackRules are the guarantees a stack must keep whatever its settings say. They are the one
// place where stacks differ by name: production and staging must be highly available and
// protected; everything else (dev, feature stacks) may be cheap.
type StackRules struct {
	// MinAZs is the least number of availability zones the network must span.
	MinAZs int
	// RequireHA demands multi-AZ data stores and per-AZ NAT gateways.
	RequireHA bool
	// RequireProtection demands deletion protection and final snapshots on data stores.
	RequireProtection bool
	// RequirePulumiProtect demands Pulumi's protect on stateful resources.
	RequirePulumiProtect bool
	// MinBackupRetentionDays is the least automated backup retention for databases.
	MinBackupRetentionDays int
	// RequirePrivateEndpoint keeps the EKS API endpoint private: CI reaches it from the deploy
	// runner VPC, people through a network joined to the VPC.
	RequirePrivateEndpoint bool
}

// RulesFor returns the rules for a stack name.
func RulesFor(stack string) StackRules {
	switch stack {
	case "prod":
		return StackRules{MinAZs: 3, RequireHA: true, RequireProtection: true, RequirePulumiProtect: true, MinBackupRetentionDays: 14, RequirePrivateEndpoint: true}
	case "staging":
		return StackRules{MinAZs: 2, RequireHA: true, RequireProtection: true, MinBackupRetentionDays: 1, RequirePrivateEndpoint: true}
	default:
		return StackRules{MinAZs: 2, MinBackupRetentionDays: 1}
	}
}

var stackName = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
