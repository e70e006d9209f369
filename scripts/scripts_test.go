// Package scripts holds the operator scripts of the destroy runbook (README.md, "Destroying a
// stack"); this test keeps them parseable, shellcheck-clean and true to the runbook.
package scripts

import (
	"errors"
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
