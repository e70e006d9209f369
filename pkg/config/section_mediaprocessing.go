package config

// MediaProcessingConfig is the `mediaprocessing` section. Its fields, defaults and rules are added with its component.
type MediaProcessingConfig struct{}

func (c *MediaProcessingConfig) applyDefaults(env Env) {}

func (c *MediaProcessingConfig) validate(p *problems, env Env) {}
