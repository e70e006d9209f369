package policy

import "testing"

func init() { caseSets = append(caseSets, eksCases) }

const (
	eksComponent = "eks:index:Cluster"
	eksCluster   = "aws:eks/cluster:Cluster"
	eksNodeGroup = "aws:eks/nodeGroup:NodeGroup"
	eksLT        = "aws:ec2/launchTemplate:LaunchTemplate"
	eksRole      = "aws:iam/role:Role"
	eksIssuer    = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
)

var allLogTypes = []any{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// eksProps is a compliant pulumi-eks cluster as pkg/cluster registers it.
func eksProps(env string) map[string]any {
	return map[string]any{
		"tags": stdTags(env), "name": "cinegit-" + env + "-eks", "version": "1.36",
		"encryptionConfigKeyArn": keyArn, "enabledClusterLogTypes": allLogTypes,
		"endpointPrivateAccess": true, "endpointPublicAccess": false,
		"skipDefaultNodeGroup": true, "authenticationMode": "API", "createOidcProvider": true,
	}
}

// awsEKSProps is a compliant aws:eks/cluster as pulumi-eks creates it.
func awsEKSProps(env string) map[string]any {
	return map[string]any{
		"tags": stdTags(env), "name": "cinegit-" + env + "-eks", "roleArn": "arn:aws:iam::123456789012:role/eks",
		"encryptionConfig":       map[string]any{"provider": map[string]any{"keyArn": keyArn}, "resources": []any{"secrets"}},
		"enabledClusterLogTypes": allLogTypes,
		"vpcConfig": map[string]any{
			"endpointPrivateAccess": true, "endpointPublicAccess": false, "subnetIds": []any{"subnet-a", "subnet-b"},
		},
	}
}

// nodeTemplate is a launch template of EKS nodes as pkg/cluster registers it.
const (
	nodeClass = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
	nodePool  = "kubernetes:karpenter.sh/v1:NodePool"
)

// nodeClassSpec is a compliant EC2NodeClass, with kv replacing keys of its spec.
func nodeClassSpec(kv ...any) map[string]any {
	spec := map[string]any{
		"metadataOptions": map[string]any{"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
		"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{
			"volumeSize": "100Gi", "volumeType": "gp3", "encrypted": true, "kmsKeyID": "arn:aws:kms:us-east-1:123456789012:key/k"}}},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		spec[kv[i].(string)] = kv[i+1]
	}
	return map[string]any{"spec": spec}
}

func nodeTemplate(kv ...any) map[string]any {
	return dsProps(map[string]any{
		"tags": stdTags("dev"),
		"metadataOptions": map[string]any{
			"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1, "instanceMetadataTags": "disabled",
		},
		"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{
			"volumeType": "gp3", "volumeSize": 50, "encrypted": "true", "kmsKeyId": keyArn, "deleteOnTermination": "true",
		}}},
	}, kv...)
}

// irsaTrust is a trust policy letting the EKS OIDC provider's tokens assume a role under the
// given conditions.
func irsaTrust(conditions map[string]any) string {
	return doc(map[string]any{
		"Sid": "ServiceAccount", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": map[string]any{"Federated": "arn:aws:iam::123456789012:oidc-provider/" + eksIssuer},
		"Condition": conditions,
	})
}

// exactTrust pins sub to one service account and aud to STS.
func exactTrust(sub string) map[string]any {
	return map[string]any{"StringEquals": map[string]any{
		eksIssuer + ":sub": sub,
		eksIssuer + ":aud": "sts.amazonaws.com",
	}}
}

func eksCases() []ruleCase {
	component := func(env string, kv ...any) []Resource {
		opts := []func(*Resource){func(r *Resource) { r.Custom = false }}
		if env == "prod" {
			opts = append(opts, protect)
		}
		return []Resource{res(eksComponent, "cluster", dsProps(eksProps(env), kv...), opts...)}
	}
	awsCluster := func(env string, kv ...any) []Resource {
		return []Resource{res(eksCluster, "cluster-eksCluster", dsProps(awsEKSProps(env), kv...))}
	}
	role := func(trust string) []Resource {
		return []Resource{res(eksRole, "cluster-autoscaler", map[string]any{"tags": stdTags("dev"), "assumeRolePolicy": trust})}
	}
	sa := "system:serviceaccount:kube-system:cluster-autoscaler"

	return []ruleCase{
		// Secrets envelope encryption.
		{"component without a secrets key", "deny_eks_secrets_encryption", true, component("dev", "encryptionConfigKeyArn", nil)},
		{"EKS cluster without encryptionConfig", "deny_eks_secrets_encryption", true, awsCluster("dev", "encryptionConfig", nil)},
		{"EKS cluster encrypting no secrets", "deny_eks_secrets_encryption", true, awsCluster("dev",
			"encryptionConfig", map[string]any{"provider": map[string]any{"keyArn": keyArn}, "resources": []any{}})},
		{"component with a customer key", "deny_eks_secrets_encryption", false, component("dev")},
		{"component key unknown in a preview", "deny_eks_secrets_encryption", false, component("dev", "encryptionConfigKeyArn", Unknown)},
		{"EKS cluster encrypting secrets", "deny_eks_secrets_encryption", false, awsCluster("prod")},

		// Control plane logs.
		{"component without the audit log", "deny_eks_control_plane_logs", true, component("dev",
			"enabledClusterLogTypes", []any{"api", "authenticator", "controllerManager", "scheduler"})},
		{"EKS cluster without logs", "deny_eks_control_plane_logs", true, awsCluster("dev", "enabledClusterLogTypes", nil)},
		{"component with every log type", "deny_eks_control_plane_logs", false, component("dev")},
		{"EKS cluster with every log type", "deny_eks_control_plane_logs", false, awsCluster("staging")},
		{"log types unknown in a preview", "deny_eks_control_plane_logs", false, component("dev", "enabledClusterLogTypes", Unknown)},

		// Endpoint exposure.
		{"public endpoint by default, open to all", "deny_eks_endpoint_exposure", true, component("dev", "endpointPublicAccess", nil)},
		{"public endpoint open to 0.0.0.0/0", "deny_eks_endpoint_exposure", true, component("dev",
			"endpointPublicAccess", true, "publicAccessCidrs", []any{"203.0.113.0/24", "0.0.0.0/0"})},
		{"restricted public endpoint in prod", "deny_eks_endpoint_exposure", true, component("prod",
			"endpointPublicAccess", true, "publicAccessCidrs", []any{"203.0.113.0/24"})},
		{"private endpoint off", "deny_eks_endpoint_exposure", true, component("dev",
			"endpointPrivateAccess", false, "endpointPublicAccess", true, "publicAccessCidrs", []any{"203.0.113.0/24"})},
		{"EKS cluster public by default", "deny_eks_endpoint_exposure", true, awsCluster("dev",
			"vpcConfig", map[string]any{"endpointPrivateAccess": true, "subnetIds": []any{"subnet-a"}})},
		{"private-only prod cluster", "deny_eks_endpoint_exposure", false, component("prod")},
		{"dev public endpoint restricted to a network", "deny_eks_endpoint_exposure", false, component("dev",
			"endpointPublicAccess", true, "publicAccessCidrs", []any{"203.0.113.0/24"})},
		{"private-only EKS cluster", "deny_eks_endpoint_exposure", false, awsCluster("prod")},
		{"allow list unknown in a preview", "deny_eks_endpoint_exposure", false, component("staging",
			"endpointPublicAccess", true, "publicAccessCidrs", Unknown)},

		// Default node group.
		{"component with its default node group", "deny_eks_default_node_group", true, component("dev", "skipDefaultNodeGroup", nil)},
		{"component skipping its default node group", "deny_eks_default_node_group", false, component("dev")},

		// IMDS.
		{"launch template allowing IMDSv1", "deny_node_imds", true, []Resource{res(eksLT, "general", nodeTemplate(
			"metadataOptions", map[string]any{"httpEndpoint": "enabled", "httpTokens": "optional", "httpPutResponseHopLimit": 1}))}},
		{"launch template without metadata options", "deny_node_imds", true, []Resource{res(eksLT, "general", nodeTemplate("metadataOptions", nil))}},
		{"launch template letting pods reach IMDS", "deny_node_imds", true, []Resource{res(eksLT, "general", nodeTemplate(
			"metadataOptions", map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2}))}},
		{"node group without a launch template", "deny_node_imds", true, []Resource{res(eksNodeGroup, "general", map[string]any{
			"tags": stdTags("dev"), "clusterName": "cinegit-dev-eks", "amiType": "AL2023_x86_64_STANDARD"})}},
		{"launch template requiring IMDSv2 with hop limit 1", "deny_node_imds", false, []Resource{res(eksLT, "general", nodeTemplate())}},
		{"launch template without IMDS", "deny_node_imds", false, []Resource{res(eksLT, "general", nodeTemplate(
			"metadataOptions", map[string]any{"httpEndpoint": "disabled"}))}},
		{"node group with a launch template", "deny_node_imds", false, []Resource{res(eksNodeGroup, "general", map[string]any{
			"tags": stdTags("dev"), "clusterName": "cinegit-dev-eks", "amiType": "AL2023_x86_64_STANDARD",
			"launchTemplate": map[string]any{"id": "lt-general", "version": "1"}})}},

		// Karpenter.
		{"node class with IMDSv1", "deny_nodeclass_hardening", true, []Resource{res(nodeClass, "media", nodeClassSpec(
			"metadataOptions", map[string]any{"httpTokens": "optional", "httpPutResponseHopLimit": 1}))}},
		{"node class letting pods reach IMDS", "deny_nodeclass_hardening", true, []Resource{res(nodeClass, "media", nodeClassSpec(
			"metadataOptions", map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2}))}},
		{"node class with an unencrypted root volume", "deny_nodeclass_hardening", true, []Resource{res(nodeClass, "media", nodeClassSpec(
			"blockDeviceMappings", []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"volumeSize": "100Gi"}}}))}},
		{"node class with the AMI's default volume", "deny_nodeclass_hardening", true, []Resource{res(nodeClass, "media", nodeClassSpec(
			"blockDeviceMappings", []any{}))}},
		{"node class like the managed nodes", "deny_nodeclass_hardening", false, []Resource{res(nodeClass, "media", nodeClassSpec())}},
		{"node pool without limits", "deny_nodepool_unbounded", true, []Resource{res(nodePool, "media", map[string]any{"spec": map[string]any{"template": map[string]any{}}})}},
		{"node pool without a memory limit", "deny_nodepool_unbounded", true, []Resource{res(nodePool, "media", map[string]any{"spec": map[string]any{"limits": map[string]any{"cpu": "32"}}})}},
		{"node pool with limits", "deny_nodepool_unbounded", false, []Resource{res(nodePool, "media", map[string]any{"spec": map[string]any{"limits": map[string]any{"cpu": "32", "memory": "64Gi"}}})}},

		// IRSA trust.
		{"any service account of the cluster", "deny_irsa_trust", true, role(irsaTrust(map[string]any{
			"StringLike":   map[string]any{eksIssuer + ":sub": "system:serviceaccount:*"},
			"StringEquals": map[string]any{eksIssuer + ":aud": "sts.amazonaws.com"},
		}))},
		{"wildcard in an exact match", "deny_irsa_trust", true, role(irsaTrust(exactTrust("system:serviceaccount:kube-system:*")))},
		{"audience not pinned", "deny_irsa_trust", true, role(irsaTrust(map[string]any{
			"StringEquals": map[string]any{eksIssuer + ":sub": sa},
		}))},
		{"no conditions at all", "deny_irsa_trust", true, role(irsaTrust(map[string]any{}))},
		{"two service accounts", "deny_irsa_trust", true, role(irsaTrust(map[string]any{"StringEquals": map[string]any{
			eksIssuer + ":sub": []any{sa, "system:serviceaccount:default:default"},
			eksIssuer + ":aud": "sts.amazonaws.com",
		}}))},
		{"exactly one service account", "deny_irsa_trust", false, role(irsaTrust(exactTrust(sa)))},
		{"trust policy unknown in a preview", "deny_irsa_trust", false, role(Unknown)},
		{"a service role is not an IRSA role", "deny_irsa_trust", false, role(doc(map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": "ec2.amazonaws.com"},
		}))},
	}
}

// TestCompliantClusterIsClean runs the whole pack over a compliant cluster, node launch
// template and IRSA role of every stack: none of the pack's policies may object.
func TestCompliantClusterIsClean(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		rs := []Resource{
			res(eksComponent, "cluster", eksProps(env), func(r *Resource) { r.Custom = false }),
			res(eksCluster, "cluster-eksCluster", awsEKSProps(env)),
			res(eksLT, "general", nodeTemplate("tags", stdTags(env))),
			res(eksRole, "cluster-autoscaler", map[string]any{"tags": stdTags(env), "assumeRolePolicy": irsaTrust(exactTrust("system:serviceaccount:kube-system:cluster-autoscaler"))}),
		}
		for _, f := range unwaived(evaluate(t, rs)) {
			t.Errorf("%s: %s %s: %s", env, f.Rule, f.Name, f.Message)
		}
	}
}
