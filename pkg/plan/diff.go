package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// replaceOn lists, per type, the input properties whose change makes the provider replace the
// resource (delete and create, or create and delete) instead of updating it in place, for every
// type the program registers. They are what the providers at the pinned versions declare:
// terraform-provider-aws's and terraform-provider-random's `ForceNew: true` and `RequiresReplace()`
// (which pulumi-aws and pulumi-random bridge as replacements), under their Pulumi names, and
// pulumi-kubernetes' own rules (metadata.name and metadata.namespace for every object, the
// fields its diff.go lists per kind, a Release's name and namespace). Paths are dotted into
// nested objects and through lists. Inputs the providers replace on only for some values
// (an engine downgrade, say) are left out. TestReplaceRulesFollowTheProviderSchemas checks the
// table against the providers' sources (scripts/pull-provider-src.sh; the ci workflow runs it).
var replaceOn = map[string][]string{
	"aws:acm/certificate:Certificate": {"certificateAuthorityArn", "domainName", "keyAlgorithm", "subjectAlternativeNames",
		"validationMethod", "validationOptions"},
	"aws:acm/certificateValidation:CertificateValidation": {"certificateArn", "validationRecordFqdns"},
	"aws:autoscaling/schedule:Schedule":                   {"autoscalingGroupName", "scheduledActionName"},
	"aws:autoscaling/tag:Tag":                             {"autoscalingGroupName", "tag.key"},
	"aws:backup/plan:Plan":                                {"name"},
	"aws:backup/selection:Selection": {"conditions", "iamRoleArn", "name", "notResources", "planId", "resources",
		"selectionTags"},
	"aws:backup/vault:Vault": {"kmsKeyArn", "name"},
	"aws:backup/vaultLockConfiguration:VaultLockConfiguration": {"backupVaultName", "changeableForDays", "maxRetentionDays",
		"minRetentionDays"},
	"aws:cloudfront/cachePolicy:CachePolicy":                       {},
	"aws:cloudfront/distribution:Distribution":                     {"staging"},
	"aws:cloudfront/keyGroup:KeyGroup":                             {},
	"aws:cloudfront/monitoringSubscription:MonitoringSubscription": {"distributionId"},
	"aws:cloudfront/originAccessControl:OriginAccessControl":       {},
	"aws:cloudfront/publicKey:PublicKey":                           {"encodedKey", "name", "namePrefix"},
	"aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy":   {},
	"aws:cloudwatch/eventRule:EventRule":                           {"eventBusName", "name", "namePrefix"},
	"aws:cloudwatch/eventTarget:EventTarget":                       {"eventBusName", "rule", "targetId"},
	"aws:cloudwatch/logDelivery:LogDelivery":                       {"deliveryDestinationArn", "deliverySourceName"},
	"aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination": {"name", "outputFormat"},
	"aws:cloudwatch/logDeliverySource:LogDeliverySource":           {"logType", "name", "resourceArn"},
	"aws:cloudwatch/logGroup:LogGroup":                             {"logGroupClass", "name", "namePrefix"},
	"aws:cloudwatch/logResourcePolicy:LogResourcePolicy":           {"policyName"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                       {"alarmName"},
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":            {"vpcId"},
	"aws:ec2/eip:Eip": {"address", "domain", "networkBorderGroup", "publicIpv4Pool", "vpc"},
	"aws:ec2/flowLog:FlowLog": {"deliverCrossAccountRole", "destinationOptions", "eniId", "iamRoleArn", "logDestination",
		"logDestinationType", "logFormat", "logGroupName", "maxAggregationInterval", "subnetId", "trafficType",
		"transitGatewayAttachmentId", "transitGatewayId", "vpcId"},
	"aws:ec2/internetGateway:InternetGateway":             {},
	"aws:ec2/launchTemplate:LaunchTemplate":               {"name", "namePrefix"},
	"aws:ec2/natGateway:NatGateway":                       {"allocationId", "connectivityType", "privateIp", "secondaryPrivateIpAddressCount", "subnetId"},
	"aws:ec2/route:Route":                                 {"destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId", "routeTableId"},
	"aws:ec2/routeTable:RouteTable":                       {"vpcId"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {"gatewayId", "subnetId"},
	"aws:ec2/securityGroup:SecurityGroup":                 {"description", "name", "namePrefix", "vpcId"},
	"aws:ec2/securityGroupRule:SecurityGroupRule": {"cidrBlocks", "fromPort", "ipv6CidrBlocks", "prefixListIds", "protocol",
		"securityGroupId", "self", "sourceSecurityGroupId", "toPort", "type"},
	"aws:ec2/subnet:Subnet":                             {"availabilityZone", "availabilityZoneId", "cidrBlock", "ipv6Native", "outpostArn", "vpcId"},
	"aws:ec2/vpc:Vpc":                                   {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                   {"serviceName", "vpcEndpointType", "vpcId"},
	"aws:ec2/vpcPeeringConnection:VpcPeeringConnection": {"peerOwnerId", "peerRegion", "peerVpcId", "vpcId"},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":           {"policy", "repository"},
	"aws:ecr/repository:Repository":                     {"encryptionConfigurations", "name"},
	"aws:ecr/repositoryPolicy:RepositoryPolicy":         {"repository"},
	"aws:efs/accessPoint:AccessPoint":                   {"fileSystemId", "posixUser", "rootDirectory"},
	"aws:efs/backupPolicy:BackupPolicy":                 {"fileSystemId"},
	"aws:efs/fileSystem:FileSystem":                     {"availabilityZoneName", "creationToken", "encrypted", "kmsKeyId", "performanceMode"},
	"aws:efs/fileSystemPolicy:FileSystemPolicy":         {"fileSystemId"},
	"aws:efs/mountTarget:MountTarget":                   {"fileSystemId", "ipAddress", "subnetId"},
	"aws:eks/accessEntry:AccessEntry":                   {"clusterName", "principalArn", "type"},
	"aws:eks/addon:Addon":                               {"addonName", "clusterName"},
	"aws:eks/nodeGroup:NodeGroup": {"amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id",
		"launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds"},
	"aws:elasticache/parameterGroup:ParameterGroup": {"description", "family", "name"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {"atRestEncryptionEnabled", "dataTieringEnabled",
		"globalReplicationGroupId", "kmsKeyId", "networkType", "port", "replicationGroupId", "securityGroupNames",
		"snapshotArns", "snapshotName", "subnetGroupName"},
	"aws:elasticache/subnetGroup:SubnetGroup":           {"name"},
	"aws:iam/instanceProfile:InstanceProfile":           {"name", "namePrefix", "path"},
	"aws:iam/role:Role":                                 {"name", "namePrefix", "path"},
	"aws:iam/rolePolicy:RolePolicy":                     {"name", "namePrefix", "role"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": {"policyArn", "role"},
	"aws:kms/alias:Alias":                               {"name", "namePrefix"},
	"aws:kms/key:Key":                                   {"customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"},
	"aws:lambda/eventSourceMapping:EventSourceMapping": {"amazonManagedKafkaEventSourceConfig", "eventSourceArn", "queues",
		"selfManagedEventSource", "selfManagedKafkaEventSourceConfig", "startingPosition", "startingPositionTimestamp", "topics"},
	"aws:lambda/function:Function": {"functionName", "packageType"},
	"aws:rds/instance:Instance": {"availabilityZone", "backupTarget", "characterSetName", "customIamInstanceProfile", "dbName",
		"engine", "kmsKeyId", "ncharCharacterSetName", "restoreToPointInTime", "s3Import.bucketName", "s3Import.bucketPrefix",
		"s3Import.ingestionRole", "s3Import.sourceEngine", "s3Import.sourceEngineVersion", "snapshotIdentifier",
		"storageEncrypted", "timezone", "username"},
	"aws:rds/parameterGroup:ParameterGroup":                                                      {"description", "family", "name", "namePrefix"},
	"aws:rds/subnetGroup:SubnetGroup":                                                            {"name", "namePrefix"},
	"aws:route53/hostedZoneDnsSec:HostedZoneDnsSec":                                              {"hostedZoneId"},
	"aws:route53/keySigningKey:KeySigningKey":                                                    {"hostedZoneId", "name"},
	"aws:route53/record:Record":                                                                  {"name", "zoneId"},
	"aws:route53/zone:Zone":                                                                      {"delegationSetId", "name"},
	"aws:s3/bucketAccelerateConfigurationV2:BucketAccelerateConfigurationV2":                     {"bucket", "expectedBucketOwner"},
	"aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2":                                 {"bucket", "expectedBucketOwner"},
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       {"bucket", "expectedBucketOwner"},
	"aws:s3/bucketLoggingV2:BucketLoggingV2":                                                     {"bucket", "expectedBucketOwner"},
	"aws:s3/bucketNotification:BucketNotification":                                               {"bucket"},
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     {"bucket"},
	"aws:s3/bucketPolicy:BucketPolicy":                                                           {"bucket"},
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     {"bucket"},
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig":                                     {"bucket"},
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": {"bucket", "expectedBucketOwner"},
	"aws:s3/bucketV2:BucketV2":                                                                   {"bucket", "bucketPrefix", "objectLockConfiguration.objectLockEnabled", "objectLockEnabled"},
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               {"bucket", "expectedBucketOwner"},
	"aws:scheduler/schedule:Schedule":                                                            {"groupName", "name", "namePrefix"},
	"aws:scheduler/scheduleGroup:ScheduleGroup":                                                  {"name", "namePrefix"},
	"aws:secretsmanager/secret:Secret":                                                           {"name", "namePrefix"},
	"aws:secretsmanager/secretVersion:SecretVersion":                                             {"secretBinary", "secretId", "secretString"},
	"aws:sns/topic:Topic":                                                                        {"fifoTopic", "name", "namePrefix"},
	"aws:sns/topicPolicy:TopicPolicy":                                                            {"arn"},
	"aws:sqs/queue:Queue":                                                                        {"fifoQueue", "name", "namePrefix"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":                                    {"securityGroupId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":                                  {"securityGroupId"},
	"aws:wafv2/webAcl:WebAcl":                                                                    {"name", "scope"},
	"aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration":                            {"logDestinationConfigs", "resourceArn"},

	"kubernetes:argoproj.io/v1alpha1:AppProject":           {"metadata.name", "metadata.namespace"},
	"kubernetes:argoproj.io/v1alpha1:AppProjectPatch":      {"metadata.name", "metadata.namespace"},
	"kubernetes:argoproj.io/v1alpha1:Application":          {"metadata.name", "metadata.namespace"},
	"kubernetes:core/v1:ConfigMap":                         {"binaryData", "data", "metadata.name", "metadata.namespace"},
	"kubernetes:core/v1:LimitRange":                        {"metadata.name", "metadata.namespace"},
	"kubernetes:core/v1:Namespace":                         {"metadata.name", "metadata.namespace"},
	"kubernetes:core/v1:ResourceQuota":                     {"metadata.name", "metadata.namespace", "spec.scopes"},
	"kubernetes:core/v1:ServiceAccount":                    {"metadata.name", "metadata.namespace"},
	"kubernetes:external-secrets.io/v1:ClusterSecretStore": {"metadata.name", "metadata.namespace"},
	"kubernetes:external-secrets.io/v1:ExternalSecret":     {"metadata.name", "metadata.namespace"},
	"kubernetes:helm.sh/v3:Release":                        {"name", "namespace"},
	"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":         {"metadata.name", "metadata.namespace"},
	"kubernetes:karpenter.sh/v1:NodePool":                  {"metadata.name", "metadata.namespace"},
	"kubernetes:monitoring.coreos.com/v1:PrometheusRule":   {"metadata.name", "metadata.namespace"},
	"kubernetes:networking.k8s.io/v1:NetworkPolicy":        {"metadata.name", "metadata.namespace"},
	"kubernetes:storage.k8s.io/v1:StorageClass":            {"metadata.name", "metadata.namespace", "parameters", "provisioner"},
	"kubernetes:storage.k8s.io/v1:StorageClassPatch":       {"metadata.name", "metadata.namespace"},

	"random:index/randomId:RandomId": {"byteLength", "prefix"},
	"random:index/randomPassword:RandomPassword": {"length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
		"number", "numeric", "special", "upper", "keepers", "overrideSpecial"},
}

// statefulTypes hold data (or, for the cluster, everything running in it) that a replacement
// or a deletion destroys.
var statefulTypes = map[string]bool{
	"aws:rds/instance:Instance":                         true,
	"aws:elasticache/replicationGroup:ReplicationGroup": true,
	"aws:s3/bucketV2:BucketV2":                          true,
	"aws:kms/key:Key":                                   true,
	"aws:efs/fileSystem:FileSystem":                     true,
	"aws:secretsmanager/secret:Secret":                  true,
	"aws:ecr/repository:Repository":                     true,
	"aws:sqs/queue:Queue":                               true,
	"aws:cloudwatch/logGroup:LogGroup":                  true,
	"eks:index:Cluster":                                 true,
	"random:index/randomPassword:RandomPassword":        true,
}

// foundationTypes are what every other resource lives in: replacing the VPC or a subnet (a
// new network range, say) replaces the cluster's nodes, the data stores' subnet groups and
// every network interface in it, and cannot happen while they exist. Such a change is a new
// stack, not an update, so `plan --diff` blocks it like a stateful replacement.
var foundationTypes = map[string]bool{
	"aws:ec2/vpc:Vpc":       true,
	"aws:ec2/subnet:Subnet": true,
}

// Change is one resource that a change creates, replaces, updates or deletes.
type Change struct {
	Action string `json:"action"` // create, replace, update, delete
	URN    string `json:"urn"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// Properties are the changed inputs; ReplacedBy those among them that force the replacement.
	Properties []string `json:"properties,omitempty"`
	ReplacedBy []string `json:"replacedBy,omitempty"`
	Stateful   bool     `json:"stateful,omitempty"`
	Protected  bool     `json:"protected,omitempty"`
	// Blocked: a protected or stateful resource would be replaced or deleted.
	Blocked bool `json:"blocked,omitempty"`
}

// DiffReport compares a plan with an earlier one.
type DiffReport struct {
	Stack     string   `json:"stack"`
	Old       string   `json:"old"`
	Changes   []Change `json:"changes"`
	Unchanged int      `json:"unchanged"`
	Blocked   int      `json:"blocked"`
}

// Counts returns the number of changes per action.
func (d *DiffReport) Counts() map[string]int {
	out := map[string]int{}
	for _, c := range d.Changes {
		out[c.Action]++
	}
	return out
}

// ReadDeployment reads a `plan --out` (or `pulumi stack export`) file.
func ReadDeployment(path string) (*apitype.DeploymentV3, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var u apitype.UntypedDeployment
	if err := json.Unmarshal(b, &u); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if u.Version != 3 {
		return nil, fmt.Errorf("%s: deployment version %d, want 3", path, u.Version)
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(u.Deployment, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &d, nil
}

// decode turns an in-memory deployment into what reading it from a file gives, so that both
// sides of a diff compare alike (numbers as float64, and so on).
func decode(u *apitype.UntypedDeployment) (*apitype.DeploymentV3, error) {
	var d apitype.DeploymentV3
	if err := json.Unmarshal(u.Deployment, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Diff compares the new deployment with the old one by URN.
func Diff(stack, oldName string, old, cur *apitype.DeploymentV3) *DiffReport {
	rep := &DiffReport{Stack: stack, Old: oldName}
	index := func(d *apitype.DeploymentV3) map[string]apitype.ResourceV3 {
		m := map[string]apitype.ResourceV3{}
		for _, r := range d.Resources {
			if r.Type != "pulumi:pulumi:Stack" {
				m[string(r.URN)] = r
			}
		}
		return m
	}
	olds, news := index(old), index(cur)
	for urn, n := range news {
		o, ok := olds[urn]
		if !ok {
			rep.Changes = append(rep.Changes, change("create", n, nil, nil, false))
			continue
		}
		props := changedProps(o.Inputs, n.Inputs)
		var forced []string
		for _, p := range replaceOn[string(n.Type)] {
			if !reflect.DeepEqual(at(o.Inputs, p), at(n.Inputs, p)) {
				forced = append(forced, p)
			}
		}
		if providerURN(o.Provider) != providerURN(n.Provider) {
			forced = append(forced, "(provider)")
		}
		switch {
		case len(forced) > 0:
			rep.Changes = append(rep.Changes, change("replace", n, props, forced, o.Protect))
		case len(props) > 0 || o.Protect != n.Protect:
			if o.Protect != n.Protect {
				props = append(props, "(protect)")
			}
			rep.Changes = append(rep.Changes, change("update", n, props, nil, false))
		default:
			rep.Unchanged++
		}
	}
	for urn, o := range olds {
		if _, ok := news[urn]; !ok {
			rep.Changes = append(rep.Changes, change("delete", o, nil, nil, o.Protect))
		}
	}
	order := map[string]int{"delete": 0, "replace": 1, "create": 2, "update": 3}
	sort.Slice(rep.Changes, func(i, j int) bool {
		a, b := rep.Changes[i], rep.Changes[j]
		if order[a.Action] != order[b.Action] {
			return order[a.Action] < order[b.Action]
		}
		return a.URN < b.URN
	})
	for _, c := range rep.Changes {
		if c.Blocked {
			rep.Blocked++
		}
	}
	return rep
}

func change(action string, r apitype.ResourceV3, props, forced []string, wasProtected bool) Change {
	c := Change{
		Action: action, URN: string(r.URN), Type: string(r.Type), Name: r.URN.Name(),
		Properties: props, ReplacedBy: forced,
		Stateful: statefulTypes[string(r.Type)], Protected: r.Protect || wasProtected,
	}
	c.Blocked = (action == "replace" || action == "delete") && (c.Stateful || c.Protected || foundationTypes[c.Type])
	return c
}

// changedProps lists the top-level inputs that differ.
func changedProps(a, b map[string]any) []string {
	var out []string
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// ReplaceRules is a copy of the table of replace-forcing inputs, for the test that checks it
// against the providers' schemas.
func ReplaceRules() map[string][]string {
	out := make(map[string][]string, len(replaceOn))
	for typ, props := range replaceOn {
		out[typ] = append([]string(nil), props...)
	}
	return out
}

// at is the value at a dotted path of inputs, nil when absent. Through a list (a nested block
// that is not a single object, like a security group's ingress rules) it is the list of each
// element's value, so that a replace-forcing attribute inside a block compares too.
func at(m map[string]any, path string) any { return project(m, strings.Split(path, ".")) }

func project(v any, keys []string) any {
	for i, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			out := make([]any, len(x))
			for j, e := range x {
				out[j] = project(e, keys[i:])
			}
			return out
		default:
			return nil
		}
	}
	return v
}

// providerURN is the provider a reference names. A default provider's name carries its
// plugin version (default_6_83_4): an upgrade updates the provider, it does not move the
// resources to another one, so the version is left out.
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, "::default_"); i > 0 {
		ref = ref[:i] + "::default"
	}
	return ref
}

var actionSigns = map[string]string{"create": "+", "replace": "±", "update": "~", "delete": "-"}

// WriteDiff renders the report as text.
func WriteDiff(w io.Writer, d *DiffReport) {
	n := d.Counts()
	fmt.Fprintf(w, "Changes to %s compared with %s: %d to create, %d to replace, %d to update, %d to delete, %d unchanged\n",
		d.Stack, d.Old, n["create"], n["replace"], n["update"], n["delete"], d.Unchanged)
	for _, c := range d.Changes {
		detail := ""
		switch {
		case len(c.ReplacedBy) > 0:
			detail = " (replaced because of " + strings.Join(c.ReplacedBy, ", ") + ")"
		case len(c.Properties) > 0:
			detail = " (" + strings.Join(c.Properties, ", ") + ")"
		}
		flag := ""
		if c.Blocked {
			what := "stateful"
			if c.Protected {
				what = "protected"
			}
			flag = "  BLOCKED: " + what
		}
		fmt.Fprintf(w, "  %s %-8s %s %s%s%s\n", actionSigns[c.Action], c.Action, c.Type, c.Name, detail, flag)
	}
	if d.Blocked > 0 {
		fmt.Fprintf(w, "\n%d protected or stateful resources would be replaced or deleted: rerun with --allow-replace if that is intended.\n", d.Blocked)
	}
}

// DiffResults compares two runs of the program, as `plan --diff` compares a plan with an
// earlier `plan --out`: the tests plan edited stack files with it.
func DiffResults(old, cur *harness.Result) (*DiffReport, error) {
	var deps [2]*apitype.DeploymentV3
	for i, r := range []*harness.Result{old, cur} {
		u, err := Deployment(r)
		if err != nil {
			return nil, err
		}
		if deps[i], err = decode(u); err != nil {
			return nil, err
		}
	}
	return Diff(cur.Stack, "edited", deps[0], deps[1]), nil
}
