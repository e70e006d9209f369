package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
)

// The delivery's shape, read from the files GitHub and CodeBuild run: which job runs where,
// with which credentials, and with which tool versions.

type workflowStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type workflowJob struct {
	RunsOn      any               `yaml:"runs-on"`
	Environment any               `yaml:"environment"`
	Permissions map[string]string `yaml:"permissions"`
	Steps       []workflowStep    `yaml:"steps"`
}

type workflow struct {
	On   map[string]any    `yaml:"on"`
	Env  map[string]string `yaml:"env"`
	Jobs map[string]workflowJob
}

type compositeAction struct {
	Runs struct {
		Using string         `yaml:"using"`
		Steps []workflowStep `yaml:"steps"`
	} `yaml:"runs"`
}

func readWorkflows(t *testing.T) map[string]workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	out := map[string]workflow{}
	for _, f := range files {
		var wf workflow
		readYAMLFile(t, f, &wf)
		out[filepath.Base(f)] = wf
	}
	return out
}

func readActions(t *testing.T) map[string]compositeAction {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(".github", "actions", "*", "action.yml"))
	out := map[string]compositeAction{}
	for _, f := range files {
		var a compositeAction
		readYAMLFile(t, f, &a)
		out["./"+filepath.ToSlash(filepath.Dir(f))] = a
	}
	return out
}

func readYAMLFile(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

const (
	runInVPC     = "./.github/actions/run-in-vpc"
	configureAWS = "aws-actions/configure-aws-credentials@"
)

var (
	// A pulumi command that acts on a stack (and so may reach its Kubernetes API), in command
	// position: at a line's start or after ;, &&, || or $( (not inside a message).
	pulumiStackCommand = regexp.MustCompile(`(?m)(^|[;&|(])\s*pulumi\s+(preview|up|update|destroy|refresh|import|state|stack\s+export)\b`)
	// Anything that would talk to a cluster from where the job runs.
	clusterAccess = regexp.MustCompile(`(?i)kubeconfig|kubectl|setup-kubectl|update-kubeconfig|\bhelm\s`)
	pinnedAction  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
)

// TestWorkflowJobsRunWhereTheyMust is the table of which job runs what, where. GitHub-hosted
// runners cannot reach the stacks' private EKS endpoints: every pulumi command against a stack
// goes through a runner of the stack's own account (CodeBuild in its runner VPC), started by
// run-in-vpc, which assumes that account's launcher for the runner; jobs that need no cloud
// (tests, offline plans) run without credentials. Which subject each launcher trusts is
// bootstrap/trust_table_test.go's table; here, that each job runs in the environment its runner
// needs: deploys in the stack's own environment, pull requests' previews of staging and prod in
// <stack>-preview, everything else in none.
func TestWorkflowJobsRunWhereTheyMust(t *testing.T) {
	type where struct {
		runner  string // runner started: "pr", "preview", "deploy" or "recover"; "" for no cloud access
		command string // pulumi command the runner runs
		stack   string // the stack, as the job names it
		env     string // the job's GitHub environment
	}
	want := map[string]where{
		"ci.yml/lint":                {},
		"ci.yml/test":                {},
		"ci.yml/plan":                {},
		"deploy.yml/checks":          {},
		"deploy.yml/preview-dev":     {"preview", "preview", "dev", ""},
		"deploy.yml/dev":             {"deploy", "up", "dev", "dev"},
		"deploy.yml/preview-staging": {"preview", "preview", "staging", ""},
		"deploy.yml/staging":         {"deploy", "up", "staging", "staging"},
		"deploy.yml/preview-prod":    {"preview", "preview", "prod", ""},
		"deploy.yml/prod":            {"deploy", "up", "prod", "prod"},
		"destroy.yml/destroy":        {"deploy", "destroy", "${{ inputs.stack }}", "${{ inputs.stack }}"},
		"drift.yml/drift":            {"preview", "drift", "${{ matrix.stack }}", ""},
		"preview.yml/dev":            {"pr", "preview", "dev", ""},
		"preview.yml/approved":       {"pr", "preview", "${{ matrix.stack }}", "${{ matrix.stack }}-preview"},
		// prod's recovery into us-west-2, on the recovery runner there (docs/region-loss.md).
		"recover.yml/recover": {"recover", "recover", "prod", "prod"},
	}
	actions := readActions(t)
	seen := map[string]bool{}
	for name, wf := range readWorkflows(t) {
		for jobName, job := range wf.Jobs {
			id := name + "/" + jobName
			seen[id] = true
			w, known := want[id]
			if !known {
				// A job another change adds is fine as long as it touches no cloud.
				w = where{}
			}
			t.Run(id, func(t *testing.T) {
				// GitHub-hosted runners only: nothing depends on a machine someone must keep.
				if label, ok := job.RunsOn.(string); !ok || !strings.HasPrefix(label, "ubuntu-") {
					t.Errorf("runs on %v, want a GitHub-hosted ubuntu runner", job.RunsOn)
				}
				got := where{}
				if env, ok := job.Environment.(string); ok {
					got.env = env
				}
				for i, st := range job.Steps {
					text := st.Run + " " + st.Uses + " " + fmt.Sprint(st.With)
					if pulumiStackCommand.MatchString(st.Run) || strings.HasPrefix(st.Uses, "pulumi/actions@") {
						t.Errorf("step %d (%s) runs pulumi on the GitHub-hosted runner: use %s", i, st.Name, runInVPC)
					}
					if clusterAccess.MatchString(text) {
						t.Errorf("step %d (%s) reaches for a cluster from a GitHub-hosted runner", i, st.Name)
					}
					// Credentials come from run-in-vpc only, for the stack it is asked to run.
					if strings.HasPrefix(st.Uses, configureAWS) {
						t.Errorf("step %d (%s) assumes a role itself: run-in-vpc assumes the stack account's launcher", i, st.Name)
					}
					if a, ok := actions[st.Uses]; ok && st.Uses != runInVPC {
						for _, inner := range a.Runs.Steps {
							if pulumiStackCommand.MatchString(inner.Run) || clusterAccess.MatchString(inner.Run+" "+inner.Uses) ||
								strings.HasPrefix(inner.Uses, configureAWS) {
								t.Errorf("step %d uses %s, which runs pulumi or kubectl or assumes a role on the GitHub-hosted runner", i, st.Uses)
							}
						}
					}
					if st.Uses == runInVPC {
						got.runner, got.command, got.stack = st.With["runner"], st.With["command"], st.With["stack"]
					}
				}
				if got != w {
					t.Errorf("job does %+v, want %+v", got, w)
				}
				// An OIDC token only where a runner is started.
				if wantToken := got.runner != ""; (job.Permissions["id-token"] == "write") != wantToken {
					t.Errorf("id-token permission %q with runner %q", job.Permissions["id-token"], got.runner)
				}
			})
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("no job %s", id)
		}
	}
}

// TestRunInVPCFindsEachStacksAccount runs the launcher action's resolve step on every stack
// file: the role it assumes and the bucket it uploads to are in the account the stack file
// names (aws:allowedAccountIds), named as the bootstrap names them.
func TestRunInVPCFindsEachStacksAccount(t *testing.T) {
	tests := []struct {
		stack, runner, account, session string
	}{
		{"dev", "pr", "111111111111", "7200"},
		{"staging", "preview", "222222222222", "7200"},
		{"prod", "deploy", "333333333333", "14400"},
	}
	for _, tt := range tests {
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.Command("bash", filepath.Join(".github", "actions", "run-in-vpc", "resolve.sh"))
		cmd.Env = append(os.Environ(), "RUNNER="+tt.runner, "STACK="+tt.stack, "GITHUB_OUTPUT="+out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", tt.stack, err, b)
		}
		got, _ := os.ReadFile(out)
		want := fmt.Sprintf("role-arn=arn:aws:iam::%s:role/cinegit-github-%s\nbucket=cinegit-runner-sources-%s\nregion=us-east-1\nsession-seconds=%s\n",
			tt.account, tt.runner, tt.account, tt.session)
		if string(got) != want {
			t.Errorf("%s %s: %q, want %q", tt.stack, tt.runner, got, want)
		}
		_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: tt.stack})
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(tt.stack, raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.AccountID != tt.account {
			t.Errorf("%s: the stack's account is %s, resolve.sh found %s", tt.stack, c.AccountID, tt.account)
		}
	}
	// The recovery runner: the account's recovery launcher, in the recovery region, with that
	// region's source bucket (bootstrap/recovery.go).
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command("bash", filepath.Join(".github", "actions", "run-in-vpc", "resolve.sh"))
	cmd.Env = append(os.Environ(), "RUNNER=recover", "STACK=prod", "REGION=us-west-2", "GITHUB_OUTPUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recover: %v\n%s", err, b)
	}
	if got, _ := os.ReadFile(out); string(got) != "role-arn=arn:aws:iam::333333333333:role/cinegit-github-recover\n"+
		"bucket=cinegit-runner-sources-333333333333-us-west-2\nregion=us-west-2\nsession-seconds=21600\n" {
		t.Errorf("recover: %q", got)
	}
	// An unknown stack or runner assumes nothing; nor does the recovery runner without its
	// region, or in the stack's own, nor another runner sent to another region.
	for _, env := range [][]string{
		{"RUNNER=deploy", "STACK=../prod"}, {"RUNNER=admin", "STACK=prod"},
		{"RUNNER=recover", "STACK=prod"}, {"RUNNER=recover", "STACK=prod", "REGION=us-east-1"}, {"RUNNER=recover", "STACK=prod", "REGION=west"},
		{"RUNNER=deploy", "STACK=prod", "REGION=us-west-2"},
	} {
		cmd := exec.Command("bash", filepath.Join(".github", "actions", "run-in-vpc", "resolve.sh"))
		cmd.Env = append(append(os.Environ(), env...), "GITHUB_OUTPUT="+filepath.Join(t.TempDir(), "out"))
		if err := cmd.Run(); err == nil {
			t.Errorf("%v resolved", env)
		}
	}
}

// TestPreviewSkipsForks: a pull request from a fork has no OIDC token to assume anything.
func TestPreviewSkipsForks(t *testing.T) {
	var wf struct {
		Jobs map[string]struct {
			If string `yaml:"if"`
		} `yaml:"jobs"`
	}
	readYAMLFile(t, filepath.Join(".github", "workflows", "preview.yml"), &wf)
	for _, job := range []string{"dev", "approved"} {
		if got := wf.Jobs[job].If; got != "github.event.pull_request.head.repo.full_name == github.repository" {
			t.Errorf("preview job %s runs for %q", job, got)
		}
	}
}

// TestActionsArePinnedToCommits: every action from outside the repository is pinned to a full
// commit SHA (a tag can be moved), in workflows and in composite actions.
func TestActionsArePinnedToCommits(t *testing.T) {
	check := func(where, uses string) {
		if uses == "" || strings.HasPrefix(uses, "./") {
			return
		}
		if !pinnedAction.MatchString(uses) {
			t.Errorf("%s uses %s, not pinned to a commit SHA", where, uses)
		}
	}
	for name, wf := range readWorkflows(t) {
		for jobName, job := range wf.Jobs {
			for _, st := range job.Steps {
				check(name+"/"+jobName, st.Uses)
			}
		}
	}
	for name, a := range readActions(t) {
		for _, st := range a.Runs.Steps {
			check(name, st.Uses)
		}
	}
}

// TestRunnerBuildRunsThePinnedTools: the deploy runner's buildspec installs the tools and runs
// the one script that dispatches the pulumi commands the launcher asks for.
func TestRunnerBuildRunsThePinnedTools(t *testing.T) {
	var spec struct {
		Version any `yaml:"version"`
		Env     struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"env"`
		Phases map[string]struct {
			Commands []string `yaml:"commands"`
		} `yaml:"phases"`
	}
	readYAMLFile(t, filepath.Join(".ci", "buildspec.yml"), &spec)
	if fmt.Sprint(spec.Version) != "0.2" {
		t.Errorf("buildspec version %v", spec.Version)
	}
	for _, k := range []string{"PULUMI_VERSION", "KUBECTL_VERSION"} {
		if spec.Env.Variables[k] == "" {
			t.Errorf("buildspec does not pin %s", k)
		}
	}
	// The CLI matches the SDK the program is built with.
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mod), "github.com/pulumi/pulumi/sdk/v3 v"+spec.Env.Variables["PULUMI_VERSION"]+"\n") {
		t.Errorf("PULUMI_VERSION %s is not go.mod's pulumi/sdk/v3", spec.Env.Variables["PULUMI_VERSION"])
	}
	if got := spec.Phases["build"].Commands; len(got) != 1 || got[0] != "bash .ci/runner-pulumi.sh" {
		t.Errorf("build phase %v", got)
	}
	for _, script := range []string{".ci/runner-install.sh", ".ci/runner-pulumi.sh", ".github/actions/run-in-vpc/run.sh", ".github/actions/run-in-vpc/resolve.sh"} {
		if fi, err := os.Stat(script); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("%s is missing or not executable", script)
		}
	}
	// The runner builds the policy pack's analyzer at this commit and self-checks it in the
	// install phase (whose failure skips the build phase), and every pulumi command names the
	// pack, whose runtime is that analyzer.
	install, err := os.ReadFile(filepath.Join(".ci", "runner-install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	build := strings.Index(string(install), `go build -o "$bin/pulumi-analyzer-policy-cinegit" ./policy/analyzer`)
	check := strings.Index(string(install), "\npulumi-analyzer-policy-cinegit self-check policy\n")
	if build < 0 || check < build {
		t.Errorf("runner-install.sh does not build the analyzer and then self-check it")
	}
	if got := spec.Phases["install"].Commands; len(got) != 1 || got[0] != "bash .ci/runner-install.sh" {
		t.Errorf("install phase %v", got)
	}
	pack, err := os.ReadFile(filepath.Join("policy", "PulumiPolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^runtime: cinegit$`).Match(pack) {
		t.Errorf("policy/PulumiPolicy.yaml does not name the cinegit runtime (pulumi-analyzer-policy-cinegit)")
	}
	// The destroy command is the runbook's script, which orders the whole destroy and proves
	// nothing is left (scripts/scripts_test.go runs it).
	b, err := os.ReadFile(filepath.Join(".ci", "runner-pulumi.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `bash scripts/destroy.sh "$PULUMI_STACK"`) || strings.Contains(string(b), "pulumi destroy") {
		t.Errorf("runner-pulumi.sh does not destroy through scripts/destroy.sh")
	}
	quotas, up := strings.Index(string(b), `bash scripts/check-quotas.sh "$PULUMI_STACK"`), strings.Index(string(b), `pulumi up "${stack[@]}"`)
	if quotas < 0 || up < quotas {
		t.Errorf("runner-pulumi.sh does not check the quotas (scripts/check-quotas.sh) before pulumi up")
	}
	// A sleeping off-hours stack is woken for the update, and put back to sleep whatever its
	// outcome (scripts/scripts_test.go runs offhours.sh).
	wake, sleep := strings.Index(string(b), `bash scripts/offhours.sh wake "$PULUMI_STACK"`), strings.Index(string(b), `trap 'bash scripts/offhours.sh sleep "$PULUMI_STACK"`)
	if wake < 0 || sleep < 0 || up < wake || wake < sleep {
		t.Errorf("runner-pulumi.sh does not wake an off-hours stack before pulumi up, with its sleep trapped first")
	}
	if !strings.Contains(string(b), `stack=(--stack "$PULUMI_STACK" --non-interactive --policy-pack policy)`) {
		t.Errorf("runner-pulumi.sh does not run preview, drift and up with the policy pack")
	}
}

// kubectlPins are every kubectl version pinned where CI runs: the buildspec's, the workflows'
// and the composite actions' KUBECTL_VERSION or kubectl-version.
func kubectlPins(t *testing.T) map[string]string {
	t.Helper()
	pins := map[string]string{}
	key := regexp.MustCompile(`(?m)^\s*(?:KUBECTL_VERSION|kubectl-version|version-kubectl)\s*:\s*["']?(v?[0-9][^"'\s#]*)`)
	var files []string
	for _, glob := range []string{".ci/*.yml", ".github/workflows/*.yml", ".github/actions/*/action.yml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range key.FindAllStringSubmatch(string(b), -1) {
			pins[fmt.Sprintf("%s#%d", f, i)] = m[1]
		}
	}
	return pins
}

// minorSkew is how many minor versions kubectl is from the cluster ("v1.36.4" vs "1.36").
func minorSkew(kubectl, cluster string) (int, error) {
	minor := func(v string) (int, error) {
		parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
		if len(parts) < 2 || parts[0] != "1" {
			return 0, fmt.Errorf("%q is not a Kubernetes 1.x version", v)
		}
		return strconv.Atoi(parts[1])
	}
	k, err := minor(kubectl)
	if err != nil {
		return 0, err
	}
	c, err := minor(cluster)
	if err != nil {
		return 0, err
	}
	if k > c {
		return k - c, nil
	}
	return c - k, nil
}

func TestMinorSkew(t *testing.T) {
	tests := []struct {
		kubectl, cluster string
		want             int
	}{
		{"v1.36.4", "1.36", 0},
		{"v1.35.9", "1.36", 1},
		{"v1.37.0", "1.36", 1},
		{"v1.34.4", "1.36", 2},
	}
	for _, tt := range tests {
		if got, err := minorSkew(tt.kubectl, tt.cluster); err != nil || got != tt.want {
			t.Errorf("minorSkew(%s, %s) = %d, %v; want %d", tt.kubectl, tt.cluster, got, err, tt.want)
		}
	}
	if _, err := minorSkew("latest", "1.36"); err == nil {
		t.Error("an unpinned kubectl is accepted")
	}
}

// TestKubectlWithinOneMinorOfEveryCluster: Kubernetes supports kubectl within one minor version
// (older or newer) of kube-apiserver (kubernetes.io/releases/version-skew-policy, "kubectl").
// Every kubectl pinned where CI runs is checked against every stack's cluster.version.
func TestKubectlWithinOneMinorOfEveryCluster(t *testing.T) {
	pins := kubectlPins(t)
	if len(pins) == 0 {
		t.Fatal("no kubectl version is pinned (.ci/buildspec.yml's KUBECTL_VERSION)")
	}
	where := make([]string, 0, len(pins))
	for w := range pins {
		where = append(where, w)
	}
	sort.Strings(where)
	for _, stack := range []string{"dev", "staging", "prod"} {
		_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Parse(stack, raw)
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		for _, w := range where {
			skew, err := minorSkew(pins[w], cfg.Cluster.Version)
			if err != nil {
				t.Errorf("%s: %v", w, err)
				continue
			}
			if skew > 1 {
				t.Errorf("%s pins kubectl %s, %d minor versions from %s's Kubernetes %s (at most 1 is supported)",
					w, pins[w], skew, stack, cfg.Cluster.Version)
			}
		}
	}
}

// TestRunnerRecovers runs .ci/runner-pulumi.sh as the recovery project would (its fixed
// variables, the launcher's command and recovery point), in a copy of the tree whose pulumi and
// scripts/recover-region.sh are stand-ins: it logs in to the standby backend and runs the
// recovery from the project's override, and refuses another command or an override of another
// stack.
func TestRunnerRecovers(t *testing.T) {
	const arn = "arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-1"
	setup := func(t *testing.T) (dir, log string) {
		dir = t.TempDir()
		log = filepath.Join(dir, "calls")
		for path, body := range map[string]string{
			"bin/pulumi":                   "#!/bin/sh\necho \"pulumi $*\" >> " + log + "\n",
			"scripts/recover-region.sh":    "echo \"recover-region $* ($RECOVER_MESSAGE)\" >> " + log + "\n",
			"recovery/prod-us-west-2.yaml": "stack: prodwest\nbase: prod\n",
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir, log
	}
	script, err := filepath.Abs(filepath.Join(".ci", "runner-pulumi.sh"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, command, stack string
		ok                   bool
	}{
		{"the recovery", "recover", "prodwest", true},
		{"another command", "up", "prodwest", false},
		{"an override of another stack", "recover", "prodeast", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, log := setup(t)
			cmd := exec.Command("bash", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+":"+os.Getenv("PATH"),
				"PULUMI_COMMAND="+tt.command, "PULUMI_STACK="+tt.stack, "PULUMI_MESSAGE=recover by someone",
				"PULUMI_BACKEND_URL=s3://cinegit-pulumi-state-333333333333-us-west-2?region=us-west-2", "CINEGIT_RUNNER=recover",
				"CINEGIT_RECOVERY_OVERRIDE=recovery/prod-us-west-2.yaml", "RECOVERY_POINT_ARN="+arn)
			out, err := cmd.CombinedOutput()
			calls, _ := os.ReadFile(log)
			if !tt.ok {
				if err == nil || len(calls) != 0 {
					t.Errorf("ran: %s\n%s", calls, out)
				}
				return
			}
			want := "pulumi login s3://cinegit-pulumi-state-333333333333-us-west-2?region=us-west-2\n" +
				"recover-region recovery/prod-us-west-2.yaml " + arn + " (recover by someone)\n"
			if err != nil || string(calls) != want {
				t.Errorf("err %v, calls:\n%s\nwant:\n%s\noutput:\n%s", err, calls, want, out)
			}
		})
	}
}
