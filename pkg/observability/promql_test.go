package observability

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// promql is Prometheus's own parser with default options: what Prometheus (and the operator's
// admission webhook, which calls the same parser on every PrometheusRule) accepts.
// Source: https://pkg.go.dev/github.com/prometheus/prometheus/promql/parser (v0.314.0).
var promql = parser.NewParser(parser.Options{})

// grafanaVariables gives every Grafana template variable the dashboards may use a value that
// keeps the query valid PromQL: interval variables become durations, the others label values.
// Grafana substitutes them before the query reaches Prometheus, so the parser must see them
// substituted too. Source: Grafana docs, "Global variables" and "Variable syntax"
// (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/).
var grafanaVariables = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "1m",
	"__interval_ms":   "60000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

// variableRef matches $name, ${name} and ${name:format}; [[name]] is deprecated and unused.
var variableRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)`)

// substituteVariables replaces Grafana variables by valid values (durations for the interval
// variables, a plain label value for any other).
func substituteVariables(q string) string {
	return variableRef.ReplaceAllStringFunc(q, func(m string) string {
		sub := variableRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := grafanaVariables[name]; ok {
			return v
		}
		return "value_of_" + name
	})
}

// dashboardQuery is one query of a dashboard panel.
type dashboardQuery struct {
	where, datasource, expr string
}

// dashboardQueries walks a dashboard model (panels, rows' nested panels) and returns every
// target's expr with the datasource type that runs it (the target's, else the panel's).
func dashboardQueries(name string, src []byte) ([]dashboardQuery, error) {
	var model map[string]any
	if err := json.Unmarshal(src, &model); err != nil {
		return nil, err
	}
	dsType := func(v any) string {
		if m, ok := v.(map[string]any); ok {
			s, _ := m["type"].(string)
			return s
		}
		return ""
	}
	var out []dashboardQuery
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			panel, ok := p.(map[string]any)
			if !ok {
				continue
			}
			title, _ := panel["title"].(string)
			targets, _ := panel["targets"].([]any)
			for i, t := range targets {
				target, ok := t.(map[string]any)
				if !ok {
					continue
				}
				expr, ok := target["expr"].(string)
				if !ok {
					continue
				}
				ds := dsType(target["datasource"])
				if ds == "" {
					ds = dsType(panel["datasource"])
				}
				out = append(out, dashboardQuery{where: fmt.Sprintf("%s/%q/targets[%d]", name, title, i), datasource: ds, expr: expr})
			}
			nested, _ := panel["panels"].([]any)
			walk(nested)
		}
	}
	panels, _ := model["panels"].([]any)
	walk(panels)
	return out, nil
}

// TestPromQLParses parses every alert rule expression and every Prometheus query of the
// embedded dashboards with Prometheus's parser, after substituting Grafana's variables. Loki
// queries are LogQL: their stream selector (the leading {...}) must parse as a PromQL selector,
// which LogQL's stream selectors are (https://grafana.com/docs/loki/latest/query/log_queries/).
func TestPromQLParses(t *testing.T) {
	type query struct{ where, expr string }
	var prom, logSelectors []query

	for _, g := range AlertRules("media-jobs", true).Groups {
		for _, r := range g.Rules {
			prom = append(prom, query{"PrometheusRule " + g.Name + "/" + r.Alert, r.Expr})
		}
	}
	dashboards, err := EmbeddedDashboards()
	if err != nil {
		t.Fatal(err)
	}
	datasources := map[string]int{}
	for _, d := range dashboards {
		qs, err := dashboardQueries(d.Name, d.JSON)
		if err != nil {
			t.Fatalf("dashboard %s: %v", d.Name, err)
		}
		for _, q := range qs {
			datasources[q.datasource]++
			switch q.datasource {
			case "prometheus":
				prom = append(prom, query{q.where, substituteVariables(q.expr)})
			case "loki":
				sel := substituteVariables(q.expr)
				end := strings.Index(sel, "}")
				if !strings.HasPrefix(sel, "{") || end < 0 {
					t.Errorf("%s: LogQL query %q has no stream selector", q.where, q.expr)
					continue
				}
				logSelectors = append(logSelectors, query{q.where, sel[:end+1]})
			default:
				t.Errorf("%s: expr on datasource %q, which this test does not know how to check", q.where, q.datasource)
			}
		}
	}
	// The walk must find the queries, or the test proves nothing.
	if len(prom) < len(AlertNames)+20 || len(logSelectors) < 2 {
		keys := make([]string, 0, len(datasources))
		for k := range datasources {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("found %d PromQL and %d LogQL queries (datasources %v): the dashboard walk lost queries", len(prom), len(logSelectors), keys)
	}
	for _, q := range prom {
		if _, err := promql.ParseExpr(q.expr); err != nil {
			t.Errorf("%s: %q does not parse: %v", q.where, q.expr, err)
		}
	}
	for _, q := range logSelectors {
		if _, err := promql.ParseMetricSelector(q.expr); err != nil {
			t.Errorf("%s: stream selector %q does not parse: %v", q.where, q.expr, err)
		}
	}
}

// TestPromQLParserRejectsBrokenExpressions keeps the check honest: the substitution must not
// hide a syntax error, and the parser must reject what Prometheus rejects.
func TestPromQLParserRejectsBrokenExpressions(t *testing.T) {
	for _, tc := range []struct{ name, expr string }{
		{"unbalanced parenthesis", `sum(rate(http_requests_total[5m])`},
		{"range without duration", `rate(http_requests_total[])`},
		{"rate_interval left as a label", `rate(x[$namespace])`},
		{"binary operator without operand", `kube_job_failed >`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := promql.ParseExpr(substituteVariables(tc.expr)); err == nil {
				t.Errorf("%q parsed, want a syntax error", tc.expr)
			}
		})
	}
	for _, ok := range []string{
		`rate(x[$__rate_interval])`, `rate(x{namespace="$namespace"}[${__interval}])`,
	} {
		if _, err := promql.ParseExpr(substituteVariables(ok)); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}
