package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
	"github.com/cinegit/infrastructure/pkg/policy"
)

var stacks = []string{"dev", "staging", "prod"}

type runKey struct {
	stack   string
	preview bool
	setting string // "" for the stack file as committed
}

var (
	runsMu sync.Mutex
	runs   = map[runKey]*harness.Result{}
)

// run runs the whole program once per stack and mode and shares the result between tests.
func run(t testing.TB, stack string, preview bool) *harness.Result {
	t.Helper()
	return runCached(t, runKey{stack, preview, ""}, harness.Options{Dir: ".", Stack: stack, Preview: preview})
}

// runSetting runs a stack as it is after a later pull request sets section.field to value,
// like the FFmpeg image tag or the DNS delegation. The committed stack file must hold
// committed there (a new stack's first deploy depends on it), or the test fails.
func runSetting(t testing.TB, stack string, preview bool, section, field string, committed, value any) *harness.Result {
	t.Helper()
	override := editSection(t, stack, section, func(fields map[string]any) {
		if fields[field] != committed {
			t.Fatalf("Pulumi.%s.yaml sets %s.%s to %v: a new stack's first deploy needs %v", stack, section, field, fields[field], committed)
		}
		fields[field] = value
	})
	return runCached(t, runKey{stack, preview, fmt.Sprintf("%s.%s=%v", section, field, value)},
		harness.Options{Dir: ".", Stack: stack, Preview: preview, Override: override})
}

// editSection is the override that gives a stack's config section as edit leaves the
// committed one: what a pull request that edits the stack file would set.
func editSection(t testing.TB, stack, section string, edit func(fields map[string]any)) map[string]string {
	t.Helper()
	key := "cinegit:" + section
	_, raw, err := harness.LoadConfig(harness.Options{Dir: ".", Stack: stack})
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]any{}
	if err := json.Unmarshal([]byte(raw[key]), &fields); err != nil {
		t.Fatal(err)
	}
	edit(fields)
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{key: string(b)}
}

func runCached(t testing.TB, k runKey, o harness.Options) *harness.Result {
	t.Helper()
	runsMu.Lock()
	defer runsMu.Unlock()
	if r, ok := runs[k]; ok {
		return r
	}
	r, err := harness.Run(program, o)
	if err != nil {
		t.Fatalf("%s %s (preview=%v): %v", k.stack, k.setting, k.preview, err)
	}
	runs[k] = r
	return r
}

var (
	reportsMu sync.Mutex
	reports   = map[*harness.Result]*policy.Report{}
)

// policyReport evaluates the whole policy pack over a shared run once and shares the report
// between the tests that look at their own component's findings.
func policyReport(t *testing.T, r *harness.Result) *policy.Report {
	t.Helper()
	reportsMu.Lock()
	defer reportsMu.Unlock()
	if rep, ok := reports[r]; ok {
		return rep
	}
	rep, err := policy.Evaluate(context.Background(), plan.PolicyResources(r))
	if err != nil {
		t.Fatal(err)
	}
	reports[r] = rep
	return rep
}

// forEachRun runs f for every stack in update and preview mode.
func forEachRun(t *testing.T, f func(t *testing.T, r *harness.Result)) {
	for _, stack := range stacks {
		for _, preview := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/preview=%v", stack, preview), func(t *testing.T) {
				f(t, run(t, stack, preview))
			})
		}
	}
}

func TestNetworkPerStack(t *testing.T) {
	want := map[string]struct {
		azs, nats, interfaceEndpoints int
		retention                     float64
	}{
		"dev":     {azs: 2, nats: 1, interfaceEndpoints: 0, retention: 7},
		"staging": {azs: 3, nats: 3, interfaceEndpoints: 5, retention: 30},
		"prod":    {azs: 3, nats: 3, interfaceEndpoints: 5, retention: 365},
	}
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		w := want[r.Stack]
		subnets := r.ByType("aws:ec2/subnet:Subnet")
		if len(subnets) != 3*w.azs {
			t.Fatalf("subnets: got %d, want %d", len(subnets), 3*w.azs)
		}
		perTierAZs := map[string]map[string]bool{}
		for _, s := range subnets {
			tier := s.InputString("tags.tier")
			if perTierAZs[tier] == nil {
				perTierAZs[tier] = map[string]bool{}
			}
			perTierAZs[tier][s.InputString("availabilityZone")] = true
			if s.Input("mapPublicIpOnLaunch") == true {
				t.Errorf("%s maps public IPs on launch", s.Name)
			}
		}
		for _, tier := range []string{"public", "private", "database"} {
			if len(perTierAZs[tier]) != w.azs {
				t.Errorf("%s subnets span %d AZs, want %d", tier, len(perTierAZs[tier]), w.azs)
			}
		}
		for _, s := range subnets {
			switch s.InputString("tags.tier") {
			case "public":
				if s.Input("tags").(map[string]any)["kubernetes.io/role/elb"] != "1" {
					t.Errorf("%s lacks the public load balancer discovery tag", s.Name)
				}
			case "private":
				if s.Input("tags").(map[string]any)["kubernetes.io/role/internal-elb"] != "1" {
					t.Errorf("%s lacks the internal load balancer discovery tag", s.Name)
				}
			}
		}

		nats := r.ByType("aws:ec2/natGateway:NatGateway")
		if len(nats) != w.nats {
			t.Fatalf("NAT gateways: got %d, want %d", len(nats), w.nats)
		}
		// Each private route table egresses through its own AZ's NAT (or the single one).
		for _, rt := range r.ByType("aws:ec2/routeTable:RouteTable") {
			az, ok := strings.CutPrefix(rt.Name, "network-private-")
			if !ok {
				continue
			}
			wantNat := "network-" + az
			if w.nats == 1 {
				wantNat = nats[0].Name
			}
			nat := r.Named("aws:ec2/natGateway:NatGateway", wantNat)
			if nat == nil || !contains(rt.PropertyDependencies["routes"], nat.URN) {
				t.Errorf("%s does not route through %s", rt.Name, wantNat)
			}
		}
		db := r.Named("aws:ec2/routeTable:RouteTable", "network-database")
		if db == nil || len(db.PropertyDependencies["routes"]) != 0 || db.Input("routes") != nil && len(db.Input("routes").([]any)) != 0 {
			t.Errorf("database route table must have no routes out of the VPC")
		}

		endpoints := map[string]int{}
		for _, e := range r.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
			endpoints[e.InputString("vpcEndpointType")]++
		}
		if endpoints["Gateway"] != 1 || endpoints["Interface"] != w.interfaceEndpoints {
			t.Errorf("endpoints: %v, want 1 gateway and %d interface", endpoints, w.interfaceEndpoints)
		}
		// The S3 gateway admits the account's own buckets, and only reads of AWS-owned ones.
		if p := r.Named("aws:ec2/vpcEndpoint:VpcEndpoint", "network-s3"); p == nil {
			t.Error("no S3 gateway endpoint")
		} else {
			st, err := p.PolicyBySid("policy")
			if err != nil {
				t.Fatal(err)
			}
			account, reads := st["AccountBuckets"], st["AWSOwnedReads"]
			if len(st) != 2 || fmt.Sprint(account.Condition) != "map[StringEquals:map[aws:ResourceAccount:[123456789012]]]" ||
				fmt.Sprint(reads.Action) != "[s3:GetObject]" || !contains(reads.Resource, "arn:aws:s3:::prod-"+r.Config["aws:region"]+"-starport-layer-bucket/*") {
				t.Errorf("S3 gateway endpoint policy: %+v", st)
			}
		}

		flow := r.ByType("aws:ec2/flowLog:FlowLog")
		if len(flow) != 1 || flow[0].InputString("trafficType") != "ALL" {
			t.Fatalf("want one flow log of ALL traffic, got %d", len(flow))
		}
		group := r.Named("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
		if group == nil || group.Input("retentionInDays") != w.retention || !r.DependsOn(group, r.Named("aws:kms/key:Key", "network-logs")) {
			t.Errorf("flow log group must keep %v days and use the network KMS key", w.retention)
		}
		if !r.DependsOn(flow[0], group) {
			t.Errorf("flow log does not deliver to the flow log group")
		}

		dsg := r.ByType("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
		if len(dsg) != 1 || dsg[0].Input("ingress") != nil || dsg[0].Input("egress") != nil {
			t.Errorf("the default security group must exist with no rules")
		}
	})
}

func TestEveryResourceIsTaggedWithProjectAndEnvironment(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, res := range r.Resources {
			if !strings.HasPrefix(res.Type, "aws:") || res.Input("tags") == nil && !hasTagsField(res.Type) {
				continue
			}
			for k, v := range map[string]string{"project": "cinegit", "environment": r.Stack, "managed-by": "pulumi"} {
				if got := res.InputString("tags." + k); got != v {
					t.Errorf("%s %s: tag %s=%q, want %q", res.Type, res.Name, k, got, v)
				}
			}
		}
		for _, p := range r.ByType("pulumi:providers:aws") {
			if p.Input("defaultTags.tags.environment") != r.Stack || p.Input("defaultTags.tags.project") != "cinegit" {
				t.Errorf("provider %s lacks default tags", p.Name)
			}
		}
	})
}

// hasTagsField lists AWS types that take tags but might be created without them.
func hasTagsField(typ string) bool {
	switch typ {
	case "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role":
		return true
	}
	return false
}

func TestComponentsParentEveryResource(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		for _, res := range r.Resources {
			if strings.HasPrefix(res.Type, "pulumi:providers:") || !res.Custom {
				continue
			}
			parent := r.ByURN(res.Parent)
			if parent == nil || parent.Custom {
				t.Errorf("%s %s is not parented to a component (parent %q)", res.Type, res.Name, res.Parent)
			}
			if !strings.HasPrefix(parent.Type, "cinegit:") && !res.Remote {
				t.Errorf("%s %s: parent %s is not a CineGit component", res.Type, res.Name, parent.Type)
			}
		}
	})
}

func TestPreviewRegistersTheSameResources(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			up, pre := urns(run(t, stack, false)), urns(run(t, stack, true))
			if strings.Join(up, "\n") != strings.Join(pre, "\n") {
				t.Fatalf("preview and update differ:\nupdate only: %v\npreview only: %v", minus(up, pre), minus(pre, up))
			}
		})
	}
}

func TestDeterministicGraph(t *testing.T) {
	a := run(t, "staging", false)
	b, err := harness.Run(program, harness.Options{Dir: ".", Stack: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(urns(a), "\n") != strings.Join(urns(b), "\n") {
		t.Fatal("two runs of the same configuration registered different resources")
	}
}

func urns(r *harness.Result) []string {
	out := make([]string, 0, len(r.Resources))
	for _, res := range r.Resources {
		out = append(out, res.URN)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range b {
		set[x] = true
	}
	var out []string
	for _, x := range a {
		if !set[x] {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func BenchmarkWholeProgram(b *testing.B) {
	for _, stack := range stacks {
		b.Run(stack, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := harness.Run(program, harness.Options{Dir: ".", Stack: stack}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
