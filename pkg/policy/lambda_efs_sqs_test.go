package policy

import "testing"

func init() { caseSets = append(caseSets, mediaPipelineCases) }

const (
	lambdaFunction = "aws:lambda/function:Function"
	lambdaMapping  = "aws:lambda/eventSourceMapping:EventSourceMapping"
	sqsQueue       = "aws:sqs/queue:Queue"
	sqsQueuePolicy = "aws:sqs/queuePolicy:QueuePolicy"
	efsFileSystem  = "aws:efs/fileSystem:FileSystem"
	efsPolicy      = "aws:efs/fileSystemPolicy:FileSystemPolicy"
	efsAccessPoint = "aws:efs/accessPoint:AccessPoint"
	ecrRepository  = "aws:ecr/repository:Repository"
	logGroupType   = "aws:cloudwatch/logGroup:LogGroup"

	queueArn = "arn:aws:sqs:eu-west-1:123456789012:cinegit-dev-media-ingest"
	dlqArn   = "arn:aws:sqs:eu-west-1:123456789012:cinegit-dev-media-ingest-dlq"
	fnArn    = "arn:aws:lambda:eu-west-1:123456789012:function:cinegit-dev-media-ffmpeg"
)

// tlsDenyFor is a resource policy statement denying a service's requests without TLS.
func tlsDenyFor(service string) map[string]any {
	return map[string]any{
		"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
		"Action": service + ":*", "Resource": "*",
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}
}

// ffmpegFunction is a compliant function as pkg/mediaprocessing registers it.
func ffmpegFunction(env string, kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags(env), "name": "cinegit-" + env + "-media-ffmpeg", "packageType": "Image",
		"imageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cinegit-" + env + "-ffmpeg:ffmpeg-2026.11.1",
		"timeout":  900, "memorySize": 3008,
		"tracingConfig": map[string]any{"mode": "Active"},
		"kmsKeyArn":     keyArn,
		"environment": map[string]any{"variables": map[string]any{
			"MEDIA_BUCKET": "cinegit-" + env + "-media", "SCRATCH_DIR": "/mnt/scratch",
			"DATABASE_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
		}},
		"vpcConfig":        map[string]any{"subnetIds": []any{"subnet-a", "subnet-b"}, "securityGroupIds": []any{"sg-fn"}},
		"fileSystemConfig": map[string]any{"arn": "arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/fsap-1", "localMountPath": "/mnt/scratch"},
		"loggingConfig":    map[string]any{"logFormat": "JSON", "logGroup": "/aws/lambda/cinegit-" + env + "-media-ffmpeg"},
	}, kv...)
}

// ffmpegQueue is a compliant queue with an inline TLS-only policy.
func ffmpegQueue(kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags("dev"), "name": "cinegit-dev-media-ingest", "kmsMasterKeyId": keyArn,
		"visibilityTimeoutSeconds": 5405,
		"redrivePolicy":            `{"deadLetterTargetArn":"` + dlqArn + `","maxReceiveCount":3}`,
		"policy":                   doc(tlsDenyFor("sqs")),
	}, kv...)
}

// ffmpegMapping is a compliant mapping from the queue to the function, related by value.
func ffmpegMapping(kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags("dev"), "eventSourceArn": queueArn, "functionName": fnArn,
		"batchSize": 1, "maximumBatchingWindowInSeconds": 5, "functionResponseTypes": []any{"ReportBatchItemFailures"},
		"scalingConfig": map[string]any{"maximumConcurrency": 2},
	}, kv...)
}

// withArn gives a resource the ARN it has after an update (stack policies see outputs).
func withArn(arn string) func(*Resource) {
	return func(r *Resource) { r.Props["arn"] = arn }
}

// accessPoint is a compliant access point.
func accessPoint(kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags("dev"), "fileSystemId": "fs-1",
		"posixUser": map[string]any{"uid": 1000, "gid": 1000},
		"rootDirectory": map[string]any{"path": "/ffmpeg", "creationInfo": map[string]any{
			"ownerUid": 1000, "ownerGid": 1000, "permissions": "0750",
		}},
	}, kv...)
}

// repository is a compliant image repository.
func repository(kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags("dev"), "name": "cinegit-dev-ffmpeg", "imageTagMutability": "IMMUTABLE",
		"imageScanningConfiguration": map[string]any{"scanOnPush": true},
		"encryptionConfigurations":   []any{map[string]any{"encryptionType": "KMS", "kmsKey": keyArn}},
	}, kv...)
}

func mediaPipelineCases() []ruleCase {
	fn := func(kv ...any) []Resource {
		return []Resource{res(lambdaFunction, "ffmpeg", ffmpegFunction("dev", kv...))}
	}
	queue := func(kv ...any) []Resource { return []Resource{res(sqsQueue, "ingest", ffmpegQueue(kv...))} }
	logGroup := res(logGroupType, "ffmpeg-logs", map[string]any{
		"tags": stdTags("dev"), "name": "/aws/lambda/cinegit-dev-media-ffmpeg", "retentionInDays": 14, "kmsKeyId": keyArn,
	})
	// pipeline is the queue, the function and the mapping between them; the queue comes first
	// (stack_deny_lambda_queue_visibility reports on it).
	pipeline := func(queueKV []any, fnKV []any, mappingKV []any) []Resource {
		return []Resource{
			res(sqsQueue, "ingest", ffmpegQueue(queueKV...), withArn(queueArn)),
			res(lambdaFunction, "ffmpeg", ffmpegFunction("dev", fnKV...), withArn(fnArn)),
			res(lambdaMapping, "ffmpeg", ffmpegMapping(mappingKV...)),
		}
	}
	fileSystem := func(policy any, mutators ...func(*Resource)) []Resource {
		fs := res(efsFileSystem, "scratch", map[string]any{"tags": stdTags("dev"), "encrypted": true, "kmsKeyId": keyArn, "throughputMode": "elastic"})
		rs := []Resource{fs}
		if policy != nil {
			rs = append(rs, res(efsPolicy, "scratch", map[string]any{"fileSystemId": Unknown, "policy": policy},
				append([]func(*Resource){func(r *Resource) {
					r.Options.PropertyDependencies = map[string][]string{"fileSystemId": {fs.URN}}
				}}, mutators...)...))
		}
		return rs
	}
	separateQueuePolicy := func(policy string) []Resource {
		q := res(sqsQueue, "ingest", ffmpegQueue("policy", nil))
		return []Resource{q, res(sqsQueuePolicy, "ingest", map[string]any{"queueUrl": Unknown, "policy": policy}, func(r *Resource) {
			r.Options.PropertyDependencies = map[string][]string{"queueUrl": {q.URN}}
		})}
	}

	return []ruleCase{
		// Tracing.
		{"function without tracing", "deny_lambda_tracing", true, fn("tracingConfig", nil)},
		{"function passing traces through", "deny_lambda_tracing", true, fn("tracingConfig", map[string]any{"mode": "PassThrough"})},
		{"traced function", "deny_lambda_tracing", false, fn()},
		{"tracing unknown in a preview", "deny_lambda_tracing", false, fn("tracingConfig", map[string]any{"mode": Unknown})},

		// Concurrency: capped on the queue's mapping, never disabled, reservation optional.
		{"function with concurrency disabled", "deny_lambda_zero_concurrency", true, fn("reservedConcurrentExecutions", 0)},
		{"function without a reservation", "deny_lambda_zero_concurrency", false, fn()},
		{"function reserving concurrency", "deny_lambda_zero_concurrency", false, fn("reservedConcurrentExecutions", 2)},
		{"queue mapping without a concurrency cap", "deny_lambda_queue_concurrency", true, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping("scalingConfig", nil))}},
		{"queue mapping capped below Lambda's minimum", "deny_lambda_queue_concurrency", true, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping("scalingConfig", map[string]any{"maximumConcurrency": 1}))}},
		{"queue mapping capped above Lambda's maximum", "deny_lambda_queue_concurrency", true, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping("scalingConfig", map[string]any{"maximumConcurrency": 1001}))}},
		{"queue mapping capped", "deny_lambda_queue_concurrency", false, pipeline(nil, nil, nil)},
		{"queue mapping cap unknown in a preview", "deny_lambda_queue_concurrency", false, pipeline(nil, nil, []any{"scalingConfig", Unknown})},
		{"unreserved function behind a capped mapping", "deny_lambda_queue_concurrency", false, pipeline(nil, []any{"reservedConcurrentExecutions", nil}, nil)},

		// Environment encryption.
		{"environment on Lambda's default key", "deny_lambda_environment_encryption", true, fn("kmsKeyArn", nil)},
		{"environment on the stack's key", "deny_lambda_environment_encryption", false, fn()},
		{"no environment, no key needed", "deny_lambda_environment_encryption", false, fn("environment", nil, "kmsKeyArn", nil)},
		{"key unknown in a preview", "deny_lambda_environment_encryption", false, fn("kmsKeyArn", Unknown)},

		// Secrets in the environment.
		{"password in the environment", "deny_lambda_environment_secrets", true, fn("environment", map[string]any{"variables": map[string]any{
			"MEDIA_BUCKET": "m", "DB_PASSWORD": "hunter2"}})},
		{"API key in the environment", "deny_lambda_environment_secrets", true, fn("environment", map[string]any{"variables": map[string]any{
			"TRANSCODER_API_KEY": "abc123"}})},
		{"secret passed by ARN", "deny_lambda_environment_secrets", false, fn()},
		{"secret ARN unknown in a preview", "deny_lambda_environment_secrets", false, fn("environment", map[string]any{"variables": map[string]any{
			"DATABASE_SECRET_ARN": Unknown}})},

		// EFS mounts.
		{"mount outside /mnt/", "deny_lambda_file_system", true, fn("fileSystemConfig", map[string]any{"arn": "ap", "localMountPath": "/scratch"})},
		{"mount nested below /mnt/", "deny_lambda_file_system", true, fn("fileSystemConfig", map[string]any{"arn": "ap", "localMountPath": "/mnt/a/b"})},
		{"mount without the VPC", "deny_lambda_file_system", true, fn("vpcConfig", nil)},
		{"mount under /mnt/ from the VPC", "deny_lambda_file_system", false, fn()},
		{"no file system at all", "deny_lambda_file_system", false, fn("fileSystemConfig", nil, "vpcConfig", nil)},
		{"subnets unknown in a preview", "deny_lambda_file_system", false, fn("vpcConfig", map[string]any{"subnetIds": Unknown, "securityGroupIds": Unknown})},

		// Log groups.
		{"function logging to a group Lambda makes", "stack_deny_lambda_log_group", true, fn("loggingConfig", nil)},
		{"function logging to a group not in the stack", "stack_deny_lambda_log_group", true, append(fn(), res(logGroupType, "other", map[string]any{
			"tags": stdTags("dev"), "name": "/aws/lambda/other", "retentionInDays": 14, "kmsKeyId": keyArn}))},
		{"function logging to its pre-created group", "stack_deny_lambda_log_group", false, append(fn(), logGroup)},
		{"default group created beforehand", "stack_deny_lambda_log_group", false, append(fn("loggingConfig", nil), logGroup)},
		{"group name unknown in a preview", "stack_deny_lambda_log_group", false, []Resource{
			res(lambdaFunction, "ffmpeg", ffmpegFunction("dev", "loggingConfig", map[string]any{"logFormat": "JSON", "logGroup": Unknown}), func(r *Resource) {
				r.Options.PropertyDependencies = map[string][]string{"loggingConfig": {logGroup.URN}}
			}),
			logGroup,
		}},

		// Partial batch failures.
		{"queue mapping failing whole batches", "deny_lambda_queue_batch_failures", true, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping("functionResponseTypes", nil))}},
		{"queue unknown in a preview, no stream settings", "deny_lambda_queue_batch_failures", true, []Resource{res(lambdaMapping, "ffmpeg",
			ffmpegMapping("eventSourceArn", Unknown, "functionResponseTypes", []any{}))}},
		{"queue mapping reporting failed items", "deny_lambda_queue_batch_failures", false, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping())}},
		{"stream mapping", "deny_lambda_queue_batch_failures", false, []Resource{res(lambdaMapping, "ffmpeg", ffmpegMapping(
			"eventSourceArn", "arn:aws:kinesis:eu-west-1:123456789012:stream/s", "functionResponseTypes", nil, "startingPosition", "LATEST"))}},

		// Visibility timeout.
		{"visibility shorter than six runs", "stack_deny_lambda_queue_visibility", true, pipeline([]any{"visibilityTimeoutSeconds", 900}, nil, nil)},
		{"SQS's default visibility", "stack_deny_lambda_queue_visibility", true, pipeline([]any{"visibilityTimeoutSeconds", nil}, nil, nil)},
		{"visibility not counting the batching window", "stack_deny_lambda_queue_visibility", true, pipeline([]any{"visibilityTimeoutSeconds", 5400}, nil, nil)},
		{"visibility of six runs and the window", "stack_deny_lambda_queue_visibility", false, pipeline(nil, nil, nil)},
		{"short function, short visibility", "stack_deny_lambda_queue_visibility", false, pipeline([]any{"visibilityTimeoutSeconds", 65}, []any{"timeout", 10}, nil)},
		{"related through property dependencies", "stack_deny_lambda_queue_visibility", false, []Resource{
			res(sqsQueue, "ingest", ffmpegQueue()),
			res(lambdaFunction, "ffmpeg", ffmpegFunction("dev")),
			res(lambdaMapping, "ffmpeg", ffmpegMapping("eventSourceArn", Unknown, "functionName", Unknown), func(r *Resource) {
				r.Options.PropertyDependencies = map[string][]string{
					"eventSourceArn": {urnOf(sqsQueue, "ingest")}, "functionName": {urnOf(lambdaFunction, "ffmpeg")},
				}
			}),
		}},

		// Dead-letter queues.
		{"queue without a dead-letter queue", "deny_sqs_dead_letter", true, queue("redrivePolicy", nil)},
		{"queue with a dead-letter queue", "deny_sqs_dead_letter", false, queue()},
		{"dead-letter queue declaring its sources", "deny_sqs_dead_letter", false, queue("redrivePolicy", nil,
			"redriveAllowPolicy", `{"redrivePermission":"byQueue","sourceQueueArns":["`+queueArn+`"]}`)},

		// Queue TLS.
		{"queue without a policy", "stack_deny_sqs_insecure_transport", true, queue("policy", nil)},
		{"queue policy without the TLS deny", "stack_deny_sqs_insecure_transport", true, queue("policy", doc(map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queueArn}))},
		{"TLS deny for one principal only", "stack_deny_sqs_insecure_transport", true, queue("policy", doc(map[string]any{
			"Effect": "Deny", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sqs:*",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}))},
		{"separate queue policy without the TLS deny", "stack_deny_sqs_insecure_transport", true, separateQueuePolicy(doc(map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage"}))},
		{"inline TLS-only policy", "stack_deny_sqs_insecure_transport", false, queue()},
		{"separate TLS-only queue policy", "stack_deny_sqs_insecure_transport", false, separateQueuePolicy(doc(tlsDenyFor("sqs")))},
		{"policy unknown in a preview", "stack_deny_sqs_insecure_transport", false, queue("policy", Unknown)},

		// EFS TLS.
		{"file system without a policy", "stack_deny_efs_insecure_transport", true, fileSystem(nil)},
		{"file system policy without the TLS deny", "stack_deny_efs_insecure_transport", true, fileSystem(doc(map[string]any{
			"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "elasticfilesystem:ClientRootAccess"}))},
		{"file system refusing NFS without TLS", "stack_deny_efs_insecure_transport", false, fileSystem(doc(tlsDenyFor("elasticfilesystem")))},
		{"console-style deny of every action", "stack_deny_efs_insecure_transport", false, fileSystem(doc(map[string]any{
			"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "*",
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": false}}}))},
		{"file system policy unknown in a preview", "stack_deny_efs_insecure_transport", false, fileSystem(Unknown)},

		// Access points.
		{"access point without a POSIX user", "deny_efs_access_point_identity", true, []Resource{res(efsAccessPoint, "scratch", accessPoint("posixUser", nil))}},
		{"access point exposing the root", "deny_efs_access_point_identity", true, []Resource{res(efsAccessPoint, "scratch", accessPoint("rootDirectory", nil))}},
		{"access point without creation info", "deny_efs_access_point_identity", true, []Resource{res(efsAccessPoint, "scratch", accessPoint(
			"rootDirectory", map[string]any{"path": "/ffmpeg"}))}},
		{"access point pinning user and directory", "deny_efs_access_point_identity", false, []Resource{res(efsAccessPoint, "scratch", accessPoint())}},

		// Image repositories.
		{"mutable tags", "deny_ecr_repository_hardening", true, []Resource{res(ecrRepository, "ffmpeg", repository("imageTagMutability", "MUTABLE"))}},
		{"no scan on push", "deny_ecr_repository_hardening", true, []Resource{res(ecrRepository, "ffmpeg", repository("imageScanningConfiguration", nil))}},
		{"AES256 encryption", "deny_ecr_repository_hardening", true, []Resource{res(ecrRepository, "ffmpeg", repository("encryptionConfigurations", nil))}},
		{"immutable, scanned, KMS", "deny_ecr_repository_hardening", false, []Resource{res(ecrRepository, "ffmpeg", repository())}},
		{"key unknown in a preview", "deny_ecr_repository_hardening", false, []Resource{res(ecrRepository, "ffmpeg", repository(
			"encryptionConfigurations", []any{map[string]any{"encryptionType": "KMS", "kmsKey": Unknown}}))}},
	}
}

// TestCompliantMediaPipelineIsClean runs the whole pack over a compliant pipeline of every
// stack: none of the pack's policies may object.
func TestCompliantMediaPipelineIsClean(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		tags := stdTags(env)
		fs := res(efsFileSystem, "scratch", map[string]any{"tags": tags, "encrypted": true, "kmsKeyId": keyArn})
		repo := res(ecrRepository, "ffmpeg", repository("tags", tags))
		if env == "prod" {
			fs.Options.Protect = true
		}
		rs := []Resource{
			res(sqsQueue, "ingest", ffmpegQueue("tags", tags), withArn(queueArn)),
			res(sqsQueue, "ingest-dlq", ffmpegQueue("tags", tags, "name", "cinegit-dev-media-ingest-dlq", "redrivePolicy", nil,
				"redriveAllowPolicy", `{"redrivePermission":"byQueue","sourceQueueArns":["`+queueArn+`"]}`), withArn(dlqArn)),
			res(lambdaFunction, "ffmpeg", ffmpegFunction(env), withArn(fnArn)),
			res(lambdaMapping, "ffmpeg", ffmpegMapping("tags", tags)),
			res(logGroupType, "ffmpeg", map[string]any{"tags": tags, "name": "/aws/lambda/cinegit-" + env + "-media-ffmpeg", "retentionInDays": 30, "kmsKeyId": keyArn}),
			fs,
			res(efsPolicy, "scratch", map[string]any{"fileSystemId": "fs-1", "policy": doc(tlsDenyFor("elasticfilesystem"))}, func(r *Resource) {
				r.Options.PropertyDependencies = map[string][]string{"fileSystemId": {fs.URN}}
			}),
			res(efsAccessPoint, "scratch", accessPoint("tags", tags)),
			repo,
		}
		for _, f := range unwaived(evaluate(t, rs)) {
			t.Errorf("%s: %s %s: %s", env, f.Rule, f.Name, f.Message)
		}
	}
}
