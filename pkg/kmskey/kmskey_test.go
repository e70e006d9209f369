package kmskey

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/iampolicy"
)

func TestKeyRotatesAndKeepsTheAccountInControl(t *testing.T) {
	env := harness.Env("dev", "eu-west-1")
	tests := []struct {
		name      string
		args      Args
		wantSids  []string
		logsScope string
	}{
		{
			name:     "plain key",
			args:     Args{Description: "d", Alias: "cinegit-dev-x", Env: env},
			wantSids: []string{"AccountAdministersKeyThroughIAM"},
		},
		{
			name: "key for log groups and one more service",
			args: Args{
				Description: "d", Alias: "cinegit-dev-logs", Env: env,
				AllowCloudWatchLogs: true,
				Statements: []iampolicy.Statement{{Sid: "Extra", Actions: []string{"kms:Decrypt"}, Resources: iampolicy.Strings("*"),
					Principals: []iampolicy.Principal{{Type: "Service", Identifiers: iampolicy.Strings("sqs.amazonaws.com")}}}},
			},
			wantSids:  []string{"AccountAdministersKeyThroughIAM", "CloudWatchLogsEncryptsThisAccountsLogGroups", "Extra"},
			logsScope: "arn:aws:logs:eu-west-1:123456789012:log-group:*",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := harness.RunRaw(func(ctx *pulumi.Context) error {
				_, err := New(ctx, "key", tt.args)
				return err
			}, "cinegit", "dev", map[string]string{"aws:region": "eu-west-1"}, false)
			if err != nil {
				t.Fatal(err)
			}
			key := r.Named("aws:kms/key:Key", "key")
			if key.Input("enableKeyRotation") != true || key.Input("deletionWindowInDays") != 30.0 {
				t.Fatalf("rotation %v, deletion window %v", key.Input("enableKeyRotation"), key.Input("deletionWindowInDays"))
			}
			alias := r.Named("aws:kms/alias:Alias", "key")
			if alias.InputString("name") != "alias/"+tt.args.Alias || !r.DependsOn(alias, key) {
				t.Fatalf("alias %q does not name the key", alias.InputString("name"))
			}
			var doc struct {
				Statement []struct {
					Sid       string
					Principal map[string]any
					Condition map[string]map[string][]string
				}
			}
			if err := json.Unmarshal([]byte(key.InputString("policy")), &doc); err != nil {
				t.Fatal(err)
			}
			var sids []string
			for _, s := range doc.Statement {
				sids = append(sids, s.Sid)
				if s.Sid == "AccountAdministersKeyThroughIAM" && s.Principal["AWS"].([]any)[0] != "arn:aws:iam::123456789012:root" {
					t.Errorf("administration is not the account's: %v", s.Principal)
				}
				if s.Sid == "CloudWatchLogsEncryptsThisAccountsLogGroups" {
					got := s.Condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
					if len(got) != 1 || got[0] != tt.logsScope || s.Principal["Service"].([]any)[0] != "logs.eu-west-1.amazonaws.com" {
						t.Errorf("logs statement not limited to this account's log groups in the region: %v %v", s.Principal, got)
					}
				}
			}
			if strings.Join(sids, ",") != strings.Join(tt.wantSids, ",") {
				t.Fatalf("statements %v, want %v", sids, tt.wantSids)
			}
		})
	}
}
