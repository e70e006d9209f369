package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/config/configtest"
)

// The raw configurations the cases start from (shared with pkg/config/wiring's tests).
var (
	base     = configtest.Base
	with     = configtest.With
	prodWith = configtest.ProdWith
)

func TestValidConfigurations(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		raw   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"dev defaults fill the network", "dev", map[string]string{"aws:region": "eu-west-1", "aws:allowedAccountIds": `["111111111111"]`}, func(t *testing.T, c *Config) {
			if c.Network.CIDR != "10.0.0.0/16" || len(c.Network.AvailabilityZones) != 3 || c.Network.AvailabilityZones[0] != "eu-west-1a" {
				t.Fatalf("defaults not applied: %+v", c.Network)
			}
			if c.Network.PrivateSubnetPrefix != 20 || c.Network.PublicSubnetPrefix != 24 {
				t.Fatalf("subnet prefixes: %+v", c.Network)
			}
		}},
		{"explicit dev network", "dev", base(), func(t *testing.T, c *Config) {
			if c.Network.NatGateways != NatSingle {
				t.Fatalf("nat: %q", c.Network.NatGateways)
			}
		}},
		{"extra tags", "dev", with("cinegit:tags", `{"cost-center":"platform"}`), func(t *testing.T, c *Config) {
			if c.Tags["cost-center"] != "platform" {
				t.Fatalf("tags: %v", c.Tags)
			}
		}},
		{"protect is a boolean", "prod", with("cinegit:protect", "true", "cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`), func(t *testing.T, c *Config) {
			if !c.Protect {
				t.Fatal("protect not read")
			}
		}},
		{"other namespaces are ignored", "dev", with("aws:profile", "x", "kubernetes:context", "y"), func(*testing.T, *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.stack, tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestInvalidConfigurationsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		stack   string
		raw     map[string]string
		key     string // the key path the error must name
		allowed string // a fragment of what is allowed
	}{
		{"malformed VPC CIDR", "dev", with("cinegit:network", `{"cidr":"10.0.0/16"}`), "cinegit:network.cidr", "CIDR notation"},
		{"VPC CIDR with host bits", "dev", with("cinegit:network", `{"cidr":"10.0.0.1/16"}`), "cinegit:network.cidr", "no host bits"},
		{"VPC CIDR too large", "dev", with("cinegit:network", `{"cidr":"10.0.0.0/8"}`), "cinegit:network.cidr", "/16 to /20"},
		{"public VPC CIDR", "dev", with("cinegit:network", `{"cidr":"8.8.0.0/16"}`), "cinegit:network.cidr", "private range"},
		{"VPC too small for its subnets", "dev", with("cinegit:network", `{"cidr":"10.0.0.0/20","privateSubnetPrefix":21,"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`), "cinegit:network.cidr", "too small"},
		{"overlapping subnet overrides", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b"],"publicSubnetCidrs":["10.0.250.0/24","10.0.250.0/25"]}`), "cinegit:network.publicSubnetCidrs[1]", "does not overlap"},
		{"subnet override overlapping carved private subnet", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b"],"databaseSubnetCidrs":["10.0.1.0/24","10.0.200.0/24"]}`), "cinegit:network.databaseSubnetCidrs[0]", "does not overlap"},
		{"subnet override outside the VPC", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b"],"publicSubnetCidrs":["10.1.0.0/24","10.0.250.0/24"]}`), "cinegit:network.publicSubnetCidrs[0]", "inside the VPC"},
		{"subnet override count", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b"],"publicSubnetCidrs":["10.0.250.0/24"]}`), "cinegit:network.publicSubnetCidrs", "one CIDR per availability zone"},
		{"one AZ", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a"]}`), "cinegit:network.availabilityZones", "at least 2"},
		{"two AZs in prod", "prod", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b"]}`, "cinegit:protect", "true"), "cinegit:network.availabilityZones", "at least 3"},
		{"AZ of another region", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-west-2b"]}`), "cinegit:network.availabilityZones[1]", "a zone of region us-east-1"},
		{"duplicate AZ", "dev", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1a"]}`), "cinegit:network.availabilityZones[1]", "duplicate"},
		{"bad region", "dev", with("aws:region", "us-middle-1"), "aws:region", "one of"},
		{"missing region", "dev", with("aws:region", ""), "aws:region", "required"},
		// An account per stack: exactly one, named in the stack file.
		{"no account", "dev", with("aws:allowedAccountIds", ""), "aws:allowedAccountIds", "exactly one 12-digit AWS account ID"},
		{"two accounts", "dev", with("aws:allowedAccountIds", `["111111111111","222222222222"]`), "aws:allowedAccountIds", "exactly one"},
		{"malformed account", "dev", with("aws:allowedAccountIds", `["1111-1111-1111"]`), "aws:allowedAccountIds", "12-digit"},
		{"prod without protect", "prod", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`), "cinegit:protect", "must be Pulumi-protected"},
		{"single NAT in prod", "prod", with("cinegit:network", `{"availabilityZones":["us-east-1a","us-east-1b","us-east-1c"],"natGateways":"single"}`), "cinegit:network.natGateways", "perAz"},
		{"unknown NAT mode", "dev", with("cinegit:network", `{"natGateways":"none"}`), "cinegit:network.natGateways", `"single" or "perAz"`},
		{"bad flow log retention", "dev", with("cinegit:network", `{"flowLogRetentionDays":10}`), "cinegit:network.flowLogRetentionDays", "retention values"},
		{"unknown endpoint service", "dev", with("cinegit:network", `{"interfaceEndpoints":["sts","dynamo"]}`), "cinegit:network.interfaceEndpoints[1]", "one of"},
		{"subnet prefix not inside the VPC", "dev", with("cinegit:network", `{"publicSubnetPrefix":29}`), "cinegit:network.publicSubnetPrefix", "at most /28"},
		{"tag key reserved by AWS", "dev", with("cinegit:tags", `{"aws:owner":"x"}`), "cinegit:tags.aws:owner", "aws:"},
		{"tag key set by the program", "dev", with("cinegit:tags", `{"environment":"x"}`), "cinegit:tags.environment", "set by the program"},
		{"tag value with a bad character", "dev", with("cinegit:tags", `{"team":"media*"}`), "cinegit:tags.team", "tag values use"},
		{"tag value too long", "dev", with("cinegit:tags", `{"team":"`+strings.Repeat("x", 257)+`"}`), "cinegit:tags.team", "at most 256"},
		{"unknown top-level key", "dev", with("cinegit:netwrok", `{}`), "cinegit:netwrok", "unknown key"},
		{"unknown field in a section", "dev", with("cinegit:network", `{"cidrs":"10.0.0.0/16"}`), "cinegit:network.cidrs", "unknown field"},
		{"wrong type in a section", "dev", with("cinegit:network", `{"flowLogRetentionDays":"thirty"}`), "cinegit:network.flowLogRetentionDays", "type int"},
		{"protect not a boolean", "dev", with("cinegit:protect", "yes"), "cinegit:protect", "valid"},
		{"stack name unusable in AWS names", "Dev_1", base(), "cinegit:<stack>", "lowercase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.stack, tt.raw)
			expectProblem(t, err, tt.key, tt.allowed)
		})
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	_, err := Parse("dev", with("aws:region", "mars-1", "cinegit:tags", `{"aws:x":"1"}`, "cinegit:bogus", "1"))
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) < 3 {
		t.Fatalf("want at least 3 problems, got %v", err)
	}
}

func TestLayoutCarvesAlignedNonOverlappingSubnets(t *testing.T) {
	c, err := Parse("prod", with("cinegit:protect", "true", "cinegit:network", `{"cidr":"10.30.0.0/16","availabilityZones":["us-east-1a","us-east-1b","us-east-1c"]}`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Network.Layout()
	if err != nil {
		t.Fatal(err)
	}
	want := SubnetLayout{
		Private:  []string{"10.30.0.0/20", "10.30.16.0/20", "10.30.32.0/20"},
		Public:   []string{"10.30.48.0/24", "10.30.49.0/24", "10.30.50.0/24"},
		Database: []string{"10.30.51.0/24", "10.30.52.0/24", "10.30.53.0/24"},
	}
	for i := range want.Private {
		if l.Private[i] != want.Private[i] || l.Public[i] != want.Public[i] || l.Database[i] != want.Database[i] {
			t.Fatalf("layout %+v, want %+v", l, want)
		}
	}
}

func TestKeysCoverEverySection(t *testing.T) {
	keys := strings.Join(Keys(), ",")
	for _, k := range []string{"cinegit:network", "cinegit:cluster", "cinegit:database", "cinegit:cache", "cinegit:media", "cinegit:cdn", "cinegit:mediaProcessing", "cinegit:observability", "cinegit:gitops", "cinegit:tags", "cinegit:protect", "aws:region"} {
		if !strings.Contains(keys, k) {
			t.Errorf("Keys() lacks %s", k)
		}
	}
}

// expectProblem requires err to be a validation error with a problem that names key, shows the
// value, and says what is allowed in words containing allowed.
func expectProblem(t *testing.T, err error, key, allowed string) {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a validation error, got %v", err)
	}
	for _, p := range verr.Problems {
		if p.Key == key && strings.Contains(p.Allowed, allowed) && p.Value != "" {
			return
		}
	}
	t.Fatalf("no problem names %s with %q; got:\n%v", key, allowed, err)
}

// expectParseProblem parses raw for stack and requires the problem expectProblem describes.
func expectParseProblem(t *testing.T, stack string, raw map[string]string, key, allowed string) {
	t.Helper()
	_, err := Parse(stack, raw)
	expectProblem(t, err, key, allowed)
}
