package policy

import "testing"

func init() { caseSets = append(caseSets, rdsElastiCacheCases) }

const (
	dsRDS         = "aws:rds/instance:Instance"
	dsRedis       = "aws:elasticache/replicationGroup:ReplicationGroup"
	dsParamGroup  = "aws:rds/parameterGroup:ParameterGroup"
	dsSG          = "aws:ec2/securityGroup:SecurityGroup"
	dsIngressRule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
)

// dsProps copies m with key/value pairs set (a nil value deletes the key).
func dsProps(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// dsDatabase is a compliant PostgreSQL instance as pkg/database registers it.
func dsDatabase(env string) map[string]any {
	return map[string]any{
		"tags": stdTags(env), "engine": "postgres", "identifier": "cinegit-" + env + "-postgres",
		"storageEncrypted": true, "kmsKeyId": keyArn, "publiclyAccessible": false,
		"manageMasterUserPassword": true, "masterUserSecretKmsKeyId": keyArn,
		"multiAz": true, "deletionProtection": true, "backupRetentionPeriod": 14,
		"skipFinalSnapshot": false, "finalSnapshotIdentifier": "cinegit-" + env + "-postgres-final",
		"parameterGroupName": "cinegit-" + env + "-postgres16", "vpcSecurityGroupIds": []any{"sg-db"},
	}
}

// dsCache is a compliant Redis replication group as pkg/cache registers it.
func dsCache(env string) map[string]any {
	return map[string]any{
		"tags": stdTags(env), "engine": "redis", "atRestEncryptionEnabled": true, "kmsKeyId": keyArn,
		"transitEncryptionEnabled": true, "transitEncryptionMode": "required", "authToken": "s3cr3t-token-0123456789",
		"numCacheClusters": 2, "automaticFailoverEnabled": true, "multiAzEnabled": true, "snapshotRetentionLimit": 7,
		"securityGroupIds": []any{"sg-cache"},
	}
}

// dsParams is a PostgreSQL parameter group with the given rds.force_ssl value ("" for none).
func dsParams(env, forceSSL string) map[string]any {
	params := []any{map[string]any{"name": "log_statement", "value": "ddl"}}
	if forceSSL != "" {
		params = append(params, map[string]any{"name": "rds.force_ssl", "value": forceSSL})
	}
	return map[string]any{"tags": stdTags(env), "name": "cinegit-" + env + "-postgres16", "family": "postgres16", "parameters": params}
}

// dsGroup is a security group admitting port from the given sources (security groups when
// fromGroups, else CIDR blocks).
func dsGroup(port int, fromGroups bool, sources ...any) map[string]any {
	rule := map[string]any{"protocol": "tcp", "fromPort": port, "toPort": port}
	if fromGroups {
		rule["securityGroups"] = sources
	} else {
		rule["cidrBlocks"] = sources
	}
	return map[string]any{"tags": stdTags("dev"), "ingress": []any{rule}, "egress": []any{}}
}

// dsStack is a database with its parameter group and security group, as a stack policy sees it
// after an update (relations by value) or in a preview (relations by dependencies only).
func dsStack(db, params, sg map[string]any, preview bool) []Resource {
	dbRes := res(dsRDS, "database", db)
	pg := res(dsParamGroup, "database", params)
	group := res(dsSG, "database", sg)
	if preview {
		dbRes.Props = dsProps(db, "parameterGroupName", Unknown, "vpcSecurityGroupIds", []any{Unknown})
		dbRes.Options.Dependencies = []string{pg.URN, group.URN}
	}
	return []Resource{dbRes, pg, group}
}

func rdsElastiCacheCases() []ruleCase {
	dev, prod, staging := "dev", "prod", "staging"
	goodPG, goodSG := dsParams(dev, "1"), dsGroup(5432, true, "sg-nodes")
	cacheSG := res(dsSG, "cache", dsGroup(6379, true, "sg-nodes"))
	cacheSGURN := cacheSG.URN
	cacheDependsOnSG := func(r *Resource) { r.Options.Dependencies = []string{cacheSGURN} }

	return []ruleCase{
		// Public access.
		{"public database", "deny_rds_public_access", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "publiclyAccessible", true))}},
		{"private database", "deny_rds_public_access", false, []Resource{res(dsRDS, "db", dsDatabase(dev))}},
		{"database without the setting (private by default)", "deny_rds_public_access", false, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "publiclyAccessible", nil))}},

		// Master password.
		{"database given a password", "deny_rds_master_password", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "password", "hunter2", "manageMasterUserPassword", nil))}},
		{"managed password and a password", "deny_rds_master_password", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "password", "hunter2"))}},
		{"managed password under the AWS key", "deny_rds_master_password", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "masterUserSecretKmsKeyId", nil))}},
		{"managed password with a customer key", "deny_rds_master_password", false, []Resource{res(dsRDS, "db", dsDatabase(dev))}},
		{"managed password key unknown in a preview", "deny_rds_master_password", false, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "masterUserSecretKmsKeyId", Unknown))}},
		{"read replica", "deny_rds_master_password", false, []Resource{res(dsRDS, "replica", map[string]any{"tags": stdTags(dev), "replicateSourceDb": "cinegit-dev-postgres"})}},

		// Multi-AZ.
		{"single-AZ prod database", "deny_datastore_multi_az", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(prod), "multiAz", false), protect)}},
		{"staging database without multiAz", "deny_datastore_multi_az", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(staging), "multiAz", nil))}},
		{"single-node staging cache", "deny_datastore_multi_az", true, []Resource{res(dsRedis, "cache", dsProps(dsCache(staging), "numCacheClusters", 1, "automaticFailoverEnabled", false, "multiAzEnabled", false))}},
		{"prod cache without multi-AZ", "deny_datastore_multi_az", true, []Resource{res(dsRedis, "cache", dsProps(dsCache(prod), "multiAzEnabled", nil), protect)}},
		{"prod cache with replicas but no failover", "deny_datastore_multi_az", true, []Resource{res(dsRedis, "cache", dsProps(dsCache(prod), "numCacheClusters", 3, "automaticFailoverEnabled", false), protect)}},
		{"multi-AZ prod database", "deny_datastore_multi_az", false, []Resource{res(dsRDS, "db", dsDatabase(prod), protect)}},
		{"multi-AZ staging cache", "deny_datastore_multi_az", false, []Resource{res(dsRedis, "cache", dsCache(staging))}},
		{"sharded prod cache with replicas", "deny_datastore_multi_az", false, []Resource{res(dsRedis, "cache", dsProps(dsCache(prod), "numCacheClusters", nil, "numNodeGroups", 2, "replicasPerNodeGroup", 1), protect)}},
		{"single-AZ dev database and cache", "deny_datastore_multi_az", false, []Resource{
			res(dsRDS, "db", dsProps(dsDatabase(dev), "multiAz", false)),
			res(dsRedis, "cache", dsProps(dsCache(dev), "numCacheClusters", 1, "automaticFailoverEnabled", false, "multiAzEnabled", false)),
		}},

		// Redis TLS and credentials.
		{"redis offering TLS only", "deny_elasticache_access", true, []Resource{res(dsRedis, "cache", dsProps(dsCache(dev), "transitEncryptionMode", "preferred"))}},
		{"redis without credentials", "deny_elasticache_access", true, []Resource{res(dsRedis, "cache", dsProps(dsCache(dev), "authToken", nil))}},
		{"redis with an AUTH token and TLS required", "deny_elasticache_access", false, []Resource{res(dsRedis, "cache", dsCache(dev))}},
		{"redis token unknown in a preview", "deny_elasticache_access", false, []Resource{res(dsRedis, "cache", dsProps(dsCache(dev), "authToken", Unknown))}},
		{"redis with RBAC user groups", "deny_elasticache_access", false, []Resource{res(dsRedis, "cache", dsProps(dsCache(dev), "authToken", nil, "userGroupIds", []any{"cinegit-users"}))}},

		// TLS forced by the parameter group (stack policy).
		{"parameter group without rds.force_ssl", "stack_deny_rds_force_ssl", true, dsStack(dsDatabase(dev), dsParams(dev, ""), goodSG, false)},
		{"parameter group with rds.force_ssl 0", "stack_deny_rds_force_ssl", true, dsStack(dsDatabase(dev), dsParams(dev, "0"), goodSG, false)},
		{"default parameter group", "stack_deny_rds_force_ssl", true, []Resource{res(dsRDS, "db", dsProps(dsDatabase(dev), "parameterGroupName", nil))}},
		{"another instance's parameter group does not count", "stack_deny_rds_force_ssl", true, []Resource{
			res(dsRDS, "db", dsProps(dsDatabase(dev), "parameterGroupName", "other")), res(dsParamGroup, "database", goodPG),
		}},
		{"parameter group forcing TLS", "stack_deny_rds_force_ssl", false, dsStack(dsDatabase(dev), goodPG, goodSG, false)},
		{"parameter group forcing TLS, preview", "stack_deny_rds_force_ssl", false, dsStack(dsDatabase(dev), goodPG, goodSG, true)},
		{"parameter group forcing TLS, analyzer relations", "stack_deny_rds_force_ssl", false, func() []Resource {
			rs := dsStack(dsDatabase(dev), goodPG, goodSG, true)
			rs[0].Options.Dependencies = nil
			rs[0].Options.PropertyDependencies = map[string][]string{"parameterGroupName": {rs[1].URN}, "vpcSecurityGroupIds": {rs[2].URN}}
			return rs
		}()},

		// Security groups of data stores (stack policy).
		{"database reachable from a CIDR", "stack_deny_datastore_cidr_ingress", true, dsStack(dsDatabase(dev), goodPG, dsGroup(5432, false, "10.0.0.0/16"), true)},
		{"cache reachable from a CIDR through a standalone rule", "stack_deny_datastore_cidr_ingress", true, []Resource{
			res(dsRedis, "cache", dsProps(dsCache(dev), "securityGroupIds", []any{Unknown}), cacheDependsOnSG),
			cacheSG,
			res(dsIngressRule, "cache-vpc", map[string]any{"tags": stdTags(dev), "ipProtocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrIpv4": "10.0.0.0/16", "securityGroupId": Unknown}, dependsOn(cacheSGURN)),
		}},
		{"database reachable from security groups only", "stack_deny_datastore_cidr_ingress", false, dsStack(dsDatabase(dev), goodPG, goodSG, true)},
		{"cache reachable from security groups only", "stack_deny_datastore_cidr_ingress", false, []Resource{
			res(dsRedis, "cache", dsProps(dsCache(dev), "securityGroupIds", []any{Unknown}), cacheDependsOnSG), cacheSG,
		}},
		{"an unrelated security group may admit CIDRs", "stack_deny_datastore_cidr_ingress", false, append(dsStack(dsDatabase(dev), goodPG, goodSG, true),
			res(dsSG, "endpoints", dsGroup(443, false, "10.0.0.0/16")))},
	}
}

// TestCompliantDataStoresAreClean runs the whole pack over compliant data stores of every
// stack: none of the pack's policies (not only this file's) may object.
func TestCompliantDataStoresAreClean(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		for _, preview := range []bool{false, true} {
			rs := dsStack(dsDatabase(env), dsParams(env, "1"), dsGroup(5432, true, "sg-nodes"), preview)
			rs = append(rs, res(dsRedis, "cache", dsCache(env)), res(dsSG, "cache", dsGroup(6379, true, "sg-nodes")))
			for i := range rs {
				rs[i].Props["tags"] = stdTags(env)
				if env == "prod" {
					rs[i].Options.Protect = true
				}
			}
			if env == "prod" {
				rs = append(rs, bkCoverage(&rs[0])...) // prod's databases are backed up to another region
			}
			for _, f := range unwaived(evaluate(t, rs)) {
				t.Errorf("%s (preview=%v): %s %s: %s", env, preview, f.Rule, f.Name, f.Message)
			}
		}
	}
}
