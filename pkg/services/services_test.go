package services

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/services/grant"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

const (
	region  = "eu-west-1"
	issuer  = "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
	mediaB  = "arn:aws:s3:::cinegit-dev-media"
	proxyB  = "arn:aws:s3:::cinegit-dev-proxies"
	thumbB  = "arn:aws:s3:::cinegit-dev-thumbnails"
	mediaK  = "arn:aws:kms:eu-west-1:123456789012:key/media"
	queue   = "arn:aws:sqs:eu-west-1:123456789012:cinegit-dev-media-ingest"
	queueK  = "arn:aws:kms:eu-west-1:123456789012:key/pipeline"
	redisSM = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cinegit/dev/cache/auth-AbCdEf"
)

func testArgs(svcs ...Service) Args {
	bucket := func(arn string) Bucket { return Bucket{Arn: pulumi.String(arn), KmsKeyArn: pulumi.String(mediaK)} }
	return Args{
		Env: stackenv.Env{Naming: naming.New("cinegit", "dev"), Tags: tags.Set(tags.Base("cinegit", "dev", nil)),
			AccountID: harness.AccountID, Partition: harness.Partition, Region: region},
		OidcProviderArn:          pulumi.String("arn:aws:iam::123456789012:oidc-provider/" + issuer),
		OidcIssuer:               pulumi.String(issuer),
		Services:                 svcs,
		ApplicationNamespace:     pulumi.String("cinegit"),
		ApplicationNamespaceName: "cinegit",
		Store:                    pulumi.String("aws-secrets-manager"),
		RefreshInterval:          "15m",
		Secrets:                  map[string]pulumi.StringInput{"redis": pulumi.String(redisSM)},
		Buckets:                  map[string]Bucket{grant.MediaBucket: bucket(mediaB), grant.ProxiesBucket: bucket(proxyB), grant.ThumbnailsBucket: bucket(thumbB)},
		UploadsPrefix:            "originals/",
		DatabaseResourceID:       pulumi.String("db-ABCDEFGHIJKL"),
		QueueArn:                 pulumi.String(queue),
		QueueKmsKeyArn:           pulumi.String(queueK),
	}
}

func svc(name string, perms ...Permission) Service {
	return Service{Name: name, Namespace: "cinegit", ServiceAccount: name, Permissions: perms}
}

func TestArgsAreChecked(t *testing.T) {
	db := Permission{Action: grant.ConnectDatabase, DBUser: "project"}
	tests := []struct {
		name, want string
		svcs       []Service
	}{
		{"unknown action", "unknown action", []Service{svc("project", Permission{Action: "s3:*"})}},
		{"bucket not given", "bucket", []Service{svc("project", Permission{Action: grant.ReadBucket, Bucket: "logs"})}},
		{"wildcard db user", "PostgreSQL identifier", []Service{svc("project", Permission{Action: grant.ConnectDatabase, DBUser: "*"})}},
		{"unknown secret", "not a known secret", []Service{svc("project", db, Permission{Action: grant.ReadSecret, Secret: "database"})}},
		{"target on a targetless action", "takes no target", []Service{svc("media", Permission{Action: grant.PresignUpload, Bucket: "media"})}},
		{"two services, one db user", "already", []Service{svc("project", db), svc("review", db)}},
		{"same service twice", "twice", []Service{svc("project", db), svc("project", Permission{Action: grant.ReadProxies})}},
		{"same permission twice", "twice", []Service{svc("project", db, db)}},
		{"only secrets", "at least one AWS permission", []Service{svc("project", Permission{Action: grant.ReadSecret, Secret: "redis"})}},
		{"bad name", "DNS label", []Service{svc("Project", db)}},
	}
	ok := testArgs(svc("project", db))
	ok.KubernetesProvider = &kubernetes.Provider{}
	if err := ok.check(); err != nil {
		t.Fatalf("valid args rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testArgs(tt.svcs...)
			a.KubernetesProvider = &kubernetes.Provider{}
			if err := a.check(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

type document struct {
	Statement []struct {
		Sid       string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

// TestExactlyTheConfiguredPermissions registers two services and reads back what each role
// may do, on what, and what is synced for it.
func TestExactlyTheConfiguredPermissions(t *testing.T) {
	args := testArgs(
		svc("project", Permission{Action: grant.ConnectDatabase, DBUser: "project"}, Permission{Action: grant.ReadSecret, Secret: "redis"}),
		svc("media", Permission{Action: grant.PresignUpload}, Permission{Action: grant.SendMediaQueue}),
	)
	for _, preview := range []bool{false, true} {
		r, err := harness.RunComponent(region, preview, func(ctx *pulumi.Context, p harness.Providers) error {
			a := args
			a.KubernetesProvider = p.Kubernetes
			_, err := New(ctx, "services", a, pulumi.Provider(p.AWS))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(r.ByType("aws:iam/role:Role")); n != 2 {
			t.Fatalf("%d roles, want 2", n)
		}
		var secrets []string
		for _, es := range r.ByType("kubernetes:external-secrets.io/v1:ExternalSecret") {
			secrets = append(secrets, es.Name)
		}
		if strings.Join(secrets, ",") != "services-project-redis" {
			t.Errorf("ExternalSecrets %v, want only project's redis", secrets)
		}
		if preview {
			continue
		}
		want := map[string]map[string]string{
			"project": {"rds-db:connect": "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABCDEFGHIJKL/project"},
			"media": {
				"s3:PutObject": mediaB + "/originals/*", "s3:AbortMultipartUpload": mediaB + "/originals/*",
				"s3:ListMultipartUploadParts": mediaB + "/originals/*", "sqs:SendMessage": queue,
				"kms:GenerateDataKey": mediaK + " " + queueK, "kms:Decrypt": mediaK + " " + queueK,
			},
		}
		for name, actions := range want {
			var doc document
			if err := json.Unmarshal([]byte(r.Named("aws:iam/rolePolicy:RolePolicy", "services-"+name).InputString("policy")), &doc); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, st := range doc.Statement {
				for _, a := range st.Action {
					got[a] = append(got[a], st.Resource...)
				}
				if strings.HasPrefix(st.Action[0], "kms:") && len(st.Condition["StringEquals"]["kms:ViaService"]) != 1 {
					t.Errorf("%s: %s without kms:ViaService", name, st.Sid)
				}
			}
			if len(got) != len(actions) {
				t.Errorf("%s: actions %v, want %v", name, got, actions)
			}
			for a, res := range actions {
				sort.Strings(got[a])
				if strings.Join(got[a], " ") != res {
					t.Errorf("%s: %s on %v, want %s", name, a, got[a], res)
				}
			}
			trust := r.Named("aws:iam/role:Role", "services-"+name).InputString("assumeRolePolicy")
			if !strings.Contains(trust, `:sub":"system:serviceaccount:cinegit:`+name+`"`) {
				t.Errorf("%s: trust %s", name, trust)
			}
			sa := r.Named("kubernetes:core/v1:ServiceAccount", "services-"+name)
			if ann, _ := sa.Input("metadata.annotations").(map[string]any); !strings.Contains(ann["eks.amazonaws.com/role-arn"].(string), "cinegit-dev-irsa-cinegit-"+name) {
				t.Errorf("%s: service account annotations %v", name, ann)
			}
		}
	}
}
