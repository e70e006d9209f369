package wiring

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/cache"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// CacheArgs is the Cache component's input: Redis in the network's private subnets, reachable
// from the security groups in clients only.
func (c Config) CacheArgs(env stackenv.Env, net *network.Network, clients pulumi.StringArray) cache.Args {
	r := c.Cache
	return cache.Args{
		Env:                          env,
		VpcID:                        net.VpcID,
		SubnetIDs:                    net.PrivateSubnetIDs,
		AllowedSecurityGroupIDs:      clients,
		Protect:                      c.Protect,
		Engine:                       r.Engine,
		EngineVersion:                r.EngineVersion,
		ApplyImmediately:             *r.ApplyImmediately,
		NodeType:                     r.NodeType,
		NodeCount:                    r.NodeCount,
		SnapshotRetentionDays:        r.SnapshotRetentionDays,
		SnapshotWindow:               r.SnapshotWindow,
		MaintenanceWindow:            r.MaintenanceWindow,
		LogRetentionDays:             r.LogRetentionDays,
		MaxmemoryPolicy:              r.MaxmemoryPolicy,
		AuthSecretRecoveryWindowDays: *r.AuthSecretRecoveryWindowDays,
		Restore:                      cacheRestore(r.Restore),
	}
}

// cacheRestore converts cache.restore for the cache component (nil: none).
func cacheRestore(r *config.CacheRestoreConfig) *cache.Restore {
	if r == nil {
		return nil
	}
	return &cache.Restore{Label: r.Label, SnapshotName: r.SnapshotName}
}
