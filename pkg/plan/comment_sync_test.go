package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/plan/comment"
)

// fill sets every field of v, recursively, to a value that is not its zero: a slice gets one
// element, so omitempty leaves nothing out of the JSON.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1.5)
	default:
		panic("fill: a field of kind " + v.Kind().String())
	}
}

// TestReportsDecodeInTheCommentRenderer keeps pkg/plan/comment's mirror types in step with the
// reports: the renderer decodes strictly (an unknown field is refused), so a field added here
// and not there would make every pull request's comment a refusal. Every field of the diff, cost
// and critical-path reports, set, decodes and encodes back to the same JSON; and the documents
// `plan --diff` and `plan --cost --critical-path` write with --format json render.
func TestReportsDecodeInTheCommentRenderer(t *testing.T) {
	var d DiffReport
	var c CostReport
	var p Path
	for _, v := range []any{&d, &c, &p} {
		fill(reflect.ValueOf(v).Elem())
	}
	for name, doc := range map[string]map[string]any{
		"diff":                   {"stack": "x", "diff": d},
		"cost and critical path": {"stack": "x", "cost": c, "criticalPath": p},
	} {
		want, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		r, err := comment.ParseReport(want)
		if err != nil {
			t.Errorf("%s: the renderer refuses a field of pkg/plan's report: %v", name, err)
			continue
		}
		got, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if json.Unmarshal(want, &a) != nil || json.Unmarshal(got, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the renderer's types drop or change a field:\n%s\nwant\n%s", name, got, want)
		}
	}

	dir := t.TempDir()
	writeProject(t, dir)
	oldPath := filepath.Join(dir, "old.json")
	var out, errb bytes.Buffer
	if code := Main(password, []string{"--stack", "dev", "--dir", dir, "--out", oldPath}, &out, &errb); code != ExitClean {
		t.Fatalf("--out: exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldPath, []byte(strings.Replace(string(b), `"length": 32`, `"length": 24`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	stack := comment.Stack{Name: "dev"}
	for _, doc := range []struct {
		args []string
		into **comment.Report
	}{
		{[]string{"--diff", oldPath, "--allow-replace"}, &stack.Diff},
		{[]string{"--cost", "--critical-path"}, &stack.Head},
	} {
		out.Reset()
		errb.Reset()
		if code := Main(password, append([]string{"--stack", "dev", "--dir", dir, "--format", "json"}, doc.args...), &out, &errb); code != ExitClean {
			t.Fatalf("%v: exit %d: %s", doc.args, code, errb.String())
		}
		if *doc.into, err = comment.ParseReport(out.Bytes()); err != nil {
			t.Fatalf("%v: %v\n%s", doc.args, err, out.String())
		}
	}
	stack.Base = stack.Head
	body, err := comment.Render(&comment.Data{BaseSHA: strings.Repeat("a", 40), Stacks: []comment.Stack{stack}}, comment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "| dev | 0 | 1 | 0 | 0 | 1 |") || !strings.Contains(body, "random:index/randomPassword:RandomPassword token (replaced because of length)  BLOCKED: stateful") {
		t.Errorf("the comment of a replaced password:\n%s", body)
	}
}
