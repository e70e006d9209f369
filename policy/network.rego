package cinegit

import rego.v1

# Network exposure
# ================
#
# Ingress from the whole internet (0.0.0.0/0 or ::/0) is denied, except HTTP and HTTPS (TCP 80
# and 443, one port per rule) on a public load balancer's security group. A security group (or
# a taggable aws:vpc/securityGroupIngressRule) says it belongs to a public load balancer with
# the tag public_load_balancer_tag = "true". Untaggable aws:ec2/securityGroupRule resources
# cannot say so: open them through their security group's inline ingress or a
# securityGroupIngressRule instead.

# public_load_balancer_tag marks the security groups of internet-facing load balancers.
public_load_balancer_tag := "cinegit:public-load-balancer"

# ingress_types are the resource types that grant ingress.
ingress_types := {
	"aws:ec2/securityGroup:SecurityGroup",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
	"aws:ec2/securityGroupRule:SecurityGroupRule",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
}

world_cidrs := {"0.0.0.0/0", "::/0"}

web_ports := {80, 443}

# open_ingress lists r's ingress permissions from the whole internet, as
# {"cidr", "protocol", "from", "to"} objects.
open_ingress(r) := (group_open_ingress(r) | rule_open_ingress(r)) | vpc_rule_open_ingress(r)

# permission describes one ingress permission.
permission(cidr, protocol, spec) := {
	"cidr": cidr,
	"protocol": lower(sprintf("%v", [protocol])),
	"from": object.get(spec, "fromPort", 0),
	"to": object.get(spec, "toPort", 0),
}

# group_open_ingress covers a security group's inline ingress blocks.
group_open_ingress(r) := {permission(cidr, object.get(rule, "protocol", "-1"), rule) |
	r.__type in {"aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"}
	some rule in object.get(r, "ingress", [])
	some cidr in array.concat(object.get(rule, "cidrBlocks", []), object.get(rule, "ipv6CidrBlocks", []))
	cidr in world_cidrs
}

# rule_open_ingress covers an aws:ec2/securityGroupRule of type ingress. Its `type` property
# (ingress or egress) is read from __properties, where it cannot be confused with the metadata
# field `type` (the resource type) that it shadows at the top level of input.
rule_open_ingress(r) := {permission(cidr, object.get(r, "protocol", "-1"), r) |
	r.__type == "aws:ec2/securityGroupRule:SecurityGroupRule"
	r.__properties.type == "ingress"
	some cidr in array.concat(object.get(r, "cidrBlocks", []), object.get(r, "ipv6CidrBlocks", []))
	cidr in world_cidrs
}

# vpc_rule_open_ingress covers an aws:vpc/securityGroupIngressRule.
vpc_rule_open_ingress(r) := {permission(cidr, object.get(r, "ipProtocol", "-1"), r) |
	r.__type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	some cidr in [object.get(r, "cidrIpv4", null), object.get(r, "cidrIpv6", null)]
	cidr in world_cidrs
}

# web_on_public_load_balancer holds for a permission allowed on r: one web port over TCP, when r
# is marked as a public load balancer's.
web_on_public_load_balancer(r, p) if {
	r.__type != "aws:ec2/securityGroupRule:SecurityGroupRule"
	is_true(object.get(object.get(r, "tags", {}), public_load_balancer_tag, false))
	p.protocol in {"tcp", "6"}
	p.from == p.to
	p.from in web_ports
}

# METADATA
# title: No ingress from the internet
# description: >-
#   Security groups, security group rules and VPC ingress rules allow no ingress from 0.0.0.0/0
#   or ::/0, except TCP 80 or 443 on a security group tagged cinegit:public-load-balancer=true.
#   Everything else is reached through the load balancer, CloudFront, or from inside the VPC.
deny_open_ingress contains msg if {
	input.__type in ingress_types
	some p in open_ingress(input)
	not web_on_public_load_balancer(input, p)
	not excepted(input, "deny_open_ingress")
	msg := sprintf("%s: ingress from %s to protocol %s ports %v-%v", [describe(input), p.cidr, p.protocol, p.from, p.to])
}

# s3_gateway holds for a VPC's S3 gateway endpoint.
s3_gateway(r) if {
	r.__type == "aws:ec2/vpcEndpoint:VpcEndpoint"
	lower(object.get(r, "vpcEndpointType", "")) == "gateway"
	endswith(object.get(r, "serviceName", ""), ".s3")
}

# account_bound holds for a statement limited to the account's (or organization's) buckets.
account_bound(st) if {
	some test, vars in object.get(st, "Condition", {})
	test in {"StringEquals", "StringEqualsIgnoreCase"}
	some key, _ in vars
	lower(key) in {"aws:resourceaccount", "aws:resourceorgid"}
}

# open_endpoint_statements lists the Allow statements of an S3 gateway endpoint's policy that
# reach any bucket: on Resource "*" (or every bucket) without an account condition.
open_endpoint_statements(r) := {sid |
	known_string(r.policy)
	json.is_valid(r.policy)
	some i, st in as_array(object.get(json.unmarshal(r.policy), "Statement", []))
	object.get(st, "Effect", "") == "Allow"
	some res in as_array(object.get(st, "Resource", []))
	res in {"*", "arn:aws:s3:::*", "arn:aws:s3:::*/*"}
	not account_bound(st)
	sid := object.get(st, "Sid", sprintf("#%d", [i]))
}

# gateway_endpoint_findings are what is wrong with an S3 gateway endpoint's policy.
gateway_endpoint_findings(r) := {"it has no endpoint policy: every bucket of every account is reachable through it" |
	not is_set(object.get(r, "policy", null))
} | {sprintf("statement %s allows any bucket without an aws:ResourceAccount condition", [sid]) |
	some sid in open_endpoint_statements(r)
}

# METADATA
# title: S3 gateway endpoints admit the account's buckets only
# description: >-
#   A VPC's S3 gateway endpoint has a policy, and its Allow statements either carry an
#   aws:ResourceAccount (or aws:ResourceOrgID) condition or name the AWS-owned buckets the
#   nodes read (ECR layers, package repositories): without one, anything in the VPC can copy
#   data to any bucket in the world through the endpoint.
deny_gateway_endpoint_open contains msg if {
	input.__type == "aws:ec2/vpcEndpoint:VpcEndpoint"
	s3_gateway(input)
	some finding in gateway_endpoint_findings(input)
	not excepted(input, "deny_gateway_endpoint_open")
	msg := sprintf("%s: %s", [describe(input), finding])
}
