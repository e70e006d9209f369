package config

// GitOpsConfig is the `gitops` section. Its fields, defaults and rules are added with its component.
type GitOpsConfig struct{}

func (c *GitOpsConfig) applyDefaults(env Env) {}

func (c *GitOpsConfig) validate(p *problems, env Env) {}
