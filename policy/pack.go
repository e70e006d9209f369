// Package policy holds CineGit's policy pack: the Rego modules and PulumiPolicy.yaml that
// `pulumi preview --policy-pack policy` runs through pulumi-analyzer-policy-cinegit
// (policy/analyzer, pkg/policy/analyzer).
//
// The files are embedded so that Go code evaluates exactly the same modules offline;
// pkg/policy is that evaluator.
package policy

import "embed"

// Files are the pack's Rego modules (*.rego) and its manifest (PulumiPolicy.yaml).
//
//go:embed *.rego PulumiPolicy.yaml
var Files embed.FS
