// Package schemacheck reads, from a Terraform provider's Go sources, which attributes of each
// resource force a replacement, so that `plan --diff`'s table of replace-forcing inputs can be
// checked against what the provider that pulumi-aws (or pulumi-random) bridges declares.
//
// It parses, without compiling, the two ways a provider declares them: terraform-plugin-sdk/v2
// schemas (`ForceNew: true`, in nested blocks too) and terraform-plugin-framework schemas (the
// `RequiresReplace()` plan modifier). Attributes whose replacement depends on the values
// (`RequiresReplaceIf...`, CustomizeDiff's `ForceNewIf...` and `d.ForceNew`) are reported apart.
package schemacheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Replacing is what one resource type's schema says forces its replacement. Paths are the
// provider's attribute names, dotted into nested blocks ("s3_import.bucket_name").
type Replacing struct {
	Always      []string // ForceNew: true, RequiresReplace()
	Conditional []string // RequiresReplaceIf...(), ForceNewIf...(), d.ForceNew(...)
	File        string   // the source file that declares the schema, for messages
}

// pkg is one Go package of the provider: its declarations by name, for resolving the helper
// functions, variables and constants that schemas are built from.
type pkg struct {
	dir     string
	files   map[string]*ast.File
	funcs   map[string]*ast.FuncDecl            // package-level functions
	methods map[string]map[string]*ast.FuncDecl // receiver type -> method name -> decl
	values  map[string]ast.Expr                 // package-level var and const values
	structs map[string]*ast.StructType
}

type extractor struct {
	fset     *token.FileSet
	provider string            // "aws", "random": the prefix of the resource type names
	consts   map[string]string // "names.AttrName" -> "name", and each package's string constants
	out      map[string]*Replacing
}

var sdkAnnotation = regexp.MustCompile(`@SDKResource\("([a-z0-9_]+)"`)

// Extract walks the provider's sources under dir (the root of terraform-provider-aws or
// terraform-provider-random at the version the bridge pins) and returns, per Terraform resource
// type ("aws_db_instance"), the attributes that force replacement. provider is the type names'
// prefix ("aws").
func Extract(dir, provider string) (map[string]*Replacing, error) {
	e := &extractor{fset: token.NewFileSet(), provider: provider, consts: map[string]string{}, out: map[string]*Replacing{}}
	var pkgs []*pkg
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "test-fixtures" || name == "vendor") {
			return filepath.SkipDir
		}
		p, err := e.parseDir(path)
		if err != nil {
			return err
		}
		if p != nil {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The attribute-name constants (names.AttrName and the like) first: schemas use them as keys.
	for _, p := range pkgs {
		prefix := filepath.Base(p.dir) + "."
		for name, v := range p.values {
			if s, ok := stringLit(v); ok {
				e.consts[prefix+name] = s
			}
		}
	}
	for _, p := range pkgs {
		e.sdkResources(p)
		e.frameworkResources(p)
	}
	if len(e.out) == 0 {
		return nil, fmt.Errorf("%s: no resource schemas found: is it a Terraform provider's source tree?", dir)
	}
	return e.out, nil
}

func (e *extractor) parseDir(dir string) (*pkg, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	p := &pkg{dir: dir, files: map[string]*ast.File{}, funcs: map[string]*ast.FuncDecl{},
		methods: map[string]map[string]*ast.FuncDecl{}, values: map[string]ast.Expr{}, structs: map[string]*ast.StructType{}}
	for _, en := range entries {
		name := en.Name()
		if en.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		path := filepath.Join(dir, name)
		f, err := parser.ParseFile(e.fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		p.files[path] = f
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					p.funcs[d.Name.Name] = d
					continue
				}
				recv := typeName(d.Recv.List[0].Type)
				if p.methods[recv] == nil {
					p.methods[recv] = map[string]*ast.FuncDecl{}
				}
				p.methods[recv][d.Name.Name] = d
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for i, n := range s.Names {
							if i < len(s.Values) {
								p.values[n.Name] = s.Values[i]
							}
						}
					case *ast.TypeSpec:
						if st, ok := s.Type.(*ast.StructType); ok {
							p.structs[s.Name.Name] = st
						}
					}
				}
			}
		}
	}
	if len(p.files) == 0 {
		return nil, nil
	}
	return p, nil
}

// typeName is T for T, *T and T[...].
func typeName(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		return typeName(x.X)
	case *ast.IndexListExpr:
		return typeName(x.X)
	}
	return ""
}

func stringLit(x ast.Expr) (string, bool) {
	if b, ok := x.(*ast.BasicLit); ok && b.Kind == token.STRING {
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	return "", false
}

// key is a schema map key: a string literal, a constant of this package or names.AttrX.
func (e *extractor) key(p *pkg, x ast.Expr) (string, bool) {
	if s, ok := stringLit(x); ok {
		return s, true
	}
	switch x := x.(type) {
	case *ast.Ident:
		if v, ok := p.values[x.Name]; ok {
			return stringLit(v)
		}
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			s, ok := e.consts[id.Name+"."+x.Sel.Name]
			return s, ok
		}
	}
	return "", false
}

func (e *extractor) record(tfType, file string, r *Replacing) {
	if old, ok := e.out[tfType]; ok && old.File != file {
		// The same type declared twice (a legacy and a current schema): keep both rules.
		r.Always = append(r.Always, old.Always...)
		r.Conditional = append(r.Conditional, old.Conditional...)
	}
	r.Always, r.Conditional = dedupe(r.Always), dedupe(r.Conditional)
	r.File = file
	e.out[tfType] = r
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// sdkResources finds the functions annotated `// @SDKResource("aws_x", ...)` and reads the
// schema of the *schema.Resource each returns.
func (e *extractor) sdkResources(p *pkg) {
	for path, f := range p.files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil || fn.Recv != nil {
				continue
			}
			m := sdkAnnotation.FindStringSubmatch(fn.Doc.Text())
			if m == nil {
				continue
			}
			r := &Replacing{}
			res := e.returned(p, fn.Body, 0)
			if lit, ok := unwrapLit(res); ok {
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch identName(kv.Key) {
					case "Schema", "SchemaFunc":
						e.sdkSchemaMap(p, e.resolve(p, kv.Value, 0), "", r, 0)
					}
				}
			}
			r.Conditional = append(r.Conditional, e.customizeDiff(p, f)...)
			e.record(m[1], path, r)
		}
	}
}

func identName(x ast.Expr) string {
	if id, ok := x.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// unwrapLit is the composite literal behind &T{...} or T{...}.
func unwrapLit(x ast.Expr) (*ast.CompositeLit, bool) {
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.AND {
		x = u.X
	}
	lit, ok := x.(*ast.CompositeLit)
	return lit, ok
}

// returned is the expression a function body returns (its last return statement).
func (e *extractor) returned(p *pkg, body *ast.BlockStmt, depth int) ast.Expr {
	if body == nil {
		return nil
	}
	var ret ast.Expr
	ast.Inspect(body, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
			ret = r.Results[0]
		}
		return true
	})
	if ret == nil {
		return nil
	}
	return e.resolve(p, ret, depth+1)
}

// resolve follows calls of this package's functions, function literals and package-level
// variables to the literal they produce.
func (e *extractor) resolve(p *pkg, x ast.Expr, depth int) ast.Expr {
	if depth > 8 || x == nil {
		return x
	}
	switch v := x.(type) {
	case *ast.CallExpr:
		switch fn := v.Fun.(type) {
		case *ast.Ident:
			if d, ok := p.funcs[fn.Name]; ok {
				return e.returned(p, d.Body, depth)
			}
		case *ast.FuncLit:
			return e.returned(p, fn.Body, depth)
		}
	case *ast.FuncLit:
		return e.returned(p, v.Body, depth)
	case *ast.Ident:
		if d, ok := p.funcs[v.Name]; ok { // SchemaFunc: resourceXSchema
			return e.returned(p, d.Body, depth)
		}
		if val, ok := p.values[v.Name]; ok {
			return e.resolve(p, val, depth+1)
		}
	case *ast.ParenExpr:
		return e.resolve(p, v.X, depth+1)
	}
	return x
}

// sdkSchemaMap reads a map[string]*schema.Schema literal.
func (e *extractor) sdkSchemaMap(p *pkg, x ast.Expr, prefix string, r *Replacing, depth int) {
	lit, ok := unwrapLit(x)
	if !ok || depth > 6 {
		return
	}
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		name, ok := e.key(p, kv.Key)
		if !ok {
			continue
		}
		e.sdkAttribute(p, kv.Value, prefix+name, r, depth)
	}
}

// sdkAttribute reads one *schema.Schema: ForceNew, and the nested block's schema below it.
func (e *extractor) sdkAttribute(p *pkg, x ast.Expr, path string, r *Replacing, depth int) {
	if call, ok := x.(*ast.CallExpr); ok {
		// Helpers of other packages (tftags.TagsSchemaForceNew(), ...) say it in their name.
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && strings.Contains(sel.Sel.Name, "ForceNew") {
			r.Always = append(r.Always, path)
			return
		}
	}
	lit, ok := unwrapLit(e.resolve(p, x, depth))
	if !ok {
		return
	}
	var elem ast.Expr
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch identName(kv.Key) {
		case "ForceNew":
			if identName(kv.Value) == "true" {
				r.Always = append(r.Always, path)
				return // the whole block: nothing below it adds anything
			}
		case "Elem":
			elem = kv.Value
		}
	}
	if elem == nil {
		return
	}
	res, ok := unwrapLit(e.resolve(p, elem, depth))
	if !ok {
		return
	}
	for _, el := range res.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			switch identName(kv.Key) {
			case "Schema", "SchemaFunc":
				e.sdkSchemaMap(p, e.resolve(p, kv.Value, depth), path+".", r, depth+1)
			}
		}
	}
}

// customizeDiff finds the replacements a file's CustomizeDiff functions force depending on
// values: customdiff.ForceNewIf("x", ...), ForceNewIfChange("x", ...), d.ForceNew("x").
func (e *extractor) customizeDiff(p *pkg, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "ForceNew") {
			return true
		}
		if name, ok := e.key(p, call.Args[0]); ok {
			out = append(out, name)
		}
		return true
	})
	return out
}

// frameworkResources finds the framework resource types (a Metadata method setting TypeName)
// and reads their Schema method.
func (e *extractor) frameworkResources(p *pkg) {
	for recv, methods := range p.methods {
		md, ok := methods["Metadata"]
		if !ok || !isResourceMetadata(md) {
			continue
		}
		tfType := e.typeNameSet(p, md)
		if tfType == "" {
			continue
		}
		sm := e.schemaMethod(p, recv, 0)
		if sm == nil {
			continue
		}
		r := &Replacing{}
		ast.Inspect(sm.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
				return true
			}
			if sel, ok := as.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Schema" {
				e.fwSchema(p, e.resolve(p, as.Rhs[0], 0), "", r, 0)
			}
			return true
		})
		e.record(tfType, e.fset.Position(sm.Pos()).Filename, r)
	}
}

// isResourceMetadata: a resource's Metadata method, not a data source's or an ephemeral
// resource's, which take the same name (resp *resource.MetadataResponse).
func isResourceMetadata(md *ast.FuncDecl) bool {
	params := md.Type.Params.List
	if len(params) == 0 {
		return false
	}
	sel, ok := params[len(params)-1].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	s, ok := sel.X.(*ast.SelectorExpr)
	return ok && identName(s.X) == "resource" && s.Sel.Name == "MetadataResponse"
}

// typeNameSet is the resource type a Metadata method sets: a literal ("aws_x"), or the
// provider's name joined to a suffix (req.ProviderTypeName + "_password").
func (e *extractor) typeNameSet(p *pkg, md *ast.FuncDecl) string {
	var name string
	ast.Inspect(md.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		if sel, ok := as.Lhs[0].(*ast.SelectorExpr); !ok || sel.Sel.Name != "TypeName" {
			return true
		}
		switch v := as.Rhs[0].(type) {
		case *ast.BinaryExpr:
			if s, ok := stringLit(v.Y); ok && v.Op == token.ADD {
				name = e.provider + s
			}
		default:
			if s, ok := e.key(p, v); ok {
				name = s
			}
		}
		return false
	})
	return name
}

// schemaMethod is recv's Schema method, or that of a struct it embeds.
func (e *extractor) schemaMethod(p *pkg, recv string, depth int) *ast.FuncDecl {
	if m, ok := p.methods[recv]["Schema"]; ok {
		return m
	}
	st, ok := p.structs[recv]
	if !ok || depth > 4 {
		return nil
	}
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			if m := e.schemaMethod(p, typeName(f.Type), depth+1); m != nil {
				return m
			}
		}
	}
	return nil
}

// fwSchema reads a framework schema.Schema{Attributes: ..., Blocks: ...} (or a nested object).
func (e *extractor) fwSchema(p *pkg, x ast.Expr, prefix string, r *Replacing, depth int) {
	lit, ok := unwrapLit(x)
	if !ok || depth > 6 {
		return
	}
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch identName(kv.Key) {
		case "Attributes", "Blocks":
			m, ok := unwrapLit(e.resolve(p, kv.Value, depth))
			if !ok {
				continue
			}
			for _, a := range m.Elts {
				akv, ok := a.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				name, ok := e.key(p, akv.Key)
				if !ok {
					continue
				}
				e.fwAttribute(p, e.resolve(p, akv.Value, depth), prefix+name, r, depth)
			}
		}
	}
}

// fwAttribute reads one attribute or block: its plan modifiers, then its nested object.
func (e *extractor) fwAttribute(p *pkg, x ast.Expr, path string, r *Replacing, depth int) {
	lit, ok := unwrapLit(x)
	if !ok {
		return
	}
	var nested ast.Expr
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch identName(kv.Key) {
		case "PlanModifiers":
			switch replaceModifier(kv.Value) {
			case "always":
				r.Always = append(r.Always, path)
				return
			case "conditional":
				r.Conditional = append(r.Conditional, path)
			}
		case "NestedObject":
			nested = kv.Value
		}
	}
	if nested != nil {
		e.fwSchema(p, e.resolve(p, nested, depth), path+".", r, depth+1)
	}
}

// replaceModifier says whether a plan modifier list holds RequiresReplace() ("always") or a
// RequiresReplace variant that depends on the values ("conditional").
func replaceModifier(x ast.Expr) string {
	kind := ""
	ast.Inspect(x, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		name := ""
		switch fn := call.Fun.(type) {
		case *ast.SelectorExpr:
			name = fn.Sel.Name
		case *ast.Ident:
			name = fn.Name
		}
		switch {
		case name == "RequiresReplace":
			kind = "always"
			return false
		case strings.HasPrefix(name, "RequiresReplace") && kind == "":
			kind = "conditional"
		}
		return true
	})
	return kind
}
