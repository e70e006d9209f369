package harness

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// standInPrefix marks the resources the harness registers so that remote components' outputs
// (resource references) resolve. They are answered but never recorded.
const standInPrefix = "harness-standin-"

// standInTypes are the resources pulumi-eks's Cluster outputs refer to.
var standInTypes = map[string]string{
	"eks-cluster":   "aws:eks/cluster:Cluster",
	"oidc-provider": "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
	"cluster-sg":    "aws:ec2/securityGroup:SecurityGroup",
	"node-sg":       "aws:ec2/securityGroup:SecurityGroup",
	"instance-role": "aws:iam/role:Role",
}

// registerStandIns registers every stand-in and waits until the engine has given each a URN,
// so that the mock can refer to them before the program asks.
func (m *Mocks) registerStandIns(ctx *pulumi.Context) error {
	type got struct {
		role, urn string
	}
	ch := make(chan got, len(standInTypes))
	for role, typ := range standInTypes {
		var res pulumi.CustomResourceState
		if err := ctx.RegisterResource(typ, standInPrefix+role, pulumi.Map{}, &res); err != nil {
			return fmt.Errorf("stand-in %s: %w", role, err)
		}
		role := role
		res.URN().ApplyT(func(u pulumi.URN) pulumi.URN {
			ch <- got{role, string(u)}
			return u
		})
	}
	timeout := time.After(10 * time.Second)
	for range standInTypes {
		select {
		case g := <-ch:
			m.mu.Lock()
			m.standIns[g.role] = g.urn
			m.mu.Unlock()
		case <-timeout:
			return fmt.Errorf("stand-ins were not registered within 10s")
		}
	}
	return nil
}

// standInRef is a resource reference to a stand-in.
func (m *Mocks) standInRef(role string) resource.PropertyValue {
	m.mu.Lock()
	urn := m.standIns[role]
	m.mu.Unlock()
	return resource.MakeCustomResourceReference(resource.URN(urn), resource.ID(standInPrefix+role), "")
}
