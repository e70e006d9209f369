package config

import (
	"errors"
	"strings"
	"testing"
)

// TestEnvironment: a stack is its own environment unless cinegit:environment names one of
// dev, staging, prod; then that environment's rules apply to it, whatever its name (prod's
// region-loss recovery stack must keep every guarantee prod keeps).
func TestEnvironment(t *testing.T) {
	c, err := Parse("dev", base())
	if err != nil || c.Environment != "dev" {
		t.Fatalf("default: %v %v", c, err)
	}
	// prod's whole configuration under another stack name is prod.
	c, err = Parse("prodwest", prodWith("cinegit:environment", "prod"))
	if err != nil || c.Environment != "prod" || c.Stack != "prodwest" {
		t.Fatalf("prodwest as prod: %+v %v", c, err)
	}
	// The rules follow the environment: a prod instance without protect is refused, which a
	// stack of another name with the same settings would not be.
	raw := prodWith("cinegit:environment", "prod")
	delete(raw, "cinegit:protect")
	if _, err := Parse("prodwest", raw); !hasProblem(err, "cinegit:protect", "true for stack") {
		t.Errorf("prod's rules do not apply to prodwest: %v", err)
	}
	raw = prodWith()
	delete(raw, "cinegit:protect")
	if _, err := Parse("prodwest", raw); hasProblem(err, "cinegit:protect", "") {
		t.Errorf("a stack of its own environment got prod's rules: %v", err)
	}
	if _, err := Parse("prodwest", prodWith("cinegit:environment", "qa")); !hasProblem(err, "cinegit:environment", `the stack's own name ("prodwest", the default) or one of dev, staging, prod`) {
		t.Errorf("an environment without rules: %v", err)
	}
}

func hasProblem(err error, key, allowed string) bool {
	var v *ValidationError
	if !errors.As(err, &v) {
		return false
	}
	for _, p := range v.Problems {
		if p.Key == key && strings.Contains(p.Allowed, allowed) {
			return true
		}
	}
	return false
}
