package main

import (
	"fmt"
	"os"
)

// runPlan runs the offline plan; see pkg/plan.
func runPlan(args []string) int {
	fmt.Fprintln(os.Stderr, "plan: not yet available")
	return 2
}
