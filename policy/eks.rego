package cinegit

import rego.v1

# EKS
# ===
#
# The cluster is checked in both shapes it can have: the pulumi-eks component the program
# registers (eks:index:Cluster, with flat inputs such as encryptionConfigKeyArn) and the
# aws:eks/cluster:Cluster the component creates (nested encryptionConfig and vpcConfig), which
# real previews show the analyzer. Nodes are checked through their launch templates (IMDS) and
# managed node groups; IRSA roles through their trust policies.

eks_component_type := "eks:index:Cluster"

eks_cluster_type := "aws:eks/cluster:Cluster"

eks_cluster_types := {eks_component_type, eks_cluster_type}

# eks_log_types are every control plane log type EKS offers.
eks_log_types := {"api", "audit", "authenticator", "controllerManager", "scheduler"}

# eks_prop reads a cluster setting from either shape: the component's flat input, or the
# aws:eks/cluster input nested under parent (vpcConfig, ...). default applies when unset.
eks_prop(r, flat, parent, nested, default_value) := object.get(r, flat, default_value) if {
	r.__type == eks_component_type
} else := object.get(object.get(r, parent, {}), nested, default_value) if {
	r.__type == eks_cluster_type
}

# secrets_key_problems lists why r's Kubernetes secrets would not be envelope-encrypted with a
# customer-managed key.
secrets_key_problems(r) := key_missing(r, "encryptionConfigKeyArn") if {
	r.__type == eks_component_type
} else := {"encryptionConfig.provider.keyArn is not set"} if {
	r.__type == eks_cluster_type
	not is_set(object.get(object.get(object.get(r, "encryptionConfig", {}), "provider", {}), "keyArn", null))
} else := {"encryptionConfig does not cover secrets"} if {
	r.__type == eks_cluster_type
	resources := object.get(object.get(r, "encryptionConfig", {}), "resources", [])
	is_array(resources)
	not "secrets" in resources
} else := set()

# METADATA
# title: EKS secrets envelope-encrypted with a customer-managed key
# description: >-
#   EKS clusters encrypt Kubernetes secrets with one of the stack's KMS keys (pulumi-eks
#   encryptionConfigKeyArn; aws:eks/cluster encryptionConfig with resources ["secrets"]). It can
#   only be turned on, never off, so it is set at creation.
deny_eks_secrets_encryption contains msg if {
	input.__type in eks_cluster_types
	problems := secrets_key_problems(input)
	count(problems) > 0
	not excepted(input, "deny_eks_secrets_encryption")
	msg := problems_message(input, problems)
}

# missing_log_types lists the control plane log types r does not enable (all of them when
# none are set; nothing when the list is unknown in a preview).
missing_log_types(r) := set() if {
	object.get(r, "enabledClusterLogTypes", []) == unknown
} else := {t |
	some t in eks_log_types
	not t in object.get(r, "enabledClusterLogTypes", [])
}

# METADATA
# title: EKS control plane logs every log type
# description: >-
#   EKS clusters enable all five control plane log types (api, audit, authenticator,
#   controllerManager, scheduler): the audit log is the record of who did what in the cluster,
#   and the others explain failures of authentication and scheduling.
deny_eks_control_plane_logs contains msg if {
	input.__type in eks_cluster_types
	missing := missing_log_types(input)
	count(missing) > 0
	not excepted(input, "deny_eks_control_plane_logs")
	msg := sprintf("%s: control plane logs not enabled: %s", [describe(input), concat(", ", sort(missing))])
}

# endpoint_problems lists how r's API server is exposed beyond what CineGit allows: the
# private endpoint is always on; the public one (on by default in EKS and pulumi-eks) is off
# in prod and elsewhere restricted to named networks, never the whole internet.
endpoint_problems(r) := private_endpoint_off(r) | public_endpoint_problems(r)

private_endpoint_off(r) := {"the private endpoint is off (nodes and in-VPC clients would go through the internet)"} if {
	not is_true(eks_prop(r, "endpointPrivateAccess", "vpcConfig", "endpointPrivateAccess", false))
} else := set()

public_endpoint_problems(r) := set() if {
	eks_prop(r, "endpointPublicAccess", "vpcConfig", "endpointPublicAccess", true) in {false, unknown}
} else := {"the public endpoint is on in prod"} if {
	environment(r) == "prod"
} else := {"the public endpoint is open to the whole internet (no publicAccessCidrs)"} if {
	cidrs := eks_prop(r, "publicAccessCidrs", "vpcConfig", "publicAccessCidrs", [])
	cidrs != unknown
	count(cidrs) == 0
} else := {sprintf("the public endpoint is open to %s", [cidr]) |
	some cidr in eks_prop(r, "publicAccessCidrs", "vpcConfig", "publicAccessCidrs", [])
	cidr in world_cidrs
}

# METADATA
# title: EKS API endpoint is private, or public only to named networks
# description: >-
#   EKS clusters keep the private API endpoint on. The public endpoint is off in prod; in other
#   stacks it is either off or limited by publicAccessCidrs to named networks, never 0.0.0.0/0
#   (EKS's default when the list is empty).
deny_eks_endpoint_exposure contains msg if {
	input.__type in eks_cluster_types
	problems := endpoint_problems(input)
	count(problems) > 0
	not excepted(input, "deny_eks_endpoint_exposure")
	msg := problems_message(input, problems)
}

# METADATA
# title: pulumi-eks clusters have no default node group
# description: >-
#   pulumi-eks clusters set skipDefaultNodeGroup: its default node group is a self-managed
#   Auto Scaling group on an unpinned AMI with a launch configuration the program cannot harden
#   (IMDS, volume encryption). Nodes come from managed node groups with launch templates.
deny_eks_default_node_group contains msg if {
	input.__type == eks_component_type
	not is_true(object.get(input, "skipDefaultNodeGroup", false))
	not is_set(object.get(input, "fargate", null))
	not excepted(input, "deny_eks_default_node_group")
	msg := sprintf("%s: skipDefaultNodeGroup is not true (pulumi-eks would create its own node group)", [describe(input)])
}

# imds_problems lists how instances of r could be reached through IMDSv1, or how pods could
# reach the node's credentials through IMDS (a hop limit above 1).
imds_problems(r) := set() if {
	r.__type == "aws:ec2/launchTemplate:LaunchTemplate"
	object.get(object.get(r, "metadataOptions", {}), "httpEndpoint", "enabled") == "disabled"
} else := tokens_optional(r) | hop_limit_too_high(r) if {
	r.__type == "aws:ec2/launchTemplate:LaunchTemplate"
} else := {"no launch template: the nodes' instance metadata options are EKS's defaults"} if {
	r.__type == "aws:eks/nodeGroup:NodeGroup"
	not is_set(object.get(r, "launchTemplate", null))
} else := set()

tokens_optional(r) := {"metadataOptions.httpTokens is not required (IMDSv1 allowed)"} if {
	tokens := object.get(object.get(r, "metadataOptions", {}), "httpTokens", "optional")
	tokens != unknown
	tokens != "required"
} else := set()

hop_limit_too_high(r) := {sprintf("metadataOptions.httpPutResponseHopLimit is %v (pods could reach the node's credentials); use 1", [hops])} if {
	hops := object.get(object.get(r, "metadataOptions", {}), "httpPutResponseHopLimit", 1)
	is_number(hops)
	hops > 1
} else := set()

# METADATA
# title: Nodes require IMDSv2 with a hop limit of 1
# description: >-
#   Launch templates require IMDSv2 session tokens (metadataOptions.httpTokens = required) with a
#   response hop limit of 1, so that only the node itself, not its pods, reads instance
#   metadata and the node role's credentials; pods get AWS access through IRSA. Managed node
#   groups use such a launch template.
deny_node_imds contains msg if {
	input.__type in {"aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/nodeGroup:NodeGroup"}
	problems := imds_problems(input)
	count(problems) > 0
	not excepted(input, "deny_node_imds")
	msg := problems_message(input, problems)
}

# web_identity_statements lists the statements of role r's trust policy that let an EKS
# cluster's service accounts assume it (sts:AssumeRoleWithWebIdentity from an EKS OIDC
# provider).
web_identity_statements(r) := [st |
	r.__type == "aws:iam/role:Role"
	known_string(r.assumeRolePolicy)
	json.is_valid(r.assumeRolePolicy)
	some st in as_array(object.get(json.unmarshal(r.assumeRolePolicy), "Statement", []))
	object.get(st, "Effect", "") == "Allow"
	"sts:AssumeRoleWithWebIdentity" in as_array(object.get(st, "Action", []))
	some p in as_array(object.get(object.get(st, "Principal", {}), "Federated", []))
	contains(p, ":oidc-provider/oidc.eks.")
]

# irsa_claim_values are the values a statement pins for a claim (":sub" or ":aud") with
# StringEquals.
irsa_claim_values(st, claim) := [v |
	some key, values in object.get(object.get(st, "Condition", {}), "StringEquals", {})
	endswith(key, claim)
	some v in as_array(values)
]

# irsa_loose_operators are condition operators on the token's claims that match more than one
# exact value.
irsa_loose_operators(st) := {op |
	some op, block in object.get(st, "Condition", {})
	op != "StringEquals"
	some key, _ in block
	some claim in [":sub", ":aud"]
	endswith(key, claim)
}

# service_account_subject holds for system:serviceaccount:<namespace>:<name>, no wildcards.
service_account_subject(v) if {
	is_string(v)
	regex.match(`^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$`, v)
}

# trust_problems lists how a web identity statement lets more than one service account, or
# tokens for another audience, assume the role.
trust_problems(st) := (((sub_unpinned(st) | sub_not_a_service_account(st)) | several_subjects(st)) | aud_unpinned(st)) | loose_claim_operators(st)

sub_unpinned(st) := {"the sub claim is not pinned with StringEquals"} if {
	count(irsa_claim_values(st, ":sub")) == 0
} else := set()

sub_not_a_service_account(st) := {sprintf("sub %v is not exactly one service account", [v]) |
	some v in irsa_claim_values(st, ":sub")
	not service_account_subject(v)
}

several_subjects(st) := {"more than one service account may assume the role"} if {
	count(irsa_claim_values(st, ":sub")) > 1
} else := set()

aud_unpinned(st) := {"the aud claim is not pinned to sts.amazonaws.com with StringEquals"} if {
	irsa_claim_values(st, ":aud") != ["sts.amazonaws.com"]
} else := set()

loose_claim_operators(st) := {sprintf("%s on the token's claims matches more than one value", [op]) |
	some op in irsa_loose_operators(st)
}

# METADATA
# title: IRSA trust policies name exactly one service account
# description: >-
#   An IAM role that an EKS cluster's service accounts assume (sts:AssumeRoleWithWebIdentity from
#   the cluster's OIDC provider) pins, with StringEquals and no wildcards, the token's sub to one
#   system:serviceaccount:<namespace>:<name> and its aud to sts.amazonaws.com. Otherwise any pod
#   of the cluster, or a token minted for another audience, could take the role.
deny_irsa_trust contains msg if {
	input.__type == "aws:iam/role:Role"
	some st in web_identity_statements(input)
	problems := trust_problems(st)
	count(problems) > 0
	not excepted(input, "deny_irsa_trust")
	msg := problems_message(input, problems)
}

# Karpenter
# =========

nodeclass_type := "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"

nodepool_type := "kubernetes:karpenter.sh/v1:NodePool"

# nodeclass_problems lists how a Karpenter EC2NodeClass's nodes would fall short of the managed
# nodes' launch template: IMDSv2 with one hop, every volume encrypted with a customer key.
nodeclass_problems(r) := tokens_optional(spec) | hop_limit_too_high(spec) | unencrypted_volumes(spec) if {
	spec := object.get(r, "spec", {})
}

unencrypted_volumes(spec) := {sprintf("blockDeviceMappings[%d] (%v) is not encrypted with a customer-managed key (ebs.encrypted and ebs.kmsKeyID)", [i, object.get(m, "deviceName", "?")]) |
	some i, m in as_array(object.get(spec, "blockDeviceMappings", []))
	ebs := object.get(m, "ebs", {})
	not ebs_encrypted_with_key(ebs)
} | {"no blockDeviceMappings: the root volume would be the AMI's default, not encrypted with the cluster's key" |
	count(as_array(object.get(spec, "blockDeviceMappings", []))) == 0
}

ebs_encrypted_with_key(ebs) if {
	is_true(object.get(ebs, "encrypted", false))
	is_set(object.get(ebs, "kmsKeyID", null))
}

# METADATA
# title: Karpenter's nodes are as locked down as the managed nodes
# description: >-
#   EC2NodeClasses require IMDSv2 session tokens with a hop limit of 1 (metadataOptions) and
#   give every block device mapping EBS encryption with a customer-managed key (kmsKeyID).
deny_nodeclass_hardening contains msg if {
	input.__type == nodeclass_type
	problems := nodeclass_problems(input)
	count(problems) > 0
	not excepted(input, "deny_nodeclass_hardening")
	msg := problems_message(input, problems)
}

# METADATA
# title: Karpenter NodePools have limits
# description: >-
#   NodePools set spec.limits.cpu and spec.limits.memory: without them Karpenter launches nodes
#   without bound for whatever is pending, and nothing caps the pool's spend.
deny_nodepool_unbounded contains msg if {
	input.__type == nodepool_type
	limits := object.get(object.get(input, "spec", {}), "limits", {})
	missing := {k | some k in ["cpu", "memory"]; not is_set(object.get(limits, k, null))}
	count(missing) > 0
	not excepted(input, "deny_nodepool_unbounded")
	msg := sprintf("%s: spec.limits lacks %v (nothing would cap the pool's nodes)", [describe(input), sort(missing)])
}
