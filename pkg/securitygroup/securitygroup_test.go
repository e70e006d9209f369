package securitygroup

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const ruleType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

func TestServiceOnly(t *testing.T) {
	tests := []struct {
		name    string
		allowed pulumi.StringArray
		sources []string
	}{
		{"admits each named group on the port only", pulumi.StringArray{pulumi.String("sg-nodes"), pulumi.String("sg-ci")}, []string{"sg-nodes", "sg-ci"}},
		{"a known-empty list admits nothing", pulumi.StringArray{}, nil},
		{"no list admits nothing", nil, nil},
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
			if sg.InputString("description") != "PostgreSQL from CineGit workloads, by standalone rules" {
				t.Errorf("description %q: the move to standalone rules needs a new group", sg.InputString("description"))
			}
			if sg.InputString("namePrefix") != "cinegit-dev-postgres-" || sg.Input("name") != nil {
				t.Errorf("name: prefix %q, name %v", sg.InputString("namePrefix"), sg.Input("name"))
			}
			// No inline rules at all: they would fight the standalone ones, and inline
			// sources would make the group (and the data store) wait for them.
			if sg.Input("ingress") != nil || sg.Input("egress") != nil {
				t.Errorf("inline rules: ingress %v, egress %v", sg.Input("ingress"), sg.Input("egress"))
			}
			rules := r.ByType(ruleType)
			if len(rules) != len(tt.sources) {
				t.Fatalf("%d rules, want %d", len(rules), len(tt.sources))
			}
			for i, src := range tt.sources {
				// By name: registration order follows when each source resolves, not i.
				rule := r.Named(ruleType, fmt.Sprintf("db-ingress-%d", i))
				if rule == nil {
					t.Fatalf("rule %d missing", i)
				}
				if rule.InputString("referencedSecurityGroupId") != src || rule.InputString("ipProtocol") != "tcp" ||
					rule.Input("fromPort") != 5432.0 || rule.Input("toPort") != 5432.0 || rule.Input("cidrIpv4") != nil ||
					!r.DependsOn(rule, sg) || rule.InputString("tags.project") != "cinegit" {
					t.Errorf("rule %d: %v", i, rule.Inputs)
				}
			}
		})
	}
}
