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
	// RequireSecretRecovery demands a 7-30 day recovery window on the secrets the stack
	// deletes. Only where the stack is never destroyed: a secret waiting out its window keeps
	// its name, so a stack destroyed and created again within it cannot create its secrets
	// (CreateSecret fails with "You can't create this secret because a secret with this name
	// is already scheduled for deletion"; Secrets Manager API reference, DeleteSecret:
	// RecoveryWindowInDays 7-30 or ForceDeleteWithoutRecovery).
	RequireSecretRecovery bool
	// DeferDataStoreChanges leaves the data stores' modifications to their maintenance window
	// unless the stack file says otherwise, and a major engine upgrade to an explicit setting in
	// the same change (applyImmediately with allowMajorVersionUpgrade).
	DeferDataStoreChanges bool
}

// RulesFor returns the rules for a stack name.
func RulesFor(stack string) StackRules {
	switch stack {
	case "prod":
		return StackRules{MinAZs: 3, RequireHA: true, RequireProtection: true, RequirePulumiProtect: true, MinBackupRetentionDays: 14, RequirePrivateEndpoint: true, RequireSecretRecovery: true, DeferDataStoreChanges: true}
	case "staging":
		return StackRules{MinAZs: 2, RequireHA: true, RequireProtection: true, MinBackupRetentionDays: 1, RequirePrivateEndpoint: true}
	default:
		return StackRules{MinAZs: 2, MinBackupRetentionDays: 1}
	}
}

var stackName = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)
