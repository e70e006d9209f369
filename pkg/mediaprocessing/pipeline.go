package mediaprocessing

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/alarmtopic"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// builder carries what the steps of New share. Each step creates one part of the pipeline
// and records what later steps need.
type builder struct {
	ctx   *pulumi.Context
	name  string
	args  Args
	env   stackenv.Env
	names names
	// component is the MediaProcessing resource; parent is the option that puts children under it.
	component pulumi.Resource
	parent    pulumi.ResourceOption

	pipelineKey  *kmskey.Key
	queue, dlq   *sqs.Queue
	repo         *ecr.Repository
	repoPolicy   *ecr.RepositoryPolicy
	fnSG, efsSG  *ec2.SecurityGroup
	fs           *efs.FileSystem
	accessPoint  *efs.AccessPoint
	mountTargets []pulumi.Resource
	role         *iam.Role
	logGroup     *cloudwatch.LogGroup
	fn           *lambda.Function // nil while the function waits for its image
	rule         *cloudwatch.EventRule
	topic        *sns.Topic
	jobsRole     *iam.Role
	namespace    *corev1.Namespace
}

// protect is the option for stateful children: the key, the file system, the repository.
func (b *builder) protect() []pulumi.ResourceOption {
	if b.args.Protect {
		return []pulumi.ResourceOption{b.parent, pulumi.Protect(true)}
	}
	return []pulumi.ResourceOption{b.parent}
}

// ARNs of this component's resources, from their fixed names: policies can name them before
// the resources exist, without a cycle.
func (b *builder) queueArn(queue string) string { return b.env.Arn("sqs", queue) }
func (b *builder) ruleArn() string              { return b.env.Arn("events", "rule/"+b.names.rule) }
func (b *builder) functionArn() string          { return b.env.Arn("lambda", "function:"+b.names.function) }
func (b *builder) logGroupArn() string          { return b.env.Arn("logs", "log-group:"+b.names.logGroup) }

// key is the pipeline's customer-managed key: the queues, the alarm topic, the repository,
// the scratch file system and the function's logs and environment. The services that write
// to the queues and the topic on this account's behalf may use it, each only for its own
// resources.
func (b *builder) key() error {
	env, n := b.env, b.names
	var err error
	b.pipelineKey, err = kmskey.New(b.ctx, b.name, kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " media processing: queues, alarm topic, image repository, scratch file system, function logs",
		Alias:               n.key,
		AllowCloudWatchLogs: true,
		Statements: []iampolicy.Statement{
			// EventBridge delivers new-object events (and undeliverable ones) to the queues.
			iampolicy.EventBridgeQueueKeyStatement(b.queueArn(n.queue), b.queueArn(n.deadLetterQueue)),
			// CloudWatch publishes alarm notifications to the encrypted topic; only for this
			// component's alarms.
			alarmtopic.KeyStatement(env.AccountID, b.alarmArnPattern()),
		},
	}, b.protect()...)
	return err
}

// alarmArnPattern matches the ARNs of this component's alarms.
func (b *builder) alarmArnPattern() string {
	return b.env.Arn("cloudwatch", "alarm:"+b.names.alarmPrefix+"*")
}

// queues creates the dead-letter queue and the queue the function consumes. Both only accept
// messages from the rule, over TLS.
func (b *builder) queues() error {
	env, n, q := b.env, b.names, b.args.Queue
	day := 24 * 60 * 60
	// Only the media queue may move messages here; EventBridge's undeliverable events arrive
	// through SendMessage (the target's dead-letter config), which the queue policy allows.
	redriveAllow, err := marshal(map[string]any{
		"redrivePermission": "byQueue",
		"sourceQueueArns":   []string{b.queueArn(n.queue)},
	})
	if err != nil {
		return err
	}
	b.dlq, err = sqs.NewQueue(b.ctx, b.name+"-dlq", &sqs.QueueArgs{
		Name:                    pulumi.String(n.deadLetterQueue),
		KmsMasterKeyId:          b.pipelineKey.Arn(),
		MessageRetentionSeconds: pulumi.Int(q.DeadLetterRetentionDays * day),
		RedriveAllowPolicy:      pulumi.String(redriveAllow),
		Policy:                  b.queuePolicy(n.deadLetterQueue),
		Tags:                    env.Tags.Named(n.deadLetterQueue).Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	b.queue, err = sqs.NewQueue(b.ctx, b.name, &sqs.QueueArgs{
		Name:                     pulumi.String(n.queue),
		KmsMasterKeyId:           b.pipelineKey.Arn(),
		MessageRetentionSeconds:  pulumi.Int(q.MessageRetentionDays * day),
		VisibilityTimeoutSeconds: pulumi.Int(VisibilityTimeoutSeconds(b.args.Function.TimeoutSeconds, q.MaxBatchingWindowSeconds)),
		ReceiveWaitTimeSeconds:   pulumi.Int(20),
		// The dead-letter queue's ARN comes from the resource, so that SQS finds it when it
		// validates the redrive policy.
		RedrivePolicy: b.dlq.Arn.ApplyT(func(dlq string) (string, error) {
			return marshal(map[string]any{"deadLetterTargetArn": dlq, "maxReceiveCount": q.MaxReceiveCount})
		}).(pulumi.StringOutput),
		Policy: b.queuePolicy(n.queue),
		Tags:   env.Tags.Named(n.queue).Map(),
	}, b.parent)
	return err
}

// queuePolicy lets the rule send to a queue (the confused-deputy guard is aws:SourceArn) and
// refuses every request without TLS.
func (b *builder) queuePolicy(queue string) pulumi.StringOutput {
	return iampolicy.EventBridgeQueuePolicy("AllowMediaObjectCreatedRule", b.queueArn(queue), b.ruleArn())
}

// events routes the media bucket's "Object Created" events from the default bus to the queue.
// Events EventBridge cannot deliver (after its own retries) go to the dead-letter queue.
func (b *builder) events() error {
	env, n := b.env, b.names
	pattern := b.args.MediaBucketName.ToStringOutput().ApplyT(func(bucket string) (string, error) {
		return marshal(map[string]any{
			"source":      []string{"aws.s3"},
			"detail-type": []string{"Object Created"},
			"detail":      map[string]any{"bucket": map[string]any{"name": []string{bucket}}},
		})
	}).(pulumi.StringOutput)
	var err error
	b.rule, err = cloudwatch.NewEventRule(b.ctx, b.name+"-object-created", &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(n.rule),
		Description:  pulumi.String("New objects in the media bucket, for the FFmpeg pipeline"),
		EventPattern: pattern,
		Tags:         env.Tags.Named(n.rule).Map(),
	}, b.parent)
	if err != nil {
		return err
	}
	_, err = cloudwatch.NewEventTarget(b.ctx, b.name+"-object-created", &cloudwatch.EventTargetArgs{
		Rule:             b.rule.Name,
		TargetId:         pulumi.String("media-ingest-queue"),
		Arn:              b.queue.Arn,
		DeadLetterConfig: &cloudwatch.EventTargetDeadLetterConfigArgs{Arn: b.dlq.Arn},
	}, b.parent)
	return err
}

func marshal(v any) (string, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("mediaprocessing: %w", err)
	}
	return string(out), nil
}
