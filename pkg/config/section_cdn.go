package config

// CDNConfig is the `cdn` section. Its fields, defaults and rules are added with its component.
type CDNConfig struct{}

func (c *CDNConfig) applyDefaults(env Env) {}

func (c *CDNConfig) validate(p *problems, env Env) {}
