package kubeserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// For tests: CINEGIT_KUBE_BIN names the directory with etcd and kube-apiserver (default: the
// repository's bin/, where .ci/kube-apiserver/build.sh puts them), and CINEGIT_KUBE_REQUIRED=1
// makes their absence a failure instead of a skip (CI sets it: it builds them first).
const buildHint = ".ci/kube-apiserver/build.sh (about 7 minutes the first time), or set CINEGIT_KUBE_BIN"

// TestBinaries finds the servers for a test, or skips it saying how to build them.
func TestBinaries(tb testing.TB) Binaries {
	tb.Helper()
	dir := os.Getenv("CINEGIT_KUBE_BIN")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "bin")
	}
	b, err := FindBinaries(dir)
	if err != nil {
		if os.Getenv("CINEGIT_KUBE_REQUIRED") != "" {
			tb.Fatalf("%v: build them with %s", err, buildHint)
		}
		tb.Skipf("skipped: %v: build them with %s", err, buildHint)
	}
	return b
}

// StartForTest starts a server for a test and stops it when the test ends.
func StartForTest(tb testing.TB, b Binaries) *Server {
	tb.Helper()
	s, err := Start(context.Background(), Options{Binaries: b, Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// repoRoot is the directory of the nearest go.mod above the working directory (a test runs in
// its package's directory), or the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}
