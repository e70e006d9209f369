package wiring

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/backup"
	"github.com/cinegit/infrastructure/pkg/cluster"
	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/database"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/offhours"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// BackupArgs are the backups of the database and the media bucket as the backup section asks;
// secondary is the provider in backup.secondaryRegion (nil without one).
func (c Config) BackupArgs(env stackenv.Env, db *database.Database, media *mediastore.MediaStore, secondary *aws.Provider) backup.Args {
	b := c.Backup
	args := backup.Args{
		Env: env, Schedule: b.Schedule, RetentionDays: b.RetentionDays,
		DatabaseArn: db.Arn, MediaBucketArn: media.MediaBucketArn,
		ForceDestroy: c.Media.ForceDestroy, // an ephemeral stack's backups go with its buckets
		Protect:      c.Protect,
	}
	if b.Continuous() {
		args.ContinuousDatabaseRetentionDays = c.Database.BackupRetentionDays
	}
	if b.CopyRetentionDays > 0 {
		args.Copy = &backup.Copy{Provider: secondary, Region: b.SecondaryRegion, RetentionDays: b.CopyRetentionDays}
	}
	if l := b.VaultLock; l != nil {
		args.VaultLock = &backup.VaultLock{
			Compliance: l.Mode == config.LockCompliance, ChangeableForDays: l.ChangeableForDays,
			MinRetentionDays: l.MinRetentionDays, MaxRetentionDays: l.MaxRetentionDays,
		}
	}
	return args
}

// OffHoursArgs schedule the cluster's node groups and the database as offHours asks; the
// morning brings the node groups back to their configured sizes.
func (c Config) OffHoursArgs(env stackenv.Env, eks *cluster.Cluster, db *database.Database) offhours.Args {
	o := c.OffHours
	stopHour, stopMinute := config.Clock(o.StopAt)
	startHour, startMinute := config.Clock(o.StartAt)
	group := func(name string, asg pulumi.StringOutput, ng config.NodeGroupConfig) offhours.NodeGroup {
		return offhours.NodeGroup{Name: name, AutoscalingGroupName: asg, MinSize: ng.MinSize, DesiredSize: ng.Desired(), MaxSize: ng.MaxSize}
	}
	return offhours.Args{
		Env: env, TimeZone: o.TimeZone, WorkingDays: o.WorkingDays,
		StopHour: stopHour, StopMinute: stopMinute, StartHour: startHour, StartMinute: startMinute,
		NodeGroups: []offhours.NodeGroup{
			group("general", eks.GeneralAutoscalingGroupName, c.Cluster.General),
		},
		DatabaseIdentifier: db.Identifier, DatabaseArn: db.Arn,
	}
}
