package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Destroy and recreate (docs/destroy.md): dev and staging are destroyed and
// created again under the same names, so nothing they create may leave a name taken behind.

// TestSecretsOfRecreatedStacksAreDeletedAtOnce: a secret scheduled for deletion keeps its name
// until its recovery window ends (CreateSecret then fails: "You can't create this secret
// because a secret with this name is already scheduled for deletion"; Secrets Manager API
// reference, DeleteSecret), so dev's and staging's secrets are deleted without recovery
// (recoveryWindowInDays 0 is ForceDeleteWithoutRecovery: Terraform/pulumi-aws
// aws_secretsmanager_secret, recovery_window_in_days "can be 0 to force deletion without
// recovery"). prod keeps 7-30.
func TestSecretsOfRecreatedStacksAreDeletedAtOnce(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		secrets := r.ByType("aws:secretsmanager/secret:Secret")
		if len(secrets) < 3 {
			t.Fatalf("want at least the cache, CDN and Grafana secrets, got %d", len(secrets))
		}
		for _, s := range secrets {
			days, _ := s.Input("recoveryWindowInDays").(float64)
			recreated := r.Stack == "dev" || r.Stack == "staging"
			if recreated && days != 0 || !recreated && (days < 7 || days > 30) {
				t.Errorf("%s %s: recoveryWindowInDays %v", r.Stack, s.InputString("name"), s.Input("recoveryWindowInDays"))
			}
		}
	})
}

// TestFinalSnapshotIdentifierIsDrawnPerCreation: RDS refuses a final snapshot identifier that
// is taken, so a fixed one fails the second destroy of a recreated stack.
func TestFinalSnapshotIdentifierIsDrawnPerCreation(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		db := one(t, r, "aws:rds/instance:Instance")
		if db.Input("skipFinalSnapshot") == true {
			return
		}
		suffix := one(t, r, "random:index/randomId:RandomId")
		if !r.DependsOn(db, suffix) {
			t.Error("the final snapshot identifier does not come from the per-creation RandomId")
		}
		if id := db.InputString("finalSnapshotIdentifier"); !r.Preview && !strings.HasPrefix(id, "cinegit-"+r.Stack+"-postgres-final-") {
			t.Errorf("finalSnapshotIdentifier %q", id)
		}
	})
}

// TestServicesAreDeletedBeforeTheirLogGroups: EKS, RDS, ElastiCache and Lambda create or write
// the groups under /aws/ that the program makes first. Each service depends on its group, so
// `pulumi destroy` deletes the service before the group; what EKS or RDS still deliver
// afterwards through their service-linked roles can create the group again (terraform-aws-eks
// issues 920 and 2763), which scripts/post-destroy.sh removes.
func TestServicesAreDeletedBeforeTheirLogGroups(t *testing.T) {
	writers := map[string]string{
		"/aws/eks/":        "eks:index:Cluster",
		"/aws/rds/":        "aws:rds/instance:Instance",
		"/aws/vendedlogs/": "aws:elasticache/replicationGroup:ReplicationGroup",
		"/aws/lambda/":     "aws:lambda/function:Function",
	}
	// With the FFmpeg image tag set, so that the function (created only then) is there too.
	forEachImageRun(t, func(t *testing.T, r *harness.Result) {
		checked := 0
		for _, g := range r.ByType("aws:cloudwatch/logGroup:LogGroup") {
			name := g.InputString("name")
			for prefix, typ := range writers {
				if !strings.HasPrefix(name, prefix) {
					continue
				}
				checked++
				service := one(t, r, typ)
				if !r.DependsOn(service, g) {
					t.Errorf("%s %s does not depend on its log group %s: destroy could delete the group first", typ, service.Name, name)
				}
			}
		}
		if checked < 6 {
			t.Errorf("checked %d service log groups, want EKS, 2 RDS, 2 ElastiCache and Lambda", checked)
		}
	})
}

// TestNoRoleMayCreateLogGroups: every group the program names is created by the program, so no
// role it makes needs logs:CreateLogGroup; without it, Lambda and VPC flow logs cannot bring a
// deleted group back (Lambda creates its group only when the execution role allows it: Lambda
// developer guide, "Sending Lambda function logs to CloudWatch Logs").
func TestNoRoleMayCreateLogGroups(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, typ := range []string{"aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"} {
			for _, p := range r.ByType(typ) {
				for _, action := range allowedActions(t, p.InputString("policy")) {
					if a := strings.ToLower(action); a == "*" || a == "logs:*" || strings.HasPrefix("logs:createloggroup", strings.TrimSuffix(a, "*")) && strings.HasSuffix(a, "*") || a == "logs:createloggroup" {
						t.Errorf("%s %s allows %s: a role that may create log groups can bring a deleted one back", typ, p.Name, action)
					}
				}
			}
		}
	})
}

// allowedActions lists the actions of a policy document's Allow statements.
func allowedActions(t *testing.T, doc string) []string {
	t.Helper()
	if doc == "" {
		return nil // unknown in a preview
	}
	var policy struct {
		Statement []struct {
			Effect string
			Action any
		}
	}
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	var out []string
	for _, st := range policy.Statement {
		if st.Effect != "Allow" {
			continue
		}
		switch a := st.Action.(type) {
		case string:
			out = append(out, a)
		case []any:
			for _, x := range a {
				s, _ := x.(string)
				out = append(out, s)
			}
		}
	}
	return out
}

// TestKMSAliasesGoBeforeTheirKeys: a key scheduled for deletion waits 7-30 days, but its alias
// is a resource of its own that depends on the key, so destroy deletes the alias at once
// (DeleteAlias) and the recreated stack's new key takes the same alias name.
func TestKMSAliasesGoBeforeTheirKeys(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		aliases := r.ByType("aws:kms/alias:Alias")
		if len(aliases) == 0 {
			t.Fatal("no KMS aliases")
		}
		for _, a := range aliases {
			onKey := false
			for _, k := range r.ByType("aws:kms/key:Key") {
				onKey = onKey || r.DependsOn(a, k)
			}
			if !onKey || !strings.HasPrefix(a.InputString("name"), "alias/cinegit-"+r.Stack+"-") {
				t.Errorf("alias %s (%s) does not depend on a key of this stack", a.Name, a.InputString("name"))
			}
		}
	})
}

// TestEphemeralDataGoesWithItsStack: what holds data and would stop a destroy half-way
// (S3 refuses to delete a bucket with objects, BucketNotEmpty; AWS Backup a vault with
// recovery points; ECR a repository with images, RepositoryNotEmptyException) is emptied by
// the destroy in dev and staging, by their stack files' explicit choice (docs/destroy.md), in
// both regions; prod's never is.
func TestEphemeralDataGoesWithItsStack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		ephemeral := r.Stack != "prod"
		n := 0
		for typ, flag := range map[string]string{
			"aws:s3/bucketV2:BucketV2":      "forceDestroy",
			"aws:backup/vault:Vault":        "forceDestroy",
			"aws:ecr/repository:Repository": "forceDelete",
		} {
			for _, res := range r.ByType(typ) {
				n++
				if got, _ := res.Input(flag).(bool); got != ephemeral {
					t.Errorf("%s %s: %s=%v, want %v", typ, res.Name, flag, got, ephemeral)
				}
			}
		}
		// media, proxies, thumbnails, access logs, Loki, the replica; a vault per region
		// where backups are copied; the FFmpeg repository.
		if n < 7 {
			t.Errorf("%d data stores checked", n)
		}
	})
}

// TestRecreatedZonesKeepTheirDelegation: a stack that may be destroyed takes its zone's name
// servers from its account's reusable delegation set and signs with its account's DNSSEC key,
// both made by the bootstrap and outliving the stack, so a recreated zone has the NS and DS
// records the parent already publishes (docs/dns-delegation.md). prod's protected zone keeps
// its own.
func TestRecreatedZonesKeepTheirDelegation(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		zone := one(t, r, "aws:route53/zone:Zone")
		set := zone.InputString("delegationSetId")
		dnssecKeys := 0
		for _, k := range r.ByType("aws:kms/key:Key") {
			if k.InputString("keyUsage") == "SIGN_VERIFY" {
				dnssecKeys++
			}
		}
		ksk := r.ByType("aws:route53/keySigningKey:KeySigningKey")
		switch r.Stack {
		case "dev":
			if set != "N0PLACEHOLDERDEV" || len(ksk) != 0 {
				t.Errorf("dev zone: delegation set %q, %d KSKs", set, len(ksk))
			}
		case "staging":
			if set != "N0PLACEHOLDERSTAGING" || len(ksk) != 1 || dnssecKeys != 0 ||
				ksk[0].InputString("keyManagementServiceArn") != "arn:aws:kms:us-east-1:222222222222:key/00000000-0000-0000-0000-000000000000" {
				t.Errorf("staging zone: delegation set %q, KSK %v, %d signing keys of its own", set, ksk, dnssecKeys)
			}
		case "prod":
			if set != "" || len(ksk) != 1 || dnssecKeys != 1 || !zone.Protect {
				t.Errorf("prod zone: delegation set %q, %d KSKs, %d signing keys, protect %v", set, len(ksk), dnssecKeys, zone.Protect)
			}
		}
	})
}
