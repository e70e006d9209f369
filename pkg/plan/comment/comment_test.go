package comment

import (
	"encoding/json"
	"fmt"
	"go/parser"
	gotoken "go/token"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const (
	baseSHA = "802914545e52a4b1c2d3e4f5a6b7c8d9e0f1a2b3"
	headSHA = "d72a4a20a011b2c3d4e5f6a7b8c9d0e1f2a3b4c5"
)

// report is a cost and critical-path document as `plan --cost --critical-path --format json`
// writes it, trimmed.
func report(stack string, monthly float64) *Report {
	return &Report{
		Stack: stack,
		Cost: &Cost{
			Stack: stack, Region: "us-east-1", PriceDate: "2026-12-01", Sources: []string{"https://aws.amazon.com/eks/pricing/"},
			Floor: []CostLine{
				{Item: "EKS control plane", Resources: []string{"eks:index:Cluster::cluster"}, Quantity: 730, Unit: "hours", UnitPrice: 0.1, Monthly: 73, Note: "standard support"},
				{Item: "NAT gateway", Resources: []string{"aws:ec2/natGateway:NatGateway::nat"}, Quantity: 730, Unit: "hours", UnitPrice: 0.045, Monthly: 32.85},
			},
			Monthly: monthly,
			Usage: []UsagePrice{
				{Item: "NAT gateway data processed", Price: 0.045, Unit: "GB"},
				{Item: "EC2 spot capacity (media nodes)", Unit: "spot price per instance-hour, typically 30-70% below on-demand"},
			},
			Notes: []string{"WAF and CloudFront are global (us-east-1) whatever the stack's region"},
		},
		CriticalPath: &Path{TotalMinutes: 24.7, Steps: []Step{
			{URN: "urn:pulumi:" + stack + "::cinegit::aws:ec2/vpc:Vpc::network", Type: "aws:ec2/vpc:Vpc", Name: "network", Minutes: 0.2, Finish: 0.2},
			{URN: "urn:pulumi:" + stack + "::cinegit::eks:index:Cluster::cluster", Type: "eks:index:Cluster", Name: "cluster", Minutes: 11, Finish: 11.2},
		}},
	}
}

// valid is an artifact of two stacks as .ci/plan-report writes it: dev updates a release and
// replaces its database (blocked); prod's base did not plan, so it has no diff and no base.
func valid() *Data {
	return &Data{
		PullRequest: "42",
		BaseSHA:     baseSHA,
		Stacks: []Stack{
			{
				Name: "dev",
				Diff: &Report{Stack: "dev", Diff: &Diff{Stack: "dev", Old: "base-dev.json", Unchanged: 297, Blocked: 1, Changes: []Change{
					{Action: "replace", URN: "urn:pulumi:dev::cinegit::aws:rds/instance:Instance::database", Type: "aws:rds/instance:Instance",
						Name: "database", Properties: []string{"identifier"}, ReplacedBy: []string{"identifier"}, Stateful: true, Blocked: true},
					{Action: "update", URN: "urn:pulumi:dev::cinegit::kubernetes:helm.sh/v3:Release::ingress-controller",
						Type: "kubernetes:helm.sh/v3:Release", Name: "ingress-controller", Properties: []string{"values"}},
					{Action: "create", URN: "urn:pulumi:dev::cinegit::aws:kms/key:Key::extra", Type: "aws:kms/key:Key", Name: "extra"},
				}}},
				Base: report("dev", 290.84),
				Head: report("dev", 1594.93),
			},
			{Name: "prod", Head: report("prod", 1690.85)},
		},
	}
}

func render(t *testing.T, d *Data) string {
	t.Helper()
	body, err := Render(d, Options{HeadSHA: headSHA})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	checkShape(t, body, d)
	return body
}

// checkShape asserts what no data may change in a comment: it starts with the marker, which
// appears once; the only HTML is the renderer's (the marker, and per stack a details element
// with its summary); the fences are the renderer's, one block per stack, and no line inside a
// block starts one; no backtick, "<" or line break of the data is inside a block (each data
// string is escaped); and the whole is within GitHub's limit.
func checkShape(t *testing.T, body string, d *Data) {
	t.Helper()
	if !strings.HasPrefix(body, Marker+"\n") {
		t.Errorf("the comment does not start with the marker:\n%.200s", body)
	}
	if n := strings.Count(body, Marker); n != 1 {
		t.Errorf("the marker appears %d times", n)
	}
	if n, want := strings.Count(body, "<"), 1+4*len(d.Stacks); n != want {
		t.Errorf("%d '<' in the comment, want %d (the marker and each stack's <details><summary></summary></details>)", n, want)
	}
	if len(body) > MaxBodyBytes {
		t.Errorf("the comment has %d bytes, more than %d", len(body), MaxBodyBytes)
	}
	inBlock, blocks := false, 0
	for i, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		isFence := strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")
		switch {
		case !inBlock && isFence:
			if line != "```text" {
				t.Errorf("line %d opens a block with %q", i+1, line)
			}
			inBlock = true
			blocks++
		case inBlock && isFence:
			if line != "```" {
				t.Errorf("line %d inside a block starts a fence: %q", i+1, line)
			}
			inBlock = false
		case inBlock && strings.ContainsAny(line, "`<>|"):
			t.Errorf("line %d inside a block holds a byte the data should not show: %q", i+1, line)
		}
	}
	if inBlock || blocks != len(d.Stacks) {
		t.Errorf("%d blocks (open at the end: %v), want one per stack (%d)", blocks, inBlock, len(d.Stacks))
	}
}

func TestRenderSummaryAndBlocks(t *testing.T) {
	body := render(t, valid())
	for _, want := range []string{
		"Commit `d72a4a20a011` compared with the base commit `802914545e52`",
		"| dev | 1 | 1 | 1 | 0 | 1 | $290.84 | $1,594.93 | 24.7 min | 24.7 min |",
		"| prod | no diff | | | | | n/a | $1,690.85 | n/a | 24.7 min |",
		"**1 protected or stateful resources would be replaced or deleted** (dev 1).",
		"<details><summary>dev: changes and cost</summary>",
		"Changes compared with the base: 1 to create, 1 to replace, 1 to update, 0 to delete, 297 unchanged",
		"  ± replace  aws:rds/instance:Instance database (replaced because of identifier)  BLOCKED: stateful",
		"  ~ update   kubernetes:helm.sh/v3:Release ingress-controller (values)",
		"      73.00  EKS control plane                                    730 hours x $0.1  (standard support)",
		"  EC2 spot capacity (media nodes)                                spot price per instance-hour, typically 30-70% below on-demand",
		"Critical path of a from-zero update: about 24.7 min; at the base 24.7 min",
		"No diff: the base or this commit did not plan",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	noHead, err := Render(valid(), Options{})
	if err != nil || !strings.Contains(noHead, "This change compared with the base commit `802914545e52`") {
		t.Errorf("without a head commit: %v\n%.400s", err, noHead)
	}
}

// hostile strings: Markdown, HTML, a link, a mention, an image, the marker, fences of both
// kinds, a table row, line breaks, a right-to-left override and a NUL.
var hostile = []string{
	"x`\n```\n</details>\n\n## All clear: nothing changes\n",
	"<!-- cinegit-plan-report -->",
	"[approve](https://example.com/phish) ![](https://example.com/pixel.png) @cinegit/platform #1",
	"<img src=x onerror=alert(1)><script>alert(1)</script>",
	"a | 0 | 0 | 0 | 0 | 0 |\n| prod | 0 |",
	"~~~\nfree text\n~~~",
	"\u202eevil\x00\r\n",
	"`` ` `` \\` \\\\",
}

// TestRenderEscapesHostileStrings puts each hostile string in every string field the comment
// shows; each is shown escaped inside its stack's block and changes nothing else.
func TestRenderEscapesHostileStrings(t *testing.T) {
	for i, s := range hostile {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			d := valid()
			dev := &d.Stacks[0]
			ch := &dev.Diff.Diff.Changes[0]
			ch.Type, ch.Name, ch.ReplacedBy = s, s, []string{s}
			dev.Diff.Diff.Changes[1].Properties = []string{s, s}
			c := dev.Head.Cost
			c.Region, c.PriceDate, c.Notes = s, s, []string{s}
			c.Floor[0].Item, c.Floor[0].Unit, c.Floor[0].Note = s, s, s
			c.Usage[0].Item, c.Usage[0].Unit, c.Usage[1].Unit = s, s, s
			dev.Head.CriticalPath.Steps[0].Type, dev.Head.CriticalPath.Steps[0].Name = s, s
			body := render(t, d)
			if got, want := outsideBlocks(body), outsideBlocks(render(t, valid())); got != want {
				t.Errorf("the data changes the comment outside its blocks:\n%s\nwant:\n%s", got, want)
			}
			if want := "  ± replace  " + token(s) + " " + token(s) + " (replaced because of " + token(s) + ")"; !strings.Contains(body, want) {
				t.Errorf("the change does not show as %q", want)
			}
			for _, raw := range []string{"\u202e", "\x00", "\r"} {
				if strings.Contains(body, raw) {
					t.Errorf("%q reaches the comment as it is", raw)
				}
			}
		})
	}
}

// outsideBlocks is the comment without the lines inside its fenced blocks.
func outsideBlocks(body string) string {
	var out []string
	in := false
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, token, text string }{
		{"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Release"},
		{"(protect)", "(protect)", "(protect)"},
		{"a b", `a\x20b`, "a b"},
		{"x`y", `x\x60y`, `x\x60y`},
		{"a|b<c>d~e\\f", `a\x7cb\x3cc\x3ed\x7ee\x5cf`, `a\x7cb\x3cc\x3ed\x7ee\x5cf`},
		{"l1\nl2", `l1\x0al2`, `l1\x0al2`},
		{"é", `\xc3\xa9`, `\xc3\xa9`},
		{"@team", `\x40team`, "@team"},
	}
	for _, tt := range tests {
		if got := token(tt.in); got != tt.token {
			t.Errorf("token(%q) = %q, want %q", tt.in, got, tt.token)
		}
		if got := text(tt.in); got != tt.text {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.text)
		}
	}
	long := strings.Repeat("a", MaxStringBytes)
	if got := token(long); got != strings.Repeat("a", maxShownBytes)+"..." {
		t.Errorf("a %d-byte name shows as %d bytes", len(long), len(got))
	}
}

// TestRenderBoundsAHugeReport: the largest lists the data may hold still make a comment
// within GitHub's limit, every stack keeps its block, and each says what it leaves out.
func TestRenderBoundsAHugeReport(t *testing.T) {
	d := valid()
	d.Stacks = nil
	longest := strings.Repeat("p", MaxStringBytes)
	for _, name := range []string{"dev", "staging", "prod"} {
		changes := make([]Change, MaxChanges)
		for i := range changes {
			changes[i] = Change{Action: "update", Type: "aws:s3/bucketV2:BucketV2", Name: fmt.Sprintf("%s-bucket-%05d", name, i),
				Properties: []string{longest}}
		}
		head := report(name, 100)
		for len(head.Cost.Notes) < MaxListItems {
			head.Cost.Notes = append(head.Cost.Notes, longest)
		}
		d.Stacks = append(d.Stacks, Stack{Name: name, Head: head, Base: report(name, 90),
			Diff: &Report{Stack: name, Diff: &Diff{Stack: name, Changes: changes}}})
	}
	body := render(t, d)
	if n := strings.Count(body, "more lines: the plan-report artifact of the ci run has the whole report"); n != 3 {
		t.Errorf("%d blocks say they leave lines out, want 3", n)
	}
	if !strings.Contains(body, "| prod | 0 | 0 | 20000 | 0 | 0 |") {
		t.Errorf("the counts are not of the whole list")
	}
	d.Stacks[0].Diff.Diff.Changes = append(d.Stacks[0].Diff.Diff.Changes, Change{Action: "create"})
	if _, err := Render(d, Options{}); err == nil {
		t.Errorf("%d changes are rendered", MaxChanges+1)
	}
}

// TestRenderCutsLongLines: a change with the most and longest properties the data may hold is
// one line of at most maxLineBytes, cut where it says so.
func TestRenderCutsLongLines(t *testing.T) {
	d := valid()
	props := make([]string, MaxListItems)
	for i := range props {
		props[i] = strings.Repeat("p", MaxStringBytes)
	}
	d.Stacks[0].Diff.Diff.Changes[1].Properties = props
	for _, line := range strings.Split(render(t, d), "\n") {
		if strings.Contains(line, "ingress-controller") {
			if len(line) > maxLineBytes+3 || !strings.HasSuffix(line, "...") {
				t.Errorf("a line of %d bytes: %.80s...%s", len(line), line, line[max(0, len(line)-20):])
			}
			return
		}
	}
	t.Error("no line shows the change")
}

// TestRenderRefusesInvalidData: what Render relies on is validated, and anything else is refused.
func TestRenderRefusesInvalidData(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *Data)
		head   string
		want   string
	}{
		{"a stack name with Markdown", func(d *Data) { d.Stacks[1].Name = "prod | 0 | 0" }, "", "stack name"},
		{"a stack name with HTML", func(d *Data) { d.Stacks[1].Name = "<b>prod</b>" }, "", "stack name"},
		{"a stack listed twice", func(d *Data) { d.Stacks[1] = d.Stacks[0] }, "", "listed twice"},
		{"no stacks", func(d *Data) { d.Stacks = nil }, "", "0 stacks"},
		{"a base that is not a SHA", func(d *Data) { d.BaseSHA = "main`<b>" }, "", "base-sha"},
		{"a PR number that is not a number", func(d *Data) { d.PullRequest = "42\n<!--" }, "", "pr-number"},
		{"a head that is not a SHA", func(*Data) {}, "HEAD", "head"},
		{"an unknown action", func(d *Data) { d.Stacks[0].Diff.Diff.Changes[1].Action = "update<b>" }, "", "action"},
		{"a blocked update", func(d *Data) { d.Stacks[0].Diff.Diff.Changes[1].Blocked = true }, "", "blocked update"},
		{"a blocked count that hides a change", func(d *Data) { d.Stacks[0].Diff.Diff.Blocked = 0 }, "", "blocked is 0"},
		{"a negative unchanged count", func(d *Data) { d.Stacks[0].Diff.Diff.Unchanged = -1 }, "", "unchanged"},
		{"a negative floor", func(d *Data) { d.Stacks[0].Head.Cost.Monthly = -290.84 }, "", "monthly floor"},
		{"a NaN floor", func(d *Data) { d.Stacks[0].Base.Cost.Monthly = math.NaN() }, "", "monthly floor NaN"},
		{"an infinite unit price", func(d *Data) { d.Stacks[0].Head.Cost.Floor[0].UnitPrice = math.Inf(1) }, "", "unit price"},
		{"a floor of more than a billion", func(d *Data) { d.Stacks[0].Head.Cost.Monthly = 2e9 }, "", "monthly floor"},
		{"a NaN critical path", func(d *Data) { d.Stacks[0].Head.CriticalPath.TotalMinutes = math.NaN() }, "", "critical path"},
		{"negative minutes", func(d *Data) { d.Stacks[0].Head.CriticalPath.Steps[0].Minutes = -1 }, "", "minutes"},
		{"a diff of another stack", func(d *Data) { d.Stacks[0].Diff.Diff.Stack = "prod" }, "", "the diff is of stack"},
		{"a document of another stack", func(d *Data) { d.Stacks[0].Head.Stack = "prod" }, "", "the document is of stack"},
		{"a cost in the diff's place", func(d *Data) { d.Stacks[0].Diff = report("dev", 1) }, "", "does not hold a diff"},
		{"a diff in the head's place", func(d *Data) { d.Stacks[0].Head = d.Stacks[0].Diff }, "", "head document"},
		{"a name over the bound", func(d *Data) {
			d.Stacks[0].Diff.Diff.Changes[0].Name = strings.Repeat("a", MaxStringBytes+1)
		}, "", "a string of"},
		{"a list over the bound", func(d *Data) {
			d.Stacks[0].Diff.Diff.Changes[1].Properties = make([]string, MaxListItems+1)
		}, "", "properties"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.change(d)
			body, err := Render(d, Options{HeadSHA: tt.head})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render: %v, want an error naming %q\n%.300s", err, tt.want, body)
			}
			if body != "" {
				t.Errorf("a refused report still renders %d bytes", len(body))
			}
		})
	}
}

func TestRefusalSaysNothingOfTheData(t *testing.T) {
	got := Refusal(Options{HeadSHA: headSHA})
	if !strings.HasPrefix(got, Marker+"\n") || !strings.Contains(got, "commit `d72a4a20a011` was refused") {
		t.Errorf("refusal:\n%s", got)
	}
	if got := Refusal(Options{HeadSHA: "<b>x</b>"}); strings.Contains(got, "<b>") || !strings.Contains(got, "this commit was refused") {
		t.Errorf("a head that is not a SHA reaches the refusal:\n%s", got)
	}
}

// TestParseReportIsStrict: the documents decode into the types above and nothing else.
func TestParseReportIsStrict(t *testing.T) {
	ok := `{"stack":"dev","diff":{"stack":"dev","old":"base-dev.json","changes":[{"action":"update","urn":"u","type":"t","name":"n","properties":["values"]}],"unchanged":1,"blocked":0}}`
	if _, err := ParseReport([]byte(ok)); err != nil {
		t.Fatalf("a plan --diff document: %v", err)
	}
	for name, doc := range map[string]string{
		"an unknown top-level field":     `{"stack":"dev","comment":"## All clear"}`,
		"an unknown field of a change":   strings.Replace(ok, `"name":"n"`, `"name":"n","html":"<b>"`, 1),
		"an unknown field of a cost":     `{"stack":"dev","cost":{"stack":"dev","markdown":"x"}}`,
		"NaN":                            `{"stack":"dev","cost":{"stack":"dev","monthlyFloor":NaN}}`,
		"a number beyond float64":        `{"stack":"dev","cost":{"stack":"dev","monthlyFloor":1e400}}`,
		"a string for a number":          `{"stack":"dev","cost":{"stack":"dev","monthlyFloor":"$0.00"}}`,
		"a fractional count":             strings.Replace(ok, `"unchanged":1`, `"unchanged":1.5`, 1),
		"a second document":              ok + `{"stack":"dev"}`,
		"trailing text":                  ok + "\n## All clear\n",
		"an array instead of a document": `[` + ok + `]`,
	} {
		if _, err := ParseReport([]byte(doc)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// writeArtifact writes d as .ci/plan-report leaves it, with JSON documents from the fixture.
func writeArtifact(t *testing.T, dir string, d *Data) {
	t.Helper()
	files := map[string]string{
		PRNumberFile: d.PullRequest + "\n",
		BaseSHAFile:  d.BaseSHA + "\n",
	}
	var names []string
	for _, st := range d.Stacks {
		names = append(names, st.Name)
		for file, r := range map[string]*Report{DiffFile(st.Name): st.Diff, BaseFile(st.Name): st.Base, HeadFile(st.Name): st.Head} {
			if r != nil {
				files[file] = mustJSON(t, r)
			}
		}
	}
	files[StacksFile] = strings.Join(names, "\n") + "\n"
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeArtifact(t, dir, valid())
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Render(valid(), Options{})
	if got, err := Render(d, Options{}); err != nil || got != want {
		t.Errorf("the artifact renders differently from its data: %v", err)
	}
	if d.Stacks[1].Diff != nil || d.Stacks[1].Base != nil || d.Stacks[1].Head == nil {
		t.Errorf("prod's missing documents: %+v", d.Stacks[1])
	}

	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"a ready-made comment", func(t *testing.T, dir string) { write(t, dir, "comment.md", "## All clear\n") }, "unexpected files"},
		{"a document of a stack not listed", func(t *testing.T, dir string) { write(t, dir, "qa-diff.json", "{}") }, "unexpected files"},
		{"a directory", func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "dev")) }, "not a regular file"},
		{"a link", func(t *testing.T, dir string) {
			remove(t, filepath.Join(dir, HeadFile("prod")))
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, HeadFile("prod"))); err != nil {
				t.Skip(err)
			}
		}, "not a regular file"},
		{"a document over the size bound", func(t *testing.T, dir string) {
			write(t, dir, HeadFile("prod"), `{"stack":"prod"}`+strings.Repeat(" ", MaxFileBytes))
		}, "more than"},
		{"no base commit", func(t *testing.T, dir string) { remove(t, filepath.Join(dir, BaseSHAFile)) }, "base-sha"},
		{"a base commit and more", func(t *testing.T, dir string) { write(t, dir, BaseSHAFile, baseSHA+"\n[x](y)\n") }, "base-sha"},
		{"a stack name with Markdown", func(t *testing.T, dir string) { write(t, dir, StacksFile, "dev\n**prod**\n") }, "stack name"},
		{"an empty stack list", func(t *testing.T, dir string) { write(t, dir, StacksFile, "") }, "stack name"},
		{"a document with an unknown field", func(t *testing.T, dir string) {
			write(t, dir, HeadFile("prod"), `{"stack":"prod","markdown":"## All clear"}`)
		}, "unknown field"},
		{"a document of another stack", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, HeadFile("dev")))
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, HeadFile("prod"), string(b))
		}, "stack prod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeArtifact(t, dir, valid())
			tt.change(t, dir)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

// TestStandardLibraryOnly: plan-comment.yml builds the renderer without the module's
// dependencies (no Pulumi), so it and its command import the standard library only.
func TestStandardLibraryOnly(t *testing.T) {
	const self = "github.com/cinegit/infrastructure/pkg/plan/comment"
	for _, dir := range []string{".", filepath.Join("cmd", "plan-comment")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			parsed, err := parser.ParseFile(gotoken.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(path, "/")
				if strings.Contains(first, ".") && path != self {
					t.Errorf("%s imports %s, outside the standard library", f, path)
				}
			}
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// TestRenderShowsWhatFootageCosts: a report with the footage model shows its scenario before
// and after and its rates, each string escaped like the rest; a negative scenario is refused.
func TestRenderShowsWhatFootageCosts(t *testing.T) {
	d := valid()
	for i := range d.Stacks {
		for _, r := range []*Report{d.Stacks[i].Head, d.Stacks[i].Base} {
			if r == nil {
				continue
			}
			r.Cost.Footage = &Footage{
				Assumptions: []FootageAssumption{{Item: "4K originals", Value: 318, Unit: "GB per hour", Source: "Apple ProRes white paper"}},
				Rates:       []FootageRate{{Item: "a TB of review playback through CloudFront `<b>`", Price: 87.26, Unit: "TB"}},
				Scenario:    FootageScenario{Hours: 100, Views: 10, Monthly: 2453.87, Lines: []FootageRate{{Item: "originals", Price: 731.4, Unit: "month"}}},
			}
		}
	}
	out, err := Render(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "What footage costs: 100 hours of 4K a month, each reviewed 10 times: $2,453.87 a month; at the base $2,453.87") ||
		!strings.Contains(out, "$87.26 per TB") || strings.Contains(out, "`<b>`") {
		t.Errorf("footage not shown, or not escaped:\n%s", out)
	}
	d.Stacks[0].Head.Cost.Footage.Scenario.Monthly = -1
	if _, err := Render(d, Options{}); err == nil {
		t.Error("a negative scenario was rendered")
	}
}
