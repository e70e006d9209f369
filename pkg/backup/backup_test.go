package backup

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
)

const (
	vaultType     = "aws:backup/vault:Vault"
	planType      = "aws:backup/plan:Plan"
	selectionType = "aws:backup/selection:Selection"
	lockType      = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
	keyType       = "aws:kms/key:Key"
	attachType    = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	dbArn         = "arn:aws:rds:us-east-1:123456789012:db:cinegit-prod-postgres"
	mediaArn      = "arn:aws:s3:::cinegit-prod-media-123456789012-us-east-1"
)

func devArgs() Args {
	return Args{Schedule: "cron(0 7 ? * * *)", RetentionDays: 7, ContinuousDatabaseRetentionDays: 1, ForceDestroy: true}
}

// prodArgs copy to us-west-2 and lock the vaults in compliance mode.
func prodArgs() Args {
	a := devArgs()
	a.RetentionDays, a.ContinuousDatabaseRetentionDays, a.ForceDestroy, a.Protect = 35, 30, false, true
	a.Copy = &Copy{Region: "us-west-2", RetentionDays: 35}
	a.VaultLock = &VaultLock{Compliance: true, ChangeableForDays: 3, MinRetentionDays: 7, MaxRetentionDays: 400}
	return a
}

func run(t *testing.T, args Args, preview bool) *harness.Result {
	t.Helper()
	r, err := harness.RunComponent("us-east-1", preview, func(ctx *pulumi.Context, p harness.Providers) error {
		args.Env = harness.Env("prod", "us-east-1")
		args.DatabaseArn, args.MediaBucketArn = pulumi.String(dbArn), pulumi.String(mediaArn)
		if args.Copy != nil {
			west, err := aws.NewProvider(ctx, "aws-us-west-2", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
			if err != nil {
				return err
			}
			args.Copy.Provider = west
		}
		_, err := New(ctx, "backup", args, pulumi.Provider(p.AWS))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPlansCoverExactlyTheDataStoresByArn(t *testing.T) {
	r := run(t, prodArgs(), false)
	sels := r.ByType(selectionType)
	if len(sels) != 3 {
		t.Fatalf("want selections for the database's two plans and the media bucket, got %d", len(sels))
	}
	var covered []string
	for _, s := range sels {
		res, _ := harness.Plain(s.Inputs["resources"]).([]any)
		if len(res) != 1 {
			t.Fatalf("%s: resources %v, want exactly one ARN", s.Name, res)
		}
		covered = append(covered, res[0].(string))
		if s.Inputs["selectionTags"].HasValue() || s.Inputs["conditions"].HasValue() {
			t.Errorf("%s selects by tag or condition: only ARNs make the coverage exact", s.Name)
		}
		if !strings.HasSuffix(s.InputString("iamRoleArn"), ":role/cinegit-prod-backup") {
			t.Errorf("%s role %q", s.Name, s.InputString("iamRoleArn"))
		}
	}
	slices.Sort(covered)
	if want := []string{dbArn, dbArn, mediaArn}; !slices.Equal(covered, want) {
		t.Errorf("covered %v, want %v", covered, want)
	}
}

func TestProdCopiesEveryDailyRecoveryPointToTheSecondRegion(t *testing.T) {
	r := run(t, prodArgs(), false)
	vaults := r.ByType(vaultType)
	if len(vaults) != 2 {
		t.Fatalf("want a vault here and one in us-west-2, got %d", len(vaults))
	}
	copyVault := r.Named(vaultType, "backup-copy")
	if copyVault == nil || !strings.Contains(copyVault.Provider, "aws-us-west-2") {
		t.Fatalf("the copy vault must be made with the us-west-2 provider: %+v", copyVault)
	}
	// Each vault is encrypted with a key of its own region.
	for _, v := range vaults {
		if v.InputString("kmsKeyArn") == "" || !v.Protect {
			t.Errorf("%s: kmsKeyArn %q protect %v", v.Name, v.InputString("kmsKeyArn"), v.Protect)
		}
	}
	copyKey := r.Named(keyType, "backup-copy-vault")
	if copyKey == nil || copyKey.Provider != copyVault.Provider {
		t.Errorf("the copy vault's key must be in the copy region")
	}
	for _, p := range r.ByType(planType) {
		rules, _ := harness.Plain(p.Inputs["rules"]).([]any)
		for _, raw := range rules {
			rule := raw.(map[string]any)
			copies, _ := rule["copyActions"].([]any)
			switch rule["ruleName"] {
			case "daily":
				if len(rules) != 1 {
					t.Errorf("%s: a daily rule shares its plan with %v (AWS Backup would run only one of overlapping rules)", p.Name, rules)
				}
				if len(copies) != 1 {
					t.Fatalf("%s daily rule copies %v", p.Name, copies)
				}
				c := copies[0].(map[string]any)
				if !strings.Contains(c["destinationVaultArn"].(string), "vault/cinegit-prod-backup") ||
					c["lifecycle"].(map[string]any)["deleteAfter"] != float64(35) {
					t.Errorf("%s copy action %v", p.Name, c)
				}
			case "continuous":
				if p.Name != "backup-database-pitr" || len(rules) != 1 || rule["enableContinuousBackup"] != true ||
					rule["lifecycle"].(map[string]any)["deleteAfter"] != float64(30) {
					t.Errorf("continuous rule %v on %s", rule, p.Name)
				}
			default:
				t.Errorf("unexpected rule %v", rule["ruleName"])
			}
		}
	}
}

func TestDevHasNoCopyNoLockAndForceDestroys(t *testing.T) {
	r := run(t, devArgs(), true)
	if n := len(r.ByType(vaultType)); n != 1 {
		t.Errorf("dev vaults: %d, want 1", n)
	}
	if n := len(r.ByType(lockType)); n != 0 {
		t.Errorf("dev vault locks: %d, want 0", n)
	}
	if v := r.Named(vaultType, "backup"); harness.Plain(v.Inputs["forceDestroy"]) != true {
		t.Errorf("dev vault forceDestroy: %v", harness.Plain(v.Inputs["forceDestroy"]))
	}
	for _, p := range r.ByType(planType) {
		rules, _ := harness.Plain(p.Inputs["rules"]).([]any)
		for _, raw := range rules {
			if c := raw.(map[string]any)["copyActions"]; c != nil && len(c.([]any)) > 0 {
				t.Errorf("%s copies in dev: %v", p.Name, c)
			}
		}
	}
}

func TestComplianceLockOnBothVaults(t *testing.T) {
	for _, tt := range []struct {
		name       string
		compliance bool
		changeable any
	}{
		{"compliance mode has a grace time", true, float64(3)},
		{"governance mode has none", false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := prodArgs()
			a.VaultLock.Compliance = tt.compliance
			r := run(t, a, false)
			locks := r.ByType(lockType)
			if len(locks) != 2 {
				t.Fatalf("want a lock on each vault, got %d", len(locks))
			}
			for _, l := range locks {
				if got := harness.Plain(l.Inputs["changeableForDays"]); got != tt.changeable {
					t.Errorf("%s changeableForDays %v, want %v", l.Name, got, tt.changeable)
				}
				if harness.Plain(l.Inputs["minRetentionDays"]) != float64(7) || harness.Plain(l.Inputs["maxRetentionDays"]) != float64(400) {
					t.Errorf("%s retention bounds %v", l.Name, l.Inputs)
				}
			}
		})
	}
}

func TestServiceRoleHasTheBackupAndS3ManagedPolicies(t *testing.T) {
	r := run(t, devArgs(), false)
	var got []string
	for _, a := range r.ByType(attachType) {
		got = append(got, a.InputString("policyArn"))
	}
	slices.Sort(got)
	want := []string{
		"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
		"arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
		"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
		"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
	}
	if !slices.Equal(got, want) {
		t.Errorf("policies %v, want %v", got, want)
	}
	// The selections wait for the policies, which no input of theirs refers to.
	for _, s := range r.ByType(selectionType) {
		for _, a := range r.ByType(attachType) {
			if !r.DependsOn(s, a) {
				t.Errorf("%s does not wait for %s", s.Name, a.Name)
			}
		}
	}
}

func TestArgsAreChecked(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Args)
	}{
		{"continuous retention beyond AWS Backup's 35 days", func(a *Args) { a.ContinuousDatabaseRetentionDays = 36 }},
		{"copy to the stack's own region", func(a *Args) { a.Copy = &Copy{Provider: &aws.Provider{}, Region: "us-east-1", RetentionDays: 7} }},
		{"compliance lock without a grace time", func(a *Args) { a.VaultLock = &VaultLock{Compliance: true, MinRetentionDays: 1} }},
		{"no retention", func(a *Args) { a.RetentionDays = 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := devArgs()
			a.Env = harness.Env("dev", "us-east-1")
			a.DatabaseArn, a.MediaBucketArn = pulumi.String(dbArn), pulumi.String(mediaArn)
			tt.change(&a)
			if err := a.check(); err == nil {
				t.Error("accepted")
			}
		})
	}
}
