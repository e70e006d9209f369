package config

// CacheConfig is the `cache` section. Its fields, defaults and rules are added with its component.
type CacheConfig struct{}

func (c *CacheConfig) applyDefaults(env Env) {}

func (c *CacheConfig) validate(p *problems, env Env) {}
