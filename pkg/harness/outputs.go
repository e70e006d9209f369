package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// outputFunc adds the outputs AWS would compute for one resource type.
type outputFunc func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any)

// computed lists, per type token, the outputs the offline engine computes beyond the generic
// id, arn and echoed inputs. A component that reads another computed output adds it here.
var computed = map[string]outputFunc{
	"random:index/randomPassword:RandomPassword": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		// A recognisable stand-in of the requested length, so tests can look for it in
		// plain text. The engine marks result secret (additionalSecretOutputs); mocks do
		// not apply that, so the mock does.
		n := 32
		if l, ok := in["length"]; ok && l.IsNumber() {
			n = int(l.NumberValue())
		}
		pw := "MockSecret0-" + name
		for len(pw) < n {
			pw += "x"
		}
		out["result"] = resource.MakeSecret(resource.NewProperty(pw[:n]))
		// The bcrypt hash of the result, recognisable too (a hash of a credential is no more
		// fit for plain text than the credential).
		out["bcryptHash"] = resource.MakeSecret(resource.NewProperty("$2a$10$MockSecret0Hash-" + name))
	},
	"random:index/randomId:RandomId": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		// Stable per name, like the state of a real stack: the same graph on every run.
		n := 8
		if l, ok := in["byteLength"]; ok && l.IsNumber() {
			n = int(l.NumberValue())
		}
		sum := sha256.Sum256([]byte(m.Stack + "/" + name))
		out["hex"] = hex.EncodeToString(sum[:min(n, len(sum))])
	},
	"aws:kms/key:Key": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["keyId"] = "key-" + name
		out["arn"] = m.arn("kms", "key/key-"+name)
	},
	"aws:s3/bucketV2:BucketV2": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["bucket"] = phys
		out["arn"] = "arn:aws:s3:::" + phys
		out["bucketDomainName"] = phys + ".s3.amazonaws.com"
		out["bucketRegionalDomainName"] = fmt.Sprintf("%s.s3.%s.amazonaws.com", phys, m.Region)
	},
	"aws:sqs/queue:Queue": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["url"] = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", m.Region, AccountID, phys)
		out["arn"] = m.arn("sqs", phys)
	},
	"aws:rds/instance:Instance": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		if id, ok := out["identifier"].(string); ok && id != "" {
			phys = id // RDS names the instance (and its DNS name) after the identifier
		}
		out["resourceId"] = "db-" + strings.ToUpper(name)
		host := fmt.Sprintf("%s.abcdefghijkl.%s.rds.amazonaws.com", phys, m.Region)
		out["address"] = host
		out["endpoint"] = host + ":5432"
		out["port"] = 5432
		out["arn"] = m.arn("rds", "db:"+phys)
		out["masterUserSecrets"] = []any{map[string]any{
			"secretArn":    m.arn("secretsmanager", "secret:rds!db-"+name+"-AbCdEf"),
			"secretStatus": "active",
		}}
	},
	"aws:elasticache/replicationGroup:ReplicationGroup": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		if id, ok := out["replicationGroupId"].(string); ok && id != "" {
			phys = id // endpoints carry the replication group id
		}
		out["primaryEndpointAddress"] = fmt.Sprintf("master.%s.abcdef.use1.cache.amazonaws.com", phys)
		out["readerEndpointAddress"] = fmt.Sprintf("replica.%s.abcdef.use1.cache.amazonaws.com", phys)
		out["arn"] = m.arn("elasticache", "replicationgroup:"+phys)
	},
	"aws:route53/zone:Zone": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["zoneId"] = "Z0" + strings.ToUpper(strings.ReplaceAll(name, "-", ""))
		out["nameServers"] = []any{"ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"}
	},
	"aws:route53/keySigningKey:KeySigningKey": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["dsRecord"] = "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	},
	"aws:route53/record:Record": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["fqdn"] = out["name"]
	},
	"aws:acm/certificate:Certificate": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		// ACM asks for one CNAME per name, the same for a name and its wildcard.
		names := []any{out["domainName"]}
		if sans, ok := out["subjectAlternativeNames"].([]any); ok {
			names = append(names, sans...)
		}
		var options []any
		for _, n := range names {
			domain, _ := n.(string)
			base := strings.TrimPrefix(domain, "*.")
			options = append(options, map[string]any{
				"domainName":          domain,
				"resourceRecordName":  "_0123456789abcdef." + base + ".",
				"resourceRecordType":  "CNAME",
				"resourceRecordValue": "_fedcba9876543210.mock.acm-validations.aws.",
			})
		}
		out["domainValidationOptions"] = options
		out["arn"] = m.arn("acm", "certificate/0f1e2d3c-4b5a-6978-8796-"+fmt.Sprintf("%012x", len(name)))
	},
	"aws:cloudfront/distribution:Distribution": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["domainName"] = "d111111abcdef8.cloudfront.net"
		out["hostedZoneId"] = "Z2FDTNDATAQYW2"
		out["arn"] = fmt.Sprintf("arn:aws:cloudfront::%s:distribution/E%s", AccountID, strings.ToUpper(name))
	},
	"aws:lambda/function:Function": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["arn"] = m.arn("lambda", "function:"+phys)
		out["invokeArn"] = fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", m.Region, out["arn"])
		out["qualifiedArn"] = fmt.Sprintf("%s:1", out["arn"])
	},
	"aws:ecr/repository:Repository": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["repositoryUrl"] = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, m.Region, phys)
	},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		url := strings.TrimPrefix(fmt.Sprint(out["url"]), "https://")
		if _, ok := out["url"].(string); !ok {
			url = oidcIssuerHost(m.Region)
		}
		out["arn"] = fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", AccountID, url)
		out["url"] = url
	},
	"aws:ec2/securityGroup:SecurityGroup": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["arn"] = m.arn("ec2", "security-group/sg-"+name)
	},
	"aws:eks/cluster:Cluster": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["endpoint"] = "https://ABCDEF0123456789.gr7." + m.Region + ".eks.amazonaws.com"
		out["certificateAuthority"] = map[string]any{"data": "TU9DSy1DQQ=="}
		out["identities"] = []any{map[string]any{"oidcs": []any{map[string]any{"issuer": "https://" + oidcIssuerHost(m.Region)}}}}
		out["vpcConfig"] = map[string]any{"clusterSecurityGroupId": "sg-eks-cluster", "vpcId": "vpc-offline"}
		// What EKS assigns when no range is asked for and the VPC is in 10.0.0.0/8, as every
		// stack's is (KubernetesNetworkConfigResponse, EKS API reference).
		out["kubernetesNetworkConfig"] = map[string]any{"ipFamily": "ipv4", "serviceIpv4Cidr": "172.20.0.0/16"}
	},
	"aws:eks/nodeGroup:NodeGroup": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		// EKS creates one Auto Scaling group per managed node group, named eks-<group>-<uuid>.
		group := phys
		if n, ok := out["nodeGroupName"].(string); ok && n != "" {
			group = n
		} else if p, ok := out["nodeGroupNamePrefix"].(string); ok && p != "" {
			group = p + "20261125000000000000000001"
		}
		out["nodeGroupName"] = group
		out["arn"] = m.arn("eks", fmt.Sprintf("nodegroup/%v/%s/0a1b2c3d-0000-4000-8000-%012d", out["clusterName"], group, len(group)))
		out["resources"] = []any{map[string]any{"autoscalingGroups": []any{map[string]any{
			"name": "eks-" + group + "-0a1b2c3d-0000-4000-8000-000000000000",
		}}}}
	},
	"aws:ec2/launchTemplate:LaunchTemplate": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		out["latestVersion"] = 1
		out["defaultVersion"] = 1
	},
	"eks:index:Cluster": func(m *Mocks, name, phys string, in resource.PropertyMap, out map[string]any) {
		// pulumi-eks is a remote component: its outputs are references to resources it made.
		// They point at the harness's stand-ins, so reading them does what AWS would.
		for k, role := range map[string]string{
			"eksCluster":           "eks-cluster",
			"clusterSecurityGroup": "cluster-sg",
			"nodeSecurityGroup":    "node-sg",
		} {
			out[k] = m.standInRef(role)
		}
		out["instanceRoles"] = []any{m.standInRef("instance-role")}
		out["core"] = map[string]any{
			"cluster":      m.standInRef("eks-cluster"),
			"oidcProvider": m.standInRef("oidc-provider"),
			"endpoint":     "https://ABCDEF0123456789.gr7." + m.Region + ".eks.amazonaws.com",
		}
		kc := kubeconfig(m.Region, phys)
		out["kubeconfigJson"] = kc
		var obj map[string]any
		_ = json.Unmarshal([]byte(kc), &obj)
		out["kubeconfig"] = obj
	},
}

func oidcIssuerHost(region string) string {
	return "oidc.eks." + region + ".amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
}

// kubeconfig is a syntactically valid kubeconfig for an offline cluster.
func kubeconfig(region, cluster string) string {
	kc := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "aws",
		"clusters": []any{map[string]any{"name": "kubernetes", "cluster": map[string]any{
			"server": "https://ABCDEF0123456789.gr7." + region + ".eks.amazonaws.com", "certificate-authority-data": "TU9DSy1DQQ==",
		}}},
		"contexts": []any{map[string]any{"name": "aws", "context": map[string]any{"cluster": "kubernetes", "user": "aws"}}},
		"users": []any{map[string]any{"name": "aws", "user": map[string]any{"exec": map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
			"args": []any{"eks", "get-token", "--cluster-name", cluster, "--region", region},
		}}}},
	}
	b, _ := json.Marshal(kc)
	return string(b)
}

// outputs computes a resource's ID and outputs: its inputs, a physical name, an ARN and the
// type's computed outputs.
func (m *Mocks) outputs(args pulumi.MockResourceArgs) (string, resource.PropertyMap) {
	out := map[string]any{}
	for k, v := range args.Inputs.Mappable() {
		out[k] = v
	}
	phys := args.Name
	if n, ok := out["name"].(string); ok && n != "" {
		phys = n
	} else if b, ok := out["bucket"].(string); ok && b != "" && args.TypeToken == "aws:s3/bucketV2:BucketV2" {
		phys = b
	}
	typ := args.TypeToken
	if strings.HasPrefix(typ, "aws:") {
		mod, kind := typeParts(typ)
		if _, ok := out["name"]; !ok && hasName(typ) {
			out["name"] = phys
		}
		out["arn"] = m.arn(mod, kind+"/"+phys)
		if mod == "iam" {
			out["arn"] = fmt.Sprintf("arn:aws:iam::%s:%s/%s", AccountID, kind, phys)
		}
	}
	if f, ok := computed[typ]; ok {
		f(m, args.Name, phys, args.Inputs, out)
	}
	// A resource made with a provider in another region (a backup copy vault, a replica
	// bucket) has that region in its ARN, as AWS would give it.
	if region := m.providerRegion(args.Provider); region != "" && region != m.Region {
		if a, ok := out["arn"].(string); ok {
			out["arn"] = strings.Replace(a, ":"+m.Region+":", ":"+region+":", 1)
		}
		if typ == "aws:s3/bucketV2:BucketV2" {
			out["region"] = region
		}
	}
	id := phys
	switch {
	case strings.HasPrefix(typ, "pulumi:providers:"):
		id = "provider-" + args.Name
	case typ == "aws:kms/key:Key":
		id = fmt.Sprint(out["keyId"])
	case typ == "aws:sqs/queue:Queue":
		id = fmt.Sprint(out["url"])
	case typ == "aws:ec2/securityGroup:SecurityGroup":
		id = "sg-" + args.Name
	case typ == "aws:ec2/subnet:Subnet":
		id = "subnet-" + args.Name
	case typ == "aws:ec2/vpc:Vpc":
		id = "vpc-" + args.Name
	case typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider", typ == "aws:lambda/function:Function":
		id = fmt.Sprint(out["arn"])
	}
	return id, resource.NewPropertyMapFromMap(out)
}

// typeParts splits "aws:rds/instance:Instance" into ("rds", "instance").
func typeParts(typ string) (string, string) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 {
		return "", ""
	}
	mod, kind, _ := strings.Cut(parts[1], "/")
	return mod, kind
}

// hasName lists types whose name is an output AWS fills in when the input is absent.
func hasName(typ string) bool {
	switch typ {
	case "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:sqs/queue:Queue", "aws:cloudwatch/logGroup:LogGroup",
		"aws:lambda/function:Function", "aws:ecr/repository:Repository", "aws:sns/topic:Topic",
		"aws:secretsmanager/secret:Secret", "aws:eks/cluster:Cluster", "aws:ec2/securityGroup:SecurityGroup":
		return true
	}
	return false
}

// providerRegion is the region of the AWS provider a reference ("<urn>::<id>") names, or "".
func (m *Mocks) providerRegion(ref string) string {
	i := strings.LastIndex(ref, "::")
	if i < 0 {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.regions[ref[i+2:]]
}

func (m *Mocks) arn(service, res string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, m.Region, AccountID, res)
}
