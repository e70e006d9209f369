package cinegit

import rego.v1

# Encryption at rest with customer-managed KMS keys, and KMS key rotation.
#
# "Has a key" means the key input is set: in a preview the key's ARN is usually unknown, which
# counts as set (lib.rego). S3 default encryption is checked per bucket by stack policies in
# s3.rego, since the configuration is a separate resource.

# flag_off is {problem} when r's boolean property prop is not true (absent included), else {}.
flag_off(r, prop) := {sprintf("%s is not true", [prop])} if {
	not is_true(object.get(r, prop, false))
} else := set()

# key_missing is {problem} when r names no KMS key in property prop, else {}.
key_missing(r, prop) := {sprintf("no customer-managed KMS key in %s", [prop])} if {
	not is_set(object.get(r, prop, null))
} else := set()

# problems_message joins a resource's problems into one finding.
problems_message(r, problems) := sprintf("%s: %s", [describe(r), concat("; ", sort(problems))])

# METADATA
# title: RDS storage encrypted with a customer-managed key
# description: >-
#   RDS instances and clusters set storageEncrypted and a kmsKeyId, so that storage, snapshots
#   and backups are encrypted with one of the stack's KMS keys, not the AWS-managed aws/rds key.
deny_rds_encryption contains msg if {
	input.__type in {"aws:rds/instance:Instance", "aws:rds/cluster:Cluster"}
	problems := flag_off(input, "storageEncrypted") | key_missing(input, "kmsKeyId")
	count(problems) > 0
	not excepted(input, "deny_rds_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: ElastiCache encrypted at rest and in transit
# description: >-
#   ElastiCache replication groups enable atRestEncryptionEnabled with a customer-managed
#   kmsKeyId, and transitEncryptionEnabled (TLS between clients and nodes).
deny_elasticache_encryption contains msg if {
	input.__type == "aws:elasticache/replicationGroup:ReplicationGroup"
	problems := (flag_off(input, "atRestEncryptionEnabled") | key_missing(input, "kmsKeyId")) | flag_off(input, "transitEncryptionEnabled")
	count(problems) > 0
	not excepted(input, "deny_elasticache_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: EFS file systems encrypted with a customer-managed key
# description: EFS file systems set encrypted and a kmsKeyId.
deny_efs_encryption contains msg if {
	input.__type == "aws:efs/fileSystem:FileSystem"
	problems := flag_off(input, "encrypted") | key_missing(input, "kmsKeyId")
	count(problems) > 0
	not excepted(input, "deny_efs_encryption")
	msg := problems_message(input, problems)
}

# ebs_problems lists the EBS volumes of r that are not encrypted with a customer-managed key:
# a volume's own settings, or each of a launch template's block device mappings.
ebs_problems(r) := flag_off(r, "encrypted") | key_missing(r, "kmsKeyId") if {
	r.__type == "aws:ebs/volume:Volume"
}

ebs_problems(r) := {sprintf("block device %v: %s", [object.get(m, "deviceName", i), p]) |
	some i, m in object.get(r, "blockDeviceMappings", [])
	ebs := m.ebs
	is_object(ebs)
	some p in (flag_off(ebs, "encrypted") | key_missing(ebs, "kmsKeyId"))
} if {
	r.__type == "aws:ec2/launchTemplate:LaunchTemplate"
}

# METADATA
# title: EBS volumes encrypted with a customer-managed key
# description: >-
#   EBS volumes, and every EBS block device mapping of a launch template (EKS node volumes), set
#   encrypted and a kmsKeyId.
deny_ebs_encryption contains msg if {
	input.__type in {"aws:ebs/volume:Volume", "aws:ec2/launchTemplate:LaunchTemplate"}
	problems := ebs_problems(input)
	count(problems) > 0
	not excepted(input, "deny_ebs_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: Launch templates define their root volume
# description: >-
#   A launch template without EBS block device mappings leaves its instances' root volume to the
#   AMI's defaults, which are unencrypted unless the account enables EBS encryption by default.
#   Declare the root volume, encrypted with a customer-managed key.
warn_launch_template_volumes contains msg if {
	input.__type == "aws:ec2/launchTemplate:LaunchTemplate"
	count([m | some m in object.get(input, "blockDeviceMappings", []); is_object(m.ebs)]) == 0
	not excepted(input, "warn_launch_template_volumes")
	msg := sprintf("%s declares no EBS block device: the root volume takes the AMI's default encryption", [describe(input)])
}

# METADATA
# title: CloudWatch log groups encrypted with a customer-managed key
# description: >-
#   CloudWatch log groups set kmsKeyId, so that log data is encrypted with one of the stack's KMS
#   keys rather than the service's default encryption.
deny_log_group_encryption contains msg if {
	input.__type == "aws:cloudwatch/logGroup:LogGroup"
	problems := key_missing(input, "kmsKeyId")
	count(problems) > 0
	not excepted(input, "deny_log_group_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: Secrets encrypted with a customer-managed key
# description: >-
#   Secrets Manager secrets set kmsKeyId, not the AWS-managed aws/secretsmanager key, so that
#   reading a secret also requires a grant on the stack's key.
deny_secret_encryption contains msg if {
	input.__type == "aws:secretsmanager/secret:Secret"
	problems := key_missing(input, "kmsKeyId")
	count(problems) > 0
	not excepted(input, "deny_secret_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: SQS queues encrypted with a customer-managed key
# description: >-
#   SQS queues set kmsMasterKeyId to one of the stack's KMS keys; SQS-managed SSE
#   (sqsManagedSseEnabled) does not count.
deny_sqs_encryption contains msg if {
	input.__type == "aws:sqs/queue:Queue"
	problems := key_missing(input, "kmsMasterKeyId")
	count(problems) > 0
	not excepted(input, "deny_sqs_encryption")
	msg := problems_message(input, problems)
}

# METADATA
# title: KMS key rotation
# description: >-
#   Symmetric customer-managed KMS keys enable automatic rotation (enableKeyRotation). Asymmetric
#   and HMAC keys cannot rotate and are exempt.
deny_kms_key_rotation contains msg if {
	input.__type == "aws:kms/key:Key"
	object.get(input, "customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
	not is_true(object.get(input, "enableKeyRotation", false))
	not excepted(input, "deny_kms_key_rotation")
	msg := sprintf("%s: enableKeyRotation is not true", [describe(input)])
}
