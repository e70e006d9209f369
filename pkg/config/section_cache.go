package config

import (
	"regexp"
	"slices"
	"strings"
)

// CacheConfig is the `cache` section: the ElastiCache replication group (Valkey or Redis OSS)
// that holds sessions and diff previews.
type CacheConfig struct {
	// Engine is valkey (ElastiCache's current engine, API compatible with Redis OSS 7.2) or
	// redis. A Redis OSS 7 group moves to Valkey in place, keeping its data and endpoints
	// ("How to trigger cross-engine upgrade from Redis OSS to Valkey", ElastiCache user guide,
	// https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/engine-versions.html). Default valkey.
	Engine string `json:"engine"`
	// EngineVersion is the engine's major.minor (see CacheEngineVersions). Default "8.2" for
	// valkey, "7.1" for redis.
	EngineVersion string `json:"engineVersion"`
	// ApplyImmediately makes ElastiCache apply modifications (node type, engine version,
	// parameter group) at once instead of in the maintenance window. Default true, false in
	// prod. Always set after Parse.
	ApplyImmediately *bool `json:"applyImmediately"`
	// NodeType is the ElastiCache node type, e.g. cache.t4g.micro or cache.r7g.large.
	// Default cache.t4g.micro.
	NodeType string `json:"nodeType"`
	// NodeCount is the number of nodes: one primary and NodeCount-1 replicas (1-6). Two or
	// more turn on automatic failover and multi-AZ; staging and prod need at least two.
	// Default 2 in staging and prod, 1 elsewhere.
	NodeCount int `json:"nodeCount"`
	// SnapshotRetentionDays is how long daily snapshots are kept (1-35: snapshots stay on).
	// Default 1.
	SnapshotRetentionDays int `json:"snapshotRetentionDays"`
	// SnapshotWindow is the daily UTC snapshot window, hh24:mi-hh24:mi, at least 60 minutes.
	// Default 02:00-03:00.
	SnapshotWindow string `json:"snapshotWindow"`
	// MaintenanceWindow is the weekly UTC maintenance window, ddd:hh24:mi-ddd:hh24:mi, 60
	// minutes to 24 hours, not overlapping SnapshotWindow. Default sun:05:00-sun:06:00.
	MaintenanceWindow string `json:"maintenanceWindow"`
	// LogRetentionDays is the retention of the slow-log and engine-log groups (a CloudWatch
	// Logs value). Default 30.
	LogRetentionDays int `json:"logRetentionDays"`
	// MaxmemoryPolicy is Redis's eviction policy. Default volatile-lru: only keys with a TTL
	// (sessions, previews) are evicted.
	MaxmemoryPolicy string `json:"maxmemoryPolicy"`
	// AuthSecretRecoveryWindowDays is how long a deleted AUTH token secret can be restored:
	// 0 (deleted at once, so a destroyed stack can be recreated under the same name) or 7-30;
	// prod needs 7-30. Default 30 in staging and prod, 0 elsewhere. Always set after Parse.
	AuthSecretRecoveryWindowDays *int `json:"authSecretRecoveryWindowDays"`
	// Restore starts the cache warm from a snapshot instead of empty: a new replication group
	// (cache-<label>) is created from the snapshot beside the current one, which Pulumi then
	// deletes (docs/restore.md). Keep it for the group's life: removing it replaces the group
	// again, with an empty one. Unset by default.
	Restore *CacheRestoreConfig `json:"restore"`
}

// CacheRestoreConfig is `cache.restore`.
type CacheRestoreConfig struct {
	// Label names the restore (1-12 lowercase letters and digits, e.g. "r20261203"); the
	// replication group becomes <project>-<stack>-cache-<label>, so that it can be created
	// while the current group still serves.
	Label string `json:"label"`
	// SnapshotName is the ElastiCache snapshot to create the group from, manual or automatic
	// (automatic.<group>-<date>), in the stack's region and encrypted with the cache's key.
	SnapshotName string `json:"snapshotName"`
}

// CacheEngineVersions are the versions CineGit runs per engine, each with its parameter group
// family (the engine and the major: valkey8, redis7; "Engine specific parameters", ElastiCache
// user guide). Every one supports changing in-transit encryption in place.
var CacheEngineVersions = map[string][]string{
	"valkey": {"7.2", "8.0", "8.1", "8.2"},
	"redis":  {"7.0", "7.1"},
}

// MaxmemoryPolicies are the eviction policies Redis accepts.
var MaxmemoryPolicies = []string{"volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction"}

var (
	cacheNodeType = regexp.MustCompile(`^cache\.[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$`)
	// A snapshot name starts with a letter and holds letters, digits, hyphens and, in the
	// names ElastiCache gives automatic snapshots, dots.
	cacheSnapshotName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.-]{0,254}$`)
)

func (c *CacheConfig) applyDefaults(env Env) {
	if c.Engine == "" {
		c.Engine = "valkey"
	}
	if c.EngineVersion == "" {
		c.EngineVersion = map[string]string{"valkey": "8.2", "redis": "7.1"}[c.Engine]
	}
	if c.ApplyImmediately == nil {
		c.ApplyImmediately = stackDefault(!env.Rules.DeferDataStoreChanges)
	}
	if c.NodeType == "" {
		c.NodeType = "cache.t4g.micro"
	}
	if c.NodeCount == 0 {
		c.NodeCount = 1
		if env.Rules.RequireHA {
			c.NodeCount = 2
		}
	}
	if c.AuthSecretRecoveryWindowDays == nil {
		c.AuthSecretRecoveryWindowDays = stackDefault(0)
		if env.Rules.RequireProtection {
			c.AuthSecretRecoveryWindowDays = stackDefault(30)
		}
	}
	if c.SnapshotRetentionDays == 0 {
		c.SnapshotRetentionDays = 1
	}
	if c.SnapshotWindow == "" {
		c.SnapshotWindow = "02:00-03:00"
	}
	if c.MaintenanceWindow == "" {
		c.MaintenanceWindow = "sun:05:00-sun:06:00"
	}
	if c.LogRetentionDays == 0 {
		c.LogRetentionDays = 30
	}
	if c.MaxmemoryPolicy == "" {
		c.MaxmemoryPolicy = "volatile-lru"
	}
}

func (c *CacheConfig) validate(p *problems, env Env) {
	if versions, ok := CacheEngineVersions[c.Engine]; !ok {
		p.add("cache.engine", c.Engine, "valkey or redis")
	} else if !slices.Contains(versions, c.EngineVersion) {
		p.add("cache.engineVersion", c.EngineVersion, "a supported %s version: %s", c.Engine, strings.Join(versions, ", "))
	}
	if !cacheNodeType.MatchString(c.NodeType) {
		p.add("cache.nodeType", c.NodeType, "an ElastiCache node type cache.<family>.<size>, e.g. cache.t4g.micro or cache.r7g.large")
	}
	switch {
	case c.NodeCount < 1 || c.NodeCount > 6:
		p.add("cache.nodeCount", c.NodeCount, "1 to 6 nodes (a primary and up to 5 replicas)")
	case env.Rules.RequireHA && c.NodeCount < 2:
		p.add("cache.nodeCount", c.NodeCount, "at least 2 for stack %q (multi-AZ with automatic failover needs a replica)", env.Stack)
	}
	if c.SnapshotRetentionDays < 1 || c.SnapshotRetentionDays > 35 {
		p.add("cache.snapshotRetentionDays", c.SnapshotRetentionDays, "1 to 35 days (ElastiCache's limit is 35; snapshots stay on)")
	}
	validateWindows(p, "cache.snapshotWindow", c.SnapshotWindow, "cache.maintenanceWindow", c.MaintenanceWindow, 60)
	if !validRetention(c.LogRetentionDays) {
		p.add("cache.logRetentionDays", c.LogRetentionDays, "one of CloudWatch Logs' retention values: %s", retentionList())
	}
	if !slices.Contains(MaxmemoryPolicies, c.MaxmemoryPolicy) {
		p.add("cache.maxmemoryPolicy", c.MaxmemoryPolicy, "one of %s", strings.Join(MaxmemoryPolicies, ", "))
	}
	if r := c.Restore; r != nil {
		if !restoreLabel.MatchString(r.Label) {
			p.add("cache.restore.label", r.Label, "1-12 lowercase letters and digits naming the restore, e.g. r20261203 (the replication group's identifier gets it as a suffix)")
		}
		if !cacheSnapshotName.MatchString(r.SnapshotName) {
			p.add("cache.restore.snapshotName", r.SnapshotName, "an ElastiCache snapshot name of the stack's region, e.g. automatic.cinegit-prod-cache-2026-12-03-02-00 or a manual snapshot's name")
		}
	}
	switch w := *c.AuthSecretRecoveryWindowDays; {
	case w != 0 && (w < 7 || w > 30):
		p.add("cache.authSecretRecoveryWindowDays", w, "0 (delete at once) or 7 to 30 days (Secrets Manager limits)")
	case env.Rules.RequireSecretRecovery && w == 0:
		p.add("cache.authSecretRecoveryWindowDays", w, "7 to 30 days for stack %q (a deleted secret stays restorable)", env.Stack)
	}
}
