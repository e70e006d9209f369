package observability

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Loki requires authentication: multi-tenant Loki behind a gateway that demands basic auth
// against an htpasswd file synced from Secrets Manager and sets the tenant itself; Grafana's
// data source and Alloy's loki.write sign in with the generated credential, which reaches them
// only as Secrets written by External Secrets, each consumer getting only its part.
func TestLokiRequiresAuthentication(t *testing.T) {
	eachRun(t, nil, func(t *testing.T, r *harness.Result, preview bool) {
		loki := values(t, r, "observability-loki")
		for path, want := range map[string]any{
			"loki/auth_enabled":                   true,
			"gateway/enabled":                     true,
			"gateway/basicAuth/enabled":           true,
			"gateway/basicAuth/existingSecret":    LokiGatewaySecret,
			"gateway/nginxConfig/locationSnippet": "proxy_set_header X-Scope-OrgID " + LokiTenant + ";",
			"gateway/basicAuth/username":          nil,
			"gateway/basicAuth/password":          nil,
			"loki/tenants":                        nil,
		} {
			if got := harness.At(loki, path); got != want {
				t.Errorf("loki values %s = %v, want %v", path, got, want)
			}
		}

		secret := r.Named("aws:secretsmanager/secret:Secret", "observability-loki-client")
		if secret == nil || secret.InputString("name") != "cinegit/dev/loki/client" || secret.InputString("kmsKeyId") != platKey || secret.Input("recoveryWindowInDays") != 0.0 {
			t.Fatalf("Loki's credential secret: %v", secret)
		}
		for _, tc := range []struct {
			name, secret, namespace string
			data                    map[string]string // Secret key -> property
			reader                  string
		}{
			{"observability-loki-gateway", LokiGatewaySecret, "monitoring", map[string]string{".htpasswd": "htpasswd"}, "observability-loki"},
			{"observability-loki-grafana", LokiClientSecret, "monitoring", map[string]string{"username": "username", "password": "password"}, "observability-stack"},
			{"observability-loki-alloy", LokiClientSecret, "monitoring-host", map[string]string{"username": "username", "password": "password"}, "observability-alloy"},
		} {
			es := r.Named(tExtSecret, tc.name)
			if es == nil {
				t.Errorf("ExternalSecret %s missing", tc.name)
				continue
			}
			if es.InputString("spec.target.name") != tc.secret || es.InputString("spec.secretStoreRef.name") != storeName || es.Input("spec.dataFrom") != nil {
				t.Errorf("%s: %v", tc.name, es.Input("spec"))
			}
			if !preview && es.InputString("metadata.namespace") != tc.namespace {
				t.Errorf("%s in %q, want %q", tc.name, es.InputString("metadata.namespace"), tc.namespace)
			}
			got := map[string]string{}
			for _, d := range asList(es.Input("spec.data")) {
				got[fmt.Sprint(harness.Lookup(d, "secretKey"))] = fmt.Sprint(harness.Lookup(d, "remoteRef", "property"))
			}
			if !reflect.DeepEqual(got, tc.data) {
				t.Errorf("%s writes %v, want only %v", tc.name, got, tc.data)
			}
			if !r.DependsOn(es, secret) || !r.DependsOn(r.Named(tRelease, tc.reader), es) {
				t.Errorf("%s reads the secret, and %s waits for it", tc.name, tc.reader)
			}
		}

		stack := values(t, r, "observability-stack")
		var ds map[string]any
		for _, d := range asList(harness.At(stack, "grafana/additionalDataSources")) {
			if harness.Lookup(d, "uid") == LokiUID {
				ds, _ = d.(map[string]any)
			}
		}
		if ds == nil || ds["basicAuth"] != true || ds["basicAuthUser"] != LokiClientUser ||
			!reflect.DeepEqual(ds["secureJsonData"], map[string]any{"basicAuthPassword": "${" + LokiPasswordEnv + "}"}) {
			t.Errorf("Grafana's Loki data source does not sign in: %v", ds)
		}
		if got := harness.At(stack, "grafana/envValueFrom/"+LokiPasswordEnv+"/secretKeyRef"); !reflect.DeepEqual(got, map[string]any{"name": LokiClientSecret, "key": "password"}) {
			t.Errorf("Grafana's %s comes from %v", LokiPasswordEnv, got)
		}

		alloy := values(t, r, "observability-alloy")
		config, _ := harness.At(alloy, "alloy/configMap/content").(string)
		if !preview && !strings.Contains(config, "basic_auth {\n      username = \""+LokiClientUser+"\"\n      password = sys.env(\""+LokiPasswordEnv+"\")\n    }") {
			t.Errorf("Alloy's loki.write does not sign in:\n%s", config)
		}
		want := []any{map[string]any{"name": LokiPasswordEnv, "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": LokiClientSecret, "key": "password"}}}}
		if got := harness.At(alloy, "alloy/extraEnv"); !reflect.DeepEqual(got, want) {
			t.Errorf("Alloy's environment %v, want %v", got, want)
		}

		if preview {
			return
		}
		// The password and its hash are in the secret version, a Pulumi secret, and in no other
		// resource's inputs (Kubernetes objects and Helm values included).
		version := r.Named("aws:secretsmanager/secretVersion:SecretVersion", "observability-loki-client")
		if version == nil || !version.Inputs["secretString"].ContainsSecrets() {
			t.Fatal("the credential must be a Pulumi secret in state")
		}
		var value map[string]string
		if err := json.Unmarshal([]byte(fmt.Sprint(harness.Plain(version.Inputs["secretString"]))), &value); err != nil {
			t.Fatal(err)
		}
		if value["username"] != LokiClientUser || !strings.HasPrefix(value["password"], "MockSecret0-observability-loki-client") ||
			value["htpasswd"] != LokiClientUser+":$2a$10$MockSecret0Hash-observability-loki-client" {
			t.Errorf("secret value %v", value)
		}
		for _, res := range r.Resources {
			if res == version {
				continue
			}
			b, _ := json.Marshal(harness.Plain(resource.NewProperty(res.Inputs)))
			if strings.Contains(string(b), "MockSecret0-observability-loki") || strings.Contains(string(b), "MockSecret0Hash-observability-loki") {
				t.Errorf("%s %s holds Loki's credential", res.Type, res.Name)
			}
		}
	})
}

func asList(v any) []any { l, _ := v.([]any); return l }
