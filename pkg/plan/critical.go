package plan

import (
	"fmt"
	"io"
	"sort"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Step is one resource on a chain of creations.
type Step struct {
	URN     string  `json:"urn"`
	Type    string  `json:"type"`
	Name    string  `json:"name"`
	Minutes float64 `json:"minutes"`
	// Finish is when the resource is created, in minutes from the start of a from-zero update.
	Finish float64 `json:"finish"`
	Source string  `json:"source,omitempty"`
}

// Path is the longest chain of creations of a from-zero `pulumi up`: with unlimited
// parallelism, the update takes TotalMinutes.
type Path struct {
	TotalMinutes float64 `json:"totalMinutes"`
	// Steps are the chain in creation order, only those that take time.
	Steps []Step `json:"steps"`
}

// Schedule is the earliest finish of every resource of a from-zero update.
type Schedule struct {
	r      *harness.Result
	finish map[string]float64
	prev   map[string]string // the predecessor that finishes last
	// nodes are the node groups that start with nodes (desired size above zero).
	nodes []string
}

// orderingEdges are the URNs a registration waits for before the engine creates it:
//   - its dependencies and property dependencies (the Go SDK waits for every output an input
//     depends on, and for DependsOn), and resources passed by reference in its inputs;
//   - its provider, which is itself registered (the Kubernetes provider waits for the
//     cluster's kubeconfig);
//   - its parent: the Go SDK awaits the parent's URN before registering a child
//     (prepareResourceInputs in sdk/go/pulumi/context.go). A component's URN is known as soon
//     as it is registered, so the edge costs nothing; it only carries the component's own
//     dependencies, which CineGit's components do not have.
//
// One edge is not the engine's but the scheduler's: a Helm release waits for its workloads
// to be ready, and pods run only on nodes, so a release cannot finish before the node groups
// that start with nodes are ready, whether or not the program says so.
func (s *Schedule) orderingEdges(res *harness.Resource) []string {
	deps := res.AllDependencies()
	if res.Parent != "" && res.Parent != s.r.StackURN() {
		deps = append(deps, res.Parent)
	}
	if res.Type == "kubernetes:helm.sh/v3:Release" {
		deps = append(deps, s.nodes...)
	}
	return deps
}

// NewSchedule computes the earliest finish of every resource, from the estimates.
func NewSchedule(r *harness.Result) *Schedule {
	s := &Schedule{r: r, finish: map[string]float64{}, prev: map[string]string{}}
	byURN := map[string]*harness.Resource{}
	for _, res := range r.Resources {
		byURN[res.URN] = res
		if desired, _ := res.Input("scalingConfig.desiredSize").(float64); res.Type == "aws:eks/nodeGroup:NodeGroup" && desired > 0 {
			s.nodes = append(s.nodes, res.URN)
		}
	}
	visiting := map[string]bool{}
	var visit func(res *harness.Resource) float64
	visit = func(res *harness.Resource) float64 {
		if f, ok := s.finish[res.URN]; ok {
			return f
		}
		if visiting[res.URN] {
			return 0 // a cycle cannot happen in a graph the engine accepted
		}
		visiting[res.URN] = true
		start, prev := 0.0, ""
		deps := s.orderingEdges(res)
		sort.Strings(deps)
		for _, d := range deps {
			dep, ok := byURN[d]
			if !ok || d == res.URN {
				continue
			}
			if f := visit(dep); f > start {
				start, prev = f, d
			}
		}
		s.finish[res.URN] = start + EstimateFor(res).Minutes
		s.prev[res.URN] = prev
		return s.finish[res.URN]
	}
	for _, res := range r.Resources {
		visit(res)
	}
	return s
}

// Finish is the earliest time a resource is created, in minutes from zero.
func (s *Schedule) Finish(urn string) float64 { return s.finish[urn] }

// After reports whether the resource urn waits (transitively) for the resource before.
func (s *Schedule) After(urn, before string) bool {
	seen := map[string]bool{}
	var walk func(u string) bool
	walk = func(u string) bool {
		if u == before {
			return true
		}
		if seen[u] {
			return false
		}
		seen[u] = true
		res := s.r.ByURN(u)
		if res == nil {
			return false
		}
		for _, d := range s.orderingEdges(res) {
			if d != u && walk(d) {
				return true
			}
		}
		return false
	}
	return urn != before && walk(urn)
}

// Critical returns the longest chain, ties broken by URN so that the same graph always gives
// the same chain.
func (s *Schedule) Critical() Path {
	last, total := "", -1.0
	for _, res := range s.r.Resources {
		f := s.finish[res.URN]
		if f > total || f == total && res.URN < last {
			last, total = res.URN, f
		}
	}
	var steps []Step
	for u := last; u != ""; u = s.prev[u] {
		res := s.r.ByURN(u)
		e := EstimateFor(res)
		if e.Minutes == 0 {
			continue
		}
		steps = append(steps, Step{URN: u, Type: res.Type, Name: res.Name, Minutes: e.Minutes, Finish: s.finish[u], Source: e.Source})
	}
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	return Path{TotalMinutes: round2(total), Steps: steps}
}

// CriticalPath is the longest chain of creations of a from-zero update of the run.
func CriticalPath(r *harness.Result) Path { return NewSchedule(r).Critical() }

// WriteCriticalPath renders the chain: each step's estimate and when it is done.
func WriteCriticalPath(w io.Writer, stack string, p Path) {
	fmt.Fprintf(w, "Critical path of a from-zero update of %s: about %.1f minutes\n", stack, p.TotalMinutes)
	fmt.Fprintln(w, "  (typical creation minutes per type, with their sources: pkg/plan/estimates.go)")
	for _, s := range p.Steps {
		fmt.Fprintf(w, "  %6.1f min  +%4.1f  %-50s %s\n", s.Finish, s.Minutes, s.Type, s.Name)
	}
}

func round2(f float64) float64 {
	return float64(int64(f*100+0.5)) / 100
}
