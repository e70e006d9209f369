package config

// ClusterConfig is the `cluster` section. Its fields, defaults and rules are added with its component.
type ClusterConfig struct{}

func (c *ClusterConfig) applyDefaults(env Env) {}

func (c *ClusterConfig) validate(p *problems, env Env) {}
