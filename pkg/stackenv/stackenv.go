// Package stackenv carries what every component needs to know about where it is deployed:
// names, tags and the account, partition and region. main.go builds it once per stack.
package stackenv

import (
	"fmt"

	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// Env is a stack's deployment environment.
type Env struct {
	Naming    naming.Namer
	Tags      tags.Set
	AccountID string
	Partition string
	Region    string
}

// Arn builds an ARN in this account and region: Arn("logs", "log-group:/x") =
// "arn:aws:logs:us-east-1:123456789012:log-group:/x".
func (e Env) Arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", e.Partition, service, e.Region, e.AccountID, resource)
}

// GlobalArn builds an ARN of a global service (IAM, CloudFront): no region.
func (e Env) GlobalArn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s::%s:%s", e.Partition, service, e.AccountID, resource)
}
