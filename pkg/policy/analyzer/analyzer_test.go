package analyzer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// pluginEnv makes this test binary act as the plugin: the test links it under the plugin's
// name on a PATH of its own, and the engine's plugin loader starts it with the engine's
// arguments, so the plugin runs exactly Main, without a second build.
const pluginEnv = "CINEGIT_TEST_ANALYZER_PLUGIN"

func TestMain(m *testing.M) {
	if os.Getenv(pluginEnv) != "" {
		if err := Main(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The pack through Pulumi's own analyzer interface, started as the CLI starts it
// (plugin.NewPolicyAnalyzer over policy/PulumiPolicy.yaml, runtime cinegit): a known-bad resource
// and a known-bad stack give their mandatory violations, a known-good resource none.
func TestSelfCheckThroughTheCLIsPluginLoader(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "pulumi-analyzer-policy-cinegit")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(pluginEnv, "1")
	if err := SelfCheck(context.Background(), filepath.Join("..", "..", "..", "policy")); err != nil {
		t.Fatal(err)
	}

	// A pack on disk that differs from the one built in is refused before anything runs.
	stale := t.TempDir()
	if err := os.WriteFile(filepath.Join(stale, "PulumiPolicy.yaml"), []byte("runtime: cinegit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SelfCheck(context.Background(), stale); err == nil {
		t.Fatal("a stale pack directory passes the self-check")
	}
}

// Analyze and AnalyzeStack report each policy with its level; an exception the resource
// declares turns its finding advisory, with the reason.
func TestServerLevelsAndExceptions(t *testing.T) {
	version, err := Version()
	if err != nil || version == "" {
		t.Fatalf("version %q: %v", version, err)
	}
	s, err := NewServer(version)
	if err != nil {
		t.Fatal(err)
	}
	marshal := func(tags resource.PropertyMap) *structpb.Struct {
		t.Helper()
		props := resource.PropertyMap{"bucket": resource.NewProperty("b")}
		if tags != nil {
			props["tags"] = resource.NewProperty(tags)
		}
		st, err := plugin.MarshalProperties(props, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	analyze := func(tags resource.PropertyMap) []*pulumirpc.AnalyzeDiagnostic {
		t.Helper()
		resp, err := s.Analyze(context.Background(), &pulumirpc.AnalyzeRequest{Urn: checkURN, Type: "aws:s3/bucketV2:BucketV2", Name: "selfcheck", Properties: marshal(tags)})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetDiagnostics()
	}
	find := func(ds []*pulumirpc.AnalyzeDiagnostic, policy string) *pulumirpc.AnalyzeDiagnostic {
		for _, d := range ds {
			if d.GetPolicyName() == policy {
				return d
			}
		}
		return nil
	}
	d := find(analyze(nil), "deny_required_tags")
	if d == nil || d.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY || d.GetUrn() != checkURN || d.GetPolicyPackName() != PackName {
		t.Fatalf("an untagged bucket: %v", d)
	}
	// A tag cannot waive a mandatory policy the pack does not allow waived on the type.
	ds := analyze(resource.PropertyMap{"cinegit:exception:deny_required_tags": resource.NewProperty("a test")})
	if d := find(ds, "deny_required_tags"); d.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
		t.Fatalf("a tag waived deny_required_tags: %v", d)
	}
	if find(ds, "deny_unlisted_exception").GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
		t.Fatalf("the unlisted exception is not refused: %v", ds)
	}
	// One the pack allows (stack_deny_bucket_versioning on a bucket, by its topic) is
	// reported as advisory, with its reason.
	stack, err := s.AnalyzeStack(context.Background(), &pulumirpc.AnalyzeStackRequest{Resources: []*pulumirpc.AnalyzerResource{{
		Urn: checkURN, Type: "aws:s3/bucketV2:BucketV2", Name: "selfcheck", Properties: marshal(resource.PropertyMap{
			"project": resource.NewProperty("cinegit"), "environment": resource.NewProperty("dev"),
			"managed-by": resource.NewProperty("pulumi"), "cinegit:exception:versioning": resource.NewProperty("log delivery"),
		}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	waived := find(stack.GetDiagnostics(), "stack_deny_bucket_versioning")
	if waived.GetEnforcementLevel() != pulumirpc.EnforcementLevel_ADVISORY || !strings.Contains(waived.GetMessage(), "log delivery") {
		t.Fatalf("a waived finding: %v", waived)
	}

	info, err := s.GetAnalyzerInfo(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]pulumirpc.EnforcementLevel{}
	for _, p := range info.GetPolicies() {
		levels[p.GetName()] = p.GetEnforcementLevel()
	}
	if levels["deny_required_tags"] != pulumirpc.EnforcementLevel_MANDATORY || levels["stack_deny_bucket_public_access_block"] != pulumirpc.EnforcementLevel_MANDATORY {
		t.Fatalf("policy levels: %v", levels)
	}
}
