package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

type box struct{ pulumi.ResourceState }

// small registers a component with children on an explicit provider, a resource on the
// default provider that depends on them, and a secret output.
func small(ctx *pulumi.Context) error {
	prov, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
	if err != nil {
		return err
	}
	c := &box{}
	if err := ctx.RegisterComponentResource("cinegit:test:Box", "box", c, pulumi.Provider(prov)); err != nil {
		return err
	}
	b, err := s3.NewBucketV2(ctx, "bucket", &s3.BucketV2Args{Bucket: pulumi.String("cinegit-dev-bucket")}, pulumi.Parent(c))
	if err != nil {
		return err
	}
	q, err := sqs.NewQueue(ctx, "queue", &sqs.QueueArgs{Name: b.Bucket}, pulumi.DependsOn([]pulumi.Resource{b}))
	if err != nil {
		return err
	}
	ctx.Export("queueUrl", q.Url)
	ctx.Export("token", pulumi.ToSecret(pulumi.String("s3cr3t")))
	return ctx.RegisterResourceOutputs(c, pulumi.Map{})
}

func deploymentOf(t *testing.T, preview bool) apitype.DeploymentV3 {
	t.Helper()
	r, err := harness.RunRaw(small, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Deployment(r)
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 3 {
		t.Fatalf("version %d", u.Version)
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(u.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeploymentIsImportable(t *testing.T) {
	for _, preview := range []bool{false, true} {
		d := deploymentOf(t, preview)
		if d.Manifest.Magic != d.Manifest.NewMagic() || d.SecretsProviders != nil {
			t.Fatalf("manifest %+v, secrets %+v", d.Manifest, d.SecretsProviders)
		}
		if d.Resources[0].Type != "pulumi:pulumi:Stack" {
			t.Fatalf("first resource is %s, want the stack", d.Resources[0].Type)
		}
		seen := map[string]bool{}
		for _, res := range d.Resources {
			refs := []string{string(res.Parent)}
			if res.Provider != "" {
				refs = append(refs, harness.ProviderURN(res.Provider))
			}
			for _, dep := range res.Dependencies {
				refs = append(refs, string(dep))
			}
			for _, ref := range refs {
				if ref != "" && !seen[ref] {
					t.Errorf("%s refers to %s before it appears", res.URN, ref)
				}
			}
			if res.Custom && !strings.HasPrefix(string(res.Type), "pulumi:providers:") && res.Provider == "" {
				t.Errorf("%s has no provider reference", res.URN)
			}
			seen[string(res.URN)] = true
		}
	}
}

func TestDeploymentProvidersAndSecrets(t *testing.T) {
	d := deploymentOf(t, false)
	var queue, bucket, stack *apitype.ResourceV3
	for i := range d.Resources {
		switch d.Resources[i].Type {
		case "aws:sqs/queue:Queue":
			queue = &d.Resources[i]
		case "aws:s3/bucketV2:BucketV2":
			bucket = &d.Resources[i]
		case "pulumi:pulumi:Stack":
			stack = &d.Resources[i]
		}
	}
	if !strings.Contains(queue.Provider, "pulumi:providers:aws::default_6_83_4::") {
		t.Errorf("queue should use the synthesized default provider, got %q", queue.Provider)
	}
	if !strings.Contains(bucket.Provider, "pulumi:providers:aws::aws::") {
		t.Errorf("bucket should inherit the explicit provider from its component, got %q", bucket.Provider)
	}
	if stack.Outputs["token"] != SecretPlaceholder {
		t.Fatalf("secret output not replaced by the placeholder: %v", stack.Outputs["token"])
	}
	if strings.Contains(string(mustJSON(t, d)), "s3cr3t") {
		t.Error("secret appears in plain text in the deployment")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
