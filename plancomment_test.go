package main

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/plan/comment"
)

// The plan comment (docs/plan-reports.md, "The pull-request report"): the pull request's run
// uploads data only, and plan-comment.yml renders the comment with the default branch's code.

const rendererPackage = "./pkg/plan/comment/cmd/plan-comment"

type commentStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type commentWorkflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		If          string            `yaml:"if"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []commentStep     `yaml:"steps"`
	} `yaml:"jobs"`
}

// expressions a step of plan-comment.yml may read: none that the pull request's author writes
// (its branch name, title or commit message would be script injection).
var trustedExpression = regexp.MustCompile(`^\$\{\{ (github\.token|github\.repository|github\.sha|github\.event\.workflow_run\.(id|head_sha)|runner\.temp|steps\.[a-z]+\.outputs\.[a-z]+) \}\}(/plan-report)?$`)

// TestPlanCommentRendersWithTheDefaultBranchsCode: plan-comment.yml runs on workflow_run only,
// with the least permissions; it checks out github.sha (for workflow_run, the default branch's
// last commit, the one its own file comes from), downloads the artifact outside the workspace,
// checks the PR number against the run's head, renders with the checked-out renderer without a
// token, and never fetches, checks out or executes anything of the pull request's.
func TestPlanCommentRendersWithTheDefaultBranchsCode(t *testing.T) {
	var wf commentWorkflow
	readYAMLFile(t, filepath.Join(".github", "workflows", "plan-comment.yml"), &wf)
	if len(wf.On) != 1 || wf.On["workflow_run"] == nil {
		t.Errorf("plan-comment.yml runs on %v, want workflow_run alone (its github.sha is the default branch's)", wf.On)
	}
	job, ok := wf.Jobs["comment"]
	if !ok || len(wf.Jobs) != 1 {
		t.Fatalf("jobs %v, want comment alone", wf.Jobs)
	}
	if !strings.Contains(job.If, "github.event.workflow_run.event == 'pull_request'") {
		t.Errorf("the job runs if %q", job.If)
	}
	if want := map[string]string{"actions": "read", "contents": "read", "pull-requests": "write"}; !maps.Equal(job.Permissions, want) {
		t.Errorf("permissions %v, want %v", job.Permissions, want)
	}

	checkout, setupGo, download, render := -1, -1, -1, -1
	for i, st := range job.Steps {
		action, _, _ := strings.Cut(st.Uses, "@")
		switch action {
		case "":
		case "actions/checkout":
			if checkout >= 0 {
				t.Errorf("step %d: a second checkout", i)
			}
			checkout = i
			if st.With["ref"] != "${{ github.sha }}" || st.With["repository"] != "" || st.With["persist-credentials"] != "false" {
				t.Errorf("step %d checks out %v, want ref ${{ github.sha }} of this repository without persisted credentials", i, st.With)
			}
		case "actions/setup-go":
			setupGo = i
			if st.With["go-version-file"] != "go.mod" || st.With["cache"] != "false" {
				t.Errorf("step %d sets up Go with %v, want go.mod's version and no cache", i, st.With)
			}
		case "actions/download-artifact":
			download = i
			if st.With["run-id"] != "${{ github.event.workflow_run.id }}" || st.With["path"] != "${{ runner.temp }}/plan-report" {
				t.Errorf("step %d downloads %v, want the ci run's artifact in ${{ runner.temp }}/plan-report, outside the workspace", i, st.With)
			}
		default:
			t.Errorf("step %d uses %s: plan-comment.yml needs checkout, setup-go and download-artifact only", i, st.Uses)
		}
		for k, v := range st.Env {
			if !trustedExpression.MatchString(v) {
				t.Errorf("step %d: env %s=%s is not one of the values the pull request's author cannot choose", i, k, v)
			}
		}
		if st.Run == "" {
			continue
		}
		if strings.Contains(st.Run, "${{") {
			t.Errorf("step %d expands an expression in its script (use env)", i)
		}
		if regexp.MustCompile(`\bgit\s|gh\s+(pr|repo|run)\s|curl|wget|\bsource\b|\bbash\b|\bsh\s|chmod|\bmake\b|\bgo\s+(build|test|generate|install)`).MatchString(st.Run) {
			t.Errorf("step %d fetches or runs something besides the renderer:\n%s", i, st.Run)
		}
		// The artifact is only ever read: its PR number by head, the rest by the renderer.
		rest := strings.ReplaceAll(st.Run, `head -n 1 "$REPORT/pr-number"`, "")
		if strings.Contains(st.Run, "go run") {
			if render >= 0 {
				t.Errorf("step %d: a second go run", i)
			}
			render = i
			line := `go run ` + rendererPackage + ` -head "$HEAD_SHA" -o "$RUNNER_TEMP/comment.md" "$REPORT"`
			if strings.Count(st.Run, "go run") != 1 || !strings.Contains(st.Run, line) {
				t.Errorf("step %d does not run the renderer as %q:\n%s", i, line, st.Run)
			}
			rest = strings.ReplaceAll(rest, line, "")
			if st.Env["GH_TOKEN"] != "" || st.Env["GITHUB_TOKEN"] != "" {
				t.Errorf("the renderer's step has a token in its environment")
			}
		}
		if strings.Contains(rest, "REPORT") || strings.Contains(rest, "/plan-report") {
			t.Errorf("step %d uses the artifact otherwise than by reading its PR number or rendering it:\n%s", i, st.Run)
		}
	}
	if checkout < 0 || setupGo < 0 || download < 0 || render < 0 {
		t.Fatalf("checkout %d, setup-go %d, download %d, render %d: a step is missing", checkout, setupGo, download, render)
	}
	if render < checkout || render < setupGo || render < download {
		t.Errorf("the renderer runs (step %d) before checkout, setup-go or download (%d, %d, %d)", render, checkout, setupGo, download)
	}
	pr := slices.IndexFunc(job.Steps, func(st commentStep) bool {
		return strings.Contains(st.Run, `gh api "repos/$REPO/pulls/$pr" --jq .head.sha`)
	})
	if pr < 0 || pr > render || !strings.Contains(job.Steps[pr].Run, `'' | *[!0-9]*)`) || job.Steps[pr].Env["HEAD_SHA"] != "${{ github.event.workflow_run.head_sha }}" {
		t.Errorf("no step checks that the artifact's PR number is a number whose head is the run's commit, before rendering")
	}
	if b, err := os.ReadFile(filepath.Join(rendererPackage, "main.go")); err != nil || !strings.Contains(string(b), "\npackage main\n") {
		t.Errorf("%s is not a main package: %v", rendererPackage, err)
	}
}

// TestPlanReportUploadsDataOnly: ci.yml's plan-report job uploads OUT_DIR/data, which holds the
// data alone; the comment .ci/plan-report renders stays in the run's job summary.
func TestPlanReportUploadsDataOnly(t *testing.T) {
	var wf commentWorkflow
	readYAMLFile(t, filepath.Join(".github", "workflows", "ci.yml"), &wf)
	job, ok := wf.Jobs["plan-report"]
	if !ok {
		t.Fatal("ci.yml has no plan-report job")
	}
	var ran, uploaded bool
	for _, st := range job.Steps {
		if strings.Contains(st.Run, ".ci/plan-report") {
			ran = st.Run == `.ci/plan-report "$BASE_SHA" "$RUNNER_TEMP/plan-report"`
		}
		if strings.HasPrefix(st.Uses, "actions/upload-artifact@") {
			uploaded = st.With["name"] == "plan-report" && st.With["path"] == "${{ runner.temp }}/plan-report/data"
		}
	}
	if !ran || !uploaded {
		t.Errorf("plan-report runs .ci/plan-report into $RUNNER_TEMP/plan-report: %v; uploads its data directory alone as plan-report: %v", ran, uploaded)
	}
}

// stubPlan stands in for the plan binary in TestPlanReportArtifactIsDataOnly: prod's base does
// not plan, staging's diff replaces a stateful resource (exit 1, a whole document), and every
// run leaves a stray file beside the binary, which must not reach the artifact.
const stubPlan = `#!/usr/bin/env bash
set -euo pipefail
stack= out= diff= cost=
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack=$2; shift ;;
    --out) out=$2; shift ;;
    --diff) diff=$2; shift ;;
    --dir) shift ;;
    --cost) cost=1 ;;
  esac
  shift
done
echo '## All clear' > "$(dirname "$0")/stray.md"
if [ -n "$out" ]; then
  case "$0" in *plan-base) [ "$stack" = prod ] && { echo "plan: base plan failed" >&2; exit 2; } ;; esac
  echo '{}' > "$out"
  exit 0
fi
if [ -n "$diff" ]; then
  if [ "$stack" = staging ]; then
    printf '{"stack":"%s","diff":{"stack":"%s","old":"%s","changes":[{"action":"replace","urn":"u","type":"aws:rds/instance:Instance","name":"database","replacedBy":["identifier"],"stateful":true,"blocked":true}],"unchanged":3,"blocked":1}}\n' "$stack" "$stack" "$diff"
    exit 1
  fi
  printf '{"stack":"%s","diff":{"stack":"%s","old":"%s","changes":[{"action":"update","urn":"u","type":"kubernetes:helm.sh/v3:Release","name":"ingress-controller","properties":["values"]}],"unchanged":3,"blocked":0}}\n' "$stack" "$stack" "$diff"
  exit 0
fi
if [ -n "$cost" ]; then
  printf '{"stack":"%s","cost":{"stack":"%s","region":"us-east-1","priceDate":"2026-12-01","sources":[],"floor":[],"monthlyFloor":100.5,"usage":[],"notes":[]},"criticalPath":{"totalMinutes":24.7,"steps":[]}}\n' "$stack" "$stack"
  exit 0
fi
exit 2
`

// TestPlanReportArtifactIsDataOnly runs .ci/plan-report with a stand-in for `go build` (the
// plan binaries are stubPlan; `go run` of the renderer is the real go), so it takes seconds
// instead of two builds of the program. The artifact holds exactly the data files, the comment
// is written beside it, and it is what the renderer makes of the artifact alone.
func TestPlanReportArtifactIsDataOnly(t *testing.T) {
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	tmp := t.TempDir()
	bin, out, summary := filepath.Join(tmp, "bin"), filepath.Join(tmp, "out"), filepath.Join(tmp, "summary.md")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	fakeGo := "#!/usr/bin/env bash\n" +
		"# go build -o OUT . makes a stub plan binary; everything else is the real go.\n" +
		"if [ \"$1\" = build ] && [ \"$2\" = -o ]; then cp \"$STUB_PLAN\" \"$3\"; exit 0; fi\n" +
		"exec \"$REAL_GO\" \"$@\"\n"
	for name, body := range map[string]string{"go": fakeGo, "plan-stub": stubPlan} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(".ci", "plan-report"), "HEAD", out)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "REAL_GO="+realGo,
		"STUB_PLAN="+filepath.Join(bin, "plan-stub"), "PR_NUMBER=123", "GITHUB_STEP_SUMMARY="+summary, "ALLOW_REPLACE=false")
	log, err := cmd.CombinedOutput()
	if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf(".ci/plan-report: %v, want exit 1 (staging replaces its database)\n%s", err, log)
	}

	entries, err := os.ReadDir(filepath.Join(out, "data"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"base-sha", "dev-base.json", "dev-diff.json", "dev-head.json", "pr-number",
		"prod-head.json", "stacks", "staging-base.json", "staging-diff.json", "staging-head.json"}
	if !slices.Equal(got, want) {
		t.Errorf("the artifact holds %q, want %q", got, want)
	}
	for name, body := range map[string]string{
		comment.PRNumberFile: "123\n",
		comment.BaseSHAFile:  string(head),
		comment.StacksFile:   "dev\nstaging\nprod\n",
	} {
		if b, err := os.ReadFile(filepath.Join(out, "data", name)); err != nil || string(b) != body {
			t.Errorf("%s: %q (%v), want %q", name, b, err, body)
		}
	}

	d, err := comment.Load(filepath.Join(out, "data"))
	if err != nil {
		t.Fatalf("the renderer refuses the artifact: %v", err)
	}
	rendered, err := comment.Render(d, comment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(filepath.Join(out, "comment.md"))
	if err != nil || string(written) != rendered {
		t.Errorf("comment.md (%v) is not the artifact's rendering:\n%s\nwant\n%s", err, written, rendered)
	}
	if b, err := os.ReadFile(summary); err != nil || string(b) != rendered {
		t.Errorf("the job summary (%v) is not the comment:\n%s", err, b)
	}
	for _, want := range []string{
		"| staging | 0 | 1 | 0 | 0 | 1 | $100.50 | $100.50 | 24.7 min | 24.7 min |",
		"| prod | no diff | | | | | n/a | $100.50 | n/a | 24.7 min |",
	} {
		if !strings.Contains(rendered, want) {
			t.Errorf("the comment lacks %q:\n%s", want, rendered)
		}
	}
	if strings.Contains(rendered, "All clear") {
		t.Errorf("a stray file reached the comment")
	}
}
