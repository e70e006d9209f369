package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// exceptionCase is an input whose first resource is reported by rule: waived with reason, or
// not waived when reason is "".
type exceptionCase struct {
	name      string
	rule      string
	reason    string
	resources []Resource
}

func exceptionCases() []exceptionCase {
	sg := "aws:ec2/securityGroup:SecurityGroup"
	open22 := []any{map[string]any{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": []any{"0.0.0.0/0"}}}
	sseS3 := func(tags map[string]any) []Resource {
		rs := secureBucket("cinegit-dev-logs", "dev")
		rs[0].Props["tags"] = tags
		for i := range rs {
			if rs[i].Type == sseConfig {
				rs[i].Props["rules"] = []any{map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}}}
			}
		}
		return rs
	}
	const why = "S3 server access logs can only be delivered to buckets with SSE-S3 default encryption"
	return []exceptionCase{
		// A mandatory policy the pack does not list in waivable for the type: the tag waives
		// nothing (and deny_unlisted_exception fails it, below).
		{"policy name tag, not waivable", "deny_open_ingress", "",
			[]Resource{res(sg, "bastion", map[string]any{
				"tags":    tagsWith("dev", ExceptionTag("deny_open_ingress"), "bastion for the migration window: removed in INFRA-42"),
				"ingress": open22,
			})}},
		{"exception for another policy", "deny_open_ingress", "",
			[]Resource{res(sg, "bastion", map[string]any{
				"tags":    tagsWith("dev", ExceptionTag("deny_required_tags"), "not this one"),
				"ingress": open22,
			})}},
		{"misspelled policy", "deny_open_ingress", "",
			[]Resource{res(sg, "bastion", map[string]any{
				"tags":    tagsWith("dev", ExceptionTag("deny_open_ingres"), "typo"),
				"ingress": open22,
			})}},
		{"empty reason", "deny_open_ingress", "",
			[]Resource{res(sg, "bastion", map[string]any{"tags": tagsWith("dev", ExceptionTag("deny_open_ingress"), "  "), "ingress": open22})}},
		{"reason unknown in a preview", "deny_open_ingress", "",
			[]Resource{res(sg, "bastion", map[string]any{"tags": tagsWith("dev", ExceptionTag("deny_open_ingress"), Unknown), "ingress": open22})}},
		{"stack policy, topic alias", "stack_deny_bucket_kms_encryption", why,
			sseS3(tagsWith("dev", "cinegit:exception:sse-kms", why))},
		{"stack policy, policy name", "stack_deny_bucket_kms_encryption", why,
			sseS3(tagsWith("dev", ExceptionTag("stack_deny_bucket_kms_encryption"), why))},
		{"stack policy, topic and name", "stack_deny_bucket_kms_encryption", "a; b",
			sseS3(tagsWith("dev", "cinegit:exception:sse-kms", "b", ExceptionTag("stack_deny_bucket_kms_encryption"), "a"))},
		{"stack policy, no exception", "stack_deny_bucket_kms_encryption", "", sseS3(stdTags("dev"))},
	}
}

func TestExceptions(t *testing.T) {
	for _, tc := range exceptionCases() {
		t.Run(tc.name, func(t *testing.T) {
			rep := evaluate(t, tc.resources)
			urn := tc.resources[0].URN
			violations := ofRule(rep.Violations(), tc.rule)
			waived := ofRule(rep.Exceptions(), tc.rule)
			if tc.reason == "" {
				if len(violations) == 0 || len(waived) > 0 {
					t.Fatalf("want a violation and no exception, got violations %+v, exceptions %+v", violations, waived)
				}
				return
			}
			if len(violations) > 0 {
				t.Fatalf("waived finding reported as a violation: %+v", violations)
			}
			if len(waived) == 0 {
				t.Fatalf("waived finding not reported among exceptions: %+v", rep.Findings)
			}
			for _, f := range waived {
				if !f.Excepted || f.Reason != tc.reason || f.URN != urn || f.Message == "" || f.Severity != Mandatory {
					t.Errorf("exception %+v, want excepted on %s with reason %q", f, urn, tc.reason)
				}
			}
			for _, f := range rep.Findings {
				if f.Excepted && f.Rule != tc.rule {
					t.Errorf("exception for %s waived %s too: %+v", tc.rule, f.Rule, f)
				}
			}
		})
	}
}

// TestExceptionRuleInAnalyzer checks that real previews show declared exceptions: the analyzer
// does not report the waived finding, and warn_policy_exception lists the waiver.
func TestExceptionRuleInAnalyzer(t *testing.T) {
	a := newAnalyzer(t)
	var tc exceptionCase
	for _, c := range exceptionCases() {
		if c.name == "stack policy, topic alias" {
			tc = c
		}
	}
	diags := a.diagnostics(t, tc.resources)
	joined := strings.Join(diags, "\n")
	if strings.Contains(joined, tc.rule+"|") {
		t.Errorf("the analyzer reports the waived finding:\n%s", joined)
	}
	if !strings.Contains(joined, ExceptionRule+"|"+tc.resources[0].URN+"|") || !strings.Contains(joined, tc.reason) {
		t.Errorf("%s does not list the exception with its reason:\n%s", ExceptionRule, joined)
	}
	// Without exceptions it reports nothing.
	if diags := a.diagnostics(t, []Resource{res("aws:ec2/vpc:Vpc", "main", map[string]any{"tags": stdTags("dev")})}); len(diags) > 0 {
		t.Errorf("compliant resource: %v", diags)
	}
}

// TestUntaggableExceptions checks the listing for resources without tags, by overriding the
// (empty) untaggable_exceptions of the pack.
func TestUntaggableExceptions(t *testing.T) {
	a := newAnalyzer(t)
	rule := res("aws:ec2/securityGroupRule:SecurityGroupRule", "nlb-health", map[string]any{
		"type": "ingress", "protocol": "tcp", "fromPort": 8443, "toPort": 8443, "cidrBlocks": []any{"0.0.0.0/0"},
	})
	doc, err := resourceDoc(rule)
	if err != nil {
		t.Fatal(err)
	}
	eval := func(listing string) []any {
		rs, err := rego.New(
			rego.Query("data.cinegit.deny_open_ingress with data.cinegit.untaggable_exceptions as "+listing),
			rego.Compiler(a.compiler),
			rego.ParsedInput(doc.Value),
		).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Fatalf("%v %v", rs, err)
		}
		items, _ := rs[0].Expressions[0].Value.([]any)
		return items
	}
	if got := eval(`{}`); len(got) != 1 {
		t.Fatalf("without a listing: %v", got)
	}
	listing := `{"aws:ec2/securityGroupRule:SecurityGroupRule::nlb-health": {"deny_open_ingress": "NLB health checks"}}`
	if got := eval(listing); len(got) != 0 {
		t.Errorf("listed exception not honoured: %v", got)
	}
	// Every listed key must name an untaggable type: taggable resources declare exceptions in
	// their tags, next to themselves.
	untaggable, err := UntaggableTypes()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(rego.Query("data.cinegit.untaggable_exceptions"), rego.Compiler(a.compiler)).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	for key := range rs[0].Expressions[0].Value.(map[string]any) {
		typ, _, _ := strings.Cut(key, "::")
		if !contains(untaggable, typ) {
			t.Errorf("untaggable_exceptions[%q]: %s is not an untaggable type; tag the resource instead", key, typ)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDeclaredExceptions checks the {policy: reason} map the evaluator reads.
func TestDeclaredExceptions(t *testing.T) {
	a := newAnalyzer(t)
	r := res("aws:s3/bucketV2:BucketV2", "logs", map[string]any{"tags": tagsWith("dev",
		"cinegit:exception:sse-kms", "log delivery",
		ExceptionTag("deny_prod_unprotected"), "ephemeral, but not waivable on a bucket",
		ExceptionTag("warn_iam_service_wildcard_action"), "advisory: waivable anywhere",
		"cinegit:exception:unknown-topic", "ignored as a topic, kept as a policy name",
		"Name", "logs",
	)})
	doc, err := resourceDoc(r)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(rego.Query("data.cinegit.declared_exceptions(input)"), rego.Compiler(a.compiler), rego.ParsedInput(doc.Value)).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	got := ast.MustInterfaceToValue(rs[0].Expressions[0].Value)
	want := ast.MustParseTerm(`{
		"stack_deny_bucket_kms_encryption": "log delivery",
		"warn_iam_service_wildcard_action": "advisory: waivable anywhere",
		"unknown-topic": "ignored as a topic, kept as a policy name",
	}`).Value
	if got.Compare(want) != 0 {
		t.Errorf("declared_exceptions = %v, want %v", got, want)
	}
}

func init() { caseSets = append(caseSets, exceptionRuleCases) }

// exceptionRuleCases: a tag may waive a mandatory policy only on the types the pack lists.
func exceptionRuleCases() []ruleCase {
	sg := "aws:ec2/securityGroup:SecurityGroup"
	bucket := "aws:s3/bucketV2:BucketV2"
	return []ruleCase{
		{"mandatory policy on a type the pack does not list", "deny_unlisted_exception", true,
			[]Resource{res(sg, "bastion", map[string]any{"tags": tagsWith("dev", ExceptionTag("deny_open_ingress"), "just this once")})}},
		{"a topic that waives a mandatory policy on another type", "deny_unlisted_exception", true,
			[]Resource{res(sg, "web", map[string]any{"tags": tagsWith("dev", "cinegit:exception:sse-kms", "not a bucket")})}},
		{"the exception cannot waive itself", "deny_unlisted_exception", true,
			[]Resource{res(sg, "web", map[string]any{"tags": tagsWith("dev",
				ExceptionTag("deny_required_tags"), "no", ExceptionTag("deny_unlisted_exception"), "let me")})}},
		{"a listed policy on its type", "deny_unlisted_exception", false,
			[]Resource{res(bucket, "logs", map[string]any{"tags": tagsWith("dev", "cinegit:exception:sse-kms", "S3 log delivery needs SSE-S3")})}},
		{"an advisory policy anywhere", "deny_unlisted_exception", false,
			[]Resource{res(sg, "web", map[string]any{"tags": tagsWith("dev", ExceptionTag("warn_iam_service_wildcard_action"), "advisory")})}},
	}
}
