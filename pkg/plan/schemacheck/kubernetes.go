package schemacheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
)

// KubernetesForceNew reads the Kubernetes provider's table of fields whose change replaces an
// object (pulumi-kubernetes, provider/pkg/provider/diff.go: forceNew, by group, version and
// kind) and returns it by "group/version/Kind", the core group as "core", paths without their
// leading dot. Every kind is also replaced when metadata.name or metadata.namespace changes
// (forceNewProperties), which the table leaves out and the caller adds.
func KubernetesForceNew(path string) (map[string][]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	vars := map[string]ast.Expr{}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok {
			for _, s := range g.Specs {
				if v, ok := s.(*ast.ValueSpec); ok {
					for i, n := range v.Names {
						if i < len(v.Values) {
							vars[n.Name] = v.Values[i]
						}
					}
				}
			}
		}
	}
	table, ok := vars["forceNew"]
	if !ok {
		return nil, fmt.Errorf("%s: no forceNew table", path)
	}
	out := map[string][]string{}
	var walk func(x ast.Expr, keys []string)
	walk = func(x ast.Expr, keys []string) {
		if id, ok := x.(*ast.Ident); ok {
			x = vars[id.Name]
		}
		if len(keys) == 3 { // group, version, kind: the properties
			for _, p := range k8sProperties(x, vars, 0) {
				k := strings.Join(keys, "/")
				out[k] = append(out[k], strings.TrimPrefix(p, "."))
			}
			return
		}
		lit, ok := x.(*ast.CompositeLit)
		if !ok {
			return
		}
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			if k, ok := stringLit(kv.Key); ok {
				walk(kv.Value, append(append([]string(nil), keys...), k))
			}
		}
	}
	walk(table, nil)
	// forceNewProperties adds a Secret's and a ConfigMap's contents unless the provider is
	// configured to mutate them (enableSecretMutable, enableConfigMapMutable), in branches
	// like `if clients.IsConfigMap(obj) && (...) { props = append(props, properties{...}...) }`.
	ast.Inspect(f, func(n ast.Node) bool {
		ifs, ok := n.(*ast.IfStmt)
		if !ok {
			return true
		}
		kind := ""
		ast.Inspect(ifs.Cond, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && identName(sel.X) == "clients" && strings.HasPrefix(sel.Sel.Name, "Is") && sel.Sel.Name != "IsImmutable" {
					kind = strings.TrimPrefix(sel.Sel.Name, "Is")
				}
			}
			return true
		})
		if kind == "" || len(ifs.Body.List) != 1 {
			return true
		}
		if as, ok := ifs.Body.List[0].(*ast.AssignStmt); ok && len(as.Rhs) == 1 {
			for _, p := range k8sProperties(as.Rhs[0], vars, 0) {
				if p != "" && identName(as.Lhs[0]) == "props" {
					k := "core/v1/" + kind
					out[k] = append(out[k], strings.TrimPrefix(p, "."))
				}
			}
		}
		return true
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: the forceNew table is empty", path)
	}
	return out, nil
}

// k8sProperties evaluates a properties expression: a literal list, a variable, or append of
// those. Helper calls that build paths from a prefix (the label selector's, the containers')
// only concern kinds CineGit registers through charts, not directly: they give nothing here.
func k8sProperties(x ast.Expr, vars map[string]ast.Expr, depth int) []string {
	if depth > 5 {
		return nil
	}
	switch v := x.(type) {
	case *ast.Ident:
		return k8sProperties(vars[v.Name], vars, depth+1)
	case *ast.CompositeLit:
		var out []string
		for _, el := range v.Elts {
			if s, ok := stringLit(el); ok {
				out = append(out, s)
			}
		}
		return out
	case *ast.CallExpr:
		if identName(v.Fun) == "append" {
			var out []string
			for _, a := range v.Args {
				out = append(out, k8sProperties(a, vars, depth+1)...)
			}
			return out
		}
	}
	return nil
}

// ForceNewFields reads the `forceNewFields := []string{...}` literal of a pulumi-kubernetes
// source file: the identity fields every object is replaced on (provider.go's Diff, which is
// all a Patch resource is replaced on) or a Helm release's (helm_release.go).
func ForceNewFields(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 || identName(as.Lhs[0]) != "forceNewFields" || as.Tok != token.DEFINE {
			return true
		}
		if lit, ok := as.Rhs[0].(*ast.CompositeLit); ok && out == nil {
			for _, el := range lit.Elts {
				if s, ok := stringLit(el); ok {
					out = append(out, strings.TrimPrefix(s, "."))
				}
			}
		}
		return true
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no forceNewFields literal", path)
	}
	return out, nil
}
