package wiring

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/network"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// DatabaseArgs is the Database component's input: PostgreSQL in the network's isolated
// database subnets, reachable from the security groups in clients only.
func (c Config) DatabaseArgs(env stackenv.Env, net *network.Network, clients pulumi.StringArray) database.Args {
	d := c.Database
	return database.Args{
		Env:                              env,
		VpcID:                            net.VpcID,
		SubnetIDs:                        net.DatabaseSubnetIDs,
		AllowedSecurityGroupIDs:          clients,
		Protect:                          c.Protect,
		EngineVersion:                    d.EngineVersion,
		ApplyImmediately:                 *d.ApplyImmediately,
		AllowMajorVersionUpgrade:         *d.AllowMajorVersionUpgrade,
		InstanceClass:                    d.InstanceClass,
		AllocatedStorage:                 d.AllocatedStorage,
		MaxAllocatedStorage:              d.MaxAllocatedStorage,
		DBName:                           d.DBName,
		MasterUsername:                   d.MasterUsername,
		MultiAZ:                          *d.MultiAZ,
		BackupRetentionDays:              d.BackupRetentionDays,
		BackupWindow:                     d.BackupWindow,
		MaintenanceWindow:                d.MaintenanceWindow,
		DeletionProtection:               *d.DeletionProtection,
		FinalSnapshot:                    *d.FinalSnapshot,
		SlowStatementMs:                  d.SlowStatementMs,
		LogRetentionDays:                 d.LogRetentionDays,
		PerformanceInsightsRetentionDays: d.PerformanceInsightsRetentionDays,
		MonitoringIntervalSeconds:        d.MonitoringIntervalSeconds,
		Restore:                          restore(d.Restore),
	}
}

// restore converts database.restore for the database component (nil: none).
func restore(r *config.DatabaseRestoreConfig) *database.Restore {
	if r == nil {
		return nil
	}
	out := &database.Restore{Label: r.Label, SnapshotIdentifier: r.SnapshotIdentifier}
	if t := r.PointInTime; t != nil {
		out.PointInTime = &database.PointInTime{
			SourceDBInstanceIdentifier: t.SourceDbInstanceIdentifier, SourceDbiResourceID: t.SourceDbiResourceID,
			RestoreTime: t.RestoreTime, UseLatestRestorableTime: t.UseLatestRestorableTime,
		}
	}
	return out
}
