package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
)

// runEdited runs a stack as it is after a pull request sets fields of one config section
// (nested objects merge into the committed ones).
func runEdited(t *testing.T, stack, section string, fields map[string]any) *harness.Result {
	t.Helper()
	override := editSection(t, stack, section, func(cur map[string]any) { merge(cur, fields) })
	r, err := harness.Run(program, harness.Options{Dir: ".", Stack: stack, Override: override})
	if err != nil {
		t.Fatalf("%s with %s %v: %v", stack, section, fields, err)
	}
	return r
}

// merge sets fields into into, merging nested objects.
func merge(into, fields map[string]any) {
	for k, v := range fields {
		sub, ok := v.(map[string]any)
		if cur, isMap := into[k].(map[string]any); ok && isMap {
			merge(cur, sub)
			continue
		}
		into[k] = v
	}
}

// Data-store upgrades as pull requests make them (issue 22 items 4 and 5): each edits a stack
// file, and `plan --diff` between the two must show the data store updated in place (never
// replaced), and a new parameter group replacing the old one, which Pulumi does
// create-before-delete: the instance moves to the new group before the old one goes.
func TestDataStoreUpgradesApplyInPlace(t *testing.T) {
	const (
		instance = "aws:rds/instance:Instance"
		pgParams = "aws:rds/parameterGroup:ParameterGroup"
		group    = "aws:elasticache/replicationGroup:ReplicationGroup"
		ecParams = "aws:elasticache/parameterGroup:ParameterGroup"
	)
	cases := []struct {
		name, stack, section string
		before, after        map[string]any // nil: the stack file as committed
		replaced             []string       // type::name
		updated              map[string][]string
	}{
		{
			name: "PostgreSQL major", stack: "dev", section: "database",
			after:    map[string]any{"engineVersion": "17"},
			replaced: []string{pgParams + "::database"},
			updated:  map[string][]string{instance + "::database": {"engineVersion", "parameterGroupName"}},
		},
		{
			// prod's file sets both flags in the pull request that changes the major.
			name: "PostgreSQL major in prod", stack: "prod", section: "database",
			after:    map[string]any{"engineVersion": "17", "applyImmediately": true, "allowMajorVersionUpgrade": true},
			replaced: []string{pgParams + "::database"},
			updated:  map[string][]string{instance + "::database": {"allowMajorVersionUpgrade", "applyImmediately", "engineVersion", "parameterGroupName"}},
		},
		{
			name: "database class", stack: "staging", section: "database",
			after:   map[string]any{"instanceClass": "db.r7g.large"},
			updated: map[string][]string{instance + "::database": {"instanceClass"}},
		},
		{
			name: "Redis OSS 7.1 to Valkey 8.2", stack: "dev", section: "cache",
			before:   map[string]any{"engine": "redis", "engineVersion": "7.1"},
			replaced: []string{ecParams + "::cache"},
			updated:  map[string][]string{group + "::cache": {"engine", "engineVersion", "parameterGroupName"}},
		},
		{
			name: "Valkey minor", stack: "prod", section: "cache",
			before:  map[string]any{"engineVersion": "8.1"},
			updated: map[string][]string{group + "::cache": {"engineVersion"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			side := func(fields map[string]any) *harness.Result {
				if fields == nil {
					return run(t, c.stack, false)
				}
				return runEdited(t, c.stack, c.section, fields)
			}
			d, err := plan.DiffResults(side(c.before), side(c.after))
			if err != nil {
				t.Fatal(err)
			}
			var replaced []string
			updated := map[string][]string{}
			for _, ch := range d.Changes {
				id := ch.Type + "::" + ch.Name
				switch ch.Action {
				case "replace":
					replaced = append(replaced, id)
				case "update":
					updated[id] = ch.Properties
				default:
					t.Errorf("%s %s", ch.Action, id)
				}
			}
			slices.Sort(replaced)
			if !slices.Equal(replaced, c.replaced) || d.Blocked != 0 {
				t.Errorf("replaced %v (blocked %d), want %v", replaced, d.Blocked, c.replaced)
			}
			for id, want := range c.updated {
				got := updated[id]
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s updates %v, want %v", id, got, want)
				}
			}
			for id := range updated {
				if _, ok := c.updated[id]; !ok {
					t.Errorf("unexpected update of %s: %v", id, updated[id])
				}
			}
			t.Logf("%s", strings.TrimSpace(fmt.Sprint(d.Counts())))
		})
	}
}

// Changes of the platform's shape as pull requests make them: a node group's instance type
// replaces only that group (its name is a prefix, so the new group is created before the old
// one is drained and deleted), and a new network range, which would replace the VPC's subnets
// under everything, is blocked by `plan --diff` instead of planned.
func TestPlatformChangesAsPlanned(t *testing.T) {
	const nodeGroup = "aws:eks/nodeGroup:NodeGroup"
	t.Run("node group instance type", func(t *testing.T) {
		edited := runEdited(t, "staging", "cluster", map[string]any{"general": map[string]any{"instanceTypes": []string{"m7g.xlarge"}}})
		d, err := plan.DiffResults(run(t, "staging", false), edited)
		if err != nil {
			t.Fatal(err)
		}
		var replaced []string
		for _, ch := range d.Changes {
			if ch.Action == "replace" || ch.Action == "delete" {
				replaced = append(replaced, ch.Type+"::"+ch.Name)
			}
		}
		if !slices.Equal(replaced, []string{nodeGroup + "::cluster-general"}) || d.Blocked != 0 {
			t.Fatalf("replaced %v (blocked %d), want only the general node group", replaced, d.Blocked)
		}
		ng := edited.Named(nodeGroup, "cluster-general")
		if ng.InputString("nodeGroupNamePrefix") == "" || ng.InputString("nodeGroupName") != "" || ng.DeleteBeforeReplace {
			t.Error("a node group with a fixed name would be deleted before its replacement exists")
		}
	})
	t.Run("network range", func(t *testing.T) {
		edited := runEdited(t, "dev", "network", map[string]any{"cidr": "10.60.0.0/16"})
		d, err := plan.DiffResults(run(t, "dev", false), edited)
		if err != nil {
			t.Fatal(err)
		}
		if d.Blocked == 0 {
			t.Fatalf("a new network range is planned, not blocked: %v", d.Counts())
		}
		t.Logf("%d changes blocked: %v", d.Blocked, d.Counts())
	})
}

// A Kubernetes minor upgrade as its pull request makes it (issue 22 item 5): cluster.version,
// and the kube-proxy build of that minor. The list of supported versions is data
// (pkg/config/kubernetes-versions.json), so 1.37 is refused until a pull request lists it;
// `plan --kubernetes-version 1.37` plans it before that. The plan must update the cluster,
// kube-proxy and the general node group in place, and the node group and add-ons must wait for
// the cluster (the control plane goes first). Karpenter's nodes need no change in the plan:
// the AMI alias resolves per Kubernetes version, so they drift to the new minor's AMI and are
// replaced (Karpenter docs, concepts/disruption, "Drift"), jobs' nodes once their jobs end.
func TestKubernetesMinorUpgradeInPlace(t *testing.T) {
	edit := map[string]any{
		"version": "1.37",
		"addons":  map[string]any{"kubeProxy": "v1.37.0-eksbuild.1"},
	}
	override := editSection(t, "dev", "cluster", func(cur map[string]any) { merge(cur, edit) })
	opts := harness.Options{Dir: ".", Stack: "dev", Override: override}
	if _, err := harness.Run(program, opts); err == nil || !strings.Contains(err.Error(), "cinegit:cluster.version") {
		t.Fatalf("1.37 is not in kubernetes-versions.json yet, but validation accepts it: %v", err)
	}
	config.PlannedKubernetesVersion = "1.37"
	t.Cleanup(func() { config.PlannedKubernetesVersion = "" })
	edited, err := harness.Run(program, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := plan.DiffResults(run(t, "dev", false), edited)
	if err != nil {
		t.Fatal(err)
	}
	updated := map[string][]string{}
	for _, ch := range d.Changes {
		if ch.Action != "update" {
			t.Errorf("%s %s::%s", ch.Action, ch.Type, ch.Name)
			continue
		}
		updated[ch.Type+"::"+ch.Name] = ch.Properties
	}
	for id, want := range map[string]string{
		"eks:index:Cluster::cluster":                   "version",
		"aws:eks/addon:Addon::cluster-kube-proxy":      "addonVersion",
		"aws:eks/nodeGroup:NodeGroup::cluster-general": "version",
	} {
		if !slices.Contains(updated[id], want) {
			t.Errorf("%s: updates %v, want %s among them", id, updated[id], want)
		}
	}
	cluster := edited.Named("eks:index:Cluster", "cluster")
	for _, id := range []string{"cluster-general"} {
		if ng := edited.Named("aws:eks/nodeGroup:NodeGroup", id); ng == nil || !edited.DependsOn(ng, cluster) {
			t.Errorf("%s does not wait for the cluster", id)
		}
	}
	if a := edited.Named("aws:eks/addon:Addon", "cluster-kube-proxy"); a == nil || !edited.DependsOn(a, cluster) {
		t.Error("kube-proxy does not wait for the cluster")
	}
	t.Logf("%d updates, %d unchanged", len(d.Changes), d.Unchanged)
}

// A chart bump as its pull request makes it (issue 22 item 5): a new chart version updates its
// release in place (a Helm upgrade: the chart's own CRDs, in templates, upgrade with it), and
// the Prometheus Operator's CRDs, which kube-prometheus-stack leaves to their own release,
// install before the stack's release at any version.
func TestChartBumpUpgradesInPlace(t *testing.T) {
	for _, c := range []struct {
		section string
		edit    map[string]any
		release string
	}{
		{"gitops", map[string]any{"chartVersion": "10.2.0"}, "gitops"},
		{"ingress", map[string]any{"externalDns": map[string]any{"chartVersion": "1.22.0"}}, "ingress-external-dns"},
	} {
		t.Run(c.release, func(t *testing.T) {
			d, err := plan.DiffResults(run(t, "dev", false), runEdited(t, "dev", c.section, c.edit))
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Changes) != 1 || d.Changes[0].Action != "update" || d.Changes[0].Name != c.release || !slices.Contains(d.Changes[0].Properties, "version") {
				t.Errorf("changes %+v, want %s's release updated (version) and nothing else", d.Changes, c.release)
			}
		})
	}
	r := run(t, "dev", false)
	stack, crds := r.Named(k8sRelease, "observability-stack"), r.Named(k8sRelease, "observability-crds")
	if stack == nil || crds == nil || !r.DependsOn(stack, crds) {
		t.Error("kube-prometheus-stack's release does not wait for the Prometheus Operator's CRDs")
	}
}
