package policy

func init() { caseSets = append(caseSets, helmCases) }

const helmRelease = "kubernetes:helm.sh/v3:Release"

// release is a compliant Helm release with changes applied to its props.
func release(name string, change func(map[string]any)) []Resource {
	props := map[string]any{
		"name":           name,
		"chart":          "kube-prometheus-stack",
		"version":        "88.5.3",
		"repositoryOpts": map[string]any{"repo": "https://prometheus-community.github.io/helm-charts"},
		"namespace":      "monitoring",
		"atomic":         true,
		"values": map[string]any{
			"grafana": map[string]any{
				"admin":   map[string]any{"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
				"service": map[string]any{"type": "ClusterIP"},
				"persistence": map[string]any{
					"type": "pvc",
				},
				"serviceAccount": map[string]any{"annotations": map[string]any{"eks.amazonaws.com/role-arn": Unknown}},
			},
			"prometheus": map[string]any{"service": map[string]any{"type": "ClusterIP"}},
		},
	}
	if change != nil {
		change(props)
	}
	return []Resource{res(helmRelease, name, props)}
}

// set puts value at path (keys) inside a release's values.
func set(value any, path ...string) func(map[string]any) {
	return func(props map[string]any) {
		m := props["values"].(map[string]any)
		for _, k := range path[:len(path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[path[len(path)-1]] = value
	}
}

// helmCases cover policy/helm.rego.
func helmCases() []ruleCase {
	version := func(v any) func(map[string]any) { return func(p map[string]any) { p["version"] = v } }
	repo := func(r string) func(map[string]any) {
		return func(p map[string]any) { p["repositoryOpts"] = map[string]any{"repo": r} }
	}
	return []ruleCase{
		// Pinned versions.
		{"release without a version", "deny_helm_release_unpinned", true, release("stack", func(p map[string]any) { delete(p, "version") })},
		{"release on a version range", "deny_helm_release_unpinned", true, release("stack", version("^88.0.0"))},
		{"release on a wildcard", "deny_helm_release_unpinned", true, release("stack", version("88.x"))},
		{"release on latest", "deny_helm_release_unpinned", true, release("stack", version("latest"))},
		{"release on a minor only", "deny_helm_release_unpinned", true, release("stack", version("88.5"))},
		{"release on an exact version", "deny_helm_release_unpinned", false, release("stack", nil)},
		{"release on an exact pre-release", "deny_helm_release_unpinned", false, release("stack", version("2.0.0-rc.1"))},
		{"release version unknown in a preview", "deny_helm_release_unpinned", false, release("stack", version(Unknown))},

		// Repositories.
		{"chart over plain http", "deny_helm_release_insecure_repository", true, release("stack", repo("http://charts.example.com"))},
		{"chart URL over plain http", "deny_helm_release_insecure_repository", true, release("stack", func(p map[string]any) {
			delete(p, "repositoryOpts")
			p["chart"] = "http://charts.example.com/kube-prometheus-stack-88.5.3.tgz"
		})},
		{"chart from an https repository", "deny_helm_release_insecure_repository", false, release("stack", nil)},
		{"chart from an OCI registry", "deny_helm_release_insecure_repository", false, release("stack", repo("oci://ghcr.io/charts"))},

		// Exposed services.
		{"grafana behind a load balancer", "deny_helm_release_exposed_service", true, release("stack", set("LoadBalancer", "grafana", "service", "type"))},
		{"argo cd on a node port", "deny_helm_release_exposed_service", true, release("argo", set("NodePort", "server", "service", "type"))},
		{"service type in a list", "deny_helm_release_exposed_service", true, release("stack", set([]any{map[string]any{"serviceType": "LoadBalancer"}}, "extraServices"))},
		{"cluster IP services only", "deny_helm_release_exposed_service", false, release("stack", nil)},
		{"other keys named type", "deny_helm_release_exposed_service", false, release("stack", set("daemonset", "controller", "type"))},

		// Literal credentials.
		{"grafana admin password in values", "deny_helm_release_literal_credential", true, release("stack", set("hunter2", "grafana", "adminPassword"))},
		{"slack token in values", "deny_helm_release_literal_credential", true, release("stack", set("xoxb-123", "alertmanager", "config", "global", "slack_api_token"))},
		{"S3 keys in loki values", "deny_helm_release_literal_credential", true, release("loki", set("abc/def+ghi", "loki", "storage", "s3", "secretAccessKey"))},
		{"access key id under an innocent key", "deny_helm_release_literal_credential", true, release("loki", set("AKIAIOSFODNN7EXAMPLE", "loki", "storage", "s3", "keyId"))},
		{"credentials inside a list", "deny_helm_release_literal_credential", true, release("argo", set([]any{map[string]any{"url": "https://git", "password": "pat"}}, "configs", "repositories"))},
		{"existing secret references", "deny_helm_release_literal_credential", false, release("stack", nil)},
		{"argo cd secret reference", "deny_helm_release_literal_credential", false, release("argo", set("$argocd-oidc:clientSecret", "configs", "cm", "clientSecret"))},
		{"empty password placeholder", "deny_helm_release_literal_credential", false, release("stack", set("", "grafana", "adminPassword"))},
		{"password unknown in a preview", "deny_helm_release_literal_credential", false, release("stack", set(Unknown, "grafana", "adminPassword"))},
		{"password file path", "deny_helm_release_literal_credential", false, release("stack", set("/etc/secrets/password", "alertmanager", "config", "global", "smtp_auth_password_file"))},
	}
}
