package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/iampolicy"
	"github.com/cinegit/infrastructure/pkg/stackenv"
)

// ClusterTag is the tag the controller puts on every load balancer, target group and security
// group it creates, valued with the cluster's name.
const ClusterTag = "elbv2.k8s.aws/cluster"

// ControllerPolicy is the controller's documented policy (docs/install/iam_policy.json of
// kubernetes-sigs/aws-load-balancer-controller at v3.5.0) with the account and region in every
// ARN, the cluster's own tag value instead of "any value", WAF association limited to the
// stack's web ACL, and WAF Classic and Shield Advanced left out (both are off in the values).
// Two grants the documented policy leaves open are narrowed too: registering and deregistering
// targets only in the target groups tagged for this cluster, and ingress rules only on security
// groups in the cluster's VPC (ec2:Vpc; the controller opens the nodes' groups, which it does
// not own, to its load balancers). Listeners and rules stay unconditioned, as documented: the
// controller does not tag them in every version, so a tag condition on them would refuse the
// controller's own; what bounds them is the account, which holds one stack's load balancers.
func ControllerPolicy(env stackenv.Env, clusterName, vpcID, webACLArn pulumi.StringInput) pulumi.StringOutput {
	elb := func(resource string) pulumi.String {
		return pulumi.String(fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:%s", env.Partition, env.Region, env.AccountID, resource))
	}
	ec2 := func(resource string) pulumi.String {
		return pulumi.String(fmt.Sprintf("arn:%s:ec2:%s:%s:%s", env.Partition, env.Region, env.AccountID, resource))
	}
	all := iampolicy.Strings("*")
	cluster := pulumi.StringArray{clusterName}
	ownResource := iampolicy.Condition{Test: "StringEquals", Variable: "aws:ResourceTag/" + ClusterTag, Values: cluster}
	ownRequest := iampolicy.Condition{Test: "StringEquals", Variable: "aws:RequestTag/" + ClusterTag, Values: cluster}
	noRequestTag := iampolicy.Condition{Test: "Null", Variable: "aws:RequestTag/" + ClusterTag, Values: iampolicy.Strings("true")}
	loadBalancers := pulumi.StringArray{elb("targetgroup/*/*"), elb("loadbalancer/app/*/*"), elb("loadbalancer/net/*/*")}
	return iampolicy.Document(
		iampolicy.Statement{Sid: "ServiceLinkedRole", Actions: []string{"iam:CreateServiceLinkedRole"}, Resources: all,
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "iam:AWSServiceName", Values: iampolicy.Strings("elasticloadbalancing.amazonaws.com")}}},
		// Describe and Get calls are not resource-scoped in IAM.
		iampolicy.Allow("Describe", []string{
			"ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
			"ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
			"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
			"ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
			"ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
			"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
			"elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
			"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
			"elasticloadbalancing:DescribeCapacityReservation",
			"acm:ListCertificates", "acm:DescribeCertificate", "cognito-idp:DescribeUserPoolClient",
			"iam:ListServerCertificates", "iam:GetServerCertificate",
		}, all),
		// The stack's regional web ACL only, on this account's load balancers.
		iampolicy.Allow("WebACL", []string{"wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"},
			pulumi.StringArray{webACLArn, elb("loadbalancer/app/*/*")}),
		iampolicy.Allow("CreateSecurityGroup", []string{"ec2:CreateSecurityGroup"}, all),
		iampolicy.Statement{Sid: "TagNewSecurityGroup", Actions: []string{"ec2:CreateTags"}, Resources: pulumi.StringArray{ec2("security-group/*")},
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "ec2:CreateAction", Values: iampolicy.Strings("CreateSecurityGroup")}, ownRequest}},
		iampolicy.Statement{Sid: "TagOwnSecurityGroups", Actions: []string{"ec2:CreateTags", "ec2:DeleteTags"}, Resources: pulumi.StringArray{ec2("security-group/*")},
			Conditions: []iampolicy.Condition{noRequestTag, ownResource}},
		// The controller adds the ALB security group to the node/pod security groups it does not
		// own: those of the cluster's VPC, and no other.
		iampolicy.Statement{Sid: "SecurityGroupRules", Actions: []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"},
			Resources: pulumi.StringArray{ec2("security-group/*")},
			Conditions: []iampolicy.Condition{{Test: "ArnEquals", Variable: "ec2:Vpc", Values: pulumi.StringArray{
				pulumi.Sprintf("arn:%s:ec2:%s:%s:vpc/%s", env.Partition, env.Region, env.AccountID, vpcID)}}}},
		iampolicy.Statement{Sid: "DeleteOwnSecurityGroups", Actions: []string{"ec2:DeleteSecurityGroup"}, Resources: pulumi.StringArray{ec2("security-group/*")},
			Conditions: []iampolicy.Condition{ownResource}},
		iampolicy.Statement{Sid: "CreateLoadBalancers", Actions: []string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"}, Resources: all,
			Conditions: []iampolicy.Condition{ownRequest}},
		iampolicy.Allow("Listeners", []string{"elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
			"elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"}, pulumi.StringArray{elb("loadbalancer/app/*/*"), elb("loadbalancer/net/*/*"),
			elb("listener/app/*/*/*"), elb("listener/net/*/*/*"), elb("listener-rule/app/*/*/*"), elb("listener-rule/net/*/*/*")}),
		iampolicy.Statement{Sid: "TagOwnLoadBalancers", Actions: []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"}, Resources: loadBalancers,
			Conditions: []iampolicy.Condition{noRequestTag, ownResource}},
		iampolicy.Allow("TagListeners", []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
			pulumi.StringArray{elb("listener/app/*/*/*"), elb("listener/net/*/*/*"), elb("listener-rule/app/*/*/*"), elb("listener-rule/net/*/*/*")}),
		iampolicy.Statement{Sid: "TagOnCreate", Actions: []string{"elasticloadbalancing:AddTags"}, Resources: loadBalancers,
			Conditions: []iampolicy.Condition{{Test: "StringEquals", Variable: "elasticloadbalancing:CreateAction", Values: iampolicy.Strings("CreateTargetGroup", "CreateLoadBalancer")}, ownRequest}},
		iampolicy.Statement{Sid: "ModifyOwnLoadBalancers", Actions: []string{
			"elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
			"elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets", "elasticloadbalancing:DeleteLoadBalancer",
			"elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
			"elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:ModifyListenerAttributes",
			"elasticloadbalancing:ModifyCapacityReservation", "elasticloadbalancing:ModifyIpPools",
		}, Resources: all, Conditions: []iampolicy.Condition{ownResource}},
		iampolicy.Statement{Sid: "Targets", Actions: []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
			Resources: pulumi.StringArray{elb("targetgroup/*/*")}, Conditions: []iampolicy.Condition{ownResource}},
		iampolicy.Allow("ListenersAndRules", []string{"elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
			"elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
			"elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities"}, all),
	)
}

// ZoneArn is a hosted zone's ARN (Route 53 ARNs have no region or account).
func ZoneArn(partition string, zoneID pulumi.StringInput) pulumi.StringOutput {
	return pulumi.Sprintf("arn:%s:route53:::hostedzone/%s", partition, zoneID)
}

// ExternalDNSRolePolicy lets ExternalDNS change records in the stack's zone and nowhere else, and
// only the record types it manages (the AWS tutorial's policy,
// https://kubernetes-sigs.github.io/external-dns/latest/docs/tutorials/aws/, with the zone named;
// route53:ChangeResourceRecordSetsRecordTypes, "Actions, resources, and condition keys for
// Amazon Route 53").
func ExternalDNSRolePolicy(env stackenv.Env, zoneID pulumi.StringInput) pulumi.StringOutput {
	zone := pulumi.StringArray{ZoneArn(env.Partition, zoneID)}
	return iampolicy.Document(
		iampolicy.Statement{Sid: "ChangeRecords", Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: zone,
			Conditions: []iampolicy.Condition{{Test: "ForAllValues:StringEquals", Variable: "route53:ChangeResourceRecordSetsRecordTypes",
				Values: iampolicy.Strings("A", "AAAA", "CNAME", "TXT")}}},
		iampolicy.Allow("ReadZone", []string{"route53:ListResourceRecordSets", "route53:ListTagsForResources"}, zone),
		// ListHostedZones is only grantable on "*".
		iampolicy.Allow("ListZones", []string{"route53:ListHostedZones"}, iampolicy.Strings("*")),
	)
}
