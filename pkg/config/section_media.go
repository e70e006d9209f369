package config

// MediaConfig is the `media` section. Its fields, defaults and rules are added with its component.
type MediaConfig struct{}

func (c *MediaConfig) applyDefaults(env Env) {}

func (c *MediaConfig) validate(p *problems, env Env) {}
