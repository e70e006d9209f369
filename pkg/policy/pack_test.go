package policy

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	pack "github.com/cinegit/infrastructure/policy"
)

// policyName is the naming convention of the pack's policies: lower-case letters and
// underscores (pulumi-policy-opa before 1.0 accepted no digits after the prefix).
var policyName = regexp.MustCompile(`^(stack_)?(deny|warn)(_[a-z]+)+$`)

// ruleLike is the analyzer's heuristic (pulumi-policy-opa policy.go, ruleLikeNamePrefix) for
// helpers that look like misnamed policies; it warns about them on every run.
var ruleLike = regexp.MustCompile(`^(?i:stack[_-]?)?(?i:` +
	`deny|denies|violation|violations|violate|warn|warns|warning|warnings|` +
	`require|requires|must|ensure|ensures|enforce|enforces|should|` +
	`check|checks|validate|validates|verify|verifies|disallow|disallows|` +
	`prohibit|prohibits|forbid|forbids|restrict|restricts|block|blocks|` +
	`prevent|prevents|mandate|mandates|reject|rejects` +
	`)(_|-|[A-Z0-9]|$)`)

// TestPackConventions checks every module and rule against the conventions in lib.rego, so that
// a new policy without a title, or one the analyzer would not evaluate, fails here.
func TestPackConventions(t *testing.T) {
	modules, err := parseModules(ast.RegoV1)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]int{}
	for file, m := range modules {
		if !importsRegoV1(m) {
			t.Errorf("%s: no `import rego.v1` (the analyzer parses modules in Rego v0 mode)", file)
		}
		for _, r := range m.Rules {
			name := r.Head.Name.String()
			_, _, isPolicy := classify(name)
			isFunction := len(r.Head.Args) > 0
			if !isPolicy {
				if !isFunction && r.Head.Key != nil {
					t.Errorf("%s: helper %s is a partial rule: the analyzer warns about policy-shaped helpers; use a function or `%s := ...`", file, name, name)
				}
				if !isFunction && ruleLike.MatchString(name) {
					t.Errorf("%s: helper %s looks like a misnamed policy to the analyzer, which warns about it; rename it", file, name)
				}
				continue
			}
			bodies[name]++
			if !policyName.MatchString(name) {
				t.Errorf("%s: policy %s: name must match %s", file, name, policyName)
			}
			if isFunction || r.Head.Key == nil || r.Head.Value != nil {
				t.Errorf("%s: policy %s must be a partial set (`%s contains msg if ...`)", file, name, name)
			}
			if len(r.Annotations) == 0 || strings.TrimSpace(r.Annotations[0].Title) == "" || strings.TrimSpace(r.Annotations[0].Description) == "" {
				t.Errorf("%s: policy %s needs a METADATA block with a title and a description", file, name)
			}
			if name != ExceptionRule && !honoursExceptions(r, name) {
				t.Errorf("%s: policy %s must contain `not excepted(<resource>, %q)`", file, name, name)
			}
		}
	}
	for name, n := range bodies {
		if n > 1 {
			t.Errorf("policy %s has %d bodies: the analyzer reports each as a duplicate policy; join them with helper functions", name, n)
		}
	}
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != len(bodies) {
		t.Errorf("Rules() lists %d policies, the modules define %d", len(rules), len(bodies))
	}
	e, err := load()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range e.guards {
		if g.query == nil {
			t.Errorf("policy %s has no type guard: start its body with a test of input.__type alone "+
				"(input.__type == \"aws:...\", input.__type in {...}, or some_types[input.__type]) so that "+
				"Evaluate only runs it on the resources it is about", g.rule)
		}
	}
}

func importsRegoV1(m *ast.Module) bool {
	for _, imp := range m.Imports {
		if imp.Path.String() == "rego.v1" {
			return true
		}
	}
	return false
}

// honoursExceptions reports whether rule r's body contains `not excepted(_, "<name>")`.
func honoursExceptions(r *ast.Rule, name string) bool {
	found := false
	ast.WalkExprs(r.Body, func(e *ast.Expr) bool {
		if !e.Negated || !e.IsCall() {
			return false
		}
		terms := e.Terms.([]*ast.Term)
		if e.Operator().String() == "excepted" && len(terms) == 3 && terms[2].Equal(ast.StringTerm(name)) {
			found = true
		}
		return false
	})
	return found
}

// analyzer emulates pulumi-analyzer-policy-opa: the pack's files compiled in Rego v0 mode with
// annotations, each policy queried separately as data.<package>.<rule>. (The analyzer builds
// each query anew; preparing them once gives the same results faster.)
type analyzer struct {
	compiler *ast.Compiler
	rules    []Rule
	queries  map[string]rego.PreparedEvalQuery
}

var (
	analyzerOnce sync.Once
	analyzerInst *analyzer
	analyzerErr  error
)

func newAnalyzer(t testing.TB) *analyzer {
	t.Helper()
	analyzerOnce.Do(func() { analyzerInst, analyzerErr = compileAnalyzer() })
	if analyzerErr != nil {
		t.Fatal(analyzerErr)
	}
	return analyzerInst
}

func compileAnalyzer() (*analyzer, error) {
	names, err := fs.Glob(pack.Files, "*.rego")
	if err != nil {
		return nil, err
	}
	modules := map[string]string{}
	for _, name := range names {
		src, err := fs.ReadFile(pack.Files, name)
		if err != nil {
			return nil, err
		}
		modules[strings.TrimSuffix(name, ".rego")] = string(src)
	}
	compiler, err := ast.CompileModulesWithOpt(modules, ast.CompileOpts{
		ParserOptions: ast.ParserOptions{RegoVersion: ast.RegoV0, ProcessAnnotation: true},
	})
	if err != nil {
		return nil, fmt.Errorf("the analyzer would not compile the pack: %w", err)
	}
	rules, err := Rules()
	if err != nil {
		return nil, err
	}
	a := &analyzer{compiler: compiler, rules: rules, queries: map[string]rego.PreparedEvalQuery{}}
	for _, r := range rules {
		q, err := rego.New(
			rego.Query("data."+PackName+"."+r.Name),
			rego.Compiler(compiler),
			rego.SetRegoVersion(ast.RegoV0),
		).PrepareForEval(context.Background())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		a.queries[r.Name] = q
	}
	return a, nil
}

// query evaluates one policy on an input the way the analyzer does, returning its results.
func (a *analyzer) query(t testing.TB, rule string, input ast.Value) []any {
	t.Helper()
	rs, err := a.queries[rule].Eval(context.Background(), rego.EvalParsedInput(input))
	if err != nil {
		t.Fatalf("%s: %v", rule, err)
	}
	var out []any
	for _, r := range rs {
		for _, e := range r.Expressions {
			if items, ok := e.Value.([]any); ok {
				out = append(out, items...)
			}
		}
	}
	return out
}

// diagnostics runs every policy over resources as the analyzer would in a preview (Analyze per
// resource, AnalyzeStack once), returning "rule|urn|message" lines. Stack results must be
// {"msg", "urn"} objects, resource results strings.
func (a *analyzer) diagnostics(t testing.TB, resources []Resource) []string {
	t.Helper()
	var out []string
	for _, r := range resources {
		doc, err := resourceDoc(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, rule := range a.rules {
			if rule.Stack {
				continue
			}
			for _, v := range a.query(t, rule.Name, doc.Value) {
				msg, ok := v.(string)
				if !ok {
					t.Fatalf("%s returned %T, the analyzer shows strings", rule.Name, v)
				}
				out = append(out, rule.Name+"|"+r.URN+"|"+msg)
			}
		}
	}
	input, err := stackInput(resources)
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range a.rules {
		if !rule.Stack {
			continue
		}
		for _, v := range a.query(t, rule.Name, input) {
			obj, ok := v.(map[string]any)
			msg, okMsg := obj["msg"].(string)
			urn, okURN := obj["urn"].(string)
			if !ok || !okMsg || !okURN {
				t.Fatalf("%s returned %v, want {\"msg\": string, \"urn\": string}", rule.Name, v)
			}
			out = append(out, rule.Name+"|"+urn+"|"+msg)
		}
	}
	sort.Strings(out)
	return out
}

// TestAnalyzerParity checks that Evaluate reports exactly what the analyzer would, for every
// test input: same policies, resources and messages, the waived ones aside.
func TestAnalyzerParity(t *testing.T) {
	a := newAnalyzer(t)
	inputs := [][]Resource{}
	for _, tc := range ruleCases() {
		inputs = append(inputs, tc.resources)
	}
	for _, tc := range exceptionCases() {
		inputs = append(inputs, tc.resources)
	}
	for i, resources := range inputs {
		want := a.diagnostics(t, resources)
		var got []string
		for _, f := range unwaived(evaluate(t, resources)) {
			got = append(got, f.Rule+"|"+f.URN+"|"+f.Message)
		}
		// Evaluate does not run warn_policy_exception; it reports waived findings instead.
		var filtered []string
		for _, d := range want {
			if !strings.HasPrefix(d, ExceptionRule+"|") {
				filtered = append(filtered, d)
			}
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(filtered, "\n") {
			t.Errorf("input %d: Evaluate\n  %s\nanalyzer\n  %s", i, strings.Join(got, "\n  "), strings.Join(filtered, "\n  "))
		}
	}
}

// TestInputShape checks the document a resource policy sees, as pulumi-policy-opa builds it.
func TestInputShape(t *testing.T) {
	r := res("aws:ec2/securityGroupRule:SecurityGroupRule", "ssh", map[string]any{"type": "ingress", "fromPort": 22}, protect)
	r.Options.Parent = "urn:pulumi:dev::cinegit::cinegit:network:Network::net"
	r.Options.Provider = "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws::0123"
	doc, err := resourceDoc(r)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"input.type":              "ingress", // a property shadows the metadata field
		"input.__type":            r.Type,
		"input.urn":               r.URN,
		"input.__urn":             r.URN,
		"input.__name":            "ssh",
		"input.fromPort":          "22",
		"input.properties.type":   "ingress",
		"input.__properties.type": "ingress",
		"input.__options.protect": "true",
		"input.options.protect":   "true",
		"input.__options.parent":  r.Options.Parent,
		"input.__provider.urn":    "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws",
	} {
		rs, err := rego.New(rego.Query(path), rego.ParsedInput(doc.Value)).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Errorf("%s: undefined (%v)", path, err)
			continue
		}
		if got := ast.MustInterfaceToValue(rs[0].Expressions[0].Value).String(); strings.Trim(got, `"`) != want {
			t.Errorf("%s = %s, want %v", path, got, want)
		}
	}
}

// TestConstantsMatchPack keeps the Go constants in step with the Rego they mirror.
func TestConstantsMatchPack(t *testing.T) {
	a := newAnalyzer(t)
	for rule, want := range map[string]string{
		"exception_tag_prefix":     ExceptionTagPrefix,
		"public_load_balancer_tag": PublicLoadBalancerTag,
		"unknown":                  Unknown,
	} {
		rs, err := rego.New(rego.Query("data."+PackName+"."+rule), rego.Compiler(a.compiler)).Eval(context.Background())
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s: %v %v", rule, rs, err)
		}
		if got := rs[0].Expressions[0].Value; got != want {
			t.Errorf("data.%s.%s = %v, Go has %q", PackName, rule, got, want)
		}
	}
}
