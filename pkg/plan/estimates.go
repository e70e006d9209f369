package plan

import (
	"strings"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// Estimate is how long creating one resource of a type typically takes, in minutes, and where
// the figure comes from. "estimate" in a source means a typical figure, not a documented one:
// creation times vary by region and load, and only a real account measures them.
type Estimate struct {
	Minutes float64
	Source  string
}

// apiCall is the default for a custom resource not in the table: one or a few API calls.
var apiCall = Estimate{0.1, "estimate: a synchronous API call, seconds"}

// creationEstimates are the typical from-zero creation times of the types whose creation
// waits on AWS (or Kubernetes) doing real work. Everything else is an API call (apiCall),
// and components and providers take no time.
var creationEstimates = map[string]Estimate{
	// Network.
	"aws:ec2/vpc:Vpc":                         {0.2, "estimate: available within seconds"},
	"aws:ec2/subnet:Subnet":                   {0.2, "estimate: available within seconds"},
	"aws:ec2/internetGateway:InternetGateway": {0.2, "estimate: attach within seconds"},
	"aws:ec2/natGateway:NatGateway": {2, "estimate: pending to available in 1-3 minutes; the provider waits for available " +
		"(https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html)"},
	"aws:ec2/vpcEndpoint:VpcEndpoint": {2, "estimate: an interface endpoint's ENIs go pending to available in about 2 minutes; the provider waits"},
	"aws:ec2/eip:Eip":                 {0.1, "estimate: an API call"},

	// EKS.
	"eks:index:Cluster": {11, "the issue's measurement, about 11 minutes; AWS: control plane creation takes several minutes " +
		"(https://docs.aws.amazon.com/eks/latest/userguide/create-cluster.html); pulumi-eks also waits for the API and applies aws-auth/storage classes"},
	"aws:eks/nodeGroup:NodeGroup": {4, "estimate: managed node group creation until nodes are Ready, 3-5 minutes " +
		"(https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html)"},
	"aws:eks/addon:Addon":           {1.5, "estimate: an add-on becomes ACTIVE once its pods run on the nodes, 1-2 minutes"},
	"kubernetes:helm.sh/v3:Release": {2, "estimate: a Helm release waits for its workloads to be ready (per-chart figures below)"},

	// Data stores.
	"aws:rds/instance:Instance":                         {9, "estimate: a single-AZ PostgreSQL instance is available in about 8-10 minutes; multi-AZ (a synchronous standby) about 15, the issue's figure"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {8, "estimate: one Redis node about 8 minutes; with replicas and multi-AZ about 12, the issue's figure"},

	// Media.
	"aws:cloudfront/distribution:Distribution": {5, "estimate: the provider waits until the distribution is Deployed, i.e. propagated to the edge locations " +
		"(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HowToUpdateDistribution.html), typically about 5 minutes"},
	"aws:efs/fileSystem:FileSystem":   {0.3, "estimate: available within seconds"},
	"aws:efs/mountTarget:MountTarget": {1.5, "estimate: a mount target's ENI is available in about 1-2 minutes; the provider waits"},
	"aws:lambda/function:Function": {1, "estimate: a VPC function waits for its Hyperplane ENIs, up to about 90 seconds " +
		"(https://aws.amazon.com/blogs/compute/announcing-improved-vpc-networking-for-aws-lambda-functions/)"},
	"aws:wafv2/webAcl:WebAcl": {0.5, "estimate: seconds to half a minute"},
	"aws:kms/key:Key":         {0.2, "estimate: an API call plus the policy's propagation"},
	"aws:iam/role:Role":       {0.2, "estimate: an API call plus IAM's eventual consistency"},
}

// helmChartMinutes refine the Helm release estimate for the charts that run many workloads.
var helmChartMinutes = map[string]Estimate{
	"kube-prometheus-stack": {4, "estimate: CRDs, operator, Prometheus, Alertmanager and Grafana with volumes ready"},
	"loki":                  {3, "estimate: StatefulSets with volumes and the chunks cache ready"},
	"argo-cd":               {3, "estimate: controller, server, repo server and Redis ready"},
	"external-secrets":      {1.5, "estimate: controller and webhook ready"},
	"cluster-autoscaler":    {1, "estimate: one Deployment ready"},
	"alloy":                 {1.5, "estimate: a DaemonSet ready on every node"},
}

// EstimateFor returns the creation estimate of one registration. Components and providers
// take no time (a component only groups its children); the remote eks:index:Cluster component
// is the exception, since registering it creates the cluster.
func EstimateFor(res *harness.Resource) Estimate {
	if strings.HasPrefix(res.Type, "pulumi:providers:") {
		return Estimate{0, "a provider is configured, not created"}
	}
	e, ok := creationEstimates[res.Type]
	if !res.Custom && !res.Remote && !ok {
		return Estimate{0, "a component takes no time"}
	}
	switch res.Type {
	case "aws:rds/instance:Instance":
		if res.Input("multiAz") == true {
			return Estimate{15, "estimate: multi-AZ PostgreSQL (primary and synchronous standby), about 15 minutes, the issue's figure"}
		}
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		if n, _ := res.Input("numCacheClusters").(float64); n > 1 {
			return Estimate{12, "estimate: Redis with replicas, failover and multi-AZ, about 12 minutes, the issue's figure"}
		}
	case "kubernetes:helm.sh/v3:Release":
		if c, ok := helmChartMinutes[res.InputString("chart")]; ok {
			return c
		}
	}
	if ok {
		return e
	}
	if strings.HasPrefix(res.Type, "kubernetes:") {
		return Estimate{0.05, "estimate: one Kubernetes API call"}
	}
	return apiCall
}
