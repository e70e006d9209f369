package comment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Marker starts the comment, so that plan-comment.yml finds it to update it. Only the renderer
// writes it: no byte of the data can spell it (Render escapes "<").
const Marker = "<!-- cinegit-plan-report -->"

// MaxBodyBytes bounds the comment: GitHub refuses a comment body of more than 65,536 characters
// (the REST API's "body is too long (maximum is 65536 characters)").
const MaxBodyBytes = 60000

// maxLineBytes bounds one line of a report block, so that one long list cannot take a stack's
// whole share of the comment.
const maxLineBytes = 1000

// Options are what the renderer is told besides the data.
type Options struct {
	// HeadSHA is the commit the report is of, from the workflow_run event rather than from the
	// data; "" leaves it out (the job summary is on the commit's own run).
	HeadSHA string
}

// Render writes the whole comment from validated data: the marker, a summary table per stack
// (the counts of creates, replaces, updates, deletes and blocked changes, the monthly floor and
// the critical path before and after) and a folded block per stack with the changes, the cost
// lines and the critical path. Numbers are formatted here; every string from the data is
// escaped (see token and text) inside a fenced block, where Markdown and HTML do not apply. The
// comment is at most MaxBodyBytes: each stack's block gets an equal share of what the summary
// leaves, and says how many lines it leaves out.
func Render(d *Data, o Options) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	if o.HeadSHA != "" && !fullSHA.MatchString(o.HeadSHA) {
		return "", fmt.Errorf("head %q is not a full commit SHA", o.HeadSHA)
	}
	var b strings.Builder
	b.WriteString(Marker + "\n## Offline plan of this change\n\n")
	subject := "This change"
	if o.HeadSHA != "" {
		subject = "Commit `" + o.HeadSHA[:12] + "`"
	}
	fmt.Fprintf(&b, "%s compared with the base commit `%s` under the offline engine (`go run . plan`), "+
		"list prices of pkg/plan/prices.go.\n\n", subject, d.BaseSHA[:12])
	b.WriteString("| stack | create | replace | update | delete | blocked | monthly floor before | after | critical path before | after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	blocked, where := 0, []string{}
	for _, st := range d.Stacks {
		counts := "no diff | | | | |"
		if st.Diff != nil {
			n := actionCounts(st.Diff.Diff)
			counts = fmt.Sprintf("%d | %d | %d | %d | %d |", n["create"], n["replace"], n["update"], n["delete"], st.Diff.Diff.Blocked)
			if st.Diff.Diff.Blocked > 0 {
				blocked += st.Diff.Diff.Blocked
				where = append(where, fmt.Sprintf("%s %d", st.Name, st.Diff.Diff.Blocked))
			}
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s |\n", st.Name, counts,
			floorOf(st.Base), floorOf(st.Head), minutesOf(st.Base), minutesOf(st.Head))
	}
	if blocked > 0 {
		fmt.Fprintf(&b, "\n**%d protected or stateful resources would be replaced or deleted** (%s). "+
			"The ci check fails unless the pull request has the `allow-replace` label.\n", blocked, strings.Join(where, ", "))
	}
	for i, st := range d.Stacks {
		share := (MaxBodyBytes - b.Len()) / (len(d.Stacks) - i)
		b.WriteString(block(st.Name, stackLines(st), share))
	}
	if b.Len() > MaxBodyBytes {
		return "", fmt.Errorf("the comment has %d bytes, more than %d", b.Len(), MaxBodyBytes)
	}
	return b.String(), nil
}

// Refusal is the comment that replaces the report when its data is refused, so that an earlier
// commit's report does not stand for this one. It says nothing the data could have chosen.
func Refusal(o Options) string {
	subject := "this commit"
	if fullSHA.MatchString(o.HeadSHA) {
		subject = "commit `" + o.HeadSHA[:12] + "`"
	}
	return Marker + "\n## Offline plan of this change\n\n" +
		"The plan report of " + subject + " was refused: its data is not what the renderer " +
		"(pkg/plan/comment on the default branch) reads. The ci run's job summary has the report as " +
		"the pull request renders it, and the plan comment run's log says what was refused.\n"
}

func actionCounts(d *Diff) map[string]int {
	n := map[string]int{}
	for _, c := range d.Changes {
		n[c.Action]++
	}
	return n
}

func floorOf(r *Report) string {
	if r == nil {
		return "n/a"
	}
	return money(r.Cost.Monthly)
}

// footageOf is a report's footage scenario, "n/a" for a base without the model.
func footageOf(r *Report) string {
	if r == nil || r.Cost.Footage == nil {
		return "n/a"
	}
	return money(r.Cost.Footage.Scenario.Monthly)
}

func minutesOf(r *Report) string {
	if r == nil {
		return "n/a"
	}
	return strconv.FormatFloat(r.CriticalPath.TotalMinutes, 'f', 1, 64) + " min"
}

// money is dollars with cents and thousands separators: $1,594.93.
func money(f float64) string {
	s := strconv.FormatFloat(math.Round(f*100)/100, 'f', 2, 64)
	whole, cents, _ := strings.Cut(s, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return "$" + whole + "." + cents
}

// number is a quantity or a unit price as its shortest decimal, never in exponent form.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var signs = map[string]string{"create": "+", "replace": "±", "update": "~", "delete": "-"}

// stackLines are a stack's report block, as `plan --diff`, `plan --cost` and
// `plan --critical-path` print it (pkg/plan's WriteDiff, WriteCost, WriteCriticalPath).
func stackLines(st Stack) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if st.Diff == nil {
		add("No diff: the base or this commit did not plan (the ci run's log says why).")
	} else {
		d := st.Diff.Diff
		n := actionCounts(d)
		add("Changes compared with the base: %d to create, %d to replace, %d to update, %d to delete, %d unchanged",
			n["create"], n["replace"], n["update"], n["delete"], d.Unchanged)
		for _, c := range d.Changes {
			detail := ""
			switch {
			case len(c.ReplacedBy) > 0:
				detail = " (replaced because of " + tokens(c.ReplacedBy) + ")"
			case len(c.Properties) > 0:
				detail = " (" + tokens(c.Properties) + ")"
			}
			flag := ""
			if c.Blocked {
				flag = "  BLOCKED: stateful"
				if c.Protected {
					flag = "  BLOCKED: protected"
				}
			}
			add("  %s %-8s %s %s%s%s", signs[c.Action], c.Action, token(c.Type), token(c.Name), detail, flag)
		}
	}
	add("")
	if st.Head == nil {
		add("No cost or critical path of this commit (the ci run's log says why).")
		return out
	}
	c, p := st.Head.Cost, st.Head.CriticalPath
	add("Estimated monthly floor (%s, list prices of %s): %s; at the base %s", token(c.Region), token(c.PriceDate),
		money(c.Monthly), floorOf(st.Base))
	for _, l := range c.Floor {
		note := ""
		if l.Note != "" {
			note = "  (" + text(l.Note) + ")"
		}
		add("  %9.2f  %-52s %s %s x $%s%s", l.Monthly, text(l.Item), number(math.Round(l.Quantity*100)/100), text(l.Unit),
			number(l.UnitPrice), note)
	}
	add("Billed by use (not in the floor):")
	for _, u := range c.Usage {
		if u.Price == 0 {
			add("  %-62s %s", text(u.Item), text(u.Unit))
			continue
		}
		add("  %-62s $%s per %s", text(u.Item), number(u.Price), text(u.Unit))
	}
	add("Notes:")
	for _, n := range c.Notes {
		add("  - %s", text(n))
	}
	if f := c.Footage; f != nil {
		add("What footage costs: %s hours of 4K a month, each reviewed %s times: %s a month; at the base %s",
			number(f.Scenario.Hours), number(f.Scenario.Views), money(f.Scenario.Monthly), footageOf(st.Base))
		for _, r := range f.Rates {
			add("  %-92s %s per %s", text(r.Item), money(r.Price), text(r.Unit))
		}
		for _, l := range f.Scenario.Lines {
			add("  scenario: %-50s %s", text(l.Item), money(l.Price))
		}
	}
	add("")
	add("Critical path of a from-zero update: about %s; at the base %s", minutesOf(st.Head), minutesOf(st.Base))
	for _, s := range p.Steps {
		add("  %6.1f min  +%4.1f  %-50s %s", s.Finish, s.Minutes, token(s.Type), token(s.Name))
	}
	return out
}

// block is a stack's lines in a folded fenced block of at most about budget bytes: the lines
// that fit, then how many do not.
func block(stack string, lines []string, budget int) string {
	const open, closing = ": changes and cost</summary>\n\n```text\n", "```\n</details>\n"
	head := "\n<details><summary>" + stack + open
	more := func(n int) string {
		return fmt.Sprintf("... %d more lines: the plan-report artifact of the ci run has the whole report\n", n)
	}
	room := budget - len(head) - len(closing) - len(more(len(lines)))
	var b strings.Builder
	b.WriteString(head)
	shown := 0
	for _, l := range lines {
		if len(l) > maxLineBytes {
			l = l[:maxLineBytes] + "..."
		}
		if len(l)+1 > room {
			break
		}
		b.WriteString(l + "\n")
		room -= len(l) + 1
		shown++
	}
	if shown < len(lines) {
		b.WriteString(more(len(lines) - shown))
	}
	b.WriteString(closing)
	return b.String()
}

// The longest string shown as it is; a longer one is cut, and says so.
const maxShownBytes = 200

// token shows a resource type, resource name, property, region or date: letters, digits and
// _ . : / ( ) - as they are, every other byte as \xNN. Pulumi type tokens
// (kubernetes:helm.sh/v3:Release), the program's resource names and inputs ((protect),
// spec.template) need nothing else; a space, a backtick, a pipe, "<" or a line break in one
// shows escaped and cannot end the block, start a line of its own or spell HTML.
func token(s string) string { return escape(s, isTokenByte) }

// text shows free text (a cost line's item, unit and note, a usage price, a note): printable
// ASCII as it is, except the bytes that could end a code block or a table cell, or spell HTML
// (` \ < > | ~); every other byte, line breaks and all non-ASCII included, as \xNN.
func text(s string) string { return escape(s, isTextByte) }

func tokens(l []string) string {
	const most = 20
	shown := make([]string, 0, most+1)
	for i, s := range l {
		if i == most {
			shown = append(shown, fmt.Sprintf("%d more", len(l)-most))
			break
		}
		shown = append(shown, token(s))
	}
	return strings.Join(shown, ", ")
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:/()-", c) >= 0
}

func isTextByte(c byte) bool {
	return 0x20 <= c && c < 0x7f && strings.IndexByte("`\\<>|~", c) < 0
}

func escape(s string, shown func(byte) bool) string {
	cut := len(s) > maxShownBytes
	if cut {
		s = s[:maxShownBytes]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; shown(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	if cut {
		b.WriteString("...")
	}
	return b.String()
}
