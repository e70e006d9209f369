package main

import (
	"os"

	"github.com/cinegit/infrastructure/pkg/recovery"
)

// runRecoveryConfig is `cinegit recovery-config`: writes a recovery stack's settings from its
// committed override (pkg/recovery, docs/region-loss.md).
func runRecoveryConfig(args []string) int {
	return recovery.Main(args, os.Stdout, os.Stderr)
}
