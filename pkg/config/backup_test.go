package config

import (
	"testing"
)

func TestBackupOffHoursAndRestoreDefaults(t *testing.T) {
	c, err := Parse("dev", base())
	if err != nil {
		t.Fatal(err)
	}
	b := c.Backup
	if !b.IsEnabled() || !b.Continuous() || b.Schedule != "cron(0 7 ? * * *)" || b.RetentionDays != 35 {
		t.Errorf("backup defaults: %+v", b)
	}
	if b.SecondaryRegion != "" || b.CopyRetentionDays != 0 || b.VaultLock != nil || b.MediaReplication != nil {
		t.Errorf("nothing leaves the region by default: %+v", b)
	}
	if o := c.OffHours; o.Enabled || o.TimeZone != "UTC" || o.StartAt != "07:00" || o.StopAt != "20:00" || o.WorkingDays != "MON-FRI" {
		t.Errorf("off-hours defaults: %+v", o)
	}
	if c.Database.Restore != nil {
		t.Errorf("restore by default: %+v", c.Database.Restore)
	}
}

func TestValidBackupConfigurations(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		raw   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"prod copies, locks and replicates", "prod", prodWith("cinegit:database", `{"backupRetentionDays":30}`,
			"cinegit:backup", `{"secondaryRegion":"us-west-2","copyRetentionDays":35,"vaultLock":{"mode":"compliance","minRetentionDays":7,"maxRetentionDays":400},"mediaReplication":{"replicationTimeControl":true}}`),
			func(t *testing.T, c *Config) {
				b := c.Backup
				if b.VaultLock.ChangeableForDays != 3 || b.MediaReplication.StorageClass != "STANDARD_IA" || !b.MediaReplication.ReplicationTimeControl {
					t.Errorf("defaults inside: %+v %+v", b.VaultLock, b.MediaReplication)
				}
			}},
		{"governance lock", "dev", with("cinegit:backup", `{"retentionDays":7,"vaultLock":{"mode":"governance","minRetentionDays":1}}`), func(t *testing.T, c *Config) {
			if c.Backup.VaultLock.ChangeableForDays != 0 {
				t.Errorf("governance has no grace time: %+v", c.Backup.VaultLock)
			}
		}},
		{"backups off", "dev", with("cinegit:backup", `{"enabled":false}`), func(t *testing.T, c *Config) {
			if c.Backup.IsEnabled() || c.Backup.Continuous() {
				t.Errorf("off: %+v", c.Backup)
			}
		}},
		{"off-hours in Berlin", "dev", with("cinegit:offHours", `{"enabled":true,"timeZone":"Europe/Berlin","startAt":"06:30","stopAt":"21:00","workingDays":"MON-THU"}`), func(t *testing.T, c *Config) {
			if h, m := Clock(c.OffHours.StartAt); h != 6 || m != 30 {
				t.Errorf("Clock(%s) = %d:%d", c.OffHours.StartAt, h, m)
			}
		}},
		{"restore from a snapshot", "dev", with("cinegit:database", `{"restore":{"label":"r20261203","snapshotIdentifier":"awsbackup:job-1234-abcd"}}`), func(t *testing.T, c *Config) {
			if c.Database.Restore.SnapshotIdentifier != "awsbackup:job-1234-abcd" {
				t.Errorf("restore %+v", c.Database.Restore)
			}
		}},
		{"restore to a point in time", "dev", with("cinegit:database", `{"restore":{"label":"pitr","pointInTime":{"sourceDbiResourceId":"db-ABCDEF0123","restoreTime":"2026-12-03T04:05:00Z"}}}`), func(t *testing.T, c *Config) {
			if p := c.Database.Restore.PointInTime; p.SourceDbiResourceID != "db-ABCDEF0123" || p.RestoreTime != "2026-12-03T04:05:00Z" {
				t.Errorf("restore %+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.stack, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestInvalidBackupConfigurationsNameTheKey(t *testing.T) {
	backup := func(v string) map[string]string { return with("cinegit:backup", v) }
	restore := func(v string) map[string]string { return with("cinegit:database", `{"restore":`+v+`}`) }
	offHours := func(v string) map[string]string { return with("cinegit:offHours", v) }
	tests := []struct {
		name, stack string
		raw         map[string]string
		key         string
		allowed     string
	}{
		{"schedule not a cron", "dev", backup(`{"schedule":"daily"}`), "cinegit:backup.schedule", "six fields"},
		{"no retention", "dev", backup(`{"retentionDays":-1}`), "cinegit:backup.retentionDays", "1 to 36500"},
		{"copy without a region", "dev", backup(`{"copyRetentionDays":7}`), "cinegit:backup.copyRetentionDays", "secondaryRegion"},
		{"replication without a region", "dev", backup(`{"mediaReplication":{}}`), "cinegit:backup.mediaReplication", "secondaryRegion"},
		{"copy to the same region", "dev", backup(`{"secondaryRegion":"us-east-1","copyRetentionDays":7}`), "cinegit:backup.secondaryRegion", "other than aws:region"},
		{"copy to an unknown region", "dev", backup(`{"secondaryRegion":"us-west-9","copyRetentionDays":7}`), "cinegit:backup.secondaryRegion", "us-west-2"},
		{"copy with backups off", "dev", backup(`{"enabled":false,"secondaryRegion":"us-west-2","copyRetentionDays":7}`), "cinegit:backup.copyRetentionDays", "enabled is false"},
		{"replica in a cold class", "dev", backup(`{"secondaryRegion":"us-west-2","mediaReplication":{"storageClass":"DEEP_ARCHIVE"}}`), "cinegit:backup.mediaReplication.storageClass", "GLACIER_IR"},
		{"unknown lock mode", "dev", backup(`{"vaultLock":{"mode":"strict","minRetentionDays":1}}`), "cinegit:backup.vaultLock.mode", "compliance"},
		{"compliance grace time too short", "dev", backup(`{"vaultLock":{"mode":"compliance","minRetentionDays":1,"changeableForDays":1}}`), "cinegit:backup.vaultLock.changeableForDays", "3 to 36500"},
		{"governance with a grace time", "dev", backup(`{"vaultLock":{"mode":"governance","minRetentionDays":1,"changeableForDays":3}}`), "cinegit:backup.vaultLock.changeableForDays", "governance"},
		{"lock without a minimum", "dev", backup(`{"vaultLock":{"mode":"governance"}}`), "cinegit:backup.vaultLock.minRetentionDays", "at least 1"},
		{"lock maximum below its minimum", "dev", backup(`{"vaultLock":{"mode":"governance","minRetentionDays":7,"maxRetentionDays":3}}`), "cinegit:backup.vaultLock.maxRetentionDays", "at least minRetentionDays"},
		{"retention outside the lock", "dev", backup(`{"retentionDays":5,"vaultLock":{"mode":"governance","minRetentionDays":7}}`), "cinegit:backup.retentionDays", "retention bounds"},
		{"copies outside the lock", "dev", backup(`{"secondaryRegion":"us-west-2","copyRetentionDays":500,"vaultLock":{"mode":"governance","minRetentionDays":7,"maxRetentionDays":400}}`), "cinegit:backup.copyRetentionDays", "retention bounds"},
		{"continuous backup outside the lock", "dev", with("cinegit:database", `{"backupRetentionDays":3}`, "cinegit:backup", `{"vaultLock":{"mode":"governance","minRetentionDays":7}}`), "cinegit:database.backupRetentionDays", "continuous backup"},
		{"unknown backup field", "dev", backup(`{"crossRegion":true}`), "cinegit:backup.crossRegion", "unknown field"},
		// restore
		{"restore without a label", "dev", restore(`{"snapshotIdentifier":"snap-1"}`), "cinegit:database.restore.label", "1-12 lowercase"},
		{"restore from both", "dev", restore(`{"label":"r1","snapshotIdentifier":"snap-1","pointInTime":{"sourceDbInstanceIdentifier":"db1","useLatestRestorableTime":true}}`), "cinegit:database.restore", "exactly one of snapshotIdentifier and pointInTime"},
		{"restore from nothing", "dev", restore(`{"label":"r1"}`), "cinegit:database.restore", "exactly one of snapshotIdentifier and pointInTime"},
		{"malformed snapshot", "dev", restore(`{"label":"r1","snapshotIdentifier":"1 bad"}`), "cinegit:database.restore.snapshotIdentifier", "DB snapshot identifier"},
		{"point in time with two sources", "dev", restore(`{"label":"r1","pointInTime":{"sourceDbInstanceIdentifier":"db1","sourceDbiResourceId":"db-ABC","useLatestRestorableTime":true}}`), "cinegit:database.restore.pointInTime", "exactly one of sourceDbInstanceIdentifier"},
		{"point in time without a time", "dev", restore(`{"label":"r1","pointInTime":{"sourceDbInstanceIdentifier":"db1"}}`), "cinegit:database.restore.pointInTime", "exactly one of restoreTime"},
		{"point in time with two times", "dev", restore(`{"label":"r1","pointInTime":{"sourceDbInstanceIdentifier":"db1","restoreTime":"2026-12-03T04:05:00Z","useLatestRestorableTime":true}}`), "cinegit:database.restore.pointInTime", "exactly one of restoreTime"},
		{"restore time not UTC", "dev", restore(`{"label":"r1","pointInTime":{"sourceDbInstanceIdentifier":"db1","restoreTime":"2026-12-03T04:05:00+01:00"}}`), "cinegit:database.restore.pointInTime.restoreTime", "UTC time in RFC 3339"},
		{"bad resource id", "dev", restore(`{"label":"r1","pointInTime":{"sourceDbiResourceId":"abc","useLatestRestorableTime":true}}`), "cinegit:database.restore.pointInTime.sourceDbiResourceId", "db- followed by"},
		// off-hours
		{"off-hours in prod", "prod", prodWith("cinegit:offHours", `{"enabled":true}`), "cinegit:offHours.enabled", "false for stack \"prod\""},
		{"off-hours in staging", "staging", with("cinegit:network", threeAZs, "cinegit:offHours", `{"enabled":true}`), "cinegit:offHours.enabled", "must stay up"},
		{"unknown time zone", "dev", offHours(`{"timeZone":"Mars/Olympus"}`), "cinegit:offHours.timeZone", "IANA"},
		{"start after stop", "dev", offHours(`{"startAt":"21:00","stopAt":"20:00"}`), "cinegit:offHours.stopAt", "later in the day"},
		{"bad clock time", "dev", offHours(`{"startAt":"7am"}`), "cinegit:offHours.startAt", "hh:mm"},
		{"working days wrapping the week", "dev", offHours(`{"workingDays":"MON-SUN"}`), "cinegit:offHours.workingDays", "run forward"},
		{"bad working days", "dev", offHours(`{"workingDays":"weekdays"}`), "cinegit:offHours.workingDays", "MON-FRI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.stack, tt.raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}
