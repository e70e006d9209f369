// Package comment renders the plan report of a pull request (docs/plan-reports.md, "The
// pull-request report") from data: the JSON documents `plan --diff` and
// `plan --cost --critical-path` write for every stack, at the base and at the head, the pull
// request's number and the base commit, as .ci/plan-report leaves them in its artifact.
//
// The artifact comes from the pull request's own run, so everything in it is untrusted. It is
// read with fixed file names and sizes, decoded strictly (unknown fields, trailing data and
// out-of-range numbers are refused), and rendered from typed fields only: counts, money and
// minutes are formatted from numbers, and every string from the data is shown escaped inside
// a code block that no byte of the data can close. The comment's marker and every sentence
// are the renderer's own.
//
// It uses the standard library only, so the plan-comment workflow builds it from the default
// branch in seconds, without compiling the Pulumi program.
package comment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The artifact's files: three one-line files and, per stack, up to three JSON documents. A
// missing document means that plan did not run to the end (the ci run's log says why).
const (
	// PRNumberFile holds the pull request's number ("" outside a pull request).
	PRNumberFile = "pr-number"
	// BaseSHAFile holds the base commit's full SHA.
	BaseSHAFile = "base-sha"
	// StacksFile holds the stacks' names, one a line, in the order the comment shows them.
	StacksFile = "stacks"
)

// DiffFile is `plan --diff BASE --format json` of a stack at the head.
func DiffFile(stack string) string { return stack + "-diff.json" }

// BaseFile is `plan --cost --critical-path --format json` of a stack at the base.
func BaseFile(stack string) string { return stack + "-base.json" }

// HeadFile is `plan --cost --critical-path --format json` of a stack at the head.
func HeadFile(stack string) string { return stack + "-head.json" }

// Bounds on what is read. A plan document of today's largest stack is about 170 KB (a diff that
// replaces everything in prod: 633 changes) or 14 KB (cost and critical path).
const (
	MaxFileBytes   = 4 << 20
	MaxStacks      = 16
	MaxChanges     = 20000
	MaxListItems   = 1000 // properties, cost lines, usage prices, notes, sources, steps
	MaxStringBytes = 2048
	maxMoney       = 1e9 // dollars a month, or per unit
	maxQuantity    = 1e9
	maxMinutes     = 1e5
	maxCount       = 1e7 // unchanged resources, blocked changes
)

var (
	stackName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	fullSHA   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	prNumber  = regexp.MustCompile(`^[0-9]{0,10}$`)
	actions   = map[string]bool{"create": true, "replace": true, "update": true, "delete": true}
)

// Data is the whole artifact.
type Data struct {
	PullRequest string // decimal digits, or "" outside a pull request
	BaseSHA     string
	Stacks      []Stack
}

// Stack is one stack's documents; a nil one did not run to the end.
type Stack struct {
	Name string
	Diff *Report // `plan --diff`
	Base *Report // `plan --cost --critical-path` at the base
	Head *Report // the same at the head
}

// Report is the document `plan --format json` writes with --diff, --cost or --critical-path
// (pkg/plan's writeReports): one key per report asked for. The types below mirror pkg/plan's
// field by field; pkg/plan's TestReportsDecodeInTheCommentRenderer keeps them in step.
type Report struct {
	Stack        string `json:"stack"`
	Diff         *Diff  `json:"diff,omitempty"`
	Cost         *Cost  `json:"cost,omitempty"`
	CriticalPath *Path  `json:"criticalPath,omitempty"`
}

// Diff mirrors plan.DiffReport.
type Diff struct {
	Stack     string   `json:"stack"`
	Old       string   `json:"old"`
	Changes   []Change `json:"changes"`
	Unchanged int      `json:"unchanged"`
	Blocked   int      `json:"blocked"`
}

// Change mirrors plan.Change.
type Change struct {
	Action     string   `json:"action"`
	URN        string   `json:"urn"`
	Type       string   `json:"type"`
	Name       string   `json:"name"`
	Properties []string `json:"properties,omitempty"`
	ReplacedBy []string `json:"replacedBy,omitempty"`
	Stateful   bool     `json:"stateful,omitempty"`
	Protected  bool     `json:"protected,omitempty"`
	Blocked    bool     `json:"blocked,omitempty"`
}

// Cost mirrors plan.CostReport.
type Cost struct {
	Stack     string       `json:"stack"`
	Region    string       `json:"region"`
	PriceDate string       `json:"priceDate"`
	Sources   []string     `json:"sources"`
	Floor     []CostLine   `json:"floor"`
	Monthly   float64      `json:"monthlyFloor"`
	Usage     []UsagePrice `json:"usage"`
	Notes     []string     `json:"notes"`
	Footage   *Footage     `json:"footage"`
}

// Footage mirrors plan.FootageCost.
type Footage struct {
	Assumptions []FootageAssumption `json:"assumptions"`
	Rates       []FootageRate       `json:"rates"`
	Scenario    FootageScenario     `json:"scenario"`
}

// FootageAssumption mirrors plan.FootageAssumption.
type FootageAssumption struct {
	Item   string  `json:"item"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
}

// FootageRate mirrors plan.FootageRate.
type FootageRate struct {
	Item  string  `json:"item"`
	Price float64 `json:"price"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
}

// FootageScenario mirrors plan.FootageScenario.
type FootageScenario struct {
	Hours   float64       `json:"hours"`
	Views   float64       `json:"views"`
	Lines   []FootageRate `json:"lines"`
	Monthly float64       `json:"monthly"`
}

// CostLine mirrors plan.CostLine.
type CostLine struct {
	Item      string   `json:"item"`
	Resources []string `json:"resources"`
	Quantity  float64  `json:"quantity"`
	Unit      string   `json:"unit"`
	UnitPrice float64  `json:"unitPrice"`
	Monthly   float64  `json:"monthly"`
	Note      string   `json:"note,omitempty"`
}

// UsagePrice mirrors plan.UsagePrice.
type UsagePrice struct {
	Item  string  `json:"item"`
	Price float64 `json:"price"`
	Unit  string  `json:"unit"`
}

// Path mirrors plan.Path.
type Path struct {
	TotalMinutes float64 `json:"totalMinutes"`
	Steps        []Step  `json:"steps"`
}

// Step mirrors plan.Step.
type Step struct {
	URN     string  `json:"urn"`
	Type    string  `json:"type"`
	Name    string  `json:"name"`
	Minutes float64 `json:"minutes"`
	Finish  float64 `json:"finish"`
	Source  string  `json:"source,omitempty"`
}

// Load reads an artifact directory. It holds the three one-line files and nothing but the
// documents of the stacks they name: any other entry, a directory or a link among them, or a
// file over MaxFileBytes is refused, as is a document that does not decode strictly or does
// not validate.
func Load(dir string) (*Data, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(4 + 3*MaxStacks)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(entries) > 3+3*MaxStacks {
		return nil, fmt.Errorf("%s: more than %d entries", dir, 3+3*MaxStacks)
	}
	present := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%q is not a regular file", e.Name())
		}
		present[e.Name()] = true
	}
	read := func(name string) ([]byte, error) {
		delete(present, name)
		return readFile(filepath.Join(dir, name))
	}

	d := &Data{}
	line, err := read(PRNumberFile)
	if err != nil {
		return nil, err
	}
	d.PullRequest = strings.TrimSuffix(string(line), "\n")
	if line, err = read(BaseSHAFile); err != nil {
		return nil, err
	}
	d.BaseSHA = strings.TrimSuffix(string(line), "\n")
	list, err := read(StacksFile)
	if err != nil {
		return nil, err
	}
	names := strings.Split(strings.TrimSuffix(string(list), "\n"), "\n")
	if len(names) > MaxStacks {
		return nil, fmt.Errorf("%s: %d stacks, at most %d", StacksFile, len(names), MaxStacks)
	}
	for _, name := range names {
		if !stackName.MatchString(name) {
			return nil, fmt.Errorf("%s: stack name %q is not lower-case letters, digits and dashes", StacksFile, name)
		}
		st := Stack{Name: name}
		for _, doc := range []struct {
			file string
			into **Report
		}{{DiffFile(name), &st.Diff}, {BaseFile(name), &st.Base}, {HeadFile(name), &st.Head}} {
			if !present[doc.file] {
				continue
			}
			b, err := read(doc.file)
			if err != nil {
				return nil, err
			}
			if *doc.into, err = ParseReport(b); err != nil {
				return nil, fmt.Errorf("%s: %w", doc.file, err)
			}
		}
		d.Stacks = append(d.Stacks, st)
	}
	if len(present) > 0 {
		extra := make([]string, 0, len(present))
		for name := range present {
			extra = append(extra, name)
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("unexpected files %q (the artifact holds %s, %s, %s and the stacks' documents only)",
			extra, PRNumberFile, BaseSHAFile, StacksFile)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// readFile reads a regular file of at most MaxFileBytes.
func readFile(path string) ([]byte, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", filepath.Base(path), MaxFileBytes)
	}
	return b, nil
}

// ParseReport decodes one plan document strictly: a field the types above do not have, a
// second document after the first, or a number out of float64's range is an error.
func ParseReport(b []byte) (*Report, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON document")
	}
	return &r, nil
}

// Validate checks what Render relies on: the names of the stacks and commits, that each
// document is the report its file says and belongs to its stack, the actions, the bounds on
// lists and strings, that every number is finite, non-negative and bounded, and that the
// blocked count is the number of blocked changes. Render calls it.
func (d *Data) Validate() error {
	if !prNumber.MatchString(d.PullRequest) {
		return fmt.Errorf("%s: %q is not a number", PRNumberFile, d.PullRequest)
	}
	if !fullSHA.MatchString(d.BaseSHA) {
		return fmt.Errorf("%s: %q is not a full commit SHA", BaseSHAFile, d.BaseSHA)
	}
	if len(d.Stacks) == 0 || len(d.Stacks) > MaxStacks {
		return fmt.Errorf("%d stacks, want 1 to %d", len(d.Stacks), MaxStacks)
	}
	seen := map[string]bool{}
	for _, st := range d.Stacks {
		if !stackName.MatchString(st.Name) {
			return fmt.Errorf("stack name %q is not lower-case letters, digits and dashes", st.Name)
		}
		if seen[st.Name] {
			return fmt.Errorf("stack %s is listed twice", st.Name)
		}
		seen[st.Name] = true
		if err := st.validate(); err != nil {
			return fmt.Errorf("stack %s: %w", st.Name, err)
		}
	}
	return nil
}

func (st Stack) validate() error {
	if r := st.Diff; r != nil {
		if r.Diff == nil || r.Cost != nil || r.CriticalPath != nil {
			return errors.New("the diff document does not hold a diff alone")
		}
		if err := r.validate(st.Name); err != nil {
			return fmt.Errorf("diff: %w", err)
		}
	}
	for _, side := range []struct {
		name string
		r    *Report
	}{{"base", st.Base}, {"head", st.Head}} {
		if side.r == nil {
			continue
		}
		if side.r.Diff != nil || side.r.Cost == nil || side.r.CriticalPath == nil {
			return fmt.Errorf("the %s document does not hold a cost and a critical path alone", side.name)
		}
		if err := side.r.validate(st.Name); err != nil {
			return fmt.Errorf("%s: %w", side.name, err)
		}
	}
	return nil
}

func (r *Report) validate(stack string) error {
	if r.Stack != stack {
		return fmt.Errorf("the document is of stack %q", r.Stack)
	}
	if d := r.Diff; d != nil {
		if d.Stack != stack {
			return fmt.Errorf("the diff is of stack %q", d.Stack)
		}
		if err := checkStrings(d.Old); err != nil {
			return err
		}
		if len(d.Changes) > MaxChanges {
			return fmt.Errorf("%d changes, at most %d", len(d.Changes), MaxChanges)
		}
		blocked := 0
		for i, c := range d.Changes {
			if !actions[c.Action] {
				return fmt.Errorf("change %d: action %q is not create, replace, update or delete", i, c.Action)
			}
			if err := checkStrings(c.URN, c.Type, c.Name); err != nil {
				return fmt.Errorf("change %d: %w", i, err)
			}
			if err := checkList(c.Properties); err != nil {
				return fmt.Errorf("change %d: properties: %w", i, err)
			}
			if err := checkList(c.ReplacedBy); err != nil {
				return fmt.Errorf("change %d: replacedBy: %w", i, err)
			}
			if c.Blocked {
				if c.Action != "replace" && c.Action != "delete" {
					return fmt.Errorf("change %d: a blocked %s (only replacements and deletions are blocked)", i, c.Action)
				}
				blocked++
			}
		}
		if err := checkCount("unchanged", d.Unchanged); err != nil {
			return err
		}
		if d.Blocked != blocked {
			return fmt.Errorf("blocked is %d, but %d changes are blocked", d.Blocked, blocked)
		}
	}
	if c := r.Cost; c != nil {
		if c.Stack != stack {
			return fmt.Errorf("the cost is of stack %q", c.Stack)
		}
		if err := checkStrings(c.Region, c.PriceDate); err != nil {
			return fmt.Errorf("cost: %w", err)
		}
		if err := checkNumber("monthly floor", c.Monthly, maxMoney); err != nil {
			return err
		}
		for _, l := range [][]string{c.Sources, c.Notes} {
			if err := checkList(l); err != nil {
				return fmt.Errorf("cost: %w", err)
			}
		}
		if len(c.Floor) > MaxListItems || len(c.Usage) > MaxListItems {
			return fmt.Errorf("cost: more than %d lines", MaxListItems)
		}
		for i, l := range c.Floor {
			if err := errors.Join(checkStrings(l.Item, l.Unit, l.Note), checkList(l.Resources),
				checkNumber("quantity", l.Quantity, maxQuantity), checkNumber("unit price", l.UnitPrice, maxMoney),
				checkNumber("monthly", l.Monthly, maxMoney)); err != nil {
				return fmt.Errorf("cost line %d: %w", i, err)
			}
		}
		for i, u := range c.Usage {
			if err := errors.Join(checkStrings(u.Item, u.Unit), checkNumber("price", u.Price, maxMoney)); err != nil {
				return fmt.Errorf("usage price %d: %w", i, err)
			}
		}
		if f := c.Footage; f != nil {
			if len(f.Assumptions) > MaxListItems || len(f.Rates) > MaxListItems || len(f.Scenario.Lines) > MaxListItems {
				return fmt.Errorf("footage: more than %d lines", MaxListItems)
			}
			for i, a := range f.Assumptions {
				if err := errors.Join(checkStrings(a.Item, a.Unit, a.Source), checkNumber("value", a.Value, maxQuantity)); err != nil {
					return fmt.Errorf("footage assumption %d: %w", i, err)
				}
			}
			for i, r := range append(append([]FootageRate{}, f.Rates...), f.Scenario.Lines...) {
				if err := errors.Join(checkStrings(r.Item, r.Unit, r.Note), checkNumber("price", r.Price, maxMoney)); err != nil {
					return fmt.Errorf("footage rate %d: %w", i, err)
				}
			}
			if err := errors.Join(checkNumber("scenario hours", f.Scenario.Hours, maxQuantity), checkNumber("scenario views", f.Scenario.Views, maxQuantity),
				checkNumber("scenario monthly", f.Scenario.Monthly, maxMoney)); err != nil {
				return fmt.Errorf("footage: %w", err)
			}
		}
	}
	if p := r.CriticalPath; p != nil {
		if err := checkNumber("critical path", p.TotalMinutes, maxMinutes); err != nil {
			return err
		}
		if len(p.Steps) > MaxListItems {
			return fmt.Errorf("critical path: %d steps, at most %d", len(p.Steps), MaxListItems)
		}
		for i, s := range p.Steps {
			if err := errors.Join(checkStrings(s.URN, s.Type, s.Name, s.Source),
				checkNumber("minutes", s.Minutes, maxMinutes), checkNumber("finish", s.Finish, maxMinutes)); err != nil {
				return fmt.Errorf("critical path step %d: %w", i, err)
			}
		}
	}
	return nil
}

func checkStrings(ss ...string) error {
	for _, s := range ss {
		if len(s) > MaxStringBytes {
			return fmt.Errorf("a string of %d bytes, at most %d", len(s), MaxStringBytes)
		}
	}
	return nil
}

func checkList(l []string) error {
	if len(l) > MaxListItems {
		return fmt.Errorf("%d items, at most %d", len(l), MaxListItems)
	}
	return checkStrings(l...)
}

func checkNumber(what string, f, max float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > max {
		return fmt.Errorf("%s %s is not between 0 and %g", what, strconv.FormatFloat(f, 'g', -1, 64), max)
	}
	return nil
}

func checkCount(what string, n int) error {
	if n < 0 || n > maxCount {
		return fmt.Errorf("%s %d is not between 0 and %d", what, n, int(maxCount))
	}
	return nil
}
