package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
	"github.com/cinegit/infrastructure/pkg/plan/schemacheck"
)

// providerSrc is where scripts/pull-provider-src.sh puts the providers' sources at the versions
// go.mod pins (never committed): aws/ and random/ (the Terraform provider each bridges, at the
// commit the bridge pins, with the bridge's patches, and its bridge-metadata.json) and
// kubernetes/ (pulumi-kubernetes' diff.go, provider.go and helm_release.go).
func providerSrc(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CINEGIT_PROVIDER_SRC")
	if dir == "" {
		dir = ".provider-src"
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		msg := fmt.Sprintf("%s is missing: run scripts/pull-provider-src.sh (needs the internet; ci.yml does) to check plan --diff's replacement rules against the providers' schemas", dir)
		if os.Getenv("CINEGIT_PROVIDER_SRC_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// registeredTypes are the custom resource types the program registers in any stack, as
// committed and as the later pull requests set the FFmpeg image and the DNS delegation.
func registeredTypes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, stack := range stacks {
		for _, r := range []*harness.Result{run(t, stack, false), runWithImage(t, stack, false), runDelegated(t, stack, false)} {
			for _, res := range r.Resources {
				if res.Custom && !strings.HasPrefix(res.Type, "pulumi:providers:") {
					seen[res.Type] = true
				}
			}
		}
	}
	// A ConfigMap's and a Secret's contents replace them unless the Kubernetes provider is
	// configured to mutate them, which the rules above assume it is not.
	for _, stack := range stacks {
		for _, p := range run(t, stack, false).ByType("pulumi:providers:kubernetes") {
			for _, k := range []string{"enableConfigMapMutable", "enableSecretMutable"} {
				if v := p.Input(k); v != nil && v != false && v != "false" {
					t.Errorf("%s: %s sets %s=%v: replaceOn's ConfigMap and Secret rules assume it unset", stack, p.Name, k, v)
				}
			}
		}
	}
	var out []string
	for typ := range seen {
		out = append(out, typ)
	}
	sort.Strings(out)
	return out
}

// TestReplaceRulesFollowTheProviderSchemas checks plan --diff's table of replace-forcing inputs
// (pkg/plan/diff.go, replaceOn) against what the providers at their pinned versions declare,
// for every type the program registers: terraform-provider-aws and terraform-provider-random
// (ForceNew, RequiresReplace), named as pulumi-aws and pulumi-random name them
// (bridge-metadata.json), and pulumi-kubernetes' own rules. An input the schema always
// replaces on must be in the table; one it replaces on only for some values may be; anything
// else must not.
func TestReplaceRulesFollowTheProviderSchemas(t *testing.T) {
	dir := providerSrc(t)
	rules := plan.ReplaceRules()
	wants, err := providerRules(dir)
	if err != nil {
		t.Fatalf("%v (run scripts/pull-provider-src.sh again)", err)
	}
	types, compared := 0, 0
	for _, typ := range registeredTypes(t) {
		want, err := wants(typ)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		types++
		got := rules[typ]
		compared += len(want.always) + len(got)
		var missing, extra []string
		for _, p := range want.always {
			if !slices.Contains(got, p) {
				missing = append(missing, p)
			}
		}
		for _, p := range got {
			if !slices.Contains(want.always, p) && !slices.Contains(want.conditional, p) {
				extra = append(extra, p)
			}
		}
		if len(missing) > 0 || len(extra) > 0 {
			t.Errorf("%s (%s): replaceOn lacks %v and has %v, which the schema does not replace on; the schema's rules: %q, and for some values %q",
				typ, want.source, missing, extra, want.always, want.conditional)
		}
	}
	t.Logf("%d types checked against the providers' schemas, %d attributes compared", types, compared)
}

type providerRule struct {
	always, conditional []string
	source              string
}

// providerRules reads the three providers' sources once and returns, per Pulumi type, what
// forces its replacement.
func providerRules(dir string) (func(typ string) (providerRule, error), error) {
	type bridged struct {
		schemas map[string]*schemacheck.Replacing
		bridge  *schemacheck.Bridge
	}
	tf := map[string]bridged{}
	for _, p := range []string{"aws", "random"} {
		schemas, err := schemacheck.Extract(filepath.Join(dir, p, "upstream"), p)
		if err != nil {
			return nil, err
		}
		bridge, err := schemacheck.ReadBridge(filepath.Join(dir, p, "bridge-metadata.json"))
		if err != nil {
			return nil, err
		}
		tf[p] = bridged{schemas, bridge}
	}
	k8s := filepath.Join(dir, "kubernetes")
	table, err := schemacheck.KubernetesForceNew(filepath.Join(k8s, "diff.go"))
	if err != nil {
		return nil, err
	}
	identity, err := schemacheck.ForceNewFields(filepath.Join(k8s, "provider.go"))
	if err != nil {
		return nil, err
	}
	release, err := schemacheck.ForceNewFields(filepath.Join(k8s, "helm_release.go"))
	if err != nil {
		return nil, err
	}
	return func(typ string) (providerRule, error) {
		pkg, rest, _ := strings.Cut(typ, ":")
		if pkg == "kubernetes" {
			return kubernetesRule(rest, table, identity, release), nil
		}
		b, ok := tf[pkg]
		if !ok {
			return providerRule{}, fmt.Errorf("no schema source for package %q", pkg)
		}
		name, ok := b.bridge.Resources[typ]
		if !ok {
			return providerRule{}, fmt.Errorf("not in the bridge's metadata")
		}
		s, ok := b.schemas[name]
		if !ok {
			return providerRule{}, fmt.Errorf("the bridge maps it to %s, whose schema the provider's sources lack", name)
		}
		src, _ := filepath.Rel(dir, s.File)
		return providerRule{
			always:      b.bridge.PulumiPaths(typ, s.Always),
			conditional: b.bridge.PulumiPaths(typ, s.Conditional),
			source:      name + ", " + src,
		}, nil
	}, nil
}

// kubernetesRule: a Release is replaced on its own fields; a Patch resource only on the
// object's identity; any other kind on its identity and the fields diff.go lists for it.
func kubernetesRule(rest string, table map[string][]string, identity, release []string) providerRule {
	gv, kind, _ := strings.Cut(rest, ":") // "storage.k8s.io/v1", "StorageClass"
	if gv == "helm.sh/v3" && kind == "Release" {
		return providerRule{always: release, source: "pulumi-kubernetes helm_release.go"}
	}
	if strings.HasSuffix(kind, "Patch") {
		return providerRule{always: identity, source: "pulumi-kubernetes provider.go (a Patch resource)"}
	}
	want := append(append([]string(nil), identity...), table[gv+"/"+kind]...)
	sort.Strings(want)
	return providerRule{always: want, source: "pulumi-kubernetes provider.go and diff.go"}
}
