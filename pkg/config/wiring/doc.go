// Package wiring turns each section of the stack configuration into its component's Args: one
// method per component on Config, in a file named after the section, so that main.go is only
// the wiring between components and the components never read configuration.
//
// It is its own package, not methods in pkg/config, because it imports every component: the
// configuration's parser and validation (pkg/config) stay free of the Pulumi provider SDKs, so
// what only parses stack files (the offline plan's pre-check, the bootstrap's cross-checks,
// config's own tests) does not link them.
package wiring

import "github.com/cinegit/infrastructure/pkg/config"

// Config is a parsed, validated stack configuration with the Args builders.
type Config struct {
	*config.Config
}
