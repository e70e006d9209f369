package main

import (
	"fmt"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// An account per stack (issue 21 item 1): each stack file names its own AWS account, no two
// the same, and every AWS provider the program makes refuses credentials for any other
// account (allowedAccountIds), so a deploy with the wrong credentials fails in the provider's
// configuration, before its first change.
func TestEachStackDeploysToItsOwnAccountOnly(t *testing.T) {
	seen := map[string]string{}
	for _, stack := range stacks {
		_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
		if err != nil {
			t.Fatal(err)
		}
		accounts := raw["aws:allowedAccountIds"]
		if other, dup := seen[accounts]; dup || accounts == "" {
			t.Errorf("%s: aws:allowedAccountIds %s (also %s's)", stack, accounts, other)
		}
		seen[accounts] = stack
		r := run(t, stack, false)
		providers := r.ByType("pulumi:providers:aws")
		if len(providers) < 2 {
			t.Fatalf("%s: %d AWS providers", stack, len(providers))
		}
		for _, p := range providers {
			ids := asSlice(p.Input("allowedAccountIds"))
			if len(ids) != 1 || fmt.Sprintf(`["%v"]`, ids[0]) != accounts {
				t.Errorf("%s: provider %s allows %v, want %s", stack, p.Name, ids, accounts)
			}
		}
	}
}
