package main

import (
	"encoding/json"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
	"github.com/cinegit/infrastructure/pkg/plan"
)

// What each stack needs of the quotas a first update can exhaust (plan --quotas), as its file
// sizes it, in its own account with the bootstrap's deploy runner (a VPC, an internet gateway,
// a NAT gateway and its address in the first zone): NAT gateways and their addresses per AZ,
// the node groups' vCPUs at their maximum size, and, once the FFmpeg image is set, the Lambda
// pool its queue mapping draws on.
func TestQuotaNeeds(t *testing.T) {
	type key struct{ code, where string }
	cases := map[string]map[key]float64{
		"dev": {
			{"L-0263D0A3", ""}: 2, {"L-F678F1CE", ""}: 2, {"L-FE5A380F", "us-east-1a"}: 2,
			// The general group's 3 x 4 vCPUs, and the media pool's 32 on either.
			{"L-1216C47A", ""}: 44, {"L-34B43A08", ""}: 32, {"L-B99A9384", ""}: 100, {"", ""}: 2,
		},
		"staging": {
			{"L-0263D0A3", ""}: 4, {"L-FE5A380F", "us-east-1c"}: 1, {"L-29B6F2EB", "network"}: 5,
			// 6 x 2 general, media 32 (either), services' pool 8; the GPU pool's 8 in G and VT.
			{"L-1216C47A", ""}: 52, {"L-34B43A08", ""}: 32, {"L-DB2E81BA", ""}: 8, {"L-B99A9384", ""}: 100,
		},
		"prod": {
			{"L-0263D0A3", ""}: 4, {"L-FE5A380F", "us-east-1b"}: 1, {"L-29B6F2EB", "network"}: 5,
			// 9 x 4 general, media 160 and services 32 on demand; the GPU pool's 32 in G and VT.
			{"L-1216C47A", ""}: 228, {"L-DB2E81BA", ""}: 32, {"L-B99A9384", ""}: 100, {"L-1194D53C", ""}: 1,
		},
	}
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			got := map[key]plan.QuotaNeed{}
			for _, q := range plan.Quotas(runWithImage(t, stack, false)) {
				if q.Region != "us-east-1" {
					t.Errorf("%s counted in %s: every quota-bound resource is in the stack's region", q.Name, q.Region)
				}
				got[key{q.Code, q.Where}] = q
			}
			for k, want := range cases[stack] {
				if q, ok := got[k]; !ok || q.Need != want || q.FitsDefault != (want <= q.Default) {
					t.Errorf("%v: need %v (fits the default: %v), want %v", k, q.Need, q.FitsDefault, want)
				}
			}
		})
	}
}

// TestBootstrapRequestsWhatANewAccountLacks: every quota a stack needs beyond a new account's
// default is adjustable, and its account's bootstrap requests at least the need
// (cinegit-bootstrap:quotaIncreases, a Service Quotas increase request per quota).
func TestBootstrapRequestsWhatANewAccountLacks(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			_, raw, err := harness.LoadConfig(harness.Options{Dir: "bootstrap", Stack: stack})
			if err != nil {
				t.Fatal(err)
			}
			requested := map[string]float64{}
			if v := raw["cinegit-bootstrap:quotaIncreases"]; v != "" {
				if err := json.Unmarshal([]byte(v), &requested); err != nil {
					t.Fatal(err)
				}
			}
			short := 0
			for _, q := range plan.Quotas(runWithImage(t, stack, false)) {
				if q.FitsDefault {
					continue
				}
				short++
				if got := requested[q.Service+"/"+q.Code]; !q.Adjustable || got < q.Need {
					t.Errorf("%s needs %g of %s %s (%s; default %g), its bootstrap requests %g", stack, q.Need, q.Code, q.Name, q.Service, q.Default, got)
				}
			}
			if short == 0 {
				t.Logf("%s fits a new account's defaults", stack)
			}
		})
	}
}
