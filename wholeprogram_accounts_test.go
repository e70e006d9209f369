package main

import (
	"fmt"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Each stack file names the AWS account it deploys to, and every AWS provider the program makes
// refuses credentials for any other account (allowedAccountIds), so a deploy with the wrong
// credentials fails in the provider's configuration, before its first change. (The three may
// still name one account: the bootstrap and the workflows serve all stacks from one account
// until each stack has its own, issue 21.)
func TestEachStackDeploysToItsOwnAccountOnly(t *testing.T) {
	for _, stack := range stacks {
		_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
		if err != nil {
			t.Fatal(err)
		}
		accounts := raw["aws:allowedAccountIds"]
		if accounts == "" {
			t.Fatalf("%s names no account", stack)
		}
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
