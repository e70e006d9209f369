// Command pulumi-analyzer-policy-cinegit is CineGit's policy pack as a Pulumi analyzer plugin:
// PulumiPolicy.yaml's `runtime: cinegit` makes the CLI run it for `--policy-pack policy`, with
// the engine's address and the pack's directory as arguments, and read the port it serves on
// from its first line of output (pkg/policy/analyzer). Build it at the commit being deployed:
//
//	go build -o "$(go env GOPATH)/bin/pulumi-analyzer-policy-cinegit" ./policy/analyzer
//
// `pulumi-analyzer-policy-cinegit self-check <pack dir>` starts the plugin as the CLI would and
// requires the mandatory violations of a known-bad resource and stack; the deploy runner runs
// it before any pulumi command and stops if it fails.
package main

import (
	"fmt"
	"os"

	"github.com/cinegit/infrastructure/pkg/policy/analyzer"
)

func main() {
	if err := analyzer.Main(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-analyzer-policy-cinegit: %v\n", err)
		os.Exit(1)
	}
}
