package analyzer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"sigs.k8s.io/yaml"

	policyfiles "github.com/cinegit/infrastructure/policy"
)

// Version is the pack's version, from the PulumiPolicy.yaml built into the analyzer.
func Version() (string, error) {
	b, err := policyfiles.Files.ReadFile("PulumiPolicy.yaml")
	if err != nil {
		return "", err
	}
	var pack struct {
		Version string `json:"version"`
	}
	if err := yaml.Unmarshal(b, &pack); err != nil || pack.Version == "" {
		return "", fmt.Errorf("PulumiPolicy.yaml: no version (%v)", err)
	}
	return pack.Version, nil
}

// The self-check's fixtures: a bucket without the required tags, which a resource policy must
// refuse, and the same bucket tagged, alone in a stack, which a stack policy must refuse (it has
// no public access block).
const checkURN = "urn:pulumi:selfcheck::cinegit::aws:s3/bucketV2:BucketV2::selfcheck"

func checkBucket(tagged bool) plugin.AnalyzerResource {
	props := resource.PropertyMap{"bucket": resource.NewProperty("cinegit-selfcheck")}
	if tagged {
		props["tags"] = resource.NewProperty(resource.PropertyMap{
			"project": resource.NewProperty("cinegit"), "environment": resource.NewProperty("dev"),
			"managed-by": resource.NewProperty("pulumi"),
		})
	}
	return plugin.AnalyzerResource{URN: resource.URN(checkURN), Type: "aws:s3/bucketV2:BucketV2", Name: "selfcheck", Properties: props}
}

// SelfCheck starts the analyzer plugin the way the Pulumi CLI does for the pack in packDir
// (NewPolicyAnalyzer: PulumiPolicy.yaml's runtime names pulumi-analyzer-policy-<runtime>,
// looked up as the CLI looks plugins up, $PATH included), checks that the pack on disk is the one
// built into that plugin, and requires the mandatory violations of a known-bad resource and a
// known-bad stack, and none of a known-good resource. The deploy runner refuses to run pulumi
// when it fails.
func SelfCheck(ctx context.Context, packDir string) error {
	if err := sameFiles(packDir); err != nil {
		return err
	}
	host := &plugin.MockHost{}
	pctx, err := plugin.NewContextWithHost(ctx, nil, nil, host, packDir, packDir, nil)
	if err != nil {
		return err
	}
	defer func() { _ = pctx.Close() }()
	a, err := plugin.NewPolicyAnalyzer(host, pctx, tokens.QName(PackName), packDir, nil, nil)
	if err != nil {
		return fmt.Errorf("starting the policy pack in %s: %w", packDir, err)
	}
	defer func() { _ = a.Close() }()

	info, err := a.GetAnalyzerInfo(ctx)
	if err != nil {
		return err
	}
	if info.Name != PackName || len(info.Policies) == 0 {
		return fmt.Errorf("the analyzer serves pack %q with %d policies, want %q", info.Name, len(info.Policies), PackName)
	}

	bad, err := a.Analyze(ctx, checkBucket(false))
	if err != nil {
		return err
	}
	good, err := a.Analyze(ctx, checkBucket(true))
	if err != nil {
		return err
	}
	tagged := checkBucket(true)
	stack, err := a.AnalyzeStack(ctx, []plugin.AnalyzerStackResource{{AnalyzerResource: tagged}})
	if err != nil {
		return err
	}
	var errs []error
	if !mandatory(bad.Diagnostics, "deny_required_tags") {
		errs = append(errs, fmt.Errorf("an untagged bucket: no mandatory deny_required_tags (got %v)", names(bad.Diagnostics)))
	}
	if got := names(mandatoryOnly(good.Diagnostics)); len(got) > 0 {
		errs = append(errs, fmt.Errorf("a tagged bucket: mandatory violations %v, want none", got))
	}
	if !mandatory(stack.Diagnostics, "stack_deny_bucket_public_access_block") {
		errs = append(errs, fmt.Errorf("a bucket without a public access block: no mandatory stack_deny_bucket_public_access_block (got %v)", names(stack.Diagnostics)))
	}
	return errors.Join(errs...)
}

// sameFiles requires the pack's files on disk to be the ones built into this binary: a stale
// plugin would evaluate other rules than the commit being deployed.
func sameFiles(packDir string) error {
	return fs.WalkDir(policyfiles.Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		built, err := policyfiles.Files.ReadFile(path)
		if err != nil {
			return err
		}
		onDisk, err := os.ReadFile(filepath.Join(packDir, path))
		if err != nil {
			return err
		}
		if !bytes.Equal(built, onDisk) {
			return fmt.Errorf("%s differs from the one built into the analyzer: rebuild it at this commit (go build ./policy/analyzer)", filepath.Join(packDir, path))
		}
		return nil
	})
}

func mandatory(ds []plugin.AnalyzeDiagnostic, policy string) bool {
	return slices.ContainsFunc(mandatoryOnly(ds), func(d plugin.AnalyzeDiagnostic) bool { return d.PolicyName == policy })
}

func mandatoryOnly(ds []plugin.AnalyzeDiagnostic) []plugin.AnalyzeDiagnostic {
	var out []plugin.AnalyzeDiagnostic
	for _, d := range ds {
		if d.EnforcementLevel == "mandatory" {
			out = append(out, d)
		}
	}
	return out
}

func names(ds []plugin.AnalyzeDiagnostic) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s (%s)", d.PolicyName, d.EnforcementLevel))
	}
	return out
}
