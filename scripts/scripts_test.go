// Package scripts holds the operator scripts of the destroy runbook (docs/destroy.md); this test keeps them parseable, shellcheck-clean and true to the runbook.
package scripts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func scripts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.sh")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	return files
}

func TestScriptsParseAndPassShellcheck(t *testing.T) {
	shellcheck, _ := exec.LookPath("shellcheck")
	for _, f := range scripts(t) {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "#!/usr/bin/env bash\n") || !strings.Contains(string(b), "\nset -euo pipefail\n") {
				t.Error("want a bash shebang and set -euo pipefail")
			}
			if info, err := os.Stat(f); err != nil || info.Mode()&0o111 == 0 {
				t.Error("not executable")
			}
			if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
				t.Fatalf("bash -n: %v\n%s", err, out)
			}
			if shellcheck == "" {
				t.Log("shellcheck not installed: skipped")
				return
			}
			if out, err := exec.Command(shellcheck, "--external-sources", "--source-path=SCRIPTDIR", f).CombinedOutput(); err != nil {
				t.Fatalf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

// TestScriptsRefuseToRunWithoutAStack: every script refuses no arguments and too many, and touches
// nothing then.
func TestScriptsRefuseToRunWithoutAStack(t *testing.T) {
	for _, f := range scripts(t) {
		for _, args := range [][]string{{}, {"dev", "staging", "prod", "more"}} {
			err := exec.Command("bash", append([]string{f}, args...)...).Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("%s %v: %v, want exit status 2", f, args, err)
			}
		}
	}
}

// TestPreDestroyOrder: Argo CD stops before anything is deleted (or auto-sync would recreate
// it), and the wait covers the tags of both load balancer controllers.
func TestPreDestroyOrder(t *testing.T) {
	b, err := os.ReadFile("pre-destroy.sh")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	scale := strings.Index(s, "--replicas=0")
	deleteIngress := strings.Index(s, "kubectl delete ingress --all-namespaces")
	deleteService := strings.Index(s, `select(.spec.type == "LoadBalancer")`)
	if scale < 0 || deleteIngress < 0 || deleteService < 0 || scale > deleteIngress || scale > deleteService {
		t.Error("Argo CD must be scaled to zero before Ingresses and LoadBalancer Services are deleted")
	}
	for _, want := range []string{"Key=elbv2.k8s.aws/cluster,Values=$cluster", "Key=kubernetes.io/cluster/$cluster", "pulumi stack output --stack \"$stack\" --show-secrets kubeconfig"} {
		if !strings.Contains(s, want) {
			t.Errorf("pre-destroy.sh lacks %s", want)
		}
	}
}

// TestCheckQuotas runs check-quotas.sh against a stand-in plan and AWS CLI: a quota that
// fits, one short of what the stack needs (whose value comes from AWS's default, the account
// never having changed it), and a fixed one without a Service Quotas code.
func TestCheckQuotas(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/usr/bin/env bash\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plan := func(need float64) string {
		return fmt.Sprintf(`cat <<'JSON'
{"stack": "prod", "quotas": [
  {"service": "ec2", "code": "L-0263D0A3", "name": "EC2-VPC Elastic IPs", "region": "us-east-1", "need": 3, "default": 5},
  {"service": "ec2", "code": "L-1216C47A", "name": "Running On-Demand Standard", "region": "us-east-1", "need": %g, "default": 5},
  {"service": "logs", "code": "", "name": "Resource policies", "region": "us-east-1", "need": 2, "default": 10}
]}
JSON
`, need)
	}
	// The account changed the Elastic IP quota (20); it never touched the vCPU one, whose
	// default is 32.
	write("aws", `case "$*" in
  *"get-service-quota --service-code ec2 --quota-code L-0263D0A3"*) echo 20 ;;
  *"get-service-quota "*) echo "NoSuchResourceException" >&2; exit 254 ;;
  *"get-aws-default-service-quota --service-code ec2 --quota-code L-1216C47A"*) echo 32.0 ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
`)
	run := func(need float64) (string, int) {
		out, code := runScript(t, []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "CINEGIT_BIN=" + write("cinegit", plan(need))}, "check-quotas.sh", "prod")
		return out, code
	}
	if out, code := run(32); code != 0 || !strings.Contains(out, "EC2-VPC Elastic IPs in us-east-1: 3 of 20") || !strings.Contains(out, "Resource policies in us-east-1: 2 of 10") {
		t.Errorf("every quota fits: exit %d\n%s", code, out)
	}
	out, code := run(196)
	want := "aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-1216C47A --desired-value 196 --region us-east-1"
	if code != 1 || !strings.Contains(out, `prod needs 196 of "Running On-Demand Standard" in us-east-1; the account has 32.0.`) || !strings.Contains(out, want) {
		t.Errorf("a short quota: exit %d, want 1 naming the request\n%s", code, out)
	}
}

// fakeTools writes stand-ins for pulumi, kubectl, aws and the plan binary that log every call
// to calls.log and answer like a deployed staging stack; FAKE_LEFT lists the ARNs a tag scan
// still finds after the destroy.
func fakeTools(t *testing.T) (dir, calls string) {
	t.Helper()
	dir = t.TempDir()
	calls = filepath.Join(dir, "calls.log")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write("pulumi", `case "$*" in
  "config get --stack staging aws:region") echo us-east-1 ;;
  "config get --stack staging backup") echo '{"secondaryRegion":"us-west-2"}' ;;
  "stack export --stack staging")
    if [ -f "$FAKE_DIR/destroyed" ]; then echo '{"deployment":{"resources":[{"type":"pulumi:pulumi:Stack"}]}}'
    else echo '{"deployment":{"resources":[{"type":"cinegit:cluster:Cluster","urn":"urn:pulumi:staging::cinegit::cinegit:cluster:Cluster::cluster"}]}}'; fi ;;
  *"stack output --stack staging vpcId"*) echo vpc-1 ;;
  *"databaseEndpoint"*) echo cinegit-staging-postgres.abc.us-east-1.rds.amazonaws.com ;;
  *"kubeconfig"*) echo "apiVersion: v1" ;;
  *"clusterName"*) echo cinegit-staging ;;
  *"dnsZoneId"*) echo Z1 ;;
  "destroy --stack staging --non-interactive"*) touch "$FAKE_DIR/destroyed" ;;
esac
`)
	write("kubectl", `case "$*" in *"get service"*) echo '{"items":[]}' ;; esac
`)
	write("aws", `case "$*" in
  *"tag-filters Key=project,Values=cinegit"*) printf '%s\n' $FAKE_LEFT ;;
  *resourcegroupstaggingapi*) echo None ;;
  *"describe-volumes"*) echo None ;;
  *"describe-instances"*) echo None ;;
  *"list-resource-record-sets"*) echo '{"ResourceRecordSets":[]}' ;;
  *"describe-db-instances"*) echo True ;;
  *"describe-vpc-endpoints"*"VpcEndpoints[].VpcEndpointId"*) if [ -f "$FAKE_DIR/vpce" ]; then echo None; else echo vpce-1; fi ;;
  *"delete-vpc-endpoints"*) touch "$FAKE_DIR/vpce" ;;
  *"describe-vpc-endpoints"*) echo None ;;
  *"describe-security-groups"*) echo sg-9 ;;
  *"describe-key"*) echo PendingDeletion ;;
  *"describe-log-groups"*) echo None ;;
  *"list-secrets"*) echo None ;;
esac
`)
	write("cinegit", `echo '{"resources":[]}'
`)
	return dir, calls
}

// TestDestroyOrder runs destroy.sh on staging with stand-ins: the cluster's controllers clean
// up first, the database's protection goes, the cluster and its dependents are destroyed,
// GuardDuty's endpoint and group go, then the rest, then the scan; a resource the scan still
// finds fails the destroy, what survives by design does not, and prod is refused untouched.
func TestDestroyOrder(t *testing.T) {
	run := func(stack, left string) (string, string, int) {
		dir, calls := fakeTools(t)
		out, code := runScript(t, []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKE_DIR=" + dir, "FAKE_LEFT=" + left,
			"CINEGIT_BIN=" + filepath.Join(dir, "cinegit"), "PRE_DESTROY_INTERVAL=0", "DESTROY_INTERVAL=0", "POST_DESTROY_SETTLE=0"}, "destroy.sh", stack)
		log, _ := os.ReadFile(calls)
		return out, string(log), code
	}
	out, log, code := run("staging", "arn:aws:kms:us-east-1:1:key/k arn:aws:rds:us-east-1:1:snapshot:cinegit-staging-postgres-final-ab12")
	if code != 0 {
		t.Fatalf("destroy of staging: exit %d\n%s\n%s", code, out, log)
	}
	steps := []string{
		"kubectl delete ingress --all-namespaces",
		"kubectl delete persistentvolumeclaim --all-namespaces",
		"kubectl delete nodepools.karpenter.sh --all",
		"aws resourcegroupstaggingapi get-resources --region us-east-1 --resource-type-filters elasticloadbalancing:loadbalancer elasticloadbalancing:targetgroup ec2:security-group",
		"aws ec2 describe-instances --region us-east-1 --filters Name=tag:eks:eks-cluster-name,Values=cinegit-staging Name=tag-key,Values=karpenter.sh/nodepool",
		"aws rds modify-db-instance --region us-east-1 --db-instance-identifier cinegit-staging-postgres --no-deletion-protection",
		"pulumi destroy --stack staging --target urn:pulumi:staging::cinegit::cinegit:cluster:Cluster::cluster --target-dependents",
		"aws ec2 delete-vpc-endpoints --region us-east-1 --vpc-endpoint-ids vpce-1",
		"aws ec2 delete-security-group --region us-east-1 --group-id sg-9",
		"pulumi destroy --stack staging --non-interactive --yes",
		"aws resourcegroupstaggingapi get-resources --region us-east-1 --tag-filters Key=project,Values=cinegit Key=environment,Values=staging",
		"aws resourcegroupstaggingapi get-resources --region us-west-2 --tag-filters Key=project,Values=cinegit Key=environment,Values=staging",
	}
	at := -1
	for _, s := range steps {
		i := strings.Index(log, s)
		if i < 0 || i < at {
			t.Errorf("step %q missing or out of order in:\n%s", s, log)
		}
		at = i
	}
	out, _, code = run("staging", "arn:aws:s3:::cinegit-staging-media arn:aws:kms:us-east-1:1:key/k")
	if code != 1 || !strings.Contains(out, "arn:aws:s3:::cinegit-staging-media") || strings.Contains(out, "key/k\n") {
		t.Errorf("a bucket left behind: exit %d, want 1 naming it\n%s", code, out)
	}
	out, log, code = run("prod", "")
	if code != 2 || log != "" {
		t.Errorf("prod: exit %d, calls %q\n%s", code, log, out)
	}
}

// TestBootstrapPreflight runs bootstrap-preflight.sh on dev's bootstrap stack file against a
// stand-in AWS CLI: a new account is ready; an account with a GuardDuty detector, its AWS
// services cost monitor, an organization it is a member of and EC2's Spot service-linked role
// gets one BLOCKS line each with
// the setting that resolves it; another account's credentials are refused.
func TestBootstrapPreflight(t *testing.T) {
	run := func(account, existing string) (string, int) {
		dir := t.TempDir()
		aws := `#!/usr/bin/env bash
case "$*" in
  *"get-caller-identity"*) echo ` + account + ` ;;
  *"list-detectors --region us-west-2"*) [ "$EXISTING" = yes ] && echo d-west || echo None ;;
  *"list-detectors"*) echo None ;;
  *"get-administrator-account"*) echo None ;;
  *"get-anomaly-monitors"*) [ "$EXISTING" = yes ] && echo arn:aws:ce::1:anomalymonitor/m || echo None ;;
  *"describe-organization"*) [ "$EXISTING" = yes ] && echo 999999999999 || exit 254 ;;
  *"describe-trails"*) echo None ;;
  *"list-analyzers"*) echo None ;;
  *"get-role --role-name AWSServiceRoleForEC2Spot"*) [ "$EXISTING" = yes ] && echo arn:aws:iam::1:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot || { echo NoSuchEntity >&2; exit 254; } ;;
  *) echo "unexpected: $*" >&2; exit 99 ;;
esac
`
		if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(aws), 0o700); err != nil {
			t.Fatal(err)
		}
		out, code := runScript(t, []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "EXISTING=" + existing}, "bootstrap-preflight.sh", "dev")
		return out, code
	}
	if out, code := run("111111111111", "no"); code != 0 || !strings.Contains(out, "is ready") {
		t.Errorf("a new account: exit %d\n%s", code, out)
	}
	out, code := run("111111111111", "yes")
	for _, key := range []string{"guardDuty", "costAnomalyMonitor", "activateCostAllocationTag", "spotServiceLinkedRole"} {
		if !strings.Contains(out, "pulumi config set --stack dev cinegit-bootstrap:"+key+" false") {
			t.Errorf("no resolution for %s:\n%s", key, out)
		}
	}
	if code != 1 || strings.Count(out, "BLOCKS:") != 4 || !strings.Contains(out, "d-west") {
		t.Errorf("an account with a detector, a monitor, an organization and the Spot role: exit %d\n%s", code, out)
	}
	if out, code := run("222222222222", "no"); code != 1 || !strings.Contains(out, "credentials are for account 222222222222") {
		t.Errorf("another account: exit %d\n%s", code, out)
	}
}

// TestOffHoursWakeAndSleep runs offhours.sh against stand-ins of a sleeping dev (database
// stopped, node groups at zero): wake starts the database and gives each group its morning
// sizes, then waits for them; sleep undoes exactly that. An awake stack is left alone.
func TestOffHoursWakeAndSleep(t *testing.T) {
	run := func(asleep bool, action string, state string) (string, string, int) {
		dir := t.TempDir()
		calls := filepath.Join(dir, "calls.log")
		stub := func(name, body string) {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		stub("pulumi", `case "$*" in
  *"config get --stack dev offHours"*) echo '{"enabled":true,"stopAt":"20:00","startAt":"07:00"}' ;;
  *"aws:region"*) echo us-east-1 ;;
  *clusterName*) echo cinegit-dev-eks ;;
  *databaseEndpoint*) echo cinegit-dev-postgres.abc.us-east-1.rds.amazonaws.com ;;
esac
`)
		status, max := "available", "4"
		if asleep {
			status, max = "stopped", "0"
		}
		stub("aws", `case "$*" in
  *"describe-db-instances"*) echo `+status+` ;;
  *"describe-scheduled-actions"*) echo '{"ScheduledUpdateGroupActions":[
    {"ScheduledActionName":"cinegit-dev-offhours-general-start","AutoScalingGroupName":"asg-general","MinSize":1,"DesiredCapacity":2,"MaxSize":4},
    {"ScheduledActionName":"cinegit-dev-offhours-general-stop","AutoScalingGroupName":"asg-general","MinSize":0,"DesiredCapacity":0,"MaxSize":0}]}' ;;
  *"AutoScalingGroups[0].MaxSize"*) echo `+max+` ;;
  *"InService"*) echo 1 ;;
esac
`)
		out, code := runScript(t, []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "OFFHOURS_INTERVAL=0"}, "offhours.sh", action, "dev", state)
		log, _ := os.ReadFile(calls)
		return out, string(log), code
	}
	state := filepath.Join(t.TempDir(), "state")
	out, log, code := run(true, "wake", state)
	for _, want := range []string{
		"aws rds start-db-instance --region us-east-1 --db-instance-identifier cinegit-dev-postgres",
		"aws autoscaling update-auto-scaling-group --region us-east-1 --auto-scaling-group-name asg-general --min-size 1 --max-size 4 --desired-capacity 2",
		"aws rds wait db-instance-available --region us-east-1 --db-instance-identifier cinegit-dev-postgres",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("wake did not run %q\n%s\n%s", want, log, out)
		}
	}
	if code != 0 || strings.Contains(log, "-stop") && strings.Contains(log, "update-auto-scaling-group --region us-east-1 --auto-scaling-group-name asg-general --min-size 0") {
		t.Errorf("wake: exit %d\n%s", code, log)
	}
	_, log, code = run(true, "sleep", state)
	if code != 0 || !strings.Contains(log, "--auto-scaling-group-name asg-general --min-size 0 --max-size 0 --desired-capacity 0") ||
		!strings.Contains(log, "aws rds stop-db-instance --region us-east-1 --db-instance-identifier cinegit-dev-postgres") {
		t.Errorf("sleep did not undo the wake: exit %d\n%s", code, log)
	}
	awake := filepath.Join(t.TempDir(), "state")
	_, log, code = run(false, "wake", awake)
	if b, _ := os.ReadFile(awake); code != 0 || len(b) != 0 || strings.Contains(log, "start-db-instance") || strings.Contains(log, "update-auto-scaling-group") {
		t.Errorf("an awake stack was changed: exit %d, state %q\n%s", code, b, log)
	}
}

// TestCheckImagePlatforms runs check-image-platforms.sh with a stand-in registry: a multi-arch
// image passes, a single-architecture one and one without arm64 are named, and the exit is 1.
func TestCheckImagePlatforms(t *testing.T) {
	dir := t.TempDir()
	inspect := filepath.Join(dir, "inspect")
	if err := os.WriteFile(inspect, []byte(`#!/usr/bin/env bash
case "$1" in
  *multi*) echo '{"manifests":[{"platform":{"os":"linux","architecture":"amd64"}},{"platform":{"os":"linux","architecture":"arm64"}},{"platform":{"os":"unknown","architecture":"unknown"}}]}' ;;
  *amd64-only*) echo '{"manifests":[{"platform":{"os":"linux","architecture":"amd64"}}]}' ;;
  *) echo '{"schemaVersion":2,"config":{}}' ;;
esac
`), 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(images ...string) (string, int) {
		list := filepath.Join(dir, "images.txt")
		if err := os.WriteFile(list, []byte(strings.Join(images, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := runScript(t, []string{"REGISTRY_INSPECT=" + inspect}, "check-image-platforms.sh", list)
		return out, code
	}
	if out, code := run("example.com/multi:1"); code != 0 {
		t.Errorf("a multi-arch image: exit %d\n%s", code, out)
	}
	out, code := run("example.com/multi:1", "example.com/amd64-only:1", "example.com/single:1")
	if code != 1 || !strings.Contains(out, "example.com/amd64-only:1: no linux/arm64") || !strings.Contains(out, "example.com/single:1: no linux/arm64") ||
		strings.Contains(out, "multi:1:") {
		t.Errorf("images without arm64: exit %d\n%s", code, out)
	}
}

// runScript runs a script of this directory under bash with extra environment and arguments,
// and returns its combined output and exit status.
func runScript(t *testing.T, env []string, script string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// TestRestoreScripts runs the restore runbook's scripts with stand-ins: the snapshot copy
// re-encrypts with the stack's database key into its region and waits for it, naming the copy;
// the object restore lists a key's versions without changing anything, and copies one version
// back when given its ID.
func TestRestoreScripts(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.log")
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stub("pulumi", `case "$*" in *aws:region*) echo us-east-1 ;; *mediaBucketName*) echo cinegit-prod-media ;; esac
`)
	stub("aws", `case "$*" in *describe-db-snapshots*) exit 1 ;; *list-object-versions*) echo '{"Versions":[{"Key":"a/b.mov","VersionId":"v2","LastModified":"2026-12-03","Size":9,"IsLatest":false}],"DeleteMarkers":[{"Key":"a/b.mov","VersionId":"d1","LastModified":"2026-12-04","IsLatest":true}]}' ;; esac
`)
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}
	out, code := runScript(t, env, "copy-db-snapshot.sh", "prod", "arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:job-AB12")
	log, _ := os.ReadFile(calls)
	if code != 0 || strings.TrimSpace(out) != "cinegit-prod-copy-awsbackup-job-ab12" ||
		!strings.Contains(string(log), "aws rds copy-db-snapshot --region us-east-1 --source-region us-west-2 --source-db-snapshot-identifier arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:job-AB12 --target-db-snapshot-identifier cinegit-prod-copy-awsbackup-job-ab12 --kms-key-id alias/cinegit-prod-database") ||
		!strings.Contains(string(log), "aws rds wait db-snapshot-available") {
		t.Errorf("copy: exit %d %q\n%s", code, out, log)
	}
	if _, code := runScript(t, env, "copy-db-snapshot.sh", "prod", "not-an-arn"); code != 2 {
		t.Errorf("a bad ARN: exit %d", code)
	}
	out, code = runScript(t, env, "restore-object.sh", "prod", "a/b.mov")
	log, _ = os.ReadFile(calls)
	if code != 0 || !strings.Contains(out, "version v2 2026-12-03 9 bytes") || !strings.Contains(out, "delete marker d1 2026-12-04 (current: the object is deleted)") ||
		strings.Contains(string(log), "copy-object") {
		t.Errorf("list: exit %d\n%s\n%s", code, out, log)
	}
	out, code = runScript(t, env, "restore-object.sh", "prod", "a/b.mov", "v2")
	log, _ = os.ReadFile(calls)
	if code != 0 || !strings.Contains(string(log), "--copy-source cinegit-prod-media/a/b.mov?versionId=v2") {
		t.Errorf("restore: exit %d\n%s\n%s", code, out, log)
	}
}

// TestRecoverRegion runs recover-region.sh with stand-ins of a region where the recovery stack
// does not exist yet: the settings without a restore, the stack created with the override's
// secrets provider, only the database key (its alias, key, component and provider from the
// offline plan) created, the recovery point copied in its own region (no --source-region)
// under that key, the settings again with the copy, the quota check, then the whole update;
// a copy left by an earlier run is reused.
func TestRecoverRegion(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.log")
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stub("pulumi", `case "$*" in *aws:region*) echo us-west-2 ;; esac
`)
	stub("aws", `case "$*" in *describe-db-snapshots*) [ -n "${COPY_EXISTS:-}" ] || exit 1 ;; esac
`)
	// The program's stand-in: recovery-config writes the stack file, plan --out a deployment
	// with the database's key, and plan --quotas needs nothing.
	stub("cinegit", `case "$1" in
recovery-config) printf 'secretsprovider: awskms://alias/cinegit-pulumi-secrets?region=us-west-2\nconfig: {}\n' > Pulumi.prodwest.yaml; echo prodwest ;;
plan) case "$*" in *--quotas*) echo '{"quotas":[]}' ;; *)
  out=; while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
  typ='urn:pulumi:prodwest::cinegit::cinegit:database:Database'
  db="$typ::database"
  p='urn:pulumi:prodwest::cinegit::pulumi:providers:aws::aws'
  cat > "$out" <<JSON
{"deployment":{"resources":[
 {"urn":"urn:pulumi:prodwest::cinegit::pulumi:pulumi:Stack::cinegit-prodwest","type":"pulumi:pulumi:Stack"},
 {"urn":"$db","type":"cinegit:database:Database","parent":"urn:pulumi:prodwest::cinegit::pulumi:pulumi:Stack::cinegit-prodwest"},
 {"urn":"$typ\$aws:kms/key:Key::database","type":"aws:kms/key:Key","parent":"$db","provider":"$p::provider-aws"},
 {"urn":"$typ\$aws:kms/alias:Alias::database","type":"aws:kms/alias:Alias","parent":"$db","provider":"$p::provider-aws","inputs":{"name":"alias/cinegit-prodwest-database"}},
 {"urn":"urn:pulumi:prodwest::cinegit::cinegit:cache:Cache\$aws:kms/key:Key::cache","type":"aws:kms/key:Key","parent":"urn:pulumi:prodwest::cinegit::cinegit:cache:Cache::cache"}]}}
JSON
  ;; esac ;;
esac
`)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(filepath.Join(root, "Pulumi.prodwest.yaml")) })
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "CINEGIT_BIN=" + filepath.Join(dir, "cinegit")}
	arn := "arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-0123abcd"
	out, code := runScript(t, env, "recover-region.sh", "recovery/prod-us-west-2.yaml", arn)
	log, _ := os.ReadFile(calls)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	want := []string{
		"cinegit recovery-config recovery/prod-us-west-2.yaml",
		"pulumi stack select --create --secrets-provider awskms://alias/cinegit-pulumi-secrets?region=us-west-2 prodwest",
		"cinegit plan --stack prodwest --config-file Pulumi.prodwest.yaml --out ",
		"pulumi up --stack prodwest --non-interactive --yes --policy-pack policy --message recover-region recovery/prod-us-west-2.yaml " + arn + " (database key) " +
			"--target urn:pulumi:prodwest::cinegit::cinegit:database:Database$aws:kms/alias:Alias::database " +
			"--target urn:pulumi:prodwest::cinegit::cinegit:database:Database$aws:kms/key:Key::database " +
			"--target urn:pulumi:prodwest::cinegit::cinegit:database:Database::database " +
			"--target urn:pulumi:prodwest::cinegit::pulumi:providers:aws::aws",
		"pulumi config get --stack prodwest aws:region",
		"aws rds describe-db-snapshots --region us-west-2 --db-snapshot-identifier cinegit-prodwest-copy-awsbackup-copyjob-0123abcd",
		"aws rds copy-db-snapshot --region us-west-2 --source-db-snapshot-identifier " + arn + " --target-db-snapshot-identifier cinegit-prodwest-copy-awsbackup-copyjob-0123abcd --kms-key-id alias/cinegit-prodwest-database --copy-tags",
		"aws rds wait db-snapshot-available --region us-west-2 --db-snapshot-identifier cinegit-prodwest-copy-awsbackup-copyjob-0123abcd",
		"cinegit recovery-config --snapshot cinegit-prodwest-copy-awsbackup-copyjob-0123abcd recovery/prod-us-west-2.yaml",
		"cinegit plan --stack prodwest --quotas --format json",
		"pulumi up --stack prodwest --non-interactive --yes --policy-pack policy --message recover-region recovery/prod-us-west-2.yaml " + arn,
	}
	if code != 0 || len(lines) != len(want) {
		t.Fatalf("exit %d, %d calls, want %d\n%s\n%s", code, len(lines), len(want), out, log)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || (!strings.HasSuffix(w, " ") && lines[i] != w) {
			t.Errorf("call %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	_ = os.Remove(calls)
	if _, code := runScript(t, append(env, "COPY_EXISTS=1"), "recover-region.sh", "recovery/prod-us-west-2.yaml", arn); code != 0 {
		t.Errorf("a second run: exit %d", code)
	}
	if log, _ := os.ReadFile(calls); strings.Contains(string(log), "copy-db-snapshot") {
		t.Errorf("a second run copies again:\n%s", log)
	}
	if _, code := runScript(t, env, "recover-region.sh", "recovery/none.yaml", arn); code != 2 {
		t.Errorf("a missing override: exit %d", code)
	}
}

// TestCopyMediaReplica runs copy-media-replica.sh with stand-ins: the base's replica in the
// recovery region is synced into the recovery stack's own media bucket, never the reverse.
func TestCopyMediaReplica(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.log")
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stub("pulumi", `case "$*" in *aws:region*) echo us-west-2 ;; *mediaBucketName*) echo "${MEDIA:-cinegit-prodwest-media-333333333333-us-west-2}" ;; esac
`)
	stub("aws", `case "$*" in *get-caller-identity*) echo 333333333333 ;; configure*|s3*) echo "  with AWS_CONFIG_FILE=$AWS_CONFIG_FILE" >> `+calls+` ;; esac
`)
	home := t.TempDir()
	env := []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home}
	out, code := runScript(t, env, "copy-media-replica.sh", "prodwest", "prod")
	log, _ := os.ReadFile(calls)
	if code != 0 || !strings.Contains(string(log), "aws s3 sync s3://cinegit-prod-media-replica-333333333333-us-west-2 s3://cinegit-prodwest-media-333333333333-us-west-2 --region us-west-2 --only-show-errors") {
		t.Errorf("exit %d\n%s\n%s", code, out, log)
	}
	// The concurrency setting goes into a temporary copy of the CLI's configuration, never the
	// operator's own file.
	if !strings.Contains(string(log), "aws configure set default.s3.max_concurrent_requests 64") || strings.Contains(string(log), "AWS_CONFIG_FILE=\n") ||
		strings.Contains(string(log), "AWS_CONFIG_FILE="+home) {
		t.Errorf("the CLI configuration used:\n%s", log)
	}
	if _, code := runScript(t, append(env, "MEDIA=cinegit-prod-media-replica-333333333333-us-west-2"), "copy-media-replica.sh", "prodwest", "prod"); code != 2 {
		t.Errorf("a recovery whose media bucket is the replica: exit %d", code)
	}
}

// mediaRestoreTools writes stand-ins for pulumi and aws that answer like deployed stacks (prod
// replicates its media to us-west-2, dev does not) and log every call to calls.log; FAKE_LARGE
// lists the replica's keys above 5 GiB.
func mediaRestoreTools(t *testing.T) (env []string, calls string) {
	t.Helper()
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls.log")
	stub := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\necho \""+name+" $*\" >> "+calls+"\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stub("pulumi", `case "$*" in
  "config get --stack "*" aws:region") echo us-east-1 ;;
  "config get --stack prod backup") echo '{"secondaryRegion":"us-west-2","mediaReplication":{}}' ;;
  "config get --stack dev backup") echo '{}' ;;
  "stack output --stack prod "*)
    case "${@: -1}" in
      mediaBucketName) echo cinegit-prod-media-333333333333-us-east-1 ;;
      mediaBucketArn) echo arn:aws:s3:::cinegit-prod-media-333333333333-us-east-1 ;;
      mediaReplicaBucketName) echo cinegit-prod-media-replica-333333333333-us-west-2 ;;
      mediaCopyBackRoleArn) echo arn:aws:iam::333333333333:role/cinegit-prod-media-copy-back ;;
      mediaCopyBackReportPrefix) echo batch-operations/copy-back ;;
      logsBucketName) echo cinegit-prod-logs-333333333333-us-east-1 ;;
      backupVaultArn) echo arn:aws:backup:us-east-1:333333333333:backup-vault:cinegit-prod-backup ;;
      backupCopyVaultArn) echo arn:aws:backup:us-west-2:333333333333:backup-vault:cinegit-prod-backup ;;
      backupRoleArn) echo arn:aws:iam::333333333333:role/cinegit-prod-backup ;;
    esac ;;
  "stack output --stack dev "*) echo "" ;;
esac
`)
	stub("aws", `case "$*" in
  *"s3control create-job"*) echo 0f0e0d0c-job ;;
  *"s3api list-objects-v2"*) printf '%s\n' $FAKE_LARGE | jq -R . | jq -s 'map(select(. != ""))' ;;
  *"list-recovery-points-by-backup-vault --region us-east-1"*) echo '{"RecoveryPoints":[
    {"RecoveryPointArn":"arn:aws:backup:us-east-1:333333333333:recovery-point:old","CreationDate":"2026-12-01T03:00:00Z","Status":"COMPLETED","BackupSizeInBytes":7},
    {"RecoveryPointArn":"arn:aws:backup:us-east-1:333333333333:recovery-point:new","CreationDate":"2026-12-02T03:00:00Z","Status":"COMPLETED","BackupSizeInBytes":9}]}' ;;
  *"list-recovery-points-by-backup-vault"*) echo '{"RecoveryPoints":[{"RecoveryPointArn":"arn:aws:backup:us-west-2:333333333333:recovery-point:copy","CreationDate":"2026-12-02T05:00:00Z","Status":"COMPLETED","BackupSizeInBytes":9}]}' ;;
  *"kms describe-key --region us-west-2 --key-id alias/cinegit-prod-media-replica"*) echo arn:aws:kms:us-west-2:333333333333:key/replica ;;
  *"kms describe-key"*) echo "unexpected key" >&2; exit 254 ;;
  *"start-restore-job"*) echo restore-job-42 ;;
  *"get-bucket-location"*) echo us-west-2 ;;
esac
`)
	return []string{"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH")}, calls
}

// TestCopyBackMedia runs copy-back-media.sh with stand-ins: one S3 Batch Operations Copy job in
// the stack's region, whose manifest S3 generates from the replica (under the prefix, objects
// up to 5 GiB), run as the copy-back role, reporting every task to the logs bucket and waiting
// for confirmation; objects above 5 GiB are copied server side by the script; a stack without
// a replica is refused before anything is created.
func TestCopyBackMedia(t *testing.T) {
	env, calls := mediaRestoreTools(t)
	out, code := runScript(t, append(env, "FAKE_LARGE=raw/day1/a001.braw"), "copy-back-media.sh", "prod", "raw/")
	b, _ := os.ReadFile(calls)
	log := string(b)
	for _, want := range []string{
		"aws s3control create-job --region us-east-1 --account-id 333333333333 --confirmation-required",
		"--role-arn arn:aws:iam::333333333333:role/cinegit-prod-media-copy-back",
		`"SourceBucket":"arn:aws:s3:::cinegit-prod-media-replica-333333333333-us-west-2"`,
		`"EnableManifestOutput":false`,
		`"ObjectSizeLessThanBytes":5368709121`,
		`"KeyNameConstraint":{"MatchAnyPrefix":["raw/"]}`,
		`"TargetResource":"arn:aws:s3:::cinegit-prod-media-333333333333-us-east-1"`,
		`"Bucket":"arn:aws:s3:::cinegit-prod-logs-333333333333-us-east-1","Prefix":"batch-operations/copy-back"`,
		`"ReportScope":"AllTasks"`,
		"aws s3api list-objects-v2 --region us-west-2 --bucket cinegit-prod-media-replica-333333333333-us-west-2 --prefix raw/",
		"aws s3 cp s3://cinegit-prod-media-replica-333333333333-us-west-2/raw/day1/a001.braw s3://cinegit-prod-media-333333333333-us-east-1/raw/day1/a001.braw --source-region us-west-2 --region us-east-1",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("copy-back did not run %q\n%s", want, log)
		}
	}
	if code != 0 || !strings.Contains(out, "S3 Batch Operations job 0f0e0d0c-job") ||
		!strings.Contains(out, "aws s3control update-job-status --region us-east-1 --account-id 333333333333 --job-id 0f0e0d0c-job --requested-job-status Ready") ||
		!strings.Contains(out, "copied raw/day1/a001.braw") {
		t.Errorf("copy-back: exit %d\n%s", code, out)
	}
	if strings.Count(log, "create-job") != 1 {
		t.Errorf("want exactly one job:\n%s", log)
	}

	env, calls = mediaRestoreTools(t)
	out, code = runScript(t, env, "copy-back-media.sh", "dev")
	b, _ = os.ReadFile(calls)
	if code != 2 || !strings.Contains(out, "has no media replica") || strings.Contains(string(b), "aws ") {
		t.Errorf("dev has no replica: exit %d\n%s\n%s", code, out, b)
	}
}

// TestRestoreMediaBackup runs restore-media-backup.sh with stand-ins: without a recovery point
// it lists both vaults' recovery points of the media bucket, newest first, and starts nothing;
// with one of the copy vault it restores into a new bucket of that region under the replica's
// key, with the program's backup role and S3's restore metadata; with the restored bucket it
// copies the objects into the media bucket; anything else is refused.
func TestRestoreMediaBackup(t *testing.T) {
	env, calls := mediaRestoreTools(t)
	out, code := runScript(t, env, "restore-media-backup.sh", "prod")
	b, _ := os.ReadFile(calls)
	newest, oldest := strings.Index(out, "recovery-point:new"), strings.Index(out, "recovery-point:old")
	if code != 0 || newest < 0 || oldest < newest || !strings.Contains(out, "vault cinegit-prod-backup (us-west-2):") ||
		!strings.Contains(string(b), "--by-resource-arn arn:aws:s3:::cinegit-prod-media-333333333333-us-east-1") || strings.Contains(string(b), "start-restore-job") {
		t.Errorf("list: exit %d\n%s\n%s", code, out, b)
	}

	env, calls = mediaRestoreTools(t)
	out, code = runScript(t, env, "restore-media-backup.sh", "prod", "arn:aws:backup:us-west-2:333333333333:recovery-point:copy")
	b, _ = os.ReadFile(calls)
	log := string(b)
	for _, want := range []string{
		"aws backup start-restore-job --region us-west-2 --recovery-point-arn arn:aws:backup:us-west-2:333333333333:recovery-point:copy --iam-role-arn arn:aws:iam::333333333333:role/cinegit-prod-backup --resource-type S3",
		`"DestinationBucketName":"cinegit-prod-media-restore-333333333333-`,
		`"NewBucket":"true","Encrypted":"true","EncryptionType":"SSE-KMS","KMSKey":"arn:aws:kms:us-west-2:333333333333:key/replica"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("restore did not run %q\n%s", want, log)
		}
	}
	if code != 0 || !strings.Contains(out, "AWS Backup restore job restore-job-42") || !strings.Contains(out, "aws backup describe-restore-job --region us-west-2 --restore-job-id restore-job-42") {
		t.Errorf("restore: exit %d\n%s", code, out)
	}

	env, calls = mediaRestoreTools(t)
	out, code = runScript(t, env, "restore-media-backup.sh", "prod", "cinegit-prod-media-restore-333333333333-202612030405")
	b, _ = os.ReadFile(calls)
	if code != 0 || !strings.Contains(string(b), "aws s3 cp s3://cinegit-prod-media-restore-333333333333-202612030405/ s3://cinegit-prod-media-333333333333-us-east-1/ --recursive --source-region us-west-2 --region us-east-1") {
		t.Errorf("copy in: exit %d\n%s\n%s", code, out, b)
	}

	for _, bad := range []string{"arn:aws:backup:eu-west-1:333333333333:recovery-point:x", "some-other-bucket"} {
		env, calls = mediaRestoreTools(t)
		out, code = runScript(t, env, "restore-media-backup.sh", "prod", bad)
		b, _ = os.ReadFile(calls)
		if code != 2 || strings.Contains(string(b), "start-restore-job") || strings.Contains(string(b), "s3 cp") {
			t.Errorf("%s: exit %d\n%s\n%s", bad, code, out, b)
		}
	}
}
