package config

import (
	"testing"
)

func TestDeployRunnerSection(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]string
		key     string // "" when valid
		allowed string
	}{
		{"defaults: the bootstrap's runner VPC", with(), "", ""},
		{"another block and name", with("cinegit:deployRunner", `{"cidr":"172.31.0.0/20","vpcName":"ci-runners"}`), "", ""},
		{"overlaps the stack's VPC", with("cinegit:deployRunner", `{"cidr":"10.10.4.0/22"}`), "cinegit:deployRunner.cidr", "does not overlap network.cidr"},
		{"contains the stack's VPC", with("cinegit:deployRunner", `{"cidr":"10.0.0.0/8"}`), "cinegit:deployRunner.cidr", "/16 to /24"},
		{"public block", with("cinegit:deployRunner", `{"cidr":"100.64.0.0/22"}`), "cinegit:deployRunner.cidr", "private IPv4"},
		{"host bits", with("cinegit:deployRunner", `{"cidr":"10.255.1.0/22"}`), "cinegit:deployRunner.cidr", "no host bits"},
		{"name with a wildcard", with("cinegit:deployRunner", `{"vpcName":"runner*"}`), "cinegit:deployRunner.vpcName", "Name tag"},
		{"runner listed again as an API client", with("cinegit:cluster", `{"apiClientCidrs":["10.255.0.0/22"]}`), "cinegit:cluster.apiClientCidrs[0]", "always admitted"},
		{"unknown field", with("cinegit:deployRunner", `{"vpcId":"vpc-0123"}`), "cinegit:deployRunner.vpcId", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("dev", tt.raw)
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, set := tt.raw["cinegit:deployRunner"]; !set && (c.DeployRunner.CIDR != "10.255.0.0/22" || c.DeployRunner.VpcName != "cinegit-deploy-runner") {
					t.Fatalf("defaults %+v", c.DeployRunner)
				}
				return
			}
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}
