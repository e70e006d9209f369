package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/mediastore"
	"github.com/cinegit/infrastructure/pkg/plan"
)

// backupWant is what each stack file promises about backups, replication and off-hours.
var backupWant = map[string]struct {
	retention, continuous float64 // days; continuous = database.backupRetentionDays
	copyRegion            string  // "" for no copy
	copyRetention         float64
	locked                bool
	replicaClass          string // "" for no replica
	rtc                   bool
	offHours              bool
}{
	"dev":     {7, 4, "", 0, false, "", false, true},
	"staging": {14, 7, "us-west-2", 7, false, "STANDARD_IA", false, false},
	"prod":    {35, 30, "us-west-2", 35, true, "GLACIER_IR", true, false},
}

func TestBackupsPerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := backupWant[r.Stack]
		comp := r.Component("cinegit:backup:Backup")
		if comp == nil {
			t.Fatal("no backup component")
		}
		db := one(t, r, "aws:rds/instance:Instance")
		media := mediaBucket(t, r, "media")
		sels := r.ByType("aws:backup/selection:Selection")
		if len(sels) != 3 {
			t.Fatalf("%d selections, want the database's (daily and continuous plans) and the media bucket's", len(sels))
		}
		covered := map[string]bool{}
		for _, s := range sels {
			for _, u := range s.PropertyDependencies["resources"] {
				covered[u] = true
			}
		}
		if !covered[db.URN] || !covered[media.URN] || len(covered) != 2 {
			t.Errorf("selections cover %v, want the database %s and the media bucket %s", covered, db.URN, media.URN)
		}
		vaults := r.ByType("aws:backup/vault:Vault")
		wantVaults := 1
		if w.copyRegion != "" {
			wantVaults = 2
		}
		if len(vaults) != wantVaults {
			t.Errorf("%d vaults, want %d", len(vaults), wantVaults)
		}
		if n := len(r.ByType("aws:backup/vaultLockConfiguration:VaultLockConfiguration")); (n > 0) != w.locked {
			t.Errorf("%d vault locks, locked %v", n, w.locked)
		}
		for _, p := range r.ByType("aws:backup/plan:Plan") {
			for _, raw := range asSlice(p.Input("rules")) {
				rule := raw.(map[string]any)
				del := rule["lifecycle"].(map[string]any)["deleteAfter"]
				switch rule["ruleName"] {
				case "daily":
					if del != w.retention {
						t.Errorf("%s daily retention %v, want %v", p.Name, del, w.retention)
					}
					copies := asSlice(rule["copyActions"])
					if (len(copies) == 1) != (w.copyRegion != "") {
						t.Fatalf("%s copies %v, want a copy to %q", p.Name, copies, w.copyRegion)
					}
					if w.copyRegion != "" && !r.Preview {
						c := copies[0].(map[string]any)
						if !strings.Contains(fmt.Sprint(c["destinationVaultArn"]), ":"+w.copyRegion+":") || c["lifecycle"].(map[string]any)["deleteAfter"] != w.copyRetention {
							t.Errorf("%s copy %v", p.Name, c)
						}
					}
				case "continuous":
					if del != w.continuous || rule["enableContinuousBackup"] != true {
						t.Errorf("%s continuous rule %v", p.Name, rule)
					}
				}
			}
		}
		// scripts/restore-media-backup.sh restores with the role the selections back up with.
		role := r.Named("aws:iam/role:Role", "backup")
		if got := fmt.Sprint(r.Exports["backupRoleArn"].Value); !r.Preview && (role == nil || !strings.HasSuffix(got, ":role/"+role.InputString("name"))) {
			t.Errorf("backupRoleArn export %s", got)
		}
		// The scratch file system is not backed up (see pkg/backup's package comment).
		if bp := one(t, r, "aws:efs/backupPolicy:BackupPolicy"); bp.InputString("backupPolicy.status") != "DISABLED" {
			t.Errorf("EFS scratch backups %v", bp.Input("backupPolicy"))
		}
	})
}

func TestMediaReplicationPerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := backupWant[r.Stack]
		cfgs := r.ByType("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
		copyBack := r.Named("aws:iam/role:Role", "mediastore-copy-back")
		if w.replicaClass == "" {
			if len(cfgs) != 0 || r.Named("aws:s3/bucketV2:BucketV2", "mediastore-replica") != nil || copyBack != nil {
				t.Errorf("%s replicates media", r.Stack)
			}
			if r.Exports["mediaCopyBackRoleArn"].Value != "" || r.Exports["mediaCopyBackReportPrefix"].Value != "" {
				t.Errorf("copy-back outputs without a replica: %v %v", r.Exports["mediaCopyBackRoleArn"], r.Exports["mediaCopyBackReportPrefix"])
			}
			return
		}
		if len(cfgs) != 1 {
			t.Fatalf("%d replication configurations", len(cfgs))
		}
		replica := mediaBucket(t, r, "replica")
		provider := r.ByURN(harness.ProviderURN(replica.Provider))
		if provider == nil || provider.InputString("region") != w.copyRegion {
			t.Errorf("replica made with provider %v, want one in %s", replica.Provider, w.copyRegion)
		}
		dest := cfgs[0].Input("rules[0].destination").(map[string]any)
		if dest["storageClass"] != w.replicaClass || (dest["replicationTime"] != nil) != w.rtc {
			t.Errorf("destination %v", dest)
		}
		if r.Exports["mediaReplicaBucketName"].Value != replica.InputString("bucket") {
			t.Errorf("mediaReplicaBucketName export %v", r.Exports["mediaReplicaBucketName"])
		}
		// What scripts/copy-back-media.sh reads: the role its job runs as and the report prefix.
		if copyBack == nil || !strings.HasSuffix(fmt.Sprint(r.Exports["mediaCopyBackRoleArn"].Value), ":role/"+copyBack.InputString("name")) ||
			r.Exports["mediaCopyBackReportPrefix"].Value != mediastore.CopyBackReportPrefix {
			t.Errorf("copy-back outputs %v %v", r.Exports["mediaCopyBackRoleArn"], r.Exports["mediaCopyBackReportPrefix"])
		}
	})
}

func TestOffHoursPerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := backupWant[r.Stack]
		comp := r.Component("cinegit:offhours:OffHours")
		if (comp != nil) != w.offHours {
			t.Fatalf("off-hours component present %v, want %v", comp != nil, w.offHours)
		}
		for _, ng := range r.ByType("aws:eks/nodeGroup:NodeGroup") {
			if got := len(ng.IgnoreChanges) == 3; got != w.offHours {
				t.Errorf("%s ignoreChanges %v: min and max are the schedule's only with off-hours", ng.Name, ng.IgnoreChanges)
			}
		}
		if !w.offHours {
			return
		}
		// Each node group's own Auto Scaling group is scheduled, and the database it stops is
		// the stack's.
		for _, s := range r.ByType("aws:autoscaling/schedule:Schedule") {
			group := strings.Split(strings.TrimPrefix(s.Name, "offhours-"), "-")[0]
			ng := r.Named("aws:eks/nodeGroup:NodeGroup", "cluster-"+group)
			if ng == nil || !r.DependsOn(s, ng) {
				t.Errorf("%s does not act on the %s node group's Auto Scaling group", s.Name, group)
			}
		}
		db := one(t, r, "aws:rds/instance:Instance")
		for _, s := range r.ByType("aws:scheduler/schedule:Schedule") {
			if !r.DependsOn(s, db) {
				t.Errorf("%s does not name the stack's database", s.Name)
			}
		}
	})
}

func TestRestoreConfigReachesTheInstance(t *testing.T) {
	for _, tt := range []struct {
		name, restore string
		check         func(t *testing.T, db *harness.Resource)
	}{
		{"snapshot", `{"label":"r20261203","snapshotIdentifier":"awsbackup:job-1234"}`, func(t *testing.T, db *harness.Resource) {
			if db.InputString("snapshotIdentifier") != "awsbackup:job-1234" {
				t.Errorf("snapshotIdentifier %v", db.Input("snapshotIdentifier"))
			}
		}},
		{"point in time", `{"label":"pitr","pointInTime":{"sourceDbInstanceIdentifier":"cinegit-staging-postgres","restoreTime":"2026-12-03T04:05:00Z"}}`, func(t *testing.T, db *harness.Resource) {
			if db.InputString("restoreToPointInTime.sourceDbInstanceIdentifier") != "cinegit-staging-postgres" || db.InputString("restoreToPointInTime.restoreTime") != "2026-12-03T04:05:00Z" {
				t.Errorf("restoreToPointInTime %v", db.Input("restoreToPointInTime"))
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: "staging"})
			if err != nil {
				t.Fatal(err)
			}
			var db map[string]any
			if err := json.Unmarshal([]byte(raw["cinegit:database"]), &db); err != nil {
				t.Fatal(err)
			}
			db["restore"] = json.RawMessage(tt.restore)
			text, err := json.Marshal(db)
			if err != nil {
				t.Fatal(err)
			}
			r, err := harness.Run(program, harness.Options{Dir: ".", Stack: "staging", Override: map[string]string{"cinegit:database": string(text)}})
			if err != nil {
				t.Fatal(err)
			}
			inst := one(t, r, "aws:rds/instance:Instance")
			tt.check(t, inst)
			if !strings.HasSuffix(inst.InputString("identifier"), "-postgres-"+strings.Split(strings.Split(tt.restore, `"label":"`)[1], `"`)[0]) {
				t.Errorf("identifier %s", inst.InputString("identifier"))
			}
			if inst.Input("dbName") != nil || inst.Input("username") != nil {
				t.Errorf("a restore takes the name and user from the backup: %v %v", inst.Input("dbName"), inst.Input("username"))
			}
		})
	}
}

// TestCacheRestoreIsAPlannedReplacement: a warm start from a snapshot is a pull request that
// adds cache.restore to a stack file. `plan --diff` against the committed file shows exactly
// that: the replication group replaced (its new identifier and the snapshot force it), which
// the diff blocks as a stateful replacement until --allow-replace, and nothing else replaced
// or deleted; the infrastructure-outputs ConfigMap follows the new group's endpoints in the
// same update (as does the AUTH secret, whose value the plan does not show).
func TestCacheRestoreIsAPlannedReplacement(t *testing.T) {
	const group = "aws:elasticache/replicationGroup:ReplicationGroup"
	for _, stack := range []string{"staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			edited := runEdited(t, stack, "cache", map[string]any{"restore": map[string]any{
				"label": "r20261203", "snapshotName": "automatic.cinegit-" + stack + "-cache-2026-12-03-02-00",
			}})
			g := one(t, edited, group)
			if g.InputString("replicationGroupId") != "cinegit-"+stack+"-cache-r20261203" || g.InputString("snapshotName") != "automatic.cinegit-"+stack+"-cache-2026-12-03-02-00" {
				t.Errorf("restored group %v from %v", g.Input("replicationGroupId"), g.Input("snapshotName"))
			}
			d, err := plan.DiffResults(run(t, stack, false), edited)
			if err != nil {
				t.Fatal(err)
			}
			// The outputs ConfigMap carries the new endpoints: updated or replaced, as
			// pkg/plan's replacement rules for its data say; nothing else changes.
			const outputs = "kubernetes:core/v1:ConfigMap::gitops-outputs"
			var blocked []string
			for _, ch := range d.Changes {
				id := ch.Type + "::" + ch.Name
				switch {
				case ch.Type == group:
					slices.Sort(ch.ReplacedBy)
					if ch.Action != "replace" || !slices.Equal(ch.ReplacedBy, []string{"replicationGroupId", "snapshotName"}) || !ch.Blocked {
						t.Errorf("the group: %s because of %v (blocked %v), want a blocked replacement because of replicationGroupId and snapshotName", ch.Action, ch.ReplacedBy, ch.Blocked)
					}
					blocked = append(blocked, id)
				case id == outputs && (ch.Action == "update" || ch.Action == "replace") && !ch.Blocked:
				default:
					t.Errorf("unexpected %s of %s (blocked %v)", ch.Action, id, ch.Blocked)
				}
			}
			if len(blocked) != 1 || d.Blocked != 1 {
				t.Errorf("blocked %d, want the replication group only (%v)", d.Blocked, blocked)
			}
			t.Logf("%s: %v", stack, d.Counts())
		})
	}
}
