package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
)

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("config:\n  aws:region: us-east-1\n  cinegit:network:\n    cidr: 10.0.0.0/8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typoConfig := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typoConfig, []byte("config:\n  aws:region: us-east-1\n  cinegit:databse:\n    instanceClass: db.t4g.small\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		out      string // file the plan may write
		wantFile bool
		stdout   string // fragment expected on stdout
		stderr   string // fragment expected on stderr
	}{
		{"no stack", []string{}, plan.ExitUsage, "", false, "", "--stack is required"},
		{"unknown flag", []string{"--stack", "dev", "--colour"}, plan.ExitUsage, "", false, "", "flag provided but not defined"},
		{"bad format", []string{"--stack", "dev", "--format", "yaml"}, plan.ExitUsage, "", false, "", "allowed values are text and json"},
		{"unknown stack file", []string{"--stack", "qa"}, plan.ExitUsage, "", false, "", "Pulumi.qa.yaml"},
		{"misspelled section names it and the nearest key", []string{"--stack", "dev", "--config-file", typoConfig}, plan.ExitUsage, "", false, "", "did you mean cinegit:database?"},
		{"bad config names the key and writes nothing", []string{"--stack", "dev", "--config-file", badConfig, "--out", filepath.Join(dir, "bad.json")}, plan.ExitUsage, filepath.Join(dir, "bad.json"), false, "", "cinegit:network.cidr"},
		{"dev plan in text", []string{"--stack", "dev", "--out", filepath.Join(dir, "dev.json")}, plan.ExitClean, filepath.Join(dir, "dev.json"), true, "no mandatory policy is violated", ""},
		{"prod preview in json", []string{"--stack", "prod", "--preview", "--format", "json"}, plan.ExitClean, "", false, `"mandatory": null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := plan.Main(program, tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stdout %q / stderr %q lack %q / %q", trim(stdout.String()), stderr.String(), tt.stdout, tt.stderr)
			}
			if tt.out != "" {
				_, err := os.Stat(tt.out)
				if exists := err == nil; exists != tt.wantFile {
					t.Fatalf("%s exists=%v, want %v", tt.out, exists, tt.wantFile)
				}
			}
			if strings.Contains(strings.Join(tt.args, " "), "--format json") && tt.code == plan.ExitClean {
				var doc map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
					t.Fatalf("--format json is not JSON: %v", err)
				}
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".plan-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func TestEveryStackPassesThePolicyPack(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		p, err := plan.Evaluate(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Violations() {
			t.Errorf("mandatory policy %s violated by %s %s: %s", f.Rule, f.Type, f.Name, f.Message)
		}
	})
}

// BenchmarkPlan is `go run . plan` without compilation: the whole program under the offline
// engine plus the policy pack, per stack.
func BenchmarkPlan(b *testing.B) {
	for _, stack := range stacks {
		b.Run(stack, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := plan.Run(program, plan.Options{Dir: ".", Stack: stack}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPlanIsDeterministic: the same configuration writes the same plan and the same
// deployment, whatever order the registrations arrive in.
func TestPlanIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var texts, deployments []string
	for i := 0; i < 3; i++ {
		var out, errOut bytes.Buffer
		path := filepath.Join(dir, "plan.json")
		if code := plan.Main(program, []string{"--stack", "staging", "--out", path}, &out, &errOut); code != plan.ExitClean {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		texts, deployments = append(texts, out.String()), append(deployments, string(b))
	}
	for i := 1; i < 3; i++ {
		if texts[i] != texts[0] || deployments[i] != deployments[0] {
			t.Fatalf("run %d differs from run 0", i)
		}
	}
}
