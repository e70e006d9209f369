// Package harness runs a Pulumi program offline, under Pulumi's mocks, with the project's real
// Pulumi.yaml and stack settings, and records everything it registers: the same graph
// `pulumi preview` and `pulumi up` would see, without an AWS account.
package harness

import (
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Options choose what to run.
type Options struct {
	// Dir holds Pulumi.yaml and the stack files; default ".".
	Dir string
	// Stack is the stack name (dev, staging, prod).
	Stack string
	// ConfigFile replaces Dir/Pulumi.<stack>.yaml when set.
	ConfigFile string
	// Preview runs with preview semantics: computed outputs are unknown, applies are skipped.
	Preview bool
	// Override sets or replaces raw config values (fully qualified keys), for tests.
	Override map[string]string
	// NewAccount answers lookups as a brand-new account would: no cost data yet (Cost
	// Explorer's tags are empty). Default: an account whose resources have been billed.
	NewAccount bool
}

// LoadConfig returns the project and the raw stack configuration the engine would pass.
func LoadConfig(o Options) (*Project, map[string]string, error) {
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	project, err := LoadProject(dir)
	if err != nil {
		return nil, nil, err
	}
	path := o.ConfigFile
	if path == "" {
		path = filepath.Join(dir, "Pulumi."+o.Stack+".yaml")
	}
	stack, err := LoadStackFile(path)
	if err != nil {
		return nil, nil, err
	}
	raw, err := RawConfig(project, stack)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range o.Override {
		if v == "" {
			delete(raw, k)
			continue
		}
		raw[k] = v
	}
	return project, raw, nil
}

// Run runs program for a stack under mocks and returns what it registered and exported.
func Run(program pulumi.RunFunc, o Options) (*Result, error) {
	if o.Stack == "" {
		return nil, fmt.Errorf("harness: no stack given")
	}
	project, raw, err := LoadConfig(o)
	if err != nil {
		return nil, err
	}
	return runRaw(program, project.Name, o.Stack, raw, o.Preview, o.NewAccount)
}

// RunRaw runs program under mocks with raw configuration (fully qualified keys, objects as
// JSON text) instead of stack files: for component tests that build a small program.
func RunRaw(program pulumi.RunFunc, project, stack string, raw map[string]string, preview bool) (*Result, error) {
	return runRaw(program, project, stack, raw, preview, false)
}

func runRaw(program pulumi.RunFunc, project, stack string, raw map[string]string, preview, newAccount bool) (*Result, error) {
	mocks := NewMocks(project, stack, raw["aws:region"])
	mocks.NewAccount = newAccount

	exports := map[string]Export{}
	body := func(ctx *pulumi.Context) error {
		if err := mocks.registerStandIns(ctx); err != nil {
			return err
		}
		if err := program(ctx); err != nil {
			return err
		}
		// Awaited here, before the program returns: an apply on an export built without the
		// context (pulumi.String("").ToStringOutput()) is not one RunErr waits for.
		for name, in := range ctx.GetCurrentExportMap() {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(in))
			if err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
			exports[name] = Export{Value: res.Value, Known: res.Known, Secret: res.Secret}
		}
		return nil
	}
	err := pulumi.RunErr(body,
		pulumi.WithMocks(project, stack, mocks),
		func(ri *pulumi.RunInfo) {
			ri.Config = raw
			ri.DryRun = preview
		})
	if err != nil {
		return nil, err
	}
	return &Result{
		Project:   project,
		Stack:     stack,
		Preview:   preview,
		Config:    raw,
		Resources: mocks.Resources(),
		Exports:   exports,
	}, nil
}
