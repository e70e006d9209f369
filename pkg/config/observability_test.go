package config

import (
	"testing"
	"time"
)

func TestObservabilityAndGitOpsDefaultsFollowTheStack(t *testing.T) {
	dev, err := Parse("dev", base())
	if err != nil {
		t.Fatal(err)
	}
	o, g := dev.Observability, dev.GitOps
	if o.Namespace != "monitoring" || o.Prometheus.ChartVersion != "88.5.3" || o.Loki.ChartVersion != "18.11.0" || o.Alloy.ChartVersion != "1.11.1" {
		t.Errorf("observability pins: %+v", o)
	}
	if o.Prometheus.Replicas != 1 || o.Alertmanager.Replicas != 1 || o.Alertmanager.Receiver != ReceiverNone {
		t.Errorf("dev observability is small and silent: %+v", o)
	}
	if o.Loki.DeploymentMode != LokiMonolithic || o.Loki.Replicas != 1 || o.Loki.RetentionDays() != 7 || *o.Grafana.AdminSecretRecoveryWindowDays != 0 {
		t.Errorf("dev Loki: %+v", o.Loki)
	}
	if o.Prometheus.Resources.Limits.Memory != "4Gi" || o.Loki.Resources.Requests.CPU != "250m" {
		t.Errorf("resources: %+v %+v", o.Prometheus.Resources, o.Loki.Resources)
	}
	if g.ChartVersion != "10.1.1" || g.Namespace != "argocd" || g.Revision != "main" || g.Path != "clusters/dev" || g.ApplicationNamespace != "cinegit" || g.IsHA() {
		t.Errorf("dev gitops: %+v", g)
	}
	if g.ControllerResources.Requests.CPU != "250m" || g.ControllerResources.Limits.Memory != "2Gi" || g.RepoServerResources.Requests.Memory != "256Mi" {
		t.Errorf("argo resources: %+v %+v", g.ControllerResources, g.RepoServerResources)
	}
	if g.ExternalSecrets.ChartVersion != "2.9.0" || g.ExternalSecrets.Replicas != 1 || g.ExternalSecrets.RefreshInterval != "15m" {
		t.Errorf("dev external secrets: %+v", g.ExternalSecrets)
	}

	prod, err := Parse("prod", prodWith())
	if err != nil {
		t.Fatal(err)
	}
	o, g = prod.Observability, prod.GitOps
	if o.Prometheus.Replicas != 2 || o.Alertmanager.Replicas != 2 || o.Alertmanager.Receiver != ReceiverSNS {
		t.Errorf("prod observability defaults must be HA and alerting: %+v", o)
	}
	if o.Loki.DeploymentMode != LokiMonolithic || o.Loki.Replicas != 3 || *o.Grafana.AdminSecretRecoveryWindowDays != 30 {
		t.Errorf("prod Loki: %+v", o.Loki)
	}
	if !g.IsHA() || g.ExternalSecrets.Replicas != 2 || g.Path != "clusters/prod" || *g.SecretRecoveryWindowDays != 30 {
		t.Errorf("prod gitops: %+v", g)
	}
}

func TestObservabilityAndGitOpsValidConfigurations(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		raw   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"month of metrics in hours", "dev", with("cinegit:observability", `{"prometheus":{"retention":"720h"},"loki":{"retention":"720h"}}`), func(t *testing.T, c *Config) {
			if c.Observability.Loki.RetentionDays() != 30 {
				t.Fatal(c.Observability.Loki.Retention)
			}
		}},
		{"replicated monolithic Loki in dev", "dev", with("cinegit:observability", `{"loki":{"replicas":3,"chunksCacheMemoryMB":0}}`), func(t *testing.T, c *Config) {
			if c.Observability.Loki.Replicas != 3 || *c.Observability.Loki.ChunksCacheMemoryMB != 0 {
				t.Fatal(c.Observability.Loki)
			}
		}},
		{"ssh repository and extra destinations", "dev", with("cinegit:gitops", `{"repoUrl":"git@github.com:cinegit/gitops.git","revision":"v1.2.0","path":"clusters/dev","repositoryCredentials":true,"destinationNamespaces":["media"]}`), func(t *testing.T, c *Config) {
			if !c.GitOps.RepositoryCredentials || c.GitOps.DestinationNamespaces[0] != "media" {
				t.Fatal(c.GitOps)
			}
		}},
		{"ssh:// repository", "dev", with("cinegit:gitops", `{"repoUrl":"ssh://git@github.com/cinegit/gitops.git"}`), func(*testing.T, *Config) {}},
		{"SSO", "prod", prodWith("cinegit:gitops", `{"sso":{"url":"https://argocd.cinegit.io","issuer":"https://cinegit.okta.com","clientId":"argocd","adminGroups":["platform"]}}`), func(t *testing.T, c *Config) {
			if c.GitOps.SSO == nil || c.GitOps.SSO.ClientID != "argocd" {
				t.Fatal(c.GitOps.SSO)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.stack, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestObservabilityAndGitOpsInvalidConfigurationsNameTheKey(t *testing.T) {
	obs := func(v string) map[string]string { return with("cinegit:observability", v) }
	ops := func(v string) map[string]string { return with("cinegit:gitops", v) }
	tests := []struct {
		name    string
		stack   string
		raw     map[string]string
		key     string
		allowed string
	}{
		// observability
		{"system namespace", "dev", obs(`{"namespace":"kube-system"}`), "cinegit:observability.namespace", "not the system namespace"},
		{"namespace with capitals", "dev", obs(`{"namespace":"Monitoring"}`), "cinegit:observability.namespace", "namespace name"},
		{"chart version range", "dev", obs(`{"prometheus":{"chartVersion":"^88.0.0"}}`), "cinegit:observability.prometheus.chartVersion", "exact chart version"},
		{"chart version without patch", "dev", obs(`{"loki":{"chartVersion":"7.3"}}`), "cinegit:observability.loki.chartVersion", "exact chart version"},
		{"alloy chart tag", "dev", obs(`{"alloy":{"chartVersion":"v1.11.1"}}`), "cinegit:observability.alloy.chartVersion", "exact chart version"},
		{"retention without unit", "dev", obs(`{"prometheus":{"retention":"15"}}`), "cinegit:observability.prometheus.retention", "Prometheus duration"},
		{"retention units out of order", "dev", obs(`{"prometheus":{"retention":"1h1d"}}`), "cinegit:observability.prometheus.retention", "largest first"},
		{"retention too short", "dev", obs(`{"prometheus":{"retention":"30m"}}`), "cinegit:observability.prometheus.retention", "at least 2h"},
		{"tiny Prometheus volume", "dev", obs(`{"prometheus":{"storageGiB":1}}`), "cinegit:observability.prometheus.storageGiB", "10 to 16384"},
		{"single Prometheus in prod", "prod", prodWith("cinegit:observability", `{"prometheus":{"replicas":1}}`), "cinegit:observability.prometheus.replicas", "at least 2"},
		{"memory request above limit", "dev", obs(`{"prometheus":{"resources":{"requests":{"memory":"8Gi"}}}}`), "cinegit:observability.prometheus.resources.limits.memory", "at least the request"},
		{"cpu request above limit", "dev", obs(`{"loki":{"resources":{"requests":{"cpu":"2"},"limits":{"cpu":"500m"}}}}`), "cinegit:observability.loki.resources.limits.cpu", "at least the request"},
		{"memory in bytes units Kubernetes rejects", "dev", obs(`{"loki":{"resources":{"limits":{"memory":"2GB"}}}}`), "cinegit:observability.loki.resources.limits.memory", "Kubernetes quantity"},
		{"single Alertmanager in staging", "staging", with("cinegit:network", threeAZs, "cinegit:observability", `{"alertmanager":{"replicas":1}}`), "cinegit:observability.alertmanager.replicas", "at least 2"},
		{"unknown receiver", "dev", obs(`{"alertmanager":{"receiver":"pagerduty"}}`), "cinegit:observability.alertmanager.receiver", `"none" or "sns"`},
		{"prod without a receiver", "prod", prodWith("cinegit:observability", `{"alertmanager":{"receiver":"none"}}`), "cinegit:observability.alertmanager.receiver", "must reach on-call"},
		{"receiver credentials in config", "dev", obs(`{"alertmanager":{"slackWebhookUrl":"https://hooks.slack.com/x"}}`), "cinegit:observability.alertmanager.slackWebhookUrl", "unknown field"},
		{"Grafana admin password in config", "dev", obs(`{"grafana":{"adminPassword":"hunter2"}}`), "cinegit:observability.grafana.adminPassword", "unknown field"},
		{"admin secret window Secrets Manager refuses", "dev", obs(`{"grafana":{"adminSecretRecoveryWindowDays":5}}`), "cinegit:observability.grafana.adminSecretRecoveryWindowDays", "7 to 30"},
		{"admin secret deleted at once in prod", "prod", prodWith("cinegit:observability", `{"grafana":{"adminSecretRecoveryWindowDays":0}}`), "cinegit:observability.grafana.adminSecretRecoveryWindowDays", "for stack \"prod\""},
		{"Loki credential window Secrets Manager refuses", "dev", obs(`{"loki":{"credentialRecoveryWindowDays":31}}`), "cinegit:observability.loki.credentialRecoveryWindowDays", "7 to 30"},
		{"deprecated simple scalable Loki", "dev", obs(`{"loki":{"deploymentMode":"SimpleScalable"}}`), "cinegit:observability.loki.deploymentMode", "removed in Loki 4"},
		{"Loki's old name for monolithic", "dev", obs(`{"loki":{"deploymentMode":"SingleBinary"}}`), "cinegit:observability.loki.deploymentMode", "renamed Monolithic"},
		{"two Loki replicas without a quorum", "dev", obs(`{"loki":{"replicas":2}}`), "cinegit:observability.loki.replicas", "1, or 3-10"},
		{"too many Loki replicas", "dev", obs(`{"loki":{"replicas":11}}`), "cinegit:observability.loki.replicas", "1, or 3-10"},
		{"single Loki in prod", "prod", prodWith("cinegit:observability", `{"loki":{"replicas":1}}`), "cinegit:observability.loki.replicas", "3-10 for stack \"prod\""},
		{"single Loki in staging", "staging", with("cinegit:network", threeAZs, "cinegit:observability", `{"loki":{"replicas":1}}`), "cinegit:observability.loki.replicas", "3-10 for stack \"staging\""},
		{"log retention in hours", "dev", obs(`{"loki":{"retention":"36h"}}`), "cinegit:observability.loki.retention", "whole days"},
		{"log retention that does not parse", "dev", obs(`{"loki":{"retention":"a week"}}`), "cinegit:observability.loki.retention", "whole days"},
		{"tiny chunks cache", "dev", obs(`{"loki":{"chunksCacheMemoryMB":64}}`), "cinegit:observability.loki.chunksCacheMemoryMB", "256-65536"},
		{"force-destroyed logs in prod", "prod", prodWith("cinegit:observability", `{"loki":{"forceDestroy":true}}`), "cinegit:observability.loki.forceDestroy", "false for stack"},
		// gitops
		{"controller request above limit", "dev", ops(`{"controllerResources":{"requests":{"cpu":"2"}}}`), "cinegit:gitops.controllerResources.limits.cpu", "at least the request"},
		{"repo server memory not a quantity", "dev", ops(`{"repoServerResources":{"requests":{"memory":"lots"}}}`), "cinegit:gitops.repoServerResources.requests.memory", "Kubernetes quantity"},
		{"Argo CD chart range", "dev", ops(`{"chartVersion":"10.x"}`), "cinegit:gitops.chartVersion", "exact chart version"},
		{"plain http repository", "dev", ops(`{"repoUrl":"http://github.com/cinegit/gitops.git"}`), "cinegit:gitops.repoUrl", "https or ssh"},
		{"repository with a token", "dev", ops(`{"repoUrl":"https://x:ghp_secret@github.com/cinegit/gitops.git"}`), "cinegit:gitops.repoUrl", "without credentials"},
		{"ssh repository with a password", "dev", ops(`{"repoUrl":"ssh://git:pw@github.com/cinegit/gitops.git"}`), "cinegit:gitops.repoUrl", "without credentials"},
		{"repository without a path", "dev", ops(`{"repoUrl":"https://github.com"}`), "cinegit:gitops.repoUrl", "repository URL"},
		{"not a URL", "dev", ops(`{"repoUrl":"cinegit/gitops"}`), "cinegit:gitops.repoUrl", "repository URL"},
		{"revision with spaces", "dev", ops(`{"revision":"my branch"}`), "cinegit:gitops.revision", "branch, tag or commit"},
		{"revision range", "dev", ops(`{"revision":"main..dev"}`), "cinegit:gitops.revision", "no .."},
		{"absolute path", "dev", ops(`{"path":"/clusters/dev"}`), "cinegit:gitops.path", "relative directory"},
		{"path escaping the repository", "dev", ops(`{"path":"clusters/../.."}`), "cinegit:gitops.path", "no .."},
		{"applications in Argo CD's namespace", "dev", ops(`{"applicationNamespace":"argocd"}`), "cinegit:gitops.applicationNamespace", "other than Argo CD's own"},
		{"destination into the secrets operator", "dev", ops(`{"destinationNamespaces":["external-secrets"]}`), "cinegit:gitops.destinationNamespaces[0]", "application namespace"},
		{"duplicate destination", "dev", ops(`{"destinationNamespaces":["cinegit"]}`), "cinegit:gitops.destinationNamespaces[0]", "each namespace once"},
		{"single Argo CD in prod", "prod", prodWith("cinegit:gitops", `{"ha":false}`), "cinegit:gitops.ha", "true for stack"},
		{"SSO over http", "dev", ops(`{"sso":{"url":"http://argocd.dev","issuer":"https://idp","clientId":"argocd","adminGroups":["platform"]}}`), "cinegit:gitops.sso.url", "https URL"},
		{"SSO without a client", "dev", ops(`{"sso":{"url":"https://argocd.dev","issuer":"https://idp","adminGroups":["platform"]}}`), "cinegit:gitops.sso.clientId", "client's id"},
		{"SSO without admins", "dev", ops(`{"sso":{"url":"https://argocd.dev","issuer":"https://idp","clientId":"argocd"}}`), "cinegit:gitops.sso.adminGroups", "at least one group"},
		{"SSO group breaking the RBAC CSV", "dev", ops(`{"sso":{"url":"https://argocd.dev","issuer":"https://idp","clientId":"argocd","adminGroups":["a,b"]}}`), "cinegit:gitops.sso.adminGroups[0]", "without commas"},
		{"client secret in config", "dev", ops(`{"sso":{"clientSecret":"s3cr3t"}}`), "cinegit:gitops.sso.clientSecret", "unknown field"},
		{"secrets operator sharing Argo CD's namespace", "dev", ops(`{"externalSecrets":{"namespace":"argocd"}}`), "cinegit:gitops.externalSecrets.namespace", "namespace of its own"},
		{"secrets operator chart range", "dev", ops(`{"externalSecrets":{"chartVersion":"2.x"}}`), "cinegit:gitops.externalSecrets.chartVersion", "exact chart version"},
		{"gitops secret window Secrets Manager refuses", "dev", ops(`{"secretRecoveryWindowDays":31}`), "cinegit:gitops.secretRecoveryWindowDays", "7 to 30"},
		{"gitops secrets deleted at once in prod", "prod", prodWith("cinegit:gitops", `{"secretRecoveryWindowDays":0}`), "cinegit:gitops.secretRecoveryWindowDays", "for stack \"prod\""},
		{"single secrets operator in prod", "prod", prodWith("cinegit:gitops", `{"externalSecrets":{"replicas":1}}`), "cinegit:gitops.externalSecrets.replicas", "at least 2"},
		{"refresh interval in days", "dev", ops(`{"externalSecrets":{"refreshInterval":"1d"}}`), "cinegit:gitops.externalSecrets.refreshInterval", "1m to 24h"},
		{"refresh every second", "dev", ops(`{"externalSecrets":{"refreshInterval":"1s"}}`), "cinegit:gitops.externalSecrets.refreshInterval", "1m to 24h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.stack, tt.raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"15d": 15 * 24 * time.Hour, "720h": 720 * time.Hour, "1d12h": 36 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1y": 365 * 24 * time.Hour, "90m": 90 * time.Minute, "1h30m15s500ms": time.Hour + 30*time.Minute + 15*time.Second + 500*time.Millisecond,
	} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "15", "d", "1.5d", "1h1d", "-1d", "15 d", "99999999999999999999y"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) accepted a non-duration", s)
		}
	}
}
