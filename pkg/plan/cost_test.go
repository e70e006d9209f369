package plan

import (
	"math"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cinegit/infrastructure/pkg/harness"
)

func devLike() []*harness.Resource {
	lt := node("aws:ec2/launchTemplate:LaunchTemplate", "general", true, map[string]any{
		"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 50, "volumeType": "gp3"}}},
	})
	general := node("aws:eks/nodeGroup:NodeGroup", "general", true, map[string]any{
		"instanceTypes": []any{"m7i.large"}, "capacityType": "ON_DEMAND", "scalingConfig": map[string]any{"desiredSize": 1, "minSize": 1, "maxSize": 3},
	})
	general.PropertyDependencies = map[string][]string{"launchTemplate": {lt.URN}}
	media := node("aws:eks/nodeGroup:NodeGroup", "media", true, map[string]any{
		"instanceTypes": []any{"c7i.2xlarge", "c6i.2xlarge"}, "capacityType": "SPOT", "scalingConfig": map[string]any{"desiredSize": 0, "maxSize": 4},
	})
	cluster := node("eks:index:Cluster", "cluster", false, nil)
	cluster.Remote = true
	return []*harness.Resource{
		cluster, lt, general, media,
		node("aws:ec2/natGateway:NatGateway", "nat", true, nil),
		node("aws:ec2/eip:Eip", "nat", true, map[string]any{"domain": "vpc"}),
		node("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", true, map[string]any{"vpcEndpointType": "Gateway"}),
		node("aws:ec2/vpcEndpoint:VpcEndpoint", "sts", true, map[string]any{
			"vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.sts", "subnetIds": []any{"a", "b", "c"},
		}),
		node("aws:rds/instance:Instance", "database", true, map[string]any{
			"instanceClass": "db.t4g.micro", "multiAz": false, "allocatedStorage": 20, "manageMasterUserPassword": true,
		}),
		node("aws:elasticache/replicationGroup:ReplicationGroup", "cache", true, map[string]any{"nodeType": "cache.t4g.micro", "numCacheClusters": 1}),
		node("aws:kms/key:Key", "a", true, nil),
		node("aws:kms/key:Key", "b", true, nil),
		node("aws:secretsmanager/secret:Secret", "auth", true, nil),
		node("aws:wafv2/webAcl:WebAcl", "cdn", true, map[string]any{"rules": []any{
			map[string]any{"name": "a"}, map[string]any{"name": "b"}, map[string]any{"name": "c"}, map[string]any{"name": "d"},
		}}),
		node("aws:cloudwatch/metricAlarm:MetricAlarm", "errors", true, nil),
		node("aws:cloudwatch/metricAlarm:MetricAlarm", "age", true, nil),
		node("kubernetes:helm.sh/v3:Release", "stack", true, map[string]any{"chart": "kube-prometheus-stack", "values": map[string]any{
			"prometheus": map[string]any{"prometheusSpec": map[string]any{"replicas": 1, "storageSpec": map[string]any{
				"volumeClaimTemplate": map[string]any{"spec": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "20Gi"}}}}}}},
			"alertmanager": map[string]any{"alertmanagerSpec": map[string]any{"replicas": 1, "storage": map[string]any{
				"volumeClaimTemplate": map[string]any{"spec": map[string]any{"resources": map[string]any{"requests": map[string]any{"storage": "1Gi"}}}}}}},
			"grafana": map[string]any{"persistence": map[string]any{"enabled": true, "size": "5Gi"}},
		}}),
		node("kubernetes:helm.sh/v3:Release", "loki", true, map[string]any{"chart": "loki", "values": map[string]any{
			"deploymentMode": "SingleBinary",
			"singleBinary":   map[string]any{"replicas": 1, "persistence": map[string]any{"size": "10Gi"}},
			"read":           map[string]any{"replicas": 3, "persistence": map[string]any{"size": "10Gi"}},
			"write":          map[string]any{"replicas": 0, "persistence": map[string]any{"size": "10Gi"}},
		}}),
		node("aws:s3/bucketV2:BucketV2", "media", true, nil),
	}
}

func TestCostAgainstHandFigures(t *testing.T) {
	tests := []struct {
		name   string
		change func([]*harness.Resource) []*harness.Resource
		want   float64
	}{
		{
			name: "dev-like floor",
			// EKS 730 × 0.10 = 73.00; m7i.large 730 × 0.1008 = 73.584; its root volume 50 × 0.08 = 4.00;
			// NAT 730 × 0.045 = 32.85; public IPv4 730 × 0.005 = 3.65; sts endpoint 3 AZs × 730 × 0.01 = 21.90;
			// db.t4g.micro 730 × 0.016 = 11.68, 20 GiB × 0.115 = 2.30, managed master secret 0.40;
			// cache.t4g.micro 730 × 0.016 = 11.68; 2 keys × 1 = 2.00; 1 secret 0.40; WAF 5 + 4 rules = 9.00;
			// 2 alarms × 0.10 = 0.20; volumes (20 + 1 + 5) × 0.08 = 2.08 and Loki 10 × 0.08 = 0.80
			// (its read target keeps no volume); the gateway endpoint, the spot group at zero and the
			// bucket bill by use. Sum: 249.524.
			change: func(rs []*harness.Resource) []*harness.Resource { return rs },
			want:   249.52,
		},
		{
			name: "Graviton general node",
			// 249.524 - 73.584 + 730 × 0.0816 (59.568) = 235.508.
			change: func(rs []*harness.Resource) []*harness.Resource {
				rs[2].Inputs["instanceTypes"] = resource.NewPropertyValue([]any{"m7g.large"})
				return rs
			},
			want: 235.51,
		},
		{
			name: "multi-AZ database and three cache nodes",
			// 249.524 - (11.68 + 2.30) + 2 × 730 × 0.239 (348.94) + 2 × 100 × 0.115 (23.00)
			// - 11.68 + 3 × 730 × 0.016 (35.04) = 630.844.
			change: func(rs []*harness.Resource) []*harness.Resource {
				rs[8] = node("aws:rds/instance:Instance", "database", true, map[string]any{
					"instanceClass": "db.r7g.large", "multiAz": true, "allocatedStorage": 100, "manageMasterUserPassword": true,
				})
				rs[9] = node("aws:elasticache/replicationGroup:ReplicationGroup", "cache", true, map[string]any{"nodeType": "cache.t4g.micro", "numCacheClusters": 3})
				return rs
			},
			want: 630.84,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Cost(result("us-east-1", tt.change(devLike())...))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(c.Monthly-tt.want) > 0.005 {
				var b strings.Builder
				WriteCost(&b, c)
				t.Errorf("monthly floor %.2f, want %.2f\n%s", c.Monthly, tt.want, b.String())
			}
		})
	}
}

func TestCostRefusesWhatItCannotPrice(t *testing.T) {
	if _, err := Cost(result("eu-west-1", devLike()...)); err == nil || !strings.Contains(err.Error(), "eu-west-1") {
		t.Errorf("unknown region: %v", err)
	}
	rs := devLike()
	rs[8] = node("aws:rds/instance:Instance", "database", true, map[string]any{"instanceClass": "db.x9.huge"})
	if _, err := Cost(result("us-east-1", rs...)); err == nil || !strings.Contains(err.Error(), "db.x9.huge") {
		t.Errorf("unknown class: %v", err)
	}
}

func TestCostListsUsageAndSources(t *testing.T) {
	c, err := Cost(result("us-east-1", devLike()...))
	if err != nil {
		t.Fatal(err)
	}
	if c.PriceDate == "" || len(c.Sources) == 0 || len(c.Usage) < 10 {
		t.Errorf("date %q, %d sources, %d usage prices", c.PriceDate, len(c.Sources), len(c.Usage))
	}
	lines := map[string]CostLine{}
	for _, l := range c.Floor {
		lines[l.Item] = l
		for _, r := range l.Resources {
			if r == "aws:eks/nodeGroup:NodeGroup::media" || strings.Contains(r, "BucketV2") || strings.Contains(r, "::s3") {
				t.Errorf("%s is not part of the floor", r)
			}
		}
	}
	// Like items add up: two keys on one line, 2 × $1.
	if k := lines["KMS customer managed key"]; k.Quantity != 2 || k.Monthly != 2 || len(k.Resources) != 2 {
		t.Errorf("KMS line %+v", k)
	}
}
