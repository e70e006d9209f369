package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/plan"
)

// asCLI makes this test binary act as the built `cinegit` binary when a test re-executes it:
// "main" runs main() itself (what `go build -o bin/cinegit .` produces), "violation" runs the
// plan command on the program plus one unencrypted queue, so that exit code 1 is reachable.
// Re-executing the already linked test binary proves the process exit codes without a second
// link of pulumi-aws. (`go run` cannot be used for this: it reports any failure of the program
// as exit status 1, see `go help run`.)
const asCLI = "CINEGIT_TEST_AS_CLI"

func TestMain(m *testing.M) {
	switch os.Getenv(asCLI) {
	case "main":
		main()
		os.Exit(0)
	case "violation":
		os.Exit(plan.Main(func(ctx *pulumi.Context) error {
			if err := program(ctx); err != nil {
				return err
			}
			_, err := sqs.NewQueue(ctx, "unencrypted", &sqs.QueueArgs{})
			return err
		}, os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestPlanExitCodesOfTheBinary: the README's exit-code promise (0 clean, 1 a mandatory policy
// violated, 2 bad usage or configuration) holds for a real process, including a misspelled
// section in the stack file, which used to deploy the defaults with exit 0.
func TestPlanExitCodesOfTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the plan in child processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := os.ReadFile("Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, append(dev, "  cinegit:databse:\n    instanceClass: db.t4g.small\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	tag := filepath.Join(dir, "tag.yaml")
	if err := os.WriteFile(tag, append(dev, "  cinegit:tags:\n    cost-center: 42\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mode   string
		args   []string
		code   int
		stderr string
	}{
		{"clean plan", "main", []string{"plan", "--stack", "dev"}, plan.ExitClean, ""},
		{"mandatory policy violated", "violation", []string{"plan", "--stack", "dev"}, plan.ExitViolation, ""},
		{"bad usage", "main", []string{"plan"}, plan.ExitUsage, "--stack is required"},
		{"misspelled section", "main", []string{"plan", "--stack", "dev", "--config-file", typo}, plan.ExitUsage, "cinegit:databse: invalid value"},
		{"tag value of the wrong type", "main", []string{"plan", "--stack", "dev", "--config-file", tag}, plan.ExitUsage, "cinegit:tags.cost-center"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(exe, tt.args...)
			cmd.Env = append(os.Environ(), asCLI+"="+tt.mode)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}
