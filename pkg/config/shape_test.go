package config

import (
	"errors"
	"strings"
	"testing"
)

// TestTyposNameTheKeyAndTheNearestValidKey: a misspelled key anywhere in the project's
// namespace fails, naming where it is and what was probably meant (issue 12, item 9).
func TestTyposNameTheKeyAndTheNearestValidKey(t *testing.T) {
	tests := []struct {
		name  string
		raw   map[string]string
		key   string // the key path the problem must name
		allow string // a fragment of what it must say
	}{
		{"misspelled section", with("cinegit:databse", `{"instanceClass":"db.t4g.small"}`), "cinegit:databse", "did you mean cinegit:database?"},
		{"misspelled scalar key", with("cinegit:protec", "true"), "cinegit:protec", "did you mean cinegit:protect?"},
		{"section in the wrong case", with("cinegit:mediaprocessing", `{}`), "cinegit:mediaprocessing", "did you mean cinegit:mediaProcessing?"},
		{"misspelled field", with("cinegit:database", `{"instanceClas":"db.t4g.small"}`), "cinegit:database.instanceClas", "did you mean cinegit:database.instanceClass?"},
		{"misspelled nested field", with("cinegit:cluster", `{"general":{"minSise":1}}`), "cinegit:cluster.general.minSise", "did you mean cinegit:cluster.general.minSize?"},
		{"misspelled field in a list item", with("cinegit:media", `{"originalsTransitions":[{"days":30,"storageClas":"STANDARD_IA"}]}`), "cinegit:media.originalsTransitions[0].storageClas", "did you mean cinegit:media.originalsTransitions[0].storageClass?"},
		{"field in the wrong case", with("cinegit:network", `{"CIDR":"10.0.0.0/16"}`), "cinegit:network.CIDR", "did you mean cinegit:network.cidr?"},
		{"numeric tag value", with("cinegit:tags", `{"cost-center":42}`), "cinegit:tags.cost-center", "a string, not a number"},
		{"object tag value", with("cinegit:tags", `{"team":{"name":"media"}}`), "cinegit:tags.team", "a string, not an object"},
		{"boolean tag value", with("cinegit:tags", `{"billable":true}`), "cinegit:tags.billable", "a string, not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("dev", tt.raw)
			expectProblem(t, err, tt.key, tt.allow)
		})
	}
}

func TestEveryUnknownFieldIsReportedAtOnce(t *testing.T) {
	_, err := Parse("dev", with("cinegit:database", `{"instanceClas":"db.t4g.small","multiAZ":true}`, "cinegit:tags", `{"a":1,"b":2}`))
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 4 {
		t.Fatalf("want exactly 4 problems (2 fields, 2 tags), got %v", err)
	}
}

// TestEngineConfigReachesTheUnknownKeyCheck is the `pulumi up` path: the engine passes the
// whole stack configuration in PULUMI_CONFIG, and a misspelled section in it must fail.
func TestEngineConfigReachesTheUnknownKeyCheck(t *testing.T) {
	raw := map[string]string{"aws:region": "us-east-1"}
	env := `{"aws:region":"us-east-1","cinegit:databse":"{\"instanceClass\":\"db.t4g.small\"}","aws:profile":"x"}`
	if err := mergeEngineConfig(raw, env); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("dev", raw)
	if err == nil || !strings.Contains(err.Error(), "cinegit:databse") || !strings.Contains(err.Error(), "did you mean cinegit:database?") {
		t.Fatalf("want cinegit:databse rejected with a suggestion, got %v", err)
	}
	if err := mergeEngineConfig(map[string]string{}, "not json"); err == nil {
		t.Fatal("an unreadable PULUMI_CONFIG must fail, not be ignored")
	}
}

func TestNearest(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"databse", "database"}, {"cach", "cache"}, {"gitop", "gitops"}, {"netwrok", "network"}, {"observabilty", "observability"},
	} {
		if got := nearest(tt.in, sectionNames((&Config{}).sections())); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
