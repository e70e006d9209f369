package main

import (
	"os"

	"github.com/cinegit/infrastructure/pkg/plan"
)

// runPlan is `go run . plan`: the same program, offline, under the harness (see pkg/plan).
func runPlan(args []string) int {
	return plan.Main(program, args, os.Stdout, os.Stderr)
}
