package plan

import (
	"math"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

func TestCriticalPath(t *testing.T) {
	vpc := node("aws:ec2/vpc:Vpc", "vpc", true, nil)
	subnet := node("aws:ec2/subnet:Subnet", "private", true, nil, vpc)
	cluster := node("eks:index:Cluster", "cluster", false, nil, subnet)
	cluster.Remote = true
	group := node("aws:eks/nodeGroup:NodeGroup", "general", true, map[string]any{"scalingConfig": map[string]any{"desiredSize": 2}}, cluster)
	addon := node("aws:eks/addon:Addon", "coredns", true, nil, group)
	// The release does not depend on the nodes, yet its pods need them.
	loki := node("kubernetes:helm.sh/v3:Release", "loki", true, map[string]any{"chart": "loki"}, cluster)
	comp := node("cinegit:database:Database", "database", false, nil)
	sg := node("aws:ec2/securityGroup:SecurityGroup", "database", true, nil, vpc)
	sg.Parent = comp.URN
	db := node("aws:rds/instance:Instance", "database", true, map[string]any{"multiAz": true}, subnet, sg)
	db.Parent = comp.URN
	rule := node("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "database-ingress-0", true, nil, sg, cluster)

	tests := []struct {
		name      string
		dbDeps    []*harness.Resource
		total     float64
		chain     []string
		dbAfterGK bool
	}{
		{
			// vpc 0.2 + subnet 0.2 + cluster 11 + node group 4 + coredns 1.5 = 16.9, and loki
			// after the nodes: 15.4 + 3 = 18.4;
			// the database: 0.2 + 0.2 + security group 0.1 + multi-AZ 15 = 15.5.
			name: "data stores start with the network", total: 18.4,
			chain: []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "eks:index:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:helm.sh/v3:Release"},
		},
		{
			// The old wiring: the database's group waits for the cluster.
			// 0.2 + 0.2 + 11 + 0.1 + 15 = 26.5.
			name: "a database behind the cluster", dbDeps: []*harness.Resource{cluster}, total: 26.5, dbAfterGK: true,
			chain: []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "eks:index:Cluster", "aws:ec2/securityGroup:SecurityGroup", "aws:rds/instance:Instance"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := *sg
			s.Dependencies = append(append([]string{}, sg.Dependencies...), urns(tt.dbDeps)...)
			d := *db
			d.Dependencies = []string{subnet.URN, s.URN}
			r := result("us-east-1", vpc, subnet, cluster, group, addon, loki, comp, &s, &d, rule)
			sched := NewSchedule(r)
			p := sched.Critical()
			if math.Abs(p.TotalMinutes-tt.total) > 1e-9 {
				t.Errorf("total %v, want %v", p.TotalMinutes, tt.total)
			}
			var got []string
			for _, st := range p.Steps {
				got = append(got, st.Type)
			}
			if len(got) != len(tt.chain) {
				t.Fatalf("chain %v, want %v", got, tt.chain)
			}
			for i := range got {
				if got[i] != tt.chain[i] {
					t.Fatalf("chain %v, want %v", got, tt.chain)
				}
			}
			if sched.After(d.URN, cluster.URN) != tt.dbAfterGK {
				t.Errorf("database after the cluster: %v, want %v", !tt.dbAfterGK, tt.dbAfterGK)
			}
			if !sched.After(rule.URN, cluster.URN) || !sched.After(rule.URN, s.URN) {
				t.Error("the ingress rule comes after both groups")
			}
		})
	}
}

func TestEstimates(t *testing.T) {
	tests := []struct {
		res  *harness.Resource
		want float64
	}{
		{node("aws:rds/instance:Instance", "db", true, map[string]any{"multiAz": true}), 15},
		{node("aws:rds/instance:Instance", "db", true, map[string]any{"multiAz": false}), 9},
		{node("aws:elasticache/replicationGroup:ReplicationGroup", "c", true, map[string]any{"numCacheClusters": 3}), 12},
		{node("aws:elasticache/replicationGroup:ReplicationGroup", "c", true, map[string]any{"numCacheClusters": 1}), 8},
		{node("kubernetes:helm.sh/v3:Release", "r", true, map[string]any{"chart": "kube-prometheus-stack"}), 4},
		{node("kubernetes:helm.sh/v3:Release", "r", true, map[string]any{"chart": "unknown"}), 2},
		{node("kubernetes:core/v1:Namespace", "n", true, nil), 0.05},
		{node("aws:s3/bucketV2:BucketV2", "b", true, nil), 0.1},
		{node("cinegit:network:Network", "n", false, nil), 0},
		{node("pulumi:providers:aws", "aws", true, nil), 0},
	}
	for _, tt := range tests {
		if e := EstimateFor(tt.res); e.Minutes != tt.want || e.Source == "" {
			t.Errorf("%s %v: %v (%q), want %v", tt.res.Type, tt.res.Inputs, e.Minutes, e.Source, tt.want)
		}
	}
}

func urns(rs []*harness.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.URN)
	}
	return out
}
