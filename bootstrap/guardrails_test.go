package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	tGuardrails   = "cinegit-bootstrap:guardrails:Guardrails"
	tTrail        = "aws:cloudtrail/trail:Trail"
	tDetector     = "aws:guardduty/detector:Detector"
	tFeature      = "aws:guardduty/detectorFeature:DetectorFeature"
	tAnalyzer     = "aws:accessanalyzer/analyzer:Analyzer"
	tBudget       = "aws:budgets/budget:Budget"
	tTopic        = "aws:sns/topic:Topic"
	tTopicPolicy  = "aws:sns/topicPolicy:TopicPolicy"
	tMonitor      = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
	tSubscription = "aws:costexplorer/anomalySubscription:AnomalySubscription"
	tCostTag      = "aws:costexplorer/costAllocationTag:CostAllocationTag"
)

// inGuardrails holds for the guardrails component and what it parents.
func inGuardrails(r *harness.Result, res *harness.Resource) bool {
	g := r.Component(tGuardrails)
	return g != nil && (res.URN == g.URN || res.Parent == g.URN)
}

// outsideGuardrails drops the guardrails from rs: the state and CI tests look at the rest.
func outsideGuardrails(r *harness.Result, rs []*harness.Resource) []*harness.Resource {
	var out []*harness.Resource
	for _, res := range rs {
		if !inGuardrails(r, res) {
			out = append(out, res)
		}
	}
	return out
}

func guardrail(t *testing.T, r *harness.Result, typ, name string) *harness.Resource {
	t.Helper()
	res := r.Named(typ, name)
	if res == nil || !inGuardrails(r, res) {
		t.Fatalf("no guardrail %s %s", typ, name)
	}
	return res
}

func TestCloudTrailRecordsEveryRegionToALockedDownBucket(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		trail := guardrail(t, r, tTrail, "guardrails")
		for k, want := range map[string]any{"isMultiRegionTrail": true, "includeGlobalServiceEvents": true, "enableLogFileValidation": true, "enableLogging": true} {
			if trail.Input(k) != want {
				t.Errorf("trail %s = %v, want %v", k, trail.Input(k), want)
			}
		}
		key := guardrail(t, r, tKey, "guardrails-trail")
		policy := guardrail(t, r, tPolicy, "guardrails-trail")
		bucket := guardrail(t, r, tBucket, "guardrails-trail")
		if !r.DependsOn(trail, key) || !r.DependsOn(trail, policy) {
			t.Error("the trail must use its key and wait for the bucket policy CloudTrail checks")
		}
		if !bucket.Protect || !bucket.RetainOnDelete || !key.Protect {
			t.Error("the trail's bucket and key must survive a destroy")
		}
		for _, typ := range []string{tPAB, tOwnership, tVersioning, tSSE, tLifecycle} {
			found := false
			for _, c := range r.ByType(typ) {
				found = found || (inGuardrails(r, c) && r.DependsOn(c, bucket))
			}
			if !found {
				t.Errorf("trail bucket has no %s", typ)
			}
		}
		if r.Preview {
			return
		}
		trailArn := "arn:aws:cloudtrail:us-east-1:" + harness.AccountID + ":trail/cinegit-account-trail"
		st := statements(doc(t, policy, "policy"))
		if st["DenyInsecureTransport"]["Effect"] != "Deny" {
			t.Error("trail bucket is not TLS-only")
		}
		for _, sid := range []string{"CloudTrailAclCheck", "CloudTrailWrite"} {
			cond := st[sid]["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			if !slices.Equal(strs(cond["aws:SourceArn"]), []string{trailArn}) {
				t.Errorf("%s is not limited to this trail: %v", sid, cond)
			}
		}
		if res := strs(st["CloudTrailWrite"]["Resource"]); len(res) != 1 || !strings.HasSuffix(res[0], "/AWSLogs/"+harness.AccountID+"/*") {
			t.Errorf("CloudTrail writes outside this account's prefix: %v", res)
		}
		ks := statements(doc(t, key, "policy"))["CloudTrailEncryptsThisTrailsLogs"]
		cond := ks["Condition"].(map[string]any)
		if !slices.Equal(strs(cond["StringEquals"].(map[string]any)["aws:SourceArn"]), []string{trailArn}) ||
			cond["StringLike"].(map[string]any)["kms:EncryptionContext:aws:cloudtrail:arn"] == nil {
			t.Errorf("CloudTrail key statement: %v", ks)
		}
	})
}

func TestGuardDutyAndAccessAnalyzer(t *testing.T) {
	forEachMode(t, func(t *testing.T, r *harness.Result) {
		d := guardrail(t, r, tDetector, "guardrails")
		if d.Input("enable") != true {
			t.Error("GuardDuty detector disabled")
		}
		// GuardDuty is regional: the backup copy region has a detector of its own.
		west := guardrail(t, r, tDetector, "guardrails-us-west-2")
		if p := r.ByURN(harness.ProviderURN(west.Provider)); p == nil || p.InputString("region") != "us-west-2" || p.InputString("defaultTags.tags.environment") != "dev" ||
			!reflect.DeepEqual(p.Input("allowedAccountIds"), []any{harness.AccountID}) {
			t.Errorf("us-west-2 detector's provider: %v", west.Provider)
		}
		var features []string
		for _, f := range r.ByType(tFeature) {
			if !r.DependsOn(f, d) {
				continue // the us-west-2 detector's
			}
			features = append(features, f.InputString("name"))
			if f.InputString("status") != "ENABLED" {
				t.Errorf("feature %s: status %s", f.InputString("name"), f.InputString("status"))
			}
			if f.InputString("name") == "RUNTIME_MONITORING" && f.InputString("additionalConfigurations[0].name") != "EKS_ADDON_MANAGEMENT" {
				t.Errorf("runtime monitoring without the EKS agent: %v", f.Input("additionalConfigurations"))
			}
		}
		slices.Sort(features)
		if want := []string{"EKS_AUDIT_LOGS", "RUNTIME_MONITORING", "S3_DATA_EVENTS"}; !slices.Equal(features, want) {
			t.Errorf("features %v, want %v", features, want)
		}
		if a := guardrail(t, r, tAnalyzer, "guardrails"); a.InputString("type") != "ACCOUNT" {
			t.Errorf("analyzer type %s", a.InputString("type"))
		}
	})
}

func TestBudgetPerStackAndCostAnomaliesAlertTheEncryptedTopic(t *testing.T) {
	// Each account budgets its own stack, with the amount its stack file gives.
	for stack, amount := range map[string]string{"dev": "500", "staging": "1500", "prod": "8000"} {
		t.Run(stack, func(t *testing.T) {
			r := runStack(t, stack, false, nil)
			topic := guardrail(t, r, tTopic, "guardrails-alerts")
			key := guardrail(t, r, tKey, "guardrails-alerts")
			if !r.DependsOn(topic, key) || topic.InputString("kmsMasterKeyId") == "" {
				t.Error("the alert topic must be encrypted with its key")
			}
			topicArn := topic.Outputs["arn"].StringValue()
			tp := statements(doc(t, guardrail(t, r, tTopicPolicy, "guardrails-alerts"), "policy"))["CostServicesPublish"]
			if got := strs(tp["Principal"].(map[string]any)["Service"]); !slices.Equal(got, []string{"budgets.amazonaws.com", "costalerts.amazonaws.com"}) {
				t.Errorf("topic publishers %v", got)
			}
			ks := statements(doc(t, key, "policy"))["CostServicesPublishEncrypted"]
			if ks == nil || !slices.Contains(strs(ks["Action"]), "kms:GenerateDataKey*") {
				t.Errorf("the cost services cannot encrypt for the topic: %v", ks)
			}
			budgets := r.ByType(tBudget)
			if len(budgets) != 1 {
				t.Fatalf("%d budgets, want the account's stack's one", len(budgets))
			}
			b := budgets[0]
			if b.InputString("name") != "cinegit-"+stack+"-monthly" || b.InputString("limitAmount") != amount ||
				b.InputString("timeUnit") != "MONTHLY" || b.InputString("budgetType") != "COST" {
				t.Errorf("budget %s: %s %s", b.InputString("name"), b.InputString("limitAmount"), b.InputString("timeUnit"))
			}
			if b.InputString("costFilters[0].name") != "TagKeyValue" || b.InputString("costFilters[0].values[0]") != "user:environment$"+stack {
				t.Errorf("budget filter %v", b.Input("costFilters"))
			}
			notes, _ := b.Input("notifications").([]any)
			if len(notes) != 3 {
				t.Errorf("notifications %v: 80%% and 100%% actual, 100%% forecast", notes)
			}
			for _, n := range notes {
				if got := strs(n.(map[string]any)["subscriberSnsTopicArns"]); !slices.Equal(got, []string{topicArn}) {
					t.Errorf("budget alerts %v", got)
				}
			}
			if !r.DependsOn(b, guardrail(t, r, tCostTag, "guardrails-environment")) {
				t.Errorf("the budget filters on a tag it does not wait to be activated")
			}
			sub := guardrail(t, r, tSubscription, "guardrails")
			if sub.InputString("frequency") != "IMMEDIATE" || sub.InputString("subscribers[0].type") != "SNS" || sub.InputString("subscribers[0].address") != topicArn {
				t.Errorf("anomaly subscription %v", sub.Inputs)
			}
			if !r.DependsOn(sub, guardrail(t, r, tMonitor, "guardrails")) || sub.InputString("thresholdExpression.dimension.values[0]") != "100" {
				t.Errorf("anomaly subscription threshold %v", sub.Input("thresholdExpression"))
			}
		})
	}
}

func TestDeployRoleCannotSwitchTheGuardrailsOff(t *testing.T) {
	r := run(t, false, nil)
	p := guardrail(t, r, tRolePolicy, "deploy-guardrails-guard")
	if !r.DependsOn(p, r.Named(tRole, "runner-deploy")) {
		t.Error("the guard is not on the deploy runner's role, the one deploys run as")
	}
	st := statements(doc(t, p, "policy"))
	trailBucket := "arn:aws:s3:::cinegit-cloudtrail-" + harness.AccountID + "-us-east-1"
	// What the deploy role may not do to each guardrail, and where: the list of what an
	// administrator could otherwise quietly switch off.
	tests := []struct {
		sid, action, resource string
	}{
		{"KeepTheAuditTrail", "cloudtrail:StopLogging", "arn:aws:cloudtrail:us-east-1:" + harness.AccountID + ":trail/cinegit-account-trail"},
		{"KeepTheTrailKey", "kms:ScheduleKeyDeletion", "*"},
		{"KeepTheTrailKey", "kms:CreateGrant", "*"},
		{"KeepTheTrailKeyAlias", "kms:DeleteAlias", "arn:aws:kms:us-east-1:" + harness.AccountID + ":alias/cinegit-account-trail"},
		{"KeepTheTrailBucket", "s3:PutBucketPolicy", trailBucket},
		{"KeepTheTrailBucket", "s3:PutReplicationConfiguration", trailBucket},
		{"KeepTheTrailLogs", "s3:DeleteObjectVersion", trailBucket + "/*"},
		{"KeepThreatDetection", "guardduty:UpdateDetector", "*"},
		{"KeepThreatDetection", "guardduty:CreateFilter", "*"},
		{"KeepThreatDetection", "guardduty:CreateIPSet", "*"},
		{"KeepTheAccessAnalyzer", "access-analyzer:DeleteAnalyzer", "arn:aws:access-analyzer:us-east-1:" + harness.AccountID + ":analyzer/cinegit-account"},
		{"KeepTheAccessAnalyzer", "access-analyzer:CreateArchiveRule", "arn:aws:access-analyzer:us-east-1:" + harness.AccountID + ":analyzer/cinegit-account/archive-rule/*"},
	}
	for _, tt := range tests {
		s := st[tt.sid]
		if s["Effect"] != "Deny" || !slices.Contains(strs(s["Action"]), tt.action) || !slices.Contains(strs(s["Resource"]), tt.resource) {
			t.Errorf("the deploy role may %s on %s: %s is %v", tt.action, tt.resource, tt.sid, s)
		}
	}
	// The trail's key is found by its alias (its ID is not known before it exists).
	if c := st["KeepTheTrailKey"]["Condition"]; !reflect.DeepEqual(c, map[string]any{"ForAnyValue:StringEquals": map[string]any{"kms:ResourceAliases": []any{"alias/cinegit-account-trail"}}}) {
		t.Errorf("trail key condition %v", c)
	}
}

func TestEachGuardrailSwitchesOff(t *testing.T) {
	off := map[string]string{}
	for _, k := range []string{"cloudTrail", "guardDuty", "accessAnalyzer", "costAnomalyMonitor", "activateCostAllocationTag"} {
		off[Project+":"+k] = "false"
	}
	off[Project+":monthlyBudgetUsd"] = "0"
	r := run(t, false, off)
	for _, typ := range []string{tTrail, tDetector, tFeature, tAnalyzer, tBudget, tMonitor, tSubscription, tCostTag} {
		for _, res := range r.ByType(typ) {
			if inGuardrails(r, res) {
				t.Errorf("%s %s is still created", typ, res.Name)
			}
		}
	}
	if r.Named(tRolePolicy, "deploy-guardrails-guard") != nil {
		t.Error("a guard for guardrails that are off")
	}
	// The alert topic stays: on-call tooling subscribes to it.
	guardrail(t, r, tTopic, "guardrails-alerts")
}

func TestInvalidGuardrailSettings(t *testing.T) {
	for k, v := range map[string]string{
		"cloudTrail":              "yes please",
		"cloudTrailRetentionDays": "30",
		"monthlyBudgetUsd":        "-1",
		"budgetAlertPercents":     "[]",
		"guardDutyRegions":        `["moon-1"]`,
		"alertEmail":              "on-call",
		"costAnomalyThresholdUsd": "0",
	} {
		raw := validRaw()
		raw[Project+":"+k] = v
		if _, err := ParseConfig(raw); err == nil || !strings.Contains(err.Error(), Project+":"+k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

// TestANewAccountDefersTheCostTag: in a new account the environment tag is not in the billing
// data yet, and AWS refuses to activate it; the bootstrap then makes everything else (the budget
// included) without the activation instead of failing halfway, and a run once the tag is billed
// activates it.
func TestANewAccountDefersTheCostTag(t *testing.T) {
	fresh, err := harness.Run(program, harness.Options{Dir: ".", Stack: "dev", NewAccount: true,
		Override: map[string]string{Project + ":accountId": harness.AccountID}})
	if err != nil {
		t.Fatalf("the bootstrap of a new account failed: %v", err)
	}
	if n := len(fresh.ByType(tCostTag)); n != 0 {
		t.Errorf("a new account activates the cost tag (%d)", n)
	}
	if n := len(fresh.ByType(tBudget)); n != 1 {
		t.Errorf("a new account gets %d budgets, want its one", n)
	}
	later := run(t, false, nil)
	if len(later.ByType(tCostTag)) != 1 || len(later.Resources) != len(fresh.Resources)+1 {
		t.Errorf("the next run adds %d resources, want the activation alone", len(later.Resources)-len(fresh.Resources))
	}
}
