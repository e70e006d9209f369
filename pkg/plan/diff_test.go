package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// password is a program with one stateful resource that no policy concerns.
func password(ctx *pulumi.Context) error {
	_, err := random.NewRandomPassword(ctx, "token", &random.RandomPasswordArgs{Length: pulumi.Int(32), Special: pulumi.Bool(false)})
	return err
}

func writeProject(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"Pulumi.yaml":     "name: cinegit\nruntime: go\n",
		"Pulumi.dev.yaml": "config:\n  aws:region: us-east-1\n  aws:allowedAccountIds: [\"111111111111\"]\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func rv(typ, name string, protect bool, inputs map[string]any) apitype.ResourceV3 {
	return apitype.ResourceV3{
		URN: resource.URN("urn:pulumi:dev::cinegit::" + typ + "::" + name), Type: tokens.Type(typ), Custom: true,
		Protect: protect, Inputs: inputs, Provider: "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws::id-1",
	}
}

func TestDiffProviders(t *testing.T) {
	old := rv("aws:sqs/queue:Queue", "q", false, map[string]any{"name": "q"})
	tests := []struct {
		name, provider, action string
	}{
		{"a default provider's new version is not a move", "urn:pulumi:dev::cinegit::pulumi:providers:aws::default_6_84_0::id-2", ""},
		{"another explicit provider replaces", "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws-us-east-1::id-3", "replace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, n := old, old
			o.Provider = "urn:pulumi:dev::cinegit::pulumi:providers:aws::default_6_83_4::id-1"
			if tt.action == "replace" {
				o.Provider = "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws::id-1"
			}
			n.Provider = tt.provider
			d := Diff("dev", "old", &apitype.DeploymentV3{Resources: []apitype.ResourceV3{o}}, &apitype.DeploymentV3{Resources: []apitype.ResourceV3{n}})
			got := ""
			if len(d.Changes) == 1 {
				got = d.Changes[0].Action
			}
			if got != tt.action || len(d.Changes) > 1 {
				t.Errorf("changes %+v, want %q", d.Changes, tt.action)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	old := &apitype.DeploymentV3{Resources: []apitype.ResourceV3{
		rv("aws:ec2/subnet:Subnet", "private-a", false, map[string]any{"cidrBlock": "10.0.0.0/20", "tags": map[string]any{"tier": "private"}}),
		rv("aws:rds/instance:Instance", "database", false, map[string]any{"identifier": "cinegit-dev-postgres", "kmsKeyId": "key-1", "instanceClass": "db.t4g.micro"}),
		rv("aws:s3/bucketV2:BucketV2", "logs", true, map[string]any{"bucket": "cinegit-prod-logs"}),
		rv("aws:ec2/securityGroup:SecurityGroup", "database", false, map[string]any{"description": "PostgreSQL", "ingress": []any{map[string]any{"fromPort": 5432.0}}}),
		rv("aws:elasticache/replicationGroup:ReplicationGroup", "cache", false, map[string]any{"nodeType": "cache.t4g.micro"}),
		rv("aws:iam/role:Role", "old", false, map[string]any{"name": "old"}),
	}}
	cur := &apitype.DeploymentV3{Resources: []apitype.ResourceV3{
		rv("aws:ec2/subnet:Subnet", "private-a", false, map[string]any{"cidrBlock": "10.0.16.0/20", "tags": map[string]any{"tier": "private"}}),
		rv("aws:rds/instance:Instance", "database", false, map[string]any{"identifier": "cinegit-dev-postgres", "kmsKeyId": "key-2", "instanceClass": "db.t4g.small"}),
		rv("aws:ec2/securityGroup:SecurityGroup", "database", false, map[string]any{"description": "PostgreSQL"}),
		rv("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "database-ingress-0", false, map[string]any{"fromPort": 5432.0}),
		rv("aws:elasticache/replicationGroup:ReplicationGroup", "cache", false, map[string]any{"nodeType": "cache.t4g.small"}),
	}}
	d := Diff("dev", "main.json", old, cur)
	want := map[string]Change{
		// A subnet is what everything lives in: its replacement is blocked (foundationTypes).
		"private-a":          {Action: "replace", ReplacedBy: []string{"cidrBlock"}, Blocked: true},
		"database":           {Action: "replace", ReplacedBy: []string{"kmsKeyId"}, Stateful: true, Blocked: true},
		"logs":               {Action: "delete", Stateful: true, Protected: true, Blocked: true},
		"old":                {Action: "delete"},
		"database-ingress-0": {Action: "create"},
		"cache":              {Action: "update", Stateful: true},
	}
	got := map[string]Change{}
	for _, c := range d.Changes {
		key := c.Name
		if c.Type == "aws:ec2/securityGroup:SecurityGroup" {
			key = "sg"
		}
		got[key] = c
	}
	want["sg"] = Change{Action: "update"}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: no change, want %s", name, w.Action)
			continue
		}
		if g.Action != w.Action || !slices.Equal(g.ReplacedBy, w.ReplacedBy) || g.Stateful != w.Stateful || g.Protected != w.Protected || g.Blocked != w.Blocked {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
	if len(d.Changes) != len(want) || d.Blocked != 3 {
		t.Errorf("%d changes, %d blocked: %+v", len(d.Changes), d.Blocked, d.Changes)
	}
	if p := got["sg"].Properties; !slices.Equal(p, []string{"ingress"}) {
		t.Errorf("security group changed properties %v", p)
	}
	var b strings.Builder
	WriteDiff(&b, d)
	for _, s := range []string{"1 to create", "2 to replace", "2 to update", "2 to delete", "replaced because of kmsKeyId", "BLOCKED: protected", "--allow-replace"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, b.String())
		}
	}
}

// TestMainDiffExitCodes runs the command end to end on a small program: a diff against its
// own plan is empty; a password of another length in the old plan is a replacement of a
// stateful resource (a new secret value), exit 1 unless --allow-replace.
func TestMainDiffExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeProject(t, dir)
	oldPath := filepath.Join(dir, "old.json")
	var out, errb bytes.Buffer
	if code := Main(password, []string{"--stack", "dev", "--dir", dir, "--out", oldPath}, &out, &errb); code != ExitClean {
		t.Fatalf("--out: exit %d: %s", code, errb.String())
	}
	run := func(args ...string) (int, string) {
		out.Reset()
		errb.Reset()
		code := Main(password, append([]string{"--stack", "dev", "--dir", dir}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, text := run("--diff", oldPath); code != ExitClean || !strings.Contains(text, "0 to create, 0 to replace, 0 to update, 0 to delete") {
		t.Fatalf("same plan: exit %d\n%s", code, text)
	}

	b, err := os.ReadFile(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(string(b), `"length": 32`, `"length": 24`, 1)
	if renamed == string(b) {
		t.Fatalf("the old plan has no length input to change:\n%s", b)
	}
	if err := os.WriteFile(oldPath, []byte(renamed), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, text := run("--diff", oldPath); code != ExitViolation || !strings.Contains(text, "replaced because of length") {
		t.Errorf("renamed bucket: exit %d, want %d\n%s", code, ExitViolation, text)
	}
	if code, text := run("--diff", oldPath, "--allow-replace"); code != ExitClean {
		t.Errorf("--allow-replace: exit %d\n%s", code, text)
	}
	code, text := run("--diff", oldPath, "--format", "json", "--allow-replace")
	var doc struct {
		Diff DiffReport `json:"diff"`
	}
	if err := json.Unmarshal([]byte(text), &doc); code != ExitClean || err != nil || doc.Diff.Blocked != 1 {
		t.Errorf("json: exit %d, %v, %+v", code, err, doc.Diff)
	}
	if code, _ := run("--allow-replace"); code != ExitUsage {
		t.Errorf("--allow-replace without --diff: exit %d", code)
	}
}

// TestDiffNestedReplaceRules: a replace-forcing attribute inside a block replaces only when it
// changes, whether the block is an object or a list of them; its siblings update in place.
func TestDiffNestedReplaceRules(t *testing.T) {
	const ng = "aws:eks/nodeGroup:NodeGroup"
	lt := func(id, version string) map[string]any { return map[string]any{"id": id, "version": version} }
	tests := []struct {
		name     string
		typ      string
		old, cur map[string]any
		action   string
	}{
		{"launch template version", ng, map[string]any{"launchTemplate": lt("lt-1", "1")}, map[string]any{"launchTemplate": lt("lt-1", "2")}, "update"},
		{"launch template id", ng, map[string]any{"launchTemplate": lt("lt-1", "1")}, map[string]any{"launchTemplate": lt("lt-2", "1")}, "replace"},
		{"in a list: version", ng, map[string]any{"launchTemplate": []any{lt("lt-1", "1")}}, map[string]any{"launchTemplate": []any{lt("lt-1", "2")}}, "update"},
		{"in a list: id", ng, map[string]any{"launchTemplate": []any{lt("lt-1", "1")}}, map[string]any{"launchTemplate": []any{lt("lt-2", "1")}}, "replace"},
		// RDS renames an instance in place (ModifyDBInstance's NewDBInstanceIdentifier).
		{"database identifier", "aws:rds/instance:Instance", map[string]any{"identifier": "a"}, map[string]any{"identifier": "b"}, "update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Diff("dev", "old", &apitype.DeploymentV3{Resources: []apitype.ResourceV3{rv(tt.typ, "r", false, tt.old)}},
				&apitype.DeploymentV3{Resources: []apitype.ResourceV3{rv(tt.typ, "r", false, tt.cur)}})
			if len(d.Changes) != 1 || d.Changes[0].Action != tt.action {
				t.Errorf("changes %+v, want one %s", d.Changes, tt.action)
			}
		})
	}
}
