package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/policy"
)

// palette colours text only when writing to a terminal.
type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) bold(s string) string   { return p.wrap("1", s) }
func (p palette) red(s string) string    { return p.wrap("31", s) }
func (p palette) yellow(s string) string { return p.wrap("33", s) }
func (p palette) green(s string) string  { return p.wrap("32", s) }
func (p palette) dim(s string) string    { return p.wrap("2", s) }

// WriteText renders a plan for a terminal: the component tree, counts per type, the stack
// outputs and the policy results by severity.
func WriteText(w io.Writer, p *Plan, colour bool) {
	c := palette{on: colour}
	r := p.Result
	mode := "update"
	if r.Preview {
		mode = "preview (unknown outputs)"
	}
	fmt.Fprintf(w, "%s stack %s, %s semantics, %d resources\n\n", c.bold("CineGit plan:"), r.Stack, mode, len(r.Resources))

	fmt.Fprintln(w, c.bold("Resource tree"))
	stackURN := r.StackURN()
	var roots []*harness.Resource
	for _, res := range r.Resources {
		if res.Parent == "" || res.Parent == stackURN || r.ByURN(res.Parent) == nil {
			roots = append(roots, res)
		}
	}
	sortResources(roots)
	for _, res := range roots {
		writeTree(w, r, res, 1, c)
	}

	fmt.Fprintln(w, "\n"+c.bold("Resources by type"))
	counts := map[string]int{}
	for _, res := range r.Resources {
		counts[res.Type]++
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(w, "  %4d  %s\n", counts[t], t)
	}

	fmt.Fprintln(w, "\n"+c.bold("Stack outputs"))
	names := make([]string, 0, len(r.Exports))
	for n := range r.Exports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-28s %s\n", n, exportText(r.Exports[n]))
	}

	fmt.Fprintln(w, "\n"+c.bold("Policy ("+policy.PackName+")"))
	writePolicy(w, p.Policy, c)

	fmt.Fprintln(w)
	WriteCriticalPath(w, r.Stack, CriticalPath(r))
}

func writeTree(w io.Writer, r *harness.Result, res *harness.Resource, depth int, c palette) {
	indent := strings.Repeat("  ", depth)
	children := r.Children(res.URN)
	sortResources(children)
	label := fmt.Sprintf("%s%s %s", indent, res.Type, c.bold(res.Name))
	if !res.Custom {
		label += c.dim(fmt.Sprintf("  (%d resources)", len(r.Descendants(res.URN))))
	}
	var flags []string
	if res.Protect {
		flags = append(flags, "protect")
	}
	if res.RetainOnDelete {
		flags = append(flags, "retainOnDelete")
	}
	if len(res.IgnoreChanges) > 0 {
		flags = append(flags, "ignoreChanges="+strings.Join(res.IgnoreChanges, ","))
	}
	if len(flags) > 0 {
		label += " " + c.yellow("["+strings.Join(flags, " ")+"]")
	}
	fmt.Fprintln(w, label)
	for _, ch := range children {
		writeTree(w, r, ch, depth+1, c)
	}
}

func exportText(e harness.Export) string {
	switch {
	case !e.Known:
		return "(known after apply)"
	case e.Secret:
		return "[secret]"
	}
	b, err := json.Marshal(e.Value)
	if err != nil {
		return fmt.Sprint(e.Value)
	}
	s := string(b)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func writePolicy(w io.Writer, rep *policy.Report, c palette) {
	if rep == nil {
		fmt.Fprintln(w, "  not evaluated")
		return
	}
	groups := []struct {
		title    string
		findings []policy.Finding
		colour   func(string) string
	}{
		{"mandatory violations", rep.Violations(), c.red},
		{"advisory warnings", rep.Warnings(), c.yellow},
		{"exceptions (declared next to the resource)", rep.Exceptions(), c.dim},
	}
	for _, g := range groups {
		fmt.Fprintf(w, "  %s: %d\n", g.colour(g.title), len(g.findings))
		for _, f := range g.findings {
			line := fmt.Sprintf("    - %s: %s (%s %s)", f.Rule, f.Message, f.Type, f.Name)
			if f.Reason != "" {
				line += ", reason: " + f.Reason
			}
			fmt.Fprintln(w, g.colour(line))
		}
	}
	if len(rep.Violations()) == 0 {
		fmt.Fprintln(w, "  "+c.green("no mandatory policy is violated"))
	}
}

// sortResources orders resources by type and name, so a plan reads the same on every run.
func sortResources(rs []*harness.Resource) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Type != rs[j].Type {
			return rs[i].Type < rs[j].Type
		}
		return rs[i].Name < rs[j].Name
	})
}
