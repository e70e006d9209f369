package cinegit

import rego.v1

# Data stores and stateful resources
# ==================================
#
# The environment of a resource is its `environment` tag (deny_required_tags makes sure it is
# there). Staging holds production-like data and rehearses production changes, so its data
# stores are as hard to lose as production's; dev's are disposable.

# durable_environments keep their data stores' deletion protection and backups.
durable_environments := {"staging", "prod"}

# data_kept_environments keep their buckets' contents through a destroy; the others empty them
# by their stack files' choice (docs/destroy.md).
data_kept_environments := {"prod"}

# backup_problems lists what keeps data store r from being restorable.
backup_problems(r) := rds_backups_off(r) | rds_final_snapshot_skipped(r) if {
	r.__type == "aws:rds/instance:Instance"
}

backup_problems(r) := {"snapshotRetentionLimit is not positive (no daily snapshots)"} if {
	r.__type == "aws:elasticache/replicationGroup:ReplicationGroup"
	not positive(object.get(r, "snapshotRetentionLimit", 0))
}

rds_backups_off(r) := {"backupRetentionPeriod is not positive (automated backups are off)"} if {
	not positive(object.get(r, "backupRetentionPeriod", 0))
} else := set()

rds_final_snapshot_skipped(r) := {"skipFinalSnapshot is true (deleting it would keep no snapshot)"} if {
	is_true(object.get(r, "skipFinalSnapshot", false))
} else := set()

# METADATA
# title: Staging and prod databases have deletion protection
# description: >-
#   RDS instances in staging and prod set deletionProtection, so that neither a mistaken
#   replacement nor a console click can delete them.
deny_datastore_deletion_protection contains msg if {
	input.__type == "aws:rds/instance:Instance"
	environment(input) in durable_environments
	not is_true(object.get(input, "deletionProtection", false))
	not excepted(input, "deny_datastore_deletion_protection")
	msg := sprintf("%s: deletionProtection is not true in %s", [describe(input), environment(input)])
}

# METADATA
# title: Staging and prod data stores are backed up
# description: >-
#   In staging and prod, RDS instances keep automated backups (backupRetentionPeriod > 0) and a
#   final snapshot (skipFinalSnapshot not true); ElastiCache replication groups keep daily
#   snapshots (snapshotRetentionLimit > 0).
deny_datastore_backups contains msg if {
	input.__type in {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup"}
	environment(input) in durable_environments
	problems := backup_problems(input)
	count(problems) > 0
	not excepted(input, "deny_datastore_backups")
	msg := sprintf("%s in %s: %s", [describe(input), environment(input), concat("; ", sort(problems))])
}

# stateful_types hold data that a replacement or a `pulumi destroy` would lose.
stateful_types := {
	"aws:rds/instance:Instance",
	"aws:rds/cluster:Cluster",
	"aws:elasticache/replicationGroup:ReplicationGroup",
	"aws:s3/bucketV2:BucketV2",
	"aws:kms/key:Key",
	"aws:efs/fileSystem:FileSystem",
}

# METADATA
# title: Prod stateful resources are protected
# description: >-
#   In prod, databases, caches, buckets, KMS keys and file systems carry Pulumi's protect option,
#   so that a destroy or a replacing change fails instead of deleting data (config protect: true).
deny_prod_unprotected contains msg if {
	stateful_types[input.__type]
	environment(input) == "prod"
	not input.__options.protect
	not excepted(input, "deny_prod_unprotected")
	msg := sprintf("%s is not protected (resource option protect) in prod", [describe(input)])
}
