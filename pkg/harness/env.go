package harness

import (
	"github.com/cinegit/infrastructure/pkg/naming"
	"github.com/cinegit/infrastructure/pkg/stackenv"
	"github.com/cinegit/infrastructure/pkg/tags"
)

// Env is the deployment environment of a stack in the offline account, for component tests
// that build a component in a small program of their own.
func Env(stack, region string) stackenv.Env {
	return stackenv.Env{
		Naming:    naming.New("cinegit", stack),
		Tags:      tags.Set(tags.Base("cinegit", stack, nil)),
		AccountID: AccountID,
		Partition: Partition,
		Region:    region,
	}
}
