package cinegit

import rego.v1

# Backups and replication off the primary region
# ==============================================
#
# Production's data stores must survive the loss of their region: every PostgreSQL instance
# and the media bucket (the bucket tagged purpose=media: customers' camera originals) are in an
# AWS Backup selection whose plan copies its recovery points to a vault in another region, and
# the media bucket replicates to a bucket in another region. Which stack is production is read
# from each resource's environment tag, never from the program.
#
# Relations, the same way s3.rego relates companions to buckets:
#   - a selection covers data store s when its `resources` input came from s
#     (propertyDependencies.resources holds s's URN), or holds s's known ARN;
#   - a selection belongs to the plan its planId came from (or whose id it holds);
#   - a copy action goes to another region when its destinationVaultArn is a known ARN of
#     another region or, while unknown (a preview), when a vault the plan's rules depend on is
#     made in another region;
#   - a replication configuration belongs to the bucket its `bucket` input names (the bucket
#     companion relation) and replicates to a bucket its rules depend on, in another region.
# A resource's region is its provider's `region`, else its own `region` output, else its ARN's.

backup_selection_type := "aws:backup/selection:Selection"

backup_plan_type := "aws:backup/plan:Plan"

backup_vault_type := "aws:backup/vault:Vault"

bucket_replication_type := "aws:s3/bucketReplicationConfig:BucketReplicationConfig"

resources_by_urn := {r.__urn: r | some r in input.resources}

# provider_regions maps each AWS provider's URN to its region.
provider_regions := {r.__urn: r.region |
	some r in input.resources
	r.__type == "pulumi:providers:aws"
	known_string(object.get(r, "region", null))
}

# region_of is the region resource r is made in.
region_of(r) := reg if {
	reg := provider_regions[r.__provider.urn]
} else := reg if {
	known_string(object.get(r, "region", null))
	reg := r.region
} else := reg if {
	known_string(object.get(r, "arn", null))
	reg := split(r.arn, ":")[3]
	reg != ""
}

# arn_region is the region field of a known ARN ("" for global ARNs such as S3's).
arn_region(arn) := split(arn, ":")[3] if known_string(arn)

# prod_data_store holds for production's PostgreSQL instances and media (originals) bucket.
prod_data_store(r) if {
	r.__type == "aws:rds/instance:Instance"
	environment(r) == "prod"
}

prod_data_store(r) if {
	r.__type == bucket_type
	environment(r) == "prod"
	object.get(r.tags, "purpose", "") == "media"
}

# input_sources are the URNs input key of r came from (all its dependencies when the engine
# did not say per property).
input_sources(r, key) := deps if {
	deps := object.get(object.get(r, "propertyDependencies", {}), key, [])
	count(deps) > 0
} else := object.get(r, "dependencies", [])

selection_covers(sel, s) if s.__urn in object.get(object.get(sel, "propertyDependencies", {}), "resources", [])

selection_covers(sel, s) if {
	known_string(object.get(s, "arn", null))
	s.arn in as_array(object.get(sel, "resources", []))
}

selection_plan(sel, p) if p.__urn in input_sources(sel, "planId")

selection_plan(sel, p) if {
	known_string(object.get(sel, "planId", null))
	sel.planId == object.get(p, "id", null)
}

# copies_elsewhere holds when a rule of plan p copies to a vault outside region.
copies_elsewhere(p, region) if {
	some rule in object.get(p, "rules", [])
	some action in object.get(rule, "copyActions", [])
	copy_destination_elsewhere(p, action, region)
}

copy_destination_elsewhere(_, action, region) if {
	dest := arn_region(object.get(action, "destinationVaultArn", null))
	dest != ""
	dest != region
}

copy_destination_elsewhere(p, action, region) if {
	not known_string(object.get(action, "destinationVaultArn", null))
	some u in input_sources(p, "rules")
	v := resources_by_urn[u]
	v.__type == backup_vault_type
	region_of(v) != region
}

# backed_up_elsewhere holds when data store s is selected by a plan that copies elsewhere.
backed_up_elsewhere(s) if {
	region := region_of(s)
	some sel in input.resources
	sel.__type == backup_selection_type
	selection_covers(sel, s)
	some p in input.resources
	p.__type == backup_plan_type
	selection_plan(sel, p)
	copies_elsewhere(p, region)
}

# METADATA
# title: Prod data stores are backed up to another region
# description: >-
#   In prod, every RDS instance and the media (originals) bucket are covered by an AWS Backup
#   selection (by ARN) whose backup plan has a copy action to a vault in another region, so
#   that a recovery point survives the loss of the stack's region or of its vault.
stack_deny_prod_backup_offsite contains finding if {
	some s in input.resources
	prod_data_store(s)
	not backed_up_elsewhere(s)
	not excepted(s, "stack_deny_prod_backup_offsite")
	finding := stack_finding(s, "is not in an AWS Backup plan that copies its recovery points to a vault in another region")
}

# replicates_elsewhere holds when bucket b has an enabled replication rule to a bucket in
# another region.
replicates_elsewhere(b) if {
	region := region_of(b)
	some c in input.resources
	c.__type == bucket_replication_type
	replication_source(c, b)
	some rule in object.get(c, "rules", [])
	object.get(rule, "status", "") == "Enabled"
	some u in input_sources(c, "rules")
	dest := resources_by_urn[u]
	dest.__type == bucket_type
	dest.__urn != b.__urn
	region_of(dest) != region
}

# replication_source: the configuration's bucket input names b (directly or through a
# companion, as pkg/bucket passes the public access block's bucket output).
replication_source(c, b) if {
	known_string(object.get(c, "bucket", null))
	c.bucket in bucket_keys(b)
}

replication_source(c, b) if {
	not known_string(object.get(c, "bucket", null))
	some u in input_sources(c, "bucket")
	relates_to_bucket(u, b)
}

relates_to_bucket(u, b) if u == b.__urn

relates_to_bucket(u, b) if b.__urn in object.get(owners, u, set())

# METADATA
# title: Prod originals are replicated to another region
# description: >-
#   In prod, the media (originals) bucket has an S3 replication configuration with an enabled
#   rule to a bucket in another region, so that customers' camera originals are readable if
#   the stack's region is not.
stack_deny_prod_media_replication contains finding if {
	some b in input.resources
	b.__type == bucket_type
	environment(b) == "prod"
	object.get(b.tags, "purpose", "") == "media"
	not replicates_elsewhere(b)
	not excepted(b, "stack_deny_prod_media_replication")
	finding := stack_finding(b, "is not replicated to a bucket in another region (aws:s3/bucketReplicationConfig)")
}
