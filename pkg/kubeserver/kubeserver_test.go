package kubeserver

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The parts that need no server; the server itself is tested behind the apiserver tag.

func TestParseWarnings(t *testing.T) {
	got := parseWarnings([]string{
		`299 - "would violate PodSecurity \"restricted:latest\": hostPort"`,
		`299 - "v1 ComponentStatus is deprecated in v1.19+"`,
		`malformed`,
	})
	want := []string{`would violate PodSecurity \"restricted:latest\": hostPort`, "v1 ComponentStatus is deprecated in v1.19+"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFindBinaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := FindBinaries(dir); err == nil || !strings.Contains(err.Error(), "etcd") {
		t.Fatalf("an empty directory: want an error naming etcd, got %v", err)
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := FindBinaries(dir); err == nil {
		t.Fatal("files that are not executable: want an error")
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	b, err := FindBinaries(dir)
	if err != nil || b.APIServer != filepath.Join(dir, "kube-apiserver") {
		t.Fatalf("got %+v, %v", b, err)
	}
}
