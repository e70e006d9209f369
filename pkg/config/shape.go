package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// checkShape walks one key's decoded JSON value against the Go type it decodes into and
// reports what encoding/json cannot say precisely: every object key the type does not declare
// (with its full path and the nearest declared key, since a misspelled field would otherwise
// leave its default in place), and every map value of the wrong kind under its map key (the
// decoder's UnmarshalTypeError names a struct field path but never a map key, so a tag such as
// `cost-center: 42` would be reported as "cinegit:tags" alone). It returns how many problems it
// added; the caller then skips the decoder's own, less precise, report.
//
// Field names match exactly: Pulumi configuration keys are case-sensitive, and the schema in
// Pulumi.yaml spells them one way.
func checkShape(p *problems, path string, v any, t reflect.Type) int {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	n := 0
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return 0 // a type error: the decoder names it by path
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, known := fields[k]
			if !known {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				p.add(path+"."+k, k, "unknown field; did you mean %s:%s.%s? (see the config reference)", p.ns, path, nearest(k, names))
				n++
				continue
			}
			n += checkShape(p, path+"."+k, obj[k], ft)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return 0
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if want, ok := scalarKind(t.Elem()); ok && jsonKind(obj[k]) != want {
				p.add(path+"."+k, jsonText{obj[k]}, "a %s, not %s (quote it in YAML if it looks like another type)", want, withArticle(jsonKind(obj[k])))
				n++
				continue
			}
			n += checkShape(p, path+"."+k, obj[k], t.Elem())
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return 0
		}
		for i, item := range list {
			n += checkShape(p, path+"["+strconv.Itoa(i)+"]", item, t.Elem())
		}
	}
	return n
}

// jsonFields lists the JSON names of a struct's fields as encoding/json sees them, with the
// fields of embedded structs promoted.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" && f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// scalarKind is the JSON kind a scalar Go type decodes from.
func scalarKind(t reflect.Type) (string, bool) {
	switch t.Kind() {
	case reflect.String:
		return "string", true
	case reflect.Bool:
		return "boolean", true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number", true
	}
	return "", false
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case nil:
		return "null"
	}
	return "value"
}

func withArticle(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// jsonText renders a decoded value as it was written.
type jsonText struct{ v any }

func (j jsonText) String() string {
	b, err := json.Marshal(j.v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// nearest returns the candidate closest to s by edit distance, ignoring case; ties go to the
// alphabetically first, so the suggestion is stable.
func nearest(s string, candidates []string) string {
	sort.Strings(candidates)
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two strings, by rune.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
