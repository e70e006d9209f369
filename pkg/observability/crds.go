package observability

import "fmt"

// Helm installs a chart's crds/ directory on first install only and never upgrades or deletes
// those CRDs (Helm docs, "Custom Resource Definitions" in Chart Best Practices:
// https://helm.sh/docs/chart_best_practices/custom_resource_definitions/). kube-prometheus-stack
// ships the Prometheus Operator's CRDs that way, so a chart bump would run a new operator
// against old CRDs. Its crds.upgradeJob (values.yaml at kube-prometheus-stack-88.5.3) is
// "in preview, off by default and may change", and runs busybox:latest. Instead the CRDs come
// from prometheus-community's prometheus-operator-crds chart, which carries them as templates
// (charts/prometheus-operator-crds/charts/crds/templates/), so Helm upgrades them with the
// release, and kube-prometheus-stack's crds.enabled is false.
//
// operatorCRDsChart pins, for each supported kube-prometheus-stack version, the
// prometheus-operator-crds version shipping the same operator's CRDs (both charts' appVersion in
// prometheus-community/helm-charts). Bumping kube-prometheus-stack without adding its line here
// fails the program: the CRDs always follow the operator.
var operatorCRDsChart = map[string]struct{ Chart, Operator string }{
	"88.5.3": {Chart: "31.0.1", Operator: "v0.93.1"},
}

// helmResourcePolicy "keep" leaves a CRD in place when its release is uninstalled or replaced:
// deleting a CRD deletes every PrometheusRule, ServiceMonitor, Prometheus and Alertmanager
// (https://helm.sh/docs/howto/charts_tips_and_tricks/#tell-helm-not-to-uninstall-a-resource).
const helmResourcePolicy = "helm.sh/resource-policy"

// OperatorCRDsChartVersion is the prometheus-operator-crds version for a kube-prometheus-stack
// version.
func OperatorCRDsChartVersion(stackVersion string) (string, error) {
	v, ok := operatorCRDsChart[stackVersion]
	if !ok {
		return "", fmt.Errorf("kube-prometheus-stack %s: no prometheus-operator-crds version is pinned for its operator; add it to operatorCRDsChart (pkg/observability/crds.go)", stackVersion)
	}
	return v.Chart, nil
}
