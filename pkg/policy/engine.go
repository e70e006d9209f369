package policy

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/dependencies"
	"github.com/open-policy-agent/opa/v1/rego"

	pack "github.com/cinegit/infrastructure/policy"
)

// PackName is the policy pack's name: the Rego package of every module in policy/, which
// pulumi-policy-opa uses as the pack's name.
const PackName = "cinegit"

// ExceptionRule is the advisory policy that lists declared exceptions in real previews.
// Evaluate does not run it: it reports the findings that exceptions waive instead.
const ExceptionRule = "warn_policy_exception"

// The analyzer's rule classification (pulumi-policy-opa, cmd/pulumi-analyzer-policy-opa/policy.go).
var (
	denyRule      = regexp.MustCompile(`^(deny|violation)(_[a-zA-Z0-9]+)*$`)
	warnRule      = regexp.MustCompile(`^warn(_[a-zA-Z0-9]+)*$`)
	stackDenyRule = regexp.MustCompile(`^stack_(deny|violation)(_[a-zA-Z0-9]+)*$`)
	stackWarnRule = regexp.MustCompile(`^stack_warn(_[a-zA-Z0-9]+)*$`)
)

// engine is the compiled pack and the prepared queries that evaluate it over a whole stack.
type engine struct {
	compiler      *ast.Compiler
	rules         []Rule
	byName        map[string]Rule
	resourceQuery rego.PreparedEvalQuery // data.cinegit_offline.resources
	stackQuery    rego.PreparedEvalQuery // data.cinegit_offline.stack
	taggable      []string
	untaggable    []string
	guards        []guard

	mu         sync.Mutex
	applicable map[string][]string // resource type -> applicable resource policies
}

var (
	loadOnce   sync.Once
	loaded     *engine
	errLoading error
)

// load compiles the pack once per process.
func load() (*engine, error) {
	loadOnce.Do(func() { loaded, errLoading = compile(context.Background()) })
	return loaded, errLoading
}

// parseModules parses the pack's Rego files, keyed by file name, the way the real analyzer
// would read them except in Rego v1 mode (the modules import rego.v1, so both modes agree).
func parseModules(version ast.RegoVersion) (map[string]*ast.Module, error) {
	names, err := fs.Glob(pack.Files, "*.rego")
	if err != nil {
		return nil, err
	}
	modules := make(map[string]*ast.Module, len(names))
	for _, name := range names {
		src, err := fs.ReadFile(pack.Files, name)
		if err != nil {
			return nil, err
		}
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: version, ProcessAnnotation: true})
		if err != nil {
			return nil, err
		}
		if got := strings.TrimPrefix(m.Package.Path.String(), "data."); got != PackName {
			return nil, fmt.Errorf("%s: package %s, want %s (the analyzer requires one package per pack)", name, got, PackName)
		}
		modules[name] = m
	}
	return modules, nil
}

// classify returns a rule's severity and scope the way the analyzer does, or ok false for a
// helper the analyzer does not evaluate.
func classify(name string) (sev Severity, stack, ok bool) {
	switch {
	case stackDenyRule.MatchString(name):
		return Mandatory, true, true
	case stackWarnRule.MatchString(name):
		return Advisory, true, true
	case denyRule.MatchString(name):
		return Mandatory, false, true
	case warnRule.MatchString(name):
		return Advisory, false, true
	}
	return "", false, false
}

// discoverRules lists the policies of the modules, with their METADATA, in name order.
func discoverRules(modules map[string]*ast.Module) []Rule {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	var rules []Rule
	for _, file := range names {
		for _, r := range modules[file].Rules {
			name := r.Head.Name.String()
			sev, stack, ok := classify(name)
			if !ok || seen[name] {
				continue
			}
			seen[name] = true
			rule := Rule{Name: name, Severity: sev, Stack: stack, File: file}
			if len(r.Annotations) > 0 {
				rule.Title = r.Annotations[0].Title
				rule.Description = strings.TrimSpace(r.Annotations[0].Description)
			}
			rules = append(rules, rule)
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Name < rules[j].Name })
	return rules
}

// evaluatorModule is the Rego that evaluates the pack over a stack, in two queries:
//
//   - resources: each resource's applicable resource policies (input.rules_by_type, see
//     rulesFor), with input replaced by the resource's document, and the exceptions the
//     resource declares;
//   - stack: every stack policy, over {"resources": [...]} exactly as the analyzer passes it
//     (no `with`, which would keep OPA from indexing the policies' comprehensions).
//
// report_waived switches exceptions off (see excepted in exceptions.rego) so that Evaluate can
// report waived findings, with their messages, next to the violations.
func evaluatorModule(rules []Rule) string {
	var stk []string
	for _, r := range rules {
		if r.Stack {
			stk = append(stk, fmt.Sprintf("%s: data.%s.%s", strconv.Quote(r.Name), PackName, r.Name))
		}
	}
	return fmt.Sprintf(`package cinegit_offline

import rego.v1

report_waived := true

resources := [{"i": i, "findings": found, "exceptions": data.%[1]s.declared_exceptions(r)} |
	some i, r in input.resources
	names := object.get(input.rules_by_type, r.__type, [])
	doc := object.remove(r, {"dependencies", "propertyDependencies"})
	found := {name: data.%[1]s[name] | some name in names} with input as doc
]

stack := {%[2]s}
`, PackName, strings.Join(stk, ", "))
}

// guard decides which resource types a resource policy can report on.
type guard struct {
	rule string
	// query holds the conjuncts of the policy's body that depend on nothing but input.__type;
	// nil when there are none, and the policy applies to every type.
	query *rego.PreparedEvalQuery
}

// guards derives each resource policy's type guard from its compiled body: a resource whose
// type fails the guard cannot get a finding from the policy, so Evaluate skips the policy for
// it. This keeps a stack's evaluation proportional to the policies that apply to its
// resources, not to the size of the pack (TestPackConventions requires a guard).
func guards(ctx context.Context, compiler *ast.Compiler, rules []Rule) ([]guard, error) {
	var out []guard
	for _, r := range rules {
		if r.Stack || r.Name == ExceptionRule {
			continue
		}
		g := guard{rule: r.Name}
		compiled := compiler.GetRules(ast.MustParseRef(fmt.Sprintf("data.%s.%s", PackName, r.Name)))
		if len(compiled) == 1 {
			if body := typeGuard(compiler, compiled[0].Body); len(body) > 0 {
				q, err := rego.New(rego.ParsedQuery(body), rego.Compiler(compiler)).PrepareForEval(ctx)
				if err == nil {
					g.query = &q
				}
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// typeGuard returns the conjuncts of a compiled rule body that depend on the resource only
// through input.__type (directly, through variables bound by such conjuncts, or not at all),
// or nil when none of them tests the type. The conjuncts must all hold for the rule to report
// anything, and they can be evaluated with nothing but the type.
func typeGuard(compiler *ast.Compiler, body ast.Body) ast.Body {
	typeRef := ast.MustParseRef("input.__type")
	guardVars, typeVars, otherVars := ast.NewVarSet(), ast.NewVarSet(), ast.NewVarSet()
	var out ast.Body
	tests := false
	for _, expr := range body {
		vars := exprVars(expr)
		deps, err := dependencies.Base(compiler, expr)
		candidate := err == nil && len(expr.With) == 0
		onType := false
		for _, d := range deps {
			switch {
			case d.Equal(typeRef):
				onType = true
			case d.HasPrefix(ast.InputRootRef) || d.HasPrefix(ast.DefaultRootRef):
				candidate = false
			}
		}
		for v := range vars {
			if otherVars.Contains(v) {
				candidate = false
			}
			if typeVars.Contains(v) {
				onType = true
			}
		}
		if !candidate {
			for v := range vars {
				if !guardVars.Contains(v) {
					otherVars.Add(v)
				}
			}
			continue
		}
		out.Append(expr.Copy())
		if onType && !isTypeAssignment(expr) {
			tests = true
		}
		for v := range vars {
			guardVars.Add(v)
			if onType {
				typeVars.Add(v)
			}
		}
	}
	if !tests {
		return nil
	}
	return out
}

// exprVars are the variables expr mentions, refs' heads included but not the input and data
// roots or the names of called functions.
func exprVars(expr *ast.Expr) ast.VarSet {
	visitor := ast.NewVarVisitor().WithParams(ast.VarVisitorParams{SkipRefCallHead: true})
	visitor.Walk(expr)
	vars := visitor.Vars()
	vars = vars.Diff(ast.NewVarSet(ast.InputRootDocument.Value.(ast.Var), ast.DefaultRootDocument.Value.(ast.Var)))
	return vars
}

// isTypeAssignment reports whether expr only copies input.__type into a variable.
func isTypeAssignment(expr *ast.Expr) bool {
	if !expr.IsEquality() && !expr.IsAssignment() {
		return false
	}
	terms := expr.Terms.([]*ast.Term)
	_, isVar := terms[1].Value.(ast.Var)
	return isVar && terms[2].Equal(ast.NewTerm(ast.MustParseRef("input.__type")))
}

// rulesFor lists the resource policies that can report on a resource of type typ, remembering
// the answer.
func (e *engine) rulesFor(ctx context.Context, typ string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if names, ok := e.applicable[typ]; ok {
		return names, nil
	}
	input := ast.NewObject(ast.Item(ast.StringTerm("__type"), ast.StringTerm(typ)))
	names := []string{}
	for _, g := range e.guards {
		if g.query != nil {
			rs, err := g.query.Eval(ctx, rego.EvalParsedInput(input))
			if err != nil {
				return nil, fmt.Errorf("policy %s: type guard: %w", g.rule, err)
			}
			if len(rs) == 0 {
				continue
			}
		}
		names = append(names, g.rule)
	}
	e.applicable[typ] = names
	return names, nil
}

// compile parses and compiles the pack with the evaluator module and prepares the query.
func compile(ctx context.Context) (*engine, error) {
	modules, err := parseModules(ast.RegoV1)
	if err != nil {
		return nil, fmt.Errorf("policy pack: %w", err)
	}
	rules := discoverRules(modules)
	eval, err := ast.ParseModuleWithOpts("cinegit_offline.rego", evaluatorModule(rules), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("policy evaluator: %w", err)
	}
	all := make(map[string]*ast.Module, len(modules)+1)
	for k, v := range modules {
		all[k] = v
	}
	all["cinegit_offline.rego"] = eval
	compiler := ast.NewCompiler()
	if compiler.Compile(all); compiler.Failed() {
		return nil, fmt.Errorf("policy pack: %w", compiler.Errors)
	}
	resourceQuery, err := rego.New(rego.Compiler(compiler), rego.Query("data.cinegit_offline.resources")).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy evaluator: %w", err)
	}
	stackQuery, err := rego.New(rego.Compiler(compiler), rego.Query("data.cinegit_offline.stack")).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy evaluator: %w", err)
	}
	e := &engine{
		compiler: compiler, rules: rules, byName: map[string]Rule{},
		resourceQuery: resourceQuery, stackQuery: stackQuery,
		applicable: map[string][]string{},
	}
	if e.guards, err = guards(ctx, compiler, rules); err != nil {
		return nil, err
	}
	for _, r := range rules {
		e.byName[r.Name] = r
	}
	if e.taggable, err = stringSet(ctx, compiler, "taggable_types"); err != nil {
		return nil, err
	}
	if e.untaggable, err = stringSet(ctx, compiler, "untaggable_types"); err != nil {
		return nil, err
	}
	return e, nil
}

// stringSet evaluates a pack rule that is a set of strings, sorted.
func stringSet(ctx context.Context, compiler *ast.Compiler, rule string) ([]string, error) {
	rs, err := rego.New(rego.Compiler(compiler), rego.Query(fmt.Sprintf("data.%s.%s", PackName, rule))).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy pack %s: %w", rule, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("policy pack %s: undefined", rule)
	}
	items, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return nil, fmt.Errorf("policy pack %s: not a set", rule)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("policy pack %s: %v is not a string", rule, it)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
