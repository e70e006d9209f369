package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
)

// WAFArgs configure the regional web ACL in front of the ALBs.
type WAFArgs struct {
	// Block makes the rules block; false only counts (while tuning).
	Block bool
	// RateLimit is the most requests one IP may make per RateLimitWindowSeconds.
	RateLimit, RateLimitWindowSeconds int
	// LogRetentionDays keeps the WAF logs.
	LogRetentionDays int
}

func (w WAFArgs) check() error {
	switch {
	case w.RateLimit < 10 || w.RateLimit > 2000000000:
		return fmt.Errorf("WAF RateLimit %d: 10 to 2,000,000,000 (WAFv2's limits)", w.RateLimit)
	case w.RateLimitWindowSeconds != 60 && w.RateLimitWindowSeconds != 120 && w.RateLimitWindowSeconds != 300 && w.RateLimitWindowSeconds != 600:
		return fmt.Errorf("WAF RateLimitWindowSeconds %d: 60, 120, 300 or 600", w.RateLimitWindowSeconds)
	case w.LogRetentionDays < 1:
		return fmt.Errorf("WAF LogRetentionDays is required")
	}
	return nil
}

// managedRuleGroups are the CDN's: known-bad IPs, the common rules, known bad inputs.
var managedRuleGroups = []string{
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
}

// webACL is the REGIONAL web ACL the stack's ALBs attach, logging what it blocks or counts to
// an aws-waf-logs- group (WAF's naming rule, "Sending web ACL traffic logs to an Amazon
// CloudWatch Logs log group").
func webACL(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*wafv2.WebAcl, error) {
	env, w := args.Env, args.WAF
	metric := func(rule string) string { return env.Naming.NameMax(128, "alb", rule) }
	visibility := func(rule string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(true), MetricName: pulumi.String(metric(rule)),
		}
	}
	override := &wafv2.WebAclRuleOverrideActionArgs{Count: &wafv2.WebAclRuleOverrideActionCountArgs{}}
	action := &wafv2.WebAclRuleActionArgs{Count: &wafv2.WebAclRuleActionCountArgs{}}
	if w.Block {
		override = &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}}
		action = &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}}
	}
	rules := wafv2.WebAclRuleArray{}
	for i, group := range managedRuleGroups {
		rules = append(rules, &wafv2.WebAclRuleArgs{
			Name: pulumi.String(group), Priority: pulumi.Int(i), OverrideAction: override,
			Statement: &wafv2.WebAclRuleStatementArgs{ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
				VendorName: pulumi.String("AWS"), Name: pulumi.String(group),
			}},
			VisibilityConfig: visibility(group),
		})
	}
	rules = append(rules, &wafv2.WebAclRuleArgs{
		Name: pulumi.String("RateLimitPerIP"), Priority: pulumi.Int(len(managedRuleGroups)), Action: action,
		Statement: &wafv2.WebAclRuleStatementArgs{RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
			AggregateKeyType: pulumi.String("IP"), Limit: pulumi.Int(w.RateLimit), EvaluationWindowSec: pulumi.Int(w.RateLimitWindowSeconds),
		}},
		VisibilityConfig: visibility("RateLimitPerIP"),
	})
	acl, err := wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Name:          pulumi.String(env.Naming.NameMax(128, "alb")),
		Description:   pulumi.String("CineGit " + env.Naming.Stack + " load balancers"),
		Scope:         pulumi.String("REGIONAL"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(true), MetricName: pulumi.String(metric("web-acl")),
		},
		Tags: env.Tags.Named(env.Naming.Name("alb")).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}

	keyOpts := opts
	if args.Protect {
		keyOpts = append(append([]pulumi.ResourceOption{}, opts...), pulumi.Protect(true))
	}
	key, err := kmskey.New(ctx, name+"-waf-logs", kmskey.Args{
		Env:                 env,
		Description:         "CineGit " + env.Naming.Stack + " load balancer WAF logs",
		Alias:               env.Naming.Name("alb-waf-logs"),
		AllowCloudWatchLogs: true,
	}, keyOpts...)
	if err != nil {
		return nil, err
	}
	groupName := "aws-waf-logs-" + env.Naming.Prefix() + "-alb"
	group, err := cloudwatch.NewLogGroup(ctx, name+"-waf-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(groupName),
		RetentionInDays: pulumi.Int(w.LogRetentionDays),
		KmsKeyId:        key.Arn(),
		Tags:            env.Tags.Named(groupName).Map(),
	}, opts...)
	if err != nil {
		return nil, err
	}
	// WAF delivers through delivery.logs.amazonaws.com: grant it this group only, or it writes
	// a broad resource policy of its own at deploy time.
	policy, err := cloudwatch.NewLogResourcePolicy(ctx, name+"-waf-log-delivery", &cloudwatch.LogResourcePolicyArgs{
		PolicyName: pulumi.String(env.Naming.Name("alb-waf-log-delivery")),
		PolicyDocument: iampolicy.Document(iampolicy.Statement{
			Sid:        "AWSLogDeliveryWrite",
			Actions:    []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			Resources:  pulumi.StringArray{pulumi.Sprintf("%s:log-stream:*", group.Arn)},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("delivery.logs.amazonaws.com")}},
			Conditions: []iampolicy.Condition{
				{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(env.AccountID)},
				{Test: "ArnLike", Variable: "aws:SourceArn", Values: iampolicy.Strings(fmt.Sprintf("arn:%s:logs:%s:%s:*", env.Partition, env.Region, env.AccountID))},
			},
		}),
	}, opts...)
	if err != nil {
		return nil, err
	}
	_, err = wafv2.NewWebAclLoggingConfiguration(ctx, name, &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{group.Arn},
		// Session cookies and bearer tokens stay out of the logs.
		RedactedFields: wafv2.WebAclLoggingConfigurationRedactedFieldArray{
			&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String("authorization")}},
			&wafv2.WebAclLoggingConfigurationRedactedFieldArgs{SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String("cookie")}},
		},
		LoggingFilter: &wafv2.WebAclLoggingConfigurationLoggingFilterArgs{
			DefaultBehavior: pulumi.String("DROP"),
			Filters: wafv2.WebAclLoggingConfigurationLoggingFilterFilterArray{&wafv2.WebAclLoggingConfigurationLoggingFilterFilterArgs{
				Behavior: pulumi.String("KEEP"), Requirement: pulumi.String("MEETS_ANY"),
				Conditions: wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArray{
					actionCondition("BLOCK"), actionCondition("COUNT"), actionCondition("EXCLUDED_AS_COUNT"),
				},
			}},
		},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{policy}))...)
	return acl, err
}

func actionCondition(action string) *wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs {
	return &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionArgs{
		ActionCondition: &wafv2.WebAclLoggingConfigurationLoggingFilterFilterConditionActionConditionArgs{Action: pulumi.String(action)},
	}
}
