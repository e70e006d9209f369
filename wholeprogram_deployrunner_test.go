package main

import (
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// TestDeployRunnerReachesThePrivateCluster: CI runs pulumi in the deploy runner VPC (made by
// bootstrap/), so every stack peers with it, routes both ways, admits its block to the
// private API endpoint, and keeps the Kubernetes provider (and so every Kubernetes resource and
// Helm release) waiting until all of that exists.
//
// A private-only endpoint's public DNS name resolves to its private addresses, which a peered
// VPC reaches ("How do I connect to a private Amazon EKS cluster endpoint from outside the
// VPC?", AWS Knowledge Center; "Cluster API server endpoint", EKS user guide): no Route 53
// association is needed, only routes and the security group rule.
func TestDeployRunnerReachesThePrivateCluster(t *testing.T) {
	forEachRun(t, func(t *testing.T, r *harness.Result) {
		const runnerCIDR = "10.255.0.0/22"
		pcx := one(t, r, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
		vpc := one(t, r, "aws:ec2/vpc:Vpc")
		if pcx.InputString("peerVpcId") != harness.RunnerVpcID || pcx.Input("autoAccept") != true || !r.DependsOn(pcx, vpc) {
			t.Errorf("peering %v", pcx.Inputs)
		}

		// Stack side: every private route table (nodes, the control plane's interfaces) routes
		// the runner block through the peering connection; public and database tables do not.
		var private []*harness.Resource
		for _, rt := range r.ByType("aws:ec2/routeTable:RouteTable") {
			routesRunner := false
			for _, route := range asSlice(rt.Input("routes")) {
				m, _ := route.(map[string]any)
				if m["cidrBlock"] == runnerCIDR {
					routesRunner = true
				}
			}
			isPrivate := rt.InputString("tags.Name") != "" && contains(tierRouteTables(r, "private"), rt.URN)
			if isPrivate != routesRunner {
				t.Errorf("route table %s (private=%v) routes the runner: %v", rt.Name, isPrivate, routesRunner)
			}
			if isPrivate {
				private = append(private, rt)
				if !r.DependsOn(rt, pcx) {
					t.Errorf("route table %s does not route through the peering connection", rt.Name)
				}
			}
		}
		if len(private) == 0 {
			t.Fatal("no private route table")
		}

		// Runner side: its route table sends the stack's block back.
		back := one(t, r, "aws:ec2/route:Route")
		if back.InputString("routeTableId") != harness.RunnerRouteTableID || back.InputString("destinationCidrBlock") != vpc.InputString("cidrBlock") ||
			!r.DependsOn(back, pcx) {
			t.Errorf("return route %v", back.Inputs)
		}

		// The API endpoint admits the runner block on 443.
		rule := r.Named("aws:ec2/securityGroupRule:SecurityGroupRule", "cluster-api-10-255-0-0-22")
		if rule == nil || rule.InputString("type") != "ingress" || rule.Input("fromPort") != 443.0 || rule.Input("toPort") != 443.0 ||
			len(asSlice(rule.Input("cidrBlocks"))) != 1 || (!r.Preview && asSlice(rule.Input("cidrBlocks"))[0] != runnerCIDR) {
			t.Fatalf("API rule for the runner %v", rule)
		}

		// The necessary edge: the Kubernetes provider waits for the rule, both sides' routes and
		// the connection. Every Kubernetes resource uses this provider, so none starts earlier.
		k8s := r.Named("pulumi:providers:kubernetes", "cluster-k8s")
		if k8s == nil {
			t.Fatal("no Kubernetes provider")
		}
		for _, need := range append([]*harness.Resource{rule, back, pcx}, private...) {
			if !r.DependsOn(k8s, need) {
				t.Errorf("the Kubernetes provider does not wait for %s %s", need.Type, need.Name)
			}
		}
		for _, res := range r.Resources {
			if res.Provider != "" && harness.ProviderURN(res.Provider) == k8s.URN && !r.DependsOn(res, k8s) {
				t.Errorf("%s %s does not use the waiting provider", res.Type, res.Name)
			}
		}
	})
}

// tierRouteTables are the URNs of the route tables associated with a tier's subnets.
func tierRouteTables(r *harness.Result, tier string) []string {
	subnets := tierSubnets(r, tier)
	var out []string
	for _, a := range r.ByType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		for _, s := range subnets {
			for _, d := range a.AllDependencies() {
				if d == s {
					for _, rt := range r.ByType("aws:ec2/routeTable:RouteTable") {
						if r.DependsOn(a, rt) && !contains(out, rt.URN) {
							out = append(out, rt.URN)
						}
					}
				}
			}
		}
	}
	return out
}
