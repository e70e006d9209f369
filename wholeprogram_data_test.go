package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// dataWant is what each stack file promises about its data stores.
var dataWant = map[string]struct {
	instanceClass                   string
	multiAZ, deletionProtection     bool
	backupDays, minBackupDays       float64
	finalSnapshot, protect          bool
	nodeType                        string
	nodes                           float64
	snapshotDays, secretRecoveryWin float64
}{
	"dev":     {"db.t4g.micro", false, false, 4, 1, false, false, "cache.t4g.micro", 1, 1, 0},
	"staging": {"db.t4g.medium", true, true, 7, 1, true, false, "cache.t4g.small", 2, 3, 0},
	"prod":    {"db.r7g.large", true, true, 30, 14, true, true, "cache.r7g.large", 3, 7, 30},
}

func one(t *testing.T, r *harness.Result, typ string) *harness.Resource {
	t.Helper()
	rs := r.ByType(typ)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", typ, len(rs))
	}
	return rs[0]
}

// tierSubnets returns the URNs of the network's subnets of a tier ("database", "private").
func tierSubnets(r *harness.Result, tier string) []string {
	var out []string
	for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
		if strings.HasPrefix(s.Name, "network-"+tier+"-") {
			out = append(out, s.URN)
		}
	}
	return out
}

func TestDatabasePerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := dataWant[r.Stack]
		comp := r.Component("cinegit:database:Database")
		db := one(t, r, "aws:rds/instance:Instance")
		if comp == nil || db.Parent != comp.URN {
			t.Fatal("the instance must belong to the database component")
		}
		for path, want := range map[string]any{
			"instanceClass": w.instanceClass, "multiAz": w.multiAZ, "deletionProtection": w.deletionProtection,
			"backupRetentionPeriod": w.backupDays, "skipFinalSnapshot": !w.finalSnapshot,
			"storageEncrypted": true, "storageType": "gp3", "publiclyAccessible": false,
			// prod's changes wait for the maintenance window, and its majors for an explicit setting.
			"applyImmediately": r.Stack != "prod", "allowMajorVersionUpgrade": r.Stack != "prod",
			"manageMasterUserPassword": true, "iamDatabaseAuthenticationEnabled": true,
			"copyTagsToSnapshot": true, "performanceInsightsEnabled": true, "engine": "postgres",
		} {
			if got := db.Input(path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if w.backupDays < w.minBackupDays || w.backupDays > 35 {
			t.Errorf("backup retention %v outside %v-35", w.backupDays, w.minBackupDays)
		}
		if got := db.InputString("finalSnapshotIdentifier"); w.finalSnapshot != (got != "") {
			t.Errorf("finalSnapshotIdentifier %q with finalSnapshot=%v", got, w.finalSnapshot)
		}
		if db.Input("backupWindow") == db.Input("maintenanceWindow") || db.InputString("backupWindow") == "" {
			t.Error("backup and maintenance windows must both be set")
		}
		key := r.Named("aws:kms/key:Key", "database")
		if key == nil || db.Protect != w.protect || key.Protect != w.protect {
			t.Errorf("instance and key protect must be %v", w.protect)
		}
		if !r.DependsOn(db, key) {
			t.Error("the instance must be encrypted with the database key")
		}

		// The subnet group spans every database subnet, and only those.
		sn := one(t, r, "aws:rds/subnetGroup:SubnetGroup")
		want := tierSubnets(r, "database")
		got := sn.PropertyDependencies["subnetIds"]
		slices.Sort(want)
		slices.Sort(got)
		if len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("subnet group subnets %v, want the database subnets %v", got, want)
		}
		if !r.DependsOn(db, sn) {
			t.Error("the instance must use the subnet group")
		}
		for _, g := range r.ByType("aws:cloudwatch/logGroup:LogGroup") {
			if strings.HasPrefix(g.InputString("name"), "/aws/rds/instance/") && !slices.Contains(db.Dependencies, g.URN) {
				t.Errorf("%s must exist before the instance", g.InputString("name"))
			}
		}
		sg := r.Named("aws:ec2/securityGroup:SecurityGroup", "database")
		if sg == nil || !r.DependsOn(sg, r.Named("aws:ec2/vpc:Vpc", "network")) {
			t.Fatal("the database security group must be in the VPC")
		}
		assertOnlyGroupSources(t, r, sg, 5432)
	})
}

func TestCachePerStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := dataWant[r.Stack]
		comp := r.Component("cinegit:cache:Cache")
		g := one(t, r, "aws:elasticache/replicationGroup:ReplicationGroup")
		if comp == nil || g.Parent != comp.URN {
			t.Fatal("the replication group must belong to the cache component")
		}
		ha := w.nodes >= 2
		for path, want := range map[string]any{
			"engine": "valkey", "nodeType": w.nodeType, "numCacheClusters": w.nodes,
			"applyImmediately":         r.Stack != "prod",
			"automaticFailoverEnabled": ha, "multiAzEnabled": ha,
			"atRestEncryptionEnabled": true, "transitEncryptionEnabled": true, "transitEncryptionMode": "required",
			"snapshotRetentionLimit": w.snapshotDays,
		} {
			if got := g.Input(path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if r.Stack != "dev" && !ha {
			t.Error("staging and prod need multi-AZ Redis")
		}
		key := r.Named("aws:kms/key:Key", "cache")
		if key == nil || g.Protect != w.protect || key.Protect != w.protect || !r.DependsOn(g, key) {
			t.Errorf("replication group and key: protect must be %v, encryption with the cache key", w.protect)
		}
		if g.InputString("engineVersion") != "8.2" {
			t.Errorf("engine version %q is not Valkey 8.2", g.InputString("engineVersion"))
		}
		// The parameter group is Valkey 8's, named after its family, so a major upgrade (or
		// the move from Redis OSS) creates the new group before the old one goes.
		if pg := one(t, r, "aws:elasticache/parameterGroup:ParameterGroup"); pg.InputString("family") != "valkey8" ||
			!strings.HasSuffix(pg.InputString("name"), "-valkey8") || !r.DependsOn(g, pg) {
			t.Errorf("parameter group %s (family %s)", pg.InputString("name"), pg.InputString("family"))
		}

		sn := one(t, r, "aws:elasticache/subnetGroup:SubnetGroup")
		want := tierSubnets(r, "private")
		got := sn.PropertyDependencies["subnetIds"]
		slices.Sort(want)
		slices.Sort(got)
		if len(want) < 2 || !slices.Equal(got, want) {
			t.Errorf("cache subnets %v, want the private subnets %v", got, want)
		}
		secret := r.Named("aws:secretsmanager/secret:Secret", "cache-auth")
		if secret == nil {
			t.Fatal("no AUTH secret")
		}
		if secret.InputString("name") != "cinegit/"+r.Stack+"/cache/auth" || secret.Input("recoveryWindowInDays") != w.secretRecoveryWin {
			t.Errorf("secret %q recovery %v", secret.InputString("name"), secret.Input("recoveryWindowInDays"))
		}
		assertOnlyGroupSources(t, r, r.Named("aws:ec2/securityGroup:SecurityGroup", "cache"), 6379)
	})
}

// assertOnlyGroupSources checks a data store's security group: no inline rules, one standalone
// ingress rule per source on its port, from security groups only, the cluster's nodes among
// them; no egress.
func assertOnlyGroupSources(t *testing.T, r *harness.Result, sg *harness.Resource, port float64) {
	t.Helper()
	if sg == nil {
		t.Fatal("no security group")
	}
	if sg.Input("ingress") != nil || sg.Input("egress") != nil {
		t.Errorf("%s: inline rules (ingress %v, egress %v)", sg.Name, sg.Input("ingress"), sg.Input("egress"))
	}
	var rules []*harness.Resource
	for _, rule := range r.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if slices.Contains(rule.PropertyDependencies["securityGroupId"], sg.URN) {
			rules = append(rules, rule)
		}
	}
	if len(rules) != 1 {
		t.Fatalf("%s: want one ingress rule, got %d", sg.Name, len(rules))
	}
	for _, eks := range r.ByType("eks:index:Cluster") {
		if !slices.Contains(rules[0].PropertyDependencies["referencedSecurityGroupId"], eks.URN) {
			t.Errorf("%s does not admit the cluster's node security group", sg.Name)
		}
		// The group (and so the data store) must not wait for the cluster.
		if r.DependsOn(sg, eks) {
			t.Errorf("%s waits for the cluster", sg.Name)
		}
	}
	for _, rule := range rules {
		if rule.Input("fromPort") != port || rule.Input("toPort") != port || rule.InputString("ipProtocol") != "tcp" {
			t.Errorf("%s: rule %v opens more than tcp/%v", sg.Name, rule.Inputs, port)
		}
		for _, k := range []string{"cidrIpv4", "cidrIpv6", "prefixListId"} {
			if v := rule.Input(k); v != nil {
				t.Errorf("%s admits %s %v", sg.Name, k, v)
			}
		}
	}
}

func TestDataExports(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, name := range []string{
			"databaseEndpoint", "databasePort", "databaseName", "databaseMasterSecretArn", "databaseSecurityGroupId",
			"cachePrimaryEndpoint", "cacheReaderEndpoint", "cachePort", "cacheAuthSecretArn", "cacheSecurityGroupId",
		} {
			e, ok := r.Exports[name]
			if !ok {
				t.Errorf("export %s missing", name)
				continue
			}
			if e.Secret {
				t.Errorf("export %s is a secret: it should be an address, not a credential", name)
			}
			if !r.Preview && (!e.Known || e.Value == "" || e.Value == nil) {
				t.Errorf("export %s = %+v", name, e)
			}
		}
	})
}

// TestNoPasswordOrTokenInPlainText walks every recorded input of every resource: the
// generated AUTH token may appear only inside secrets, the secret version's value must be
// secret, and nothing is given a database password.
func TestNoPasswordOrTokenInPlainText(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		var tokens []string
		for _, pw := range r.ByType("random:index/randomPassword:RandomPassword") {
			out, ok := pw.Outputs["result"]
			if !ok {
				continue
			}
			if !out.IsSecret() {
				t.Fatalf("%s: result is not secret", pw.Name)
			}
			tokens = append(tokens, out.SecretValue().Element.StringValue())
		}
		if len(tokens) == 0 {
			t.Fatal("no generated token found")
		}
		seen := 0
		for _, res := range r.Resources {
			for k, v := range res.Inputs {
				visitStrings(v, false, func(s string, secret bool) {
					for _, tok := range tokens {
						if strings.Contains(s, tok) {
							seen++
							if !secret {
								t.Errorf("%s %s: input %s holds a generated token in plain text", res.Type, res.Name, k)
							}
						}
					}
				})
				if sensitiveKey(string(k)) && !v.IsNull() && !harness.HasSecret(v) && !v.IsComputed() && !(v.IsOutput() && !v.OutputValue().Known) {
					t.Errorf("%s %s: %s is not a secret", res.Type, res.Name, k)
				}
			}
		}
		if !r.Preview && seen < 2 {
			t.Errorf("the token should reach the replication group and the secret version (seen %d times)", seen)
		}
		db := one(t, r, "aws:rds/instance:Instance")
		for _, k := range []string{"password", "passwordWo"} {
			if _, ok := db.Inputs[resource.PropertyKey(k)]; ok {
				t.Errorf("the instance is given %s; RDS must manage the master password", k)
			}
		}
		if v := r.Named("aws:secretsmanager/secretVersion:SecretVersion", "cache-auth"); v == nil || !r.Preview && !harness.HasSecret(v.Inputs["secretString"]) {
			t.Error("the AUTH secret's value must be a Pulumi secret")
		}
	})
}

// sensitiveKey names inputs that carry credentials wherever they appear.
func sensitiveKey(k string) bool {
	switch k {
	case "password", "authToken", "secretString", "masterPassword":
		return true
	}
	return false
}

// visitStrings calls f with every string inside v and whether it sits inside a secret.
func visitStrings(v resource.PropertyValue, secret bool, f func(string, bool)) {
	switch {
	case v.IsSecret():
		visitStrings(v.SecretValue().Element, true, f)
	case v.IsOutput():
		visitStrings(v.OutputValue().Element, secret || v.OutputValue().Secret, f)
	case v.IsString():
		f(v.StringValue(), secret)
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			visitStrings(e, secret, f)
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			visitStrings(e, secret, f)
		}
	}
}
