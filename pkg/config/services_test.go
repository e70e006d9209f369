package config

import (
	"testing"
)

func TestServicesDefaults(t *testing.T) {
	c, err := Parse("dev", with("cinegit:services", `[{"name":"project","permissions":[{"action":"connectDatabase","dbUser":"project"}]},
		{"name":"media","namespace":"uploads","serviceAccount":"media-api","permissions":[{"action":"presignUpload"}]}]`,
		"cinegit:gitops", `{"destinationNamespaces":["uploads"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Services[0]; s.Namespace != "cinegit" || s.ServiceAccount != "project" {
		t.Errorf("defaults: %+v", s)
	}
	if s := c.Services[1]; s.Namespace != "uploads" || s.ServiceAccount != "media-api" {
		t.Errorf("explicit identity: %+v", s)
	}
}

func TestServicesRejected(t *testing.T) {
	svc := func(items string) map[string]string { return with("cinegit:services", "["+items+"]") }
	db := `{"action":"connectDatabase","dbUser":"project"}`
	tests := []struct {
		name, key, allowed string
		raw                map[string]string
	}{
		{"unknown action", "cinegit:services[0].permissions[0].action", "one of connectDatabase",
			svc(`{"name":"project","permissions":[{"action":"deleteBucket"}]}`)},
		{"bad name", "cinegit:services[0].name", "lowercase DNS label",
			svc(`{"name":"Project_API","permissions":[` + db + `]}`)},
		{"duplicate service", "cinegit:services[1].name", "no other service",
			svc(`{"name":"project","permissions":[` + db + `]},{"name":"project","permissions":[{"action":"readProxies"}]}`)},
		{"db user not a PostgreSQL identifier", "cinegit:services[0].permissions[0].dbUser", "PostgreSQL identifier",
			svc(`{"name":"project","permissions":[{"action":"connectDatabase","dbUser":"project-api"}]}`)},
		{"db user is the master user", "cinegit:services[0].permissions[0].dbUser", "not the master user",
			svc(`{"name":"project","permissions":[{"action":"connectDatabase","dbUser":"cinegit_admin"}]}`)},
		{"db user reserved by RDS", "cinegit:services[0].permissions[0].dbUser", "rds name",
			svc(`{"name":"project","permissions":[{"action":"connectDatabase","dbUser":"rdsadmin"}]}`)},
		{"db user of two services", "cinegit:services[1].permissions[0].dbUser", "no other service",
			svc(`{"name":"project","permissions":[` + db + `]},{"name":"review","permissions":[` + db + `]}`)},
		{"secret not in the known set", "cinegit:services[0].permissions[1].secret", "one of cdn-signing-key, redis",
			svc(`{"name":"project","permissions":[` + db + `,{"action":"readSecret","secret":"database"}]}`)},
		{"unknown bucket", "cinegit:services[0].permissions[0].bucket", "one of media, proxies, thumbnails",
			svc(`{"name":"project","permissions":[{"action":"readBucket","bucket":"logs"}]}`)},
		{"target on an action that takes none", "cinegit:services[0].permissions[0].bucket", "not set for action presignUpload",
			svc(`{"name":"media","permissions":[{"action":"presignUpload","bucket":"proxies"}]}`)},
		{"no permission", "cinegit:services[0].permissions", "at least one permission",
			svc(`{"name":"project","permissions":[]}`)},
		{"only secrets", "cinegit:services[0].permissions", "at least one AWS permission",
			svc(`{"name":"project","permissions":[{"action":"readSecret","secret":"redis"}]}`)},
		{"permission twice", "cinegit:services[0].permissions[1].action", "listed once",
			svc(`{"name":"project","permissions":[` + db + `,` + db + `]}`)},
		{"namespace nobody deploys to", "cinegit:services[0].namespace", "gitops.applicationNamespace or one of",
			svc(`{"name":"project","namespace":"default","permissions":[` + db + `]}`)},
		{"service account of another service", "cinegit:services[1].serviceAccount", "no other service uses",
			svc(`{"name":"project","permissions":[` + db + `]},{"name":"review","serviceAccount":"project","permissions":[{"action":"readProxies"}]}`)},
		{"unknown field", "cinegit:services[0].permission", "did you mean cinegit:services[0].permissions",
			svc(`{"name":"project","permission":[]}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectParseProblem(t, "dev", tt.raw, tt.key, tt.allowed)
		})
	}
}
