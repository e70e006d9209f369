// Package recovery builds the stack settings of a recovery stack: another instance of a stack
// (prod) in another region, from the committed stack file and a committed override
// (recovery/*.yaml), so the recovery is a planned, tested configuration rather than edits made
// under pressure (docs/region-loss.md).
package recovery

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
)

// Override is a committed recovery override file.
type Override struct {
	// Stack is the recovery stack's name; its resources are named after it, so none of its
	// global names (IAM roles, buckets) collides with the base stack's.
	Stack string `yaml:"stack"`
	// Base is the stack whose Pulumi.<base>.yaml the recovery starts from.
	Base string `yaml:"base"`
	// SecretsProvider is the recovery stack's: a key of the recovery region, since the base's
	// may be in the lost region.
	SecretsProvider string `yaml:"secretsprovider"`
	// Config is merged into the base's config: maps key by key, anything else replaced; a
	// null removes the key.
	Config map[string]any `yaml:"config"`
}

// RestoreLabel is database.restore.label of a recovery's database: the instance is
// cinegit-<stack>-postgres-<label>.
const RestoreLabel = "recovered"

var stackName = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// Load reads an override file.
func Load(path string) (*Override, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var o Override
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case !stackName.MatchString(o.Stack) || !stackName.MatchString(o.Base) || o.Stack == o.Base:
		return nil, fmt.Errorf("%s: stack %q and base %q must be two different stack names", path, o.Stack, o.Base)
	case !strings.HasPrefix(o.SecretsProvider, "awskms://"):
		return nil, fmt.Errorf("%s: secretsprovider %q must be an awskms:// key of the recovery region", path, o.SecretsProvider)
	}
	return &o, nil
}

// StackFile merges the base stack file in dir with the override. With a snapshot (an RDS
// snapshot identifier of the recovery region, encrypted with the recovery stack's database
// key: scripts/copy-db-snapshot.sh), the database is restored from it; without one, the
// configuration is the one that creates that key first (scripts/recover-region.sh).
func (o *Override) StackFile(dir, snapshot string) (*harness.StackFile, error) {
	base, err := harness.LoadStackFile(filepath.Join(dir, "Pulumi."+o.Base+".yaml"))
	if err != nil {
		return nil, err
	}
	for k, v := range base.Config {
		// The base's secrets are encrypted with its own key, possibly in the lost region.
		if m, ok := v.(map[string]any); ok && len(m) == 1 && m["secure"] != nil {
			return nil, fmt.Errorf("recovery: %s in Pulumi.%s.yaml is a secret, which the recovery stack could not decrypt without %s's key", k, o.Base, o.Base)
		}
	}
	merged, ok := merge(base.Config, o.Config).(map[string]any)
	if !ok {
		return nil, errors.New("recovery: the merged config is not a map")
	}
	if snapshot != "" {
		db, _ := merged[config.Project+":database"].(map[string]any)
		if db == nil {
			db = map[string]any{}
		}
		db = maps.Clone(db)
		db["restore"] = map[string]any{"label": RestoreLabel, "snapshotIdentifier": snapshot}
		merged[config.Project+":database"] = db
	}
	return &harness.StackFile{SecretsProvider: o.SecretsProvider, Config: merged}, nil
}

// merge returns over merged into base: maps key by key (a nil value deletes), anything else
// replaced by over.
func merge(base, over any) any {
	bm, ok1 := base.(map[string]any)
	om, ok2 := over.(map[string]any)
	if !ok1 || !ok2 {
		return over
	}
	out := maps.Clone(bm)
	for k, v := range om {
		if v == nil {
			delete(out, k)
			continue
		}
		if prev, ok := out[k]; ok {
			out[k] = merge(prev, v)
		} else {
			out[k] = v
		}
	}
	return out
}

// Validate parses the stack file as the program would: every problem, by key.
func Validate(dir, stack string, f *harness.StackFile) (*config.Config, error) {
	project, err := harness.LoadProject(dir)
	if err != nil {
		return nil, err
	}
	raw, err := harness.RawConfig(project, f)
	if err != nil {
		return nil, err
	}
	return config.Parse(stack, raw)
}

// Marshal renders a stack file with its config keys sorted.
func Marshal(f *harness.StackFile, header string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	keys := slices.Sorted(maps.Keys(f.Config))
	cfg := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range keys {
		var v yaml.Node
		if err := v.Encode(f.Config[k]); err != nil {
			return nil, err
		}
		cfg.Content = append(cfg.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &v)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "secretsprovider"}, {Kind: yaml.ScalarNode, Value: f.SecretsProvider},
	}}
	if f.EncryptedKey != "" {
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "encryptedkey"}, &yaml.Node{Kind: yaml.ScalarNode, Value: f.EncryptedKey})
	}
	doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "config"}, cfg)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// Main is the `recovery-config` subcommand: it writes Pulumi.<stack>.yaml of the override's
// recovery stack (keeping the encryptedkey a `pulumi stack init` wrote there) and prints the
// stack's name. Exit 2 on bad usage or a configuration validation rejects.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("recovery-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "project directory holding Pulumi.yaml and the base stack file")
	snapshot := fs.String("snapshot", "", "restore the database from this snapshot identifier (of the recovery region, under the recovery stack's database key)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cinegit recovery-config [--snapshot ID] [--dir DIR] recovery/<override>.yaml")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	o, err := Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	f, err := o.StackFile(*dir, *snapshot)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if _, err := Validate(*dir, o.Stack, f); err != nil {
		fmt.Fprintf(stderr, "%s merged into Pulumi.%s.yaml: %v\n", fs.Arg(0), o.Base, err)
		return 2
	}
	out := filepath.Join(*dir, "Pulumi."+o.Stack+".yaml")
	if prev, err := harness.LoadStackFile(out); err == nil && prev.SecretsProvider == f.SecretsProvider {
		f.EncryptedKey = prev.EncryptedKey
	}
	header := fmt.Sprintf("# Generated by `cinegit recovery-config %s` from Pulumi.%s.yaml: do not edit or commit\n# (docs/region-loss.md). Edit the override or the base instead.\n", fs.Arg(0), o.Base)
	b, err := Marshal(f, header)
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, o.Stack)
	return 0
}
