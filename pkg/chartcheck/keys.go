package chartcheck

import (
	"path"
	"sort"
	"strings"
)

// UnknownKeys returns the dotted path of every key in supplied that the chart's defaults do
// not have, so a misspelt or stale key fails instead of being ignored by the templates. A key
// is known when the defaults have it; below it, a default that is an empty map, null, or not a
// map (a list or a scalar) is free-form and not descended into. freeForm lists further paths
// the chart reads as free-form maps though its defaults spell out some keys (path.Match
// patterns over dotted paths, e.g. "loki.structuredConfig" or "*.podAnnotations"; a pattern
// starting with "**." matches at any depth, e.g. "**.securityContext").
func UnknownKeys(defaults, supplied map[string]any, freeForm []string) []string {
	var out []string
	var walk func(prefix string, def, sup map[string]any)
	walk = func(prefix string, def, sup map[string]any) {
		for k, v := range sup {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if matchAny(freeForm, p) {
				continue
			}
			d, known := def[k]
			if !known {
				out = append(out, p)
				continue
			}
			dm, dIsMap := d.(map[string]any)
			sm, sIsMap := v.(map[string]any)
			if dIsMap && sIsMap && len(dm) > 0 {
				walk(p, dm, sm)
			}
		}
	}
	walk("", defaults, supplied)
	sort.Strings(out)
	return out
}

func matchAny(patterns []string, p string) bool {
	elems := strings.Split(p, ".")
	for _, pat := range patterns {
		anyDepth := strings.HasPrefix(pat, "**.")
		// Dots separate path elements; path.Match's '*' stops at '/'.
		pat = strings.ReplaceAll(strings.TrimPrefix(pat, "**."), ".", "/")
		for i := range elems {
			if i > 0 && !anyDepth {
				break
			}
			if ok, _ := path.Match(pat, strings.Join(elems[i:], "/")); ok {
				return true
			}
		}
	}
	return false
}
