package schemacheck

import (
	"slices"
	"testing"
)

func TestExtractReadsBothSchemaStyles(t *testing.T) {
	got, err := Extract("testdata/provider", "aws")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tfType              string
		always, conditional []string
	}{
		// SDKv2: names constants as keys, a SchemaFunc, a nested block's ForceNew child, a
		// ForceNew block (nothing below it listed), a helper returning *schema.Schema, a
		// ForceNew helper of another package; CustomizeDiff's ForceNewIfChange is conditional.
		{"aws_thing", []string{"encryption_setting", "import_from.bucket_name", "name", "owner_tags", "placement", "vpc_id"}, []string{"engine"}},
		// Framework: RequiresReplace in a nested block too; RequiresReplaceIfConfigured is
		// conditional; the ephemeral resource of the same name is not read.
		{"aws_thing_rule", []string{"target.arn", "thing_id"}, []string{"name"}},
		// The schema of the embedded type, the name joined to the provider's.
		{"aws_thing_egress_rule", []string{"target.arn", "thing_id"}, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.tfType, func(t *testing.T) {
			r, ok := got[tt.tfType]
			if !ok {
				t.Fatalf("not found; got %v", got)
			}
			if !slices.Equal(r.Always, tt.always) || !slices.Equal(r.Conditional, tt.conditional) {
				t.Errorf("always %q, conditional %q; want %q, %q", r.Always, r.Conditional, tt.always, tt.conditional)
			}
		})
	}
	if len(got) != len(tests) {
		t.Errorf("%d types, want %d (data sources and ephemeral resources are not resources): %v", len(got), len(tests), got)
	}
}

func TestExtractRefusesATreeWithoutSchemas(t *testing.T) {
	if _, err := Extract("testdata/kubernetes", "aws"); err == nil {
		t.Error("no error for a directory without resource schemas")
	}
}

func TestPulumiPaths(t *testing.T) {
	b, err := ReadBridge("testdata/bridge-metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		token string
		tf    []string
		want  []string
	}{
		{"aws:things/thing:Thing", []string{"vpc_id", "encryption_setting", "import_from.bucket_name", "import_from.prefix"},
			[]string{"encryptionSettings", "importFrom.bucket", "importFrom.prefix", "vpcId"}},
		{"aws:things/thingRule:ThingRule", []string{"target.arn", "thing_id", "ipv4_netmask_length"},
			[]string{"ipv4NetmaskLength", "targets.arn", "thingId"}},
	}
	for _, tt := range tests {
		if got := b.PulumiPaths(tt.token, tt.tf); !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: %q, want %q", tt.token, tt.tf, got, tt.want)
		}
	}
	if b.Resources["aws:things/thing:Thing"] != "aws_thing" {
		t.Errorf("resources %v", b.Resources)
	}
}

func TestKubernetesRules(t *testing.T) {
	table, err := KubernetesForceNew("testdata/kubernetes/diff.go")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind string
		want []string
	}{
		{"storage.k8s.io/v1/StorageClass", []string{"parameters", "provisioner"}},
		{"core/v1/ResourceQuota", []string{"spec.scopes"}},
		{"core/v1/Secret", []string{"type", "data"}}, // the branch the provider's settings decide
		{"batch/v1/Job", []string{"spec.template"}},  // helper calls give nothing
		{"core/v1/Namespace", nil},                   // identity only
	}
	for _, tt := range tests {
		if got := table[tt.kind]; !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.kind, got, tt.want)
		}
	}
	identity, err := ForceNewFields("testdata/kubernetes/diff.go")
	if err != nil || !slices.Equal(identity, []string{"metadata.name", "metadata.namespace"}) {
		t.Errorf("identity %q, %v", identity, err)
	}
}
