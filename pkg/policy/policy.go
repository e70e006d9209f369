// Package policy evaluates CineGit's policy pack (the Rego modules in policy/) offline, with
// OPA's Go library, over the resources a program run registered. The same evaluation runs in
// real previews and updates through pulumi-analyzer-policy-cinegit (pkg/policy/analyzer,
// `pulumi preview --policy-pack policy`). Each policy gets the input pulumi-policy-opa's
// analyzer would give it (the pack stays loadable by that analyzer too):
//
//   - resource policies (deny_*, warn_*) see one resource: its properties at the top level of
//     input, plus __type, __urn, __name, __options (protect, parent), __provider and
//     __properties;
//   - stack policies (stack_deny_*, stack_warn_*) see input.resources, every resource in that
//     shape plus dependencies and propertyDependencies.
//
// Exceptions are declared on the resource with the tag cinegit:exception:<policy> = <reason>
// (policy/exceptions.rego). Evaluate reports the findings they waive separately from
// violations, with the reason.
package policy

import (
	"context"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Severity is a policy's enforcement level.
type Severity string

// Enforcement levels: a mandatory violation fails the preview, an advisory one is a warning.
const (
	Mandatory Severity = "mandatory"
	Advisory  Severity = "advisory"
)

// ExceptionTagPrefix starts the tag keys that declare policy exceptions.
const ExceptionTagPrefix = "cinegit:exception:"

// PublicLoadBalancerTag marks (with the value "true") the security group of an internet-facing
// load balancer, which may allow TCP 80 and 443 from anywhere.
const PublicLoadBalancerTag = "cinegit:public-load-balancer"

// ExceptionTag returns the tag key that waives policy on the resource carrying it; its value is
// the reason.
func ExceptionTag(policy string) string { return ExceptionTagPrefix + policy }

// Resource is one registered resource, as the analyzer sees it.
type Resource struct {
	URN  string
	Type string
	Name string
	// Custom is false for component resources. Informational: analyzers are not told.
	Custom bool
	// Props are the resource's inputs as JSON-like values (see Props); unknown values should be
	// Unknown.
	Props   map[string]any
	Options Options
}

// Options are the resource's options and relations.
type Options struct {
	Protect bool
	// RetainOnDelete is not sent to analyzers; policies cannot see it.
	RetainOnDelete bool
	Parent         string
	// Provider is the provider reference "<urn>::<id>".
	Provider string
	// Dependencies are the URNs the resource depends on (stack policies' dependencies).
	Dependencies []string
	// PropertyDependencies are, per input, the URNs its value came from (stack policies'
	// propertyDependencies). Optional: without them, stack policies relate resources through
	// input values and Dependencies.
	PropertyDependencies map[string][]string
}

// Finding is one policy result for one resource.
type Finding struct {
	Rule     string   `json:"rule"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	URN      string   `json:"urn"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Message  string   `json:"message"`
	// Excepted is true when the resource declares an exception for the rule; Reason is why.
	Excepted bool   `json:"excepted,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Report is the result of evaluating the pack over a stack.
type Report struct {
	// Findings are all findings, waived ones included, sorted by severity (mandatory first),
	// rule, URN and message.
	Findings []Finding
}

// Violations are the mandatory findings not waived by an exception: any of them fails a
// preview.
func (r *Report) Violations() []Finding {
	return r.filter(func(f Finding) bool { return f.Severity == Mandatory && !f.Excepted })
}

// Warnings are the advisory findings not waived by an exception.
func (r *Report) Warnings() []Finding {
	return r.filter(func(f Finding) bool { return f.Severity == Advisory && !f.Excepted })
}

// Exceptions are the findings that a declared exception waives, with its reason.
func (r *Report) Exceptions() []Finding {
	return r.filter(func(f Finding) bool { return f.Excepted })
}

func (r *Report) filter(keep func(Finding) bool) []Finding {
	if r == nil {
		return nil
	}
	var out []Finding
	for _, f := range r.Findings {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// Rule describes one policy of the pack.
type Rule struct {
	Name        string
	Title       string
	Description string
	Severity    Severity
	// Stack is true for stack policies (stack_deny_*, stack_warn_*).
	Stack bool
	// File is the module (policy/<file>.rego) that defines it.
	File string
}

// Rules lists the pack's policies in name order.
func Rules() ([]Rule, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	return append([]Rule(nil), e.rules...), nil
}

// TaggableTypes are the AWS resource types that must carry the required tags, sorted.
func TaggableTypes() ([]string, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	return append([]string(nil), e.taggable...), nil
}

// UntaggableTypes are the AWS resource types classified as having no tags, sorted.
func UntaggableTypes() ([]string, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	return append([]string(nil), e.untaggable...), nil
}

// Evaluate runs every policy of the pack over a stack's resources and returns the findings.
// The pack is compiled and its queries prepared once per process; an evaluation is two OPA
// queries, one for the resource policies (each resource against the policies its type
// guards admit) and one for the stack policies.
func Evaluate(ctx context.Context, resources []Resource) (*Report, error) {
	e, err := load()
	if err != nil {
		return nil, err
	}
	stack, err := stackInput(resources)
	if err != nil {
		return nil, fmt.Errorf("policy input: %w", err)
	}
	byType := ast.NewObject()
	for _, r := range resources {
		if byType.Get(ast.StringTerm(r.Type)) != nil {
			continue
		}
		names, err := e.rulesFor(ctx, r.Type)
		if err != nil {
			return nil, err
		}
		byType.Insert(ast.StringTerm(r.Type), stringsTerm(names))
	}
	perResource := ast.NewObject(
		ast.Item(ast.StringTerm("resources"), stack.Get(ast.StringTerm("resources"))),
		ast.Item(ast.StringTerm("rules_by_type"), ast.NewTerm(byType)),
	)
	var resourceResults []resourceResult
	if err := evalInto(ctx, e.resourceQuery, perResource, &resourceResults); err != nil {
		return nil, err
	}
	var stackResults map[string][]stackItem
	if err := evalInto(ctx, e.stackQuery, stack, &stackResults); err != nil {
		return nil, err
	}

	byURN := make(map[string]int, len(resources))
	for i, r := range resources {
		byURN[r.URN] = i
	}
	exceptions := make([]map[string]string, len(resources))
	rep := &Report{}
	for _, rr := range resourceResults {
		if rr.I < 0 || rr.I >= len(resources) {
			return nil, fmt.Errorf("policy evaluation: resource index %d out of range", rr.I)
		}
		exceptions[rr.I] = rr.Exceptions
		for rule, msgs := range rr.Findings {
			for _, msg := range msgs {
				rep.Findings = append(rep.Findings, e.finding(rule, resources[rr.I], msg, rr.Exceptions))
			}
		}
	}
	for rule, items := range stackResults {
		for _, it := range items {
			var r Resource
			var waived map[string]string
			if i, ok := byURN[it.URN]; ok {
				r, waived = resources[i], exceptions[i]
			} else {
				r.URN = it.URN
			}
			rep.Findings = append(rep.Findings, e.finding(rule, r, it.Msg, waived))
		}
	}
	sort.Slice(rep.Findings, func(i, j int) bool { return less(rep.Findings[i], rep.Findings[j]) })
	return rep, nil
}

// evalInto evaluates a prepared query on input and decodes its single value into v.
func evalInto(ctx context.Context, q rego.PreparedEvalQuery, input ast.Value, v any) error {
	rs, err := q.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return fmt.Errorf("policy evaluation: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return fmt.Errorf("policy evaluation: no result")
	}
	if err := decode(rs[0].Expressions[0].Value, v); err != nil {
		return fmt.Errorf("policy evaluation: %w", err)
	}
	return nil
}

// finding builds a finding of rule on r, waived when r declares an exception for rule.
func (e *engine) finding(rule string, r Resource, msg string, waived map[string]string) Finding {
	meta := e.byName[rule]
	f := Finding{
		Rule: rule, Title: meta.Title, Severity: meta.Severity,
		URN: r.URN, Type: r.Type, Name: r.Name, Message: msg,
	}
	if reason, ok := waived[rule]; ok {
		f.Excepted, f.Reason = true, reason
	}
	return f
}

func less(a, b Finding) bool {
	if a.Severity != b.Severity {
		return a.Severity == Mandatory
	}
	if a.Rule != b.Rule {
		return a.Rule < b.Rule
	}
	if a.URN != b.URN {
		return a.URN < b.URN
	}
	return a.Message < b.Message
}
