package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Project is what the harness needs of Pulumi.yaml.
type Project struct {
	Name    string                    `yaml:"name"`
	Runtime any                       `yaml:"runtime"`
	Config  map[string]ConfigTypeSpec `yaml:"config"`
}

// ConfigTypeSpec is one key of Pulumi.yaml's config schema.
type ConfigTypeSpec struct {
	Type        string `yaml:"type"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
	Secret      bool   `yaml:"secret"`
	Value       any    `yaml:"value"`
}

// StackFile is what the harness needs of Pulumi.<stack>.yaml.
type StackFile struct {
	SecretsProvider string         `yaml:"secretsprovider"`
	EncryptedKey    string         `yaml:"encryptedkey"`
	Config          map[string]any `yaml:"config"`
}

// LoadProject reads dir/Pulumi.yaml.
func LoadProject(dir string) (*Project, error) {
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	var p Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("project file Pulumi.yaml: %w", err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("project file Pulumi.yaml: no project name")
	}
	return &p, nil
}

// LoadStackFile reads a stack settings file.
func LoadStackFile(path string) (*StackFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s StackFile
	if err := yaml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// RawConfig merges the project's schema defaults and values with the stack file's config, as
// the engine does: fully qualified keys, scalars as text, objects and arrays as JSON text.
// Secure values cannot be decrypted offline and are rejected (nothing secret belongs in config).
func RawConfig(project *Project, stack *StackFile) (map[string]string, error) {
	raw := map[string]string{}
	qualify := func(k string) string {
		if strings.Contains(k, ":") {
			return k
		}
		return project.Name + ":" + k
	}
	keys := make([]string, 0, len(project.Config))
	for k := range project.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec := project.Config[k]
		v := spec.Default
		if v == nil {
			v = spec.Value
		}
		if v == nil {
			continue
		}
		s, err := text(v)
		if err != nil {
			return nil, fmt.Errorf("project file Pulumi.yaml, config %s: %w", k, err)
		}
		raw[qualify(k)] = s
	}
	for k, v := range stack.Config {
		if m, ok := v.(map[string]any); ok {
			if _, secure := m["secure"]; secure && len(m) == 1 {
				return nil, fmt.Errorf("config %s is a secret: offline runs cannot decrypt it, and CineGit keeps secrets in Secrets Manager, not config", k)
			}
		}
		s, err := text(v)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", k, err)
		}
		raw[qualify(k)] = s
	}
	return raw, nil
}

func text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, float64:
		return fmt.Sprint(x), nil
	default:
		b, err := json.Marshal(x)
		return string(b), err
	}
}
