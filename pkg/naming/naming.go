// Package naming computes CineGit's resource names: stack-qualified, stable across runs, and
// within AWS's length and character limits.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Namer builds names for one stack of one project.
type Namer struct {
	Project string
	Stack   string
}

// New returns the namer of a stack.
func New(project, stack string) Namer { return Namer{Project: project, Stack: stack} }

// Prefix is "<project>-<stack>", the start of every physical name.
func (n Namer) Prefix() string { return n.Project + "-" + n.Stack }

// Name joins the prefix and parts with hyphens, lower-cased: Name("db") = "cinegit-dev-db".
func (n Namer) Name(parts ...string) string {
	return strings.ToLower(strings.Join(append([]string{n.Prefix()}, parts...), "-"))
}

// NameMax is Name cut to limit characters. A cut name keeps a hash of the whole name at its end,
// so two long names that share a start stay distinct and each stays the same across runs.
func (n Namer) NameMax(limit int, parts ...string) string {
	return Truncate(n.Name(parts...), limit)
}

// Path is a slash-separated name for hierarchical namespaces (log groups, secrets):
// Path("rds", "main") = "/cinegit/dev/rds/main".
func (n Namer) Path(parts ...string) string {
	return "/" + strings.Join(append([]string{n.Project, n.Stack}, parts...), "/")
}

// Bucket is a globally unique S3 bucket name: prefix, purpose, account and region, which keeps
// it unique across accounts and regions and stable across runs (3-63 characters).
func (n Namer) Bucket(purpose, accountID, region string) string {
	return Truncate(n.Name(purpose, accountID, region), 63)
}

// Truncate cuts s to limit characters, replacing its tail with an 8-character hash of s.
func Truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:8]
	keep := limit - len(h) - 1
	if keep < 1 {
		return h[:limit]
	}
	return strings.TrimRight(s[:keep], "-") + "-" + h
}
