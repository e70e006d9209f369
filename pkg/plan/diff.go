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
// resource (delete and create, or create and delete) instead of updating it in place. They
// are the attributes the upstream Terraform provider schema marks `ForceNew: true`, which
// pulumi-aws bridges as replacements (hashicorp/terraform-provider-aws, internal/service/<service>/<resource>.go;
// the Pulumi registry's API docs say "Changing this forces a new resource" for them), the
// Kubernetes provider's identity fields (metadata.name and metadata.namespace: a new name is
// a new object), and pulumi-random's inputs (every one forces a new value). Only the types
// CineGit registers are listed; paths are dotted into nested objects.
var replaceOn = map[string][]string{
	"aws:ec2/vpc:Vpc":                                           {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	"aws:ec2/subnet:Subnet":                                     {"cidrBlock", "vpcId", "availabilityZone", "availabilityZoneId", "outpostArn"},
	"aws:ec2/natGateway:NatGateway":                             {"subnetId", "allocationId", "connectivityType", "privateIp"},
	"aws:ec2/eip:Eip":                                           {"domain", "publicIpv4Pool", "networkBorderGroup"},
	"aws:ec2/routeTable:RouteTable":                             {"vpcId"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation":       {"subnetId", "gatewayId"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                           {"vpcId", "serviceName", "vpcEndpointType"},
	"aws:ec2/securityGroup:SecurityGroup":                       {"name", "namePrefix", "description", "vpcId"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"securityGroupId"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"securityGroupId"},
	"aws:ec2/launchTemplate:LaunchTemplate":                     {"name", "namePrefix"},
	"aws:eks/nodeGroup:NodeGroup": {"clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "subnetIds",
		"instanceTypes", "amiType", "capacityType", "diskSize", "remoteAccess"},
	"aws:eks/addon:Addon": {"clusterName", "addonName"},
	"aws:rds/instance:Instance": {"identifier", "identifierPrefix", "engine", "dbName", "username", "kmsKeyId",
		"storageEncrypted", "availabilityZone", "characterSetName", "ncharCharacterSetName", "timezone",
		"snapshotIdentifier", "restoreToPointInTime", "s3Import", "customIamInstanceProfile"},
	"aws:rds/subnetGroup:SubnetGroup":       {"name", "namePrefix"},
	"aws:rds/parameterGroup:ParameterGroup": {"name", "namePrefix", "family"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {"replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId",
		"subnetGroupName", "port", "snapshotArns", "snapshotName", "globalReplicationGroupId", "preferredCacheClusterAzs", "dataTieringEnabled"},
	"aws:elasticache/subnetGroup:SubnetGroup":       {"name"},
	"aws:elasticache/parameterGroup:ParameterGroup": {"name", "family"},
	"aws:s3/bucketV2:BucketV2":                      {"bucket", "bucketPrefix", "objectLockEnabled"},
	"aws:kms/key:Key":                               {"customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"},
	"aws:kms/alias:Alias":                           {"name", "namePrefix"},
	"aws:secretsmanager/secret:Secret":              {"name", "namePrefix"},
	"aws:efs/fileSystem:FileSystem":                 {"creationToken", "encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName"},
	"aws:efs/mountTarget:MountTarget":               {"fileSystemId", "subnetId", "ipAddress"},
	"aws:efs/accessPoint:AccessPoint":               {"fileSystemId", "posixUser", "rootDirectory"},
	"aws:cloudwatch/logGroup:LogGroup":              {"name", "namePrefix"},
	"aws:sqs/queue:Queue":                           {"name", "namePrefix", "fifoQueue"},
	"aws:sns/topic:Topic":                           {"name", "namePrefix", "fifoTopic"},
	"aws:lambda/function:Function":                  {"functionName", "packageType"},
	"aws:ecr/repository:Repository":                 {"name", "encryptionConfigurations"},
	"aws:iam/role:Role":                             {"name", "namePrefix", "path"},
	"aws:cloudfront/publicKey:PublicKey":            {"encodedKey", "name", "namePrefix"},
	"aws:wafv2/webAcl:WebAcl":                       {"name", "scope"},
	"kubernetes:helm.sh/v3:Release":                 {"name", "namespace"},
	"random:index/randomPassword:RandomPassword": {"length", "special", "upper", "lower", "numeric", "minSpecial",
		"minUpper", "minLower", "minNumeric", "overrideSpecial", "keepers"},
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

// at is the value at a dotted path of inputs, nil when absent.
func at(m map[string]any, path string) any { return harness.Lookup(m, strings.Split(path, ".")...) }

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
