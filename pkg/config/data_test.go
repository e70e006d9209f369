package config

import (
	"testing"

	"github.com/cinegit/infrastructure/pkg/config/configtest"
)

const threeAZs = configtest.ThreeAZs

func TestDataStoreDefaultsFollowTheStack(t *testing.T) {
	tests := []struct {
		stack string
		raw   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"dev", base(), func(t *testing.T, c *Config) {
			d, k := c.Database, c.Cache
			if d.EngineVersion != "16" || d.InstanceClass != "db.t4g.micro" || *d.MultiAZ || *d.DeletionProtection || *d.FinalSnapshot {
				t.Errorf("dev database defaults: %+v", d)
			}
			if d.BackupRetentionDays != 7 || d.AllocatedStorage != 20 || d.MaxAllocatedStorage != 100 || d.SlowStatementMs != 1000 {
				t.Errorf("dev database sizes: %+v", d)
			}
			if k.Engine != "valkey" || k.EngineVersion != "8.2" || k.NodeCount != 1 || *k.AuthSecretRecoveryWindowDays != 0 || k.MaxmemoryPolicy != "volatile-lru" {
				t.Errorf("dev cache defaults: %+v", k)
			}
			// dev and staging apply data store changes at once, majors included.
			if !*d.ApplyImmediately || !*d.AllowMajorVersionUpgrade || !*k.ApplyImmediately {
				t.Errorf("dev applies changes in the maintenance window: %v %v %v", *d.ApplyImmediately, *d.AllowMajorVersionUpgrade, *k.ApplyImmediately)
			}
		}},
		{"prod", prodWith(), func(t *testing.T, c *Config) {
			d, k := c.Database, c.Cache
			if !*d.MultiAZ || !*d.DeletionProtection || !*d.FinalSnapshot || d.BackupRetentionDays != 14 {
				t.Errorf("prod database defaults must be safe: %+v", d)
			}
			if k.NodeCount != 2 || *k.AuthSecretRecoveryWindowDays != 30 {
				t.Errorf("prod cache defaults must be HA: %+v", k)
			}
			// prod waits for the maintenance window, and a major upgrade is an explicit setting.
			if *d.ApplyImmediately || *d.AllowMajorVersionUpgrade || *k.ApplyImmediately {
				t.Errorf("prod applies changes at once by default: %v %v %v", *d.ApplyImmediately, *d.AllowMajorVersionUpgrade, *k.ApplyImmediately)
			}
		}},
		{"staging", with("cinegit:network", threeAZs), func(t *testing.T, c *Config) {
			if !*c.Database.MultiAZ || !*c.Database.DeletionProtection || c.Cache.NodeCount != 2 || !*c.Database.ApplyImmediately || !*c.Cache.ApplyImmediately {
				t.Errorf("staging defaults: %+v %+v", c.Database, c.Cache)
			}
		}},
		{"prod", prodWith("cinegit:database", `{"applyImmediately":true,"allowMajorVersionUpgrade":true,"engineVersion":"17"}`), func(t *testing.T, c *Config) {
			if !*c.Database.ApplyImmediately || !*c.Database.AllowMajorVersionUpgrade || c.Database.EngineVersion != "17" {
				t.Errorf("prod's explicit major upgrade not kept: %+v", c.Database)
			}
		}},
		{"dev", with("cinegit:cache", `{"restore":{"label":"r20261203","snapshotName":"automatic.cinegit-dev-cache-2026-12-03-02-00"}}`), func(t *testing.T, c *Config) {
			if r := c.Cache.Restore; r == nil || r.Label != "r20261203" || r.SnapshotName != "automatic.cinegit-dev-cache-2026-12-03-02-00" {
				t.Errorf("cache restore %+v", r)
			}
		}},
		{"dev", with("cinegit:cache", `{"engine":"redis"}`), func(t *testing.T, c *Config) {
			if c.Cache.Engine != "redis" || c.Cache.EngineVersion != "7.1" {
				t.Errorf("redis defaults to 7.1: %+v", c.Cache)
			}
		}},
		{"dev", with("cinegit:database", `{"engineVersion":"17","instanceClass":"db.r7g.2xlarge","multiAz":true,"backupWindow":"23:30-00:30","maintenanceWindow":"mon:01:00-mon:02:00"}`,
			"cinegit:cache", `{"engine":"redis","engineVersion":"7.0","nodeType":"cache.r7g.large","nodeCount":3,"authSecretRecoveryWindowDays":7}`), func(t *testing.T, c *Config) {
			if c.Database.EngineVersion != "17" || !*c.Database.MultiAZ || c.Cache.NodeCount != 3 || c.Cache.EngineVersion != "7.0" {
				t.Errorf("explicit settings not kept: %+v %+v", c.Database, c.Cache)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			c, err := Parse(tt.stack, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestInvalidDataStoreConfigurationsNameTheKey(t *testing.T) {
	db := func(j string) map[string]string { return with("cinegit:database", j) }
	cache := func(j string) map[string]string { return with("cinegit:cache", j) }
	tests := []struct {
		name    string
		stack   string
		raw     map[string]string
		key     string
		allowed string
	}{
		// database
		{"unsupported major version", "dev", db(`{"engineVersion":"12"}`), "cinegit:database.engineVersion", "supported PostgreSQL major"},
		{"malformed engine version", "dev", db(`{"engineVersion":"16.x"}`), "cinegit:database.engineVersion", "supported PostgreSQL major"},
		{"pinned minor", "dev", db(`{"engineVersion":"16.4"}`), "cinegit:database.engineVersion", "a pinned one would fight them"},
		{"major upgrade left for the window", "dev", db(`{"applyImmediately":false}`), "cinegit:database.allowMajorVersionUpgrade", "false unless applyImmediately"},
		{"prod major upgrade without applying it", "prod", prodWith("cinegit:database", `{"allowMajorVersionUpgrade":true}`), "cinegit:database.allowMajorVersionUpgrade", "false unless applyImmediately"},
		{"instance class without db prefix", "dev", db(`{"instanceClass":"t4g.micro"}`), "cinegit:database.instanceClass", "db.<family>.<size>"},
		{"instance class of the wrong service", "dev", db(`{"instanceClass":"cache.t4g.micro"}`), "cinegit:database.instanceClass", "db.<family>.<size>"},
		{"storage below gp3 minimum", "dev", db(`{"allocatedStorage":10}`), "cinegit:database.allocatedStorage", "20 to 65536"},
		{"storage above max storage", "dev", db(`{"allocatedStorage":200,"maxAllocatedStorage":100}`), "cinegit:database.maxAllocatedStorage", "at least 10%"},
		{"max storage without headroom", "dev", db(`{"allocatedStorage":100,"maxAllocatedStorage":105}`), "cinegit:database.maxAllocatedStorage", ">= 110"},
		{"max storage beyond RDS", "dev", db(`{"maxAllocatedStorage":70000}`), "cinegit:database.maxAllocatedStorage", "65536"},
		{"reserved database name", "dev", db(`{"dbName":"postgres"}`), "cinegit:database.dbName", "not postgres"},
		{"database name with a hyphen", "dev", db(`{"dbName":"cine-git"}`), "cinegit:database.dbName", "underscores"},
		{"reserved master user", "dev", db(`{"masterUsername":"rdsadmin"}`), "cinegit:database.masterUsername", "reserved"},
		{"backups off", "dev", db(`{"backupRetentionDays":-1}`), "cinegit:database.backupRetentionDays", "1 to 35"},
		{"backups beyond RDS's limit", "dev", db(`{"backupRetentionDays":36}`), "cinegit:database.backupRetentionDays", "1 to 35"},
		{"short backups in prod", "prod", prodWith("cinegit:database", `{"backupRetentionDays":7}`), "cinegit:database.backupRetentionDays", "at least 14"},
		{"malformed backup window", "dev", db(`{"backupWindow":"3:00-4:00"}`), "cinegit:database.backupWindow", "hh24:mi-hh24:mi"},
		{"backup window too short", "dev", db(`{"backupWindow":"03:00-03:15"}`), "cinegit:database.backupWindow", "at least 30 minutes"},
		{"malformed maintenance window", "dev", db(`{"maintenanceWindow":"Sunday 05:00"}`), "cinegit:database.maintenanceWindow", "ddd:hh24:mi-ddd:hh24:mi"},
		{"capitalised maintenance day", "dev", db(`{"maintenanceWindow":"Sun:05:00-Sun:06:00"}`), "cinegit:database.maintenanceWindow", "lowercase"},
		{"maintenance window too long", "dev", db(`{"maintenanceWindow":"sun:05:00-tue:06:00"}`), "cinegit:database.maintenanceWindow", "24 hours"},
		{"overlapping windows", "dev", db(`{"backupWindow":"05:30-06:30","maintenanceWindow":"sun:05:00-sun:06:00"}`), "cinegit:database.maintenanceWindow", "does not overlap"},
		{"overlap across midnight", "dev", db(`{"backupWindow":"23:30-00:30","maintenanceWindow":"mon:00:00-mon:01:00"}`), "cinegit:database.maintenanceWindow", "does not overlap"},
		{"overlap across the week's end", "dev", db(`{"backupWindow":"00:10-00:50","maintenanceWindow":"sun:23:30-mon:00:30"}`), "cinegit:database.maintenanceWindow", "does not overlap"},
		{"single-AZ database in prod", "prod", prodWith("cinegit:database", `{"multiAz":false}`), "cinegit:database.multiAz", "true for stack \"prod\""},
		{"single-AZ database in staging", "staging", with("cinegit:network", threeAZs, "cinegit:database", `{"multiAz":false}`), "cinegit:database.multiAz", "true for stack \"staging\""},
		{"prod without deletion protection", "prod", prodWith("cinegit:database", `{"deletionProtection":false}`), "cinegit:database.deletionProtection", "true"},
		{"staging without final snapshot", "staging", with("cinegit:network", threeAZs, "cinegit:database", `{"finalSnapshot":false}`), "cinegit:database.finalSnapshot", "true"},
		{"slow statement logging off", "dev", db(`{"slowStatementMs":-1}`), "cinegit:database.slowStatementMs", "1 to 3600000"},
		{"bad database log retention", "dev", db(`{"logRetentionDays":10}`), "cinegit:database.logRetentionDays", "retention values"},
		{"bad Performance Insights retention", "dev", db(`{"performanceInsightsRetentionDays":30}`), "cinegit:database.performanceInsightsRetentionDays", "multiple of 31"},
		{"enhanced monitoring interval", "dev", db(`{"monitoringIntervalSeconds":20}`), "cinegit:database.monitoringIntervalSeconds", "1, 5, 10, 15, 30 or 60"},
		{"unknown database field", "dev", db(`{"password":"hunter2"}`), "cinegit:database.password", "unknown field"},
		// cache
		{"unsupported Redis version", "dev", cache(`{"engine":"redis","engineVersion":"6.2"}`), "cinegit:cache.engineVersion", "supported redis version: 7.0, 7.1"},
		{"cache restore without a label", "dev", cache(`{"restore":{"snapshotName":"automatic.cinegit-dev-cache-2026-12-03-02-00"}}`), "cinegit:cache.restore.label", "1-12 lowercase"},
		{"cache restore without a snapshot", "dev", cache(`{"restore":{"label":"r20261203"}}`), "cinegit:cache.restore.snapshotName", "ElastiCache snapshot name"},
		{"cache restore from an ARN", "dev", cache(`{"restore":{"label":"r1","snapshotName":"arn:aws:elasticache:us-east-1:123456789012:snapshot:s1"}}`), "cinegit:cache.restore.snapshotName", "ElastiCache snapshot name"},
		{"misspelled cache restore field", "dev", cache(`{"restore":{"label":"r1","snapshotIdentifier":"s1"}}`), "cinegit:cache.restore.snapshotIdentifier", "unknown field"},
		{"Redis version without minor", "dev", cache(`{"engine":"redis","engineVersion":"7"}`), "cinegit:cache.engineVersion", "7.0, 7.1"},
		{"a Redis version under Valkey", "dev", cache(`{"engineVersion":"7.1"}`), "cinegit:cache.engineVersion", "supported valkey version: 7.2, 8.0, 8.1, 8.2"},
		{"unknown engine", "dev", cache(`{"engine":"memcached"}`), "cinegit:cache.engine", "valkey or redis"},
		{"node type without cache prefix", "dev", cache(`{"nodeType":"r7g.large"}`), "cinegit:cache.nodeType", "cache.<family>.<size>"},
		{"node type of the wrong service", "dev", cache(`{"nodeType":"db.r7g.large"}`), "cinegit:cache.nodeType", "cache.<family>.<size>"},
		{"too many nodes", "dev", cache(`{"nodeCount":7}`), "cinegit:cache.nodeCount", "1 to 6"},
		{"single node in prod", "prod", prodWith("cinegit:cache", `{"nodeCount":1}`), "cinegit:cache.nodeCount", "at least 2"},
		{"single node in staging", "staging", with("cinegit:network", threeAZs, "cinegit:cache", `{"nodeCount":1}`), "cinegit:cache.nodeCount", "multi-AZ"},
		{"snapshots beyond ElastiCache's limit", "dev", cache(`{"snapshotRetentionDays":40}`), "cinegit:cache.snapshotRetentionDays", "1 to 35"},
		{"snapshot window too short", "dev", cache(`{"snapshotWindow":"02:00-02:30"}`), "cinegit:cache.snapshotWindow", "at least 60 minutes"},
		{"cache maintenance window too short", "dev", cache(`{"maintenanceWindow":"sun:05:00-sun:05:30"}`), "cinegit:cache.maintenanceWindow", "60 minutes"},
		{"cache windows overlap", "dev", cache(`{"snapshotWindow":"05:00-06:00","maintenanceWindow":"wed:05:30-wed:06:30"}`), "cinegit:cache.maintenanceWindow", "does not overlap"},
		{"bad cache log retention", "dev", cache(`{"logRetentionDays":2}`), "cinegit:cache.logRetentionDays", "retention values"},
		{"unknown eviction policy", "dev", cache(`{"maxmemoryPolicy":"lru"}`), "cinegit:cache.maxmemoryPolicy", "volatile-lru"},
		{"recovery window Secrets Manager refuses", "dev", cache(`{"authSecretRecoveryWindowDays":3}`), "cinegit:cache.authSecretRecoveryWindowDays", "7 to 30"},
		{"immediate secret deletion in prod", "prod", prodWith("cinegit:cache", `{"authSecretRecoveryWindowDays":0}`), "cinegit:cache.authSecretRecoveryWindowDays", "for stack \"prod\""},
		{"auth token in config", "dev", cache(`{"authToken":"0123456789abcdef"}`), "cinegit:cache.authToken", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.stack, tt.raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}

func TestWindowOverlap(t *testing.T) {
	tests := []struct {
		daily, weekly string
		overlap       bool
	}{
		{"03:00-04:00", "sun:05:00-sun:06:00", false},
		{"03:00-04:00", "sun:04:00-sun:05:00", false}, // touching is not overlapping
		{"03:00-04:00", "sun:03:59-sun:05:00", true},
		{"22:00-02:00", "tue:01:00-tue:03:00", true}, // daily window past midnight
		{"22:00-02:00", "tue:02:00-tue:03:00", false},
		{"00:00-00:30", "sun:23:00-mon:00:15", true}, // weekly window past the week's end
		{"12:00-13:00", "sat:13:00-sun:12:00", false},
	}
	for _, tt := range tests {
		d, _ := parseDaily(tt.daily)
		w, ok := parseWeekly(tt.weekly)
		if !ok {
			t.Fatalf("%s did not parse", tt.weekly)
		}
		if got := overlaps(d, w); got != tt.overlap {
			t.Errorf("%s vs %s: overlap %v, want %v", tt.daily, tt.weekly, got, tt.overlap)
		}
	}
}
