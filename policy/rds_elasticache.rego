package cinegit

import rego.v1

# RDS and ElastiCache: access, credentials, TLS and availability
# ==============================================================
#
# Complements datastores.rego (deletion protection, backups, protect) and encryption.rego
# (storage and at-rest encryption, ElastiCache's transitEncryptionEnabled). What these add:
# databases are never public and never given a password by the program; TLS is forced on
# PostgreSQL connections and required (not merely offered) on Redis; Redis asks for
# credentials; staging's and prod's data stores survive the loss of an AZ; and a data store's
# security groups admit other security groups only, never address ranges.

rds_instance_type := "aws:rds/instance:Instance"

rds_parameter_group_type := "aws:rds/parameterGroup:ParameterGroup"

replication_group_type := "aws:elasticache/replicationGroup:ReplicationGroup"

security_group_type := "aws:ec2/securityGroup:SecurityGroup"

# METADATA
# title: RDS instances are not publicly accessible
# description: >-
#   RDS instances leave publiclyAccessible off, so they get no public address and are reached
#   only from inside the VPC, through their security groups.
deny_rds_public_access contains msg if {
	input.__type == rds_instance_type
	is_true(object.get(input, "publiclyAccessible", false))
	not excepted(input, "deny_rds_public_access")
	msg := sprintf("%s: publiclyAccessible is true", [describe(input)])
}

# master_password_problems lists how r's master password could end up outside Secrets Manager
# or under an AWS-managed key. Read replicas have no master password of their own.
master_password_problems(r) := set() if {
	is_set(object.get(r, "replicateSourceDb", null))
} else := ((problem_if_set(r, "password", "a password is given (it would sit in configuration and state)") |
	problem_if_set(r, "passwordWo", "a write-only password is given")) |
	flag_off(r, "manageMasterUserPassword")) |
	problem_if_unset(r, "masterUserSecretKmsKeyId", "masterUserSecretKmsKeyId is not set (the secret would use the AWS-managed key)")

# problem_if_set is {problem} when r's prop is set, else {}.
problem_if_set(r, prop, problem) := {problem} if {
	is_set(object.get(r, prop, null))
} else := set()

# problem_if_unset is {problem} when r's prop is not set, else {}.
problem_if_unset(r, prop, problem) := {problem} if {
	not is_set(object.get(r, prop, null))
} else := set()

# METADATA
# title: RDS manages the master password
# description: >-
#   RDS instances set manageMasterUserPassword with a customer-managed masterUserSecretKmsKeyId
#   and are given no password: RDS generates the master password and keeps it in Secrets
#   Manager, so it never appears in configuration, code or state.
deny_rds_master_password contains msg if {
	input.__type == rds_instance_type
	problems := master_password_problems(input)
	count(problems) > 0
	not excepted(input, "deny_rds_master_password")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# multi_az_problems lists what keeps data store r from failing over to another AZ.
multi_az_problems(r) := flag_off(r, "multiAz") if {
	r.__type == rds_instance_type
} else := (flag_off(r, "automaticFailoverEnabled") | flag_off(r, "multiAzEnabled")) | no_replica(r) if {
	r.__type == replication_group_type
}

# no_replica is {problem} for a replication group without a replica to fail over to.
no_replica(r) := set() if {
	has_replica(r)
} else := {"no replica to fail over to (numCacheClusters below 2, no replicasPerNodeGroup)"}

# has_replica holds for a replication group with at least one replica per shard.
has_replica(r) if {
	n := object.get(r, "numCacheClusters", 0)
	is_number(n)
	n >= 2
}

has_replica(r) if positive(object.get(r, "replicasPerNodeGroup", 0))

# METADATA
# title: Staging and prod data stores are multi-AZ
# description: >-
#   In staging and prod, RDS instances set multiAz, and ElastiCache replication groups have a
#   replica, automaticFailoverEnabled and multiAzEnabled, so the loss of one availability zone
#   does not take the database or the cache down.
deny_datastore_multi_az contains msg if {
	input.__type in {rds_instance_type, replication_group_type}
	environment(input) in durable_environments
	problems := multi_az_problems(input)
	count(problems) > 0
	not excepted(input, "deny_datastore_multi_az")
	msg := sprintf("%s in %s: %s", [describe(input), environment(input), concat("; ", sort(problems))])
}

# redis_access_problems lists how clients could reach r without TLS or without credentials.
redis_access_problems(r) := tls_optional(r) | no_redis_credentials(r)

tls_optional(r) := {"transitEncryptionMode is preferred (clients may still connect without TLS)"} if {
	object.get(r, "transitEncryptionMode", null) == "preferred"
} else := set()

no_redis_credentials(r) := {"neither authToken nor userGroupIds is set (any client that reaches the port may run commands)"} if {
	not is_set(object.get(r, "authToken", null))
	count(object.get(r, "userGroupIds", [])) == 0
} else := set()

# METADATA
# title: ElastiCache requires TLS and credentials
# description: >-
#   ElastiCache replication groups do not merely offer TLS (transitEncryptionMode is not
#   preferred) and require credentials: an AUTH token (authToken) or RBAC user groups
#   (userGroupIds).
deny_elasticache_access contains msg if {
	input.__type == replication_group_type
	problems := redis_access_problems(input)
	count(problems) > 0
	not excepted(input, "deny_elasticache_access")
	msg := sprintf("%s: %s", [describe(input), concat("; ", sort(problems))])
}

# Relations in stack policies
# ---------------------------
# Resource r uses resource x through input prop when
#   1. r's prop is a known string (or list) holding one of x's known keys (name or id); or
#   2. r.propertyDependencies[prop] contains x's URN (the analyzer's stack input); or
#   3. r has no propertyDependencies at all (pkg/policy callers pass all dependencies as one
#      list): x's URN is among r.dependencies.

# input_values are the known strings in r's prop (a string or a list of strings).
input_values(r, prop) := {v | some v in as_array(object.get(r, prop, [])); known_string(v)}

# uses holds when r refers to x through prop, x's identifying values being keys.
uses(r, prop, x, keys) if {
	some v in input_values(r, prop)
	v in keys
}

uses(r, prop, x, _) if x.__urn in object.get(object.get(r, "propertyDependencies", {}), prop, [])

uses(r, _, x, _) if {
	not is_object(object.get(r, "propertyDependencies", null))
	x.__urn in object.get(r, "dependencies", [])
}

# resource_keys are the known values naming x: its name and id.
resource_keys(x) := {k | some k in [object.get(x, "name", null), object.get(x, "id", null)]; known_string(k)}

# tls_parameters maps RDS engines to the parameter, and its accepted values, that refuses
# connections without TLS.
tls_parameters := {
	"postgres": {"name": "rds.force_ssl", "values": {"1"}},
	"mysql": {"name": "require_secure_transport", "values": {"1", "ON", "on"}},
	"mariadb": {"name": "require_secure_transport", "values": {"1", "ON", "on"}},
}

# forces_tls holds for a parameter group setting the TLS parameter p.
forces_tls(pg, p) if {
	some param in object.get(pg, "parameters", [])
	param.name == p.name
	sprintf("%v", [param.value]) in p.values
}

# METADATA
# title: RDS forces TLS
# description: >-
#   Each PostgreSQL (or MySQL/MariaDB) RDS instance uses a parameter group of the stack that
#   refuses unencrypted connections: rds.force_ssl = 1 (require_secure_transport = 1 for
#   MySQL and MariaDB). The engine defaults are not relied on.
stack_deny_rds_force_ssl contains finding if {
	some db in input.resources
	db.__type == rds_instance_type
	p := tls_parameters[object.get(db, "engine", "")]
	groups := [pg | some pg in input.resources; pg.__type == rds_parameter_group_type; uses(db, "parameterGroupName", pg, resource_keys(pg))]
	count([pg | some pg in groups; forces_tls(pg, p)]) == 0
	not excepted(db, "stack_deny_rds_force_ssl")
	finding := stack_finding(db, sprintf("its parameter group does not set %s = 1 (unencrypted connections are accepted)", [p.name]))
}

# datastore_security_group_inputs are, per data store type, the inputs naming its security groups.
datastore_security_group_inputs := {
	rds_instance_type: "vpcSecurityGroupIds",
	replication_group_type: "securityGroupIds",
	"aws:rds/cluster:Cluster": "vpcSecurityGroupIds",
}

# address_sources lists the address ranges a security group's inline ingress admits.
address_sources(sg) := {s |
	some rule in object.get(sg, "ingress", [])
	some field in ["cidrBlocks", "ipv6CidrBlocks", "prefixListIds"]
	some s in object.get(rule, field, [])
}

# rule_address_sources lists the address ranges standalone ingress rules open on sg.
rule_address_sources(sg) := {s |
	some rule in input.resources
	rule.__type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	uses(rule, "securityGroupId", sg, resource_keys(sg))
	some field in ["cidrIpv4", "cidrIpv6", "prefixListId"]
	s := object.get(rule, field, null)
	is_set(s)
} | {s |
	some rule in input.resources
	rule.__type == "aws:ec2/securityGroupRule:SecurityGroupRule"
	rule.__properties.type == "ingress"
	uses(rule, "securityGroupId", sg, resource_keys(sg))
	some field in ["cidrBlocks", "ipv6CidrBlocks", "prefixListIds"]
	some s in object.get(rule, field, [])
}

# METADATA
# title: Data stores admit security groups, not address ranges
# description: >-
#   The security groups of RDS instances and ElastiCache replication groups allow ingress only
#   from other security groups (the callers named in the program), never from CIDR blocks or
#   prefix lists, so that nothing reaches a database merely by having an address in the VPC.
stack_deny_datastore_cidr_ingress contains finding if {
	some ds in input.resources
	prop := datastore_security_group_inputs[ds.__type]
	some sg in input.resources
	sg.__type == security_group_type
	uses(ds, prop, sg, resource_keys(sg))
	sources := address_sources(sg) | rule_address_sources(sg)
	count(sources) > 0
	not excepted(ds, "stack_deny_datastore_cidr_ingress")
	finding := stack_finding(ds, sprintf("its security group %q admits address ranges %s", [sg.__name, concat(", ", sort(sources))]))
}
