package observability

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Grafana's dashboard sidecar loads ConfigMaps carrying DashboardLabel=1 into the folder named
// by their DashboardFolderAnnotation.
const (
	DashboardLabel            = "grafana_dashboard"
	DashboardFolderAnnotation = "grafana_folder"
	DashboardFolder           = "CineGit"
)

// dashboardFiles are the dashboards, one Grafana dashboard JSON model per file.
//
//go:embed dashboards/*.json
var dashboardFiles embed.FS

// Dashboard is one dashboard file.
type Dashboard struct {
	// Name is the file name without .json ("media-pipeline").
	Name string
	// JSON is the dashboard model as stored.
	JSON []byte
}

// EmbeddedDashboards lists the dashboards, sorted by name.
func EmbeddedDashboards() ([]Dashboard, error) {
	files, err := fs.Glob(dashboardFiles, "dashboards/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := make([]Dashboard, 0, len(files))
	for _, f := range files {
		b, err := dashboardFiles.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Dashboard{Name: strings.TrimSuffix(path.Base(f), ".json"), JSON: b})
	}
	return out, nil
}

// RenderDashboard fills a dashboard's constant variables (hidden variables such as `stack`,
// `region` or `distribution` that its queries use) with this stack's values. Every constant
// the dashboard declares must be given: a dashboard never ships with an empty filter.
func RenderDashboard(src []byte, constants map[string]string) (string, error) {
	var model map[string]any
	if err := json.Unmarshal(src, &model); err != nil {
		return "", fmt.Errorf("not a JSON dashboard: %w", err)
	}
	templating, _ := model["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, v := range list {
		variable, ok := v.(map[string]any)
		if !ok || variable["type"] != "constant" {
			continue
		}
		name, _ := variable["name"].(string)
		value, ok := constants[name]
		if !ok || value == "" {
			return "", fmt.Errorf("constant variable %q has no value", name)
		}
		variable["query"] = value
		variable["current"] = map[string]any{"text": value, "value": value}
		variable["options"] = []any{map[string]any{"text": value, "value": value, "selected": true}}
	}
	out, err := json.Marshal(model)
	return string(out), err
}

// dashboards creates one ConfigMap per dashboard, in the observability namespace.
func (b *builder) dashboards() error {
	all, err := EmbeddedDashboards()
	if err != nil {
		return err
	}
	d := b.args.Dashboards
	constants := pulumi.StringMap{
		"stack":           pulumi.String(b.env.Naming.Stack),
		"region":          pulumi.String(b.env.Region),
		"namespace":       pulumi.String(d.ApplicationNamespace),
		"media_namespace": pulumi.String(d.MediaJobsNamespace),
		"distribution":    d.CDNDistributionID,
	}
	// Each dashboard is rendered once with placeholders first, so that a broken one fails the
	// program now rather than inside an apply after the other resources were registered.
	placeholders := map[string]string{}
	for k := range constants {
		placeholders[k] = "x"
	}
	for _, dash := range all {
		src := dash.JSON
		if _, err := RenderDashboard(src, placeholders); err != nil {
			return fmt.Errorf("dashboard %s: %w", dash.Name, err)
		}
		rendered := constants.ToStringMapOutput().ApplyT(func(values map[string]string) (string, error) {
			return RenderDashboard(src, values)
		}).(pulumi.StringOutput)
		if _, err := corev1.NewConfigMap(b.ctx, b.name+"-dashboard-"+dash.Name, &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:        pulumi.String("dashboard-" + dash.Name),
				Namespace:   b.ns,
				Labels:      pulumi.StringMap{DashboardLabel: pulumi.String("1"), "app.kubernetes.io/part-of": pulumi.String("cinegit")},
				Annotations: pulumi.StringMap{DashboardFolderAnnotation: pulumi.String(DashboardFolder)},
			},
			Data: pulumi.StringMap{dash.Name + ".json": rendered},
		}, b.k8s...); err != nil {
			return err
		}
	}
	return nil
}
