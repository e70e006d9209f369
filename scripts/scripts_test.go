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

// TestScriptsRefuseToRunWithoutAStack: both take exactly one stack and touch nothing otherwise.
func TestScriptsRefuseToRunWithoutAStack(t *testing.T) {
	for _, f := range scripts(t) {
		for _, args := range [][]string{{}, {"dev", "staging"}} {
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
		cmd := exec.Command("bash", "check-quotas.sh", "prod")
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"), "CINEGIT_BIN="+write("cinegit", plan(need)))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
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
