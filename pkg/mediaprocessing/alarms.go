package mediaprocessing

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/alarmtopic"
)

// alarm is one CloudWatch alarm of the pipeline.
type alarm struct {
	suffix, description string
	namespace, metric   string
	dimension           string
	value               pulumi.StringInput
	statistic           string
	periodSeconds       int
	comparison          string
	threshold           float64
}

// alarms notify an encrypted SNS topic when messages fail for good (the dead-letter queue is
// not empty), when the queue falls behind, when the rule cannot deliver to the queue, and,
// once the function exists, when it fails or is throttled.
func (b *builder) alarms() error {
	env, n, a := b.env, b.names, b.args.Alarms
	var err error
	b.topic, err = alarmtopic.New(b.ctx, b.name+"-alarms", alarmtopic.Args{
		Name:            n.topic,
		DisplayName:     "CineGit " + env.Naming.Stack + " media processing",
		KeyArn:          b.pipelineKey.Arn(),
		AccountID:       env.AccountID,
		AlarmArnPattern: b.alarmArnPattern(),
		AllowSid:        "AllowPipelineAlarms",
		Email:           a.Email,
		Tags:            env.Tags,
	}, b.parent)
	if err != nil {
		return err
	}

	alarms := []alarm{
		{"dlq-not-empty", "Media messages failed for good and wait in the dead-letter queue",
			"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", b.dlq.Name, "Maximum", 60, "GreaterThanThreshold", 0},
		{"queue-age", "The oldest message in the media queue waits longer than expected: processing falls behind",
			"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", b.queue.Name, "Maximum", 300, "GreaterThanThreshold", float64(a.OldestMessageAgeSeconds)},
		// The rule's deliveries to the encrypted queue fail for good (a queue or key policy
		// that refuses EventBridge): nothing reaches the queue, so the queue alarms stay
		// quiet. AWS/Events metrics of the default bus have the RuleName dimension only, and
		// EventBridge sends them only when non-zero (hence notBreaching on missing data)
		// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
		{"rule-failed-invocations", "EventBridge cannot deliver new-media events to the queue (FailedInvocations)",
			"AWS/Events", "FailedInvocations", "RuleName", b.rule.Name, "Sum", 300, "GreaterThanOrEqualToThreshold", 1},
		// Undeliverable events go to the dead-letter queue; when that fails too, they are lost.
		{"rule-dlq-failures", "EventBridge could not park undeliverable new-media events in the dead-letter queue: events are lost",
			"AWS/Events", "InvocationsFailedToBeSentToDlq", "RuleName", b.rule.Name, "Sum", 300, "GreaterThanOrEqualToThreshold", 1},
	}
	if b.fn != nil {
		alarms = append(alarms,
			alarm{"function-errors", "The FFmpeg function fails",
				"AWS/Lambda", "Errors", "FunctionName", b.fn.Name, "Sum", 300, "GreaterThanOrEqualToThreshold", float64(a.ErrorThreshold)},
			alarm{"function-throttles", "The FFmpeg function is throttled (the account's concurrency, or its reservation, is exhausted)",
				"AWS/Lambda", "Throttles", "FunctionName", b.fn.Name, "Sum", 300, "GreaterThanOrEqualToThreshold", float64(a.ThrottleThreshold)})
	}
	for _, al := range alarms {
		name := n.alarmPrefix + al.suffix
		if _, err := cloudwatch.NewMetricAlarm(b.ctx, b.name+"-"+al.suffix, &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(name),
			AlarmDescription:   pulumi.String(al.description),
			Namespace:          pulumi.String(al.namespace),
			MetricName:         pulumi.String(al.metric),
			Dimensions:         pulumi.StringMap{al.dimension: al.value},
			Statistic:          pulumi.String(al.statistic),
			Period:             pulumi.Int(al.periodSeconds),
			EvaluationPeriods:  pulumi.Int(1),
			ComparisonOperator: pulumi.String(al.comparison),
			Threshold:          pulumi.Float64(al.threshold),
			// No data means no messages and no invocations: nothing is wrong.
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     pulumi.Array{b.topic.Arn},
			OkActions:        pulumi.Array{b.topic.Arn},
			Tags:             env.Tags.Named(name).Map(),
		}, b.parent); err != nil {
			return err
		}
	}
	return nil
}
