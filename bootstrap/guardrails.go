package main

// Account guardrails: once per account, what a platform team expects to find there before any
// stack runs. An audit trail (CloudTrail, every region, KMS-encrypted, log file validation, to
// a locked-down bucket), threat detection (GuardDuty with S3 protection, EKS audit logs and
// runtime monitoring), IAM Access Analyzer, a monthly AWS Budget per stack (costs carrying the
// stack's environment tag) and a Cost Anomaly Detection monitor, alerting one KMS-encrypted SNS
// topic. Each is switchable by config, for accounts where an organisation-level service
// (an organization trail, a delegated GuardDuty administrator, an organization analyzer)
// already covers it.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/accessanalyzer"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/budgets"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudtrail"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/costexplorer"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/bucket"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/kmskey"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// GuardrailsConfig is the guardrails' part of the bootstrap configuration.
type GuardrailsConfig struct {
	// CloudTrail, GuardDuty and AccessAnalyzer turn each service on in this account.
	CloudTrail, GuardDuty, AccessAnalyzer bool
	// GuardDutyRegions are further regions GuardDuty is enabled in (it is regional): where
	// the stacks keep backup copies and replicas.
	GuardDutyRegions []string
	// CloudTrailRetentionDays is how long trail log files are kept.
	CloudTrailRetentionDays int
	// Stack is the account's stack (the environment tag's value), whose costs the budget
	// counts; MonthlyBudgetUSD is that budget (0: none).
	Stack            string
	MonthlyBudgetUSD int
	// BudgetAlertPercents alert at these percentages of a budget's actual spend; a forecast
	// over 100% alerts too.
	BudgetAlertPercents []int
	// ActivateCostAllocationTag activates the environment tag as a cost allocation tag, which
	// the budgets filter on (in an organisation, only the management account can).
	ActivateCostAllocationTag bool
	// CostAnomalyMonitor turns Cost Anomaly Detection on, alerting anomalies whose total
	// impact is at least CostAnomalyThresholdUSD.
	CostAnomalyMonitor      bool
	CostAnomalyThresholdUSD int
	// AlertEmail subscribes an address to the alert topic ("": subscribe on-call tooling).
	AlertEmail string
}

// guardrailKeys are the guardrails' config keys and defaults; init adds them to keys, so that
// Keys, the schema test and the unknown-key check cover them.
var guardrailKeys = map[string]string{
	"cloudTrail":                "true",
	"cloudTrailRetentionDays":   "365",
	"guardDuty":                 "true",
	"guardDutyRegions":          `["us-west-2"]`,
	"accessAnalyzer":            "true",
	"monthlyBudgetUsd":          "1000",
	"budgetAlertPercents":       "[80,100]",
	"activateCostAllocationTag": "true",
	"costAnomalyMonitor":        "true",
	"costAnomalyThresholdUsd":   "100",
	"alertEmail":                "",
}

func init() {
	for k, v := range guardrailKeys {
		keys[k] = v
	}
}

var (
	email = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// parseGuardrails reads the guardrail keys with ParseConfig's get and reports with its bad.
func parseGuardrails(get func(string) string, bad func(key, format string, a ...any)) GuardrailsConfig {
	key := func(k string) string { return Project + ":" + k }
	flag := func(k string) bool {
		b, err := strconv.ParseBool(get(k))
		if err != nil {
			bad(key(k), "must be true or false, got %q", get(k))
		}
		return b
	}
	number := func(k string, lo, hi int) int {
		n, err := strconv.Atoi(get(k))
		if err != nil || n < lo || n > hi {
			bad(key(k), "must be a whole number from %d to %d, got %q", lo, hi, get(k))
		}
		return n
	}
	g := GuardrailsConfig{
		CloudTrail:                flag("cloudTrail"),
		GuardDuty:                 flag("guardDuty"),
		AccessAnalyzer:            flag("accessAnalyzer"),
		ActivateCostAllocationTag: flag("activateCostAllocationTag"),
		CostAnomalyMonitor:        flag("costAnomalyMonitor"),
		// CloudTrail's own history keeps 90 days of management events; the trail is for longer.
		CloudTrailRetentionDays: number("cloudTrailRetentionDays", 90, 3650),
		CostAnomalyThresholdUSD: number("costAnomalyThresholdUsd", 1, 1000000),
		MonthlyBudgetUSD:        number("monthlyBudgetUsd", 0, 10000000),
		AlertEmail:              get("alertEmail"),
		Stack:                   get("environment"),
	}
	if err := json.Unmarshal([]byte(get("budgetAlertPercents")), &g.BudgetAlertPercents); err != nil || len(g.BudgetAlertPercents) == 0 {
		bad(key("budgetAlertPercents"), "must be a non-empty list of percentages, e.g. [80,100]")
	}
	for _, p := range g.BudgetAlertPercents {
		if p < 1 || p > 1000 {
			bad(key("budgetAlertPercents"), "%d must be a percentage from 1 to 1000", p)
		}
	}
	if err := json.Unmarshal([]byte(get("guardDutyRegions")), &g.GuardDutyRegions); err != nil {
		bad(key("guardDutyRegions"), "must be a list of AWS regions (%v)", err)
	}
	for _, r := range g.GuardDutyRegions {
		if !regionName.MatchString(r) {
			bad(key("guardDutyRegions"), "%q is not an AWS region", r)
		}
	}
	if g.AlertEmail != "" && !email.MatchString(g.AlertEmail) {
		bad(key("alertEmail"), "%q is not an email address", g.AlertEmail)
	}
	return g
}

// Guardrails is what newGuardrails made.
type Guardrails struct {
	pulumi.ResourceState

	// TrailArn and TrailBucketName are the audit trail and its bucket ("" when off).
	TrailArn        pulumi.StringOutput `pulumi:"trailArn"`
	TrailBucketName pulumi.StringOutput `pulumi:"trailBucketName"`
	// AlertTopicArn receives budget and cost anomaly alerts.
	AlertTopicArn pulumi.StringOutput `pulumi:"alertTopicArn"`
	// DetectorID is GuardDuty's detector ("" when off).
	DetectorID pulumi.StringOutput `pulumi:"detectorId"`
}

// guardrailNames are the account-wide names: one of each per account.
const (
	trailName    = "cinegit-account-trail"
	alertTopic   = "cinegit-cost-alerts"
	analyzerName = "cinegit-account"
)

// newGuardrails creates the account guardrails. keep are the options of resources that must
// survive a destroy (the trail's key and bucket).
func newGuardrails(ctx *pulumi.Context, name string, g GuardrailsConfig, env stackenv.Env, keep []pulumi.ResourceOption, opts ...pulumi.ResourceOption) (*Guardrails, error) {
	out := &Guardrails{}
	if err := ctx.RegisterComponentResource("cinegit-bootstrap:guardrails:Guardrails", name, out, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(out)
	keepOpts := append([]pulumi.ResourceOption{parent}, keep...)
	out.TrailArn, out.TrailBucketName, out.DetectorID = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()

	if g.CloudTrail {
		arn, bucketName, err := auditTrail(ctx, name, g, env, keepOpts, parent)
		if err != nil {
			return nil, err
		}
		out.TrailArn, out.TrailBucketName = arn, bucketName
	}
	if g.GuardDuty {
		id, err := threatDetection(ctx, name, env.Tags, parent)
		if err != nil {
			return nil, err
		}
		out.DetectorID = id
		for _, region := range g.GuardDutyRegions {
			if region == env.Region {
				continue
			}
			p, err := accountProvider(ctx, name+"-"+region, region, env.AccountID, env.Tags, parent)
			if err != nil {
				return nil, err
			}
			if _, err := threatDetection(ctx, name+"-"+region, env.Tags, parent, pulumi.Provider(p)); err != nil {
				return nil, err
			}
		}
	}
	if g.AccessAnalyzer {
		// Account zone of trust: findings for resources shared outside this account
		// ("Using AWS IAM Access Analyzer", IAM User Guide).
		if _, err := accessanalyzer.NewAnalyzer(ctx, name, &accessanalyzer.AnalyzerArgs{
			AnalyzerName: pulumi.String(analyzerName),
			Type:         pulumi.String("ACCOUNT"),
			Tags:         env.Tags.Named(analyzerName).Map(),
		}, parent); err != nil {
			return nil, err
		}
	}
	topic, err := alerts(ctx, name, g, env, keepOpts, parent)
	if err != nil {
		return nil, err
	}
	out.AlertTopicArn = topic
	return out, ctx.RegisterResourceOutputs(out, pulumi.Map{
		"trailArn": out.TrailArn, "trailBucketName": out.TrailBucketName, "alertTopicArn": out.AlertTopicArn, "detectorId": out.DetectorID,
	})
}

// auditTrail is a multi-region trail with log file validation, encrypted with its own key, to
// a versioned, private, TLS-only bucket that only this trail may write to.
func auditTrail(ctx *pulumi.Context, name string, g GuardrailsConfig, env stackenv.Env, keep []pulumi.ResourceOption, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	trailArn := fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", env.Partition, env.Region, env.AccountID, trailName)
	bucketName := trailBucketName(env)
	bucketArn := bucket.Arn(env.Partition, bucketName)
	cloudTrail := []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("cloudtrail.amazonaws.com")}}
	fromTrail := iampolicy.Condition{Test: "StringEquals", Variable: "aws:SourceArn", Values: iampolicy.Strings(trailArn)}

	// Key policy from "Configure AWS KMS key policies for CloudTrail" (CloudTrail User Guide):
	// CloudTrail encrypts for this trail only (aws:SourceArn and the trail encryption context),
	// and describes the key; reading logs is left to IAM through the account statement.
	key, err := kmskey.New(ctx, name+"-trail", kmskey.Args{
		Env:         env,
		Description: "CineGit account CloudTrail log files",
		Alias:       trailName,
		Statements: []iampolicy.Statement{
			{
				Sid: "CloudTrailEncryptsThisTrailsLogs", Effect: "Allow", Actions: []string{"kms:GenerateDataKey*"},
				Resources: iampolicy.Strings("*"), Principals: cloudTrail,
				Conditions: []iampolicy.Condition{fromTrail, {
					Test: "StringLike", Variable: "kms:EncryptionContext:aws:cloudtrail:arn",
					Values: iampolicy.Strings(fmt.Sprintf("arn:%s:cloudtrail:*:%s:trail/*", env.Partition, env.AccountID)),
				}},
			},
			{
				Sid: "CloudTrailDescribesTheKey", Effect: "Allow", Actions: []string{"kms:DescribeKey"},
				Resources: iampolicy.Strings("*"), Principals: cloudTrail, Conditions: []iampolicy.Condition{fromTrail},
			},
		},
	}, keep...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	logs, err := bucket.New(ctx, name+"-trail", bucket.Args{
		Name:      bucketName,
		Purpose:   "cloudtrail",
		KMSKeyArn: key.Arn(),
		// The trail records the data plane of S3 only if asked; its bucket's own access is
		// in the trail's management events and needs no second log.
		NoAccessLogsReason: "CloudTrail log bucket: API calls on it are in the trail itself",
		Lifecycle: bucket.Lifecycle{
			AbortIncompleteUploadDays:       7,
			NoncurrentVersionExpirationDays: 30,
			ExpirationDays:                  g.CloudTrailRetentionDays,
		},
		Protect: true,
		Tags:    env.Tags,
	}, keep...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	// Bucket policy from "Amazon S3 bucket policy for CloudTrail" (CloudTrail User Guide): the
	// ACL check and the write, both only for this trail (aws:SourceArn), writes only under
	// this account's prefix with the owner's full control.
	policy, err := logs.AttachPolicy(ctx, []iampolicy.Statement{
		{
			Sid: "CloudTrailAclCheck", Effect: "Allow", Actions: []string{"s3:GetBucketAcl"},
			Resources: iampolicy.Strings(bucketArn), Principals: cloudTrail, Conditions: []iampolicy.Condition{fromTrail},
		},
		{
			Sid: "CloudTrailWrite", Effect: "Allow", Actions: []string{"s3:PutObject"},
			Resources: iampolicy.Strings(fmt.Sprintf("%s/AWSLogs/%s/*", bucketArn, env.AccountID)), Principals: cloudTrail,
			Conditions: []iampolicy.Condition{fromTrail, {Test: "StringEquals", Variable: "s3:x-amz-acl", Values: iampolicy.Strings("bucket-owner-full-control")}},
		},
	}, keep...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	// CloudTrail checks the bucket policy when the trail is created: the bucket name comes
	// from the policy resource, so the trail waits for it.
	trail, err := cloudtrail.NewTrail(ctx, name, &cloudtrail.TrailArgs{
		Name:                       pulumi.String(trailName),
		S3BucketName:               policy.Bucket,
		KmsKeyId:                   key.Arn(),
		IsMultiRegionTrail:         pulumi.Bool(true),
		IncludeGlobalServiceEvents: pulumi.Bool(true),
		EnableLogFileValidation:    pulumi.Bool(true),
		EnableLogging:              pulumi.Bool(true),
		Tags:                       env.Tags.Named(trailName).Map(),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	return trail.Arn, policy.Bucket, nil
}

// GuardDutyFeatures are the detector's protection plans, by the GuardDuty API's feature names
// ("DetectorFeatureConfiguration", GuardDuty API Reference): S3 data events (S3 protection),
// EKS audit logs, and runtime monitoring with the EKS agent managed by GuardDuty.
var GuardDutyFeatures = []string{"S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "RUNTIME_MONITORING"}

// threatDetection turns GuardDuty on in this region with the features CineGit's workloads
// need: media buckets (S3), the EKS clusters' audit logs and their nodes' runtime.
func threatDetection(ctx *pulumi.Context, name string, t tags.Set, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	detector, err := guardduty.NewDetector(ctx, name, &guardduty.DetectorArgs{
		Enable:                     pulumi.Bool(true),
		FindingPublishingFrequency: pulumi.String("FIFTEEN_MINUTES"),
		Tags:                       t.Named("cinegit-guardduty").Map(),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	for _, feature := range GuardDutyFeatures {
		args := &guardduty.DetectorFeatureArgs{
			DetectorId: detector.ID(),
			Name:       pulumi.String(feature),
			Status:     pulumi.String("ENABLED"),
		}
		if feature == "RUNTIME_MONITORING" {
			// GuardDuty installs and updates its security agent as an EKS add-on.
			args.AdditionalConfigurations = guardduty.DetectorFeatureAdditionalConfigurationArray{
				guardduty.DetectorFeatureAdditionalConfigurationArgs{Name: pulumi.String("EKS_ADDON_MANAGEMENT"), Status: pulumi.String("ENABLED")},
			}
		}
		if _, err := guardduty.NewDetectorFeature(ctx, fmt.Sprintf("%s-%s", name, feature), args, opts...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return detector.ID().ToStringOutput(), nil
}

// alerts is the cost alert topic (KMS-encrypted; Budgets and Cost Anomaly Detection may
// publish to it, for this account only), the budgets and the anomaly monitor.
func alerts(ctx *pulumi.Context, name string, g GuardrailsConfig, env stackenv.Env, keep []pulumi.ResourceOption, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	publishers := []string{"budgets.amazonaws.com", "costalerts.amazonaws.com"}
	forAccount := iampolicy.Condition{Test: "StringEquals", Variable: "aws:SourceAccount", Values: iampolicy.Strings(env.AccountID)}
	// Encrypted topics need the publishing services let into the key ("Configuring Amazon
	// SNS notifications" for AWS Budgets and for Cost Anomaly Detection, Cost Management
	// User Guide).
	key, err := kmskey.New(ctx, name+"-alerts", kmskey.Args{
		Env:         env,
		Description: "CineGit account cost alerts topic",
		Alias:       alertTopic,
		Statements: []iampolicy.Statement{{
			Sid: "CostServicesPublishEncrypted", Effect: "Allow", Actions: []string{"kms:GenerateDataKey*", "kms:Decrypt"},
			Resources:  iampolicy.Strings("*"),
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings(publishers...)}},
			Conditions: []iampolicy.Condition{forAccount},
		}},
	}, keep...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	topic, err := sns.NewTopic(ctx, name+"-alerts", &sns.TopicArgs{
		Name:           pulumi.String(alertTopic),
		KmsMasterKeyId: key.Arn(),
		Tags:           env.Tags.Named(alertTopic).Map(),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	topicPolicy, err := sns.NewTopicPolicy(ctx, name+"-alerts", &sns.TopicPolicyArgs{
		Arn: topic.Arn,
		Policy: iampolicy.Document(iampolicy.Statement{
			Sid: "CostServicesPublish", Effect: "Allow", Actions: []string{"sns:Publish"},
			Resources:  pulumi.StringArray{topic.Arn},
			Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings(publishers...)}},
			Conditions: []iampolicy.Condition{forAccount},
		}),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if g.AlertEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-alerts-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(g.AlertEmail),
		}, opts...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	// The services validate that they may publish when a budget or subscription is saved.
	afterPolicy := append(append([]pulumi.ResourceOption{}, opts...), pulumi.DependsOn([]pulumi.Resource{topicPolicy}))

	var budgetOpts []pulumi.ResourceOption
	ready, err := costTagInBillingData(ctx, g, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if g.ActivateCostAllocationTag && !ready {
		// A new account: activating now would fail the bootstrap halfway. The budget is made
		// anyway (it counts from activation on); the next run activates the tag.
		_ = ctx.Log.Warn(fmt.Sprintf("the %q tag is not in this account's billing data yet (it appears up to a day after the first "+
			"tagged resource): its activation as a cost allocation tag is deferred; run the bootstrap again tomorrow", costTagKey), nil)
	}
	if g.ActivateCostAllocationTag && ready {
		// Budgets filter on user tags only once the tag is an active cost allocation tag, and
		// AWS can activate a tag only after it has appeared in billing data (up to a day after
		// the first tagged resource). Activating it here makes the dependency explicit.
		tag, err := costexplorer.NewCostAllocationTag(ctx, name+"-environment", &costexplorer.CostAllocationTagArgs{
			TagKey: pulumi.String("environment"),
			Status: pulumi.String("Active"),
		}, opts...)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		budgetOpts = []pulumi.ResourceOption{pulumi.DependsOn([]pulumi.Resource{tag})}
	}
	if g.MonthlyBudgetUSD > 0 {
		stack := g.Stack
		var notes budgets.BudgetNotificationArray
		for _, pct := range g.BudgetAlertPercents {
			notes = append(notes, budgetNote("ACTUAL", pct, topic.Arn))
		}
		notes = append(notes, budgetNote("FORECASTED", 100, topic.Arn))
		budgetName := fmt.Sprintf("cinegit-%s-monthly", stack)
		if _, err := budgets.NewBudget(ctx, name+"-"+stack, &budgets.BudgetArgs{
			Name:        pulumi.String(budgetName),
			BudgetType:  pulumi.String("COST"),
			LimitAmount: pulumi.String(strconv.Itoa(g.MonthlyBudgetUSD)),
			LimitUnit:   pulumi.String("USD"),
			TimeUnit:    pulumi.String("MONTHLY"),
			// A user tag filter is "user:<key>$<value>" ("CostFilters", AWS Budgets API
			// Reference, and the provider's aws_budgets_budget example).
			CostFilters: budgets.BudgetCostFilterArray{budgets.BudgetCostFilterArgs{
				Name:   pulumi.String("TagKeyValue"),
				Values: pulumi.StringArray{pulumi.String("user:environment$" + stack)},
			}},
			Notifications: notes,
			Tags:          env.Tags.Named(budgetName).Map(),
		}, append(append([]pulumi.ResourceOption{}, afterPolicy...), budgetOpts...)...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}

	if g.CostAnomalyMonitor {
		// One monitor of every AWS service's spend in the account, with its alerts to the
		// topic as they happen (SNS subscriptions must be IMMEDIATE).
		monitor, err := costexplorer.NewAnomalyMonitor(ctx, name, &costexplorer.AnomalyMonitorArgs{
			Name:             pulumi.String("cinegit-services"),
			MonitorType:      pulumi.String("DIMENSIONAL"),
			MonitorDimension: pulumi.String("SERVICE"),
			Tags:             env.Tags.Named("cinegit-services").Map(),
		}, opts...)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		if _, err := costexplorer.NewAnomalySubscription(ctx, name, &costexplorer.AnomalySubscriptionArgs{
			Name:            pulumi.String("cinegit-cost-anomalies"),
			Frequency:       pulumi.String("IMMEDIATE"),
			MonitorArnLists: pulumi.StringArray{monitor.Arn},
			Subscribers: costexplorer.AnomalySubscriptionSubscriberArray{costexplorer.AnomalySubscriptionSubscriberArgs{
				Type: pulumi.String("SNS"), Address: topic.Arn,
			}},
			ThresholdExpression: costexplorer.AnomalySubscriptionThresholdExpressionArgs{
				Dimension: costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs{
					Key:          pulumi.String("ANOMALY_TOTAL_IMPACT_ABSOLUTE"),
					MatchOptions: pulumi.StringArray{pulumi.String("GREATER_THAN_OR_EQUAL")},
					Values:       pulumi.StringArray{pulumi.String(strconv.Itoa(g.CostAnomalyThresholdUSD))},
				},
			},
			Tags: env.Tags.Named("cinegit-cost-anomalies").Map(),
		}, afterPolicy...); err != nil {
			return pulumi.StringOutput{}, err
		}
	}
	return topic.Arn, nil
}

// costTagKey is the tag the budgets filter on.
const costTagKey = "environment"

// costTagInBillingData says whether Cost Explorer has seen the environment tag in the last 30
// days' cost data (GetTags, "Activating user-defined cost allocation tags", AWS Billing User
// Guide: a key can be activated only once it appears there). Asked only when activation is on.
func costTagInBillingData(ctx *pulumi.Context, g GuardrailsConfig, opts ...pulumi.ResourceOption) (bool, error) {
	if !g.ActivateCostAllocationTag {
		return false, nil
	}
	var invoke []pulumi.InvokeOption
	for _, o := range opts {
		if io, ok := o.(pulumi.InvokeOption); ok {
			invoke = append(invoke, io)
		}
	}
	now := time.Now().UTC()
	res, err := costexplorer.GetTags(ctx, &costexplorer.GetTagsArgs{
		SearchString: pulumi.StringRef(costTagKey),
		TimePeriod:   costexplorer.GetTagsTimePeriod{Start: now.AddDate(0, 0, -30).Format(time.DateOnly), End: now.Format(time.DateOnly)},
	}, invoke...)
	if err != nil {
		return false, fmt.Errorf("cost explorer tags: %w", err)
	}
	return slices.Contains(res.Tags, costTagKey), nil
}

func budgetNote(kind string, percent int, topicArn pulumi.StringInput) budgets.BudgetNotificationArgs {
	return budgets.BudgetNotificationArgs{
		NotificationType:       pulumi.String(kind),
		ComparisonOperator:     pulumi.String("GREATER_THAN"),
		Threshold:              pulumi.Float64(float64(percent)),
		ThresholdType:          pulumi.String("PERCENTAGE"),
		SubscriberSnsTopicArns: pulumi.StringArray{topicArn},
	}
}

// guardDeployRole keeps the deploy role (AdministratorAccess for `pulumi up`) from switching
// the guardrails off: an audit trail the audited role can stop is no audit trail.
func (gr *Guardrails) guardDeployRole(ctx *pulumi.Context, name string, deployRoleName pulumi.StringInput, env stackenv.Env, g GuardrailsConfig, opts ...pulumi.ResourceOption) error {
	var stmts []iampolicy.Statement
	if g.CloudTrail {
		trailKey := fmt.Sprintf("arn:%s:kms:%s:%s:alias/%s", env.Partition, env.Region, env.AccountID, trailName)
		trailBucket := bucket.Arn(env.Partition, trailBucketName(env))
		stmts = append(stmts, iampolicy.Statement{
			Sid: "KeepTheAuditTrail", Effect: "Deny",
			Actions:   []string{"cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors"},
			Resources: iampolicy.Strings(fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", env.Partition, env.Region, env.AccountID, trailName)),
		}, iampolicy.Statement{
			// The trail's key by its alias: kms:ResourceAliases are the aliases a key has, for
			// operations on the key, not on aliases ("ABAC for AWS KMS", KMS Developer Guide).
			Sid: "KeepTheTrailKey", Effect: "Deny",
			Actions: []string{
				"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:PutKeyPolicy", "kms:CreateGrant",
			},
			Resources:  iampolicy.Strings("*"),
			Conditions: []iampolicy.Condition{{Test: "ForAnyValue:StringEquals", Variable: "kms:ResourceAliases", Values: iampolicy.Strings("alias/" + trailName)}},
		}, iampolicy.Statement{
			Sid: "KeepTheTrailKeyAlias", Effect: "Deny",
			Actions:   []string{"kms:DeleteAlias", "kms:UpdateAlias"},
			Resources: iampolicy.Strings(trailKey),
		}, iampolicy.Statement{
			Sid: "KeepTheTrailBucket", Effect: "Deny",
			Actions: []string{
				"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
				"s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPublicAccessBlock",
				"s3:PutBucketOwnershipControls", "s3:PutBucketAcl", "s3:PutReplicationConfiguration",
			},
			Resources: iampolicy.Strings(trailBucket),
		}, iampolicy.Statement{
			Sid: "KeepTheTrailLogs", Effect: "Deny",
			Actions:   []string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject", "s3:PutObjectAcl"},
			Resources: iampolicy.Strings(trailBucket + "/*"),
		})
	}
	if g.GuardDuty {
		stmts = append(stmts, iampolicy.Statement{
			Sid: "KeepThreatDetection", Effect: "Deny",
			Actions: []string{
				"guardduty:DeleteDetector", "guardduty:UpdateDetector", "guardduty:DisassociateFromMasterAccount", "guardduty:DisassociateFromAdministratorAccount",
				// Filters can auto-archive findings, and trusted IP lists silence them.
				"guardduty:CreateFilter", "guardduty:UpdateFilter", "guardduty:CreateIPSet", "guardduty:UpdateIPSet",
			},
			Resources: iampolicy.Strings("*"),
		})
	}
	if g.AccessAnalyzer {
		analyzer := fmt.Sprintf("arn:%s:access-analyzer:%s:%s:analyzer/%s", env.Partition, env.Region, env.AccountID, analyzerName)
		stmts = append(stmts, iampolicy.Statement{
			Sid: "KeepTheAccessAnalyzer", Effect: "Deny",
			// Archive rules hide the findings they match, past and future.
			Actions:   []string{"access-analyzer:DeleteAnalyzer", "access-analyzer:CreateArchiveRule", "access-analyzer:UpdateArchiveRule", "access-analyzer:ApplyArchiveRule"},
			Resources: iampolicy.Strings(analyzer, analyzer+"/archive-rule/*"),
		})
	}
	if len(stmts) == 0 {
		return nil
	}
	_, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Name:   pulumi.String("keep-account-guardrails"),
		Role:   deployRoleName,
		Policy: iampolicy.Document(stmts...),
	}, append([]pulumi.ResourceOption{pulumi.Parent(gr)}, opts...)...)
	return err
}

// trailBucketName is the CloudTrail bucket's name: one per account and region.
func trailBucketName(env stackenv.Env) string {
	return fmt.Sprintf("cinegit-cloudtrail-%s-%s", env.AccountID, env.Region)
}
