package recovery

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	base := map[string]any{"a": map[string]any{"x": 1, "y": []any{1, 2}, "z": "keep"}, "b": "old", "gone": true}
	over := map[string]any{"a": map[string]any{"x": 2, "y": []any{3}}, "b": "new", "gone": nil, "c": "added"}
	got := merge(base, over).(map[string]any)
	a := got["a"].(map[string]any)
	if a["x"] != 2 || len(a["y"].([]any)) != 1 || a["z"] != "keep" || got["b"] != "new" || got["c"] != "added" {
		t.Errorf("merged %v", got)
	}
	if _, ok := got["gone"]; ok {
		t.Errorf("a null must remove the key: %v", got)
	}
	if base["b"] != "old" || base["a"].(map[string]any)["x"] != 1 {
		t.Errorf("the base changed: %v", base)
	}
}

// TestMainWritesTheRecoveryStackFile: the committed override over a base gives a valid stack
// file with the snapshot restored, keeps an encryptedkey that `pulumi stack init` wrote, and
// a base with a secret, an invalid merge or bad usage exit 2.
func TestMainWritesTheRecoveryStackFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.prod.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	override := filepath.Join("..", "..", "recovery", "prod-us-west-2.yaml")
	out := filepath.Join(dir, "Pulumi.prodwest.yaml")
	if err := os.WriteFile(out, []byte("secretsprovider: awskms://alias/cinegit-pulumi-secrets?region=us-west-2\nencryptedkey: AQID\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--dir", dir, "--snapshot", "cinegit-prodwest-copy-x", override}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(out)
	for _, want := range []string{"encryptedkey: AQID", "aws:region: us-west-2", "snapshotIdentifier: cinegit-prodwest-copy-x", "label: recovered", "edge: false", "cinegit:environment: prod"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("stack file lacks %q:\n%s", want, b)
		}
	}
	if strings.TrimSpace(stdout.String()) != "prodwest" {
		t.Errorf("stdout %q", stdout.String())
	}
	if code := Main([]string{"--dir", dir}, &stdout, &stderr); code != 2 {
		t.Errorf("no override: exit %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("stack: prodwest\nbase: prod\nsecretsprovider: awskms://alias/x?region=us-west-2\nconfig:\n  cinegit:environment: qa\n"), 0o600)
	stderr.Reset()
	if code := Main([]string{"--dir", dir, bad}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "cinegit:environment") {
		t.Errorf("invalid merge: exit %d %s", code, stderr.String())
	}
	secret, _ := os.ReadFile(filepath.Join(dir, "Pulumi.prod.yaml"))
	_ = os.WriteFile(filepath.Join(dir, "Pulumi.prod.yaml"), append(secret, []byte("  cinegit:token:\n    secure: AAAA\n")...), 0o600)
	stderr.Reset()
	if code := Main([]string{"--dir", dir, override}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "is a secret") {
		t.Errorf("a base secret: exit %d %s", code, stderr.String())
	}
}
