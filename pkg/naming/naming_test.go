package naming

import (
	"regexp"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	n := New("cinegit", "prod")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"name joins prefix and parts", n.Name("db", "main"), "cinegit-prod-db-main"},
		{"name lower-cases", n.Name("MediaProcessing"), "cinegit-prod-mediaprocessing"},
		{"path is hierarchical", n.Path("rds", "main"), "/cinegit/prod/rds/main"},
		{"bucket carries account and region", n.Bucket("media", "123456789012", "us-east-1"), "cinegit-prod-media-123456789012-us-east-1"},
		{"short names are untouched", Truncate("abc", 5), "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestTruncateKeepsLimitAndDistinctness(t *testing.T) {
	n := New("cinegit", "staging")
	a := n.NameMax(32, "observability", "loki", "chunks")
	b := n.NameMax(32, "observability", "loki", "ruler")
	if len(a) > 32 || len(b) > 32 {
		t.Fatalf("over the limit: %q (%d), %q (%d)", a, len(a), b, len(b))
	}
	if a == b {
		t.Fatalf("distinct long names collided: %q", a)
	}
	if a != n.NameMax(32, "observability", "loki", "chunks") {
		t.Fatal("truncation is not stable across calls")
	}
	if !strings.HasPrefix(a, "cinegit-staging-") {
		t.Fatalf("lost its prefix: %q", a)
	}
	bucket := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	long := n.Bucket("a-very-long-purpose-name-for-a-bucket", "123456789012", "ap-southeast-4")
	if !bucket.MatchString(long) {
		t.Fatalf("not a valid bucket name: %q", long)
	}
}
