package cinegit

import rego.v1

# Lambda, EFS, SQS and ECR: the media processing pipeline
# =======================================================
#
# What pkg/mediaprocessing promises, as policies any function, queue, file system or image
# repository of the stack must keep: functions are traced, are never disabled by a zero
# reservation and are capped by their queue's mapping, encrypt
# their environment (which holds no secrets) and log to a log group created for them; a
# function mounting EFS does so under /mnt/ from inside the VPC; queues have a dead-letter queue
# and refuse requests without TLS, and a queue feeding a function reports partial batch
# failures and hides messages long enough for the function's retries; EFS access points pin
# their POSIX identity and file systems refuse NFS without TLS; image repositories have
# immutable, scanned, KMS-encrypted images.
#
# Resources are related across the stack with `uses` (rds_elasticache.rego): by the known value
# of an input (an ARN, URL, ID or name), or by the engine's property dependencies while the
# value is unknown.

lambda_function_type := "aws:lambda/function:Function"

lambda_mapping_type := "aws:lambda/eventSourceMapping:EventSourceMapping"

sqs_queue_type := "aws:sqs/queue:Queue"

efs_file_system_type := "aws:efs/fileSystem:FileSystem"

# arn_keys are the known values naming x in other resources' inputs: its ARN, ID, URL, name.
arn_keys(x) := {k | some k in [object.get(x, "arn", null), object.get(x, "id", null), object.get(x, "url", null), object.get(x, "name", null)]; known_string(k)}

# lambda_setting is r's nested setting parent.field, or default_value when unset.
lambda_setting(r, parent, field, default_value) := object.get(object.get(r, parent, {}), field, default_value)

# METADATA
# title: Lambda functions are traced with X-Ray
# description: >-
#   Lambda functions set tracingConfig.mode = Active, so that every invocation is traced and a
#   slow or failing step of the pipeline can be found.
deny_lambda_tracing contains msg if {
	input.__type == lambda_function_type
	mode := lambda_setting(input, "tracingConfig", "mode", "PassThrough")
	not mode in {"Active", unknown}
	not excepted(input, "deny_lambda_tracing")
	msg := sprintf("%s: tracingConfig.mode is %v, not Active", [describe(input), mode])
}

# METADATA
# title: Queue-driven functions are capped on their event source mapping
# description: >-
#   Event source mappings reading SQS queues set scalingConfig.maximumConcurrency (2 to 1000,
#   Lambda's ScalingConfig range): a burst of work (a bulk upload) then cannot take the
#   account's whole concurrency, and Lambda stops polling at the cap instead of being throttled.
#   Reserved concurrency is not required: Lambda refuses a reservation that leaves less than
#   100 of the account's quota unreserved, which a new account (quota 10) cannot satisfy.
deny_lambda_queue_concurrency contains msg if {
	input.__type == lambda_mapping_type
	sqs_mapping(input)
	scaling := object.get(input, "scalingConfig", {})
	scaling != unknown
	cap := lambda_queue_concurrency(scaling)
	cap != unknown
	not lambda_queue_concurrency_valid(cap)
	not excepted(input, "deny_lambda_queue_concurrency")
	msg := sprintf("%s: scalingConfig.maximumConcurrency is %v (2 to 1000 is required)", [describe(input), cap])
}

# lambda_queue_concurrency is the mapping's maximumConcurrency, or "unset".
lambda_queue_concurrency(scaling) := object.get(scaling, "maximumConcurrency", "unset") if is_object(scaling)

lambda_queue_concurrency(scaling) := "unset" if not is_object(scaling)

lambda_queue_concurrency_valid(cap) if {
	is_number(cap)
	cap >= 2
	cap <= 1000
}

# METADATA
# title: Lambda functions are not disabled by a zero reservation
# description: >-
#   Lambda functions do not set reservedConcurrentExecutions to 0, which throttles every
#   invocation: a queue-driven function would push every message into its dead-letter queue.
#   Leave it unset (the account's unreserved pool) or reserve at least 1.
deny_lambda_zero_concurrency contains msg if {
	input.__type == lambda_function_type
	reserved := object.get(input, "reservedConcurrentExecutions", null)
	reserved == 0
	not excepted(input, "deny_lambda_zero_concurrency")
	msg := sprintf("%s: reservedConcurrentExecutions is 0: every invocation is throttled", [describe(input)])
}

# lambda_variables are r's environment variables ({} when none or unknown).
lambda_variables(r) := vars if {
	vars := lambda_setting(r, "environment", "variables", {})
	is_object(vars)
} else := {}

# lambda_has_environment holds when r sets environment variables (or they are unknown).
lambda_has_environment(r) if count(lambda_variables(r)) > 0

lambda_has_environment(r) if lambda_setting(r, "environment", "variables", {}) == unknown

# METADATA
# title: Lambda environment variables encrypted with a customer-managed key
# description: >-
#   Lambda functions with environment variables set kmsKeyArn, so that the variables are
#   encrypted at rest with one of the stack's KMS keys rather than Lambda's default key.
deny_lambda_environment_encryption contains msg if {
	input.__type == lambda_function_type
	lambda_has_environment(input)
	problems := key_missing(input, "kmsKeyArn")
	count(problems) > 0
	not excepted(input, "deny_lambda_environment_encryption")
	msg := problems_message(input, problems)
}

# secret_variable_name matches variable names that announce a credential.
secret_variable_name := `(?i)(password|passwd|secret|token|credential|api_?key|private_?key|auth)`

# METADATA
# title: No secrets in Lambda environment variables
# description: >-
#   Lambda environment variables carry names and ARNs, never credentials: a variable named like a
#   secret (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, ...) must hold an ARN (of a Secrets
#   Manager secret or SSM parameter the function reads at run time), not the secret itself, which
#   would show in the console, in the state and to everyone allowed lambda:GetFunctionConfiguration.
deny_lambda_environment_secrets contains msg if {
	input.__type == lambda_function_type
	some name, value in lambda_variables(input)
	regex.match(secret_variable_name, name)
	known_string(value)
	not startswith(value, "arn:")
	not excepted(input, "deny_lambda_environment_secrets")
	msg := sprintf("%s: environment variable %s holds a value, not an ARN: keep the secret in Secrets Manager and pass its ARN", [describe(input), name])
}

# lambda_file_system_problems lists why r's EFS mount would fail or escape the VPC.
lambda_file_system_problems(r) := lambda_mount_path_problems(r) | lambda_vpc_problems(r)

lambda_mount_path_problems(r) := set() if {
	lambda_setting(r, "fileSystemConfig", "localMountPath", "") == unknown
} else := set() if {
	regex.match(`^/mnt/[A-Za-z0-9._-]+$`, lambda_setting(r, "fileSystemConfig", "localMountPath", ""))
} else := {"fileSystemConfig.localMountPath is not a directory directly under /mnt/"}

lambda_vpc_problems(r) := set() if {
	object.get(r, "vpcConfig", {}) == unknown
} else := set() if {
	lambda_vpc_part_set(r, "subnetIds")
	lambda_vpc_part_set(r, "securityGroupIds")
} else := {"the function mounts a file system but has no vpcConfig subnets and security groups"}

# lambda_vpc_part_set holds when r's vpcConfig.<field> is a non-empty list, or unknown.
lambda_vpc_part_set(r, field) if lambda_setting(r, "vpcConfig", field, []) == unknown

lambda_vpc_part_set(r, field) if count(lambda_setting(r, "vpcConfig", field, [])) > 0

# METADATA
# title: Lambda functions mount EFS under /mnt/ from the VPC
# description: >-
#   A Lambda function with a fileSystemConfig mounts it at a path directly under /mnt/ (Lambda
#   rejects anything else) and runs in the VPC (vpcConfig with subnets and security groups):
#   EFS is only reachable through its mount targets there.
deny_lambda_file_system contains msg if {
	input.__type == lambda_function_type
	is_set(object.get(input, "fileSystemConfig", null))
	problems := lambda_file_system_problems(input)
	count(problems) > 0
	not excepted(input, "deny_lambda_file_system")
	msg := problems_message(input, problems)
}

# lambda_log_group_created holds when function f logs to a log group of the stack: the group
# named in its loggingConfig, or the /aws/lambda/<name> group Lambda would otherwise create
# itself, without retention or encryption.
lambda_log_group_created(f) if {
	some g in input.resources
	g.__type == "aws:cloudwatch/logGroup:LogGroup"
	lambda_logs_to(f, g)
}

lambda_logs_to(f, g) if lambda_setting(f, "loggingConfig", "logGroup", null) in resource_keys(g)

lambda_logs_to(f, g) if g.__urn in object.get(object.get(f, "propertyDependencies", {}), "loggingConfig", [])

lambda_logs_to(f, g) if {
	not is_set(lambda_setting(f, "loggingConfig", "logGroup", null))
	known_string(object.get(f, "name", null))
	sprintf("/aws/lambda/%s", [f.name]) in resource_keys(g)
}

# METADATA
# title: Lambda functions log to a log group created for them
# description: >-
#   Every Lambda function logs to a CloudWatch log group of the stack (its loggingConfig.logGroup,
#   or /aws/lambda/<function name> created before the function), so that retention and KMS
#   encryption apply; a group Lambda creates itself keeps logs forever, unencrypted by the
#   stack's keys.
stack_deny_lambda_log_group contains finding if {
	some f in input.resources
	f.__type == lambda_function_type
	not lambda_log_group_created(f)
	not excepted(f, "stack_deny_lambda_log_group")
	finding := stack_finding(f, "no log group of the stack receives its logs (create /aws/lambda/<name> or set loggingConfig.logGroup)")
}

# sqs_mapping holds for an event source mapping that reads an SQS queue: its source is a queue
# ARN, or unknown without the settings of stream, Kafka and MQ sources.
sqs_mapping(m) if contains(object.get(m, "eventSourceArn", ""), ":sqs:")

sqs_mapping(m) if {
	not known_string(object.get(m, "eventSourceArn", null))
	every field in ["startingPosition", "topics", "queues", "selfManagedEventSource"] {
		not is_set(object.get(m, field, null))
	}
}

# METADATA
# title: Queue-driven functions report partial batch failures
# description: >-
#   Event source mappings reading SQS queues set functionResponseTypes ReportBatchItemFailures:
#   the function names the messages it failed, so that only those are retried and eventually
#   dead-lettered, instead of the whole batch, successes included.
deny_lambda_queue_batch_failures contains msg if {
	input.__type == lambda_mapping_type
	sqs_mapping(input)
	types := object.get(input, "functionResponseTypes", [])
	types != unknown
	not "ReportBatchItemFailures" in as_array(types)
	not excepted(input, "deny_lambda_queue_batch_failures")
	msg := sprintf("%s: functionResponseTypes lacks ReportBatchItemFailures", [describe(input)])
}

# METADATA
# title: Queues hide messages while their function may still work on them
# description: >-
#   A queue that triggers a Lambda function has a visibility timeout of at least six times the
#   function's timeout plus the mapping's batching window (AWS's guidance): otherwise a message
#   still being processed, or retried after throttling, is handed out a second time.
stack_deny_lambda_queue_visibility contains finding if {
	some m in input.resources
	m.__type == lambda_mapping_type
	some q in input.resources
	q.__type == sqs_queue_type
	uses(m, "eventSourceArn", q, arn_keys(q))
	some f in input.resources
	f.__type == lambda_function_type
	uses(m, "functionName", f, arn_keys(f))
	visibility := object.get(q, "visibilityTimeoutSeconds", 30)
	timeout := object.get(f, "timeout", 3)
	window := object.get(m, "maximumBatchingWindowInSeconds", 0)
	is_number(visibility)
	is_number(timeout)
	is_number(window)
	needed := (6 * timeout) + window
	visibility < needed
	not excepted(q, "stack_deny_lambda_queue_visibility")
	finding := stack_finding(q, sprintf("visibilityTimeoutSeconds is %v, below 6 x the timeout of %s (%v s) + the batching window (%v s) = %v", [visibility, f.__name, timeout, window, needed]))
}

# METADATA
# title: Queues have a dead-letter queue
# description: >-
#   SQS queues set a redrivePolicy (a dead-letter queue and maxReceiveCount), so that a message
#   that keeps failing is set aside and alarmed on instead of retried until it expires. A
#   dead-letter queue says so with a redriveAllowPolicy naming the queues it serves.
deny_sqs_dead_letter contains msg if {
	input.__type == sqs_queue_type
	not is_set(object.get(input, "redrivePolicy", null))
	not is_set(object.get(input, "redriveAllowPolicy", null))
	not excepted(input, "deny_sqs_dead_letter")
	msg := sprintf("%s: no redrivePolicy (dead-letter queue), and no redriveAllowPolicy (it is no dead-letter queue either)", [describe(input)])
}

# policy_object is a resource policy given as JSON text or as an object; undefined when unknown.
policy_object(p) := json.unmarshal(p) if {
	known_string(p)
	json.is_valid(p)
} else := p if is_object(p)

# refuses_insecure_transport holds for a policy with a statement denying every principal the
# service's actions (or all actions) without TLS.
refuses_insecure_transport(policy, service) if {
	some st in as_array(object.get(policy_object(policy), "Statement", []))
	st.Effect == "Deny"
	every_principal(st.Principal)
	some action in as_array(st.Action)
	lower(action) in {sprintf("%s:*", [service]), "*"}
	some value in as_array(st.Condition.Bool["aws:SecureTransport"])
	lower(sprintf("%v", [value])) == "false"
}

# policy_pending holds for a policy whose text is not known yet (a preview).
policy_pending(p) if {
	is_set(p)
	not known_string(p)
	not is_object(p)
}

# transport_secured holds for a policy that refuses the service's requests without TLS, or
# whose text is not known yet.
transport_secured(policy, service) if refuses_insecure_transport(policy, service)

transport_secured(policy, _) if policy_pending(policy)

# queue_tls_enforced holds when queue q, or a queue policy attached to it, refuses requests
# without TLS (or its policy is not known yet).
queue_tls_enforced(q) if transport_secured(object.get(q, "policy", null), "sqs")

queue_tls_enforced(q) if {
	some p in input.resources
	p.__type == "aws:sqs/queuePolicy:QueuePolicy"
	uses(p, "queueUrl", q, arn_keys(q))
	transport_secured(object.get(p, "policy", null), "sqs")
}

# METADATA
# title: Queues refuse requests without TLS
# description: >-
#   Every SQS queue has a policy (its own policy input or an aws:sqs/queuePolicy) denying all
#   principals sqs:* when aws:SecureTransport is false, so that messages never travel in clear.
stack_deny_sqs_insecure_transport contains finding if {
	some q in input.resources
	q.__type == sqs_queue_type
	not queue_tls_enforced(q)
	not excepted(q, "stack_deny_sqs_insecure_transport")
	finding := stack_finding(q, "no queue policy denies requests without TLS (aws:SecureTransport = false)")
}

# efs_tls_enforced holds when a file system policy of file system fs refuses NFS without TLS
# (or its policy is not known yet).
efs_tls_enforced(fs) if {
	some p in input.resources
	p.__type == "aws:efs/fileSystemPolicy:FileSystemPolicy"
	uses(p, "fileSystemId", fs, arn_keys(fs))
	transport_secured(object.get(p, "policy", null), "elasticfilesystem")
}

# METADATA
# title: EFS file systems refuse NFS without TLS
# description: >-
#   Every EFS file system has a file system policy denying all principals when
#   aws:SecureTransport is false (the EFS console's "enforce in-transit encryption"), so that
#   data is encrypted between clients and mount targets, not only at rest.
stack_deny_efs_insecure_transport contains finding if {
	some fs in input.resources
	fs.__type == efs_file_system_type
	not efs_tls_enforced(fs)
	not excepted(fs, "stack_deny_efs_insecure_transport")
	finding := stack_finding(fs, "no file system policy denies access without TLS (aws:SecureTransport = false)")
}

# access_point_problems lists how access point r leaves the client's identity or the exposed
# directory open.
access_point_problems(r) := (access_point_user_problems(r) | access_point_root_problems(r)) | access_point_creation_problems(r)

access_point_user_problems(r) := {"posixUser is not set (clients act as whatever user they claim, root included)"} if {
	not is_set(object.get(r, "posixUser", null))
} else := set()

access_point_root_problems(r) := set() if {
	lambda_setting(r, "rootDirectory", "path", "/") == unknown
} else := set() if {
	regex.match(`^/[^/]`, lambda_setting(r, "rootDirectory", "path", "/"))
} else := {"rootDirectory.path is not a subdirectory (the whole file system is exposed)"}

access_point_creation_problems(r) := {"rootDirectory.creationInfo is not set (the directory's owner and mode are left to chance)"} if {
	not is_set(lambda_setting(r, "rootDirectory", "creationInfo", null))
} else := set()

# METADATA
# title: EFS access points pin the POSIX user and a created root directory
# description: >-
#   EFS access points set posixUser (every operation runs as that user and group) and a
#   rootDirectory below / with creationInfo (owner, group and permissions of the directory EFS
#   creates), so that a client sees only its own directory, as its own user.
deny_efs_access_point_identity contains msg if {
	input.__type == "aws:efs/accessPoint:AccessPoint"
	problems := access_point_problems(input)
	count(problems) > 0
	not excepted(input, "deny_efs_access_point_identity")
	msg := problems_message(input, problems)
}

# repository_problems lists how image repository r could serve a changed, unscanned or
# service-key-encrypted image.
repository_problems(r) := (repository_tag_problems(r) | repository_scan_problems(r)) | repository_key_problems(r)

repository_tag_problems(r) := set() if {
	object.get(r, "imageTagMutability", "MUTABLE") in {"IMMUTABLE", unknown}
} else := {"imageTagMutability is not IMMUTABLE (a tag could be pushed again with other content)"}

repository_scan_problems(r) := set() if {
	lambda_setting(r, "imageScanningConfiguration", "scanOnPush", false) in {true, unknown}
} else := {"imageScanningConfiguration.scanOnPush is not true"}

repository_key_problems(r) := set() if {
	object.get(r, "encryptionConfigurations", []) == unknown
} else := set() if {
	some c in as_array(object.get(r, "encryptionConfigurations", []))
	object.get(c, "encryptionType", "AES256") == "KMS"
	is_set(object.get(c, "kmsKey", null))
} else := {"encryptionConfigurations does not use a customer-managed KMS key"}

# METADATA
# title: Image repositories are immutable, scanned and KMS-encrypted
# description: >-
#   ECR repositories set imageTagMutability IMMUTABLE (a deployed tag always means the same
#   image), scan images on push, and encrypt them with one of the stack's KMS keys.
deny_ecr_repository_hardening contains msg if {
	input.__type == "aws:ecr/repository:Repository"
	problems := repository_problems(input)
	count(problems) > 0
	not excepted(input, "deny_ecr_repository_hardening")
	msg := problems_message(input, problems)
}
