package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestTaggableTypes(t *testing.T) {
	taggable, err := TaggableTypes()
	if err != nil {
		t.Fatal(err)
	}
	untaggable, err := UntaggableTypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range append(append([]string(nil), taggable...), untaggable...) {
		if !strings.HasPrefix(typ, "aws:") || strings.Count(typ, ":") != 2 {
			t.Errorf("%q is not an AWS type token", typ)
		}
	}
	for _, typ := range taggable {
		if contains(untaggable, typ) {
			t.Errorf("%s is both taggable and untaggable", typ)
		}
	}
	for _, typ := range []string{
		"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:s3/bucketV2:BucketV2", "aws:kms/key:Key",
		"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
		"aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role", "aws:secretsmanager/secret:Secret",
		"aws:efs/fileSystem:FileSystem", "aws:lambda/function:Function", "aws:sqs/queue:Queue",
		"aws:ec2/securityGroup:SecurityGroup", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
		"aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable",
		"aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/flowLog:FlowLog", "aws:cloudfront/distribution:Distribution",
		"aws:wafv2/webAcl:WebAcl", "aws:ecr/repository:Repository", "aws:sns/topic:Topic",
		"aws:eks/nodeGroup:NodeGroup", "aws:eks/addon:Addon", "aws:ec2/launchTemplate:LaunchTemplate",
		"aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
		"aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/parameterGroup:ParameterGroup",
		"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/eventRule:EventRule",
		"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:acm/certificate:Certificate",
		"aws:efs/accessPoint:AccessPoint", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
		"aws:iam/policy:Policy", "aws:eks/cluster:Cluster",
	} {
		if !contains(taggable, typ) {
			t.Errorf("%s should be taggable", typ)
		}
	}
	for _, typ := range []string{
		"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
		"aws:ec2/securityGroupRule:SecurityGroupRule", "aws:kms/alias:Alias",
	} {
		if !contains(untaggable, typ) {
			t.Errorf("%s should be untaggable", typ)
		}
	}
}

func TestProps(t *testing.T) {
	inputs := resource.PropertyMap{
		"name":    resource.NewProperty("db"),
		"port":    resource.NewProperty(5432.0),
		"kmsKey":  resource.MakeComputed(resource.NewProperty("")),
		"secret":  resource.MakeSecret(resource.NewProperty("hunter2")),
		"pending": resource.NewProperty(resource.Output{Element: resource.NewProperty(""), Known: false}),
		"tags":    resource.NewProperty(resource.PropertyMap{"a": resource.NewProperty("b"), "u": resource.MakeComputed(resource.NewProperty(""))}),
		"list":    resource.NewProperty([]resource.PropertyValue{resource.NewProperty(true), resource.NewNullProperty()}),
	}
	got := fmt.Sprint(Props(inputs))
	want := fmt.Sprint(map[string]any{
		"name": "db", "port": 5432.0, "kmsKey": Unknown, "secret": "hunter2", "pending": Unknown,
		"tags": map[string]any{"a": "b", "u": Unknown}, "list": []any{true, nil},
	})
	if got != want {
		t.Errorf("Props = %s\nwant    %s", got, want)
	}
}

func TestReport(t *testing.T) {
	rep := &Report{Findings: []Finding{
		{Rule: "deny_a", Severity: Mandatory},
		{Rule: "deny_b", Severity: Mandatory, Excepted: true, Reason: "why"},
		{Rule: "warn_c", Severity: Advisory},
		{Rule: "warn_d", Severity: Advisory, Excepted: true, Reason: "why"},
	}}
	if got := rep.Violations(); len(got) != 1 || got[0].Rule != "deny_a" {
		t.Errorf("Violations = %+v", got)
	}
	if got := rep.Warnings(); len(got) != 1 || got[0].Rule != "warn_c" {
		t.Errorf("Warnings = %+v", got)
	}
	if got := rep.Exceptions(); len(got) != 2 {
		t.Errorf("Exceptions = %+v", got)
	}
	var none *Report
	if none.Violations() != nil {
		t.Error("nil report has violations")
	}
}

func TestFindingsSorted(t *testing.T) {
	rep := evaluate(t, syntheticStack(60))
	for i := 1; i < len(rep.Findings); i++ {
		if less(rep.Findings[i], rep.Findings[i-1]) {
			t.Fatalf("findings out of order at %d: %+v before %+v", i, rep.Findings[i-1], rep.Findings[i])
		}
	}
	if len(rep.Violations()) == 0 || len(rep.Warnings()) == 0 {
		t.Errorf("synthetic stack should violate and warn: %d findings", len(rep.Findings))
	}
}

// syntheticStack returns n resources: the test inputs repeated, each copy renamed (names,
// URNs, bucket names and the dependencies between them) so that it is a distinct group of
// resources, as in a real stack.
func syntheticStack(n int) []Resource {
	var out []Resource
	for copyN := 0; len(out) < n; copyN++ {
		for k, tc := range ruleCases() {
			suffix := fmt.Sprintf("-%d-%d", copyN, k)
			urns := map[string]string{}
			for _, r := range tc.resources {
				urns[r.URN] = urnOf(r.Type, r.Name+suffix)
			}
			rename := func(list []string) []string {
				var renamed []string
				for _, u := range list {
					if v, ok := urns[u]; ok {
						u = v
					}
					renamed = append(renamed, u)
				}
				return renamed
			}
			for _, r := range tc.resources {
				r.Name += suffix
				r.URN = urnOf(r.Type, r.Name)
				props := map[string]any{}
				for key, v := range r.Props {
					props[key] = v
				}
				if b, ok := props["bucket"].(string); ok && b != Unknown {
					props["bucket"] = b + suffix
				}
				r.Props = props
				r.Options.Dependencies = rename(r.Options.Dependencies)
				if r.Options.PropertyDependencies != nil {
					deps := map[string][]string{}
					for key, list := range r.Options.PropertyDependencies {
						deps[key] = rename(list)
					}
					r.Options.PropertyDependencies = deps
				}
				out = append(out, r)
			}
		}
	}
	return out[:n]
}

// TestStackSizeTiming evaluates a stack of the program's size and logs the time.
func TestStackSizeTiming(t *testing.T) {
	start := time.Now()
	if _, err := compile(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("compiling the pack: %v", time.Since(start))
	resources := syntheticStack(300)
	evaluate(t, resources) // compile once
	start = time.Now()
	rep := evaluate(t, resources)
	t.Logf("300 resources: %d findings in %v", len(rep.Findings), time.Since(start))
}

func BenchmarkEvaluate300(b *testing.B) {
	resources := syntheticStack(300)
	evaluate(b, resources)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Evaluate(context.Background(), resources); err != nil {
			b.Fatal(err)
		}
	}
}
