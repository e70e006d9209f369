package config

import (
	"regexp"
	"slices"
	"strings"
)

// DatabaseConfig is the `database` section: CineGit's RDS for PostgreSQL instance.
type DatabaseConfig struct {
	// EngineVersion is a supported PostgreSQL major version ("16"), which lets RDS apply minor
	// upgrades in the maintenance window, or a pinned minor ("16.4"). Default "16".
	EngineVersion string `json:"engineVersion"`
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
}

// PostgresMajorVersions are the PostgreSQL major versions CineGit runs on RDS. A parameter
// group family ("postgres16") exists for each.
var PostgresMajorVersions = []string{"15", "16", "17"}

var (
	postgresVersion = regexp.MustCompile(`^([0-9]+)(\.[0-9]+)?$`)
	dbInstanceClass = regexp.MustCompile(`^db\.[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$`)
	pgIdentifier    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,62}$`)
)

func (c *DatabaseConfig) applyDefaults(env Env) {
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
	if m := postgresVersion.FindStringSubmatch(c.EngineVersion); m == nil || !slices.Contains(PostgresMajorVersions, m[1]) {
		p.add("database.engineVersion", c.EngineVersion, "a supported PostgreSQL major version (%s) or a pinned minor of one, e.g. 16.4", strings.Join(PostgresMajorVersions, ", "))
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
}

// stackDefault returns a pointer to v: optional settings whose default depends on the stack are
// pointers until applyDefaults fills them.
func stackDefault[T any](v T) *T { return &v }
