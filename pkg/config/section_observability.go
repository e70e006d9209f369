package config

// ObservabilityConfig is the `observability` section. Its fields, defaults and rules are added with its component.
type ObservabilityConfig struct{}

func (c *ObservabilityConfig) applyDefaults(env Env) {}

func (c *ObservabilityConfig) validate(p *problems, env Env) {}
