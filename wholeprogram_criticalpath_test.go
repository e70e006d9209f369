package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
)

// phase names the part of the architecture a resource on the critical path belongs to.
func phase(r *harness.Result, s *plan.Schedule, res *harness.Resource) string {
	switch {
	case res.Type == "aws:eks/nodeGroup:NodeGroup":
		return "node groups"
	case res.Type == "aws:eks/addon:Addon" && slices.ContainsFunc(r.ByType("aws:eks/nodeGroup:NodeGroup"), func(ng *harness.Resource) bool { return s.After(ng.URN, res.URN) }):
		return "cluster" // the networking add-on the nodes need to join (vpc-cni)
	case res.Type == "aws:eks/addon:Addon" || strings.HasPrefix(res.Type, "kubernetes:"):
		return "add-ons"
	}
	for p := r.ByURN(res.Parent); p != nil; p = r.ByURN(p.Parent) {
		switch p.Type {
		case "cinegit:network:Network":
			return "network"
		case "cinegit:cluster:Cluster":
			return "cluster"
		case "cinegit:secrets:Secrets", "cinegit:observability:Observability", "cinegit:gitops:GitOps":
			return "add-ons"
		}
		if strings.HasPrefix(p.Type, "cinegit:") {
			return p.Type
		}
	}
	return res.Type
}

// TestCriticalPathIsNetworkClusterNodesAddOns: a from-zero update waits only for what must be
// serial (network, cluster, node groups, in-cluster add-ons); the data stores, the CDN, the
// buckets and the media pipeline start with the network.
func TestCriticalPathIsNetworkClusterNodesAddOns(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			r := run(t, stack, false)
			s := plan.NewSchedule(r)
			p := s.Critical()
			var phases []string
			for _, st := range p.Steps {
				if ph := phase(r, s, r.ByURN(st.URN)); len(phases) == 0 || phases[len(phases)-1] != ph {
					phases = append(phases, ph)
				}
			}
			want := []string{"network", "cluster", "node groups", "add-ons"}
			if !slices.Equal(phases, want) {
				t.Errorf("critical path phases %q, want %q: %+v", phases, want, p.Steps)
			}
			for _, db := range r.ByType("aws:rds/instance:Instance") {
				t.Logf("%s: critical path %.2f minutes; PostgreSQL ready after %.2f", stack, p.TotalMinutes, s.Finish(db.URN))
			}

			clusters := r.ByType("eks:index:Cluster")
			if len(clusters) != 1 {
				t.Fatalf("%d clusters", len(clusters))
			}
			for _, typ := range []string{
				"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
				"aws:cloudfront/distribution:Distribution", "aws:wafv2/webAcl:WebAcl",
				"aws:lambda/function:Function", "aws:sqs/queue:Queue", "aws:efs/fileSystem:FileSystem", "aws:efs/mountTarget:MountTarget",
			} {
				for _, res := range r.ByType(typ) {
					if s.After(res.URN, clusters[0].URN) {
						t.Errorf("%s %s waits for the cluster", typ, res.Name)
					}
				}
			}
			for _, name := range []string{"media", "proxies", "thumbnails", "logs"} {
				b := r.Named("aws:s3/bucketV2:BucketV2", "mediastore-"+name)
				if b == nil || s.After(b.URN, clusters[0].URN) {
					t.Errorf("bucket %s is missing or waits for the cluster", name)
				}
			}
		})
	}
}
