package cache

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	groupType    = "aws:elasticache/replicationGroup:ReplicationGroup"
	passwordType = "random:index/randomPassword:RandomPassword"
	versionType  = "aws:secretsmanager/secretVersion:SecretVersion"
	secretType   = "aws:secretsmanager/secret:Secret"
)

func devArgs() Args {
	return Args{
		Engine: "redis", EngineVersion: "7.1", NodeType: "cache.t4g.micro", NodeCount: 1,
		SnapshotRetentionDays: 1, SnapshotWindow: "02:00-03:00", MaintenanceWindow: "sun:05:00-sun:06:00",
		LogRetentionDays: 7, MaxmemoryPolicy: "volatile-lru",
	}
}

func prodArgs() Args {
	a := devArgs()
	a.NodeType, a.NodeCount, a.SnapshotRetentionDays, a.AuthSecretRecoveryWindowDays, a.Protect = "cache.r7g.large", 3, 7, 30, true
	return a
}

func runCache(t *testing.T, stack string, args Args, allowed pulumi.StringArray, preview bool) *harness.Result {
	t.Helper()
	program := func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		args.Env = harness.Env(stack, "us-east-1")
		args.VpcID = pulumi.String("vpc-123")
		args.SubnetIDs = pulumi.ToStringArray([]string{"subnet-a", "subnet-b"})
		args.AllowedSecurityGroupIDs = allowed
		c, err := New(ctx, "cache", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		ctx.Export("primaryEndpoint", c.PrimaryEndpoint)
		ctx.Export("readerEndpoint", c.ReaderEndpoint)
		ctx.Export("port", c.Port)
		ctx.Export("authSecretArn", c.AuthSecretArn)
		return nil
	}
	r, err := harness.RunRaw(program, "cinegit", stack, map[string]string{"aws:region": "us-east-1"}, preview)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func nodeSG() pulumi.StringArray { return pulumi.StringArray{pulumi.String("sg-nodes")} }

func only(t *testing.T, r *harness.Result, typ string) *harness.Resource {
	t.Helper()
	rs := r.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

func TestReplicationGroupEncryptsAtRestAndInTransit(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r := runCache(t, "dev", devArgs(), nodeSG(), preview)
			g := only(t, r, groupType)
			for path, want := range map[string]any{
				"engine": "redis", "engineVersion": "7.1", "nodeType": "cache.t4g.micro",
				"atRestEncryptionEnabled": true, "transitEncryptionEnabled": true, "transitEncryptionMode": "required",
				"authTokenUpdateStrategy": "ROTATE", "port": float64(Port), "replicationGroupId": "cinegit-dev-cache",
				"snapshotRetentionLimit": float64(1), "snapshotWindow": "02:00-03:00", "maintenanceWindow": "sun:05:00-sun:06:00",
				"autoMinorVersionUpgrade": true,
			} {
				if got := g.Input(path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			key := only(t, r, "aws:kms/key:Key")
			if !slices.Contains(g.PropertyDependencies["kmsKeyId"], key.URN) {
				t.Error("data at rest must use the cache's KMS key")
			}
			if !slices.Contains(g.PropertyDependencies["authToken"], only(t, r, passwordType).URN) {
				t.Error("the AUTH token must come from the generated password")
			}
			for _, dep := range []string{"aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/parameterGroup:ParameterGroup", "aws:ec2/securityGroup:SecurityGroup"} {
				if !r.DependsOn(g, only(t, r, dep)) {
					t.Errorf("the replication group does not use its %s", dep)
				}
			}
		})
	}
}

func TestFailoverAndMultiAZFollowNodeCount(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a := devArgs()
			a.NodeCount = n
			g := only(t, runCache(t, "dev", a, nodeSG(), false), groupType)
			ha := n >= 2
			if g.Input("numCacheClusters") != float64(n) || g.Input("automaticFailoverEnabled") != ha || g.Input("multiAzEnabled") != ha {
				t.Errorf("nodes %v failover %v multiAz %v", g.Input("numCacheClusters"), g.Input("automaticFailoverEnabled"), g.Input("multiAzEnabled"))
			}
		})
	}
}

func TestAuthTokenFitsElastiCacheRules(t *testing.T) {
	pw := only(t, runCache(t, "dev", devArgs(), nodeSG(), false), passwordType)
	if l := pw.Input("length").(float64); l < 16 || l > 128 {
		t.Errorf("length %v outside 16-128", l)
	}
	for _, ch := range pw.InputString("overrideSpecial") {
		if !strings.ContainsRune("!&#$^<>-", ch) {
			t.Errorf("ElastiCache refuses %q in AUTH tokens", ch)
		}
	}
	if pw.Input("special") != true || pw.InputString("overrideSpecial") == "" {
		t.Error("special characters must be restricted with overrideSpecial")
	}
}

func TestSecretHoldsTheConnectionEncrypted(t *testing.T) {
	r := runCache(t, "dev", devArgs(), nodeSG(), false)
	secret := only(t, r, secretType)
	key := only(t, r, "aws:kms/key:Key")
	if secret.InputString("name") != "cinegit/dev/cache/auth" || !slices.Contains(secret.PropertyDependencies["kmsKeyId"], key.URN) {
		t.Errorf("secret %q must be cinegit/dev/cache/auth and use the cache key", secret.InputString("name"))
	}
	if secret.Input("recoveryWindowInDays") != float64(0) {
		t.Errorf("dev recovery window %v, want 0", secret.Input("recoveryWindowInDays"))
	}
	v := only(t, r, versionType)
	if !harness.HasSecret(v.Inputs["secretString"]) {
		t.Fatal("secretString must be a secret")
	}
	var value map[string]any
	if err := json.Unmarshal([]byte(v.InputString("secretString")), &value); err != nil {
		t.Fatal(err)
	}
	pw := only(t, r, passwordType)
	if value["host"] != "master.cinegit-dev-cache.abcdef.use1.cache.amazonaws.com" || value["port"] != float64(6379) || value["tls"] != true ||
		value["authToken"] != pw.Outputs["result"].SecretValue().Element.StringValue() {
		t.Errorf("secret value %v", value)
	}
	if !r.DependsOn(v, secret) || !r.DependsOn(v, only(t, r, groupType)) {
		t.Error("the version belongs to the secret and is built from the replication group")
	}
	prod := only(t, runCache(t, "prod", prodArgs(), nodeSG(), false), secretType)
	if prod.Input("recoveryWindowInDays") != float64(30) {
		t.Errorf("prod recovery window %v", prod.Input("recoveryWindowInDays"))
	}
}

// TestTokenNeverInPlainText walks every recorded input: wherever the generated token
// appears, it must be inside a secret.
func TestTokenNeverInPlainText(t *testing.T) {
	r := runCache(t, "dev", devArgs(), nodeSG(), false)
	pw := only(t, r, passwordType)
	out := pw.Outputs["result"]
	if !out.IsSecret() {
		t.Fatal("the password's result must be secret")
	}
	token := out.SecretValue().Element.StringValue()
	found := 0
	for _, res := range r.Resources {
		for k, v := range res.Inputs {
			walkPlain(v, false, func(s string, secret bool) {
				if strings.Contains(s, token) {
					found++
					if !secret {
						t.Errorf("%s %s: %s holds the AUTH token in plain text", res.Type, res.Name, k)
					}
				}
			})
		}
	}
	if found < 2 {
		t.Errorf("the token should reach the replication group and the secret version; found %d", found)
	}
}

// walkPlain calls f with every string inside v and whether it sits inside a secret.
func walkPlain(v resource.PropertyValue, secret bool, f func(string, bool)) {
	switch {
	case v.IsSecret():
		walkPlain(v.SecretValue().Element, true, f)
	case v.IsOutput():
		walkPlain(v.OutputValue().Element, secret || v.OutputValue().Secret, f)
	case v.IsString():
		f(v.StringValue(), secret)
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			walkPlain(e, secret, f)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			walkPlain(e, secret, f)
		}
	}
}

func TestLogsGoToEncryptedGroupsWithRetention(t *testing.T) {
	r := runCache(t, "dev", devArgs(), nodeSG(), false)
	g := only(t, r, groupType)
	key := only(t, r, "aws:kms/key:Key")
	cfgs, _ := g.Input("logDeliveryConfigurations").([]any)
	if len(cfgs) != 2 {
		t.Fatalf("want slow-log and engine-log delivery, got %v", cfgs)
	}
	types := map[string]bool{}
	for _, c := range cfgs {
		m := c.(map[string]any)
		types[m["logType"].(string)] = true
		if m["destinationType"] != "cloudwatch-logs" || m["logFormat"] != "json" {
			t.Errorf("delivery %v", m)
		}
		lg := r.Named("aws:cloudwatch/logGroup:LogGroup", "cache-"+m["logType"].(string))
		if lg == nil || lg.InputString("name") != m["destination"] || lg.Input("retentionInDays") != float64(7) || !r.DependsOn(lg, key) {
			t.Errorf("log group for %v must exist with retention and the key", m["logType"])
		}
	}
	if !types["slow-log"] || !types["engine-log"] {
		t.Errorf("log types %v", types)
	}
	pg := only(t, r, "aws:elasticache/parameterGroup:ParameterGroup")
	if pg.InputString("family") != "redis7" || pg.InputString("name") != "cinegit-dev-redis7" {
		t.Errorf("parameter group %q %q", pg.InputString("family"), pg.InputString("name"))
	}
}

func TestSecurityGroupAdmitsOnlyTheAllowedGroups(t *testing.T) {
	const ruleType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	r := runCache(t, "dev", devArgs(), nodeSG(), false)
	sg := only(t, r, "aws:ec2/securityGroup:SecurityGroup")
	if sg.Input("ingress") != nil || sg.Input("egress") != nil {
		t.Errorf("inline rules %v %v: the rules must be standalone resources", sg.Input("ingress"), sg.Input("egress"))
	}
	rule := only(t, r, ruleType)
	if rule.Input("fromPort") != float64(6379) || rule.Input("toPort") != float64(6379) || rule.InputString("ipProtocol") != "tcp" ||
		rule.InputString("referencedSecurityGroupId") != "sg-nodes" || !slices.Contains(rule.PropertyDependencies["securityGroupId"], sg.URN) {
		t.Errorf("rule %v", rule.Inputs)
	}
	if c := rule.Input("cidrIpv4"); c != nil {
		t.Errorf("rule admits CIDR %v", c)
	}
	if g := only(t, r, "aws:elasticache/replicationGroup:ReplicationGroup"); r.DependsOn(g, rule) {
		t.Error("the replication group must not wait for the ingress rule (it waits for the cluster)")
	}
	if rules := runCache(t, "dev", devArgs(), pulumi.StringArray{}, false).ByType(ruleType); len(rules) != 0 {
		t.Errorf("%d ingress rules with nothing allowed", len(rules))
	}
}

func TestProtectAndOutputs(t *testing.T) {
	r := runCache(t, "prod", prodArgs(), nodeSG(), false)
	if !only(t, r, groupType).Protect || !only(t, r, "aws:kms/key:Key").Protect {
		t.Error("prod's replication group and key must be Pulumi-protected")
	}
	if only(t, runCache(t, "dev", devArgs(), nodeSG(), false), groupType).Protect {
		t.Error("dev must not be protected")
	}
	for k, want := range map[string]string{
		"primaryEndpoint": "master.cinegit-prod-cache.abcdef.use1.cache.amazonaws.com",
		"readerEndpoint":  "replica.cinegit-prod-cache.abcdef.use1.cache.amazonaws.com",
		"port":            "6379",
		"authSecretArn":   "arn:aws:secretsmanager:us-east-1:123456789012:secret/cinegit/prod/cache/auth",
	} {
		if e := r.Exports[k]; !e.Known || fmt.Sprint(e.Value) != want || e.Secret {
			t.Errorf("export %s = %+v, want %s (not secret)", k, e, want)
		}
	}
}

func TestEveryResourceIsParentedAndTagged(t *testing.T) {
	r := runCache(t, "staging", devArgs(), nodeSG(), false)
	comp := r.Component("cinegit:cache:Cache")
	for _, res := range r.Resources {
		if !res.Custom || strings.HasPrefix(res.Type, "pulumi:providers:") {
			continue
		}
		if res.Parent != comp.URN || !strings.HasPrefix(res.Name, "cache") {
			t.Errorf("%s %s is not a named child of the component", res.Type, res.Name)
		}
		if !strings.HasPrefix(res.Type, "aws:") {
			continue
		}
		switch res.Type {
		case "aws:kms/alias:Alias", versionType:
			continue // not taggable
		}
		if res.InputString("tags.environment") != "staging" || res.InputString("tags.Name") == "" {
			t.Errorf("%s %s is not tagged", res.Type, res.Name)
		}
	}
}

func TestLogGroupsAreVendedLogGroups(t *testing.T) {
	r := runCache(t, "dev", devArgs(), nodeSG(), false)
	groups := r.ByType("aws:cloudwatch/logGroup:LogGroup")
	if len(groups) != len(LogTypes) {
		t.Fatalf("want %d log groups, got %d", len(LogTypes), len(groups))
	}
	for _, g := range groups {
		if !strings.HasPrefix(g.InputString("name"), "/aws/vendedlogs/cinegit/dev/cache/") {
			t.Errorf("%s: %q is outside /aws/vendedlogs/, so every stack grows the account's delivery policy", g.Name, g.InputString("name"))
		}
	}
}

// TestRestoreFromSnapshot: without a restore the group is created empty under the plain name;
// with one it is created from the snapshot under a name of its own, so that Pulumi can create
// it beside the current group; a restore without a label or a snapshot is refused.
func TestRestoreFromSnapshot(t *testing.T) {
	plain := runCache(t, "prod", prodArgs(), nil, false).ByType(groupType)[0]
	if plain.Input("snapshotName") != nil || plain.InputString("replicationGroupId") != "cinegit-prod-cache" {
		t.Errorf("an empty group: %v %v", plain.Input("snapshotName"), plain.Input("replicationGroupId"))
	}
	a := prodArgs()
	a.Restore = &Restore{Label: "r20261203", SnapshotName: "automatic.cinegit-prod-cache-2026-12-03-02-00"}
	for _, preview := range []bool{false, true} {
		g := runCache(t, "prod", a, nil, preview).ByType(groupType)[0]
		if g.InputString("snapshotName") != "automatic.cinegit-prod-cache-2026-12-03-02-00" || g.InputString("replicationGroupId") != "cinegit-prod-cache-r20261203" {
			t.Errorf("preview %v: restored group %v %v", preview, g.Input("snapshotName"), g.Input("replicationGroupId"))
		}
		// Everything else is the stack's: encryption, AUTH, the same parameter and subnet groups.
		if g.Input("atRestEncryptionEnabled") != true || g.InputString("transitEncryptionMode") != "required" || g.InputString("subnetGroupName") == "" {
			t.Errorf("preview %v: restored group lost settings: %v", preview, g.Inputs)
		}
	}
	for _, r := range []*Restore{{Label: "r1"}, {SnapshotName: "s1"}} {
		a.Restore = r
		if _, err := harness.RunRaw(func(ctx *pulumi.Context) error {
			a.Env, a.VpcID, a.SubnetIDs = harness.Env("prod", "us-east-1"), pulumi.String("vpc-1"), pulumi.ToStringArray([]string{"s-a", "s-b"})
			_, err := New(ctx, "cache", a)
			return err
		}, "cinegit", "prod", map[string]string{"aws:region": "us-east-1"}, false); err == nil || !strings.Contains(err.Error(), "Restore needs a Label and a SnapshotName") {
			t.Errorf("restore %+v: %v", r, err)
		}
	}
}
