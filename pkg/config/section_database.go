package config

// DatabaseConfig is the `database` section. Its fields, defaults and rules are added with its component.
type DatabaseConfig struct{}

func (c *DatabaseConfig) applyDefaults(env Env) {}

func (c *DatabaseConfig) validate(p *problems, env Env) {}
