package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestLookupWalksObjectsAndArrays(t *testing.T) {
	v := map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": "x"}, []any{"y", "z"}}}}
	tests := []struct {
		path string
		want any
	}{
		{"a.b[0].c", "x"},
		{"a.b[1][1]", "z"},
		{"a.b[2]", nil},
		{"a.missing.c", nil},
		{"a.b[x]", nil},
	}
	for _, tt := range tests {
		if got := lookup(v, tt.path); got != tt.want {
			t.Errorf("lookup(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestPlainUnwrapsSecretsAndDropsUnknowns(t *testing.T) {
	in := resource.PropertyMap{
		"secret":  resource.MakeSecret(resource.NewProperty("s")),
		"unknown": resource.MakeComputed(resource.NewProperty("")),
		"list":    resource.NewProperty([]resource.PropertyValue{resource.NewProperty(1.0)}),
	}
	got := Plain(resource.NewProperty(in)).(map[string]any)
	if got["secret"] != "s" || got["list"].([]any)[0] != 1.0 {
		t.Fatalf("plain: %v", got)
	}
	if _, ok := got["unknown"]; ok {
		t.Fatal("an unknown value must be left out")
	}
	if !HasSecret(resource.NewProperty(in)) || HasSecret(in["list"]) {
		t.Fatal("HasSecret misreports")
	}
}

func TestRawConfigMergesSchemaDefaultsAndStackValues(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", "name: cinegit\nruntime: go\nconfig:\n  protect:\n    type: boolean\n    default: false\n  network:\n    type: object\n    default: {}\n")
	write("Pulumi.dev.yaml", "config:\n  aws:region: us-east-1\n  cinegit:network:\n    cidr: 10.1.0.0/16\n    availabilityZones: [us-east-1a, us-east-1b]\n")
	write("Pulumi.bad.yaml", "config:\n  cinegit:token:\n    secure: AAABAx\n")

	_, raw, err := LoadConfig(Options{Dir: dir, Stack: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if raw["cinegit:protect"] != "false" || raw["aws:region"] != "us-east-1" {
		t.Fatalf("defaults or scalars lost: %v", raw)
	}
	if raw["cinegit:network"] != `{"availabilityZones":["us-east-1a","us-east-1b"],"cidr":"10.1.0.0/16"}` {
		t.Fatalf("objects must reach the program as JSON: %s", raw["cinegit:network"])
	}
	if _, _, err := LoadConfig(Options{Dir: dir, Stack: "bad"}); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("a secure value must be refused offline, got %v", err)
	}
	if _, _, err := LoadConfig(Options{Dir: dir, Stack: "missing"}); err == nil {
		t.Fatal("a missing stack file must fail")
	}
}
