package config

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// DatabaseConfig is the `database` section: CineGit's RDS for PostgreSQL instance.
type DatabaseConfig struct {
	// EngineVersion is a supported PostgreSQL major version ("16"). Minor versions are RDS's
	// to apply in the maintenance window (automatic minor upgrades are on): a pinned minor
	// ("16.4") would be downgraded back to by the next update after RDS moved on, which RDS
	// refuses, so it is rejected. Default "16".
	EngineVersion string `json:"engineVersion"`
	// ApplyImmediately makes RDS apply modifications (class, storage, parameter group, engine
	// version) at once instead of in the maintenance window. Default true, false in prod.
	// Always set after Parse.
	ApplyImmediately *bool `json:"applyImmediately"`
	// AllowMajorVersionUpgrade lets a change of engineVersion's major upgrade the instance. It
	// needs applyImmediately: a major upgrade left pending for the maintenance window keeps
	// the old parameter group in use, and every update until then fails deleting it. Default
	// true, false in prod (set both in the pull request that changes the major).
	// Always set after Parse.
	AllowMajorVersionUpgrade *bool `json:"allowMajorVersionUpgrade"`
	// InstanceClass is the RDS instance class, e.g. db.t4g.micro or db.r7g.large. Default db.t4g.micro.
	InstanceClass string `json:"instanceClass"`
	// AllocatedStorage is the initial gp3 storage in GiB (20-65536). Default 20.
	AllocatedStorage int `json:"allocatedStorage"`
	// MaxAllocatedStorage is the ceiling in GiB that storage autoscaling may grow to; at least
	// 10% above AllocatedStorage. Default 100.
	MaxAllocatedStorage int `json:"maxAllocatedStorage"`
	// DBName is the database created with the instance. Default "cinegit".
	DBName string `json:"dbName"`
	// MasterUsername is the master user; its password is generated and kept by RDS in Secrets
	// Manager. Default "cinegit_admin".
	MasterUsername string `json:"masterUsername"`
	// MultiAZ keeps a synchronous standby in a second AZ. Required in staging and prod, and
	// their default; false elsewhere. Always set after Parse.
	MultiAZ *bool `json:"multiAz"`
	// BackupRetentionDays is how long automated backups are kept (1-35; at least 14 in prod).
	// Default 7, or the stack's minimum if that is higher.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// BackupWindow is the daily UTC backup window, hh24:mi-hh24:mi, at least 30 minutes.
	// Default 03:00-04:00.
	BackupWindow string `json:"backupWindow"`
	// MaintenanceWindow is the weekly UTC maintenance window, ddd:hh24:mi-ddd:hh24:mi, 30
	// minutes to 24 hours, not overlapping BackupWindow. Default sun:05:00-sun:06:00.
	MaintenanceWindow string `json:"maintenanceWindow"`
	// DeletionProtection makes RDS refuse to delete the instance. Required in staging and
	// prod, and their default; false elsewhere. Always set after Parse.
	DeletionProtection *bool `json:"deletionProtection"`
	// FinalSnapshot takes a snapshot when the instance is deleted. Required in staging and
	// prod, and their default; false elsewhere (dev is ephemeral). Always set after Parse.
	FinalSnapshot *bool `json:"finalSnapshot"`
	// SlowStatementMs is log_min_duration_statement: statements slower than this many
	// milliseconds are logged (1-3600000). Default 1000.
	SlowStatementMs int `json:"slowStatementMs"`
	// LogRetentionDays is the retention of the postgresql and upgrade log groups (a CloudWatch
	// Logs value). Default 30.
	LogRetentionDays int `json:"logRetentionDays"`
	// PerformanceInsightsRetentionDays is 7 (free), 731, or a multiple of 31 below 731. Default 7.
	PerformanceInsightsRetentionDays int `json:"performanceInsightsRetentionDays"`
	// MonitoringIntervalSeconds is the enhanced monitoring interval: 1, 5, 10, 15, 30 or 60.
	// Default 60.
	MonitoringIntervalSeconds int `json:"monitoringIntervalSeconds"`
	// Restore creates the instance from a snapshot or from a point in time instead of empty.
	// The restored instance gets a new identifier (postgres-<label>), so it is created beside
	// the current one, which Pulumi then deletes (see docs/restore.md). Unset by
	// default.
	Restore *DatabaseRestoreConfig `json:"restore"`
}

// DatabaseRestoreConfig is `database.restore`: exactly one of snapshotIdentifier and pointInTime.
type DatabaseRestoreConfig struct {
	// Label names the restore (1-12 lowercase letters and digits, e.g. "r20261203"); the
	// instance identifier becomes <project>-<stack>-postgres-<label>.
	Label string `json:"label"`
	// SnapshotIdentifier is the DB snapshot (name or ARN, e.g. an AWS Backup recovery point
	// "awsbackup:job-...") to create the instance from. It must be in the stack's region and
	// encrypted with the database's key (copy it with --kms-key-id first otherwise). Database
	// name and master user come from the snapshot.
	SnapshotIdentifier string `json:"snapshotIdentifier"`
	// PointInTime restores another instance's automated backups to a moment.
	PointInTime *PointInTimeConfig `json:"pointInTime"`
}

// PointInTimeConfig is `database.restore.pointInTime`: one source and one time.
type PointInTimeConfig struct {
	// SourceDbInstanceIdentifier names the source instance, which must still exist; set it
	// or SourceDbiResourceID.
	SourceDbInstanceIdentifier string `json:"sourceDbInstanceIdentifier"`
	// SourceDbiResourceID is its resource id (db-...), which also finds retained automated
	// backups of a deleted instance.
	SourceDbiResourceID string `json:"sourceDbiResourceId"`
	// RestoreTime is the UTC moment to restore to, RFC 3339 (2026-12-03T04:05:00Z); set it
	// or UseLatestRestorableTime.
	RestoreTime string `json:"restoreTime"`
	// UseLatestRestorableTime restores to the latest restorable moment (about five minutes ago).
	UseLatestRestorableTime bool `json:"useLatestRestorableTime"`
}

// PostgresMajorVersions are the PostgreSQL major versions CineGit runs on RDS. A parameter
// group family ("postgres16") exists for each.
var PostgresMajorVersions = []string{"15", "16", "17"}

var (
	dbInstanceClass = regexp.MustCompile(`^db\.[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$`)
	pgIdentifier    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,62}$`)
)

func (c *DatabaseConfig) applyDefaults(env Env) {
	if c.ApplyImmediately == nil {
		c.ApplyImmediately = stackDefault(!env.Rules.DeferDataStoreChanges)
	}
	if c.AllowMajorVersionUpgrade == nil {
		c.AllowMajorVersionUpgrade = stackDefault(!env.Rules.DeferDataStoreChanges)
	}
	if c.EngineVersion == "" {
		c.EngineVersion = "16"
	}
	if c.InstanceClass == "" {
		c.InstanceClass = "db.t4g.micro"
	}
	if c.AllocatedStorage == 0 {
		c.AllocatedStorage = 20
	}
	if c.MaxAllocatedStorage == 0 {
		c.MaxAllocatedStorage = 100
	}
	if c.DBName == "" {
		c.DBName = "cinegit"
	}
	if c.MasterUsername == "" {
		c.MasterUsername = "cinegit_admin"
	}
	if c.MultiAZ == nil {
		c.MultiAZ = stackDefault(env.Rules.RequireHA)
	}
	if c.DeletionProtection == nil {
		c.DeletionProtection = stackDefault(env.Rules.RequireProtection)
	}
	if c.FinalSnapshot == nil {
		c.FinalSnapshot = stackDefault(env.Rules.RequireProtection)
	}
	if c.BackupRetentionDays == 0 {
		c.BackupRetentionDays = max(7, env.Rules.MinBackupRetentionDays)
	}
	if c.BackupWindow == "" {
		c.BackupWindow = "03:00-04:00"
	}
	if c.MaintenanceWindow == "" {
		c.MaintenanceWindow = "sun:05:00-sun:06:00"
	}
	if c.SlowStatementMs == 0 {
		c.SlowStatementMs = 1000
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = 30
	}
	if c.PerformanceInsightsRetentionDays == 0 {
		c.PerformanceInsightsRetentionDays = 7
	}
	if c.MonitoringIntervalSeconds == 0 {
		c.MonitoringIntervalSeconds = 60
	}
}

func (c *DatabaseConfig) validate(p *problems, env Env) {
	if !slices.Contains(PostgresMajorVersions, c.EngineVersion) {
		p.add("database.engineVersion", c.EngineVersion, "a supported PostgreSQL major version (%s); minors are RDS's to apply (automatic minor upgrades), a pinned one would fight them", strings.Join(PostgresMajorVersions, ", "))
	}
	if *c.AllowMajorVersionUpgrade && !*c.ApplyImmediately {
		p.add("database.allowMajorVersionUpgrade", *c.AllowMajorVersionUpgrade, "false unless applyImmediately is true: a major upgrade pending for the maintenance window keeps the old parameter group in use and fails every update until then")
	}
	if !dbInstanceClass.MatchString(c.InstanceClass) {
		p.add("database.instanceClass", c.InstanceClass, "an RDS instance class db.<family>.<size>, e.g. db.t4g.micro or db.r7g.large")
	}

	// gp3 for RDS PostgreSQL: 20 GiB to 64 TiB.
	storageOK := true
	if c.AllocatedStorage < 20 || c.AllocatedStorage > 65536 {
		p.add("database.allocatedStorage", c.AllocatedStorage, "20 to 65536 GiB (gp3 limits for RDS PostgreSQL)")
		storageOK = false
	}
	if c.MaxAllocatedStorage > 65536 {
		p.add("database.maxAllocatedStorage", c.MaxAllocatedStorage, "at most 65536 GiB (gp3 limit for RDS PostgreSQL)")
		storageOK = false
	}
	// RDS rejects a ceiling that is not above the allocation, and one within 10% of it
	// leaves autoscaling (which grows by at least 10%) nothing to do.
	if storageOK && c.MaxAllocatedStorage*10 < c.AllocatedStorage*11 {
		p.add("database.maxAllocatedStorage", c.MaxAllocatedStorage, "at least 10%% more than allocatedStorage (%d GiB), i.e. >= %d", c.AllocatedStorage, (c.AllocatedStorage*11+9)/10)
	}

	if !pgIdentifier.MatchString(c.DBName) || slices.Contains([]string{"postgres", "template0", "template1", "rdsadmin"}, strings.ToLower(c.DBName)) {
		p.add("database.dbName", c.DBName, "1-63 letters, digits or underscores starting with a letter, not postgres, template0, template1 or rdsadmin")
	}
	lu := strings.ToLower(c.MasterUsername)
	if !pgIdentifier.MatchString(c.MasterUsername) || lu == "rdsadmin" || lu == "rdsrepladmin" || strings.HasPrefix(lu, "rds_") || strings.HasPrefix(lu, "pg_") {
		p.add("database.masterUsername", c.MasterUsername, "1-63 letters, digits or underscores starting with a letter; not rdsadmin, rdsrepladmin, rds_* or pg_* (reserved by RDS and PostgreSQL)")
	}

	if env.Rules.RequireHA && !*c.MultiAZ {
		p.add("database.multiAz", *c.MultiAZ, "true for stack %q (a standby in a second AZ)", env.Stack)
	}
	switch minDays := max(1, env.Rules.MinBackupRetentionDays); {
	case c.BackupRetentionDays < 1 || c.BackupRetentionDays > 35:
		p.add("database.backupRetentionDays", c.BackupRetentionDays, "1 to 35 days (RDS limits; 0 would turn backups off)")
	case c.BackupRetentionDays < minDays:
		p.add("database.backupRetentionDays", c.BackupRetentionDays, "at least %d days for stack %q (at most 35)", minDays, env.Stack)
	}
	validateWindows(p, "database.backupWindow", c.BackupWindow, "database.maintenanceWindow", c.MaintenanceWindow, 30)
	if env.Rules.RequireProtection {
		if !*c.DeletionProtection {
			p.add("database.deletionProtection", *c.DeletionProtection, "true for stack %q", env.Stack)
		}
		if !*c.FinalSnapshot {
			p.add("database.finalSnapshot", *c.FinalSnapshot, "true for stack %q (a snapshot is taken before deletion)", env.Stack)
		}
	}

	if c.SlowStatementMs < 1 || c.SlowStatementMs > 3600000 {
		p.add("database.slowStatementMs", c.SlowStatementMs, "1 to 3600000 milliseconds (slow statement logging stays on)")
	}
	if !validRetention(c.LogRetentionDays) {
		p.add("database.logRetentionDays", c.LogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}
	if d := c.PerformanceInsightsRetentionDays; d != 7 && d != 731 && (d%31 != 0 || d < 31 || d > 713) {
		p.add("database.performanceInsightsRetentionDays", d, "7, 731, or a multiple of 31 from 31 to 713")
	}
	if !slices.Contains([]int{1, 5, 10, 15, 30, 60}, c.MonitoringIntervalSeconds) {
		p.add("database.monitoringIntervalSeconds", c.MonitoringIntervalSeconds, "1, 5, 10, 15, 30 or 60 (enhanced monitoring stays on)")
	}
	if c.Restore != nil {
		c.Restore.validate(p)
	}
}

var (
	restoreLabel      = regexp.MustCompile(`^[a-z0-9]{1,12}$`)
	dbInstanceID      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$`)
	dbiResourceID     = regexp.MustCompile(`^db-[A-Z0-9]+$`)
	snapshotReference = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9:-]{0,254}|arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:[a-zA-Z][a-zA-Z0-9:-]{0,254})$`)
)

// validate follows the provider's conflicts: snapshotIdentifier and restoreToPointInTime
// exclude each other; a point-in-time restore needs one source and one of restoreTime and
// useLatestRestorableTime (aws.rds.Instance, restoreToPointInTime block).
func (r *DatabaseRestoreConfig) validate(p *problems) {
	if !restoreLabel.MatchString(r.Label) {
		p.add("database.restore.label", r.Label, "1-12 lowercase letters and digits naming the restore, e.g. r20261203 (the instance identifier gets it as a suffix)")
	}
	switch {
	case r.SnapshotIdentifier != "" && r.PointInTime != nil:
		p.add("database.restore", "snapshotIdentifier and pointInTime", "exactly one of snapshotIdentifier and pointInTime")
	case r.SnapshotIdentifier == "" && r.PointInTime == nil:
		p.add("database.restore", "neither", "exactly one of snapshotIdentifier and pointInTime")
	case r.SnapshotIdentifier != "":
		if !snapshotReference.MatchString(r.SnapshotIdentifier) || strings.HasSuffix(r.SnapshotIdentifier, "-") {
			p.add("database.restore.snapshotIdentifier", r.SnapshotIdentifier, "a DB snapshot identifier or ARN in the stack's region, e.g. rds:cinegit-prod-postgres-2026-12-03-03-10 or awsbackup:job-...")
		}
	default:
		r.PointInTime.validate(p)
	}
}

func (t *PointInTimeConfig) validate(p *problems) {
	const key = "database.restore.pointInTime"
	switch {
	case (t.SourceDbInstanceIdentifier == "") == (t.SourceDbiResourceID == ""):
		p.add(key, "sources", "exactly one of sourceDbInstanceIdentifier and sourceDbiResourceId")
	case t.SourceDbInstanceIdentifier != "" && (!dbInstanceID.MatchString(t.SourceDbInstanceIdentifier) || len(t.SourceDbInstanceIdentifier) > 63):
		p.add(key+".sourceDbInstanceIdentifier", t.SourceDbInstanceIdentifier, "an RDS instance identifier: 1-63 letters, digits and single hyphens, starting with a letter")
	case t.SourceDbiResourceID != "" && !dbiResourceID.MatchString(t.SourceDbiResourceID):
		p.add(key+".sourceDbiResourceId", t.SourceDbiResourceID, "an RDS resource id, db- followed by upper-case letters and digits")
	}
	switch {
	case (t.RestoreTime == "") == !t.UseLatestRestorableTime:
		p.add(key, "times", "exactly one of restoreTime and useLatestRestorableTime: true")
	case t.RestoreTime != "":
		if ts, err := time.Parse(time.RFC3339, t.RestoreTime); err != nil || ts.Location() != time.UTC {
			p.add(key+".restoreTime", t.RestoreTime, "a UTC time in RFC 3339, e.g. 2026-12-03T04:05:00Z")
		}
	}
}

// stackDefault returns a pointer to v: optional settings whose default depends on the stack are
// pointers until applyDefaults fills them.
func stackDefault[T any](v T) *T { return &v }
