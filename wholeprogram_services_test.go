package main

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
)

// serviceActions are the IAM actions each configured permission grants, written out
// independently of pkg/services so that a change there shows here.
var serviceActions = map[string][]string{
	"readBucket":      {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"},
	"readProxies":     {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"},
	"readThumbnails":  {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"},
	"writeBucket":     {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "kms:Decrypt", "kms:GenerateDataKey"},
	"presignUpload":   {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "kms:Decrypt", "kms:GenerateDataKey"},
	"connectDatabase": {"rds-db:connect"},
	"sendMediaQueue":  {"sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"},
	"readSecret":      nil,
}

type policyDoc struct {
	Statement []struct {
		Sid       string
		Action    []string
		Resource  []string
		Condition map[string]map[string]any
	}
}

// TestServiceIdentities: one IRSA role per configured service, trusted by exactly its service
// account, allowing exactly the actions of its permissions on exactly the named resources; its
// service account annotated with it; ExternalSecrets for exactly the secrets it reads; the
// role ARNs in the outputs and the ConfigMap.
func TestServiceIdentities(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		cfg, err := config.Parse(r.Stack, r.Config)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Services) < 6 {
			t.Fatalf("%d services configured; the seed names six", len(cfg.Services))
		}
		roles := 0
		for _, role := range r.ByType("aws:iam/role:Role") {
			if tags, _ := role.Input("tags").(map[string]any); tags["cinegit:service"] != nil {
				roles++
			}
		}
		if roles != len(cfg.Services) {
			t.Errorf("%d service roles, want %d (one per service)", roles, len(cfg.Services))
		}
		cm := r.Named(k8sConfigMap, "gitops-outputs")
		data, _ := cm.Input("data").(map[string]any)
		for _, s := range cfg.Services {
			t.Run(s.Name, func(t *testing.T) {
				checkService(t, r, s, data)
			})
		}
		if !r.Preview {
			arns := reflect.ValueOf(r.Exports["serviceRoleArns"].Value)
			if arns.Kind() != reflect.Map || arns.Len() != len(cfg.Services) {
				t.Errorf("serviceRoleArns export %#v", r.Exports["serviceRoleArns"].Value)
			}
		}
	})
}

func checkService(t *testing.T, r *harness.Result, s config.ServiceConfig, data map[string]any) {
	name := "services-" + s.Name
	role := r.Named("aws:iam/role:Role", name)
	inline := r.Named("aws:iam/rolePolicy:RolePolicy", name)
	sa := r.Named("kubernetes:core/v1:ServiceAccount", name)
	if role == nil || inline == nil || sa == nil {
		t.Fatal("role, inline policy or service account missing")
	}
	want := map[string]bool{}
	secrets := map[string]bool{}
	for _, p := range s.Permissions {
		for _, a := range serviceActions[p.Action] {
			want[a] = true
		}
		if p.Action == "readSecret" {
			secrets[name+"-"+p.Secret] = true
		}
	}
	got := map[string]bool{}
	for _, es := range r.ByType("kubernetes:external-secrets.io/v1:ExternalSecret") {
		if strings.HasPrefix(es.Name, name+"-") {
			got[es.Name] = true
		}
	}
	if !reflect.DeepEqual(got, secrets) && !(len(got) == 0 && len(secrets) == 0) {
		t.Errorf("ExternalSecrets %v, want %v", keys(got), keys(secrets))
	}
	if r.Preview {
		return
	}
	if ns := sa.InputString("metadata.namespace"); ns != s.Namespace || sa.InputString("metadata.name") != s.ServiceAccount {
		t.Errorf("service account %s/%s, want %s/%s", ns, sa.InputString("metadata.name"), s.Namespace, s.ServiceAccount)
	}
	ann, _ := sa.Input("metadata.annotations").(map[string]any)
	if ann["eks.amazonaws.com/role-arn"] == nil || ann["eks.amazonaws.com/role-arn"] != data["serviceRoleArn."+s.Name] {
		t.Errorf("service account annotation %v, ConfigMap %v", ann, data["serviceRoleArn."+s.Name])
	}
	if !strings.Contains(role.InputString("assumeRolePolicy"), `:sub":"system:serviceaccount:`+s.Namespace+":"+s.ServiceAccount+`"`) {
		t.Errorf("trust %s is not pinned to the service account", role.InputString("assumeRolePolicy"))
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(inline.InputString("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			actions[a] = true
		}
		for _, res := range st.Resource {
			if res == "*" || strings.HasSuffix(res, ":*") {
				t.Errorf("statement %s on %s", st.Sid, res)
			}
			if strings.HasPrefix(st.Action[0], "rds-db:") && !strings.Contains(res, ":dbuser:db-") {
				t.Errorf("rds-db:connect on %s: not one user of the instance", res)
			}
		}
		if strings.HasPrefix(st.Action[0], "kms:") && st.Condition["StringEquals"]["kms:ViaService"] == nil {
			t.Errorf("statement %s uses KMS outside S3 or SQS", st.Sid)
		}
	}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("actions %v, want exactly %v", keys(actions), keys(want))
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestNoMasterSecretInTheApplicationNamespace: services log in with IAM database
// authentication, so the RDS master secret is synced nowhere and the operator cannot read it.
func TestNoMasterSecretInTheApplicationNamespace(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		db := one(t, r, "aws:rds/instance:Instance")
		for _, es := range r.ByType("kubernetes:external-secrets.io/v1:ExternalSecret") {
			if es.Name == "secrets-database" || r.DependsOn(es, db) {
				t.Errorf("ExternalSecret %s syncs the database's master secret", es.Name)
			}
		}
		if op := r.Named("aws:iam/rolePolicy:RolePolicy", "secrets-operator"); r.DependsOn(op, db) {
			t.Error("the secrets operator may read the database's master secret")
		}
		data, _ := r.Named(k8sConfigMap, "gitops-outputs").Input("data").(map[string]any)
		if _, ok := data["databaseSecret"]; ok {
			t.Error("the ConfigMap still names a database Secret")
		}
	})
}
