package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// The trust model as a table: which GitHub context can start which build in which account.
// It is computed, not written: the subjects come from the workflows (their triggers, their
// jobs' environments and the stack each job names), the answers from the launcher roles each
// account's bootstrap creates (their trust policies, and the commands their policies allow).

// launcherGate is one launcher role of one account, as its policies say.
type launcherGate struct {
	account, stack, role, project string
	// region is where the launcher's project is (the recovery launcher's is in the recovery
	// region).
	region             string
	like               bool
	subjects, commands []string
}

// accountLaunchers runs every account's bootstrap and reads its launchers.
func accountLaunchers(t *testing.T) []launcherGate {
	t.Helper()
	var out []launcherGate
	for _, stack := range []string{"dev", "staging", "prod"} {
		_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
		if err != nil {
			t.Fatal(err)
		}
		account := raw[Project+":accountId"]
		r := runStack(t, stack, false, nil)
		_, inline := policiesByRole(t, r)
		for _, k := range runnerKinds {
			if r.Named(tRole, k.Name) == nil {
				continue
			}
			op, subjects := trust(t, r, k.Name)
			st := inline[k.Launcher]
			cond := st["OnlyItsCommands"]["Condition"].(map[string]any)["StringNotEquals"].(map[string]any)
			// arn:aws:codebuild:<region>:<account>:project/<name>
			arn := strings.SplitN(strs(st["RunBuilds"]["Resource"])[0], ":", 6)
			if len(arn) != 6 || arn[4] != harness.AccountID {
				t.Fatalf("%s's launcher %s starts builds of %v", stack, k.Launcher, st["RunBuilds"]["Resource"])
			}
			out = append(out, launcherGate{
				account: account, stack: stack, role: k.Launcher, like: op == "StringLike", subjects: subjects,
				project: strings.TrimPrefix(arn[5], "project/"), region: arn[3],
				commands: strs(cond["codebuild:environment.environmentVariables/PULUMI_COMMAND.value"]),
			})
		}
	}
	return out
}

// accepts is IAM's StringEquals or StringLike ("*" any run of characters, "?" one).
func (g launcherGate) accepts(subject string) bool {
	for _, s := range g.subjects {
		if !g.like {
			if s == subject {
				return true
			}
			continue
		}
		pattern := strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(s))
		if regexp.MustCompile("^" + pattern + "$").MatchString(subject) {
			return true
		}
	}
	return false
}

// jobContext is one way a job can run: its OIDC subject and what it asks its launcher for.
type jobContext struct {
	who, subject, stack, runner, command string
}

// workflowContexts reads every job that starts a runner build, for each trigger, matrix entry
// and dispatch choice, as GitHub would run it on the default branch or a pull request.
func workflowContexts(t *testing.T, cfg *Config) []jobContext {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	var out []jobContext
	for _, f := range files {
		var wf struct {
			On   map[string]any `yaml:"on"`
			Jobs map[string]struct {
				Environment string `yaml:"environment"`
				Strategy    struct {
					Matrix map[string]any `yaml:"matrix"`
				} `yaml:"strategy"`
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		readYAML(t, f, &wf)
		for name, job := range wf.Jobs {
			for _, st := range job.Steps {
				if st.Uses != "./.github/actions/run-in-vpc" {
					continue
				}
				// The values ${{ matrix.stack }} or ${{ inputs.stack }} take.
				stacks := []string{st.With["stack"]}
				switch st.With["stack"] {
				case "${{ matrix.stack }}":
					stacks = nil
					for _, s := range job.Strategy.Matrix["stack"].([]any) {
						stacks = append(stacks, fmt.Sprint(s))
					}
				case "${{ inputs.stack }}":
					stacks = dispatchChoices(t, wf.On)
				}
				for event := range wf.On {
					for _, stack := range stacks {
						env := strings.NewReplacer("${{ matrix.stack }}", stack, "${{ inputs.stack }}", stack).Replace(job.Environment)
						out = append(out, jobContext{
							who:     fmt.Sprintf("%s/%s (%s, %s)", filepath.Base(f), name, event, stack),
							subject: eventSubject(cfg, event, env),
							stack:   stack, runner: st.With["runner"], command: st.With["command"],
						})
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].who < out[j].who })
	return out
}

// eventSubject is the subject GitHub issues a job of the event in the environment, on the
// default branch (push, schedule, workflow_dispatch from main) or a pull request's merge ref.
func eventSubject(cfg *Config, event, environment string) string {
	ref := cfg.mainRef()
	context := "ref:" + ref
	if event == "pull_request" {
		ref, context = "refs/pull/42/merge", "pull_request"
	}
	if environment != "" {
		context = "environment:" + environment
	}
	return cfg.Subject(context, ref)
}

// TestWhoCanStartWhatWhere proves the trust model: every job the workflows run reaches its own
// stack's account and launcher, with a command that launcher allows; nothing but reviewed code
// on main reaches a second account, and that only read-only (the preview launchers); and the
// contexts an attacker controls (a pull request naming a deploy environment, a branch other
// than main, an unapproved preview of staging or prod) are trusted by no launcher at all.
func TestWhoCanStartWhatWhere(t *testing.T) {
	cfg, err := ParseConfig(validRaw())
	if err != nil {
		t.Fatal(err)
	}
	gates := accountLaunchers(t)
	// Who accepts a subject, in which account.
	accepted := func(subject string) []launcherGate {
		var out []launcherGate
		for _, g := range gates {
			if g.accepts(subject) {
				out = append(out, g)
			}
		}
		return out
	}

	var table []string
	for _, c := range workflowContexts(t, cfg) {
		row := fmt.Sprintf("%s: %s ->", c.who, strings.TrimPrefix(c.subject, cfg.subjectPrefix()+":"))
		var own *launcherGate
		for _, g := range accepted(c.subject) {
			row += fmt.Sprintf(" %s (%s): %s %v;", g.stack, g.account, g.project, g.commands)
			if g.region != "us-east-1" {
				row = strings.TrimSuffix(row, ";") + " in " + g.region + ";"
			}
			switch {
			case g.stack == c.stack:
				// A subject may reach more than one launcher of its own account (prod's
				// environment on main: the deploy and the recovery launchers); the job's is
				// the one of its runner.
				if g.role == "cinegit-github-"+c.runner {
					own = &g
				}
			case g.role != "cinegit-github-preview":
				// Reviewed code on main may read every stack (drift checks, previews before an
				// approval); nothing else may reach a second account.
				t.Errorf("%s (subject %s) reaches %s in %s's account too", c.who, c.subject, g.role, g.stack)
			}
		}
		table = append(table, strings.TrimSuffix(row, ";"))
		if own == nil || own.role != "cinegit-github-"+c.runner || !slices.Contains(own.commands, c.command) {
			t.Errorf("%s asks for %s %s of %s, which its subject does not reach there: %+v", c.who, c.runner, c.command, c.stack, own)
		}
	}
	// Each job: its subject, then every account and project that subject can start builds of.
	want := []string{
		"deploy.yml/dev (push, dev): environment:dev:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-deploy [up destroy]",
		"deploy.yml/preview-dev (push, dev): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"deploy.yml/preview-prod (push, prod): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"deploy.yml/preview-staging (push, staging): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		// prod's environment on main reaches the recovery launcher too: the same reviewers
		// approve a deploy and a recovery, into prod's account only.
		"deploy.yml/prod (push, prod): environment:prod:ref:refs/heads/main -> prod (333333333333): cinegit-pulumi-deploy [up]; prod (333333333333): cinegit-pulumi-recover [recover] in us-west-2",
		"deploy.yml/staging (push, staging): environment:staging:ref:refs/heads/main -> staging (222222222222): cinegit-pulumi-deploy [up destroy]",
		"destroy.yml/destroy (workflow_dispatch, dev): environment:dev:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-deploy [up destroy]",
		"destroy.yml/destroy (workflow_dispatch, staging): environment:staging:ref:refs/heads/main -> staging (222222222222): cinegit-pulumi-deploy [up destroy]",
		"drift.yml/drift (schedule, dev): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"drift.yml/drift (schedule, prod): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"drift.yml/drift (schedule, staging): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"drift.yml/drift (workflow_dispatch, dev): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"drift.yml/drift (workflow_dispatch, prod): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"drift.yml/drift (workflow_dispatch, staging): ref:refs/heads/main:ref:refs/heads/main -> dev (111111111111): cinegit-pulumi-preview [preview drift]; staging (222222222222): cinegit-pulumi-preview [preview drift]; prod (333333333333): cinegit-pulumi-preview [preview drift]",
		"preview.yml/approved (pull_request, prod): environment:prod-preview:ref:refs/pull/42/merge -> prod (333333333333): cinegit-pulumi-pr [preview]",
		"preview.yml/approved (pull_request, staging): environment:staging-preview:ref:refs/pull/42/merge -> staging (222222222222): cinegit-pulumi-pr [preview]",
		"preview.yml/dev (pull_request, dev): pull_request:ref:refs/pull/42/merge -> dev (111111111111): cinegit-pulumi-pr [preview]",
		// prod's recovery (recover.yml): the recovery launcher in us-west-2; the subject is the
		// deploy's, so it reaches prod's deploy launcher too, and nothing outside prod's account.
		"recover.yml/recover (workflow_dispatch, prod): environment:prod:ref:refs/heads/main -> prod (333333333333): cinegit-pulumi-deploy [up]; prod (333333333333): cinegit-pulumi-recover [recover] in us-west-2",
	}
	if !slices.Equal(table, want) {
		t.Errorf("the trust table changed:\n%s\nwant:\n%s", strings.Join(table, "\n"), strings.Join(want, "\n"))
	}

	// The one launcher that starts pulumi up or destroy in prod's account, and what it allows.
	for _, g := range gates {
		if g.stack == "prod" && g.role == "cinegit-github-deploy" && !slices.Equal(g.commands, []string{"up"}) {
			t.Errorf("prod's deploy launcher allows %v: prod is never destroyed from CI", g.commands)
		}
	}

	// The recovery launcher: prod's account only, in the recovery region, the recovery command
	// only, and exactly the deploy launcher's subject (prod's environment on main).
	var recovers []launcherGate
	for _, g := range gates {
		if g.role == "cinegit-github-recover" {
			recovers = append(recovers, g)
		}
	}
	if len(recovers) != 1 || recovers[0].stack != "prod" || recovers[0].region != "us-west-2" || recovers[0].like ||
		!slices.Equal(recovers[0].commands, []string{"recover"}) ||
		!slices.Equal(recovers[0].subjects, []string{cfg.Subject("environment:prod", "refs/heads/main")}) {
		t.Errorf("recovery launchers: %+v, want prod's alone, in us-west-2, for prod's environment on main, starting recover", recovers)
	}

	// What someone without a review controls: none of it reaches any account.
	attempts := []struct{ who, subject string }{
		{"a pull request's job in environment dev", cfg.Subject("environment:dev", "refs/pull/42/merge")},
		{"a pull request's job in environment prod", cfg.Subject("environment:prod", "refs/pull/42/merge")},
		{"a branch pushed with a job in environment prod", cfg.Subject("environment:prod", "refs/heads/feature")},
		{"a branch pushed with a job in environment dev", cfg.Subject("environment:dev", "refs/heads/feature")},
		{"a workflow dispatched on a branch", cfg.Subject("ref:refs/heads/feature", "refs/heads/feature")},
		{"a tag", cfg.Subject("ref:refs/tags/v1", "refs/tags/v1")},
		{"a preview environment used from a branch", cfg.Subject("environment:prod-preview", "refs/heads/feature")},
		{"another repository's pull request", "repo:cinegit@100000001/fork@3:pull_request:ref:refs/pull/42/merge"},
		{"the same name, re-created (new IDs)", "repo:cinegit@999/infrastructure@999:environment:prod:ref:refs/heads/main"},
		{"the name-only subject", "repo:cinegit/infrastructure:environment:prod:ref:refs/heads/main"},
	}
	for _, a := range attempts {
		if got := accepted(a.subject); len(got) != 0 {
			t.Errorf("%s (%s) is trusted by %s in %s's account", a.who, a.subject, got[0].role, got[0].stack)
		}
	}
	// Pull requests without an approval reach dev's account only, and there only the
	// pull-request runner; staging's and prod's only through their -preview environment.
	prs := accepted(cfg.Subject("pull_request", "refs/pull/7/merge"))
	if len(prs) != 1 || prs[0].stack != "dev" || prs[0].role != "cinegit-github-pr" {
		t.Errorf("an unapproved pull request reaches %v", prs)
	}
}
