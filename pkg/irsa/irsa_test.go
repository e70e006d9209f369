package irsa

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

const (
	issuer      = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	providerArn = "arn:aws:iam::123456789012:oidc-provider/" + issuer
)

func env() stackenv.Env {
	return harness.Env("dev", "us-east-1")
}

func run(t *testing.T, preview bool, args Args) *harness.Result {
	t.Helper()
	r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		_, err := NewRole(ctx, "autoscaler", args)
		return err
	}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func validArgs() Args {
	return Args{
		Env:               env(),
		OidcProviderArn:   pulumi.String(providerArn),
		OidcIssuer:        pulumi.String(issuer),
		Namespace:         "kube-system",
		ServiceAccount:    "cluster-autoscaler",
		Policy:            pulumi.String(`{"Version":"2012-10-17","Statement":[]}`),
		ManagedPolicyArns: []string{"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"},
	}
}

func TestTrustPolicyIsExactlyOneServiceAccount(t *testing.T) {
	r := run(t, false, validArgs())
	role := r.Named("aws:iam/role:Role", "autoscaler")
	if role == nil {
		t.Fatal("no role")
	}
	var got any
	if err := json.Unmarshal([]byte(role.InputString("assumeRolePolicy")), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "ServiceAccount",
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": providerArn},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				issuer + ":sub": "system:serviceaccount:kube-system:cluster-autoscaler",
				issuer + ":aud": "sts.amazonaws.com",
			}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("trust policy:\n got %v\nwant %v", got, want)
	}
	if strings.ContainsAny(role.InputString("assumeRolePolicy"), "*?") || strings.Contains(role.InputString("assumeRolePolicy"), "StringLike") {
		t.Fatal("trust policy has a wildcard")
	}
	if role.InputString("name") != "cinegit-dev-irsa-kube-system-cluster-autoscaler" {
		t.Errorf("role name %q", role.InputString("name"))
	}
	if role.InputString("tags.environment") != "dev" || role.InputString("tags.kubernetes-service-account") != "cluster-autoscaler" {
		t.Errorf("tags %v", role.Input("tags"))
	}
}

func TestPoliciesAttachToTheRole(t *testing.T) {
	for _, preview := range []bool{false, true} {
		r := run(t, preview, validArgs())
		role := r.Named("aws:iam/role:Role", "autoscaler")
		inline := r.Named("aws:iam/rolePolicy:RolePolicy", "autoscaler")
		att := r.Named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "autoscaler-AmazonEBSCSIDriverPolicy")
		if inline == nil || att == nil {
			t.Fatalf("preview=%v: want an inline policy and one attachment", preview)
		}
		if !r.DependsOn(inline, role) || !r.DependsOn(att, role) {
			t.Errorf("preview=%v: policies do not refer to the role", preview)
		}
		if att.InputString("policyArn") != "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" {
			t.Errorf("attachment %q", att.InputString("policyArn"))
		}
		if len(r.ByType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")) != 1 {
			t.Errorf("preview=%v: extra attachments", preview)
		}
	}
}

func TestInvalidArgsAreRejected(t *testing.T) {
	tests := map[string]func(*Args){
		"wildcard service account": func(a *Args) { a.ServiceAccount = "*" },
		"wildcard namespace":       func(a *Args) { a.Namespace = "kube-*" },
		"empty namespace":          func(a *Args) { a.Namespace = "" },
		"no policy at all":         func(a *Args) { a.Policy, a.ManagedPolicyArns = nil, nil },
		"not a policy ARN":         func(a *Args) { a.ManagedPolicyArns = []string{"AmazonEKS_CNI_Policy"} },
		"no provider":              func(a *Args) { a.OidcProviderArn = nil },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			a := validArgs()
			mutate(&a)
			_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
				_, err := NewRole(ctx, "x", a)
				return err
			}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
			if err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestTrustPolicyRejectsAProviderOfAnotherIssuer(t *testing.T) {
	a := validArgs()
	a.OidcIssuer = pulumi.String("oidc.eks.us-east-1.amazonaws.com/id/FFFF")
	_, err := harness.RunRaw(func(ctx *pulumi.Context) error {
		_, err := NewRole(ctx, "x", a)
		return err
	}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
	if err == nil || !strings.Contains(err.Error(), "not the provider of issuer") {
		t.Fatalf("want a mismatch error, got %v", err)
	}
}

func TestIssuerWithSchemeIsNormalised(t *testing.T) {
	a := validArgs()
	a.OidcIssuer = pulumi.String("https://" + issuer)
	r := run(t, false, a)
	if !strings.Contains(r.Named("aws:iam/role:Role", "autoscaler").InputString("assumeRolePolicy"), `"`+issuer+`:sub"`) {
		t.Fatal("https:// leaked into the condition keys")
	}
}
