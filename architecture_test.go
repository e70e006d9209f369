package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/cinegit/infrastructure"

// goPackage is one directory of the module: what its source files and its test files import,
// and whether it registers a component resource.
type goPackage struct {
	imports, testImports []string
	component            bool
}

// modulePackages reads the imports of every package in the module from its source (no build,
// so the test costs milliseconds).
func modulePackages(t *testing.T) map[string]*goPackage {
	t.Helper()
	pkgs := map[string]*goPackage{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := path.Join(module, filepath.ToSlash(filepath.Dir(p)))
		if filepath.Dir(p) == "." {
			dir = module
		}
		pkg := pkgs[dir]
		if pkg == nil {
			pkg = &goPackage{}
			pkgs[dir] = pkg
		}
		for _, imp := range f.Imports {
			v, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasSuffix(p, "_test.go") {
				pkg.testImports = append(pkg.testImports, v)
			} else {
				pkg.imports = append(pkg.imports, v)
			}
		}
		if !strings.HasSuffix(p, "_test.go") {
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			pkg.component = pkg.component || strings.Contains(string(src), "RegisterComponentResource(")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("only %d packages found: the walk is broken", len(pkgs))
	}
	return pkgs
}

// closure is every import reachable from root through the module's own packages (source
// files only): what a binary that imports root links.
func closure(pkgs map[string]*goPackage, root string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		if pkg := pkgs[p]; pkg != nil {
			for _, imp := range pkg.imports {
				walk(imp)
			}
		}
	}
	walk(root)
	return seen
}

// Provider SDKs: tens of megabytes of generated code each, linked into every binary that
// imports them (about 2 s of link per binary for the Pulumi SDK alone on this 2-core machine,
// more for each provider package; docs/testing.md).
var providerSDKs = []string{
	"github.com/pulumi/pulumi-aws/", "github.com/pulumi/pulumi-eks/", "github.com/pulumi/pulumi-kubernetes/",
	"github.com/pulumi/pulumi-random/", "github.com/pulumi/pulumi-tls/",
}

// helmSDK is the SDK package of helm.sh/v3 Release and Chart: through the Chart's yaml support
// it imports every Kubernetes API group of the SDK (69 packages, about 8 s more link per test
// binary). pkg/kube registers the Release itself; only its test imports the SDK package, to
// compare the two.
const helmSDK = "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"

// TestPackageDependencies holds the import graph the README describes: components never read
// config nor import each other, the configuration links no provider SDK, and nothing links
// the Helm SDK package but pkg/kube's test.
func TestPackageDependencies(t *testing.T) {
	pkgs := modulePackages(t)
	configPkg := module + "/pkg/config"

	var components []string
	for _, p := range slices.Sorted(maps.Keys(pkgs)) {
		if pkgs[p].component {
			components = append(components, p)
		}
	}
	if len(components) < 8 {
		t.Fatalf("only %d component packages found (%v): the detection is broken", len(components), components)
	}
	for _, c := range components {
		for _, imp := range pkgs[c].imports {
			if imp == configPkg || strings.HasPrefix(imp, configPkg+"/") {
				t.Errorf("component %s imports %s: components never read config", c, imp)
			}
			if slices.Contains(components, imp) {
				t.Errorf("component %s imports component %s: pass outputs through Args in main.go instead", c, imp)
			}
		}
	}

	for _, imp := range slices.Sorted(maps.Keys(closure(pkgs, configPkg))) {
		for _, sdk := range providerSDKs {
			if strings.HasPrefix(imp, sdk) {
				t.Errorf("pkg/config links %s: what only parses stack files (plan's pre-check, bootstrap's tests, config's tests) would link it too; Args builders belong in pkg/config/wiring", imp)
			}
		}
	}

	for _, p := range slices.Sorted(maps.Keys(pkgs)) {
		pkg := pkgs[p]
		if slices.Contains(pkg.imports, helmSDK) {
			t.Errorf("%s imports %s: install charts with kube.NewRelease", p, helmSDK)
		}
		if slices.Contains(pkg.testImports, helmSDK) && p != module+"/pkg/kube" {
			t.Errorf("the tests of %s import %s: only pkg/kube's binding test may", p, helmSDK)
		}
	}
}
