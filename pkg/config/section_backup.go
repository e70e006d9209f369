package config

import (
	"regexp"
	"slices"
	"strings"
)

// BackupConfig is the `backup` section: AWS Backup of PostgreSQL and the media bucket, the
// copy of every recovery point to a second region, and replication of the media bucket there.
type BackupConfig struct {
	// Enabled turns AWS Backup on for the stack's data stores. Default true.
	Enabled *bool `json:"enabled"`
	// Schedule is the daily snapshot backup's AWS Backup cron expression (UTC). Default
	// "cron(0 7 ? * * *)": an hour after the default RDS backup window and outside the
	// default maintenance window, which AWS Backup asks for RDS.
	Schedule string `json:"schedule"`
	// RetentionDays keeps snapshot recovery points in the stack's region this many days
	// (1-36500). Default 35.
	RetentionDays int `json:"retentionDays"`
	// ContinuousDatabaseBackup adds AWS Backup continuous backup (point-in-time restore) of
	// PostgreSQL; its retention is database.backupRetentionDays (1-35 days, AWS Backup's
	// limit), so that AWS Backup and the instance agree on it. Default true.
	ContinuousDatabaseBackup *bool `json:"continuousDatabaseBackup"`
	// SecondaryRegion is the region that receives backup copies and the media replica; ""
	// (default) means none. It must differ from aws:region.
	SecondaryRegion string `json:"secondaryRegion"`
	// CopyRetentionDays copies every snapshot recovery point to a vault in SecondaryRegion
	// and keeps the copy this many days; 0 (default) copies nothing.
	CopyRetentionDays int `json:"copyRetentionDays"`
	// VaultLock locks the vaults (AWS Backup Vault Lock); unset (default) leaves them unlocked.
	VaultLock *VaultLockConfig `json:"vaultLock"`
	// MediaReplication replicates the media bucket to a bucket in SecondaryRegion; unset
	// (default) replicates nothing.
	MediaReplication *MediaReplicationConfig `json:"mediaReplication"`
}

// VaultLockConfig is `backup.vaultLock`.
type VaultLockConfig struct {
	// Mode is "governance" (users with the right IAM permission can still remove the lock or
	// delete recovery points) or "compliance" (after ChangeableForDays nobody, not even the
	// root user or AWS, can remove the lock or delete a recovery point before its retention ends).
	Mode string `json:"mode"`
	// MinRetentionDays is the least retention of every recovery point stored in the vaults
	// (at least 1); backups that would keep less fail.
	MinRetentionDays int `json:"minRetentionDays"`
	// MaxRetentionDays is the most retention of a recovery point: 0 (no maximum) or at least
	// MinRetentionDays.
	MaxRetentionDays int `json:"maxRetentionDays"`
	// ChangeableForDays is compliance mode's grace time (3 to 36500 days): until it ends the
	// lock can still be changed or removed; after it the lock is immutable. Default 3.
	ChangeableForDays int `json:"changeableForDays"`
}

// MediaReplicationConfig is `backup.mediaReplication`.
type MediaReplicationConfig struct {
	// ReplicationTimeControl replicates 99.99% of objects within 15 minutes, for an extra
	// charge per GB. Default false.
	ReplicationTimeControl bool `json:"replicationTimeControl"`
	// DeleteMarkers replicates delete markers (a simple DELETE without a version id), so that
	// objects deleted in the source also disappear from the replica's current view. Deletes of
	// a specific version are never replicated. Default false: the replica keeps showing what
	// was deleted, which is what a copy meant for recovery should do.
	DeleteMarkers bool `json:"deleteMarkers"`
	// StorageClass is the replicas' storage class: STANDARD, STANDARD_IA, INTELLIGENT_TIERING,
	// GLACIER_IR (default STANDARD_IA).
	StorageClass string `json:"storageClass"`
}

// Vault lock modes.
const (
	LockGovernance = "governance"
	LockCompliance = "compliance"
)

// ReplicaStorageClasses are the storage classes a replica may be written in: classes that
// are read back at once (a replica is read when the source region fails).
var ReplicaStorageClasses = []string{"STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"}

// backupCron is AWS Backup's six-field cron with the cron(...) wrapper.
var backupCron = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)

// IsEnabled reports whether AWS Backup is on.
func (c BackupConfig) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Continuous reports whether PostgreSQL gets continuous backup.
func (c BackupConfig) Continuous() bool {
	return c.IsEnabled() && (c.ContinuousDatabaseBackup == nil || *c.ContinuousDatabaseBackup)
}

func (c *BackupConfig) applyDefaults(Env) {
	if c.Enabled == nil {
		c.Enabled = stackDefault(true)
	}
	if c.ContinuousDatabaseBackup == nil {
		c.ContinuousDatabaseBackup = stackDefault(true)
	}
	if c.Schedule == "" {
		c.Schedule = "cron(0 7 ? * * *)"
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = 35
	}
	if l := c.VaultLock; l != nil && l.Mode == LockCompliance && l.ChangeableForDays == 0 {
		l.ChangeableForDays = 3
	}
	if r := c.MediaReplication; r != nil && r.StorageClass == "" {
		r.StorageClass = "STANDARD_IA"
	}
}

func (c *BackupConfig) validate(p *problems, env Env) {
	if !backupCron.MatchString(c.Schedule) {
		p.add("backup.schedule", c.Schedule, "an AWS Backup cron expression with six fields, e.g. cron(0 7 ? * * *)")
	}
	if c.RetentionDays < 1 || c.RetentionDays > 36500 {
		p.add("backup.retentionDays", c.RetentionDays, "1 to 36500 days")
	}
	if c.CopyRetentionDays < 0 || c.CopyRetentionDays > 36500 {
		p.add("backup.copyRetentionDays", c.CopyRetentionDays, "0 (no copy) or 1 to 36500 days")
	}
	switch {
	case c.SecondaryRegion == "":
		if c.CopyRetentionDays > 0 {
			p.add("backup.copyRetentionDays", c.CopyRetentionDays, "0 unless backup.secondaryRegion names the region to copy to")
		}
		if c.MediaReplication != nil {
			p.add("backup.mediaReplication", "set", "unset unless backup.secondaryRegion names the region to replicate to")
		}
	case !slices.Contains(regions, c.SecondaryRegion):
		p.add("backup.secondaryRegion", c.SecondaryRegion, "one of %s", strings.Join(regions, ", "))
	case c.SecondaryRegion == env.Region:
		p.add("backup.secondaryRegion", c.SecondaryRegion, "a region other than aws:region (%s): a copy in the same region does not survive its loss", env.Region)
	}
	if !c.IsEnabled() && c.CopyRetentionDays > 0 {
		p.add("backup.copyRetentionDays", c.CopyRetentionDays, "0 when backup.enabled is false (there is nothing to copy)")
	}
	if r := c.MediaReplication; r != nil && !slices.Contains(ReplicaStorageClasses, r.StorageClass) {
		p.add("backup.mediaReplication.storageClass", r.StorageClass, "one of %s", strings.Join(ReplicaStorageClasses, ", "))
	}
	if l := c.VaultLock; l != nil {
		c.validateLock(p, l)
	}
}

func (c *BackupConfig) validateLock(p *problems, l *VaultLockConfig) {
	switch l.Mode {
	case LockGovernance:
		if l.ChangeableForDays != 0 {
			p.add("backup.vaultLock.changeableForDays", l.ChangeableForDays, "unset in governance mode (it starts compliance mode's grace time)")
		}
	case LockCompliance:
		if l.ChangeableForDays < 3 || l.ChangeableForDays > 36500 {
			p.add("backup.vaultLock.changeableForDays", l.ChangeableForDays, "3 to 36500 days (AWS Backup's grace time before a compliance lock becomes immutable)")
		}
	default:
		p.add("backup.vaultLock.mode", l.Mode, "%q or %q", LockGovernance, LockCompliance)
	}
	if l.MinRetentionDays < 1 {
		p.add("backup.vaultLock.minRetentionDays", l.MinRetentionDays, "at least 1 day")
		return
	}
	if l.MaxRetentionDays != 0 && l.MaxRetentionDays < l.MinRetentionDays {
		p.add("backup.vaultLock.maxRetentionDays", l.MaxRetentionDays, "0 (no maximum) or at least minRetentionDays (%d)", l.MinRetentionDays)
	}
	// Every recovery point the plans make must fit the lock, or its backup job fails.
	for key, days := range map[string]int{"backup.retentionDays": c.RetentionDays, "backup.copyRetentionDays": c.CopyRetentionDays} {
		if days == 0 {
			continue
		}
		if days < l.MinRetentionDays || l.MaxRetentionDays != 0 && days > l.MaxRetentionDays {
			p.add(key, days, "within backup.vaultLock's retention bounds (%d to %s days), or its backups fail", l.MinRetentionDays, maxText(l.MaxRetentionDays))
		}
	}
}

// validateBackupRetention checks what the backup section needs of the database section:
// continuous backup keeps database.backupRetentionDays, which a vault lock must admit.
func validateBackupRetention(p *problems, b BackupConfig, d DatabaseConfig) {
	if !b.Continuous() || b.VaultLock == nil || b.VaultLock.MinRetentionDays < 1 {
		return
	}
	l := b.VaultLock
	if days := d.BackupRetentionDays; days < l.MinRetentionDays || l.MaxRetentionDays != 0 && days > l.MaxRetentionDays {
		p.add("database.backupRetentionDays", days, "within backup.vaultLock's retention bounds (%d to %s days): it is the continuous backup's retention", l.MinRetentionDays, maxText(l.MaxRetentionDays))
	}
}

func maxText(days int) string {
	if days == 0 {
		return "unlimited"
	}
	return Describe(days)
}
