package harness

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Fixed identity of the offline account.
const (
	AccountID = "123456789012"
	// RunnerVpcID and RunnerRouteTableID are what the lookups of the deploy runner VPC (made by
	// bootstrap/) find.
	RunnerVpcID        = "vpc-0runner000000000"
	RunnerRouteTableID = "rtb-0runner000000000"
	Partition          = "aws"
)

// Mocks is the offline engine: it answers registrations and invokes the way AWS would shape
// them, and records every registration.
type Mocks struct {
	Stack   string
	Project string
	Region  string
	// NewAccount answers as a brand-new account: no cost data yet.
	NewAccount bool

	mu        sync.Mutex
	seq       int
	resources []*Resource
	standIns  map[string]string // stand-in role -> URN
	owners    map[string]string // stand-in URN -> URN of the resource whose outputs refer to it
	regions   map[string]string // AWS provider ID -> its region
}

// NewMocks returns mocks for a stack in a region.
func NewMocks(project, stack, region string) *Mocks {
	return &Mocks{Project: project, Stack: stack, Region: region, standIns: map[string]string{}, owners: map[string]string{}, regions: map[string]string{}}
}

// Resources returns the recorded resources in registration order. A reference to a stand-in
// becomes a reference to the component that returned it (pulumi-eks's Cluster owns the EKS
// cluster it creates), so the graph only names resources the program registered.
func (m *Mocks) Resources() []*Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]*Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	for _, r := range out {
		r.Dependencies = m.remap(r.Dependencies, r.URN)
		r.ResourceReferences = m.remap(r.ResourceReferences, r.URN)
		for k, v := range r.PropertyDependencies {
			r.PropertyDependencies[k] = m.remap(v, r.URN)
		}
	}
	return out
}

// remap replaces stand-in URNs by their owners' and drops duplicates and self-references.
func (m *Mocks) remap(urns []string, self string) []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range urns {
		if owner, ok := m.owners[u]; ok {
			u = owner
		} else if strings.Contains(u, "::"+standInPrefix) {
			continue
		}
		if u != self && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outs := m.outputs(args)
	if args.TypeToken == "pulumi:providers:aws" {
		if r := args.Inputs["region"]; r.IsString() {
			m.mu.Lock()
			m.regions[id] = r.StringValue()
			m.mu.Unlock()
		}
	}
	if !args.Custom {
		id = "" // components, remote ones included, have no ID
	}
	if strings.HasPrefix(args.Name, standInPrefix) {
		return id, outs, nil // stand-ins exist only to be referred to; they are not the program's
	}
	rec := &Resource{
		Type:       args.TypeToken,
		Name:       args.Name,
		ID:         id,
		Custom:     args.Custom,
		Inputs:     args.Inputs,
		Outputs:    outs,
		Transforms: args.Transforms,
	}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Parent = rpc.GetParent()
		rec.Provider = rpc.GetProvider()
		rec.Version = rpc.GetVersion()
		rec.Remote = rpc.GetRemote()
		rec.Dependencies = rpc.GetDependencies()
		rec.PropertyDependencies = map[string][]string{}
		for k, v := range rpc.GetPropertyDependencies() {
			rec.PropertyDependencies[k] = v.GetUrns()
		}
		rec.Protect = rpc.Protect != nil && *rpc.Protect
		rec.RetainOnDelete = rpc.RetainOnDelete != nil && *rpc.RetainOnDelete
		rec.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		rec.IgnoreChanges = rpc.GetIgnoreChanges()
		rec.AdditionalSecretOutputs = rpc.GetAdditionalSecretOutputs()
		rec.Providers = rpc.GetProviders()
	}
	rec.URN = m.urn(rec.Parent, rec.Type, rec.Name)
	owned := map[string]bool{}
	references(resource.NewProperty(outs), owned)
	refs := map[string]bool{}
	references(resource.NewProperty(args.Inputs), refs)
	for u := range refs {
		rec.ResourceReferences = append(rec.ResourceReferences, u)
	}
	sort.Strings(rec.ResourceReferences)

	m.mu.Lock()
	for u := range owned {
		if strings.Contains(u, "::"+standInPrefix) {
			m.owners[u] = rec.URN
		}
	}
	m.seq++
	rec.Seq = m.seq
	m.resources = append(m.resources, rec)
	m.mu.Unlock()
	return id, outs, nil
}

func (m *Mocks) urn(parent, typ, name string) string {
	parentType := ""
	if parent != "" {
		if pt := resource.URN(parent).QualifiedType(); pt != "pulumi:pulumi:Stack" {
			parentType = string(pt)
		}
	}
	return string(resource.NewURN(tokensQName(m.Stack), tokensPackage(m.Project), tokensType(parentType), tokensType(typ), name))
}

// Call implements pulumi.MockResourceMonitor for invokes.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": AccountID,
			"arn":       fmt.Sprintf("arn:aws:iam::%s:user/offline", AccountID),
			"userId":    "AIDAOFFLINE",
			"id":        AccountID,
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{
			"partition": Partition, "dnsSuffix": "amazonaws.com", "id": Partition,
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"name": m.Region, "id": m.Region}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return resource.NewPropertyMapFromMap(map[string]any{
			"names": []any{m.Region + "a", m.Region + "b", m.Region + "c"},
			"id":    m.Region,
		}), nil
	case "aws:ec2/getVpc:getVpc":
		// The deploy runner VPC the bootstrap made, found by its tags and CIDR.
		out := map[string]any{"id": RunnerVpcID, "arn": fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", m.Region, AccountID, RunnerVpcID)}
		if c, ok := args.Args["cidrBlock"]; ok && c.IsString() {
			out["cidrBlock"] = c.StringValue()
		}
		return resource.NewPropertyMapFromMap(out), nil
	case "aws:ec2/getRouteTables:getRouteTables":
		return resource.NewPropertyMapFromMap(map[string]any{"id": m.Region, "ids": []any{RunnerRouteTableID}}), nil
	case "aws:costexplorer/getTags:getTags":
		// Cost Explorer lists the tag keys in the period's cost data: none in a new account;
		// otherwise the key asked for (the stack's resources carry it).
		tags := []any{}
		if s, ok := args.Args["searchString"]; ok && s.IsString() && !m.NewAccount {
			tags = append(tags, s.StringValue())
		}
		return resource.NewPropertyMapFromMap(map[string]any{"id": "tags", "tags": tags}), nil
	case "aws:ec2/getPrefixList:getPrefixList":
		// The AWS-managed prefix list of a gateway endpoint service (com.amazonaws.<region>.s3).
		name := ""
		if n, ok := args.Args["name"]; ok && n.IsString() {
			name = n.StringValue()
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": "pl-offline0s3", "prefixListId": "pl-offline0s3", "name": name, "cidrBlocks": []any{"3.5.0.0/19"},
		}), nil
	}
	return args.Args, nil
}

// MethodCall implements pulumi.MockResourceMonitorWithMethodCall (methods of components).
func (m *Mocks) MethodCall(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "eks:index:Cluster/getKubeconfig" {
		return resource.NewPropertyMapFromMap(map[string]any{"result": kubeconfig(m.Region, "cluster")}), nil
	}
	return resource.PropertyMap{}, nil
}
