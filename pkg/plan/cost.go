package plan

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// CostLine is one item of the monthly floor: what bills by the hour or the month whatever the
// traffic.
type CostLine struct {
	Item string `json:"item"`
	// Resources are the registrations billed on this line ("type::name").
	Resources []string `json:"resources"`
	Quantity  float64  `json:"quantity"`
	Unit      string   `json:"unit"`
	UnitPrice float64  `json:"unitPrice"`
	Monthly   float64  `json:"monthly"`
	Note      string   `json:"note,omitempty"`
}

// CostReport is the estimated monthly cost of a stack from its plan.
type CostReport struct {
	Stack     string       `json:"stack"`
	Region    string       `json:"region"`
	PriceDate string       `json:"priceDate"`
	Sources   []string     `json:"sources"`
	Floor     []CostLine   `json:"floor"`
	Monthly   float64      `json:"monthlyFloor"`
	Usage     []UsagePrice `json:"usage"`
	Notes     []string     `json:"notes"`
	// Footage is what CineGit's own work costs on the stack (footage.go).
	Footage *FootageCost `json:"footage"`
}

// Cost estimates a run's monthly floor from the price table of its region.
func Cost(r *harness.Result) (*CostReport, error) {
	region := r.Config["aws:region"]
	prices, ok := priceTables[region]
	if !ok {
		return nil, fmt.Errorf("cost: no price table for region %q (pkg/plan/prices.go has %s)", region, strings.Join(priceRegions(), ", "))
	}
	rep := &CostReport{
		Stack: r.Stack, Region: region, PriceDate: prices.Date, Sources: prices.Sources, Usage: append(slices.Clone(prices.Usage), poolCeilings(r, prices)...),
		Notes: []string{
			fmt.Sprintf("on-demand list prices of %s as of %s, %d hours a month; no free tier, savings plans or reservations", region, prices.Date, HoursPerMonth),
			"the general node group at its desired size; Karpenter's pools start from zero and cost nothing idle (their ceilings are under billed by use)",
			"WAF and CloudFront are global (us-east-1) whatever the stack's region",
		},
	}
	// Lines with the same item, unit price and note add up (ten KMS keys are one line).
	lines := map[string]int{}
	add := func(item string, res *harness.Resource, qty float64, unit string, price float64, note string) {
		key := fmt.Sprintf("%s|%s|%g|%s", item, unit, price, note)
		i, ok := lines[key]
		if !ok {
			i = len(rep.Floor)
			lines[key] = i
			rep.Floor = append(rep.Floor, CostLine{Item: item, Unit: unit, UnitPrice: price, Note: note})
		}
		l := &rep.Floor[i]
		l.Resources = append(l.Resources, res.Type+"::"+res.Name)
		l.Quantity += qty
		l.Monthly += qty * price
	}
	hourly := func(item string, res *harness.Resource, count float64, price float64, note string) {
		add(item, res, count*HoursPerMonth, "hours", price, note)
	}
	lookup := func(table map[string]float64, kind, key string) (float64, error) {
		p, ok := table[key]
		if !ok {
			return 0, fmt.Errorf("cost: no %s price for %q in %s's table (pkg/plan/prices.go)", kind, key, region)
		}
		return p, nil
	}

	for _, res := range r.Resources {
		switch res.Type {
		case "eks:index:Cluster":
			hourly("EKS control plane", res, 1, prices.EKSClusterHour, "standard support")
		case "aws:eks/nodeGroup:NodeGroup":
			desired, _ := res.Input("scalingConfig.desiredSize").(float64)
			types, _ := res.Input("instanceTypes").([]any)
			if desired == 0 || len(types) == 0 {
				continue
			}
			typ, _ := types[0].(string)
			p, err := lookup(prices.EC2Hour, "EC2", typ)
			if err != nil {
				return nil, err
			}
			note := "on-demand"
			if res.InputString("capacityType") == "SPOT" {
				note = "spot: on-demand price as an upper bound"
			}
			hourly("EC2 "+typ+" nodes", res, desired, p, note)
			if gib := nodeDiskGiB(r, res); gib > 0 {
				add("EBS gp3 node root volumes", res, desired*gib, "GiB-month", prices.EBSGp3GBMonth, "")
			}
		case "aws:ec2/natGateway:NatGateway":
			hourly("NAT gateway", res, 1, prices.NATGatewayHour, "")
		case "aws:ec2/eip:Eip":
			hourly("public IPv4 address", res, 1, prices.PublicIPv4Hour, "")
		case "aws:ec2/vpcEndpoint:VpcEndpoint":
			if res.InputString("vpcEndpointType") != "Interface" {
				continue // gateway endpoints are free
			}
			azs := float64(len(listInput(res, "subnetIds")))
			hourly("interface endpoints", res, azs, prices.InterfaceEndpointAZHour, "per endpoint per AZ")
		case "aws:rds/instance:Instance":
			class := res.InputString("instanceClass")
			p, err := lookup(prices.RDSHour, "RDS", class)
			if err != nil {
				return nil, err
			}
			copies, note := 1.0, "single-AZ"
			if res.Input("multiAz") == true {
				copies, note = 2, "multi-AZ: primary and standby"
			}
			hourly("RDS PostgreSQL "+class, res, copies, p, note)
			gib, _ := res.Input("allocatedStorage").(float64)
			add("RDS gp3 storage", res, copies*gib, "GiB-month", prices.RDSGp3GBMonth, note)
			if res.Input("manageMasterUserPassword") == true {
				add("Secrets Manager secret (RDS-managed master password)", res, 1, "secret-month", prices.SecretMonth, "")
			}
		case "aws:elasticache/replicationGroup:ReplicationGroup":
			node := res.InputString("nodeType")
			p, err := lookup(prices.ElastiCacheHour, "ElastiCache", node)
			if err != nil {
				return nil, err
			}
			n, _ := res.Input("numCacheClusters").(float64)
			if res.InputString("engine") == "valkey" {
				// Valkey's node-based prices are 20% below Redis OSS's, per node type
				// (https://aws.amazon.com/elasticache/pricing/, "ElastiCache for Valkey").
				hourly("ElastiCache "+node+" nodes", res, n, math.Round(p*0.8*1e6)/1e6, "Valkey: Redis OSS price less 20%")
				break
			}
			hourly("ElastiCache "+node+" nodes", res, n, p, "")
		case "aws:kms/key:Key":
			add("KMS customer managed key", res, 1, "key-month", prices.KMSKeyMonth, "")
		case "aws:secretsmanager/secret:Secret":
			add("Secrets Manager secret", res, 1, "secret-month", prices.SecretMonth, "")
		case "aws:wafv2/webAcl:WebAcl":
			add("WAF web ACL", res, 1, "web ACL-month", prices.WAFWebACLMonth, "")
			if rules := len(listInput(res, "rules")); rules > 0 {
				add("WAF rules and managed rule groups", res, float64(rules), "rule-month", prices.WAFRuleMonth, "")
			}
		case "aws:cloudwatch/metricAlarm:MetricAlarm":
			add("CloudWatch alarm", res, 1, "alarm-month", prices.AlarmMonth, "standard resolution")
		case "kubernetes:helm.sh/v3:Release":
			values, _ := res.Input("values").(map[string]any)
			if gib := releaseVolumesGiB(res.InputString("chart"), values); gib > 0 {
				add("EBS gp3 persistent volumes ("+res.InputString("chart")+")", res, gib, "GiB-month", prices.EBSGp3GBMonth, "")
			}
		}
	}
	for i := range rep.Floor {
		rep.Monthly += rep.Floor[i].Monthly
		rep.Floor[i].Monthly = cents(rep.Floor[i].Monthly)
	}
	sort.SliceStable(rep.Floor, func(i, j int) bool {
		a, b := rep.Floor[i], rep.Floor[j]
		if a.Monthly != b.Monthly {
			return a.Monthly > b.Monthly
		}
		return a.Item < b.Item
	})
	rep.Monthly = cents(rep.Monthly)
	footage, err := Footage(r, prices)
	if err != nil {
		return nil, err
	}
	rep.Footage = footage
	return rep, nil
}

// nodeDiskGiB is a node group's root volume: its launch template's, or the group's diskSize.
func nodeDiskGiB(r *harness.Result, ng *harness.Resource) float64 {
	for _, u := range ng.PropertyDependencies["launchTemplate"] {
		if lt := r.ByURN(u); lt != nil && lt.Type == "aws:ec2/launchTemplate:LaunchTemplate" {
			gib, _ := lt.Input("blockDeviceMappings[0].ebs.volumeSize").(float64)
			return gib
		}
	}
	if gib, ok := ng.Input("diskSize").(float64); ok {
		return gib
	}
	return 20 // EKS's default for managed node groups without a launch template
}

// releaseVolumesGiB adds up the persistent volumes a chart's values ask for: every object
// with a volume size (persistence.size, or a volumeClaimTemplate's storage request) times
// its replicas (1 when not given).
func releaseVolumesGiB(chart string, values map[string]any) float64 {
	total := 0.0
	var walk func(key string, m map[string]any)
	walk = func(key string, m map[string]any) {
		// Loki's read target is a stateless Deployment unless legacyReadTarget is set
		// (the loki chart's read section).
		if chart == "loki" && key == "read" && m["legacyReadTarget"] != true {
			return
		}
		if size := volumeSize(m); size > 0 {
			replicas := 1.0
			if n, ok := m["replicas"].(float64); ok {
				replicas = n
			}
			total += size * replicas
			return
		}
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(k, sub)
			}
		}
	}
	walk("", values)
	return total
}

// volumeSize reads a volume size in GiB directly under m.
func volumeSize(m map[string]any) float64 {
	if p, ok := m["persistence"].(map[string]any); ok && p["enabled"] != false {
		if g := gib(p["size"]); g > 0 {
			return g
		}
	}
	for _, k := range []string{"storageSpec", "storage"} {
		if s, ok := m[k].(map[string]any); ok {
			vct, _ := s["volumeClaimTemplate"].(map[string]any)
			if g := gib(at(vct, "spec.resources.requests.storage")); g > 0 {
				return g
			}
		}
	}
	return 0
}

// gib parses a Kubernetes quantity in Gi (or Ti).
func gib(v any) float64 {
	s, _ := v.(string)
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "Gi"):
		s = strings.TrimSuffix(s, "Gi")
	case strings.HasSuffix(s, "Ti"):
		s, mult = strings.TrimSuffix(s, "Ti"), 1024
	default:
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f * mult
}

// listInput is a list input's elements, or, in a preview where the list is not known yet, one
// element per resource it depends on.
func listInput(res *harness.Resource, key string) []any {
	if l, ok := res.Input(key).([]any); ok {
		return l
	}
	return make([]any, len(res.PropertyDependencies[key]))
}

func cents(f float64) float64 { return math.Round(f*100) / 100 }

func priceRegions() []string {
	out := make([]string, 0, len(priceTables))
	for k := range priceTables {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteCost renders the report as text.
func WriteCost(w io.Writer, c *CostReport) {
	fmt.Fprintf(w, "Estimated monthly floor of %s (%s, list prices of %s): $%.2f\n\n", c.Stack, c.Region, c.PriceDate, c.Monthly)
	for _, l := range c.Floor {
		note := ""
		if l.Note != "" {
			note = "  (" + l.Note + ")"
		}
		fmt.Fprintf(w, "  %9.2f  %-52s %g %s × $%g%s\n", l.Monthly, l.Item, math.Round(l.Quantity*100)/100, l.Unit, l.UnitPrice, note)
	}
	fmt.Fprintln(w, "\nBilled by use (not in the floor):")
	for _, u := range c.Usage {
		if u.Price == 0 {
			fmt.Fprintf(w, "  %-62s %s\n", u.Item, u.Unit)
			continue
		}
		fmt.Fprintf(w, "  %-62s $%s per %s\n", u.Item, strconv.FormatFloat(u.Price, 'f', -1, 64), u.Unit)
	}
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range c.Notes {
		fmt.Fprintln(w, "  - "+n)
	}
	if c.Footage != nil {
		WriteFootage(w, c.Footage)
	}
}

// poolCeilings are what each Karpenter pool costs an hour at most: its CPU limit filled with its
// first family and size, on demand (the limit is what caps a stack's spend on them).
func poolCeilings(r *harness.Result, prices PriceTable) []UsagePrice {
	var out []UsagePrice
	for _, pool := range r.ByType(NodePoolType) {
		typ := PoolInstanceType(pool)
		limits, _ := pool.Input("spec.limits").(map[string]any)
		cpu, _ := limits["cpu"].(string)
		vcpus, _ := strconv.ParseFloat(cpu, 64)
		per, _ := instanceVCPUs(typ)
		hour, ok := prices.EC2Hour[typ]
		if !ok || per == 0 || vcpus == 0 {
			continue
		}
		name := strings.TrimPrefix(pool.Name, "cluster-nodepool-")
		out = append(out, UsagePrice{
			Item:  fmt.Sprintf("Karpenter %s pool at its limit (%s vCPUs of %s)", name, cpu, typ),
			Price: cents(vcpus / per * hour),
			Unit:  "hour at most, on demand",
		})
	}
	return out
}
