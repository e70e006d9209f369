// Package alarmtopic makes the KMS-encrypted SNS topic a component's CloudWatch alarms notify:
// TLS-only publishing, and only the component's own alarms may publish (aws:SourceAccount,
// aws:SourceArn), with the key statement that lets CloudWatch encrypt for the topic (the AWS
// managed SNS key does not: "Encrypting SNS topics for CloudWatch alarms"). Components use it;
// it holds no component.
package alarmtopic

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// Args describe one alarm topic.
type Args struct {
	// Name and DisplayName are the topic's.
	Name, DisplayName string
	// KeyArn is the customer managed key that encrypts it; its policy holds KeyStatement.
	KeyArn pulumi.StringInput
	// AccountID and AlarmArnPattern are the alarms allowed to publish (ArnLike).
	AccountID, AlarmArnPattern string
	// AllowSid names the topic policy's statement that lets them.
	AllowSid string
	// Email subscribes an address; "" for none.
	Email string
	Tags  tags.Set
}

// fromAlarms are the conditions naming the alarms that may use the topic and its key.
func fromAlarms(accountID, pattern string) []iampolicy.Condition {
	return []iampolicy.Condition{
		{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(accountID)},
		{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(pattern)},
	}
}

var cloudWatch = []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("cloudwatch.amazonaws.com")}}

// KeyStatement lets CloudWatch encrypt notifications for the topic, for these alarms only.
func KeyStatement(accountID, alarmArnPattern string) iampolicy.Statement {
	return iampolicy.Statement{
		Sid:        "AllowCloudWatchAlarmsToEncryptForTheTopic",
		Actions:    []string{"kms:GenerateDataKey*", "kms:Decrypt"},
		Resources:  iampolicy.Strings("*"),
		Principals: cloudWatch,
		Conditions: fromAlarms(accountID, alarmArnPattern),
	}
}

// New creates the topic (name), its policy (name) and the email subscription (name-email).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*sns.Topic, error) {
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		Name:           pulumi.String(args.Name),
		DisplayName:    pulumi.String(args.DisplayName),
		KmsMasterKeyId: args.KeyArn,
		Tags:           args.Tags.Named(args.Name).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	topicArn := pulumi.StringArray{topic.Arn}
	if _, err := sns.NewTopicPolicy(ctx, name, &sns.TopicPolicyArgs{
		Arn: topic.Arn,
		Policy: iampolicy.Document(
			iampolicy.Statement{
				Sid:        "DenyInsecureTransport",
				Effect:     "Deny",
				Actions:    []string{"sns:Publish"},
				Resources:  topicArn,
				Principals: []iampolicy.Principal{{Type: "AWS", Identifiers: iampolicy.Strings("*")}},
				Conditions: []iampolicy.Condition{{Test: "Bool", Variable: "aws:SecureTransport", Values: iampolicy.Strings("false")}},
			},
			iampolicy.Statement{
				Sid: args.AllowSid, Actions: []string{"sns:Publish"}, Resources: topicArn, Principals: cloudWatch,
				Conditions: fromAlarms(args.AccountID, args.AlarmArnPattern),
			},
		),
	}, opts...); err != nil {
		return nil, err
	}
	if args.Email != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(args.Email),
		}, opts...); err != nil {
			return nil, err
		}
	}
	return topic, nil
}
