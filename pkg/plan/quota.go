package plan

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Quota is an AWS service quota a stack can exhaust on its first update: one a new account's
// default may not cover, and whose shortfall `pulumi up` would only find halfway through.
type Quota struct {
	// Service and Code name the quota in Service Quotas (`aws service-quotas
	// get-service-quota --service-code <Service> --quota-code <Code>`).
	Service string `json:"service"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	// Scope is what the quota counts per: "region", "VPC" or "AZ".
	Scope string `json:"scope"`
	// Default is a new account's value.
	Default    float64 `json:"default"`
	Adjustable bool    `json:"adjustable"`
	Source     string  `json:"source"`
}

// The quotas the plan counts. Defaults and codes: the services' quota pages cited with each.
var (
	quotaEIPs = Quota{Service: "ec2", Code: "L-0263D0A3", Name: "EC2-VPC Elastic IPs", Scope: "region", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-eips"}
	quotaVPCs = Quota{Service: "vpc", Code: "L-F678F1CE", Name: "VPCs per Region", Scope: "region", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-vpcs-subnets"}
	quotaIGWs = Quota{Service: "vpc", Code: "L-A4707A72", Name: "Internet gateways per Region", Scope: "region", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-gateways"}
	quotaNATs = Quota{Service: "vpc", Code: "L-FE5A380F", Name: "NAT gateways per Availability Zone", Scope: "AZ", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-gateways"}
	quotaEndpoints = Quota{Service: "vpc", Code: "L-29B6F2EB", Name: "Interface VPC endpoints per VPC", Scope: "VPC", Default: 50, Adjustable: true,
		Source: "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-limits-endpoints.html"}
	quotaLambda = Quota{Service: "lambda", Code: "L-B99A9384", Name: "Concurrent executions", Scope: "region", Default: 1000, Adjustable: true,
		Source: "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (new accounts may start lower; 100 always stay unreserved)"}
	// Fixed at 10 per Region ("This quota can't be changed"): no Service Quotas code to read.
	quotaLogPolicies = Quota{Service: "logs", Name: "Resource policies", Scope: "region", Default: 10, Adjustable: false,
		Source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html"}
	quotaEKS = Quota{Service: "eks", Code: "L-1194D53C", Name: "Clusters", Scope: "region", Default: 100, Adjustable: true,
		Source: "https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html"}
	// The vCPU quotas of a new account vary and AWS publishes no single default: 5 is the
	// lowest seen, so a stack that needs more is flagged, and check-quotas.sh reads the
	// account's own value (get-service-quota) before an update.
	quotaOnDemandStandard = Quota{Service: "ec2", Code: "L-1216C47A", Name: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (vCPUs)", Scope: "region", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html (new accounts may start lower than established ones)"}
	quotaSpotStandard = Quota{Service: "ec2", Code: "L-34B43A08", Name: "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests (vCPUs)", Scope: "region", Default: 5, Adjustable: true,
		Source: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-limits.html"}
	quotaOnDemandG = Quota{Service: "ec2", Code: "L-DB2E81BA", Name: "Running On-Demand G and VT instances (vCPUs)", Scope: "region", Default: 0, Adjustable: true,
		Source: "https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html"}
	quotaSpotG = Quota{Service: "ec2", Code: "L-3819A6DF", Name: "All G and VT Spot Instance Requests (vCPUs)", Scope: "region", Default: 0, Adjustable: true,
		Source: "https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-quotas.html"}
)

// QuotaNeed is what a stack needs of one quota in one region (and VPC or AZ).
type QuotaNeed struct {
	Quota
	Region string `json:"region"`
	// Where is the VPC or AZ of a per-VPC or per-AZ quota.
	Where     string   `json:"where,omitempty"`
	Need      float64  `json:"need"`
	Resources []string `json:"resources"`
	// FitsDefault is whether a new account's default covers the need.
	FitsDefault bool `json:"fitsDefault"`
}

// Quotas counts what a stack's resources need of each quota, per region (and VPC or AZ), in
// code, region and scope order, with what the account's bootstrap holds. It assumes nothing else
// is in the stack's account: what else the account holds adds to every count.
func Quotas(r *harness.Result) []QuotaNeed {
	stackRegion := r.Config["aws:region"]
	// One need per quota (its service and name: a fixed quota has no code), region and scope.
	needs := map[string]*QuotaNeed{}
	add := func(q Quota, region, where string, n float64, what string) *QuotaNeed {
		key := q.Service + "|" + q.Name + "|" + region + "|" + where
		qn, ok := needs[key]
		if !ok {
			qn = &QuotaNeed{Quota: q, Region: region, Where: where}
			needs[key] = qn
		}
		qn.Need += n
		qn.Resources = append(qn.Resources, what)
		return qn
	}
	// where is the name or an input of the resource a property came from (a NAT gateway's
	// subnet's zone, an endpoint's VPC), "" when it is not among the registrations.
	where := func(res *harness.Resource, prop, input string) string {
		for _, urn := range res.PropertyDependencies[prop] {
			if dep := r.ByURN(urn); dep != nil {
				if input == "" {
					return dep.Name
				}
				return dep.InputString(input)
			}
		}
		return ""
	}
	region := func(res *harness.Resource) string {
		if res.Provider != "" {
			if p := r.ByURN(harness.ProviderURN(res.Provider)); p != nil && p.InputString("region") != "" {
				return p.InputString("region")
			}
		}
		return stackRegion
	}
	// The Lambda pool: reserved concurrency, and the queue mappings' caps drawn from the rest.
	lambdaReserved, lambdaCaps := map[string]float64{}, map[string]float64{}
	lambdaRes := map[string][]*harness.Resource{}

	for _, res := range r.Resources {
		reg := region(res)
		add := func(q Quota, region, where string, n float64, res *harness.Resource) *QuotaNeed {
			return add(q, region, where, n, res.Type+"::"+res.Name)
		}
		switch res.Type {
		case "aws:ec2/eip:Eip":
			add(quotaEIPs, reg, "", 1, res)
		case "aws:ec2/vpc:Vpc":
			add(quotaVPCs, reg, "", 1, res)
		case "aws:ec2/internetGateway:InternetGateway":
			add(quotaIGWs, reg, "", 1, res)
		case "aws:ec2/natGateway:NatGateway":
			add(quotaNATs, reg, where(res, "subnetId", "availabilityZone"), 1, res)
		case "aws:ec2/vpcEndpoint:VpcEndpoint":
			if res.InputString("vpcEndpointType") == "Interface" {
				add(quotaEndpoints, reg, where(res, "vpcId", ""), 1, res)
			}
		case "aws:cloudwatch/logResourcePolicy:LogResourcePolicy":
			add(quotaLogPolicies, reg, "", 1, res)
		case "eks:index:Cluster":
			add(quotaEKS, reg, "", 1, res)
		case "aws:eks/nodeGroup:NodeGroup":
			maxSize, _ := res.Input("scalingConfig.maxSize").(float64)
			vcpus, gpu := 0.0, false
			for _, t := range listInput(res, "instanceTypes") {
				s, _ := t.(string)
				v, g := instanceVCPUs(s)
				vcpus, gpu = math.Max(vcpus, v), gpu || g
			}
			add(vcpuQuota(res.InputString("capacityType") == "SPOT", gpu), reg, "", maxSize*vcpus, res)
		case NodePoolType:
			// A Karpenter pool launches up to its CPU limit, on Spot or on demand as it allows
			// (either may take all of it), in the G and VT quotas if it has GPUs.
			limits, _ := res.Input("spec.limits").(map[string]any)
			cpu, _ := limits["cpu"].(string)
			limit, _ := strconv.ParseFloat(cpu, 64)
			_, gpu := limits["nvidia.com/gpu"]
			for _, capacity := range PoolRequirement(res, "karpenter.sh/capacity-type") {
				add(vcpuQuota(capacity == "spot", gpu), reg, "", limit, res)
			}
		case "aws:lambda/function:Function":
			if n, ok := res.Input("reservedConcurrentExecutions").(float64); ok && n > 0 {
				lambdaReserved[reg] += n
			}
			lambdaRes[reg] = append(lambdaRes[reg], res)
		case "aws:lambda/eventSourceMapping:EventSourceMapping":
			if n, ok := res.Input("scalingConfig.maximumConcurrency").(float64); ok {
				lambdaCaps[reg] += n
			}
			lambdaRes[reg] = append(lambdaRes[reg], res)
		}
	}
	for reg, rs := range lambdaRes {
		var qn *QuotaNeed
		for _, res := range rs {
			qn = add(quotaLambda, reg, "", 0, res.Type+"::"+res.Name)
		}
		// Lambda keeps 100 unreserved ("Lambda quotas": reserved concurrency leaves at least
		// 100 for functions without it); the mappings' caps draw from that pool.
		qn.Need = lambdaReserved[reg] + math.Max(100, lambdaCaps[reg])
	}
	// The stack's account also holds its bootstrap (bootstrap/runner_network.go): the deploy
	// runner's VPC and internet gateway, and one NAT gateway with its Elastic IP in the
	// region's first zone.
	const runner = "bootstrap/: deploy runner network"
	for _, q := range []Quota{quotaVPCs, quotaIGWs, quotaEIPs} {
		add(q, stackRegion, "", 1, runner)
	}
	add(quotaNATs, stackRegion, stackRegion+"a", 1, runner)

	out := make([]QuotaNeed, 0, len(needs))
	for _, qn := range needs {
		qn.FitsDefault = qn.Need <= qn.Default
		sort.Strings(qn.Resources)
		out = append(out, *qn)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Where < b.Where
	})
	return out
}

// instanceVCPUs is an instance type's vCPUs, from its size as the current general-purpose,
// compute, memory and G families size them (medium 1, large 2, xlarge 4, <n>xlarge 4n:
// "Amazon EC2 instance type specifications", docs.aws.amazon.com/ec2/latest/instancetypes),
// and whether it counts against the G and VT quotas.
// vcpuQuota is the EC2 vCPU quota an instance counts against: standard or G and VT, on demand
// or Spot.
func vcpuQuota(spot, gpu bool) Quota {
	return map[[2]bool]Quota{{false, false}: quotaOnDemandStandard, {true, false}: quotaSpotStandard, {false, true}: quotaOnDemandG, {true, true}: quotaSpotG}[[2]bool{spot, gpu}]
}

func instanceVCPUs(typ string) (float64, bool) {
	family, size, _ := strings.Cut(typ, ".")
	gpu := strings.HasPrefix(family, "g") || strings.HasPrefix(family, "vt")
	switch size {
	case "medium":
		return 1, gpu
	case "large":
		return 2, gpu
	case "xlarge":
		return 4, gpu
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(size, "xlarge")); err == nil && strings.HasSuffix(size, "xlarge") {
		return float64(4 * n), gpu
	}
	return 0, gpu
}

// WriteQuotas writes the quota report as text: one line per quota, short ones first marked.
func WriteQuotas(w io.Writer, stack string, qs []QuotaNeed) {
	fmt.Fprintf(w, "Quotas %s needs (in its own account, with its bootstrap's deploy runner; a new account's defaults):\n", stack)
	for _, q := range qs {
		mark := "ok   "
		if !q.FitsDefault {
			mark = "RAISE"
		}
		where := q.Region
		if q.Where != "" {
			where += " " + q.Where
		}
		fmt.Fprintf(w, "  %s %-10s %-6s %-60s %s: need %g, default %g\n", mark, q.Code, q.Service, q.Name, where, q.Need, q.Default)
	}
}
