package policy

import (
	"strings"
	"testing"
)

// ruleCase is one input for one policy: whether the policy must report the first resource.
type ruleCase struct {
	name      string
	rule      string
	violates  bool
	resources []Resource
}

// caseSets are the test cases of each domain's policies. Files adding policies (one per
// domain, like policy/*.rego) register theirs in an init function:
//
//	func init() { caseSets = append(caseSets, cloudfrontCases) }
var caseSets = []func() []ruleCase{coreCases}

// ruleCases are all registered cases: every policy needs a violating and a compliant one
// (TestEveryPolicyIsTested).
func ruleCases() []ruleCase {
	var out []ruleCase
	for _, set := range caseSets {
		out = append(out, set()...)
	}
	return out
}

// coreCases cover the policies of tags, encryption, s3, network, iam, logs and datastores.
func coreCases() []ruleCase {
	dev, prod, staging := stdTags("dev"), stdTags("prod"), stdTags("staging")
	vpc := "aws:ec2/vpc:Vpc"
	rds := "aws:rds/instance:Instance"
	redis := "aws:elasticache/replicationGroup:ReplicationGroup"
	efs := "aws:efs/fileSystem:FileSystem"
	lt := "aws:ec2/launchTemplate:LaunchTemplate"
	logGroup := "aws:cloudwatch/logGroup:LogGroup"
	secret := "aws:secretsmanager/secret:Secret"
	queue := "aws:sqs/queue:Queue"
	key := "aws:kms/key:Key"
	sg := "aws:ec2/securityGroup:SecurityGroup"
	sgRule := "aws:ec2/securityGroupRule:SecurityGroupRule"
	ingressRule := "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	iamPolicy := "aws:iam/policy:Policy"
	rolePolicy := "aws:iam/rolePolicy:RolePolicy"
	role := "aws:iam/role:Role"

	goodRDS := func(tags map[string]any) map[string]any {
		return map[string]any{
			"tags": tags, "storageEncrypted": true, "kmsKeyId": keyArn, "deletionProtection": true,
			"backupRetentionPeriod": 7, "skipFinalSnapshot": false, "finalSnapshotIdentifier": "db-final",
		}
	}
	goodRedis := func(tags map[string]any) map[string]any {
		return map[string]any{
			"tags": tags, "atRestEncryptionEnabled": true, "kmsKeyId": keyArn, "transitEncryptionEnabled": true,
			"snapshotRetentionLimit": 7,
		}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	without := func(m map[string]any, keys ...string) map[string]any {
		out := with(m)
		for _, k := range keys {
			delete(out, k)
		}
		return out
	}
	allow := func(action, resource any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": action, "Resource": resource}
	}
	world := func(port int) map[string]any {
		return map[string]any{"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": []any{"0.0.0.0/0"}}
	}
	ebs := func(encrypted any, key any) map[string]any {
		m := map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"volumeSize": 20, "encrypted": encrypted}}
		if key != nil {
			m["ebs"].(map[string]any)["kmsKeyId"] = key
		}
		return m
	}
	b := func(env string) []Resource { return secureBucket("cinegit-"+env+"-media", env) }
	bucketURN := urnOf(bucketV2, "cinegit-dev-media")
	pabURN := urnOf(publicAccessBlock, "cinegit-dev-media")
	// previewBucket is secureBucket as a preview sees it: companions' bucket inputs unknown,
	// related by property dependencies (the analyzer) or plain dependencies (pkg/plan).
	previewBucket := func(mutate func(r *Resource)) []Resource {
		rs := b("dev")
		for i := range rs[1:] {
			r := &rs[i+1]
			r.Props = with(r.Props, "bucket", Unknown)
			mutate(r)
		}
		return rs
	}

	return []ruleCase{
		// Tags.
		{"untagged vpc", "deny_required_tags", true, []Resource{res(vpc, "main", nil)}},
		{"vpc without managed-by", "deny_required_tags", true, []Resource{res(vpc, "main", map[string]any{"tags": without(dev, "managed-by")})}},
		{"vpc with an empty environment", "deny_required_tags", true, []Resource{res(vpc, "main", map[string]any{"tags": with(dev, "environment", "")})}},
		{"tagged vpc", "deny_required_tags", false, []Resource{res(vpc, "main", map[string]any{"tags": dev})}},
		{"tags unknown in a preview", "deny_required_tags", false, []Resource{res(vpc, "main", map[string]any{"tags": Unknown})}},
		{"untaggable bucket policy", "deny_required_tags", false, []Resource{res(bucketPolicy, "p", map[string]any{"policy": "{}"})}},

		// Encryption.
		{"rds unencrypted", "deny_rds_encryption", true, []Resource{res(rds, "db", with(goodRDS(dev), "storageEncrypted", false))}},
		{"rds with the AWS-managed key", "deny_rds_encryption", true, []Resource{res(rds, "db", without(goodRDS(dev), "kmsKeyId"))}},
		{"rds with a customer key", "deny_rds_encryption", false, []Resource{res(rds, "db", goodRDS(dev))}},
		{"rds key unknown in a preview", "deny_rds_encryption", false, []Resource{res(rds, "db", with(goodRDS(dev), "kmsKeyId", Unknown))}},
		{"redis without TLS", "deny_elasticache_encryption", true, []Resource{res(redis, "cache", with(goodRedis(dev), "transitEncryptionEnabled", false))}},
		{"redis without a key", "deny_elasticache_encryption", true, []Resource{res(redis, "cache", without(goodRedis(dev), "kmsKeyId"))}},
		{"redis encrypted", "deny_elasticache_encryption", false, []Resource{res(redis, "cache", goodRedis(dev))}},
		{"efs unencrypted", "deny_efs_encryption", true, []Resource{res(efs, "scratch", map[string]any{"tags": dev, "encrypted": false})}},
		{"efs encrypted", "deny_efs_encryption", false, []Resource{res(efs, "scratch", map[string]any{"tags": dev, "encrypted": true, "kmsKeyId": keyArn})}},
		{"launch template volume unencrypted", "deny_ebs_encryption", true, []Resource{res(lt, "nodes", map[string]any{"tags": dev, "blockDeviceMappings": []any{ebs("false", nil)}})}},
		{"launch template volume without a key", "deny_ebs_encryption", true, []Resource{res(lt, "nodes", map[string]any{"tags": dev, "blockDeviceMappings": []any{ebs("true", nil)}})}},
		{"launch template volume encrypted", "deny_ebs_encryption", false, []Resource{res(lt, "nodes", map[string]any{"tags": dev, "blockDeviceMappings": []any{ebs("true", keyArn)}})}},
		{"ebs volume unencrypted", "deny_ebs_encryption", true, []Resource{res("aws:ebs/volume:Volume", "data", map[string]any{"tags": dev, "size": 10})}},
		{"ebs volume encrypted", "deny_ebs_encryption", false, []Resource{res("aws:ebs/volume:Volume", "data", map[string]any{"tags": dev, "encrypted": true, "kmsKeyId": keyArn})}},
		{"launch template without volumes", "warn_launch_template_volumes", true, []Resource{res(lt, "nodes", map[string]any{"tags": dev})}},
		{"launch template with a root volume", "warn_launch_template_volumes", false, []Resource{res(lt, "nodes", map[string]any{"tags": dev, "blockDeviceMappings": []any{ebs(true, keyArn)}})}},
		{"log group without a key", "deny_log_group_encryption", true, []Resource{res(logGroup, "flow", map[string]any{"tags": dev, "retentionInDays": 30})}},
		{"log group with a key", "deny_log_group_encryption", false, []Resource{res(logGroup, "flow", map[string]any{"tags": dev, "retentionInDays": 30, "kmsKeyId": keyArn})}},
		{"secret with the AWS-managed key", "deny_secret_encryption", true, []Resource{res(secret, "db", map[string]any{"tags": dev})}},
		{"secret with a customer key", "deny_secret_encryption", false, []Resource{res(secret, "db", map[string]any{"tags": dev, "kmsKeyId": keyArn})}},
		{"queue with SQS-managed SSE", "deny_sqs_encryption", true, []Resource{res(queue, "jobs", map[string]any{"tags": dev, "sqsManagedSseEnabled": true})}},
		{"queue with a customer key", "deny_sqs_encryption", false, []Resource{res(queue, "jobs", map[string]any{"tags": dev, "kmsMasterKeyId": keyArn})}},
		{"key without rotation", "deny_kms_key_rotation", true, []Resource{res(key, "media", map[string]any{"tags": dev})}},
		{"key rotating", "deny_kms_key_rotation", false, []Resource{res(key, "media", map[string]any{"tags": dev, "enableKeyRotation": true})}},
		{"asymmetric key", "deny_kms_key_rotation", false, []Resource{res(key, "signing", map[string]any{"tags": dev, "customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"})}},

		// S3 buckets (stack policies).
		{"bucket without default encryption", "stack_deny_bucket_default_encryption", true, withCompanion(b("dev"), sseConfig, nil)},
		{"bucket with default encryption", "stack_deny_bucket_default_encryption", false, b("dev")},
		{"bucket with SSE-S3", "stack_deny_bucket_kms_encryption", true, withCompanion(b("dev"), sseConfig, &Resource{
			URN: urnOf(sseConfig, "x"), Type: sseConfig, Name: "x", Props: map[string]any{"bucket": "cinegit-dev-media", "rules": []any{
				map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "AES256"}},
			}},
		})},
		{"bucket with SSE-KMS but no key", "stack_deny_bucket_kms_encryption", true, withCompanion(b("dev"), sseConfig, &Resource{
			URN: urnOf(sseConfig, "x"), Type: sseConfig, Name: "x", Props: map[string]any{"bucket": "cinegit-dev-media", "rules": []any{
				map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": "aws:kms"}},
			}},
		})},
		{"bucket with SSE-KMS", "stack_deny_bucket_kms_encryption", false, b("dev")},
		{"bucket without public access block", "stack_deny_bucket_public_access_block", true, withCompanion(b("dev"), publicAccessBlock, nil)},
		{"bucket with a partial public access block", "stack_deny_bucket_public_access_block", true, withCompanion(b("dev"), publicAccessBlock, &Resource{
			URN: urnOf(publicAccessBlock, "x"), Type: publicAccessBlock, Name: "x", Props: map[string]any{
				"bucket": "cinegit-dev-media", "blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": false,
			},
		})},
		{"bucket blocked", "stack_deny_bucket_public_access_block", false, b("dev")},
		{"bucket with ACLs on", "stack_deny_bucket_ownership_controls", true, withCompanion(b("dev"), ownershipControls, &Resource{
			URN: urnOf(ownershipControls, "x"), Type: ownershipControls, Name: "x",
			Props: map[string]any{"bucket": "cinegit-dev-media", "rule": map[string]any{"objectOwnership": "ObjectWriter"}},
		})},
		{"bucket without ownership controls", "stack_deny_bucket_ownership_controls", true, withCompanion(b("dev"), ownershipControls, nil)},
		{"bucket owner enforced", "stack_deny_bucket_ownership_controls", false, b("dev")},
		{"bucket without a policy", "stack_deny_bucket_tls_only", true, withCompanion(b("dev"), bucketPolicy, nil)},
		{"bucket policy allowing plain HTTP", "stack_deny_bucket_tls_only", true, withCompanion(b("dev"), bucketPolicy, &Resource{
			URN: urnOf(bucketPolicy, "x"), Type: bucketPolicy, Name: "x",
			Props: map[string]any{"bucket": "cinegit-dev-media", "policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))},
		})},
		{"bucket policy denying plain HTTP", "stack_deny_bucket_tls_only", false, b("dev")},
		{"bucket policy unknown in a preview", "stack_deny_bucket_tls_only", false, withCompanion(b("dev"), bucketPolicy, &Resource{
			URN: urnOf(bucketPolicy, "x"), Type: bucketPolicy, Name: "x", Props: map[string]any{"bucket": "cinegit-dev-media", "policy": Unknown},
		})},
		{"another bucket's companions do not count", "stack_deny_bucket_public_access_block", true,
			append([]Resource{res(bucketV2, "other", map[string]any{"bucket": "other", "tags": dev})}, b("dev")...)},
		// Previews: values unknown, relations through the engine's dependencies.
		{"preview, property dependencies", "stack_deny_bucket_kms_encryption", false, previewBucket(func(r *Resource) {
			if r.Type == bucketPolicy {
				bucketFrom(pabURN)(r) // the policy waits for the public access block
			} else {
				bucketFrom(bucketURN)(r)
			}
		})},
		{"preview, property dependencies, public access block", "stack_deny_bucket_public_access_block", false, previewBucket(func(r *Resource) { bucketFrom(bucketURN)(r) })},
		{"preview, policy through the public access block", "stack_deny_bucket_tls_only", false, previewBucket(func(r *Resource) {
			if r.Type == bucketPolicy {
				bucketFrom(pabURN)(r)
			} else {
				bucketFrom(bucketURN)(r)
			}
		})},
		{"preview, plain dependencies", "stack_deny_bucket_ownership_controls", false, previewBucket(func(r *Resource) {
			if r.Type == bucketPolicy {
				dependsOn(pabURN, "urn:pulumi:dev::cinegit::pulumi:providers:aws::aws")(r)
			} else {
				dependsOn(bucketURN)(r)
			}
		})},
		{"preview, plain dependencies, policy", "stack_deny_bucket_tls_only", false, previewBucket(func(r *Resource) {
			if r.Type == bucketPolicy {
				dependsOn(pabURN)(r)
			} else {
				dependsOn(bucketURN)(r)
			}
		})},
		{"preview, unrelated companions", "stack_deny_bucket_default_encryption", true, previewBucket(func(r *Resource) {})},
		{"companion naming the bucket by an ID the stack does not show", "stack_deny_bucket_default_encryption", false, func() []Resource {
			rs := b("dev")
			for i := range rs {
				if rs[i].Type == sseConfig {
					rs[i].Props["bucket"] = "bucket-id-1234"
					rs[i].Options.Dependencies = []string{bucketURN}
				}
			}
			return rs
		}()},

		// Network.
		{"ssh from the internet", "deny_open_ingress", true, []Resource{res(sg, "db", map[string]any{"tags": dev, "ingress": []any{world(22)}})}},
		{"ipv6 from the internet", "deny_open_ingress", true, []Resource{res(sg, "db", map[string]any{"tags": dev, "ingress": []any{
			map[string]any{"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": []any{"::/0"}},
		}})}},
		{"https from the internet, not a load balancer", "deny_open_ingress", true, []Resource{res(sg, "web", map[string]any{"tags": dev, "ingress": []any{world(443)}})}},
		{"https from the internet to a public load balancer", "deny_open_ingress", false, []Resource{res(sg, "alb", map[string]any{
			"tags": tagsWith("dev", PublicLoadBalancerTag, "true"), "ingress": []any{world(443), world(80)},
		})}},
		{"port range on a public load balancer", "deny_open_ingress", true, []Resource{res(sg, "alb", map[string]any{
			"tags":    tagsWith("dev", PublicLoadBalancerTag, "true"),
			"ingress": []any{map[string]any{"protocol": "tcp", "fromPort": 80, "toPort": 443, "cidrBlocks": []any{"0.0.0.0/0"}}},
		})}},
		{"ingress from the vpc", "deny_open_ingress", false, []Resource{res(sg, "db", map[string]any{"tags": dev, "ingress": []any{
			map[string]any{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": []any{"10.0.0.0/16"}},
		}})}},
		{"security group rule from the internet", "deny_open_ingress", true, []Resource{res(sgRule, "ssh", map[string]any{
			"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": []any{"0.0.0.0/0"}, "securityGroupId": "sg-1",
		})}},
		{"security group egress rule to the internet", "deny_open_ingress", false, []Resource{res(sgRule, "out", map[string]any{
			"type": "egress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": []any{"0.0.0.0/0"}, "securityGroupId": "sg-1",
		})}},
		{"vpc ingress rule from the internet", "deny_open_ingress", true, []Resource{res(ingressRule, "pg", map[string]any{
			"tags": dev, "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv6": "::/0", "securityGroupId": "sg-1",
		})}},
		{"vpc ingress rule from a security group", "deny_open_ingress", false, []Resource{res(ingressRule, "pg", map[string]any{
			"tags": dev, "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "referencedSecurityGroupId": "sg-2", "securityGroupId": "sg-1",
		})}},

		// IAM.
		{"managed policy allowing everything", "deny_iam_wildcard_action", true, []Resource{res(iamPolicy, "admin", map[string]any{
			"tags": dev, "policy": doc(allow("*", "*")),
		})}},
		{"role inline policy allowing everything", "deny_iam_wildcard_action", true, []Resource{res(role, "app", map[string]any{
			"tags": dev, "assumeRolePolicy": "{}", "inlinePolicies": []any{map[string]any{"name": "all", "policy": doc(allow([]any{"s3:GetObject", "*"}, "*"))}},
		})}},
		{"policy allowing named actions", "deny_iam_wildcard_action", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow([]any{"sqs:ReceiveMessage", "sqs:DeleteMessage"}, "arn:aws:sqs:eu-west-1:123456789012:jobs")),
		})}},
		{"kms key policy is not an identity policy", "deny_iam_wildcard_action", false, []Resource{res(key, "media", map[string]any{
			"tags": dev, "enableKeyRotation": true, "policy": doc(allow("kms:*", "*")),
		})}},
		{"service-wide action", "warn_iam_service_wildcard_action", true, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow("s3:*", "arn:aws:s3:::b/*")),
		})}},
		{"named actions", "warn_iam_service_wildcard_action", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*")),
		})}},
		{"s3 action on every resource", "deny_iam_wildcard_resource", true, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow([]any{"s3:GetObject"}, "*")),
		})}},
		{"kms action on every resource", "deny_iam_wildcard_resource", true, []Resource{res(iamPolicy, "app", map[string]any{
			"tags": dev, "policy": doc(map[string]any{"Effect": "Allow", "Action": "KMS:Decrypt", "Resource": []any{"*"}}),
		})}},
		{"secret read on every resource", "deny_iam_wildcard_resource", true, []Resource{res(role, "app", map[string]any{
			"tags": dev, "inlinePolicies": []any{map[string]any{"name": "read", "policy": doc(allow("secretsmanager:GetSecretValue", "*"))}},
		})}},
		{"s3 action on a bucket", "deny_iam_wildcard_resource", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*")),
		})}},
		{"account-level action on every resource", "deny_iam_wildcard_resource", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow([]any{"s3:ListAllMyBuckets", "secretsmanager:ListSecrets"}, "*")),
		})}},
		{"other services on every resource", "deny_iam_wildcard_resource", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(allow([]any{"ec2:DescribeInstances", "logs:CreateLogGroup"}, "*")),
		})}},
		{"deny on every resource", "deny_iam_wildcard_resource", false, []Resource{res(rolePolicy, "app", map[string]any{
			"role": "app", "policy": doc(map[string]any{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}),
		})}},
		{"policy unknown in a preview", "deny_iam_wildcard_resource", false, []Resource{res(rolePolicy, "app", map[string]any{"role": "app", "policy": Unknown})}},

		// Logs.
		{"log group kept forever", "deny_log_group_retention", true, []Resource{res(logGroup, "flow", map[string]any{"tags": dev, "kmsKeyId": keyArn})}},
		{"log group with retention", "deny_log_group_retention", false, []Resource{res(logGroup, "flow", map[string]any{"tags": dev, "kmsKeyId": keyArn, "retentionInDays": 30})}},

		// Data stores.
		{"prod database deletable", "deny_datastore_deletion_protection", true, []Resource{res(rds, "db", with(goodRDS(prod), "deletionProtection", false), protect)}},
		{"staging database deletable", "deny_datastore_deletion_protection", true, []Resource{res(rds, "db", without(goodRDS(staging), "deletionProtection"))}},
		{"dev database deletable", "deny_datastore_deletion_protection", false, []Resource{res(rds, "db", with(goodRDS(dev), "deletionProtection", false))}},
		{"prod database protected", "deny_datastore_deletion_protection", false, []Resource{res(rds, "db", goodRDS(prod), protect)}},
		{"prod database without backups", "deny_datastore_backups", true, []Resource{res(rds, "db", with(goodRDS(prod), "backupRetentionPeriod", 0), protect)}},
		{"staging database skipping the final snapshot", "deny_datastore_backups", true, []Resource{res(rds, "db", with(goodRDS(staging), "skipFinalSnapshot", true))}},
		{"prod cache without snapshots", "deny_datastore_backups", true, []Resource{res(redis, "cache", without(goodRedis(prod), "snapshotRetentionLimit"), protect)}},
		{"dev database without backups", "deny_datastore_backups", false, []Resource{res(rds, "db", with(goodRDS(dev), "backupRetentionPeriod", 0, "skipFinalSnapshot", true))}},
		{"prod data stores backed up", "deny_datastore_backups", false, []Resource{res(rds, "db", goodRDS(prod), protect), res(redis, "cache", goodRedis(prod), protect)}},
		{"prod bucket unprotected", "deny_prod_unprotected", true, []Resource{res(bucketV2, "media", map[string]any{"bucket": "media", "tags": prod})}},
		{"prod key unprotected", "deny_prod_unprotected", true, []Resource{res(key, "media", map[string]any{"tags": prod, "enableKeyRotation": true})}},
		{"prod database protected", "deny_prod_unprotected", false, []Resource{res(rds, "db", goodRDS(prod), protect)}},
		{"dev bucket unprotected", "deny_prod_unprotected", false, []Resource{res(bucketV2, "media", map[string]any{"bucket": "media", "tags": dev})}},
		{"prod log group unprotected", "deny_prod_unprotected", false, []Resource{res(logGroup, "flow", map[string]any{"tags": prod})}},
	}
}

func TestPolicies(t *testing.T) {
	for _, tc := range ruleCases() {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			rep := evaluate(t, tc.resources)
			got := ofRule(unwaived(rep), tc.rule)
			if !tc.violates {
				if len(got) > 0 {
					t.Fatalf("%s reported a compliant input: %+v", tc.rule, got)
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("%s did not report the input; all findings: %+v", tc.rule, rep.Findings)
			}
			want := tc.resources[0]
			for _, f := range got {
				if f.URN != want.URN || f.Type != want.Type || f.Name != want.Name {
					t.Errorf("finding on %s %s (%s), want %s %s", f.Type, f.Name, f.URN, want.Type, want.Name)
				}
				if f.Title == "" || f.Message == "" {
					t.Errorf("finding without title or message: %+v", f)
				}
				if !strings.Contains(f.Message, want.Name) {
					t.Errorf("message %q does not name the resource %q", f.Message, want.Name)
				}
			}
		})
	}
}

// TestEveryPolicyIsTested makes a new policy come with a violating and a compliant case.
func TestEveryPolicyIsTested(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	violating, compliant := map[string]bool{}, map[string]bool{}
	for _, tc := range ruleCases() {
		if tc.violates {
			violating[tc.rule] = true
		} else {
			compliant[tc.rule] = true
		}
	}
	known := map[string]bool{}
	for _, r := range rules {
		known[r.Name] = true
		if r.Name == ExceptionRule {
			continue // tested by TestExceptionRuleInAnalyzer
		}
		if !violating[r.Name] || !compliant[r.Name] {
			t.Errorf("policy %s needs a violating and a compliant case in ruleCases (violating %v, compliant %v)",
				r.Name, violating[r.Name], compliant[r.Name])
		}
	}
	for rule := range violating {
		if !known[rule] {
			t.Errorf("ruleCases tests unknown policy %s", rule)
		}
	}
}

// TestSecureStacksAreClean checks that compliant buckets in every environment raise nothing.
func TestSecureStacksAreClean(t *testing.T) {
	for _, env := range []string{"dev", "staging", "prod"} {
		rs := secureBucket("cinegit-"+env+"-media", env)
		rs[0].Options.Protect = true
		if got := unwaived(evaluate(t, rs)); len(got) > 0 {
			t.Errorf("%s: %+v", env, got)
		}
	}
}
