package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/plan/comment"
)

const (
	baseSHA = "802914545e52a4b1c2d3e4f5a6b7c8d9e0f1a2b3"
	headSHA = "d72a4a20a011b2c3d4e5f6a7b8c9d0e1f2a3b4c5"
)

// artifact writes a one-stack artifact whose only document is dev's cost at the head.
func artifact(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		comment.PRNumberFile: "7\n",
		comment.BaseSHAFile:  baseSHA + "\n",
		comment.StacksFile:   "dev\n",
		comment.HeadFile("dev"): `{"stack":"dev","cost":{"stack":"dev","region":"us-east-1","priceDate":"2026-12-01","sources":[],` +
			`"floor":[],"monthlyFloor":222.61,"usage":[],"notes":[]},"criticalPath":{"totalMinutes":22.8,"steps":[]}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "comment.md")
	var stderr bytes.Buffer
	if code := run([]string{"-head", headSHA, "-o", out, artifact(t)}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	body, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(body), comment.Marker+"\n") || !strings.Contains(string(body), "| dev | no diff | | | | | n/a | $222.61 | n/a | 22.8 min |") {
		t.Errorf("comment:\n%s", body)
	}
}

// TestRunRefuses: refused data leaves the refusal (so an earlier report does not stand for this
// commit) and a one-line reason that quotes the data as ASCII, so it cannot start a workflow
// command on a line of its own.
func TestRunRefuses(t *testing.T) {
	dir := artifact(t)
	hostile := "\n::error::forged\n"
	if err := os.WriteFile(filepath.Join(dir, "evil"+hostile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "comment.md")
	if err := os.WriteFile(out, []byte("an earlier comment"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-head", headSHA, "-o", out, dir}, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr.String())
	}
	body, err := os.ReadFile(out)
	if err != nil || string(body) != comment.Refusal(comment.Options{HeadSHA: headSHA}) {
		t.Errorf("comment (%v):\n%s", err, body)
	}
	if lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "plan-comment: the plan report is refused: ") {
		t.Errorf("reason:\n%s", stderr.String())
	}
}

func TestRunUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "comment.md")
	for _, args := range [][]string{{}, {"-o", out}, {artifact(t)}, {"-o", out, "a", "b"}, {"-x"}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("bad usage wrote %s: %v", out, err)
	}
}
