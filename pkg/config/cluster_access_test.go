package config

import (
	"testing"
)

func TestClusterAccessSettings(t *testing.T) {
	tests := []struct {
		name    string
		cluster string
		key     string // "" when valid
		allowed string
	}{
		{"defaults: the preview role views", `{}`, "", ""},
		{"no viewer", `{"viewerRoleName":"none"}`, "", ""},
		{"runner network and group", `{"apiClientCidrs":["10.99.0.0/24"],"apiClientSecurityGroupIds":["sg-0123456789abcdef0"]}`, "", ""},
		{"viewer with a path", `{"viewerRoleName":"ci/preview"}`, "cinegit:cluster.viewerRoleName", "IAM role name"},
		{"viewer is the deploy role", `{"viewerRoleName":"cinegit-runner-deploy"}`, "cinegit:cluster.viewerRoleName", "other than deployRoleName"},
		{"public API client network", `{"apiClientCidrs":["0.0.0.0/0"]}`, "cinegit:cluster.apiClientCidrs[0]", "private IPv4"},
		{"malformed API client network", `{"apiClientCidrs":["10.99.0.1/24"]}`, "cinegit:cluster.apiClientCidrs[0]", "private IPv4"},
		{"malformed security group", `{"apiClientSecurityGroupIds":["sg-xyz"]}`, "cinegit:cluster.apiClientSecurityGroupIds[0]", "security group id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("dev", with("cinegit:cluster", tt.cluster))
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.cluster == `{}` && c.Cluster.ViewerRoleName != "cinegit-runner-preview" {
					t.Fatalf("viewer default %q", c.Cluster.ViewerRoleName)
				}
				return
			}
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}
