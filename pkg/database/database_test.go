package database

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	instanceType    = "aws:rds/instance:Instance"
	logGroupType    = "aws:cloudwatch/logGroup:LogGroup"
	sgType          = "aws:ec2/securityGroup:SecurityGroup"
	ingressRuleType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
)

// devArgs are a dev stack's settings; tests change what they examine.
func devArgs() Args {
	return Args{
		EngineVersion: "16", InstanceClass: "db.t4g.micro",
		AllocatedStorage: 20, MaxAllocatedStorage: 100,
		DBName: "cinegit", MasterUsername: "cinegit_admin",
		BackupRetentionDays: 1, BackupWindow: "03:00-04:00", MaintenanceWindow: "sun:05:00-sun:06:00",
		SlowStatementMs: 500, LogRetentionDays: 7, PerformanceInsightsRetentionDays: 7, MonitoringIntervalSeconds: 60,
	}
}

func prodArgs() Args {
	a := devArgs()
	a.EngineVersion, a.InstanceClass = "17", "db.r7g.large"
	a.MultiAZ, a.DeletionProtection, a.FinalSnapshot, a.Protect = true, true, true, true
	a.BackupRetentionDays = 30
	return a
}

// runDatabase builds the component alone in a small program, as main.go would.
func runDatabase(t *testing.T, stack string, args Args, allowed pulumi.StringArray, preview bool) *harness.Result {
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
		db, err := New(ctx, "database", args, pulumi.Provider(p))
		if err != nil {
			return err
		}
		ctx.Export("endpoint", db.Endpoint)
		ctx.Export("masterSecretArn", db.MasterSecretArn)
		ctx.Export("port", db.Port)
		ctx.Export("dbName", db.DBName)
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

func TestInstanceIsEncryptedPrivateAndPasswordless(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r := runDatabase(t, "dev", devArgs(), nodeSG(), preview)
			db := only(t, r, instanceType)
			key := only(t, r, "aws:kms/key:Key")
			for path, want := range map[string]any{
				"engine": "postgres", "engineVersion": "16", "storageType": "gp3", "storageEncrypted": true,
				"manageMasterUserPassword": true, "iamDatabaseAuthenticationEnabled": true,
				"publiclyAccessible": false, "port": float64(Port), "caCertIdentifier": CACertIdentifier,
				"autoMinorVersionUpgrade": true, "performanceInsightsEnabled": true,
				"identifier": "cinegit-dev-postgres", "username": "cinegit_admin", "dbName": "cinegit",
				"allocatedStorage": float64(20), "maxAllocatedStorage": float64(100),
			} {
				if got := db.Input(path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if db.Input("password") != nil {
				t.Error("the instance must not be given a password: RDS manages it")
			}
			for _, prop := range []string{"kmsKeyId", "masterUserSecretKmsKeyId", "performanceInsightsKmsKeyId"} {
				if !slices.Contains(db.PropertyDependencies[prop], key.URN) {
					t.Errorf("%s does not come from the database's KMS key", prop)
				}
			}
			if got := db.Input("enabledCloudwatchLogsExports"); fmt.Sprint(got) != "[postgresql upgrade]" {
				t.Errorf("log exports %v", got)
			}
			if key.Input("enableKeyRotation") != true {
				t.Error("the key must rotate")
			}
		})
	}
}

func TestLogGroupsExistBeforeTheInstanceWithRetentionAndKey(t *testing.T) {
	for _, preview := range []bool{false, true} {
		t.Run(fmt.Sprintf("preview=%v", preview), func(t *testing.T) {
			r := runDatabase(t, "dev", devArgs(), nodeSG(), preview)
			db := only(t, r, instanceType)
			key := only(t, r, "aws:kms/key:Key")
			groups := r.ByType(logGroupType)
			if len(groups) != 2 {
				t.Fatalf("want 2 log groups, got %d", len(groups))
			}
			for _, g := range groups {
				name := g.InputString("name")
				if !strings.HasPrefix(name, "/aws/rds/instance/cinegit-dev-postgres/") {
					t.Errorf("log group %q is not where RDS writes", name)
				}
				if g.Input("retentionInDays") != float64(7) || !r.DependsOn(g, key) {
					t.Errorf("%s: retention %v, must use the KMS key", name, g.Input("retentionInDays"))
				}
				if !slices.Contains(db.Dependencies, g.URN) {
					t.Errorf("the instance must be created after %s", name)
				}
			}
			attach := only(t, r, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
			if !strings.HasSuffix(attach.InputString("policyArn"), "service-role/AmazonRDSEnhancedMonitoringRole") || !slices.Contains(db.Dependencies, attach.URN) {
				t.Error("the monitoring role must carry AmazonRDSEnhancedMonitoringRole before the instance exists")
			}
			role := only(t, r, "aws:iam/role:Role")
			if !slices.Contains(db.PropertyDependencies["monitoringRoleArn"], role.URN) || db.Input("monitoringInterval") != float64(60) {
				t.Error("enhanced monitoring must use the monitoring role")
			}
			if !strings.Contains(role.InputString("assumeRolePolicy"), "monitoring.rds.amazonaws.com") && !preview {
				t.Error("the monitoring role must trust monitoring.rds.amazonaws.com")
			}
		})
	}
}

func TestParameterGroupForcesTLSAndLogsDDLAndSlowStatements(t *testing.T) {
	for _, v := range []struct{ version, family string }{{"16", "postgres16"}, {"17.2", "postgres17"}} {
		t.Run(v.version, func(t *testing.T) {
			a := devArgs()
			a.EngineVersion = v.version
			r := runDatabase(t, "dev", a, nodeSG(), false)
			pg := only(t, r, "aws:rds/parameterGroup:ParameterGroup")
			if pg.InputString("family") != v.family || pg.InputString("name") != "cinegit-dev-"+v.family {
				t.Errorf("family %q name %q", pg.InputString("family"), pg.InputString("name"))
			}
			params := map[string]string{}
			for _, p := range pg.Input("parameters").([]any) {
				m := p.(map[string]any)
				params[m["name"].(string)] = m["value"].(string)
			}
			want := map[string]string{"rds.force_ssl": "1", "log_statement": "ddl", "log_min_duration_statement": "500"}
			for k, v := range want {
				if params[k] != v {
					t.Errorf("%s = %q, want %q", k, params[k], v)
				}
			}
			db := only(t, r, instanceType)
			if !r.DependsOn(db, pg) || db.InputString("parameterGroupName") != pg.InputString("name") {
				t.Error("the instance must use the parameter group")
			}
		})
	}
}

func TestSecurityGroupAdmitsOnlyTheAllowedGroups(t *testing.T) {
	r := runDatabase(t, "dev", devArgs(), pulumi.StringArray{pulumi.String("sg-nodes"), pulumi.String("sg-lambda")}, false)
	sg := only(t, r, sgType)
	if sg.Input("ingress") != nil || sg.Input("egress") != nil {
		t.Errorf("inline rules %v %v: the rules must be standalone resources", sg.Input("ingress"), sg.Input("egress"))
	}
	rules := r.ByType(ingressRuleType)
	if len(rules) != 2 {
		t.Fatalf("want one ingress rule per allowed group, got %d", len(rules))
	}
	for i, want := range []string{"sg-nodes", "sg-lambda"} {
		rule := r.Named(ingressRuleType, fmt.Sprintf("database-ingress-%d", i))
		if rule == nil {
			t.Fatalf("no rule database-ingress-%d", i)
		}
		if rule.Input("fromPort") != float64(5432) || rule.Input("toPort") != float64(5432) || rule.InputString("ipProtocol") != "tcp" {
			t.Errorf("rule %d must be tcp/5432 only: %v", i, rule.Inputs)
		}
		if rule.InputString("referencedSecurityGroupId") != want || !slices.Contains(rule.PropertyDependencies["securityGroupId"], sg.URN) {
			t.Errorf("rule %d admits %q into %v, want %q into the database group", i, rule.InputString("referencedSecurityGroupId"), rule.PropertyDependencies["securityGroupId"], want)
		}
		for _, k := range []string{"cidrIpv4", "cidrIpv6", "prefixListId"} {
			if v := rule.Input(k); v != nil {
				t.Errorf("rule %d admits %s %v", i, k, v)
			}
		}
	}
	db := only(t, r, instanceType)
	if !slices.Contains(db.PropertyDependencies["vpcSecurityGroupIds"], sg.URN) {
		t.Error("the instance must use the security group")
	}
	for _, rule := range rules {
		if r.DependsOn(db, rule) {
			t.Error("the instance must not wait for the ingress rules (they wait for the cluster)")
		}
	}
}

func TestNoAllowedGroupsOpensNothing(t *testing.T) {
	r := runDatabase(t, "dev", devArgs(), pulumi.StringArray{}, false)
	if in := only(t, r, sgType).Input("ingress"); in != nil {
		t.Errorf("ingress %v with nothing allowed", in)
	}
	if rules := r.ByType(ingressRuleType); len(rules) != 0 {
		t.Errorf("%d ingress rules with nothing allowed", len(rules))
	}
}

func TestDevIsEphemeralAndProdIsProtected(t *testing.T) {
	dev := only(t, runDatabase(t, "dev", devArgs(), nodeSG(), false), instanceType)
	if dev.Input("skipFinalSnapshot") != true || dev.Input("finalSnapshotIdentifier") != nil || dev.Input("deletionProtection") != false || dev.Protect {
		t.Errorf("dev: skipFinalSnapshot %v, finalSnapshotIdentifier %v, deletionProtection %v, protect %v",
			dev.Input("skipFinalSnapshot"), dev.Input("finalSnapshotIdentifier"), dev.Input("deletionProtection"), dev.Protect)
	}
	if dev.Input("multiAz") != false || dev.Input("backupRetentionPeriod") != float64(1) {
		t.Errorf("dev: multiAz %v backups %v", dev.Input("multiAz"), dev.Input("backupRetentionPeriod"))
	}

	r := runDatabase(t, "prod", prodArgs(), nodeSG(), false)
	prod := only(t, r, instanceType)
	for path, want := range map[string]any{
		"skipFinalSnapshot":  false,
		"deletionProtection": true, "multiAz": true, "backupRetentionPeriod": float64(30),
		"copyTagsToSnapshot": true, "deleteAutomatedBackups": false,
		"backupWindow": "03:00-04:00", "maintenanceWindow": "sun:05:00-sun:06:00",
	} {
		if got := prod.Input(path); got != want {
			t.Errorf("prod %s = %v, want %v", path, got, want)
		}
	}
	if !prod.Protect || !only(t, r, "aws:kms/key:Key").Protect {
		t.Error("prod's instance and key must be Pulumi-protected")
	}
}

func TestOutputs(t *testing.T) {
	r := runDatabase(t, "dev", devArgs(), nodeSG(), false)
	want := map[string]any{
		"endpoint":        "cinegit-dev-postgres.abcdefghijkl.us-east-1.rds.amazonaws.com",
		"port":            5432,
		"dbName":          "cinegit",
		"masterSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-database-AbCdEf",
	}
	for k, v := range want {
		if e := r.Exports[k]; !e.Known || fmt.Sprint(e.Value) != fmt.Sprint(v) {
			t.Errorf("export %s = %+v, want %v", k, e, v)
		}
	}
}

func TestEveryResourceIsParentedAndTagged(t *testing.T) {
	r := runDatabase(t, "staging", devArgs(), nodeSG(), false)
	comp := r.Component("cinegit:database:Database")
	if comp == nil {
		t.Fatal("no component")
	}
	for _, res := range r.Resources {
		if !res.Custom || strings.HasPrefix(res.Type, "pulumi:providers:") {
			continue
		}
		if res.Parent != comp.URN {
			t.Errorf("%s %s is not parented to the component", res.Type, res.Name)
		}
		if !strings.HasPrefix(res.Name, "database") {
			t.Errorf("%s is not prefixed with the component's name", res.Name)
		}
		switch res.Type {
		case "aws:kms/alias:Alias", "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
			continue // not taggable
		}
		if res.InputString("tags.environment") != "staging" || res.InputString("tags.Name") == "" {
			t.Errorf("%s %s is not tagged", res.Type, res.Name)
		}
	}
}

func TestArgsAreChecked(t *testing.T) {
	a := devArgs()
	a.MaxAllocatedStorage = 10
	program := func(ctx *pulumi.Context) error {
		a.VpcID, a.SubnetIDs = pulumi.String("vpc"), pulumi.StringArray{}
		_, err := New(ctx, "database", a)
		return err
	}
	if _, err := harness.RunRaw(program, "cinegit", "dev", map[string]string{"aws:region": "us-east-1"}, false); err == nil || !strings.Contains(err.Error(), "MaxAllocatedStorage") {
		t.Fatalf("want a MaxAllocatedStorage error, got %v", err)
	}
}

// TestFinalSnapshotIdentifierIsUniquePerCreation: a fixed final snapshot identifier makes the
// second destroy of a recreated stack fail (RDS refuses an identifier that is taken), so the
// identifier carries a suffix drawn once per creation of the instance, and keeps to RDS's
// rules for DB snapshot identifiers (RDS API reference, CreateDBSnapshot DBSnapshotIdentifier:
// 1-255 letters, digits or hyphens, first a letter, no trailing or consecutive hyphens).
func TestFinalSnapshotIdentifierIsUniquePerCreation(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z](-?[A-Za-z0-9])*$`)
	r := runDatabase(t, "prod", prodArgs(), nodeSG(), false)
	instance := only(t, r, instanceType)
	suffix := only(t, r, "random:index/randomId:RandomId")
	id, _ := instance.Input("finalSnapshotIdentifier").(string)
	if !strings.HasPrefix(id, "cinegit-prod-postgres-final-") || id == "cinegit-prod-postgres-final" || len(id) > 255 || !valid.MatchString(id) {
		t.Errorf("finalSnapshotIdentifier %q: want cinegit-prod-postgres-final-<suffix>, a valid RDS snapshot identifier", id)
	}
	if hexSuffix := strings.TrimPrefix(id, "cinegit-prod-postgres-final-"); hexSuffix != suffix.Outputs["hex"].StringValue() || len(hexSuffix) != 8 {
		t.Errorf("suffix %q, want the RandomId's 8 hex digits %v", hexSuffix, suffix.Outputs["hex"])
	}
	if !slices.Contains(instance.PropertyDependencies["finalSnapshotIdentifier"], suffix.URN) {
		t.Error("finalSnapshotIdentifier does not come from the RandomId")
	}
	if keepers, _ := suffix.Input("keepers").(map[string]any); keepers["identifier"] != "cinegit-prod-postgres" {
		t.Errorf("RandomId keepers %v: want the instance identifier, so the suffix changes with it and nothing else", suffix.Input("keepers"))
	}
	// Dev skips the final snapshot: nothing to name.
	if n := len(runDatabase(t, "dev", devArgs(), nodeSG(), false).ByType("random:index/randomId:RandomId")); n != 0 {
		t.Errorf("dev registers %d RandomIds without a final snapshot", n)
	}
}

func TestRestoreCreatesANewInstanceFromTheBackup(t *testing.T) {
	for _, tt := range []struct {
		name    string
		restore *Restore
		check   func(t *testing.T, db *harness.Resource)
	}{
		{"from a snapshot", &Restore{Label: "r20261203", SnapshotIdentifier: "awsbackup:job-0123"}, func(t *testing.T, db *harness.Resource) {
			if db.InputString("snapshotIdentifier") != "awsbackup:job-0123" || db.Input("restoreToPointInTime") != nil {
				t.Errorf("snapshotIdentifier %v restoreToPointInTime %v", db.Input("snapshotIdentifier"), db.Input("restoreToPointInTime"))
			}
		}},
		{"to a point in time of a named instance", &Restore{Label: "pitr1", PointInTime: &PointInTime{SourceDBInstanceIdentifier: "cinegit-prod-postgres", RestoreTime: "2026-12-03T04:05:00Z"}},
			func(t *testing.T, db *harness.Resource) {
				want := map[string]any{"sourceDbInstanceIdentifier": "cinegit-prod-postgres", "restoreTime": "2026-12-03T04:05:00Z"}
				if got := db.Input("restoreToPointInTime"); fmt.Sprint(got) != fmt.Sprint(want) || db.Input("snapshotIdentifier") != nil {
					t.Errorf("restoreToPointInTime %v, want %v", got, want)
				}
			}},
		{"to the latest time of a deleted instance", &Restore{Label: "latest", PointInTime: &PointInTime{SourceDbiResourceID: "db-ABC123", UseLatestRestorableTime: true}},
			func(t *testing.T, db *harness.Resource) {
				want := map[string]any{"sourceDbiResourceId": "db-ABC123", "useLatestRestorableTime": true}
				if got := db.Input("restoreToPointInTime"); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("restoreToPointInTime %v, want %v", got, want)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := prodArgs()
			args.Restore = tt.restore
			r := runDatabase(t, "prod", args, nodeSG(), false)
			db := only(t, r, instanceType)
			tt.check(t, db)
			id := "cinegit-prod-postgres-" + tt.restore.Label
			if db.InputString("identifier") != id || !strings.HasPrefix(db.InputString("finalSnapshotIdentifier"), id+"-final-") {
				t.Errorf("identifier %q final snapshot %q: a restore is a new instance beside the old one", db.InputString("identifier"), db.InputString("finalSnapshotIdentifier"))
			}
			// Name and master user come from the backup; the password stays managed by RDS and
			// storage stays encrypted with the component's key.
			if db.Input("dbName") != nil || db.Input("username") != nil {
				t.Errorf("dbName %v username %v must come from the backup", db.Input("dbName"), db.Input("username"))
			}
			if db.Input("manageMasterUserPassword") != true || db.Input("storageEncrypted") != true || db.InputString("kmsKeyId") == "" {
				t.Errorf("restored instance lost its managed password or encryption: %v", db.Inputs)
			}
			// The log groups follow the new identifier, so RDS writes to groups with retention.
			for _, g := range r.ByType(logGroupType) {
				if !strings.HasPrefix(g.InputString("name"), "/aws/rds/instance/"+id+"/") {
					t.Errorf("log group %s does not follow the restored identifier", g.InputString("name"))
				}
			}
		})
	}
}

func TestRestoreArgsAreChecked(t *testing.T) {
	for _, r := range []*Restore{
		{SnapshotIdentifier: "snap"},
		{Label: "x"},
		{Label: "x", SnapshotIdentifier: "snap", PointInTime: &PointInTime{SourceDBInstanceIdentifier: "a", UseLatestRestorableTime: true}},
		{Label: "x", PointInTime: &PointInTime{UseLatestRestorableTime: true}},
		{Label: "x", PointInTime: &PointInTime{SourceDBInstanceIdentifier: "a", RestoreTime: "2026-12-03T04:05:00Z", UseLatestRestorableTime: true}},
	} {
		a := devArgs()
		a.VpcID, a.SubnetIDs = pulumi.String("vpc"), pulumi.ToStringArray([]string{"a", "b"})
		a.Restore = r
		if err := a.check(); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
}
