// Package plan is `go run . plan`: the whole program run offline under the harness, rendered as
// a readable plan and as the deployment document `pulumi stack export` writes, and checked
// against the policy pack. It needs no AWS account and no credentials.
package plan

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/policy"
)

// Exit codes.
const (
	ExitClean     = 0 // no mandatory policy violated
	ExitViolation = 1 // a mandatory policy is violated
	ExitUsage     = 2 // bad usage or bad configuration
)

// Options choose a plan.
type Options struct {
	Dir        string // project directory (Pulumi.yaml)
	Stack      string
	ConfigFile string
	Preview    bool
}

// Plan is a run with its policy report.
type Plan struct {
	Result *harness.Result
	Policy *policy.Report
}

// Run plans a stack.
func Run(program pulumi.RunFunc, o Options) (*Plan, error) {
	project, raw, err := harness.LoadConfig(harness.Options{Dir: o.Dir, Stack: o.Stack, ConfigFile: o.ConfigFile})
	if err != nil {
		return nil, err
	}
	// Under mocks the program reads its keys by name and never sees one it does not know;
	// `pulumi up` hands it the whole configuration (see config.FromContext). Checking the stack
	// file's keys here makes a misspelled section fail offline as it does there.
	if _, err := config.Parse(o.Stack, raw); err != nil {
		return nil, err
	}
	r, err := harness.RunRaw(program, project.Name, o.Stack, raw, o.Preview)
	if err != nil {
		return nil, err
	}
	rep, err := Evaluate(r)
	if err != nil {
		return nil, err
	}
	return &Plan{Result: r, Policy: rep}, nil
}

// Evaluate checks a run against the policy pack.
func Evaluate(r *harness.Result) (*policy.Report, error) {
	rep, err := policy.Evaluate(context.Background(), PolicyResources(r))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return rep, nil
}

// PolicyResources converts a run into the policy pack's input: what the analyzer sees. In a
// preview, an input whose value is not known yet is absent from the registration but still
// listed in its property dependencies; it is given to the policies as Pulumi's unknown
// sentinel, as the real analyzer receives it, so that "not known yet" never reads as "not set".
func PolicyResources(r *harness.Result) []policy.Resource {
	out := make([]policy.Resource, 0, len(r.Resources))
	for _, res := range r.Resources {
		props := policy.Props(res.Inputs)
		for k := range res.PropertyDependencies {
			if _, ok := props[k]; !ok && r.Preview {
				props[k] = policy.Unknown
			}
		}
		out = append(out, policy.Resource{
			URN:    res.URN,
			Type:   res.Type,
			Name:   res.Name,
			Custom: res.Custom,
			Props:  props,
			Options: policy.Options{
				Protect:              res.Protect,
				RetainOnDelete:       res.RetainOnDelete,
				Parent:               res.Parent,
				Provider:             res.Provider,
				Dependencies:         res.AllDependencies(),
				PropertyDependencies: res.PropertyDependencies,
			},
		})
	}
	return out
}

var kubernetesMinor = regexp.MustCompile(`^1\.[0-9]{2}$`)

// Main is the `plan` subcommand: it parses args, plans, writes the requested outputs and
// returns the exit code.
func Main(program pulumi.RunFunc, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack to plan: dev, staging or prod (required)")
	configFile := fs.String("config-file", "", "stack settings file to use instead of Pulumi.<stack>.yaml")
	out := fs.String("out", "", "write the deployment (pulumi stack export format, version 3) to this file")
	preview := fs.Bool("preview", false, "preview semantics: computed outputs are unknown")
	format := fs.String("format", "text", "output format: text or json")
	dir := fs.String("dir", ".", "project directory holding Pulumi.yaml")
	cost := fs.Bool("cost", false, "report the estimated monthly cost (the floor, and the usage-based prices) instead of the plan")
	critical := fs.Bool("critical-path", false, "report the estimated critical path of a from-zero update instead of the plan")
	quotas := fs.Bool("quotas", false, "report what the stack needs of each AWS quota it can exhaust, against a new account's defaults, instead of the plan")
	diffOld := fs.String("diff", "", "report what changes compared with an earlier `plan --out` deployment FILE instead of the plan")
	allowReplace := fs.Bool("allow-replace", false, "with --diff: allow replacing or deleting protected or stateful resources")
	kubernetes := fs.String("kubernetes-version", "", "plan this Kubernetes version (1.NN) although pkg/config/kubernetes-versions.json does not list it yet: an upgrade prepared before EKS releases it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run . plan --stack <dev|staging|prod> [--preview] [--format text|json] [--out FILE] [--config-file FILE] [--cost] [--critical-path] [--quotas] [--diff OLD.json [--allow-replace]] [--kubernetes-version 1.NN]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	switch {
	case *stack == "":
		fmt.Fprintln(stderr, "plan: --stack is required (dev, staging or prod)")
		return ExitUsage
	case *format != "text" && *format != "json":
		fmt.Fprintf(stderr, "plan: --format %q: allowed values are text and json\n", *format)
		return ExitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "plan: unexpected arguments %q\n", fs.Args())
		return ExitUsage
	case *allowReplace && *diffOld == "":
		fmt.Fprintln(stderr, "plan: --allow-replace needs --diff")
		return ExitUsage
	case *kubernetes != "" && !kubernetesMinor.MatchString(*kubernetes):
		fmt.Fprintf(stderr, "plan: --kubernetes-version %q: a Kubernetes minor like 1.37\n", *kubernetes)
		return ExitUsage
	}
	if *kubernetes != "" {
		// The offline plan alone may plan a version EKS does not list yet; nothing deploys it.
		config.PlannedKubernetesVersion = *kubernetes
		defer func() { config.PlannedKubernetesVersion = "" }()
		fmt.Fprintf(stderr, "plan: Kubernetes %s is planned although pkg/config/kubernetes-versions.json may not list it: no deployment accepts it until it does\n", *kubernetes)
	}
	var old *apitype.DeploymentV3
	if *diffOld != "" {
		var err error
		if old, err = ReadDeployment(*diffOld); err != nil {
			fmt.Fprintf(stderr, "plan: --diff: %v\n", err)
			return ExitUsage
		}
	}

	p, err := Run(program, Options{Dir: *dir, Stack: *stack, ConfigFile: *configFile, Preview: *preview})
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			fmt.Fprintln(stderr, verr.Error())
		} else {
			fmt.Fprintf(stderr, "plan: %v\n", err)
		}
		return ExitUsage
	}
	code := ExitClean
	if len(p.Policy.Violations()) > 0 {
		code = ExitViolation
	}

	if *cost || *critical || *quotas || old != nil {
		rc, err := writeReports(stdout, p, *format, reports{cost: *cost, critical: *critical, quotas: *quotas, old: old, oldName: *diffOld})
		if err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return ExitUsage
		}
		if rc.blocked > 0 && !*allowReplace && code == ExitClean {
			fmt.Fprintf(stderr, "plan: %d protected or stateful resources would be replaced or deleted (--allow-replace allows it)\n", rc.blocked)
			code = ExitViolation
		}
	} else if *format == "json" {
		if err := writeJSON(stdout, p); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return ExitUsage
		}
	} else {
		WriteText(stdout, p, isTerminal(stdout))
	}
	if *out != "" {
		if code != ExitClean {
			fmt.Fprintf(stderr, "plan: not writing %s: a mandatory policy is violated\n", *out)
			return code
		}
		dep, err := Deployment(p.Result)
		if err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return ExitUsage
		}
		if err := writeFileAtomic(*out, dep); err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return ExitUsage
		}
	}
	return code
}

// reports are the reports asked for instead of the plan.
type reports struct {
	cost, critical, quotas bool
	old                    *apitype.DeploymentV3
	oldName                string
}

type reportResult struct{ blocked int }

// writeReports writes the diff, the cost, the critical path and the quotas, in that order, as text or as
// one JSON object with a key per report.
func writeReports(w io.Writer, p *Plan, format string, want reports) (reportResult, error) {
	var res reportResult
	doc := map[string]any{"stack": p.Result.Stack}
	var sections []func()
	if want.old != nil {
		u, err := Deployment(p.Result)
		if err != nil {
			return res, err
		}
		cur, err := decode(u)
		if err != nil {
			return res, err
		}
		d := Diff(p.Result.Stack, want.oldName, want.old, cur)
		res.blocked = d.Blocked
		doc["diff"] = d
		sections = append(sections, func() { WriteDiff(w, d) })
	}
	if want.cost {
		c, err := Cost(p.Result)
		if err != nil {
			return res, err
		}
		doc["cost"] = c
		sections = append(sections, func() { WriteCost(w, c) })
	}
	if want.critical {
		cp := CriticalPath(p.Result)
		doc["criticalPath"] = cp
		sections = append(sections, func() { WriteCriticalPath(w, p.Result.Stack, cp) })
	}
	if want.quotas {
		qs := Quotas(p.Result)
		doc["quotas"] = qs
		sections = append(sections, func() { WriteQuotas(w, p.Result.Stack, qs) })
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return res, enc.Encode(doc)
	}
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		s()
	}
	return res, nil
}

// jsonPlan is the --format json document.
type jsonPlan struct {
	Stack     string                      `json:"stack"`
	Preview   bool                        `json:"preview"`
	Resources []jsonResource              `json:"resources"`
	Counts    map[string]int              `json:"counts"`
	Outputs   map[string]any              `json:"outputs"`
	Policy    map[string][]policy.Finding `json:"policy"`
	// CriticalPath is the estimated longest chain of a from-zero update.
	CriticalPath Path `json:"criticalPath"`
}

type jsonResource struct {
	URN       string         `json:"urn"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	Parent    string         `json:"parent,omitempty"`
	Custom    bool           `json:"custom"`
	Protect   bool           `json:"protect,omitempty"`
	Inputs    map[string]any `json:"inputs,omitempty"`
	DependsOn []string       `json:"dependsOn,omitempty"`
}

func writeJSON(w io.Writer, p *Plan) error {
	doc := jsonPlan{
		Stack: p.Result.Stack, Preview: p.Result.Preview,
		Counts: map[string]int{}, Outputs: map[string]any{},
		Policy: map[string][]policy.Finding{
			"mandatory":  p.Policy.Violations(),
			"advisory":   p.Policy.Warnings(),
			"exceptions": p.Policy.Exceptions(),
		},
		CriticalPath: CriticalPath(p.Result),
	}
	for _, res := range p.Result.Resources {
		inputs, _ := harness.Plain(resourceProps(res)).(map[string]any)
		doc.Resources = append(doc.Resources, jsonResource{
			URN: res.URN, Type: res.Type, Name: res.Name, Parent: res.Parent, Custom: res.Custom,
			Protect: res.Protect, Inputs: redactSecrets(res, inputs), DependsOn: res.AllDependencies(),
		})
		doc.Counts[res.Type]++
	}
	for name, e := range p.Result.Exports {
		switch {
		case !e.Known:
			doc.Outputs[name] = "(known after apply)"
		case e.Secret:
			doc.Outputs[name] = "[secret]"
		default:
			doc.Outputs[name] = e.Value
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// writeFileAtomic writes v as JSON to path through a temporary file, so a failure leaves
// nothing partial behind.
func writeFileAtomic(path string, v *apitype.UntypedDeployment) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
