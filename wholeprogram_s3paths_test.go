package main

import (
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// TestS3NeverCrossesANAT finds every path from the program's compute to S3 (the nodes of both
// node groups, the FFmpeg function, the media jobs on the media nodes) and its route: each
// runs in private subnets only, and every route table of a private or database subnet carries
// the S3 gateway endpoint, whose prefix-list route is more specific than the default route to
// the NAT gateway, so S3 traffic takes the endpoint ("Gateway endpoints for Amazon S3", VPC
// User Guide; "Route priority": the most specific route wins).
func TestS3NeverCrossesANAT(t *testing.T) {
	for _, stack := range stacks {
		// With the FFmpeg image set, so that the function exists.
		r := runWithImage(t, stack, false)
		tier := map[string]string{}
		for _, s := range r.ByType("aws:ec2/subnet:Subnet") {
			tier[s.URN] = s.InputString("tags.tier")
		}
		var s3 *harness.Resource
		for _, e := range r.ByType("aws:ec2/vpcEndpoint:VpcEndpoint") {
			if e.InputString("vpcEndpointType") == "Gateway" && strings.HasSuffix(e.InputString("serviceName"), ".s3") {
				s3 = e
			}
		}
		if s3 == nil {
			t.Fatal("no S3 gateway endpoint")
		}
		routed := map[string]bool{}
		for _, urn := range s3.PropertyDependencies["routeTableIds"] {
			routed[urn] = true
		}
		for _, a := range r.ByType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
			subnets, tables := a.PropertyDependencies["subnetId"], a.PropertyDependencies["routeTableId"]
			if len(subnets) != 1 || len(tables) != 1 {
				continue
			}
			if tt := tier[subnets[0]]; (tt == "private" || tt == "database") && !routed[tables[0]] {
				t.Errorf("%s subnet %s routes through %s, which has no S3 endpoint route", tt, subnets[0], tables[0])
			}
		}
		// What calls S3 runs in private subnets only.
		compute := 0
		nodeClass := "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
		for _, typ := range []string{"aws:eks/nodeGroup:NodeGroup", nodeClass, "aws:lambda/function:Function"} {
			for _, res := range r.ByType(typ) {
				prop := map[string]string{"aws:eks/nodeGroup:NodeGroup": "subnetIds", nodeClass: "spec", "aws:lambda/function:Function": "vpcConfig"}[typ]
				deps := res.PropertyDependencies[prop]
				n := 0
				for _, urn := range deps {
					if _, isSubnet := tier[urn]; !isSubnet {
						continue
					}
					n++
					if tier[urn] != "private" {
						t.Errorf("%s %s runs in a %s subnet", typ, res.Name, tier[urn])
					}
				}
				if n == 0 {
					t.Errorf("%s %s: no subnet found", typ, res.Name)
				}
				compute++
			}
		}
		if compute < 3 {
			t.Errorf("%s: %d compute resources found, want the general group, Karpenter's media node class and the function", stack, compute)
		}
	}
}
