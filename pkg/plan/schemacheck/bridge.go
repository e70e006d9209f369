package schemacheck

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
)

// Bridge is what a bridged provider's bridge-metadata.json (provider/cmd/pulumi-resource-<name>/
// in pulumi-aws and pulumi-random) says of names: which Terraform resource type each Pulumi
// type token bridges, and the properties whose Pulumi name is not the camelCase of the
// Terraform one (pluralized lists, renamed fields), per type token, nested types included.
type Bridge struct {
	Resources map[string]string            // "aws:rds/instance:Instance" -> "aws_db_instance"
	Renamed   map[string]map[string]string // type token -> Terraform name -> Pulumi name
}

// ReadBridge reads a bridge-metadata.json.
func ReadBridge(path string) (*Bridge, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Renames struct {
			Resources         map[string]string            `json:"resources"`
			RenamedProperties map[string]map[string]string `json:"renamedProperties"`
		} `json:"renames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Renames.Resources) == 0 {
		return nil, fmt.Errorf("%s: no renames.resources: not a bridge-metadata.json?", path)
	}
	br := &Bridge{Resources: doc.Renames.Resources, Renamed: map[string]map[string]string{}}
	for tok, props := range doc.Renames.RenamedProperties {
		m := map[string]string{}
		for pulumiName, tfName := range props {
			m[tfName] = pulumiName
		}
		br.Renamed[tok] = m
	}
	return br, nil
}

// camel is the bridge's default name for a Terraform attribute: snake_case to camelCase.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			r := []rune(parts[i])
			r[0] = unicode.ToUpper(r[0])
			parts[i] = string(r)
		}
	}
	return strings.Join(parts, "")
}

func pascal(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// PulumiPaths turns the Terraform attribute paths of a type into the Pulumi input paths
// `plan --diff` compares. A nested block's properties are named in its own type, which the
// bridge calls <Resource><Block> in the resource's module (aws:rds/InstanceS3Import:...).
func (b *Bridge) PulumiPaths(token string, tfPaths []string) []string {
	mod, res := splitToken(token)
	var out []string
	for _, path := range tfPaths {
		typeTok := token
		typeName := res
		var parts []string
		for i, seg := range strings.Split(path, ".") {
			name := camel(seg)
			if r, ok := b.Renamed[typeTok][seg]; ok {
				name = r
			}
			parts = append(parts, name)
			if i == 0 {
				typeName = res
			}
			typeName += pascal(camel(seg))
			typeTok = mod + "/" + typeName + ":" + typeName
		}
		out = append(out, strings.Join(parts, "."))
	}
	sort.Strings(out)
	return out
}

// splitToken splits "aws:rds/instance:Instance" into "aws:rds" and "Instance".
func splitToken(tok string) (string, string) {
	i := strings.LastIndex(tok, ":")
	j := strings.Index(tok, "/")
	if i < 0 || j < 0 || j > i {
		return tok, ""
	}
	return tok[:j], tok[i+1:]
}
