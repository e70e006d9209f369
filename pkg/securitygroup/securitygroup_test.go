package securitygroup

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

func TestServiceOnly(t *testing.T) {
	tests := []struct {
		name    string
		allowed pulumi.StringArrayInput
		ingress bool
	}{
		{"admits the named groups on the port only", pulumi.StringArray{pulumi.String("sg-nodes")}, true},
		{"a known-empty list admits nothing", pulumi.StringArray{}, false},
		{"no list admits nothing", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
				_, err := NewServiceOnly(ctx, "db", Args{
					Env: harness.Env("dev", "us-east-1"), VpcID: pulumi.String("vpc-1"),
					Service: "PostgreSQL", NamePart: "postgres", Port: 5432, Allowed: tt.allowed,
				})
				return err
			}, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false)
			if err != nil {
				t.Fatal(err)
			}
			sg := r.Named("aws:ec2/securityGroup:SecurityGroup", "db")
			if sg.InputString("namePrefix") != "cinegit-dev-postgres-" || sg.Input("name") != nil {
				t.Errorf("name: prefix %q, name %v", sg.InputString("namePrefix"), sg.Input("name"))
			}
			if egress, _ := sg.Input("egress").([]any); len(egress) != 0 {
				t.Errorf("egress %v, want none", egress)
			}
			ingress, _ := sg.Input("ingress").([]any)
			if !tt.ingress {
				if len(ingress) != 0 {
					t.Fatalf("ingress %v, want none", ingress)
				}
				return
			}
			if len(ingress) != 1 || sg.Input("ingress[0].fromPort") != 5432.0 || sg.Input("ingress[0].toPort") != 5432.0 ||
				sg.Input("ingress[0].cidrBlocks") != nil || sg.Input("ingress[0].securityGroups[0]") != "sg-nodes" {
				t.Fatalf("ingress %v", ingress)
			}
		})
	}
}
