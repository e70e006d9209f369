package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one invalid setting: where it is, what it was, and what would be accepted.
type Problem struct {
	Key     string // full key path, e.g. "cinegit:network.availabilityZones[1]"
	Value   string // the offending value as written
	Allowed string // what is allowed instead
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: invalid value %s: %s", p.Key, p.Value, p.Allowed)
}

// ValidationError collects every problem found, so that one run reports them all.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("invalid stack configuration (%d problem(s)):", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  - "+p.String())
	}
	return strings.Join(lines, "\n")
}

// problems accumulates validation findings under the project namespace.
type problems struct {
	ns    string
	items []Problem
}

func (p *problems) add(key string, value any, allowedFormat string, args ...any) {
	p.items = append(p.items, Problem{
		Key:     p.ns + ":" + key,
		Value:   render(value),
		Allowed: fmt.Sprintf(allowedFormat, args...),
	})
}

func (p *problems) err() error {
	if len(p.items) == 0 {
		return nil
	}
	sort.SliceStable(p.items, func(i, j int) bool { return p.items[i].Key < p.items[j].Key })
	return &ValidationError{Problems: p.items}
}

func render(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case []string:
		return fmt.Sprintf("%q", x)
	default:
		return fmt.Sprintf("%v", x)
	}
}
