package policy

func init() { caseSets = append(caseSets, backupCases) }

const (
	bkProvider    = "pulumi:providers:aws"
	bkVault       = "aws:backup/vault:Vault"
	bkPlan        = "aws:backup/plan:Plan"
	bkSelection   = "aws:backup/selection:Selection"
	bkReplication = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
	bkDBArn       = "arn:aws:rds:us-east-1:123456789012:db:cinegit-prod-postgres"
	bkEastVault   = "arn:aws:backup:us-east-1:123456789012:backup-vault:cinegit-prod-backup"
	bkWestVault   = "arn:aws:backup:us-west-2:123456789012:backup-vault:cinegit-prod-backup"
)

// inRegion makes a resource use the AWS provider of a region (see bkProviders).
func inRegion(region string) func(*Resource) {
	return func(r *Resource) { r.Options.Provider = urnOf(bkProvider, "aws-"+region) + "::id-" + region }
}

// bkProviders are the stack's providers: the primary region and the copy region.
func bkProviders() []Resource {
	return []Resource{
		res(bkProvider, "aws-us-east-1", map[string]any{"region": "us-east-1"}),
		res(bkProvider, "aws-us-west-2", map[string]any{"region": "us-west-2"}),
	}
}

// bkPropDeps sets property dependencies (and all dependencies) of r.
func bkPropDeps(kv map[string][]string) func(*Resource) {
	return func(r *Resource) {
		r.Options.PropertyDependencies = kv
		for _, urns := range kv {
			r.Options.Dependencies = append(r.Options.Dependencies, urns...)
		}
	}
}

// bkStack is production's database and media bucket, the two vaults, a plan whose daily rule
// copies to copyArn (nil: no copy action; policy.Unknown: a preview), and selections of both
// stores. The data stores come first: findings are reported on them.
func bkStack(env string, copyArn any, covered ...string) []Resource {
	db := res(dsRDS, "database", map[string]any{"tags": stdTags(env), "engine": "postgres"}, inRegion("us-east-1"), protect)
	media := res(bucketV2, "mediastore-media", map[string]any{"bucket": "cinegit-" + env + "-media", "tags": tagsWith(env, "purpose", "media")}, inRegion("us-east-1"), protect)
	east := res(bkVault, "backup", map[string]any{"name": "cinegit-" + env + "-backup", "tags": stdTags(env)}, inRegion("us-east-1"))
	west := res(bkVault, "backup-copy", map[string]any{"name": "cinegit-" + env + "-backup", "tags": stdTags(env)}, inRegion("us-west-2"))
	rule := map[string]any{"ruleName": "daily", "targetVaultName": "cinegit-" + env + "-backup"}
	deps := []string{east.URN}
	if copyArn != nil {
		action := map[string]any{"lifecycle": map[string]any{"deleteAfter": 35}}
		if copyArn != Unknown {
			action["destinationVaultArn"] = copyArn
		}
		rule["copyActions"] = []any{action}
		if copyArn == Unknown || copyArn == bkWestVault {
			deps = append(deps, west.URN)
		}
	}
	plan := res(bkPlan, "backup-plan", map[string]any{"name": "cinegit-" + env + "-backup", "rules": []any{rule}, "tags": stdTags(env)},
		inRegion("us-east-1"), bkPropDeps(map[string][]string{"rules": deps}))
	out := append([]Resource{db, media, east, west, plan}, bkProviders()...)
	for _, store := range covered {
		target, arn := db, bkDBArn
		if store == "media" {
			target, arn = media, "arn:aws:s3:::cinegit-"+env+"-media"
		}
		out = append(out, res(bkSelection, "backup-"+store, map[string]any{"resources": []any{arn}, "planId": "plan-id"},
			inRegion("us-east-1"), bkPropDeps(map[string][]string{"resources": {target.URN}, "planId": {plan.URN}})))
	}
	return out
}

// bkMediaFirst moves the media bucket to the front (findings are reported on it).
func bkMediaFirst(rs []Resource) []Resource {
	return append([]Resource{rs[1], rs[0]}, rs[2:]...)
}

// bkReplicated is prod's media bucket with a replication configuration to a bucket in
// destRegion, its rule's status as given.
func bkReplicated(env, destRegion, status string) []Resource {
	media := res(bucketV2, "mediastore-media", map[string]any{"bucket": "cinegit-" + env + "-media", "tags": tagsWith(env, "purpose", "media")}, inRegion("us-east-1"), protect)
	replica := res(bucketV2, "mediastore-replica", map[string]any{"bucket": "cinegit-" + env + "-media-replica", "tags": tagsWith(env, "purpose", "media-replica")}, inRegion(destRegion), protect)
	cfg := res(bkReplication, "mediastore-media", map[string]any{
		"bucket": "cinegit-" + env + "-media",
		"rules":  []any{map[string]any{"id": "media", "status": status, "destination": map[string]any{"bucket": "arn:aws:s3:::cinegit-" + env + "-media-replica"}}},
	}, inRegion("us-east-1"), bkPropDeps(map[string][]string{"bucket": {media.URN}, "rules": {replica.URN}}))
	return append([]Resource{media, replica, cfg}, bkProviders()...)
}

// bkCopyOnlyTo makes the plan's rules depend on the named vault only.
func bkCopyOnlyTo(rs []Resource, vault string) []Resource {
	out := append([]Resource(nil), rs...)
	var urn string
	for _, r := range out {
		if r.Type == bkVault && r.Name == vault {
			urn = r.URN
		}
	}
	for i, r := range out {
		if r.Type == bkPlan {
			bkPropDeps(map[string][]string{"rules": {urn}})(&out[i])
			out[i].Options.Dependencies = []string{urn}
		}
	}
	return out
}

// bkWithout drops the resource named name.
func bkWithout(rs []Resource, name string) []Resource {
	var out []Resource
	for _, r := range rs {
		if r.Name != name {
			out = append(out, r)
		}
	}
	return out
}

// bkCoverage puts store in us-east-1 and returns what backs it up to us-west-2: the
// providers, both vaults, a plan copying to us-west-2 and a selection of the store.
func bkCoverage(store *Resource) []Resource {
	inRegion("us-east-1")(store)
	rs := bkStack("prod", bkWestVault)[2:]
	plan := rs[2]
	return append(rs, res(bkSelection, "backup-"+store.Name, map[string]any{"planId": "plan-id"},
		inRegion("us-east-1"), bkPropDeps(map[string][]string{"resources": {store.URN}, "planId": {plan.URN}})))
}

// backupCases cover policy/backup.rego.
func backupCases() []ruleCase {
	const offsite, replication = "stack_deny_prod_backup_offsite", "stack_deny_prod_media_replication"
	return []ruleCase{
		// Backups copied to another region.
		{"prod database in no backup plan", offsite, true, bkStack("prod", bkWestVault, "media")},
		{"prod media bucket in no backup plan", offsite, true, bkMediaFirst(bkStack("prod", bkWestVault, "database"))},
		{"prod backups without a copy", offsite, true, bkWithout(bkStack("prod", nil, "database"), "mediastore-media")},
		{"prod backups copied within the region", offsite, true, bkWithout(bkStack("prod", bkEastVault, "database"), "mediastore-media")},
		{"prod copy destination unknown in a preview, vault in the same region", offsite, true, bkCopyOnlyTo(bkWithout(bkStack("prod", Unknown, "database"), "mediastore-media"), "backup")},
		{"prod backups copied to us-west-2", offsite, false, bkStack("prod", bkWestVault, "database", "media")},
		{"prod copy destination unknown in a preview, vault in us-west-2", offsite, false, bkStack("prod", Unknown, "database", "media")},
		{"dev database without backups", offsite, false, bkStack("dev", nil)},

		// Replication of the originals.
		{"prod media bucket not replicated", replication, true, bkReplicated("prod", "us-west-2", "Enabled")[:2]},
		{"prod media replicated within the region", replication, true, bkReplicated("prod", "us-east-1", "Enabled")},
		{"prod media replication disabled", replication, true, bkReplicated("prod", "us-west-2", "Disabled")},
		{"prod media replicated to us-west-2", replication, false, bkReplicated("prod", "us-west-2", "Enabled")},
		{"dev media bucket not replicated", replication, false, bkReplicated("dev", "us-west-2", "Enabled")[:1]},
		{"prod proxies bucket not replicated", replication, false, []Resource{
			res(bucketV2, "mediastore-proxies", map[string]any{"bucket": "cinegit-prod-proxies", "tags": tagsWith("prod", "purpose", "proxies")}, protect),
		}},
	}
}
