package config

import (
	"errors"
	"testing"
)

// TestSecretWindowsLetStagingBeRecreated: a secret waiting out its recovery window keeps its
// name (CreateSecret: "You can't create this secret because a secret with this name is
// already scheduled for deletion"; Secrets Manager API reference, DeleteSecret), so staging,
// which is destroyed and created again, may delete its secrets at once; prod, which is never
// destroyed, keeps 7-30.
func TestSecretWindowsLetStagingBeRecreated(t *testing.T) {
	windows := map[string]string{
		"cinegit:cache":         `{"authSecretRecoveryWindowDays":0}`,
		"cinegit:cdn":           `{"signingKeyRecoveryWindowDays":0}`,
		"cinegit:observability": `{"grafana":{"adminSecretRecoveryWindowDays":0},"loki":{"credentialRecoveryWindowDays":0}}`,
		"cinegit:gitops":        `{"secretRecoveryWindowDays":0}`,
	}
	keys := []string{"cache.authSecretRecoveryWindowDays", "cdn.signingKeyRecoveryWindowDays", "observability.grafana.adminSecretRecoveryWindowDays", "observability.loki.credentialRecoveryWindowDays", "gitops.secretRecoveryWindowDays"}
	for _, tt := range []struct {
		stack    string
		rejected bool
	}{{"dev", false}, {"staging", false}, {"prod", true}} {
		t.Run(tt.stack, func(t *testing.T) {
			raw := with("cinegit:protect", "true", "cinegit:network", threeAZs)
			for k, v := range windows {
				raw[k] = v
			}
			_, err := Parse(tt.stack, raw)
			var verr *ValidationError
			if err != nil && !errors.As(err, &verr) {
				t.Fatal(err)
			}
			for _, k := range keys {
				found := false
				if verr != nil {
					for _, p := range verr.Problems {
						found = found || p.Key == "cinegit:"+k
					}
				}
				if found != tt.rejected {
					t.Errorf("%s = 0 rejected=%v, want %v (%v)", k, found, tt.rejected, err)
				}
			}
		})
	}
	if r := RulesFor("staging"); r.RequireSecretRecovery || !RulesFor("prod").RequireSecretRecovery {
		t.Fatal("only prod requires secret recovery windows")
	}
}

// TestOffHoursBackupsOutlastTheWeekend: the longest stop of an off-hours schedule, and a
// continuous backup window shorter than it (plus a day) refused.
func TestOffHoursBackupsOutlastTheWeekend(t *testing.T) {
	for _, tt := range []struct {
		days, stop, start string
		want              float64
	}{
		{"MON-FRI", "20:00", "07:00", 59},
		{"SUN-SAT", "20:00", "07:00", 11},
		{"MON,WED,FRI", "18:00", "08:00", 62},
		{"SAT", "20:00", "07:00", 155},
	} {
		o := OffHoursConfig{WorkingDays: tt.days, StopAt: tt.stop, StartAt: tt.start}
		if got := o.LongestStop().Hours(); got != tt.want {
			t.Errorf("%s %s-%s: longest stop %v hours, want %v", tt.days, tt.start, tt.stop, got, tt.want)
		}
	}
	_, err := Parse("dev", with("cinegit:database", `{"backupRetentionDays":3}`, "cinegit:offHours", `{"enabled":true}`))
	expectProblem(t, err, "cinegit:database.backupRetentionDays", "longest off-hours stop (59 hours")
	if _, err := Parse("dev", with("cinegit:database", `{"backupRetentionDays":4}`, "cinegit:offHours", `{"enabled":true}`)); err != nil {
		t.Errorf("4 days outlast the weekend: %v", err)
	}
}
