package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	stackconfig "github.com/cinegit/infrastructure/pkg/config"
	"github.com/cinegit/infrastructure/pkg/harness"
)

func run(t *testing.T, override map[string]string) *harness.Result {
	t.Helper()
	r, err := harness.Run(program, harness.Options{Dir: ".", Stack: "organization", Override: override})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// scp returns the policy's statements by Sid, and its size as AWS counts it (the document as
// stored, which the provider sends without extra whitespace).
func scp(t *testing.T, r *harness.Result) (map[string]map[string]any, int) {
	t.Helper()
	ps := r.ByType("aws:organizations/policy:Policy")
	if len(ps) != 1 || ps[0].InputString("type") != "SERVICE_CONTROL_POLICY" {
		t.Fatalf("want one SCP, got %d", len(ps))
	}
	content := ps[0].InputString("content")
	var d struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(content), &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, s := range d.Statement {
		out[s["Sid"].(string)] = s
	}
	return out, len(content)
}

func strs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, e.(string))
		}
	case string:
		out = append(out, x)
	}
	return out
}

// TestSCPDeniesWhatTheAccountsMustNotLift: each guardrail the stack accounts must keep, as an
// action the SCP denies, on what, and that only the exempt administrators are spared.
func TestSCPDeniesWhatTheAccountsMustNotLift(t *testing.T) {
	st, size := scp(t, run(t, nil))
	t.Logf("SCP: %d of %d characters", size, MaxSCPBytes)
	if size > MaxSCPBytes {
		t.Errorf("the SCP is %d characters, AWS accepts %d", size, MaxSCPBytes)
	}
	tests := []struct{ sid, action, resource string }{
		{"StayInTheOrganization", "organizations:LeaveOrganization", "*"},
		{"KeepCloudTrail", "cloudtrail:StopLogging", "*"},
		{"KeepCloudTrail", "cloudtrail:DeleteTrail", "*"},
		{"KeepGuardDuty", "guardduty:DeleteDetector", "*"},
		{"KeepGuardDuty", "guardduty:CreateFilter", "*"},
		{"KeepConfig", "config:StopConfigurationRecorder", "*"},
		{"KeepConfig", "config:DeleteDeliveryChannel", "*"},
		{"KeepTheStateBucket", "s3:PutBucketPolicy", "arn:aws:s3:::cinegit-pulumi-state-*"},
		{"KeepTheStateBucket", "s3:PutBucketVersioning", "arn:aws:s3:::cinegit-pulumi-state-*"},
		{"KeepTheStateBucket", "s3:PutReplicationConfiguration", "arn:aws:s3:::cinegit-pulumi-state-*"},
		{"KeepTheStateHistory", "s3:DeleteObjectVersion", "arn:aws:s3:::cinegit-pulumi-state-*/*"},
		{"NoRootUser", "*", "*"},
	}
	for _, tt := range tests {
		s := st[tt.sid]
		if s["Effect"] != "Deny" || !slices.Contains(strs(s["Action"]), tt.action) || !slices.Contains(strs(s["Resource"]), tt.resource) {
			t.Errorf("%s does not deny %s on %s: %v", tt.sid, tt.action, tt.resource, s)
		}
	}
	exempt := map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": []any{"arn:aws:iam::*:role/OrganizationAccountAccessRole"}}}
	for sid, s := range st {
		c, _ := s["Condition"].(map[string]any)
		switch sid {
		case "StayInTheOrganization":
			if c != nil {
				t.Errorf("%s has exceptions: %v", sid, c)
			}
		case "NoRootUser":
			if !reflect.DeepEqual(c, map[string]any{"StringLike": map[string]any{"aws:PrincipalArn": []any{"arn:aws:iam::*:root"}}}) {
				t.Errorf("%s condition %v", sid, c)
			}
		default:
			if !reflect.DeepEqual(c["ArnNotLike"], exempt["ArnNotLike"]) {
				t.Errorf("%s spares %v, want only the exempt administrators", sid, c)
			}
		}
	}
	// Outside the allowed regions everything but the global services is denied.
	reg := st["AllowedRegionsOnly"]
	c := reg["Condition"].(map[string]any)
	if got := strs(c["StringNotEquals"].(map[string]any)["aws:RequestedRegion"]); !slices.Equal(got, []string{"us-east-1", "us-west-2"}) || reg["Action"] != nil {
		t.Errorf("region deny %v", reg)
	}
	for _, a := range strs(reg["NotAction"]) {
		if strings.HasPrefix(a, "ec2:") || strings.HasPrefix(a, "s3:Put") || strings.HasPrefix(a, "kms:") || strings.HasPrefix(a, "eks:") {
			t.Errorf("the region deny spares the regional %s", a)
		}
	}
}

// TestAttachedToEachStackAccount: the SCP is attached to exactly the stacks' accounts, the ones
// their stack files name, and the allowed regions hold every region the stacks use.
func TestAttachedToEachStackAccount(t *testing.T) {
	r := run(t, nil)
	var got []string
	for _, a := range r.ByType("aws:organizations/policyAttachment:PolicyAttachment") {
		got = append(got, a.InputString("targetId"))
	}
	var want []string
	cfg, err := ParseConfig(map[string]string{Project + ":accounts": `{"dev":"111111111111","staging":"222222222222","prod":"333333333333"}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"dev", "prod", "staging"} {
		_, raw, err := harness.LoadConfig(harness.Options{Dir: "../..", Stack: stack})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := stackconfig.Parse(stack, raw)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, sc.AccountID)
		if !slices.Contains(cfg.AllowedRegions, raw["aws:region"]) {
			t.Errorf("stack %s runs in %s, outside the SCP's regions %v", stack, raw["aws:region"], cfg.AllowedRegions)
		}
	}
	// The attachments register concurrently: compare them as sets.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("attached to %v, the stacks' accounts are %v", got, want)
	}
}

func TestInvalidConfiguration(t *testing.T) {
	tests := map[string]map[string]string{
		"shared account":      {Project + ":accounts": `{"dev":"111111111111","prod":"111111111111"}`},
		"no accounts":         {Project + ":accounts": `{}`},
		"short account":       {Project + ":accounts": `{"dev":"1111"}`},
		"no exempt role":      {Project + ":exemptRoleNames": `[]`},
		"everyone exempt":     {Project + ":exemptRoleNames": `["*"]`},
		"not a region":        {Project + ":allowedRegions": `["moon-1"]`},
		"misspelt key":        {Project + ":acounts": `{}`},
		"not an account list": {Project + ":accounts": `["111111111111"]`},
	}
	for name, raw := range tests {
		if _, ok := raw[Project+":accounts"]; !ok {
			raw[Project+":accounts"] = `{"dev":"111111111111"}`
		}
		if _, err := ParseConfig(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := harness.Run(program, harness.Options{Dir: ".", Stack: "organization", Override: map[string]string{Project + ":accounts": `{}`}}); err == nil {
		t.Error("the program ran without accounts")
	}
}

// TestConfigKeysMatchSchema keeps Pulumi.yaml's schema and the code's defaults in step.
func TestConfigKeysMatchSchema(t *testing.T) {
	project, err := harness.LoadProject(".")
	if err != nil {
		t.Fatal(err)
	}
	if project.Name != Project || len(project.Config) != len(keys) {
		t.Fatalf("Pulumi.yaml: project %s declares %d keys, the program reads %d", project.Name, len(project.Config), len(keys))
	}
	for k, spec := range project.Config {
		b, _ := json.Marshal(spec.Default)
		got := string(b)
		if spec.Type == "string" {
			got = spec.Default.(string)
		}
		if def, ok := keys[k]; !ok || got != def || spec.Description == "" {
			t.Errorf("%s: Pulumi.yaml default %s, code default %q", k, got, def)
		}
	}
}
